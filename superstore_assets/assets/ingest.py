"""Ingest: the dataset file as a source asset, then the raw, clean and feature tables."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    Failure,
    MetadataValue,
    ObserveResult,
    Output,
    observable_source_asset,
)
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type

from superstore_assets.assets.resources import DatasetResource, dataset_fingerprint, forget_bytes
from superstore_assets.engine import provenance
from superstore_assets.engine.dagster_internals import refresh_input_version, tag_run
from superstore_assets.engine.observation import SOURCE, observed_version, source_observation
from superstore_assets.engine.project import project_root
from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import cleaning, config, features, reading

GROUP = "ingest"

_INTEGER = {"Row ID", "Quantity"}
SuperstoreOrders = create_dagster_pandas_dataframe_type(
    name="SuperstoreOrders",
    description=(
        "The 21 columns of Tableau's Sample - Superstore Orders sheet, as read: text as str, "
        "Row ID and Quantity as integers, Sales, Discount and Profit as floats. A number may be "
        "missing (a blank cell, or text the loader counted in not_numeric_cells and left "
        "empty): cleaning drops or counts those rows. A column may be absent here; the "
        "required_columns_present check says which the pipeline needs."
    ),
    columns=[
        PandasColumn.integer_column(name, is_required=False, ignore_missing_vals=True)
        if name in _INTEGER
        else PandasColumn.float_column(name, is_required=False, ignore_missing_vals=True)
        if name in config.NUMERIC_COLUMNS
        else PandasColumn.string_column(name, is_required=False)
        for name in config.SUPERSTORE_COLUMNS
    ],
)


def tag_run_with_dataset(context, fingerprint: dict) -> None:
    """Tag the run with the dataset's name, hash, size and rows, and the git commit, unless an
    earlier step of the run already did."""
    tags = context.instance.get_run_by_id(context.run.run_id).tags
    if tags.get(f"{provenance.TAG_PREFIX}dataset_sha256") == fingerprint["sha256"]:
        return
    tag_run(
        context,
        provenance.run_tags(
            path=fingerprint["path"].value,
            sha256=fingerprint["sha256"],
            size=fingerprint["size_bytes"].value,
            rows=fingerprint["rows"].value,
            git=provenance.git_state(project_root()),
        ),
    )


@observable_source_asset(
    group_name=GROUP, description="The Superstore CSV file, versioned by SHA-256."
)
def superstore_csv(context, dataset: DatasetResource) -> ObserveResult:
    fingerprint = dataset_fingerprint(dataset, dataset.read_bytes(), sha256=dataset.sha256())
    tag_run_with_dataset(context, fingerprint)
    return ObserveResult(data_version=DataVersion(fingerprint["sha256"]), metadata=fingerprint)


def record_source_version(context: AssetExecutionContext, fingerprint: dict) -> None:
    """Record an observation of the file just read, unless the latest one has its hash.

    A run that does not observe the source first (`dagster asset materialize --select '*'`,
    the UI's "Materialize all") would otherwise record this step's lineage against an older
    observation, or none.
    """
    if observed_version(context.instance) == fingerprint["sha256"]:
        return
    context.log_event(source_observation(fingerprint))
    refresh_input_version(context, SOURCE)


def _preview(df: pd.DataFrame, rows: int = 5) -> MetadataValue:
    return MetadataValue.md(df.head(rows).to_markdown(index=False))


def observe_dataset(context: AssetExecutionContext, dataset: DatasetResource) -> dict:
    """Record the file about to be read as the source's version, and tag the run with it."""
    fingerprint = dataset_fingerprint(dataset, dataset.read_bytes(), sha256=dataset.sha256())
    record_source_version(context, fingerprint)
    tag_run_with_dataset(context, fingerprint)
    return {"dataset_path": fingerprint["path"], "dataset_sha256": fingerprint["sha256"]}


def raw_checks(df: pd.DataFrame):
    """The columns the pipeline needs are there; Discount lies in [0, 1]; Quantity is positive."""
    missing = cleaning.missing_columns(df)
    yield AssetCheckResult(
        check_name="required_columns_present",
        passed=not missing,
        metadata={"missing": MetadataValue.json(missing)},
        description=f"missing: {', '.join(missing)}" if missing else "all required columns present",
    )
    discount = df.get("Discount", pd.Series(dtype="float64"))  # absent: the check above fails
    outside = (discount < 0) | (discount > 1)
    yield refusing_rows(df, "discount_in_range", outside, "Discount", "outside [0, 1]")
    quantity = df.get("Quantity", pd.Series(dtype="Int64"))
    yield refusing_rows(df, "quantity_positive", quantity <= 0, "Quantity", "below 1")


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def refusing_rows(
    df: pd.DataFrame, check: str, wrong: pd.Series, column: str, what: str, show=str
) -> AssetCheckResult:
    """A check that passes when no row breaks the rule, and otherwise says how many rows do,
    with the first three as examples (Row ID and the value, as `show` writes it)."""
    rows = df.loc[wrong.fillna(False).astype(bool).to_numpy()] if column in df else df.iloc[:0]
    first = rows.head(3)
    ids = first["Row ID"] if "Row ID" in first else first.index.to_series()
    examples = (
        [
            f"Row ID {row_id} ({show(value)})"
            for row_id, value in zip(ids, first[column], strict=True)
        ]
        if not first.empty
        else []
    )
    found = f"{len(rows)} rows with {column} {what}"
    return AssetCheckResult(
        check_name=check,
        passed=rows.empty,
        metadata={
            "rows": MetadataValue.int(len(rows)),
            "examples": MetadataValue.json(examples),
        },
        description=f"{found}, e.g. {', '.join(examples)}" if examples else found,
    )


@versioned_asset(
    group_name=GROUP,
    deps=[superstore_csv],
    dagster_type=SuperstoreOrders,
    prepare=observe_dataset,
    checks=raw_checks,
    check_specs=[
        AssetCheckSpec("required_columns_present", asset="orders_raw", blocking=True),
        AssetCheckSpec("discount_in_range", asset="orders_raw", blocking=True),
        AssetCheckSpec("quantity_positive", asset="orders_raw", blocking=True),
    ],
)
def orders_raw(dataset: DatasetResource) -> Output[pd.DataFrame]:
    """The dataset file read with its encoding into a typed frame of the Superstore columns."""
    path = dataset.readable_path()
    # The observation has hashed the bytes; the file is parsed as it is read, so that at
    # millions of lines its bytes and its table are never held at once.
    forget_bytes()
    try:
        df, facts = reading.read_orders(path)
    except reading.DatasetError as error:
        raise Failure(description=f"Cannot read {dataset.resolved_path()}: {error}.") from error
    return Output(
        df,
        metadata={
            "rows": MetadataValue.int(facts["rows"]),
            "columns": MetadataValue.int(facts["columns"]),
            "layout": facts["layout"],
            "encoding": facts["encoding"],
            "delimiter": facts["delimiter"],
            "not_numeric_cells": MetadataValue.json(facts["not_numeric_cells"]),
            "formatted_numbers": MetadataValue.json(facts["formatted_numbers"]),
            "renamed_columns": MetadataValue.json(facts["renamed_columns"]),
            "postal_codes_padded": MetadataValue.int(facts["postal_codes_padded"]),
            "extra_columns": MetadataValue.json(facts["extra_columns"]),
            "preview": _preview(df),
        },
    )


def clean_checks(df: pd.DataFrame):
    """No line ships before it was ordered; both classes are present, or no model can learn."""
    early = df["Ship Date"] < df["Order Date"]
    yield refusing_rows(
        df, "ship_date_not_before_order_date", early, "Ship Date", "before its Order Date", _day
    )
    classes = df[config.TARGET].value_counts().to_dict()
    yield AssetCheckResult(
        check_name="both_classes_present",
        passed=len(classes) == 2,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "profitable": MetadataValue.int(int(classes.get(True, 0))),
            "not_profitable": MetadataValue.int(int(classes.get(False, 0))),
        },
        description=None if len(classes) == 2 else "one class only: no model can learn",
    )


@versioned_asset(
    group_name=GROUP,
    checks=clean_checks,
    check_specs=[
        AssetCheckSpec("ship_date_not_before_order_date", asset="orders_clean", blocking=True),
        AssetCheckSpec("both_classes_present", asset="orders_clean", blocking=True),
    ],
)
def orders_clean(orders_raw: pd.DataFrame, dataset: DatasetResource) -> Output[pd.DataFrame]:
    """Dates parsed, target `profitable = Profit > 0` added, unusable and duplicate rows dropped."""
    try:
        df, counts = cleaning.clean_orders(orders_raw, dataset.date_format)
    except reading.DatasetError as error:
        raise Failure(description=f"Cannot clean {dataset.resolved_path()}: {error}.") from error
    return Output(
        df,
        metadata={
            **{rule: MetadataValue.int(n) for rule, n in counts.items() if isinstance(n, int)},
            "date_format": counts["date_format"],
            "profitable_share": float(df[config.TARGET].mean()) if len(df) else 0.0,
            "first_order": str(df["Order Date"].min().date()) if len(df) else "",
            "last_order": str(df["Order Date"].max().date()) if len(df) else "",
        },
    )


@versioned_asset(group_name=GROUP, columns={"orders_clean": features.FEATURE_SOURCE_COLUMNS})
def model_features(orders_clean: pd.DataFrame) -> Output[pd.DataFrame]:
    """The model inputs in one table: numeric and categorical features and the target."""
    df = features.build_features(orders_clean)
    return Output(
        df,
        metadata={
            "rows": MetadataValue.int(len(df)),
            "numeric_features": MetadataValue.json(list(config.NUMERIC_FEATURES)),
            "categorical_features": MetadataValue.json(list(config.CATEGORICAL_FEATURES)),
            "missing_numbers": MetadataValue.json(
                {c: int(df[c].isna().sum()) for c in config.NUMERIC_FEATURES}
            ),
            "preview": _preview(df),
        },
    )
