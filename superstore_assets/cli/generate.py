"""A seeded generator of Superstore-shaped data, for the bundled dataset and for tests.

It writes what Tableau's file looks like (21 columns, Windows-1252, month-first dates without
leading zeros, LF line ends) with relationships a model can learn: deep discounts lose money,
margins differ by sub-category, shipping days follow the ship mode.

    python -m superstore_assets.cli.generate            # data/superstore.csv and the modified copy
    python -m superstore_assets.cli.generate --rows 100000 --out big.csv
    python -m superstore_assets.cli.generate --rows 10000000 --out huge.csv  # in chunks

A file larger than --chunk-rows (default 200,000) is made and written chunk by chunk, each
with its own seed, so that memory stays flat at any size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from superstore_assets.engine.files import atomic_writer
from superstore_assets.engine.project import project_root
from superstore_assets.pipeline import config

ROWS = 9994
CHUNK_ROWS = 200_000
# Order numbers are six digits in the real file: 100000-169999, drawn without replacement; a
# larger file, or a later chunk of one, draws from a range of its own beyond them.
ORDER_NUMBERS = 70_000
FIRST_ORDER_NUMBER = 100_000
MODIFIED_ROWS = 52
TEXT_EDITS = ("Ship Mode", "State", "Product Name", "Sub-Category", "Ship Mode", "Category")

# (state, city, postal code, region): New England codes lose their leading zero, as in the
# real file.
PLACES = [
    ("California", "Los Angeles", 90036, "West"),
    ("California", "San Francisco", 94122, "West"),
    ("Washington", "Seattle", 98105, "West"),
    ("Oregon", "Portland", 97206, "West"),
    ("Colorado", "Denver", 80219, "West"),
    ("Arizona", "Phoenix", 85023, "West"),
    ("New York", "New York City", 10035, "East"),
    ("Pennsylvania", "Philadelphia", 19134, "East"),
    ("Ohio", "Columbus", 43229, "East"),
    ("Massachusetts", "Boston", 2127, "East"),
    ("Vermont", "Burlington", 5408, "East"),
    ("New Jersey", "Newark", 7107, "East"),
    ("Texas", "Houston", 77095, "Central"),
    ("Texas", "Dallas", 75220, "Central"),
    ("Illinois", "Chicago", 60653, "Central"),
    ("Michigan", "Detroit", 48205, "Central"),
    ("Minnesota", "Minneapolis", 55407, "Central"),
    ("Florida", "Jacksonville", 32216, "South"),
    ("Kentucky", "Henderson", 42420, "South"),
    ("Virginia", "Springfield", 22153, "South"),
    ("Georgia", "Atlanta", 30318, "South"),
    ("Tennessee", "Memphis", 38109, "South"),
]
PLACE_WEIGHTS = np.array([9, 5, 5, 3, 2, 2, 9, 5, 4, 2, 1, 1, 4, 3, 5, 2, 1, 3, 1, 1, 2, 2], float)

# sub-category: (category, code, median unit price, margin without discount)
SUB_CATEGORIES = {
    "Bookcases": ("Furniture", "BO", 130.0, 0.18),
    "Chairs": ("Furniture", "CH", 120.0, 0.22),
    "Tables": ("Furniture", "TA", 160.0, 0.15),
    "Furnishings": ("Furniture", "FU", 15.0, 0.30),
    "Labels": ("Office Supplies", "LA", 5.0, 0.45),
    "Storage": ("Office Supplies", "ST", 45.0, 0.18),
    "Art": ("Office Supplies", "AR", 6.0, 0.28),
    "Binders": ("Office Supplies", "BI", 8.0, 0.40),
    "Appliances": ("Office Supplies", "AP", 40.0, 0.30),
    "Paper": ("Office Supplies", "PA", 9.0, 0.45),
    "Envelopes": ("Office Supplies", "EN", 11.0, 0.43),
    "Fasteners": ("Office Supplies", "FA", 4.0, 0.32),
    "Supplies": ("Office Supplies", "SU", 12.0, 0.12),
    "Phones": ("Technology", "PH", 80.0, 0.25),
    "Accessories": ("Technology", "AC", 40.0, 0.30),
    "Machines": ("Technology", "MA", 300.0, 0.25),
    "Copiers": ("Technology", "CO", 500.0, 0.40),
}
SUB_WEIGHTS = np.array([2, 6, 3, 9, 4, 8, 8, 15, 5, 14, 3, 2, 2, 9, 8, 1, 1], float)
# How often each sub-category is discounted at all, before the region's habit is applied.
DISCOUNTED = {"Binders": 0.7, "Tables": 0.7, "Machines": 0.6, "Bookcases": 0.6}
REGION_DISCOUNTS = {  # discount levels and their weights, once a line is discounted
    "West": ([0.15, 0.2, 0.3, 0.7], [2, 8, 1, 1]),
    "East": ([0.1, 0.2, 0.3, 0.4, 0.7], [1, 8, 2, 1, 1]),
    "Central": ([0.2, 0.3, 0.6, 0.8], [4, 1, 2, 3]),
    "South": ([0.2, 0.45, 0.5, 0.7], [5, 1, 1, 2]),
}
SHIP_MODES = {  # mode: (share of orders, possible shipping days, their weights)
    "Standard Class": (0.60, [3, 4, 5, 6, 7], [1, 2, 4, 2, 1]),
    "Second Class": (0.19, [1, 2, 3, 4, 5], [1, 3, 3, 2, 1]),
    "First Class": (0.16, [1, 2, 3, 4], [2, 5, 3, 1]),
    "Same Day": (0.05, [0, 1], [19, 1]),
}
SEGMENTS = {"Consumer": 0.52, "Corporate": 0.30, "Home Office": 0.18}
FIRST_NAMES = [
    "Claire",
    "Darrin",
    "Sean",
    "Brosina",
    "Andrew",
    "Irene",
    "Harold",
    "Pete",
    "Alejandro",
    "Zuschuss",
    "Ken",
    "Sandra",
    "Emily",
    "Eric",
    "Tracy",
    "Matt",
    "Gene",
    "Steve",
    "Linda",
    "Ruben",
    "Erin",
    "Odella",
    "Patrick",
    "Lena",
    "Janet",
    "Ted",
    "Kunst",
    "Jonathan",
    "Chloé",
]
LAST_NAMES = [
    "Gute",
    "Van Huff",
    "O'Donnell",
    "Hoffman",
    "Allen",
    "Maddox",
    "Pawlan",
    "Kriz",
    "Grove",
    "Donatelli",
    "Black",
    "Flathers",
    "Phan",
    "Hoffmann",
    "Blumstein",
    "Abelman",
    "Hale",
    "Nguyen",
    "Cave",
    "Ausman",
    "Smith",
    "Nelson",
    "O'Brigon",
    "Hernandez",
    "Molinari",
    "Butterfield",
    "Müller",
    "Doherty",
    "Björk",
]
PRODUCT_WORDS = {
    "Furniture": ["Bush", "Hon", "Global", "Office Star", "Safco", "Eldon", "KI", "Bretford"],
    "Office Supplies": ["Avery", "Xerox", "Fellowes", "Acco", "Wilson Jones", "Staples", "Eldon"],
    "Technology": ["Apple", "Samsung", "Logitech", "Canon", "Cisco", "Motorola", "Hewlett-Packard"],
}
PRODUCT_STYLES = [
    "Classic {s}",
    "Deluxe {s}",
    "{s}, Black",
    "Heavy-Duty {s}",
    '{s} with 3" Rings',
    "Economy {s}",
    "Recycled {s}",
    "{s} Set, 4/Pack",
    "“Premier” {s}",
    "{s}\u00a0Pro",
]
DAYS = pd.date_range("2014-01-03", "2017-12-30", freq="D")


def _choice(rng: np.random.Generator, options: list, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(np.asarray(options, dtype=object), size=size, p=p / p.sum())


def _us_date(dates: pd.Series) -> pd.Series:
    return (
        dates.dt.month.astype(str)
        + "/"
        + dates.dt.day.astype(str)
        + "/"
        + dates.dt.year.astype(str)
    )


def make_superstore(
    rows: int = ROWS,
    seed: int = config.SEED,
    first_row_id: int = 1,
    first_order_number: int = FIRST_ORDER_NUMBER,
) -> pd.DataFrame:
    """A Superstore-shaped frame of `rows` order lines, the same for the same seed.

    Row IDs count from `first_row_id`; order numbers are drawn from `order_number_span(rows)`
    numbers from `first_order_number` on (so that chunks of one file share no order).
    """
    rng = np.random.default_rng(seed)

    # Customers, each with a segment and a home place.
    n_customers = max(rows // 12, 5)
    first = _choice(rng, FIRST_NAMES, np.ones(len(FIRST_NAMES)), n_customers)
    last = _choice(rng, LAST_NAMES, np.ones(len(LAST_NAMES)), n_customers)
    customers = pd.DataFrame(
        {
            "Customer Name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
            "Customer ID": [
                f"{a[0]}{b.replace(' ', '')[0].upper()}-{10000 + 15 * i + int(rng.integers(0, 15))}"
                for i, (a, b) in enumerate(zip(first, last, strict=True))
            ],
            "Segment": _choice(rng, list(SEGMENTS), list(SEGMENTS.values()), n_customers),
            "place": rng.choice(len(PLACES), n_customers, p=PLACE_WEIGHTS / PLACE_WEIGHTS.sum()),
        }
    )

    # Orders: a customer, a date (more orders later and late in the year), a ship mode.
    n_orders = max(rows // 2, 1)
    day_weight = np.asarray((1 + (DAYS.year - 2014) * 0.25) * np.where(DAYS.month >= 9, 1.6, 1.0))
    order_day = pd.Series(DAYS[rng.choice(len(DAYS), n_orders, p=day_weight / day_weight.sum())])
    modes = list(SHIP_MODES)
    mode = _choice(rng, modes, [SHIP_MODES[m][0] for m in modes], n_orders)
    ship_days = np.array([_choice(rng, SHIP_MODES[m][1], SHIP_MODES[m][2], 1)[0] for m in mode])
    numbers = np.arange(first_order_number, first_order_number + order_number_span(rows))
    order_numbers = rng.choice(numbers, n_orders, replace=False)
    orders = pd.DataFrame(
        {
            "Order ID": [
                f"{'CA' if rng.random() < 0.8 else 'US'}-{d.year}-{n}"
                for d, n in zip(order_day, order_numbers, strict=True)
            ],
            "order_day": order_day,
            "ship_day": order_day + pd.to_timedelta(ship_days, unit="D"),
            "Ship Mode": mode,
            "customer": rng.integers(0, n_customers, n_orders),
        }
    )

    # Lines: every order at least one, the rest spread at random.
    order_of_line = np.concatenate(
        [np.arange(n_orders), rng.integers(0, n_orders, max(rows - n_orders, 0))]
    )[:rows]
    order_of_line.sort()
    lines = orders.iloc[order_of_line].reset_index(drop=True)
    customer = customers.iloc[lines["customer"]].reset_index(drop=True)
    place = [PLACES[i] for i in customer["place"]]

    sub_names = list(SUB_CATEGORIES)
    sub = _choice(rng, sub_names, SUB_WEIGHTS, rows)
    category = np.array([SUB_CATEGORIES[s][0] for s in sub], dtype=object)
    product_number = rng.integers(0, 12, rows)
    product_id = [
        f"{c[:3].upper()}-{SUB_CATEGORIES[s][1]}-"
        f"{10000000 + 137 * (k + 1) + 11 * sub_names.index(s)}"
        for c, s, k in zip(category, sub, product_number, strict=True)
    ]
    product_name = [
        f"{PRODUCT_WORDS[c][k % len(PRODUCT_WORDS[c])]} "
        + PRODUCT_STYLES[k % len(PRODUCT_STYLES)].format(s=s.rstrip("s"))
        for c, s, k in zip(category, sub, product_number, strict=True)
    ]
    region = np.array([p[3] for p in place], dtype=object)

    quantity = np.minimum(rng.geometric(0.27, rows), 14)
    unit_price = np.array([SUB_CATEGORIES[s][2] for s in sub]) * rng.lognormal(0, 0.7, rows)
    discounted = rng.random(rows) < np.array([DISCOUNTED.get(s, 0.45) for s in sub])
    discount = np.zeros(rows)
    for name, (levels, weights) in REGION_DISCOUNTS.items():
        here = discounted & (region == name)
        discount[here] = _choice(rng, levels, weights, int(here.sum())).astype(float)
    sales = np.round(unit_price * quantity * (1 - discount), 3).clip(min=0.444)
    base_margin = np.array([SUB_CATEGORIES[s][3] for s in sub])
    margin = base_margin - 1.25 * discount + rng.normal(0, 0.09, rows)
    profit = np.round(sales * margin, 4)

    df = pd.DataFrame(
        {
            "Row ID": np.arange(first_row_id, first_row_id + rows),
            "Order ID": lines["Order ID"],
            "Order Date": _us_date(lines["order_day"]),
            "Ship Date": _us_date(lines["ship_day"]),
            "Ship Mode": lines["Ship Mode"],
            "Customer ID": customer["Customer ID"],
            "Customer Name": customer["Customer Name"],
            "Segment": customer["Segment"],
            "Country": "United States",
            "City": [p[1] for p in place],
            "State": [p[0] for p in place],
            "Postal Code": [p[2] for p in place],
            "Region": region,
            "Product ID": product_id,
            "Category": category,
            "Sub-Category": sub,
            "Product Name": product_name,
            "Sales": sales,
            "Quantity": quantity,
            "Discount": discount,
            "Profit": profit,
        }
    )
    # As in the real file, one line is entered twice under two Row IDs.
    if rows >= 2:
        df.iloc[-1, 1:] = df.iloc[-2, 1:]
    return df[list(config.SUPERSTORE_COLUMNS)]


def order_number_span(rows: int) -> int:
    """How many order numbers a file of `rows` lines draws its orders from."""
    return max(ORDER_NUMBERS, 2 * max(rows // 2, 1))


def modify(
    df: pd.DataFrame, rows: int = MODIFIED_ROWS, seed: int = config.SEED + 1
) -> pd.DataFrame:
    """The same orders with `rows` lines edited by hand, as an analyst would: mostly Sales and
    Profit, a few text cells. Returns a new frame."""
    rng = np.random.default_rng(seed)
    edited = df.copy()
    chosen = rng.choice(len(df), rows, replace=False)
    sales_rows, profit_rows, text_rows = np.split(chosen, [rows * 4 // 10, rows * 9 // 10])
    edited.loc[sales_rows, "Sales"] = np.round(
        df.loc[sales_rows, "Sales"] * rng.uniform(1.5, 4, len(sales_rows)), 3
    )
    edited.loc[profit_rows, "Profit"] = np.round(
        -df.loc[profit_rows, "Profit"].abs() * rng.uniform(0.5, 2, len(profit_rows)), 4
    )
    for row, column in zip(text_rows, TEXT_EDITS, strict=True):
        donor = df[column][df[column] != df.at[row, column]].iloc[int(rng.integers(0, 50))]
        edited.at[row, column] = donor
    return edited


def write_superstore(df: pd.DataFrame, path: str | Path) -> Path:
    """Write in the real file's format: Windows-1252, comma-separated, LF line ends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="cp1252", lineterminator="\n")
    return path


def write_large_superstore(
    rows: int, path: str | Path, seed: int = config.SEED, chunk_rows: int = CHUNK_ROWS
) -> Path:
    """Write `rows` lines in chunks of at most `chunk_rows`, in the real file's format.

    Chunk k is `make_superstore` with seed `seed + k`, its Row IDs following the previous
    chunk's and its order numbers in a range of its own. A file of one chunk is exactly
    `make_superstore(rows, seed)`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    span = order_number_span(chunk_rows)
    with atomic_writer(path, "w", encoding="cp1252", newline="") as handle:
        for number, start in enumerate(range(0, rows, chunk_rows)):
            chunk = make_superstore(
                min(chunk_rows, rows - start),
                seed + number,
                first_row_id=start + 1,
                first_order_number=FIRST_ORDER_NUMBER + number * span,
            )
            chunk.to_csv(handle, index=False, header=number == 0, lineterminator="\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--seed", type=int, default=config.SEED)
    parser.add_argument("--out", type=Path, help="one file; default: both bundled files in data/")
    parser.add_argument(
        "--chunk-rows", type=int, default=CHUNK_ROWS, help="lines made at a time for --out"
    )
    args = parser.parse_args(argv)
    if args.out:
        print(write_large_superstore(args.rows, args.out, args.seed, args.chunk_rows))
        return
    df = make_superstore(args.rows, args.seed)
    data = project_root() / "data"
    print(write_superstore(df, data / "superstore.csv"))
    print(write_superstore(modify(df), data / "superstore_modified.csv"))
    print(write_new_orders(data / "new_orders.csv", args.seed))


NEW_ORDERS = 500


def write_new_orders(path: Path, seed: int) -> Path:
    """Orders the models never saw, without Profit: what `scored_orders` scores by default."""
    orders = make_superstore(NEW_ORDERS, seed + 1).drop(columns=["Profit"])
    path.parent.mkdir(parents=True, exist_ok=True)
    orders.to_csv(path, index=False, encoding="cp1252", lineterminator="\n")
    return path


if __name__ == "__main__":
    main()
