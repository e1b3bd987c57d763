"""What makes the assets incremental: versions from code and content, the one freshness rule,
reuse, the version store and IO manager, the executor, the event log, and (in
dagster_internals.py alone) every private Dagster API the project relies on."""
