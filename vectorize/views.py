import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, HttpResponseGone, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from payments.selectors import credit_packs_available
from vectorcraft.errors import ApplicationError, error_remedies
from vectorize import downloads, selectors, services
from vectorize.engine import exports
from vectorize.errors import VectorizeErrorCode
from vectorize.forms import HistoryFilterForm, RerunForm, UploadForm
from vectorize.models import Vectorization

JOBS_PER_PAGE = 12
RECENT_JOBS = 6


@require_http_methods(["GET", "POST"])
def home(request):
    if not request.user.is_authenticated:
        return render(
            request,
            "vectorize/landing.html",
            {
                "packs": credit_packs_available(),
                "signup_credits": settings.SIGNUP_CREDITS,
                "monthly_credits": settings.MONTHLY_FREE_CREDITS,
            },
        )
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        # Without the page's script, the form posts here; each file is its own job.
        jobs, refused = [], []
        for upload in form.cleaned_data["image"]:
            try:
                jobs.append(
                    services.vectorization_create(
                        owner=request.user, upload=upload, preset=form.cleaned_data["preset"]
                    )
                )
            except ApplicationError as error:
                refused.append(f"{upload.name}: {error.message}")
        for problem in refused:
            form.add_error("image", problem)
        if len(jobs) == 1 and not refused:
            return redirect("vectorize:detail", vectorization_id=jobs[0].pk)
        if jobs and not refused:
            return redirect("vectorize:history")
    recent = selectors.vectorization_list_for_user(user=request.user)[:RECENT_JOBS]
    return render(
        request,
        "vectorize/home.html",
        {
            "form": form,
            "max_upload_mb": settings.MAX_UPLOAD_BYTES // 1_048_576,
            "recent": recent,
        },
    )


@login_required
@require_POST
def upload(request):
    """One file from the drop zone (the page's script): JSON in the shape of the status view."""
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return JsonResponse({"error": first}, status=400)
    try:
        job = services.vectorization_create(
            owner=request.user,
            upload=form.cleaned_data["image"][0],
            preset=form.cleaned_data["preset"],
        )
    except ApplicationError as error:
        refusal = {"error": error.message, "code": error.code, **error_remedies(error.code)}
        return JsonResponse(refusal, status=400)
    # The balance after the charge, for the page to show without a reload.
    return JsonResponse({**_status_payload(job), "credits": job.balance_after}, status=201)


@login_required
@require_GET
def history(request):
    form = HistoryFilterForm(request.GET or None)
    status_filter = form.cleaned_data.get("status") if form.is_valid() else ""
    jobs = selectors.vectorization_list_for_user(user=request.user, status=status_filter or None)
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "vectorize/history.html",
        {
            "page": page,
            "filter_form": form,
            "status_filter": status_filter,
            "retention_days": settings.RETENTION_DAYS,
        },
    )


@login_required
@require_GET
def detail(request, vectorization_id):
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    rerun_form = RerunForm(
        initial={"preset": job.used_preset or job.preset},
        parameters=job.parameters or None,
    )
    return render(
        request,
        "vectorize/detail.html",
        {
            "job": job,
            "status": _status_payload(job),
            "rerun_form": rerun_form,
            "retention_days": settings.RETENTION_DAYS,
        },
    )


@login_required
@require_POST
def rerun(request, vectorization_id):
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    form = RerunForm(request.POST, parameters=job.parameters or None)
    if form.is_valid():
        preset, overrides = form.settings()
        try:
            new_job = services.vectorization_rerun(
                vectorization=job, preset=preset, options=overrides
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("vectorize:detail", vectorization_id=new_job.pk)
    else:
        messages.error(
            request,
            "Those settings are not valid: "
            + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()),
        )
    return redirect("vectorize:detail", vectorization_id=job.pk)


def _status_payload(job: Vectorization) -> dict:
    failed = job.status == Vectorization.Status.FAILED
    return {
        "id": str(job.pk),
        "filename": job.original_filename,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.is_finished,
        "error": job.error_message,
        "credit_returned": failed and job.mode == Vectorization.Mode.PRODUCTION,
        "detail_url": reverse("vectorize:detail", args=[job.pk]),
        "status_url": reverse("vectorize:status", args=[job.pk]),
        "used_preset": job.used_preset,
        "engine_ms": job.engine_ms,
        "output_bytes": job.output_bytes,
        "metrics": job.metrics,
        "preview_url": reverse("vectorize:preview", args=[job.pk]) if job.has_result else None,
        "download_url": reverse("vectorize:download", args=[job.pk]) if job.has_result else None,
    }


@login_required
@require_GET
def status(request, vectorization_id):
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    response = JsonResponse(_status_payload(job))
    response["Cache-Control"] = "no-store"
    return response


def _finished_job(request, vectorization_id) -> Vectorization:
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    if job.status != Vectorization.Status.SUCCEEDED:
        raise Http404("This conversion has no SVG yet.")
    return job


def _stored_file(view):
    """A view handing out a job's stored file: 410 in plain words when the file is gone."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as error:
            if error.code != VectorizeErrorCode.FILES_DELETED:
                raise
            return HttpResponseGone(error.message, content_type="text/plain")

    return wrapper


@login_required
@require_GET
@_stored_file
def download(request, vectorization_id):
    """The result as an attachment: SVG, or PDF, EPS or PNG made from the stored SVG."""
    job = _finished_job(request, vectorization_id)
    fmt = request.GET.get("format", "svg").lower()
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest(
            f"Unknown format. Choose one of: {', '.join(exports.FORMATS)}.",
            content_type="text/plain",
        )
    return downloads.result_response(job, fmt)


@login_required
@require_GET
@_stored_file
def preview(request, vectorization_id):
    """The SVG inline, for the result page's <img>."""
    job = _finished_job(request, vectorization_id)
    return downloads.file_response(
        job,
        "output_file",
        content_type="image/svg+xml",
        filename=job.output_filename,
        attachment=False,
    )


@login_required
@require_GET
@_stored_file
def original(request, vectorization_id):
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    return downloads.file_response(
        job, "input_file", content_type="image/png", filename=f"{job.pk}.png", attachment=False
    )


@login_required
@require_POST
def delete(request, vectorization_id):
    job = selectors.vectorization_get_for_user(user=request.user, vectorization_id=vectorization_id)
    name = job.original_filename
    services.vectorization_delete(vectorization=job)
    messages.success(request, f"Deleted {name} and its SVG.")
    return redirect("vectorize:history")
