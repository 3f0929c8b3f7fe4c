"""Realistic export inputs: the seed's demo school, learners and company, and grids
built from the project's built-in framework files (`models/builtin_frameworks`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from exports.data import (
    BilanSummary,
    CompetenceResult,
    FicheSummary,
    GridActivity,
    GridCompetence,
    GridCriterion,
    GridTask,
    LearnerInfo,
    MeetingSheetData,
    PeriodInfo,
    PeriodRecord,
    Scale,
    ScaleLevel,
    SchoolInfo,
    TaskRef,
    Workplace,
)

FRAMEWORKS = Path(__file__).resolve().parents[2] / "models" / "builtin_frameworks"

SCHOOL = SchoolInfo(name="Lycée professionnel de démonstration", uai="0599999Z")
DISCOVERY = PeriodInfo(name="Stage de découverte", start_date=date(2026, 11, 16), end_date=date(2026, 12, 4))
MATIS = LearnerInfo("Matis", "CARLIER", "CAP 1 ELEC")
JEAN = LearnerInfo("Jean", "LECAM", "CAP 1 ELEC")
ANGELIQUE = LearnerInfo("Angélique", "DUPIRE", "CAPELECT")
MARINE = LearnerInfo("Marine", "FABROWSKI", "CAPELECT")
LYDIE = LearnerInfo("Lydie", "HÔT", "CAPELECT")
LEARNERS = (MATIS, ANGELIQUE, MARINE, LYDIE, JEAN)
TOUT_ELEC = Workplace(
    company_name="Tout élec",
    activity_domain="Entreprise générale d'électricité (particuliers)",
    tutor_name="Eude Toutcourt",
    tutor_role="électricien",
)
DISCOVERY_FICHE = "Fiche 1 : Découverte de l'entreprise"
OBJECTIVES = (
    "Découvrir l'organisation d'une entreprise d'électricité et ses règles de sécurité.\n"
    "Participer à la préparation d'une intervention chez un particulier."
)


@cache
def framework(name: str) -> dict:
    """A built-in framework file: "cap-electricien" or "bac-pro-melec"."""
    return json.loads((FRAMEWORKS / f"{name}.json").read_text(encoding="utf-8"))


def scale_of(name: str) -> Scale:
    content = framework(name)["scale"]
    return Scale(
        tuple(
            ScaleLevel(level["value"], level["label"], is_threshold=level["value"] == content["threshold"])
            for level in content["levels"]
        )
    )


def competence_labels(name: str) -> dict[str, tuple[str, list[str]]]:
    """code -> (label, criteria) of every competence of a framework."""
    return {
        item["code"]: (item["label"], [k["label"] if isinstance(k, dict) else k for k in item["criteria"]])
        for item in framework(name)["competences"]
    }


def task_refs(name: str, codes: tuple[str, ...]) -> tuple[TaskRef, ...]:
    tasks = {task["code"]: task["label"] for activity in framework(name)["activities"] for task in activity["tasks"]}
    return tuple(TaskRef(code, tasks[code]) for code in codes)


def grid(
    name: str,
    *,
    tasks: tuple[str, ...] | None = None,
    task_refs_by_code: Mapping[str, tuple[int, ...]] = {},
    by_criteria: frozenset[str] = frozenset(),
    competence_refs: Mapping[tuple[str, str], tuple[int, ...]] = {},
    criterion_refs: Mapping[tuple[str, str, int], tuple[int, ...]] = {},
) -> tuple[GridActivity, ...]:
    """The bilan grid of a framework, as the export's caller builds it from the database.

    `tasks` keeps only those task codes; marks are keyed by task code, then
    competence code, then criterion index.
    """
    competences = competence_labels(name)
    activities = []
    for activity in framework(name)["activities"]:
        grid_tasks = []
        for task in activity["tasks"]:
            if tasks is not None and task["code"] not in tasks:
                continue
            linked = []
            for link in task["competences"]:
                code = link["code"]
                label, criteria = competences[code]
                linked.append(
                    GridCompetence(
                        code=code,
                        label=label,
                        by_criteria=code in by_criteria,
                        fiche_refs=competence_refs.get((task["code"], code), ()),
                        criteria=tuple(
                            GridCriterion(text, criterion_refs.get((task["code"], code, index), ()))
                            for index, text in enumerate(criteria)
                        ),
                    )
                )
            grid_tasks.append(
                GridTask(task["code"], task["label"], task_refs_by_code.get(task["code"], ()), tuple(linked))
            )
        if grid_tasks:
            activities.append(GridActivity(activity["code"], activity["label"], tuple(grid_tasks)))
    return tuple(activities)


def seed_meeting_sheet(**overrides) -> MeetingSheetData:
    """The seed's bilan for Angélique DUPIRE: TA 1-1 and TA 1-2, C01 by criteria, C07 globally."""
    values = dict(
        school=SCHOOL,
        period=DISCOVERY,
        learner=ANGELIQUE,
        scale=scale_of("cap-electricien"),
        activities=grid(
            "cap-electricien",
            tasks=("TA 1-1", "TA 1-2"),
            task_refs_by_code={"TA 1-1": (1,), "TA 1-2": (1, 2)},
            by_criteria=frozenset({"C01"}),
            competence_refs={("TA 1-1", "C07"): (1,)},
            criterion_refs={
                ("TA 1-1", "C01", 0): (1, 2),
                ("TA 1-1", "C01", 3): (1,),
                ("TA 1-2", "C01", 1): (2,),
            },
        ),
        fiches=((1, DISCOVERY_FICHE), (2, "Fiche 2 : Préparation d'un chantier")),
        workplace=TOUT_ELEC,
        teacher_name="Claire MARTIN",
    )
    values.update(overrides)
    return MeetingSheetData(**values)


def results(name: str, levels: Mapping[str, str | None]) -> tuple[CompetenceResult, ...]:
    """Bilan results for the given competence codes, in framework order."""
    labels = competence_labels(name)
    return tuple(CompetenceResult(code, labels[code][0], level) for code, level in levels.items())


def period_record(
    period: PeriodInfo = DISCOVERY,
    *,
    days_done: Decimal | None = Decimal("14.5"),
    fiches: tuple[str, ...] = (DISCOVERY_FICHE,),
    bilan: BilanSummary | None = None,
    workplace: Workplace | None = TOUT_ELEC,
) -> PeriodRecord:
    return PeriodRecord(
        period=period,
        workplace=workplace,
        days_done=days_done,
        fiches=tuple(FicheSummary(title) for title in fiches),
        bilan=bilan,
    )
