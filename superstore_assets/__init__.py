"""superstore-assets: the Superstore profitability analysis as a graph of Dagster assets."""

import warnings

from dagster import BetaWarning

# dagster-pandas' column types and observable source assets are marked beta; both are used
# deliberately, and the warnings would greet every command.
warnings.filterwarnings("ignore", category=BetaWarning)

from superstore_assets.definitions import defs  # noqa: E402

__all__ = ["defs"]
