"""Resources: the dataset file the pipeline reads, and the parameters a run overrides."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

from dagster import ConfigurableResource, Failure

from superstore_assets.engine.hashing import sha256_bytes
from superstore_assets.engine.project import resolve_dataset


class DatasetResource(ConfigurableResource):
    """The Superstore CSV file: a path, relative to the checkout or absolute, and how its dates
    are written ("auto": month first or ISO; day first must be named, as "%d/%m/%Y")."""

    # Where a person sets the path: the environment variable, and the resource's key.
    setting: ClassVar[str] = "SUPERSTORE_DATASET"
    key: ClassVar[str] = "dataset"

    path: str
    date_format: str = "auto"

    def resolved_path(self) -> Path:
        return resolve_dataset(self.path)

    def output_settings(self) -> dict[str, str]:
        """What changes the tables made from the file, besides its bytes: the date format.
        (The path does not: the same bytes under another name give the same tables.)"""
        return {"date_format": self.date_format}

    def read_bytes(self) -> bytes:
        """The file's bytes, or a Failure that names the file and the fix."""
        return _read(*self._stat())

    def sha256(self) -> str:
        """The SHA-256 of the file's bytes, worked out once per change of the file in this
        process: the CLI's observation and the run's own record the same hash."""
        return _sha256(*self._stat())

    def _stat(self) -> tuple[str, int, int]:
        path = self.readable_path()
        found = path.stat()
        return str(path), found.st_mtime_ns, found.st_size

    def readable_path(self) -> Path:
        """The file's path, or a Failure that names the file and the fix."""
        path = self.resolved_path()
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise Failure(
                description=(
                    f"The dataset {path} {what}. Point {self.setting} (or the run config "
                    f"resources.{self.key}.config.path) at a Superstore CSV file, or run "
                    "`make data` to regenerate the bundled one."
                )
            )
        return path


class ScoreDatasetResource(DatasetResource):
    """The file of new orders that `scored_orders` scores (Profit not needed)."""

    setting: ClassVar[str] = "SUPERSTORE_SCORE_DATASET"
    key: ClassVar[str] = "score_dataset"


@functools.lru_cache(maxsize=1)
def _read(path: str, mtime_ns: int, size: int) -> bytes:
    """The file's bytes, read once per change: the CLI's observation of the file and the run's
    share one read."""
    return Path(path).read_bytes()


class ParamsResource(ConfigurableResource):
    """One section of the parameters (pipeline/params.py: a model, `split`, `tuning`), with
    the run's overrides written `key=value`, as `superstore materialize -S section.key=value`
    writes them; in the Launchpad, `resources: {random_forest: {config: {overrides:
    ["max_depth=8"]}}}`. Its overrides are part of the versions of the assets that read it.
    Each section is a subclass (params_resource_class), so that run config gives only the
    overrides."""

    section: ClassVar[str] = ""
    overrides: list[str] = []  # noqa: RUF012 (pydantic copies a field's default)

    def values(self) -> dict[str, object]:
        """The section's overrides, checked; a Failure naming the one refused."""
        from superstore_assets.pipeline import params

        try:
            checked = params.parse(f"{self.section}.{text}" for text in self.overrides)
        except params.ParamError as error:
            raise Failure(description=f"Parameter refused: {error}.") from error
        return params.section_overrides(checked, self.section)

    def output_settings(self) -> dict[str, object]:
        """Only what is overridden: a run on the defaults records what it always did."""
        return self.values()


@functools.cache
def params_resource_class(section: str) -> type[ParamsResource]:
    """The resource class of one section (RandomForestParams for random_forest)."""
    name = "".join(word.title() for word in section.split("_")) + "Params"
    return type(name, (ParamsResource,), {"section": section, "__module__": __name__})


def params_resources(overrides: dict[str, object] | None = None) -> dict[str, ParamsResource]:
    """A parameter resource for every section, holding `overrides` (section.key: value)."""
    from superstore_assets.pipeline import params

    overrides = overrides or {}
    return {
        section: params_resource_class(section)(
            overrides=[
                params.assignment(key, value)
                for key, value in params.section_overrides(overrides, section).items()
            ],
        )
        for section in params.defaults()
    }


@functools.lru_cache(maxsize=2)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    return sha256_bytes(_read(path, mtime_ns, size))


def forget_bytes() -> None:
    """Let go of the file's bytes once they are parsed: at millions of lines they are gigabytes
    that no later step needs."""
    _read.cache_clear()


def dataset_fingerprint(
    dataset: DatasetResource, data: bytes, rows: int | None = None, sha256: str | None = None
) -> dict:
    """What an observation of the dataset records: path, size, SHA-256 and rows (each worked
    out here unless the caller already has it)."""
    from dagster import MetadataValue

    sha256 = sha256 or sha256_bytes(data)
    return {
        "path": MetadataValue.path(str(dataset.resolved_path())),
        "size_bytes": MetadataValue.int(len(data)),
        "sha256": sha256,
        "rows": MetadataValue.int(_rows(sha256, data) if rows is None else rows),
    }


_ROWS: dict[str, int] = {}


def known_rows(instance, sha256: str, key=None) -> int | None:
    """The rows of a content an earlier observation (of source `key`, the dataset by default)
    counted, kept for this process as if counted here: a file swapped back is not counted
    again (about half a second a million lines)."""
    from superstore_assets.engine.observation import SOURCE, observed_rows

    if sha256 not in _ROWS:
        found = observed_rows(instance, sha256, key or SOURCE)
        if found is None:
            return None
        _ROWS[sha256] = found
    return _ROWS[sha256]


def _rows(sha256: str, data: bytes) -> int:
    """Data rows of the file, counted once per content in this process (the CLI's observation
    and the run's own would otherwise count the same bytes twice)."""
    if sha256 not in _ROWS:
        from superstore_assets.pipeline.reading import (
            count_rows,  # pandas, so only when rows are counted
        )

        _ROWS[sha256] = count_rows(data)
    return _ROWS[sha256]
