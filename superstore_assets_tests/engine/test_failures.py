"""A failed step's one sentence, from the failure data Dagster records (engine/failures.py)."""

from dagster._core.execution.plan.objects import StepFailureData, UserFailureData
from dagster._utils.error import SerializableErrorInfo

from superstore_assets.engine.failures import sentence


def error(cls_name: str, message: str, cause=None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message, ['  File "x.py", line 1\n'], cls_name, cause)


def failed(err, user=None) -> StepFailureData:
    return StepFailureData(error=err, user_failure_data=user)


def test_a_refusal_is_its_own_description_on_one_line():
    user = UserFailureData(label="intentional-failure", description="Cannot read f.csv:\nempty.")
    assert sentence(failed(error("Failure", "x"), user)) == "Cannot read f.csv: empty."


def test_a_blocking_check_is_named_with_what_it_found():
    message = (
        "dagster._core.errors.DagsterAssetCheckFailedError: 1 blocking asset check failed with "
        "ERROR severity:\norders_raw: quantity_positive"
    )
    found = {"quantity_positive": "4 rows with Quantity below 1, e.g. Row ID 4 (-2)"}
    told = sentence(failed(error("DagsterAssetCheckFailedError", message)), found)
    assert told == (
        "stopped by its blocking check quantity_positive: "
        "4 rows with Quantity below 1, e.g. Row ID 4 (-2)"
    )


def test_a_type_check_loses_its_frame_dump():
    message = (
        'dagster._core.errors.DagsterTypeCheckDidNotPass: Type check failed - Violated "X" for '
        'column "Sales".The offending (index, row values) are the following:\n   1  2\n[100 rows]'
    )
    told = sentence(failed(error("DagsterTypeCheckDidNotPass", message)))
    assert told == 'Type check failed - Violated "X" for column "Sales".'


def test_an_unexpected_error_is_its_class_and_first_line_under_dagsters_wrapper():
    cause = error("KeyError", "KeyError: 'Profit'\nmore")
    wrapped = error("DagsterExecutionStepExecutionError", "Error occurred while ...", cause)
    assert sentence(failed(wrapped)) == "KeyError: 'Profit'"
