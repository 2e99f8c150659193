"""The feedback API of the classroom exercises: what a student sees when a check fails."""

import numpy as np
import pytest

from mlsys_kit.exercises import ExerciseFeedback, question
from mlsys_kit.params import ParameterError


def test_a_right_answer_passes_silently(capsys):
    with question("q1", hint="h") as q:
        q.answered(k=3)
        q.expect(np.int64(3) == 3, "k is wrong")
        q.expect_between("k", np.float64(3.0), 1, 5)
    assert capsys.readouterr().out == ""


def test_a_blank_answer_stops_at_once_naming_it():
    blank = ...
    with pytest.raises(ExerciseFeedback) as caught, question("q2", hint="Cut at one date.") as q:
        q.answered(cutoff=blank, share=0.2)
        raise AssertionError("never reached")
    message = str(caught.value)
    assert "q2 is not right yet" in message
    assert "`cutoff` is not answered yet" in message
    assert "share" not in message
    assert message.endswith("Hint: Cut at one date.")


def test_none_is_an_answer():
    with question("q1", hint="h") as q:
        q.answered(order=None)


def test_two_blank_answers_are_named_together():
    blank = pytest.raises(ExerciseFeedback, match="`a`, `b` are not answered yet")
    with blank, question("q1", hint="h") as q:
        q.answered(a=..., b=..., c=1)


def test_every_failed_part_is_listed_with_its_own_hint():
    with pytest.raises(ExerciseFeedback) as caught, question("q3", hint="general hint") as q:
        q.expect(False, "first part is wrong", hint="look at column x")
        q.expect(True, "never listed")
        q.expect_between("threshold", 45, 0, 30)
    feedback = caught.value
    assert feedback.question == "q3"
    assert feedback.problems == (
        "first part is wrong (look at column x)",
        "`threshold` is 45; it must be between 0 and 30",
    )
    assert feedback.hint == "general hint"
    assert isinstance(feedback, AssertionError)


@pytest.mark.parametrize("value", ["12", True, float("nan"), [1]])
def test_expect_between_refuses_what_is_not_a_number_in_range(value):
    with pytest.raises(ExerciseFeedback, match="`x`"), question("q1", hint="h") as q:
        q.expect_between("x", value, 0, 100)


def test_an_error_from_a_wrong_answer_becomes_feedback_with_the_hint():
    with pytest.raises(ExerciseFeedback) as caught, question("q4", hint="Use a number.") as q:
        q.expect("ten" + 1 > 0, "unreachable")  # type: ignore[operator]
    assert "checking your answer raised TypeError" in str(caught.value)
    assert str(caught.value).endswith("Hint: Use a number.")
    assert isinstance(caught.value.__cause__, TypeError)


def test_a_question_can_be_checked_again():
    q = question("q1", hint="h")
    with pytest.raises(ExerciseFeedback), q:
        q.expect(False, "wrong")
    with q:
        q.expect(True, "right")


def test_keyboard_interrupt_is_not_turned_into_feedback():
    with pytest.raises(KeyboardInterrupt), question("q1", hint="h"):
        raise KeyboardInterrupt


@pytest.mark.parametrize(("name", "hint"), [(1, "h"), ("q1", None)])
def test_bad_arguments_are_refused(name, hint):
    with pytest.raises(ParameterError):
        question(name, hint=hint)
