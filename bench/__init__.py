"""Measuring the pipeline against the notebook it replaces (make bench)."""
