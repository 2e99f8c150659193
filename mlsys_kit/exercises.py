"""Feedback for classroom exercises: checks that say which part is wrong and give a hint.

Every chapter has an exercise notebook under ``exercises/`` (see README's "For teachers").
Its questions ask for a design decision and check its measured consequence, in the
format of `otter-grader <https://otter-grader.readthedocs.io>`_: otter turns each test
cell into a test case, runs it when the student calls ``grader.check("q1")``, and scores
it when the teacher grades. Otter reports a failed test as the exception it raised; this
module makes that exception useful to a student. A test cell is one ``with`` block::

    with question("q2", hint="Cut once, at a date: everything before trains.") as q:
        q.answered(cutoff=cutoff)
        q.expect(later_share(cutoff) == 1, "some validation rows are older than training rows")
        q.expect_between("cutoff", cutoff, first_day, last_day)

* :meth:`Question.answered` stops at once when an answer is still ``...`` (the blank
  that ``otter assign`` leaves in the student's version), naming it;
* :meth:`Question.expect` and :meth:`Question.expect_between` record every failed part,
  so the student sees all of them at once (they return nothing: a passing test cell must
  print nothing);
* when the block ends, :class:`ExerciseFeedback` (an ``AssertionError``) is raised with
  the question, each failed part, and the hint; an error raised by checking a wrong
  answer (a string where a number belongs) becomes feedback too, with the hint.

Checks compute what is right from the student's own data (which their ``seed`` drew), so
any correct answer passes, not one number.

Hand-written because it is the lesson's interface, not machinery: otter-grader runs and
scores the checks, and has no notion of a part or a hint.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from types import TracebackType

from mlsys_kit.params import check_type

__all__ = ["ExerciseFeedback", "Question", "question"]


class ExerciseFeedback(AssertionError):
    """A check of an exercise failed: which question, which parts, and a hint.

    Parameters
    ----------
    question : str
        The question's name, as in ``grader.check(name)``.
    problems : tuple of str
        What is wrong, one line per failed part.
    hint : str
        How to get it right.

    Examples
    --------
    >>> print(ExerciseFeedback("q1", ("`k` is 0; it must be at least 1",), "Try the elbow."))
    q1 is not right yet:
      - `k` is 0; it must be at least 1
    Hint: Try the elbow.
    """

    def __init__(self, question: str, problems: tuple[str, ...], hint: str) -> None:
        self.question = question
        self.problems = problems
        self.hint = hint
        lines = [f"{question} is not right yet:", *(f"  - {p}" for p in problems)]
        if hint:
            lines.append(f"Hint: {hint}")
        super().__init__("\n".join(lines))


@dataclass
class Question:
    """The checks of one question: use it as a context manager (see :func:`question`).

    Parameters
    ----------
    name : str
        The question's name, as in ``grader.check(name)``.
    hint : str
        How to get it right, shown with every failure.

    Attributes
    ----------
    problems : list of str
        The failed parts so far.
    """

    name: str
    hint: str
    problems: list[str] = field(default_factory=list)

    def answered(self, **answers: object) -> None:
        """Stop at once, naming them, if any answer is still ``...`` (the student's blank).

        ``None`` is an answer like any other: some questions have it as a right one.

        Examples
        --------
        >>> with question("q1", hint="Count the rows.") as q:
        ...     q.answered(n_rows=...)
        Traceback (most recent call last):
        ...
        mlsys_kit.exercises.ExerciseFeedback: q1 is not right yet:
          - `n_rows` is not answered yet: replace the `...` with your answer
        Hint: Count the rows.
        """
        blank = [name for name, value in answers.items() if value is Ellipsis]
        if blank:
            names = ", ".join(f"`{name}`" for name in blank)
            verb = "is" if len(blank) == 1 else "are"
            raise ExerciseFeedback(
                self.name,
                (f"{names} {verb} not answered yet: replace the `...` with your answer",),
                self.hint,
            )

    def expect(self, ok: object, problem: str, *, hint: str | None = None) -> None:
        """Record ``problem`` (and a part-specific ``hint``) unless ``ok`` is true.

        Returns nothing, so that a test cell prints nothing when it passes (otter compares
        a test's printed output, and the interpreter echoes any value an expression returns).

        Examples
        --------
        >>> with question("q1", hint="Sort by time first.") as q:
        ...     q.expect(3 > 2, "three is not more than two")
        """
        check_type("problem", problem, str, owner="Question.expect")
        if not ok:
            self.problems.append(problem if hint is None else f"{problem} ({hint})")

    def expect_between(
        self, name: str, value: object, low: float, high: float, *, hint: str | None = None
    ) -> None:
        """Expect a number ``low <= value <= high``, naming the answer and the range.

        Examples
        --------
        >>> with question("q3", hint="A month has about 30 days.") as q:
        ...     q.expect_between("threshold", 45, 0, 30)
        Traceback (most recent call last):
        ...
        mlsys_kit.exercises.ExerciseFeedback: q3 is not right yet:
          - `threshold` is 45; it must be between 0 and 30
        Hint: A month has about 30 days.
        """
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            self.expect(False, f"`{name}` must be a number, not {type(value).__name__}", hint=hint)
            return
        number = float(value)
        ok = not math.isnan(number) and low <= number <= high
        self.expect(
            ok,
            f"`{name}` is {_short(number)}; it must be between {_short(low)} and {_short(high)}",
            hint=hint,
        )

    def __enter__(self) -> Question:
        self.problems.clear()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(exc, ExerciseFeedback) or (
            exc is not None and not isinstance(exc, Exception)
        ):
            return False
        if exc is not None:
            problem = f"checking your answer raised {type(exc).__name__}: {exc}"
            raise ExerciseFeedback(self.name, (problem,), self.hint) from exc
        if self.problems:
            raise ExerciseFeedback(self.name, tuple(self.problems), self.hint)
        return False


def question(name: str, *, hint: str) -> Question:
    """Start the checks of question ``name``; use it as ``with question(...) as q:``.

    Parameters
    ----------
    name : str
        The question's name, as in ``grader.check(name)``.
    hint : str
        How to get it right, shown with every failure.

    Returns
    -------
    Question

    Examples
    --------
    >>> rows = [3, 1, 2]
    >>> with question("q1", hint="`sorted` returns a new list.") as q:
    ...     q.answered(answer=rows)
    ...     q.expect(rows == sorted(rows), "`rows` is not sorted")
    Traceback (most recent call last):
    ...
    mlsys_kit.exercises.ExerciseFeedback: q1 is not right yet:
      - `rows` is not sorted
    Hint: `sorted` returns a new list.
    """
    check_type("name", name, str, owner="question")
    check_type("hint", hint, str, owner="question")
    return Question(name, hint)


def _short(number: float) -> str:
    return f"{number:.4g}"
