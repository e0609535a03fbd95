"""/api/v1/ for vectorizations: thin views over the services and selectors."""

import contextlib
import threading
import time

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from idempotency.decorators import idempotent
from payments.selectors import balance_for_user, price_for
from vectorcraft.api import ApiView, ErrorEnvelopeSerializer, error_response
from vectorize import downloads, selectors, services
from vectorize.engine.exports import FORMATS
from vectorize.models import Vectorization
from vectorize.serializers import (
    BatchInputSerializer,
    BatchSerializer,
    CreateInputSerializer,
    ListFilterSerializer,
    RerunInputSerializer,
    TestResultSerializer,
    VectorizationSerializer,
    split_settings,
)

ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="Invalid image or settings."),
    401: OpenApiResponse(ErrorEnvelopeSerializer, description="Missing, unknown or revoked key."),
    402: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="Not enough credits: `details` has `needed`, `balance` and `buy_url`.",
    ),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such job of yours."),
    409: OpenApiResponse(ErrorEnvelopeSerializer, description="Same Idempotency-Key in flight."),
    422: OpenApiResponse(ErrorEnvelopeSerializer, description="Idempotency-Key reused."),
    429: OpenApiResponse(ErrorEnvelopeSerializer, description="Rate limit; see Retry-After."),
}
FILES_DELETED = OpenApiResponse(
    ErrorEnvelopeSerializer,
    description="files_deleted: the job's files were deleted after RETENTION_DAYS, or are missing "
    "from storage.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID): a retry with the same key and request gets "
    "the first response again, without a second job.",
)
WAIT = OpenApiParameter(
    "wait",
    {"type": "integer", "minimum": 0, "maximum": settings.API_MAX_WAIT_SECONDS},
    OpenApiParameter.QUERY,
    description=f"Hold the response up to this many seconds (at most "
    f"{settings.API_MAX_WAIT_SECONDS}) for the job to finish: 200 if it did, 202 if not. Each "
    "account holds one wait at a time (and each web process a few): past that the answer is "
    "202 at once with `X-Wait-Skipped: true`; poll the job's Location.",
)


def _wait_seconds(request) -> float:
    try:
        seconds = float(request.query_params.get("wait", 0))
    except ValueError:
        return 0
    return max(0.0, min(seconds, settings.API_MAX_WAIT_SECONDS))


# ?wait= holds a web thread while it polls. These bound how many do at once, so waiting clients
# can never take every thread of a web process (health checks and other users need one).
_process_waits = threading.BoundedSemaphore(settings.API_WAITS_PER_PROCESS)


@contextlib.contextmanager
def _wait_slot(user):
    """True while this request may wait: a slot of this process's and of the account's."""
    if not _process_waits.acquire(blocking=False):
        yield False
        return
    key = f"api-waits:{user.pk}"
    try:
        # The account's count lives in the shared cache (all web processes); it expires on its
        # own should a process die while holding a slot.
        cache.add(key, 0, timeout=settings.API_MAX_WAIT_SECONDS + 30)
        holding = cache.incr(key) <= settings.API_WAITS_PER_ACCOUNT
        try:
            yield holding
        finally:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
                cache.decr(key)
    finally:
        _process_waits.release()


def _job_response(request, job: Vectorization, *, wait: float = 0) -> Response:
    """202 with the job and its Location; after waiting, 200 if it finished meanwhile. A wait
    past the process's or the account's share is not held: 202 at once, with X-Wait-Skipped."""
    skipped = False
    if wait and not job.is_finished:
        with _wait_slot(request.user) as may_wait:
            skipped = not may_wait
            deadline = time.monotonic() + wait
            while may_wait and not job.is_finished and time.monotonic() < deadline:
                time.sleep(0.2)
                job.refresh_from_db()
    body = VectorizationSerializer(job, context={"request": request}).data
    code = status.HTTP_200_OK if job.is_finished else status.HTTP_202_ACCEPTED
    response = Response(body, status=code)
    if skipped:
        response["X-Wait-Skipped"] = "true"
    response["Location"] = reverse("api:vectorization-detail", args=[job.pk], request=request)
    return _with_credit_headers(
        response, request, charged=price_for(mode=job.mode), remaining=job.balance_after
    )


def _represent(job: Vectorization) -> dict:
    """The job as the API shows it, with links relative to the host (kept in the cache, so it
    must not depend on the request)."""
    return dict(VectorizationSerializer(job).data)


def _with_credit_headers(
    response, request, *, charged: int, remaining: int | None = None
) -> Response:
    """What the request cost and the balance after it (read now unless the charge told it)."""
    if remaining is None:
        remaining = balance_for_user(user=request.user)
    response["X-Credits-Charged"] = str(charged)
    response["X-Credits-Remaining"] = str(remaining)
    return response


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class VectorizationListCreateApi(ApiView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = Pagination

    @extend_schema(
        summary="List your vectorizations",
        parameters=[ListFilterSerializer],
        responses={200: VectorizationSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        filters = ListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        jobs = selectors.vectorization_list_for_user(
            user=request.user,
            status=data.get("status"),
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs, request, view=self)
        serialized = VectorizationSerializer(page, many=True, context={"request": request})
        return paginator.get_paginated_response(serialized.data)

    @extend_schema(
        summary="Vectorize an image",
        request=CreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY, WAIT],
        responses={
            202: VectorizationSerializer,
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="CreateResult",
                    serializers=[VectorizationSerializer, TestResultSerializer],
                    resource_type_field_name=None,
                ),
                description="The job, finished within ?wait=; or, for mode=test, the check.",
            ),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "Logo with brand colours",
                request_only=True,
                value={"image": "logo.png", "preset": "logo", "palette": ["#0a2540", "#ffffff"]},
            )
        ],
    )
    @idempotent
    def post(self, request):
        payload = CreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        preset, overrides = split_settings(data)
        if data["mode"] == "test":
            checked = services.vectorization_check(
                upload=data["image"], preset=preset, options=overrides
            )
            result = {
                "mode": "test",
                "valid": True,
                "width": checked.image.width,
                "height": checked.image.height,
                "megapixels": round(checked.image.pixels / 1_000_000, 3),
                "source_format": checked.image.source_format,
                "credits": price_for(mode="production"),
            }
            return Response(TestResultSerializer(result).data)
        job = services.vectorization_create(
            owner=request.user,
            upload=data["image"],
            preset=preset,
            options=overrides,
            mode=data["mode"],
        )
        return _job_response(request, job, wait=_wait_seconds(request))


class VectorizationDetailApi(ApiView):
    @extend_schema(summary="A vectorization", responses={200: VectorizationSerializer, **ERRORS})
    def get(self, request, vectorization_id):
        representation = selectors.vectorization_representation_for_user(
            user=request.user, vectorization_id=vectorization_id, represent=_represent
        )
        links = {
            name: request.build_absolute_uri(url) for name, url in representation["links"].items()
        }
        return Response({**representation, "links": links})

    @extend_schema(summary="Delete a vectorization and its files", responses={204: None, **ERRORS})
    def delete(self, request, vectorization_id):
        job = selectors.vectorization_get_for_user(
            user=request.user, vectorization_id=vectorization_id
        )
        services.vectorization_delete(vectorization=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VectorizationDownloadApi(ApiView):
    @extend_schema(
        summary="Download the result",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(FORMATS))
        ],
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/postscript"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            **ERRORS,
            409: OpenApiResponse(ErrorEnvelopeSerializer, description="Not finished yet."),
            410: FILES_DELETED,
        },
    )
    def get(self, request, vectorization_id):
        job = selectors.vectorization_get_for_user(
            user=request.user, vectorization_id=vectorization_id
        )
        fmt = request.query_params.get("format", "svg").lower()
        if fmt not in FORMATS:
            return error_response(
                "invalid_format",
                f"Unknown format {fmt!r}. Choose one of: {', '.join(FORMATS)}.",
                {"format": list(FORMATS)},
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        if job.status != Vectorization.Status.SUCCEEDED:
            return error_response(
                "not_ready",
                f"This vectorization is {job.status}; there is nothing to download yet.",
                status_code=status.HTTP_409_CONFLICT,
            )
        return downloads.result_response(job, fmt)


class VectorizationRerunApi(ApiView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Trace the same input again with other settings",
        request=RerunInputSerializer,
        parameters=[IDEMPOTENCY_KEY, WAIT],
        responses={
            202: VectorizationSerializer,
            200: OpenApiResponse(VectorizationSerializer, description="Finished within ?wait=."),
            **ERRORS,
            410: FILES_DELETED,
        },
    )
    @idempotent
    def post(self, request, vectorization_id):
        job = selectors.vectorization_get_for_user(
            user=request.user, vectorization_id=vectorization_id
        )
        payload = RerunInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        preset, overrides = split_settings(payload.validated_data)
        rerun = services.vectorization_rerun(vectorization=job, preset=preset, options=overrides)
        return _job_response(request, rerun, wait=_wait_seconds(request))


class BatchCreateApi(ApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Vectorize several images",
        request=BatchInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: BatchSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request):
        payload = BatchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        preset, overrides = split_settings(data)
        batch = services.batch_create(
            owner=request.user,
            uploads=data["images"],
            preset=preset,
            options=overrides,
            mode=data["mode"],
        )
        summary = selectors.batch_summary_for_user(user=request.user, batch_id=batch.pk)
        response = Response(
            BatchSerializer(summary, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )
        response["Location"] = reverse("api:batch-detail", args=[batch.pk], request=request)
        charged = sum(price_for(mode=job.mode) for job in summary["vectorizations"])
        return _with_credit_headers(response, request, charged=charged)


class BatchDetailApi(ApiView):
    @extend_schema(summary="A batch's progress", responses={200: BatchSerializer, **ERRORS})
    def get(self, request, batch_id):
        summary = selectors.batch_summary_for_user(user=request.user, batch_id=batch_id)
        return Response(BatchSerializer(summary, context={"request": request}).data)
