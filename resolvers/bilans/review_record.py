"""The record an interim review keeps of what it consolidated (R25).

Written once, when the review is created, into `InterimReview.record`, and
never changed: the review and the learner's history (R26) read it, so a period
deleted afterwards (R8, which allows it exactly then) or a framework changed
later alters neither. It is plain JSON owned by the review, not rows linked to
the period's bilans, so no cascade reaches it.

    {"format": 1,
     "bilans": [{"bilan": 12, "period": 3, "periodName": "PFMP 1", "date": "2026-01-30",
                 "completedAt": "2026-02-02T10:00:00+00:00", "engagement": 3, "frameworkId": 1,
                 "levels": {"41": ["ACQUIRED", "GLOBAL"], …},
                 "periodStart": "2026-01-05", "periodEnd": "2026-01-30", "certifying": true}, …],
                                                                             # by date, then completion
     "competences": [{"id": 41, "frameworkId": 1, "code": "C01", "label": "…", "unit": "UP1"}, …]}

`levels` holds, per competence evaluated in that bilan, its retained level
(`grid.retained_level`) and the mode it was evaluated under.
`competences` lists every competence of the frameworks of those bilans, in
framework order, evaluated or not. `periodStart`, `periodEnd` and `certifying`
(the period as it stood) are in the records of reviews made since the syntheses
and the dashboard's periods read records too; migration 0019 gave them to older
records whose periods still existed. Only an older record of a period deleted
before that lacks them, and its readers fall back on the bilan's date.

The builder is pure, so the migration that gave existing reviews their record
uses it as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.bilans import EvaluationMode
from models.frameworks import AchievementLevel
from resolvers.bilans.grid import NOT_EVALUATED, retained_level

RECORD_FORMAT = 1
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass
class BilanFacts:
    """A completed bilan as the review consolidates it."""

    bilan_id: int
    period_id: int
    period_name: str
    date: dt.date
    completed_at: dt.datetime | None
    engagement: int | None
    framework_id: int | None
    modes: dict[int, EvaluationMode]
    results: dict[tuple[int, int | None], AchievementLevel]
    # The period as it stood, so that a record can stand for it once deleted (None: not known, not recorded).
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    certifying: bool | None = None


@dataclass
class CompetenceFacts:
    id: int
    framework_id: int
    code: str
    label: str
    unit: str | None
    # Retired by a framework re-import since; records do not hold it (what they recorded stays shown).
    retired: bool = False


def record_entry(bilan: BilanFacts, competence_ids: Iterable[int]) -> dict:
    levels = {}
    for competence_id in competence_ids:
        mode = bilan.modes.get(competence_id, EvaluationMode.GLOBAL)
        level = retained_level(mode, competence_id, bilan.results)
        if level is not NOT_EVALUATED:
            levels[str(competence_id)] = [level.value, mode.value]
    entry = {
        "bilan": bilan.bilan_id,
        "period": bilan.period_id,
        "periodName": bilan.period_name,
        "date": bilan.date.isoformat(),
        "completedAt": bilan.completed_at.isoformat() if bilan.completed_at else None,
        "engagement": bilan.engagement,
        "frameworkId": bilan.framework_id,
        "levels": levels,
    }
    if bilan.period_start is not None and bilan.period_end is not None:
        entry |= {"periodStart": bilan.period_start.isoformat(), "periodEnd": bilan.period_end.isoformat()}
    if bilan.certifying is not None:
        entry["certifying"] = bilan.certifying
    return entry


def entry_period(entry: dict) -> tuple[dt.date, dt.date, bool]:
    """(first day, last day, certifying) of a recorded bilan's period; the bilan's date for both days and
    certifying when the record predates their recording."""
    day = dt.date.fromisoformat(entry["date"])
    start = dt.date.fromisoformat(entry["periodStart"]) if entry.get("periodStart") else day
    end = dt.date.fromisoformat(entry["periodEnd"]) if entry.get("periodEnd") else day
    return start, end, entry.get("certifying", True)


def _order(entry: dict) -> tuple:
    completed = dt.datetime.fromisoformat(entry["completedAt"]) if entry.get("completedAt") else _EARLIEST
    return entry["date"], completed, entry["bilan"]


def build_record(
    bilans: Sequence[BilanFacts], competences: dict[int | None, list[CompetenceFacts]], earlier: Sequence[dict] = ()
) -> dict:
    """The record of a review consolidating `bilans` (their frameworks' competences in `competences`, in order).
    `earlier` are the records of the learner's earlier reviews: the bilans they hold and that `bilans` no longer
    has (their period was deleted since) are carried over as those reviews recorded them."""
    entries = {b.bilan_id: record_entry(b, [c.id for c in competences.get(b.framework_id, [])]) for b in bilans}
    listed: dict[int | None, list[dict]] = {
        framework: [
            {"id": c.id, "frameworkId": c.framework_id, "code": c.code, "label": c.label, "unit": c.unit} for c in rows
        ]
        for framework, rows in competences.items()
    }
    for record in earlier:
        for entry in record.get("bilans", []):
            entries.setdefault(entry["bilan"], entry)
        for competence in record.get("competences", []):
            rows = listed.setdefault(competence["frameworkId"], [])
            if all(row["id"] != competence["id"] for row in rows):
                rows.append(competence)
    ordered = sorted(entries.values(), key=_order)
    frameworks = dict.fromkeys(e["frameworkId"] for e in ordered if e["frameworkId"] is not None)
    return {
        "format": RECORD_FORMAT,
        "bilans": ordered,
        "competences": [c for framework in frameworks for c in listed.get(framework, [])],
    }


@dataclass
class RecordedResult:
    """One result of a competence as a record holds it."""

    level: AchievementLevel
    date: dt.date
    mode: EvaluationMode
    bilan_id: int
    period_id: int
    period_name: str


def recorded_history(entries: Iterable[dict], competence_id: int) -> list[RecordedResult]:
    """The competence's results in the recorded bilans given, in their order."""
    key = str(competence_id)
    found = []
    for entry in entries:
        value = entry["levels"].get(key)
        if value is not None:
            found.append(
                RecordedResult(
                    AchievementLevel(value[0]),
                    dt.date.fromisoformat(entry["date"]),
                    EvaluationMode(value[1]),
                    entry["bilan"],
                    entry["period"],
                    entry["periodName"],
                )
            )
    return found


def entry_order(entry: dict) -> tuple:
    return _order(entry)
