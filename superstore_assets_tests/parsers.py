"""The loader's two parsers side by side: which one takes a file, and that they agree on it."""

import pandas as pd

from superstore_assets.pipeline import reading


def arrow_reads(data: bytes) -> bool:
    """Whether read_orders hands these bytes to Arrow's parser (else to pandas)."""
    encoding, _ = reading.detect_encoding(data)
    layout = reading.detect_layout(reading.as_lf(reading.head_text(data, encoding)))
    names = None if layout.header else reading.headerless_columns(layout.fields)
    return reading.parse_with_arrow(data, encoding, layout, names) is not None


def assert_read_alike(data: bytes) -> bool:
    """read_orders with Arrow gives the frame and facts it gives with pandas alone, or the same
    refusal; whether the file was read."""
    read = []
    for arrow in (True, False):
        try:
            read.append(reading.read_orders(data, arrow=arrow))
        except reading.DatasetError as error:
            read.append(str(error))
    by_arrow, by_pandas = read
    if isinstance(by_pandas, str):
        assert by_arrow == by_pandas
        return False
    assert not isinstance(by_arrow, str), by_arrow
    pd.testing.assert_frame_equal(by_arrow[0], by_pandas[0])
    assert by_arrow[1] == by_pandas[1]
    return True
