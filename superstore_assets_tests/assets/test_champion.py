"""The champion: chosen on validation, promoted through its gate, stored with skops, documented
by its card, and used by `superstore predict`."""

from __future__ import annotations

import json
import os
import pickle

import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import AssetKey

from superstore_assets.engine.codecs import decode, encode
from superstore_assets.engine.history import current_champion
from superstore_assets.pipeline import champion as rules
from superstore_assets.pipeline import reading, scoring
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, ROOT


def test_the_gate_needs_the_margin_and_the_tolerance():
    gate = rules.Gate("random_forest", 0.90, 0.50, margin=0.05, tolerance=0.01)
    assert gate.passed and len(gate.sentences()) == 1
    gate.earlier, gate.earlier_score = "logistic_regression", 0.92
    assert not gate.holds_against_earlier and not gate.passed
    assert "-0.0200, beyond the tolerance 0.01" in gate.sentences()[1]
    assert not rules.Gate("decision_tree", 0.53, 0.50, margin=0.05).beats_baseline


def test_a_tie_on_validation_goes_to_the_model_listed_first():
    scores = {"decision_tree": 0.9, "random_forest": 0.95, "logistic_regression": 0.95}
    assert rules.candidate_of(scores) == "random_forest"


class _Planted:
    """Unpickling this writes a file: proof that a payload ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.slow
def test_skops_bytes_are_stable_and_a_pickle_or_an_untrusted_type_is_refused(tmp_path):
    import os

    import skops.io
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(max_depth=2).fit([[0], [1], [2], [3]], [0, 1, 0, 1])
    stored = encode("skops", model)
    assert encode("skops", decode("skops", stored)) == stored  # a kept champion keeps its bytes
    payload = pickle.dumps(_Planted(str(tmp_path / "ran")))
    with pytest.raises(Exception, match="not a zip file"):
        decode("skops", payload)
    assert not (tmp_path / "ran").exists()
    hostile = skops.io.dumps(FunctionTransformer(func=os.system))
    with pytest.raises(Exception, match="Untrusted types found"):
        decode("skops", hostile)


@pytest.mark.slow  # on the session's materialized pipeline
def test_the_champion_is_chosen_on_validation_and_documented(materialized):
    with materialized.instance() as instance:
        event = instance.get_latest_materialization_event(AssetKey("champion"))
        metadata = event.asset_materialization.metadata
        card, gate = metadata["card"].value, metadata["gate"].value
        scores = metadata["validation_scores"].value
        found = current_champion(instance, str(materialized.storage))
    assert card["model"] == max(scores, key=scores.get) == gate["candidate"]
    assert card["dataset"].endswith("superstore.csv") and len(card["dataset_sha256"]) == 64
    assert card["run_id"] == event.run_id and card["features"]
    assert set(card["test_metrics"]) == set(card["baseline_metrics"])
    assert gate["passed"] and not metadata["kept_earlier"].value
    assert "### Champion:" in metadata["model_card"].value
    assert found is not None and found.card == card
    assert list((materialized.storage / "models" / "versions" / "champion").glob("*.skops"))
    page = (materialized.storage / "report" / "report.html").read_text()
    assert "<h2>Champion</h2>" in page and "Promoted through the gate: " in page
    assert f"{card['title']} ({card['model']}), parameters {card['params']}" in page.replace(
        "&#x27;", "'"
    )


def _without(path, columns: list[str], out) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
    table.drop(columns=columns).to_csv(out, index=False, encoding="cp1252")


def predicted_in_process(workspace, monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    """`superstore predict ARGV` through the command's main() in this process, in the
    workspace's environment: its exit code, stdout and stderr. (A process of its own spends
    seconds importing scikit-learn and skops, which this one has already.)"""
    from superstore_assets.cli import main

    for name in [name for name in os.environ if name.startswith("SUPERSTORE_")]:
        monkeypatch.delenv(name)
    for name, value in workspace.env().items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(["predict", *argv])
    told = capsys.readouterr()
    return code, told.out, told.err


@pytest.mark.slow  # on the session's materialized pipeline
def test_predict_scores_every_line_as_the_champion_does(
    materialized, tmp_path, monkeypatch, capsys
):
    """The command itself, in a process of its own, writes Parquet; its other output and a
    refusal are told by the same main() in this process."""
    new_orders = tmp_path / "new_orders.csv"
    _without(BUNDLED_MODIFIED, ["Profit"], new_orders)
    out = tmp_path / "scores.parquet"
    done = materialized.superstore("predict", str(new_orders), "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Scored 9994 lines of")
    scores = pd.read_parquet(out)
    facts = pq.read_schema(out).metadata
    with materialized.instance() as instance:
        champion = current_champion(instance, str(materialized.storage))
    assert facts[b"superstore.champion_run_id"].decode() == champion.card["run_id"]
    assert len(facts[b"superstore.input_sha256"]) == 64
    orders, _ = reading.read_orders(new_orders)
    expected = champion.model.predict_proba(
        scoring.scoring_features(orders)[list(rules.config.FEATURES)]
    )
    assert len(scores) == len(orders) == 9994
    assert (scores["Row ID"].to_numpy() == orders["Row ID"].to_numpy()).all()
    assert (scores[scoring.PROBABILITY].to_numpy() == expected[:, 1]).all()
    assert (
        scores[scoring.PREDICTED].to_numpy()
        == champion.model.predict(scoring.scoring_features(orders)[list(rules.config.FEATURES)])
    ).all()

    as_csv = str(tmp_path / "s.csv")
    code, _, err = predicted_in_process(
        materialized, monkeypatch, capsys, str(new_orders), "-o", as_csv
    )
    assert code == 0, err
    sidecar = json.loads((tmp_path / "s.csv.json").read_text())
    assert sidecar["champion_run_id"] == champion.card["run_id"] and sidecar["rows"] == 9994

    no_discount = tmp_path / "no_discount.csv"
    _without(BUNDLED, ["Discount"], no_discount)
    code, printed, err = predicted_in_process(materialized, monkeypatch, capsys, str(no_discount))
    assert code == 2 and printed == ""
    assert err == (
        f"superstore predict: Cannot score {no_discount}: it has no Discount column, which "
        f"scoring needs (it reads {', '.join(scoring.SCORING_COLUMNS)}).\n"
    )


@pytest.mark.slow  # on the session's materialized pipeline
def test_a_planted_payload_in_the_champions_place_is_refused_before_it_runs(materialized, tmp_path):
    (stored,) = (materialized.storage / "models" / "versions" / "champion").glob("*.skops")
    ran = tmp_path / "payload_ran"  # written if the payload is ever unpickled
    stored.write_bytes(pickle.dumps(_Planted(str(ran))))
    done = materialized.superstore("predict", str(BUNDLED))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("superstore predict: the champion cannot be loaded: ")
    assert len(done.stderr.splitlines()) == 1 and not ran.exists()
    with pytest.raises(Exception, match="not a zip file"):  # and were its hash to match
        decode("skops", stored.read_bytes())
    assert not ran.exists()


@pytest.mark.slow
def test_a_worse_dataset_keeps_the_champion_and_swapping_back_fits_nothing(materialized, tmp_path):
    noise = tmp_path / "profit_shuffled.csv"
    table = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False, encoding="cp1252")
    table["Profit"] = table["Profit"].sample(frac=1, random_state=1).to_numpy()
    table.to_csv(noise, index=False, encoding="cp1252")
    with materialized.instance() as instance:
        before = instance.get_latest_materialization_event(AssetKey("champion"))
    done = materialized.superstore("materialize", "--dataset", str(noise))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED champion:beats_majority_baseline" in done.stdout, done.stdout
    with materialized.instance() as instance:
        after = instance.get_latest_materialization_event(AssetKey("champion"))
        metadata = after.asset_materialization.metadata
        records = instance.fetch_materializations(AssetKey("champion"), limit=10).records
    assert after.run_id != before.run_id and metadata["kept_earlier"].value
    assert metadata["sha256"].value == before.asset_materialization.metadata["sha256"].value
    gate = metadata["gate"].value
    assert gate["candidate_score"] - gate["baseline_score"] < gate["margin"]
    assert len(records) == 2
    status = materialized.superstore("status", "--dataset", str(noise))
    note = status.stdout.splitlines()[-1]
    assert note.startswith("champion gate: kept the earlier champion ") and "margin 0.05" in note

    # The champion kept, the same bytes: nothing is scored again.
    assert "scored_orders" not in done.stdout.split("Reused")[0], done.stdout

    back = materialized.superstore("materialize")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Computed (0)" in back.stdout, back.stdout


@pytest.mark.slow  # on the session's materialized pipeline
def test_scored_orders_are_the_champions_scores_and_rerun_only_when_the_file_changes(
    materialized, tmp_path
):
    new_orders = ROOT / "data" / "new_orders.csv"
    with materialized.instance() as instance:
        champion = current_champion(instance, str(materialized.storage))
        event = instance.get_latest_materialization_event(AssetKey("scored_orders"))
        version = event.asset_materialization.metadata["sha256"].value
    (stored,) = (materialized.storage / "tables" / "versions" / "scored_orders").glob(
        f"{version}.parquet"
    )
    scored = pd.read_parquet(stored)
    expected = scoring.read_and_score(champion.model, new_orders)
    assert len(scored) == 500 and "Profit" not in pd.read_csv(new_orders, encoding="cp1252")
    pd.testing.assert_frame_equal(scored, expected)

    more = tmp_path / "more_orders.csv"
    lines = new_orders.read_text(encoding="cp1252").splitlines()
    more.write_text("\n".join(lines[:-1]) + "\n", encoding="cp1252")  # one order fewer
    status = materialized.superstore("status", SUPERSTORE_SCORE_DATASET=str(more))
    stale = [line for line in status.stdout.splitlines()[1:] if " fresh" not in line]
    assert len(stale) == 1 and stale[0].startswith("scored_orders"), status.stdout
    assert "<- orders_to_score changed (sha256" in stale[0]
    done = materialized.superstore("materialize", SUPERSTORE_SCORE_DATASET=str(more))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Computed (1): scored_orders" in done.stdout, done.stdout
