import shutil

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from vectorize.models import Vectorization

pytestmark = pytest.mark.django_db


def test_it_converts_a_folder_in_process_with_errors_per_file(tmp_path, bench_dir, capsys):
    source = tmp_path / "in"
    source.mkdir()
    for name in ("emoji_1F309.png", "logo_ruby.png"):
        shutil.copy(bench_dir / name, source / name)
    (source / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"

    call_command("vectorize", str(source), "--out", str(out), "--sync", "--preset", "logo")

    lines = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in out.iterdir()) == ["emoji_1F309.svg", "logo_ruby.svg"]
    assert lines[0] == f"{source / 'broken.png'}: error: This file is not a supported image. " + (
        "Upload a PNG, JPEG, WebP, GIF, BMP or TIFF file."
    )
    assert lines[1].startswith(f"{source / 'emoji_1F309.png'}: {out / 'emoji_1F309.svg'} (")
    assert lines[-1] == "2 of 3 converted"
    assert (out / "logo_ruby.svg").read_text().startswith("<svg")
    owner = User.objects.get(email="cli@vectorcraft.local")
    assert not owner.has_usable_password()
    assert Vectorization.objects.filter(owner=owner, status="succeeded").count() == 2


def test_it_writes_next_to_the_input_for_a_named_user(tmp_path, bench_dir, user, capsys):
    image = tmp_path / "logo_ruby.png"
    shutil.copy(bench_dir / "logo_ruby.png", image)

    call_command("vectorize", str(image), "--sync", "--user", user.email)

    assert (tmp_path / "logo_ruby.svg").is_file()
    assert Vectorization.objects.get().owner == user
    assert capsys.readouterr().out.splitlines()[-1] == "1 of 1 converted"


def test_it_reports_jobs_that_no_cluster_picked_up(tmp_path, bench_dir, capsys):
    image = tmp_path / "logo_ruby.png"
    shutil.copy(bench_dir / "logo_ruby.png", image)

    call_command("vectorize", str(image), "--timeout", "0.5")

    out = capsys.readouterr().out
    assert "not finished after 0.5 s; is a Q cluster running?" in out
    assert out.splitlines()[-1] == "0 of 1 converted"


def test_it_refuses_unknown_paths_and_users(tmp_path, bench_dir):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("vectorize", str(tmp_path / "missing.png"), "--sync")
    with pytest.raises(CommandError, match="No account with the e-mail address"):
        call_command("vectorize", str(bench_dir / "logo_ruby.png"), "--user", "x@example.com")
