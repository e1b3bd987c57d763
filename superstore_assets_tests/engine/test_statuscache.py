"""The kept status answer: its key changes with anything a status check reads, and only then."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from superstore_assets.engine import statuscache
from superstore_assets.engine.hashing import sha256_file
from superstore_assets.engine.statuscache import UNSEEN, recall, recall_swapped, state_key


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    home, storage = tmp_path / "home", tmp_path / "storage"
    (home / "history" / "runs").mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (home / "history" / "runs" / "index.db").write_bytes(b"events")
    (storage / "tables" / "versions").mkdir(parents=True)
    (storage / "tables" / "orders_raw.parquet").write_bytes(b"table")
    dataset = tmp_path / "superstore.csv"
    dataset.write_bytes(b"Row ID,Order ID\n1,CA-1\n")
    return {"home": home, "storage": storage, "dataset": dataset}


def key(layout: dict[str, Path], **settings: str) -> tuple[str, str] | None:
    return state_key(
        layout["home"], str(layout["dataset"]), str(layout["storage"]), settings or {"d": "auto"}
    )


def later(path: Path) -> None:
    """Let the clock move past the file system's tick, so that a rewrite gets a new time."""
    time.sleep(0.02)
    os.utime(path)  # what any write does


def test_same_state_same_key(layout):
    assert key(layout) is not None and key(layout) == key(layout)


@pytest.mark.parametrize(
    "change",
    [
        "dataset rewritten with the same bytes",
        "dataset swapped",
        "an event written",
        "a new run's file",
        "a stored output edited",
        "a stored output deleted",
        "the instance's settings",
    ],
)
def test_anything_a_status_reads_changes_the_key(layout, change):
    before = key(layout)
    dataset, home, storage = layout["dataset"], layout["home"], layout["storage"]
    if change == "dataset rewritten with the same bytes":
        later(dataset)
    elif change == "dataset swapped":
        swapped = dataset.with_name("other.csv")
        swapped.write_bytes(dataset.read_bytes().replace(b"CA-1", b"CA-2"))
        os.replace(swapped, dataset)
    elif change == "an event written":
        later(home / "history" / "runs" / "index.db")
    elif change == "a new run's file":
        (home / "history" / "runs" / "0b1c.db").write_bytes(b"run")
    elif change == "a stored output edited":
        (storage / "tables" / "orders_raw.parquet").write_bytes(b"tablf")
    elif change == "a stored output deleted":
        (storage / "tables" / "orders_raw.parquet").unlink()
    elif change == "the instance's settings":
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    assert key(layout)[0] != before[0]
    # All but the dataset: the key a swapped dataset's answer is kept under.
    assert (key(layout)[1] == before[1]) == change.startswith("dataset")


def test_settings_that_change_how_the_file_is_read_change_the_key(layout):
    assert key(layout, date_format="auto") != key(layout, date_format="%d/%m/%Y")


def test_code_edits_change_the_key(layout, monkeypatch):
    before = key(layout)
    monkeypatch.setattr(statuscache, "source_key", lambda: "another source")
    assert key(layout) != before


def test_no_key_where_files_cannot_tell(layout):
    assert state_key(layout["home"], str(layout["dataset"]), "s3://bucket/prefix", {}) is None
    (layout["home"] / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: postgresql://127.0.0.1/dagster\n"
    )
    assert key(layout) is None
    assert recall(layout["home"], None) is None


def test_missing_dataset_has_no_key(layout):
    layout["dataset"].unlink()
    assert key(layout) is None


def test_settled_key_waits_out_the_clock_tick(layout):
    index = layout["home"] / "history" / "runs" / "index.db"
    index.write_bytes(b"just written")
    state_key(layout["home"], str(layout["dataset"]), str(layout["storage"]), {}, settle=True)
    assert time.time_ns() - index.stat().st_mtime_ns >= statuscache._TICK_NS


def test_keep_and_recall(layout):
    home, current = layout["home"], key(layout)
    statuscache.keep(home, current, {"text": "orders_raw  fresh", "all_fresh": True})
    assert recall(home, current)["text"] == "orders_raw  fresh"
    assert recall(home, ("another key", current[1])) is None
    (home / "superstore" / "status.json").write_text("{not json")
    assert recall(home, current) is None


SWAPPED_TEXT = (
    "orders_raw    stale  <- superstore_csv changed (sha256 {before}…→0000…)\n"
    "orders_clean  stale  <- orders_raw <- superstore_csv changed (sha256 {before}…→0000…)"
)


def swap(layout: dict[str, Path], content: bytes) -> str:
    """Write `content` as a new dataset file, as a swap does; its SHA-256."""
    swapped = layout["dataset"].with_name("other.csv")
    swapped.write_bytes(content)
    os.replace(swapped, layout["dataset"])
    return sha256_file(layout["dataset"])


def test_a_swapped_dataset_is_answered_with_its_own_hash_in_place_of_unseen(layout):
    home, kept = layout["home"], key(layout)
    version = sha256_file(layout["dataset"])
    text = SWAPPED_TEXT.format(before=version[:4])
    swapped = {"text": text, "made_from": [version]}
    answer = {"version": version, "text": "orders_raw  fresh", "all_fresh": True}
    statuscache.keep(home, kept, {**answer, "swapped": swapped})
    assert recall_swapped(home, kept, str(layout["dataset"]))["text"] == "orders_raw  fresh"

    new = swap(layout, b"Row ID,Order ID\n1,CA-2\n")
    assert UNSEEN not in (version, new)
    found = recall_swapped(home, key(layout), str(layout["dataset"]))
    assert recall(home, key(layout)) is None, "the whole key missed"
    assert (found["version"], found["previous"]) == (new, version)
    assert found["text"] == text.replace("→0000…)", f"→{new[:4]}…)")
    assert found["text"].count(f"{version[:4]}…→{new[:4]}…") == 2


def test_no_shortcut_back_to_a_file_the_outputs_were_made_from_or_past_another_change(layout):
    # Kept after a status on a swapped file: the outputs were made from an earlier one.
    home, kept = layout["home"], key(layout)
    version = sha256_file(layout["dataset"])
    earlier = hashlib.sha256(b"Row ID,Order ID\n1,CA-0\n").hexdigest()
    swapped = {"text": SWAPPED_TEXT.format(before=earlier[:4]), "made_from": [earlier]}
    statuscache.keep(home, kept, {"version": version, "text": "-", "swapped": swapped})
    assert swap(layout, b"Row ID,Order ID\n1,CA-9\n") not in (version, earlier)
    assert recall_swapped(home, key(layout), str(layout["dataset"])) is not None
    assert swap(layout, b"Row ID,Order ID\n1,CA-0\n") == earlier  # back: no shortcut
    assert recall_swapped(home, key(layout), str(layout["dataset"])) is None
    later(home / "history" / "runs" / "index.db")  # anything else changed: no shortcut
    swap(layout, b"Row ID,Order ID\n1,CA-9\n")
    assert recall_swapped(home, key(layout), str(layout["dataset"])) is None
