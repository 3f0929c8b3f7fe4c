"""Batch loads for the people's fields: one statement per relation, whatever the row count."""

from __future__ import annotations

from graph.context import Info
from models.schools import Classroom
from permissions import scopes


def taught_classrooms(info: Info):
    """Per request: the classrooms each teacher teaches among those the viewer reaches, by name."""
    viewer = info.context.require_viewer()

    async def load(teacher_ids):
        pairs = (
            await Classroom.filter(scopes.classrooms(viewer), teachers__id__in=list(teacher_ids))
            .order_by("name")
            .values("id", "name", "level_id", "teachers__id")
        )
        by_teacher: dict[int, list] = {i: [] for i in teacher_ids}
        for pair in pairs:
            by_teacher[pair["teachers__id"]].append(
                Classroom(id=pair["id"], name=pair["name"], level_id=pair["level_id"])
            )
        return [by_teacher[i] for i in teacher_ids]

    return info.context.loaders.custom(("taught_classrooms",), load)
