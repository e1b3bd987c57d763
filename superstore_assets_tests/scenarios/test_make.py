"""The README's promise: on a fresh clone, `make run` runs everything into the clone's own home
and storage, and leaves `git status` clean.

The clone borrows this checkout's installed environment instead of installing the lock again:
`make test` builds that environment from uv.lock as its first step, and CI runs it on a clean
clone, so the install half of the promise is proven before any test runs.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from superstore_assets_tests.conftest import ROOT

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).parent.parent


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout: nothing to clone")
@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_run_on_a_fresh_clone(tmp_path):
    """Clones the committed HEAD (not the working tree), so commit before relying on it."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DAGSTER_HOME", "VIRTUAL_ENV") and not k.startswith("SUPERSTORE_")
    }
    # The clone's package, not this checkout's editable install, is what runs.
    env["PYTHONPATH"] = str(clone)
    (clone / ".venv").mkdir()
    (clone / ".venv" / "marker").write_text("a venv's files must stay out of git status\n")
    installed = VENV / "bin" / ".installed-run"
    done = subprocess.run(
        ["make", "-o", str(installed), "run", f"VENV={VENV}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "succeeded in" in done.stdout
    assert f"DAGSTER_HOME={clone / '.dagster_home'}" in done.stdout
    settings = (clone / ".dagster_home" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings
    assert (clone / "storage" / "report" / "report.html").stat().st_size > 1_000_000
    assert (clone / ".dagster_home" / "history" / "runs.db").exists()  # the run is on record
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # venv, home and storage are all ignored
