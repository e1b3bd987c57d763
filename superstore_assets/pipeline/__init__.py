"""The analysis as plain functions: reading, cleaning, features, EDA, split, models, evaluation,
the report and its figures, and every setting in config.py. Imports no Dagster: the notebook and
the unit tests call these directly."""
