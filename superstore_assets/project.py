"""Where things are: the checkout, the bundled dataset, the storage folder, the Dagster home.

Each location has a default inside the checkout and an environment variable that wins.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout holding the package, or the working folder for an installed package."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def dataset_path() -> str:
    """SUPERSTORE_DATASET, else the bundled data/superstore.csv."""
    return os.environ.get("SUPERSTORE_DATASET") or str(project_root() / "data" / "superstore.csv")


def resolve_dataset(path: str) -> Path:
    """A dataset path as given, absolute or relative to the checkout."""
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else project_root() / resolved


def date_format_setting() -> str:
    """SUPERSTORE_DATE_FORMAT, else "auto" (month first or ISO, found by looking)."""
    return os.environ.get("SUPERSTORE_DATE_FORMAT", "auto")


def storage_path() -> str:
    """SUPERSTORE_STORAGE (a folder or an fsspec URL), else storage/ in the checkout."""
    return os.environ.get("SUPERSTORE_STORAGE") or str(project_root() / "storage")


def dagster_home() -> Path:
    """DAGSTER_HOME, else .dagster_home/ in the checkout."""
    return Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()


def ensure_dagster_home() -> Path:
    """Create the Dagster home with the project's dagster.yaml if it has none, and export it."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        shutil.copyfile(PACKAGE_DIR / "dagster.yaml", settings)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
