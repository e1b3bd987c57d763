"""The asset graph: thin Dagster wrappers around the pure functions of each stage."""
