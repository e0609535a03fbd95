from django.core.files.uploadedfile import SimpleUploadedFile

from vectorize import services


def upload_from(path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="image/png")


def queued_job(owner, bench_dir, name="emoji_1F309.png", **options):
    """A job created through the service, not yet run (nothing is enqueued)."""
    return services.vectorization_create(
        owner=owner, upload=upload_from(bench_dir / name), enqueue=False, **options
    )
