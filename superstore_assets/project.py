"""Where things are: the checkout, the bundled dataset, the storage folder, the Dagster home.

Each location has a default inside the checkout and an environment variable that wins.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# SUPERSTORE_PROFILE picks where runs are recorded, where steps run and where outputs go:
# "local" (SQLite, in-process, a folder) or "team" (PostgreSQL, Dask, an object store).
PROFILES = {"local": "dagster.yaml", "team": "dagster_team.yaml"}


class ProfileError(ValueError):
    """A deployment profile that is unknown or missing a setting it needs."""


def deployment_profile() -> str:
    """SUPERSTORE_PROFILE, else "local"; anything else is refused with the choices."""
    profile = os.environ.get("SUPERSTORE_PROFILE") or "local"
    if profile not in PROFILES:
        raise ProfileError(
            f"SUPERSTORE_PROFILE={profile!r} is not a profile: use one of {', '.join(PROFILES)}"
        )
    return profile


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


def check_postgres_url() -> str:
    """SUPERSTORE_POSTGRES_URL, which the team profile's dagster.yaml reads, or a ProfileError
    that says how to write it. SQLAlchemy 2.1 takes a bare postgresql:// to mean psycopg 3;
    dagster-postgres is built on psycopg2, so the URL names it."""
    url = os.environ.get("SUPERSTORE_POSTGRES_URL", "")
    example = "postgresql+psycopg2://user:password@host:5432/database"
    if not url:
        raise ProfileError(
            f"SUPERSTORE_PROFILE=team records runs in PostgreSQL: set "
            f"SUPERSTORE_POSTGRES_URL={example}"
        )
    if not url.startswith("postgresql+psycopg2://"):
        raise ProfileError(
            f"SUPERSTORE_POSTGRES_URL must start with postgresql+psycopg2:// "
            f"(dagster-postgres uses psycopg2), as in {example}"
        )
    return url


def ensure_dagster_home() -> Path:
    """Create the Dagster home with the profile's dagster.yaml if it has none, and export it."""
    home = dagster_home()
    if deployment_profile() == "team":
        check_postgres_url()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        shutil.copyfile(PACKAGE_DIR / PROFILES[deployment_profile()], settings)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
