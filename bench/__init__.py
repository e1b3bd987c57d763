"""Measuring the pipeline against the notebook it replaces (make bench)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout measured
