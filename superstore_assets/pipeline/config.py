"""Every knob of the pipeline in one place: columns, target rule, split, seeds and grids.

Assets read their settings from here, so that a change to one setting is a change to the code
of exactly the assets that read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEED = 42

# The 21 columns of Tableau's "Sample - Superstore" Orders sheet, in file order.
SUPERSTORE_COLUMNS: tuple[str, ...] = (
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Country",
    "City",
    "State",
    "Postal Code",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
    "Quantity",
    "Discount",
    "Profit",
)
# The older 19-column layout, written without a header line: the 21 without Row ID and Country.
LEGACY_COLUMNS: tuple[str, ...] = tuple(
    c for c in SUPERSTORE_COLUMNS if c not in ("Row ID", "Country")
)
NUMERIC_COLUMNS: tuple[str, ...] = ("Row ID", "Sales", "Quantity", "Discount", "Profit")
DATE_COLUMNS: tuple[str, ...] = ("Order Date", "Ship Date")
TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in SUPERSTORE_COLUMNS if c not in NUMERIC_COLUMNS + DATE_COLUMNS
)
# Columns without which the pipeline cannot run; the others are carried along.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Segment",
    "Region",
    "Category",
    "Sub-Category",
    "Sales",
    "Quantity",
    "Discount",
    "Profit",
)
# The real file writes dates month first without leading zeros: 11/8/2016 is 8 November 2016.
DATE_FORMAT = "%m/%d/%Y"
# Formats recognised without configuration, each one that cannot be misread: month first, ISO
# (and both with a time of day, as Excel and pandas write a date-time cell), year first with
# slashes, and months by name. Day first only when configured: 03/04/2016 is ambiguous.
DATE_FORMATS: tuple[str, ...] = (
    DATE_FORMAT,
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
DAY_FIRST_FORMAT = "%d/%m/%Y"
# Day first with slashes, dots or dashes (31-07-2012, as the Global Superstore writes it): named
# in the refusal with the setting that reads them.
DAY_FIRST_FORMATS: tuple[str, ...] = (DAY_FIRST_FORMAT, "%d.%m.%Y", "%d-%m-%Y")
# Encodings tried in order: UTF-8 (with or without a byte-order mark), then Windows-1252.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252")

TARGET = "profitable"  # a line is profitable when Profit > 0
GROUP_COLUMN = "Order ID"  # no order's lines fall on two sides of the split

NUMERIC_FEATURES: tuple[str, ...] = ("Sales", "Quantity", "Discount", "shipping_days")
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "Category",
    "Sub-Category",
    "Segment",
    "Region",
    "Ship Mode",
    "order_month",
)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES

SPLIT_FRACTIONS: dict[str, float] = {"train": 0.6, "validation": 0.2, "test": 0.2}

# Discount bands for the EDA figure "profit rate by discount band".
DISCOUNT_BANDS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)

# The six metrics every model is scored by on test (profitable is the positive class); any of
# them can choose the grid point on validation (tuning.metric).
METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc")
# Hyperparameters are chosen by this validation metric.
SELECTION_METRIC = "roc_auc"


@dataclass(frozen=True)
class ModelSpec:
    """One model: a scikit-learn estimator class, its fixed arguments and a small grid."""

    name: str
    title: str
    estimator: str  # "module:Class", imported when the model is built
    fixed: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    scale_numeric: bool = False


MODEL_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="decision_tree",
        title="Decision Tree",
        estimator="sklearn.tree:DecisionTreeClassifier",
        fixed={"random_state": SEED},
        grid={"max_depth": [4, 8, 12], "min_samples_leaf": [1, 10]},
    ),
    ModelSpec(
        name="random_forest",
        title="Random Forest",
        estimator="sklearn.ensemble:RandomForestClassifier",
        fixed={"n_estimators": 100, "random_state": SEED, "n_jobs": 2},
        grid={"max_depth": [8, 16], "min_samples_leaf": [1, 5]},
    ),
    ModelSpec(
        name="logistic_regression",
        title="Logistic Regression",
        estimator="sklearn.linear_model:LogisticRegression",
        fixed={"max_iter": 2000},
        grid={"C": [0.01, 0.1, 1.0, 10.0]},
        scale_numeric=True,
    ),
)

# The champion's gate, on test balanced accuracy: the candidate must beat the majority baseline
# by at least CHAMPION_MARGIN, and may fall short of an earlier champion by at most
# CHAMPION_TOLERANCE on the same test rows (pipeline/champion.py).
CHAMPION_MARGIN = 0.05
CHAMPION_TOLERANCE = 0.01

# Permutation importance on the test set: repeats per feature.
IMPORTANCE_REPEATS = 5

# Bounds on the work at size, each far above the real file's 9,994 lines, so that on it nothing
# is sampled. Past them, a seeded sample stratified by the target stands in for the rows, and
# the time of these steps stops growing with the file:
# - each grid point is fitted on at most this many training lines and scored on at most this
#   many validation lines (the grids and the forest's 100 trees are fixed, so tuning is bounded);
MODEL_MAX_ROWS = 100_000
# - permutation importance shuffles at most this many test lines (the metrics use them all).
IMPORTANCE_MAX_ROWS = 10_000
