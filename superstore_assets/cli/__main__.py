"""`python -m superstore_assets.cli …`: the `superstore` command."""

from superstore_assets.cli import run

run()
