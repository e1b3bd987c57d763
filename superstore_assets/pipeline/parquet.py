"""A table's bytes as the pipeline stores them: Parquet, the same bytes for the same frame.

The notebook writes its tables with this too, so that both write identical files.
"""

from __future__ import annotations

import io
from typing import Any

# Tables are converted to and from Arrow this many rows at a time, so that a table of millions of
# rows is never held twice (as pandas and as Arrow). Each slice is one Parquet row group, as
# pandas writes a table of up to 1,048,576 rows: a smaller table gives the same bytes as
# `DataFrame.to_parquet`.
TABLE_SLICE_ROWS = 1_048_576


def encode_table(df: Any) -> bytes:
    """The table as Parquet (pyarrow, snappy, no index), converted one slice at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    if len(df) <= TABLE_SLICE_ROWS:
        df.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()
    first = pa.Table.from_pandas(df.iloc[:TABLE_SLICE_ROWS], preserve_index=False)
    with pq.ParquetWriter(buffer, first.schema, compression="snappy") as writer:
        writer.write_table(first, row_group_size=TABLE_SLICE_ROWS)
        del first
        for start in range(TABLE_SLICE_ROWS, len(df), TABLE_SLICE_ROWS):
            part = df.iloc[start : start + TABLE_SLICE_ROWS]
            table = pa.Table.from_pandas(part, schema=writer.schema, preserve_index=False)
            writer.write_table(table, row_group_size=TABLE_SLICE_ROWS)
    return buffer.getvalue()
