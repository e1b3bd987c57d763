"""Where things are: the checkout, the bundled dataset, the storage folder, the Dagster home.

Each location has a default inside the checkout and an environment variable that wins.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Classes a home's dagster.yaml may name by a module that has since moved (the event log
# lived at the package's top level before the engine had a folder of its own).
_MOVED_MODULES = {"superstore_assets.eventlog": "superstore_assets.engine.eventlog"}
# SUPERSTORE_PROFILE picks where runs are recorded, where steps run and where outputs go:
# "local" (SQLite, in-process, a folder) or "team" (PostgreSQL, Dask, an object store).
PROFILES = {"local": "dagster.yaml", "team": "dagster_team.yaml"}
# Keys of dagster.yaml that move the record out of the SQLite files under the home.
_STORAGE_SETTINGS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


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


def score_dataset_path() -> str:
    """SUPERSTORE_SCORE_DATASET, the orders `scored_orders` scores, else data/new_orders.csv."""
    default = str(project_root() / "data" / "new_orders.csv")
    return os.environ.get("SUPERSTORE_SCORE_DATASET") or default


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
    _give_settings(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def settle_exported_home() -> None:
    """Give an exported DAGSTER_HOME that has no dagster.yaml the profile's, as
    `superstore` gives its own home: `dagster asset materialize`, `dg launch` and `dg dev`
    then use the same instance settings as `superstore materialize` from their next process
    on. (The process that calls this opened its instance already; the executor keeps that
    one's event log fast: eventlog.keep_connections_open.) A home that cannot be written, or a
    team profile without its database URL, is left as it is."""
    exported = os.environ.get("DAGSTER_HOME")
    if not exported:
        return
    home = Path(exported).expanduser()
    try:
        if deployment_profile() == "team":
            check_postgres_url()
        if home.is_dir():
            _give_settings(home)
    except (OSError, ProfileError):
        pass


def _give_settings(home: Path) -> None:
    settings = home / "dagster.yaml"
    if not settings.exists():
        from superstore_assets.engine.files import write_atomic

        # A process beside this one may read it: whole or not at all.
        write_atomic(settings, (PACKAGE_DIR / PROFILES[deployment_profile()]).read_bytes())
    else:
        _follow_moved_modules(settings)


def record_is_local(home: Path) -> bool:
    """Whether the home's run record is SQLite files under it (the local profile), not a
    database server: what decides the lock a run takes and whether a status answer is kept."""
    settings = home / "dagster.yaml"
    if not settings.exists():
        return True
    import yaml

    loaded = yaml.safe_load(settings.read_text()) or {}
    event_log = loaded.get("event_log_storage") or {}
    if event_log.get("module") == "superstore_assets.engine.eventlog" and not event_log.get(
        "config"
    ):
        loaded.pop("event_log_storage")  # Dagster's own files under the home (eventlog.py)
    return not any(key in loaded for key in _STORAGE_SETTINGS)


def _follow_moved_modules(settings: Path) -> None:
    """Rewrite a home's dagster.yaml that names a module by its old place."""
    text = settings.read_text()
    moved = text
    for old, new in _MOVED_MODULES.items():
        moved = moved.replace(f"module: {old}\n", f"module: {new}\n")
    if moved != text:
        settings.write_text(moved)
