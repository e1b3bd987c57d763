"""`superstore predict FILE [-o OUT]`: score a Superstore-shaped file with the champion.

One row out per line in: Row ID, the probability that the line is profitable, and the class;
CSV or Parquet by OUT's extension. Which champion scored which file is written beside: in the
Parquet file's metadata, or in OUT.json beside a CSV.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from superstore_assets.cli.common import DatasetUnreadable, setup

FORMATS = (".csv", ".parquet")


def predict(args: argparse.Namespace) -> int:
    """Score every line of FILE with the current champion and write OUT."""
    home = setup(args)
    source = Path(args.file)
    out = Path(args.output) if args.output else Path(f"{source.stem}_scored.csv")
    if out.suffix not in FORMATS:
        raise DatasetUnreadable(f"-o {out} must end in .csv or .parquet")
    if not source.is_file():
        raise DatasetUnreadable(f"{source} is not a file to score")
    from superstore_assets.engine.codecs import StoredFileError
    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.hashing import sha256_bytes
    from superstore_assets.engine.history import current_champion
    from superstore_assets.engine.project import date_format_setting, storage_path
    from superstore_assets.pipeline.reading import DatasetError
    from superstore_assets.pipeline.scoring import read_and_score

    with opened_instance() as instance:
        try:
            champion = current_champion(instance, storage_path())
        except StoredFileError as error:
            raise DatasetUnreadable(f"the champion cannot be loaded: {error}") from error
    if champion is None:
        raise DatasetUnreadable(
            f"no champion on record in {home}: run `superstore materialize` first"
        )
    data = source.read_bytes()
    try:
        scored = read_and_score(champion.model, data, date_format_setting())
    except DatasetError as error:
        raise DatasetUnreadable(f"Cannot score {source}: {error}.") from error
    facts = {
        "input": str(source.resolve()),
        "input_sha256": sha256_bytes(data),
        "champion_model": champion.card["model"],
        "champion_run_id": champion.card["run_id"],
        "champion_sha256": champion.version,
        "rows": len(scored),
    }
    write_scores(scored, out, facts)
    shown = f"{scored['predicted_profitable'].mean():.1%}" if len(scored) else "-"
    print(
        f"Scored {len(scored)} lines of {source} with the champion {champion.card['model']} "
        f"(run {champion.card['run_id'][:8]}); predicted profitable: {shown}"
    )
    print(f"Wrote {out}" + ("" if out.suffix == ".parquet" else f" and {sidecar(out)}"))
    return 0


def sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def write_scores(scored, out: Path, facts: dict) -> None:
    """The scores as CSV (with the facts in OUT.json) or Parquet (the facts in its metadata)."""
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(scored, preserve_index=False)
        extra = {f"superstore.{k}".encode(): str(v).encode() for k, v in facts.items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        pq.write_table(table, out)
    else:
        scored.to_csv(out, index=False)
        sidecar(out).write_text(json.dumps(facts, indent=2) + "\n")
