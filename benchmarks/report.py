"""Benchmark commands write their section of docs/BENCHMARKS.md between markers of their own, so
each can be run alone without touching the others' figures."""

import os
import platform
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

HEADER = "# Benchmarks\n\nFigures measured on the project's machines, each with its command.\n"
DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "BENCHMARKS.md"
DEFAULT_CORPUS = Path(settings.BASE_DIR).parent / "shared" / "bench" / "public"


def require_postgres_and_redis() -> None:
    """The stack benchmarks start production-mode nodes, which need both."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql") or not (
        settings.REDIS_URL
    ):
        raise CommandError("Run it on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL.")


def machine() -> str:
    return (
        f"run {timezone.now():%Y-%m-%d} on {platform.machine()} with {os.cpu_count() or 1} cores, "
        f"Python {platform.python_version()}"
    )


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(path: Path, name: str, body: str) -> None:
    """Replace the section called `name` (markers included in `body`), or append it."""
    start, end = markers(name)
    text = path.read_text() if path.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + body + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
