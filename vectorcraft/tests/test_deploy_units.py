"""The systemd units of docs/DEPLOY.md, as written there, checked by systemd itself
(`systemd-analyze verify`): every key known and well formed, every command there to run. Only
the checkout's path changes, from /srv/vectorcraft/app to this one."""

import re
import shutil
import subprocess

from benchmarks.localstack import ROOT

UNIT = re.compile(r"```ini\n# /etc/systemd/system/(\S+)\n(.*?)```", flags=re.DOTALL)


def test_it_documents_units_that_systemd_accepts_without_a_warning(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd package) is needed for this test"
    units = UNIT.findall((ROOT / "docs" / "DEPLOY.md").read_text())
    assert [name for name, _ in units] == [
        "vectorcraft-web.service",
        "vectorcraft-worker.service",
        "vectorcraft-previews.service",
    ]
    paths = []
    for name, body in units:
        path = tmp_path / name
        path.write_text(body.replace("/srv/vectorcraft/app", str(ROOT)))
        paths.append(str(path))

    checked = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True)

    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
