"""What the forkserver of Dagster's multiprocess executor imports before it forks a step's
process (definitions.MULTIPROCESS): the definitions, and every scikit-learn module the model
steps use (pipeline.models.import_scikit_learn, the list the local executor imports before its
forks), once for all of the run's steps instead of once in each."""

import superstore_assets.assets.definitions  # noqa: F401
from superstore_assets.pipeline.models import import_scikit_learn

import_scikit_learn()
