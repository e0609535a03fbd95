"""Responses that hand out a job's files, shared by the website and the API."""

from pathlib import PurePath

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

from vectorize import services
from vectorize.engine import exports
from vectorize.models import Vectorization


def protect(response):
    # Files users uploaded or that were made from them: never sniffed, never run as a page.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def file_response(
    job: Vectorization, field: str, *, content_type: str, filename: str, attachment: bool
) -> FileResponse:
    """One of the job's stored files (`input_file` or `output_file`); files_deleted if gone."""
    response = FileResponse(
        services.vectorization_file_open(vectorization=job, field=field),
        as_attachment=attachment,
        filename=filename,
        content_type=content_type,
    )
    return protect(response)


def result_response(job: Vectorization, fmt: str) -> HttpResponse:
    """The finished job's result as an attachment in `fmt` (one of exports.FORMATS); raises
    files_deleted when the stored SVG is gone."""
    if fmt == "svg":
        return file_response(
            job,
            "output_file",
            content_type="image/svg+xml",
            filename=job.output_filename,
            attachment=True,
        )
    content_type, extension = exports.FORMATS[fmt]
    response = HttpResponse(
        services.vectorization_export(vectorization=job, fmt=fmt), content_type=content_type
    )
    response["Content-Disposition"] = content_disposition_header(
        True, f"{PurePath(job.output_filename).stem}.{extension}"
    )
    return protect(response)
