"""Bad input through the real command: what a person sees in the terminal, and what is kept.

Each case is a variant of the bundled file (and of the real Tableau file, where it is here). Every
case runs through Dagster in-process, as `materialize()` runs it: a refusal is a failed step with
its sentence (the one the console prints, from engine/failures.py), an accepted variant a
success with what the loader did in orders_raw's metadata. One case of each kind also goes to
`superstore materialize` in a subprocess, after a good run in the same home: a refusal prints its
sentence once, with no stack trace; an input the loader accepts runs, with what it dropped or
counted in the metadata; and afterwards the good file trains nothing again.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType

from superstore_assets.engine.failures import sentence
from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests.conftest import BUNDLED, REAL, Workspace, copied, run_pipeline

pytestmark = pytest.mark.slow

TRACE_MARKS = ("Stack Trace:", 'File "', "Traceback", "dagster._core")


def text_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")


def write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, encoding="cp1252", lineterminator="\n")
    return path


def with_cells(column: str, rows: list[int] | slice, value: str) -> Callable[[Path, Path], Path]:
    def make(source: Path, target: Path) -> Path:
        df = text_table(source)
        df.loc[rows, column] = value
        return write(df, target)

    return make


def without_column(column: str) -> Callable[[Path, Path], Path]:
    return lambda source, target: write(text_table(source).drop(columns=[column]), target)


def raw_bytes(data: bytes) -> Callable[[Path, Path], Path]:
    def make(source: Path, target: Path) -> Path:
        target.write_bytes(data)
        return target

    return make


def lines_edited(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path, Path], Path]:
    """A copy whose lines (without their line ends) `edit` changes."""

    def make(source: Path, target: Path) -> Path:
        end = b"\r\n" if b"\r\n" in source.read_bytes()[:4096] else b"\n"
        lines = source.read_bytes().split(end)
        target.write_bytes(end.join(edit(lines)))
        return target

    return make


def quote_opened_on_a_line_without_quotes(lines: list[bytes]) -> list[bytes]:
    """A quote opened in the second field of the first line that holds no quote, so that it is
    closed only by a quote on a later line."""
    at = next(i for i, line in enumerate(lines[1:], 1) if b'"' not in line)
    return [*lines[:at], lines[at].replace(b",", b',"', 1), *lines[at + 1 :]]


# name: (make the file, exit code, the sentence printed once, the step that refuses it)
REFUSED = {
    "empty": (
        raw_bytes(b""),
        1,
        "the file is empty; expected a header line and rows of orders",
        "orders_raw",
    ),
    "binary": (raw_bytes(bytes(range(256)) * 40), 1, "Cannot read", "orders_raw"),
    "excel_workbook": (
        raw_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)),
        1,
        "the file is an Excel 97-2003 workbook (.xls, as Tableau ships the sample), not CSV "
        "text; save its Orders sheet as CSV.",
        "orders_raw",
    ),
    "no_discount_is_a_number": (
        with_cells("Discount", slice(None), "ten percent"),
        1,
        "no Discount cell is a number (for example 'ten percent'); the models need Discount as "
        "numbers",
        "orders_raw",
    ),
    "negative_quantity": (
        with_cells("Quantity", [3, 9, 11, 40], "-2"),
        1,
        "4 rows with Quantity below 1, e.g. Row ID 4 (-2), Row ID 10 (-2), Row ID 12 (-2)",
        "orders_raw",
    ),
    "discount_above_one": (
        with_cells("Discount", [5, 6], "1.5"),
        1,
        "2 rows with Discount outside [0, 1], e.g. Row ID 6 (1.5), Row ID 7 (1.5)",
        "orders_raw",
    ),
    "no_profit_column": (without_column("Profit"), 1, "missing: Profit", "orders_raw"),
    "header_only": (
        lines_edited(lambda lines: [lines[0], b""]),
        1,
        "the file has a header line but no rows of orders",
        "orders_raw",
    ),
    "more_fields_than_the_header": (
        lines_edited(lambda lines: [*lines[:5], lines[5] + b",extra,cells", *lines[6:]]),
        1,
        "line 6 has 23 fields where the header line has 21; a cell that holds a comma must be in "
        "quotes",
        "orders_raw",
    ),
    "quote_closed_on_a_later_line": (
        lines_edited(quote_opened_on_a_line_without_quotes),
        1,
        "is closed only on a later line, so the lines between are read as one cell",
        "orders_raw",
    ),
    "shipped_before_ordered": (
        with_cells("Ship Date", [3, 4], "1/1/2010"),
        1,
        "2 rows with Ship Date before its Order Date, e.g. Row ID 4 (2010-01-01), Row ID 5 "
        "(2010-01-01)",
        "orders_clean",
    ),
}


# The refusals given to the command as well: one of each kind (the file's kind, the parser, a
# refusal in cleaning's step). What a check's refusal prints: test_after_a_refused_file_… below.
# The command prints a refusal's sentence by one rule for every case (engine/failures.py).
THROUGH_THE_COMMAND = [
    "empty",
    "excel_workbook",
    "quote_closed_on_a_later_line",
    "shipped_before_ordered",
]
# The steps a dataset passes before anything is fitted.
INGEST = [AssetKey("superstore_csv"), AssetKey("orders_raw"), AssetKey("orders_clean")]


def failed_in_process(space: Workspace, path: Path) -> tuple[bool, dict[str, str]]:
    """Whether the ingest steps succeed on `path` in-process, and each failed step's sentence:
    the one the console prints (a refusal's description, or what its blocking check found)."""
    result = run_pipeline(space, path, asset_selection=INGEST)
    found = {
        event.event_specific_data.check_name: event.event_specific_data.description
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and not event.event_specific_data.passed
        and event.event_specific_data.description
    }
    failed = {
        event.step_key: sentence(event.step_failure_data, found)
        for event in result.all_events
        if event.is_step_failure
    }
    return result.success, failed


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Workspace:
    """A home of the module's own for in-process runs on each variant."""
    from superstore_assets_tests.conftest import new_workspace

    return new_workspace(tmp_path_factory.mktemp("bad_input_in_process"))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_every_refusal_fails_its_step_with_its_sentence(case, in_process, tmp_path):
    make, _, said, step = REFUSED[case]
    success, failed = failed_in_process(in_process, make(BUNDLED, tmp_path / f"{case}.csv"))
    assert not success and list(failed) == [step], failed
    assert said in failed[step] and "\n" not in failed[step], failed


def no_trace(done: subprocess.CompletedProcess) -> None:
    seen = done.stdout + done.stderr
    for mark in TRACE_MARKS:
        assert mark not in seen, f"{mark!r} printed:\n{seen}"


@pytest.fixture(scope="module")
def bundled_home(bundled_run, tmp_path_factory) -> tuple[Workspace, Path]:
    """A copy of the session's home where the whole graph was materialized on the bundled file."""
    return copied(bundled_run[0], tmp_path_factory.mktemp("bad_input_bundled")), BUNDLED


@pytest.fixture(scope="module", params=["bundled", "real"])
def good_home(request, bundled_home, tmp_path_factory) -> tuple[Workspace, Path]:
    """A home materialized on the good file: the bundled one, and the real Tableau file."""
    if request.param == "bundled":
        return bundled_home
    runs = request.getfixturevalue("real_runs")
    return copied(runs.real, tmp_path_factory.mktemp("bad_input_real")), REAL


@pytest.mark.parametrize("case", THROUGH_THE_COMMAND)
def test_a_refused_file_prints_its_sentence_once_and_no_trace(case, bundled_home, tmp_path):
    """The refusals do not depend on the file's content beyond the cell changed: the bundled
    file shows them; the real file shows one below, with what it leaves intact. (Day-first
    dates: cli/test_cli.py, with the setting that then reads them.)"""
    space, good = bundled_home
    make, code, said, step = REFUSED[case]
    bad = make(good, tmp_path / f"{case}.csv")
    done = space.superstore("materialize", "--dataset", str(bad))
    assert done.returncode == code, done.stdout + done.stderr
    assert (done.stdout + done.stderr).count(said) == 1, done.stdout + done.stderr
    no_trace(done)
    assert "FAILED in" in done.stdout and f"Failed (1): {step}\n" in done.stdout


def test_missing_and_text_numbers_are_dropped_or_counted_not_refused(good_home, tmp_path):
    space, good = good_home
    df = text_table(good)
    profit_blank = list(range(5, len(df), 100))
    df.loc[profit_blank, "Profit"] = ""
    df.loc[[7, 8], "Sales"] = "n/a"
    done = space.superstore("materialize", "--dataset", str(write(df, tmp_path / "holes.csv")))
    assert done.returncode == 0, done.stdout + done.stderr
    no_trace(done)
    with space.instance() as instance:
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
        clean = instance.get_latest_materialization_event(AssetKey("orders_clean"))
    assert raw.asset_materialization.metadata["not_numeric_cells"].value["Sales"] == 2
    dropped = clean.asset_materialization.metadata["dropped_missing_profit"].value
    assert dropped == len(profit_blank)


def test_after_a_refused_file_the_good_one_trains_nothing(good_home, tmp_path):
    """A refusal leaves the good run's outputs as they were: the good file restores every
    model (and whatever ran before this test in the home, the good file's outputs are kept).
    The refused file given again is refused again: the output its check failed on is stale,
    never current, so nothing below it runs on it."""
    space, good = good_home
    make, code, said, _ = REFUSED["negative_quantity"]
    bad = make(good, tmp_path / "bad.csv")
    for _ in range(2):
        refused = space.superstore("materialize", "--dataset", str(bad))
        assert refused.returncode == code, refused.stdout + refused.stderr
        assert (refused.stdout + refused.stderr).count(said) == 1, refused.stdout
        assert "Failed (1): orders_raw\n" in refused.stdout, refused.stdout
        no_trace(refused)
    status = space.superstore("status", "--dataset", str(bad)).stdout.splitlines()
    assert "stale    <- check quantity_positive failed" in status[1], status
    done = space.superstore("materialize", "--dataset", str(good))
    assert done.returncode == 0, done.stdout + done.stderr
    computed = done.stdout.split("Reused")[0]
    trained = [
        m for m in ("decision_tree", "random_forest", "logistic_regression") if m in computed
    ]
    assert trained == [], done.stdout


def spreadsheet_formatted(source: Path, target: Path) -> Path:
    """The same orders as a spreadsheet may export them: money with a currency sign and
    thousands separators, and two column names spelled another way."""
    df = text_table(source)
    df["Sales"] = [f"${float(v):,}" for v in df["Sales"]]
    df["Profit"] = [f"-${-float(v):,}" if float(v) < 0 else f"${float(v):,}" for v in df["Profit"]]
    return write(
        df.rename(columns={"Order Date": "ORDER DATE", "Sub-Category": "sub_category"}), target
    )


def test_orders_a_spreadsheet_formatted_are_read_as_the_same_orders(bundled_home, tmp_path):
    """Formatted numbers and respelled column names are read as the numbers and names they
    stand for: orders_raw is the good file's table again, so nothing below it reruns."""
    space, good = bundled_home
    done = space.superstore(
        "materialize", "--dataset", str(spreadsheet_formatted(good, tmp_path / "formatted.csv"))
    )
    assert done.returncode == 0, done.stdout + done.stderr
    no_trace(done)
    assert "Computed (1): orders_raw\n" in done.stdout, done.stdout
    with space.instance() as instance:
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
    metadata = raw.asset_materialization.metadata
    rows = metadata["rows"].value
    assert metadata["formatted_numbers"].value == {"Sales": rows, "Profit": rows}
    assert metadata["renamed_columns"].value == {
        "ORDER DATE": "Order Date",
        "sub_category": "Sub-Category",
    }


@pytest.mark.parametrize("command", ["dagster", "dg"])
def test_dagsters_own_commands_print_the_refusal_once_and_no_trace(command, bundled_home, tmp_path):
    """`dagster asset materialize` and `dg launch` run Dagster's implicit asset job, whose
    config names no logger: it gets the project's console logger all the same."""
    space, good = bundled_home
    make, _, said, step = REFUSED["empty"]
    bad = make(good, tmp_path / "empty.csv")
    bin_dir = Path(sys.executable).parent
    args = {
        "dagster": [str(bin_dir / "dagster"), "asset", "materialize", "-m", "superstore_assets"],
        "dg": [str(bin_dir / "dg"), "launch"],
    }[command]
    done = subprocess.run(
        [*args, "--select" if command == "dagster" else "--assets", "*"],
        cwd=PACKAGE_DIR.parent,
        env=space.env(SUPERSTORE_DATASET=str(bad)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    seen = done.stdout + done.stderr
    assert done.returncode != 0, seen
    assert seen.count(said) == 1, seen
    assert f"{step} - " in seen.split(said)[0].splitlines()[-1], seen  # the line names the step
    no_trace(done)


def written(**options) -> Callable[[Path, Path], Path]:
    """A copy written with other pandas to_csv options (encoding, delimiter, header, line end)."""

    # Read, never popped: the same `make` writes the same file each time it is called (the
    # in-process and the command's tests share ACCEPTED).
    legacy = options.get("legacy", False)
    extra_and_reordered = options.get("extra_and_reordered", False)
    to_csv = {k: v for k, v in options.items() if k not in ("legacy", "extra_and_reordered")}

    def make(source: Path, target: Path) -> Path:
        df = text_table(source)
        if legacy:
            df = df.drop(columns=["Row ID", "Country"])
        if extra_and_reordered:
            df = df[list(reversed(df.columns))].assign(Note="a column nobody reads")
        df.to_csv(target, index=False, **{"encoding": "cp1252", "lineterminator": "\n", **to_csv})
        return target

    return make


# name: (make the file, what orders_raw's metadata then says)
ACCEPTED = {
    "utf8_with_bom": (written(encoding="utf-8-sig"), {"encoding": "utf-8 (BOM)"}),
    "semicolons": (written(sep=";"), {"delimiter": ";"}),
    "tabs": (written(sep="\t"), {"delimiter": "\t"}),
    "no_header": (written(header=False), {"layout": "headerless 21 columns"}),
    "older_19_columns": (
        written(header=False, legacy=True),
        {"layout": "headerless 19 columns (Row ID and Country added)"},
    ),
    "mac_roman_cr": (
        written(encoding="mac_roman", lineterminator="\r"),
        {"encoding": "mac_roman"},
    ),
    "extra_and_reordered_columns": (written(extra_and_reordered=True), {"extra_columns": ["Note"]}),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_an_accepted_variant_is_read_and_its_metadata_says_how(case, in_process, tmp_path):
    """The variants the loader documents as read: the ingest steps succeed, and orders_raw's
    metadata names the encoding, delimiter, layout or extra columns."""
    make, said = ACCEPTED[case]
    assert failed_in_process(in_process, make(BUNDLED, tmp_path / f"{case}.csv")) == (True, {})
    with in_process.instance() as instance:
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
    metadata = raw.asset_materialization.metadata
    assert {key: metadata[key].value for key in said} == said


# Through the command as well: a file pandas' reader takes (old Mac text, CR line ends) and a
# headerless layout of the older sheet.
@pytest.mark.parametrize("case", ["mac_roman_cr", "older_19_columns"])
def test_an_accepted_variant_runs_and_its_metadata_says_how_it_was_read(
    case, bundled_home, tmp_path
):
    """The whole run succeeds with no trace, and orders_raw's metadata says how it was read."""
    space, good = bundled_home
    make, said = ACCEPTED[case]
    done = space.superstore("materialize", "--dataset", str(make(good, tmp_path / f"{case}.csv")))
    assert done.returncode == 0, done.stdout + done.stderr
    no_trace(done)
    with space.instance() as instance:
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
    metadata = raw.asset_materialization.metadata
    assert {key: metadata[key].value for key in said} == said
