import sys
import time
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from vectorcraft.errors import ApplicationError
from vectorize import engine, services
from vectorize.models import Vectorization

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
CLI_USER_EMAIL = "cli@vectorcraft.local"


class Command(BaseCommand):
    help = (
        "Vectorize image files (or every image in folders) through the job queue and write "
        "NAME.svg next to each file, or under --out."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--out", help="Folder for the SVG files (default: next to each input).")
        parser.add_argument("--preset", default=engine.AUTO, choices=engine.PRESET_NAMES)
        parser.add_argument(
            "--user",
            help=f"E-mail of the account that owns the jobs (default: {CLI_USER_EMAIL}).",
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Run the engine in this process instead of a Q cluster.",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=600,
            help="Seconds to wait for the cluster to finish every job (default: 600).",
        )

    def handle(self, *args, **options):
        files = self._collect(options["paths"])
        if not files:
            raise CommandError("No images found (looked for " + ", ".join(sorted(IMAGE_SUFFIXES)))
        out_dir = Path(options["out"]) if options["out"] else None
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
        owner = self._owner(options["user"])

        jobs: dict[Path, Vectorization] = {}
        results: dict[Path, str] = {}
        progress = tqdm(total=len(files), unit="image", file=sys.stderr, dynamic_ncols=True)
        for path in files:
            try:
                jobs[path] = services.vectorization_create(
                    owner=owner,
                    upload=SimpleUploadedFile(path.name, path.read_bytes()),
                    preset=options["preset"],
                    enqueue=not options["sync"],
                    charge=False,  # a staff tool on the server: no credits are spent
                )
            except ApplicationError as error:
                results[path] = f"error: {error.message}"
                progress.update()
                continue
            if options["sync"]:
                job = services.vectorization_run(vectorization_id=jobs.pop(path).pk)
                results[path] = self._collect_result(job, path, out_dir)
                progress.update()

        deadline = time.monotonic() + options["timeout"]
        while jobs and time.monotonic() < deadline:
            finished = set(
                Vectorization.objects.filter(
                    pk__in=[job.pk for job in jobs.values()], status__in=Vectorization.FINISHED
                ).values_list("pk", flat=True)
            )
            for path, job in list(jobs.items()):
                if job.pk in finished:
                    job.refresh_from_db()
                    results[path] = self._collect_result(jobs.pop(path), path, out_dir)
                    progress.update()
            if jobs:
                time.sleep(0.2)
        progress.close()
        for path in jobs:
            results[path] = (
                f"error: not finished after {options['timeout']:g} s; is a Q cluster running? "
                "(start one with `python manage.py qcluster`, or use --sync)"
            )

        failures = 0
        for path in files:
            line = f"{path}: {results[path]}"
            if results[path].startswith("error"):
                failures += 1
                self.stdout.write(self.style.ERROR(line))
            else:
                self.stdout.write(line)
        summary = f"{len(files) - failures} of {len(files)} converted"
        self.stdout.write(
            self.style.SUCCESS(summary) if not failures else self.style.WARNING(summary)
        )

    def _collect(self, paths: list[str]) -> list[Path]:
        files = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files.extend(
                    sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                )
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{raw}: no such file or folder")
        return files

    def _owner(self, email: str | None) -> User:
        if email:
            try:
                return User.objects.get(email__iexact=email)
            except User.DoesNotExist:
                raise CommandError(f"No account with the e-mail address {email}.") from None
        owner = User.objects.filter(email=CLI_USER_EMAIL).first()
        # A service account that cannot log in: it only owns command-line jobs.
        return owner or User.objects.create_user(email=CLI_USER_EMAIL, is_active=False)

    def _collect_result(self, job: Vectorization, path: Path, out_dir: Path | None) -> str:
        if job.status != Vectorization.Status.SUCCEEDED:
            return f"error: {job.error_message or job.get_status_display()}"
        target = (out_dir or path.parent) / f"{path.stem}.svg"
        with job.output_file.open("rb") as output:
            target.write_bytes(output.read())
        return (
            f"{target} ({job.output_bytes:,} bytes, {job.metrics.get('path_count', 0)} paths, "
            f"preset {job.used_preset}, {job.engine_ms} ms)"
        )
