"""Retired framework entries (issue 11): kept for what names them, refused for new links.

A re-import that no longer lists an activity, task, competence or criterion
retires it (`retired_at`). What already names it keeps it: a fiche keeps its
retired task and its targets, a liaison fiche or a period its retired tasks.
A list that replaces a set of links may therefore repeat a retired entry the
set already holds; adding one that it does not hold is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from graph.errors import FieldProblem, Reason, UserInputError
from graph.messages import Term


def retired_problem(path: list[str], what: str) -> FieldProblem:
    return FieldProblem(path, Reason.RETIRED_FROM_FRAMEWORK, {"what": Term(what)})


def check_not_retired(rows: Sequence, field: str, what: str, *, kept: Collection[int] = ()) -> None:
    """INVALID for each retired row not already in `kept` (ids the set of links holds), naming its index."""
    wrong = [
        retired_problem([*field.split("."), str(i)], what)
        for i, row in enumerate(rows)
        if row.retired_at is not None and row.id not in kept
    ]
    if wrong:
        raise UserInputError(wrong)
