"""The bytes stored for each kind of output, and the value back from them.

The same value gives the same bytes on any machine with the locked dependencies, so the bytes'
SHA-256 can serve as the data version.
"""

from __future__ import annotations

import io
import json
import pickle
from typing import Any, Literal

from dagster import MetadataValue

from superstore_assets.pipeline.parquet import encode_table


class StoredFileError(RuntimeError):
    """A stored output does not match what the instance recorded for it."""


StorageKind = Literal["table", "json", "figure", "model", "html"]


# The file extension of each kind's content; a figure also keeps an HTML page and a PNG preview.
EXTENSIONS: dict[str, str] = {
    "table": ".parquet",
    "json": ".json",
    "figure": ".json",
    "model": ".pkl",
    "html": ".html",
}


def encode(kind: str, value: Any) -> bytes:
    """The bytes stored for a value: Parquet, sorted JSON, plotly JSON, a pickle or UTF-8.

    The same value gives the same bytes on any machine with the locked dependencies, so the
    bytes' SHA-256 can serve as the data version.
    """
    if kind == "table":
        return encode_table(value)
    if kind == "json":
        return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    if kind == "figure":
        return value.to_json(pretty=False).encode()
    if kind == "model":
        return pickle.dumps(value, protocol=5)
    if kind == "html":
        return value.encode()
    raise ValueError(f"unknown storage kind {kind!r}")


def decode_table(data: bytes, columns: list[str] | None = None) -> Any:
    """The table back from Parquet, or only `columns` of it, in that order; past one row group,
    converted one column at a time."""
    import pandas as pd  # here, not at module load: `superstore status` never needs it
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(pa.BufferReader(data))
    names = source.schema_arrow.names
    _check_columns(names, columns)
    if source.num_row_groups <= 1:
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow", columns=columns)
    # One column at a time, each converted from Arrow and the Arrow copy let go, and the columns
    # joined as they are (copy=False: pandas would otherwise gather them into one block per
    # dtype, a second copy of the table): the table is never held twice.
    wanted = names if columns is None else columns
    joined = {name: source.read(columns=[name]).to_pandas()[name] for name in wanted}
    return pd.DataFrame(joined, columns=wanted, copy=False)


def _check_columns(names: list[str], columns: list[str] | None) -> None:
    absent = [c for c in columns or [] if c not in names]
    if absent:
        listed = ", ".join(repr(c) for c in absent)
        raise StoredFileError(f"the stored table has no column {listed}, which the step reads")


def project(df: Any, columns: list[str] | None) -> Any:
    """The frame, or only `columns` of it, in that order."""
    if columns is None:
        return df
    _check_columns(list(df.columns), columns)
    return df[columns]


def decode(kind: str, data: bytes) -> Any:
    """The value back from its bytes (a model only after its hash was checked: see load)."""
    if kind == "table":
        return decode_table(data)
    if kind == "json":
        return json.loads(data)
    if kind == "figure":
        import plotly.io

        return plotly.io.from_json(data.decode())
    if kind == "model":
        return pickle.loads(data)
    if kind == "html":
        return data.decode()
    raise ValueError(f"unknown storage kind {kind!r}")


def describe(kind: str, value: Any) -> dict[str, Any]:
    """Metadata about the value itself: the rows and columns of a table."""
    if kind == "table":
        return {
            "stored_rows": MetadataValue.int(len(value)),
            "stored_columns": MetadataValue.int(len(value.columns)),
        }
    return {}


def decoded_rows(data: bytes) -> int:
    """The rows of a Parquet table, from its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
