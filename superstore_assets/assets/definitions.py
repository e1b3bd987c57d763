"""The Definitions: every asset and check, the dataset, the storage, the executor, the job and
the sensor, chosen by the profile and the environment."""

from __future__ import annotations

import os

from dagster import (
    Definitions,
    ExecutorDefinition,
    JobDefinition,
    in_process_executor,
    multiprocess_executor,
)

from superstore_assets.assets import (
    champion,
    eda,
    evaluation,
    ingest,
    models,
    report,
    scoring,
    split,
)
from superstore_assets.assets.loggers import console_logger
from superstore_assets.assets.resources import (
    DatasetResource,
    ScoreDatasetResource,
    params_resources,
)
from superstore_assets.assets.sensors import dataset_changed, superstore_pipeline
from superstore_assets.engine.dagster_internals import use_as_default_console_logger
from superstore_assets.engine.executor import local_executor, team_executor
from superstore_assets.engine.files import is_local
from superstore_assets.engine.io_manager import StorageIOManager
from superstore_assets.engine.one_shot import settle_dagster_command
from superstore_assets.engine.project import (
    ProfileError,
    dataset_path,
    date_format_setting,
    deployment_profile,
    resolve_dataset,
    score_dataset_path,
    settle_exported_home,
    storage_path,
)
from superstore_assets.engine.version_store import STORAGE_FOLDERS

all_assets = [
    ingest.superstore_csv,
    ingest.orders_raw,
    ingest.orders_clean,
    ingest.model_features,
    *eda.eda_figures,
    eda.summary_statistics,
    split.train_val_test,
    *models.model_assets,
    *models.metrics_assets,
    *evaluation.result_figures,
    champion.champion,
    scoring.orders_to_score,
    scoring.scored_orders,
    report.report,
]


def make_resources(
    dataset: str, storage: str, previews: bool = False, date_format: str = "auto"
) -> dict:
    """The dataset resource and one IO manager per kind of output, all under `storage`."""
    resources: dict = {
        "dataset": DatasetResource(path=dataset, date_format=date_format),
        "score_dataset": ScoreDatasetResource(path=score_dataset_path(), date_format=date_format),
        **params_resources(),
    }
    for key, (kind, folder) in STORAGE_FOLDERS.items():
        resources[key] = StorageIOManager(root=storage, folder=folder, kind=kind, previews=previews)
    return resources


def previews_setting() -> bool:
    """SUPERSTORE_PREVIEWS=1 turns the figures' PNG previews on; they are off otherwise: made
    by a Chromium, they cost about a third of a cold run and a gigabyte of memory, for a
    thumbnail in the UI's metadata (each figure's HTML page is written either way)."""
    return os.environ.get("SUPERSTORE_PREVIEWS", "0") == "1"


def resource_run_config(
    dataset: str, storage: str, previews: bool = False, date_format: str = "auto"
) -> dict:
    """make_resources' choices as run config: a step on another machine (a Dask worker) builds
    its resources from the run's config, not from its own environment."""
    resources: dict = {
        "dataset": {"config": {"path": dataset, "date_format": date_format}},
        "score_dataset": {
            "config": {
                "path": str(resolve_dataset(score_dataset_path())),
                "date_format": date_format,
            }
        },
    }
    for key, (kind, folder) in STORAGE_FOLDERS.items():
        config = {"root": storage, "folder": folder, "kind": kind, "previews": previews}
        resources[key] = {"config": config}
    return {"resources": resources}


def params_run_config(overrides: dict) -> dict:
    """Parameter overrides (section.key: value) as run config of the parameter resources, as
    the Launchpad writes it."""
    sections = {
        section: {"config": {"overrides": resource.overrides}}
        for section, resource in params_resources(overrides).items()
        if resource.overrides
    }
    return {"resources": sections} if sections else {}


def object_store(storage: str) -> str:
    """`storage` if it is an object store URL (s3://bucket/prefix); the team profile has no
    shared disk, so a local folder is refused with the setting to change."""
    if is_local(storage):
        raise ProfileError(
            "SUPERSTORE_PROFILE=team keeps every output in an object store, which every worker "
            f"reaches: set SUPERSTORE_STORAGE=s3://bucket/prefix (it is {storage!r})"
        )
    return storage


def dask_executor_for_team() -> ExecutorDefinition:
    """The team executor (engine/executor.py): the steps that compute on the Dask scheduler at
    SUPERSTORE_DASK_ADDRESS (tcp://host:8786), or on a LocalCluster of this machine's cores
    when it is unset; the steps that restore in the run's process."""
    return team_executor(os.environ.get("SUPERSTORE_DASK_ADDRESS") or None)


def make_definitions(
    dataset: str | None = None,
    storage: str | None = None,
    previews: bool | None = None,
    executor: ExecutorDefinition | None = None,
) -> Definitions:
    """Definitions for a dataset and storage root; unset arguments come from the environment.

    SUPERSTORE_DATASET, SUPERSTORE_STORAGE, SUPERSTORE_DATE_FORMAT, SUPERSTORE_PREVIEWS=1 and
    SUPERSTORE_EXECUTOR=multiprocess|in_process are read here (see README). The default is
    executor.local_executor: steps in the run's own process, where a step costs milliseconds
    (seconds in the multiprocess executor), with a model or evaluation beside another step.
    SUPERSTORE_PROFILE=team runs steps on Dask (SUPERSTORE_DASK_ADDRESS) and requires the
    storage to be an object store URL; its dagster.yaml puts the run record in PostgreSQL.
    """
    if previews is None:
        previews = previews_setting()
    storage = storage or storage_path()
    team = deployment_profile() == "team"
    if team:
        storage = object_store(storage)
    if executor is None and team:
        executor = dask_executor_for_team()
    if executor is None:
        executor = {"multiprocess": MULTIPROCESS, "in_process": in_process_executor}.get(
            os.environ.get("SUPERSTORE_EXECUTOR", ""), local_executor
        )
    return Definitions(
        assets=all_assets,
        resources=make_resources(
            dataset or dataset_path(),
            storage,
            previews,
            date_format_setting(),
        ),
        executor=executor,
        loggers={"console": console_logger},
        jobs=[superstore_pipeline],
        sensors=[dataset_changed],
    )


# Dagster's multiprocess executor, its step processes forked from a server that has imported the
# definitions and scikit-learn once (Python's forkserver, preloading assets/forkserver.py),
# instead of each a new Python that imports them again (spawn, Dagster's default, about 2.5 s a
# step on a 2-core machine; forked, a step's start is about 0.7 s of Dagster's own).
MULTIPROCESS = multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["superstore_assets.assets.forkserver"]}}},
    name="multiprocess",
)


# The job by the settings it was made from (_settings below): Dagster asks for it again at each
# stage of a run (five times in one `superstore materialize`, and once for each step a Dask
# worker runs), and making it takes about a tenth of a second.
_JOBS: dict[tuple, JobDefinition] = {}


def _settings() -> tuple:
    """Everything make_definitions() reads from the process: the SUPERSTORE_ variables, and the
    folder that the defaults are relative to when the package is not in a checkout."""
    variables = sorted((k, v) for k, v in os.environ.items() if k.startswith("SUPERSTORE_"))
    return (*variables, os.getcwd())


def superstore_job() -> JobDefinition:
    """The job as this process's environment defines it; `reconstructable(superstore_job)` is
    how an executor in other processes (Dask workers) finds it again. Made once per process for
    each set of settings."""
    settings = _settings()
    job = _JOBS.get(settings)
    if job is None:
        job = _JOBS[settings] = make_definitions().resolve_job_def("superstore_pipeline")
    return job


# Here is where every way of loading the project passes (`superstore`, `dagster`, `dg`, the UI's
# code server, a run worker). An exported DAGSTER_HOME without the project's dagster.yaml is
# given it, and runs that name no logger in their config (Dagster's implicit asset job) get the
# project's console logger: a failed step in one line, above DEBUG (loggers.py). Dagster's
# one-shot commands run and end as `superstore` does (one_shot.py).
settle_exported_home()
settle_dagster_command()
use_as_default_console_logger(console_logger)
defs = make_definitions()
