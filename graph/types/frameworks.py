"""Competency frameworks (référentiels) and their achievement scale."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.common import described_enum
from models import frameworks as m

AchievementLevel = Annotated[
    m.AchievementLevel,
    described_enum(
        "One of the six ordered levels of the achievement scale (the « réglette »).",
        {
            "NOT_EVALUATED": "Not evaluated.",
            "NOT_ACQUIRED": "Not acquired.",
            "BEGINNING": "Beginning to be acquired.",
            "PARTIAL": "Partly acquired.",
            "ACQUIRED": "Acquired.",
            "MASTERED": "Mastered.",
        },
    ),
]


RETIRED = (
    "True when a framework re-import no longer lists it: kept, with its links and results, for the fiches, "
    "liaison fiches, periods and bilans that name it, and refused for new links."
)
IncludeRetired = Annotated[
    bool,
    strawberry.argument(
        description="Also list retired entries (marked `retired`); by default only those offered for new links."
    ),
]


@strawberry.type(description="One level of a framework's achievement scale, with the label the school uses.")
class ScaleLevel:
    value: AchievementLevel = strawberry.field(description="The level.")
    label: str = strawberry.field(description="Label printed and shown for the level.")
    position: int = strawberry.field(description="Order on the scale, from 0 (not evaluated).")
    is_threshold: bool = strawberry.field(description="True for the proficiency threshold (Acquis by default).")


@strawberry.type(description="Critère d'évaluation: belongs to one competence.")
class Criterion(relay.Node):
    id: relay.NodeID[int]
    code: str | None = strawberry.field(
        description="Stable code from the framework file, e.g. C01.1; null when the file gave none."
    )
    label: str = strawberry.field(description="The criterion, as a sentence.")
    position: int = strawberry.field(
        description="Order within the competence, from 1; retired criteria follow the others."
    )
    retired: bool = strawberry.field(description=RETIRED)
    competence_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.Criterion) -> Criterion:
        return cls(
            id=row.id,
            code=row.code,
            label=row.label,
            position=row.position,
            retired=row.retired_at is not None,
            competence_id=row.competence_id,
        )


@strawberry.type(description="Unité de certification: groups competences.")
class Unit:
    code: str = strawberry.field(description="Code, e.g. UP1 or U31.")
    label: str = strawberry.field(description="Label of the unit.")


@strawberry.type(description="Compétence, e.g. « C01 Analyser les conditions de l'opération et son contexte ».")
class Competence(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code, e.g. C01.")
    label: str = strawberry.field(description="Label of the competence.")
    retired: bool = strawberry.field(description=RETIRED)
    row_unit_id: strawberry.Private[int | None]
    # The unit's code when the caller had it at hand (its framework's units, a review record); when it did not
    # (`node`, `nodes`), `unitCode` looks the unit up through a loader: one statement for every competence asked.
    known_unit_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: m.Competence, unit_codes: dict[int, str]) -> Competence:
        return cls(
            id=row.id,
            code=row.code,
            label=row.label,
            row_unit_id=row.unit_id,
            known_unit_code=unit_codes.get(row.unit_id) if row.unit_id else None,
            retired=row.retired_at is not None,
        )

    @strawberry.field(description="Code of the certification unit it belongs to.")
    async def unit_code(self, info: Info) -> str | None:
        if self.known_unit_code is not None or self.row_unit_id is None:
            return self.known_unit_code
        unit = await info.context.loaders.by_id(m.Unit, None).load(self.row_unit_id)
        return unit.code if unit is not None else None

    @strawberry.field(description="Criteria of the competence, in order.")
    async def criteria(self, info: Info, include_retired: IncludeRetired = False) -> list[Criterion]:
        rows = await info.context.loaders.by_parent(m.Criterion, "competence_id", None, order_by=("position",)).load(
            self.id
        )
        return [Criterion.from_row(r) for r in rows if include_retired or r.retired_at is None]


@strawberry.type(description="A competence a task mobilises, with its weight.")
class TaskCompetenceLink:
    competence: Competence = strawberry.field(description="The competence.")
    weight: int = strawberry.field(description="2 for a main competence of the task, 1 for a secondary one.")


@strawberry.type(description="Tâche, e.g. « TA 1-1 : prendre connaissance du dossier… ».")
class Task(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code, e.g. TA 1-1.")
    label: str = strawberry.field(description="Label of the task.")
    provisional: bool = strawberry.field(
        description="True when the task's links are a default the school should check against the official text."
    )
    retired: bool = strawberry.field(description=RETIRED)
    framework_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.Task) -> Task:
        return cls(
            id=row.id,
            code=row.code,
            label=row.label,
            provisional=row.provisional,
            retired=row.retired_at is not None,
            framework_id=row.framework_id,
        )

    @strawberry.field(description="Competences the task mobilises, in framework order.")
    async def competences(self, info: Info, include_retired: IncludeRetired = False) -> list[TaskCompetenceLink]:
        loaders = info.context.loaders
        links = await loaders.by_parent(m.TaskCompetence, "task_id", None).load(self.id)
        competences = await loaders.by_id(m.Competence, None).load_many([link.competence_id for link in links])
        units = await _unit_codes(info, self.framework_id)
        pairs = sorted(zip(links, competences), key=lambda pair: pair[1].position)
        return [
            TaskCompetenceLink(competence=Competence.from_row(c, units), weight=link.weight)
            for link, c in pairs
            if include_retired or c.retired_at is None
        ]


async def _unit_codes(info: Info, framework_id: int) -> dict[int, str]:
    rows = await info.context.loaders.by_parent(m.Unit, "framework_id", None).load(framework_id)
    return {row.id: row.code for row in rows}


@strawberry.type(description="Activité du référentiel, e.g. « Préparation »: groups tasks.")
class FrameworkActivity(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code of the activity.")
    label: str = strawberry.field(description="Label of the activity.")
    retired: bool = strawberry.field(default=False, description=RETIRED)

    @classmethod
    def from_row(cls, row: m.FrameworkActivity) -> FrameworkActivity:
        return cls(id=row.id, code=row.code, label=row.label, retired=row.retired_at is not None)

    @strawberry.field(description="Tasks of the activity, in order.")
    async def tasks(self, info: Info, include_retired: IncludeRetired = False) -> list[Task]:
        rows = await info.context.loaders.by_parent(m.Task, "activity_id", None, order_by=("position",)).load(self.id)
        return [Task.from_row(r) for r in rows if include_retired or r.retired_at is None]


@strawberry.type(description="A professional attitude the framework names (shown in exports when present).")
class ProfessionalAttitude:
    code: str = strawberry.field(description="Code, e.g. AP1.")
    label: str = strawberry.field(description="Label of the attitude.")


@strawberry.type(description="Référentiel: a diploma's competency framework, imported from a file.")
class Framework(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code of the framework, e.g. CAP-ELEC.")
    name: str = strawberry.field(description="Name of the diploma.")
    source: str = strawberry.field(description="Official text(s) the framework comes from.")
    notes: list[str] = strawberry.field(description="Notes of the file, e.g. defaults to be checked.")
    built_in: bool = strawberry.field(description="True for the frameworks shipped with the product.")

    @classmethod
    def from_row(cls, row: m.Framework) -> Framework:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            source=row.source,
            notes=list(row.notes or []),
            built_in=row.school_id is None,
        )

    @strawberry.field(description="The achievement scale, in order.")
    async def scale(self, info: Info) -> list[ScaleLevel]:
        rows = await info.context.loaders.by_parent(m.ScaleLevel, "framework_id", None, order_by=("position",)).load(
            self.id
        )
        return [
            ScaleLevel(value=r.value, label=r.label, position=r.position, is_threshold=r.is_threshold) for r in rows
        ]

    @strawberry.field(description="Activities with their tasks, in order.")
    async def activities(self, info: Info, include_retired: IncludeRetired = False) -> list[FrameworkActivity]:
        rows = await info.context.loaders.by_parent(
            m.FrameworkActivity, "framework_id", None, order_by=("position",)
        ).load(self.id)
        return [FrameworkActivity.from_row(r) for r in rows if include_retired or r.retired_at is None]

    @strawberry.field(description="Competences with their criteria, in order.")
    async def competences(self, info: Info, include_retired: IncludeRetired = False) -> list[Competence]:
        rows = await info.context.loaders.by_parent(m.Competence, "framework_id", None, order_by=("position",)).load(
            self.id
        )
        units = await _unit_codes(info, self.id)
        return [Competence.from_row(r, units) for r in rows if include_retired or r.retired_at is None]

    @strawberry.field(description="Certification units, in order.")
    async def units(self, info: Info) -> list[Unit]:
        rows = await info.context.loaders.by_parent(m.Unit, "framework_id", None, order_by=("position",)).load(self.id)
        return [Unit(code=r.code, label=r.label) for r in rows]

    @strawberry.field(description="Professional attitudes, in order (may be empty).")
    async def attitudes(self, info: Info) -> list[ProfessionalAttitude]:
        rows = await info.context.loaders.by_parent(
            m.ProfessionalAttitude, "framework_id", None, order_by=("position",)
        ).load(self.id)
        return [ProfessionalAttitude(code=r.code, label=r.label) for r in rows]
