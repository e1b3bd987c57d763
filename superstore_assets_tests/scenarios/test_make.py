"""The README's promise: on a fresh clone, `make run` sets itself up and runs everything."""

import os
import shutil
import subprocess

import pytest

from superstore_assets_tests.conftest import ROOT

pytestmark = pytest.mark.slow


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
    done = subprocess.run(
        ["make", "run"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800
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
