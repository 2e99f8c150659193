"""Tests of mlsys_kit.responsible.cards: evaluation by slice, the card's sections and numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_kit import datasets
from mlsys_kit.deployment.artifacts import save_artifact
from mlsys_kit.params import ParameterError
from mlsys_kit.responsible.cards import (
    CARD_SECTIONS,
    OVERALL,
    SliceEvaluation,
    build_model_card,
    evaluate_slices,
    read_card_tables,
    write_model_card,
)

TEXTS = {
    "description": "A logistic regression.",
    "intended_uses": "Teaching.",
    "out_of_scope": "Decisions about people.",
    "training": "Fitted on toy rows.",
}


@pytest.fixture
def toy():
    rng = np.random.default_rng(1)
    n = 2000
    x = rng.normal(size=(n, 2))
    group = np.where(rng.random(n) < 0.4, "a", "b")
    y = (x[:, 0] + rng.normal(scale=np.where(group == "a", 0.3, 1.5)) > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    return model, x, y, group, np.where(x[:, 1] > 0, "hi", "lo")


def test_evaluation_matches_direct_counts(toy):
    model, x, y, group, band = toy
    pred = model.predict(x)
    evaluation = evaluate_slices(y, pred, {"group": group, "band": band}, n_boot=50, seed=3)
    frame = evaluation.to_frame()
    assert frame.loc[(OVERALL, OVERALL), "accuracy"] == pytest.approx(np.mean(pred == y))
    for g in ("a", "b"):
        rows = group == g
        assert frame.loc[("group", g), "accuracy"] == pytest.approx(np.mean(pred[rows] == y[rows]))
        assert frame.loc[("group", g), "rows"] == rows.sum()
    assert list(evaluation.gaps_frame().index) == ["group", "band"]
    assert evaluation.boot_accuracy.shape == (50, 5)
    # every attribute on the same resamples: the overall accuracy is the same through each
    worst = evaluation.worst()
    assert (worst.slice, worst.group) == ("group", "b")
    assert [r.group for r in evaluation.underperforming()] == ["b"]
    assert evaluation.underperforming(margin=1.0) == ()
    for r in evaluation.results:
        assert r.accuracy_low <= r.accuracy <= r.accuracy_high + 1e-12


def test_same_seed_same_evaluation(toy):
    model, x, y, group, band = toy
    one = evaluate_slices(y, model.predict(x), {"group": group}, n_boot=30, seed=5)
    two = evaluate_slices(y, model.predict(x), {"group": group}, n_boot=30, seed=5)
    assert one.results == two.results


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slices": {}}, "at least one attribute"),
        ({"slices": {"all": ["a", "b"] * 5}}, "no attribute may be named 'all'"),
        ({"n_boot": 5}, "n_boot"),
        ({"level": 1.0}, "level"),
        ({"slices": {"g": ["a"] * 10}}, "at least two groups"),
        ({"slices": {"g": ["a", "b"] * 4}}, "length"),
    ],
)
def test_evaluate_slices_refuses_bad_input(kwargs, message):
    args = {"slices": {"g": ["a", "b"] * 5}, "n_boot": 20}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        evaluate_slices([0, 1] * 5, [0, 0] * 5, **args)


def test_evaluate_slices_refuses_non_binary_labels():
    with pytest.raises(ParameterError, match="binary"):
        evaluate_slices([0, 2] * 5, [0, 0] * 5, {"g": ["a", "b"] * 5}, n_boot=20)


@pytest.fixture
def card_and_run(toy, tmp_path):
    model, x, y, group, band = toy
    evaluation = evaluate_slices(y, model.predict(x), {"group": group, "band": band}, n_boot=50)
    artifact = save_artifact(model, tmp_path / "model.skops")
    card = build_model_card(
        model, evaluation, dataset=datasets.info("adult"), artifact=artifact, **TEXTS
    )
    return card, evaluation, artifact, tmp_path


def test_card_numbers_read_back_equal_the_run(card_and_run):
    card, evaluation, artifact, folder = card_and_run
    written = write_model_card(card, folder / "README.md")
    assert (folder / "README.md").read_text(encoding="utf-8") == written.markdown
    tables = read_card_tables(written.markdown)
    slices = tables[CARD_SECTIONS["slices"]]
    expected = evaluation.to_frame().reset_index().round(3)
    assert list(slices.columns) == list(expected.columns)
    numeric = expected.select_dtypes("number").columns
    assert np.array_equal(slices[numeric].to_numpy(float), expected[numeric].to_numpy(float))
    gaps = tables[CARD_SECTIONS["gaps"]]
    assert np.allclose(
        gaps["parity_difference"], evaluation.gaps_frame()["parity_difference"].round(3)
    )
    metrics = tables[CARD_SECTIONS["evaluation"]].set_index("Metric")["Value"]
    assert metrics["accuracy"] == round(evaluation.overall.accuracy, 3)
    fields = tables[CARD_SECTIONS["artifact"]].set_index("field")["value"]
    assert fields["sha256"] == artifact.sha256
    assert fields["file"] == "model.skops"
    assert "CC BY 4.0" in written.markdown
    assert "group = b" in written.markdown  # the limitations name the weaker group
    assert str(folder) not in written.markdown  # no absolute path in the card


def test_card_limitations_follow_the_margin(toy, card_and_run):
    model, *_ = toy
    card, evaluation, artifact, _ = card_and_run
    loose = build_model_card(
        model,
        evaluation,
        dataset=datasets.info("adult"),
        artifact=artifact,
        margin=1.0,
        **TEXTS,
    )
    assert "group = b" not in loose.render()
    assert "No group's accuracy" in loose.render()
    assert card.render() != loose.render()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"evaluation": "nope"}, "evaluation"),
        ({"description": "  "}, "description must say something"),
        ({"digits": 0}, "digits"),
        ({"margin": -0.1}, "margin"),
    ],
)
def test_build_model_card_refuses_bad_input(card_and_run, toy, kwargs, message):
    model, *_ = toy
    _, evaluation, artifact, _ = card_and_run
    args = {"evaluation": evaluation, **TEXTS}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        build_model_card(model, dataset=datasets.info("adult"), artifact=artifact, **args)


def test_write_model_card_refuses_bad_input(card_and_run, tmp_path):
    card, *_ = card_and_run
    with pytest.raises(ParameterError, match="skops.card.Card"):
        write_model_card("text", tmp_path / "card.md")
    with pytest.raises(ParameterError, match="does not exist"):
        write_model_card(card, tmp_path / "missing" / "card.md")


def test_read_card_tables_nesting_and_types():
    text = (
        "# A\n\n| x | y |\n| - | :-: |\n| 1 | u |\n\n## B\n\n| n |\n| --- |\n| 0.5 |\n# C\n\ntext\n"
    )
    tables = read_card_tables(text)
    assert set(tables) == {"A", "A/B"}
    assert tables["A"]["x"].tolist() == [1]
    assert tables["A"]["y"].tolist() == ["u"]
    assert tables["A/B"]["n"].tolist() == [0.5]
    with pytest.raises(ParameterError, match="markdown"):
        read_card_tables(None)


def test_slice_evaluation_is_a_report(card_and_run):
    _, evaluation, *_ = card_and_run
    assert isinstance(evaluation, SliceEvaluation)
    assert evaluation.to_frame().index.names == ["slice", "group"]
