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


StorageKind = Literal["table", "json", "figure", "model", "skops", "html"]

# The only types a stored skops model may hold beyond those skops trusts by default (scikit-learn's
# estimators, numpy's arrays): anything else is refused before an object is built.
TRUSTED_SKOPS_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


# The file extension of each kind's content; a figure also keeps an HTML page and a PNG preview.
EXTENSIONS: dict[str, str] = {
    "table": ".parquet",
    "json": ".json",
    "figure": ".json",
    "model": ".pkl",
    "skops": ".skops",
    "html": ".html",
}


def import_skops() -> None:
    """Import skops.io: about 1.8 s on a 2-core machine, as it lists every scikit-learn
    estimator when it loads. The champion's step names it for the executor (WARM_TAG)."""
    import skops.io  # noqa: F401


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
    if kind == "skops":
        import skops.io

        # Once through a load first: skops records which objects are shared (one NaN object
        # referenced twice, say), and a loaded model shares them differently from a fitted
        # one. From a loaded model the bytes are a fixed point, so a champion kept in place,
        # loaded and stored again, keeps its version.
        once = skops.io.loads(skops.io.dumps(value), trusted=TRUSTED_SKOPS_TYPES)
        return canonical_skops(skops.io.dumps(once))
    if kind == "html":
        return value.encode()
    raise ValueError(f"unknown storage kind {kind!r}")


def canonical_skops(data: bytes) -> bytes:
    """A skops file with the same content in the same bytes every time: skops names each array
    file and object by its id() in memory and stamps every entry with the time, so the ids are
    renumbered in order of appearance and the times fixed."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    schema = source.read("schema.json").decode()
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        number = numbers.setdefault(match.group(2), str(len(numbers) + 1))
        return f"{match.group(1)}{number}{match.group(3)}"

    schema = re.sub(r'("__id__": )(\d+)()', renumber, schema)
    schema = re.sub(r'("file": ")(\d+)(\.npy")', renumber, schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        entries = {"schema.json": schema.encode()}
        for info in source.infolist():
            if info.filename != "schema.json":
                stem = info.filename.removesuffix(".npy")
                entries[f"{numbers.get(stem, stem)}.npy"] = _zero_padding(source.read(info))
        for name in sorted(entries):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, entries[name])
    return out.getvalue()


def _zero_padding(npy: bytes) -> bytes:
    """An array file whose structured records' padding bytes are zero: a tree's node records
    have 7 bytes of padding, whatever memory held before (a loaded tree's, for instance)."""
    import numpy as np

    array = np.load(io.BytesIO(npy), allow_pickle=False)
    fields = array.dtype.fields
    if not fields or sum(f[0].itemsize for f in fields.values()) == array.dtype.itemsize:
        return npy
    clean = np.zeros(array.shape, dtype=array.dtype)
    for name in array.dtype.names:
        clean[name] = array[name]
    out = io.BytesIO()
    np.save(out, clean, allow_pickle=False)
    return out.getvalue()


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
    if kind == "skops":
        import skops.io

        # Refused, before anything is built, if the file names a type outside the trusted ones;
        # a pickle is not a skops file at all (not a zip): refused too, never unpickled.
        return skops.io.loads(data, trusted=TRUSTED_SKOPS_TYPES)
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
