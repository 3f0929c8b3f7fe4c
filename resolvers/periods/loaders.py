"""Batch loads for the period and portfolio views: one statement per relation, whatever the row count."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from tortoise.expressions import Q
from tortoise.functions import Count

from graph.context import Info
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, FicheRead
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio, TrainerSeen
from models.schools import Classroom
from models.users import User
from permissions import scopes
from permissions.viewer import Viewer


async def completed_counts(portfolio_ids: Sequence[int]) -> dict[int, int]:
    """R2: fiches not deleted whose description is filled in, per portfolio (absent: none)."""
    rows = await (
        ActivityFiche.filter(portfolio_id__in=list(portfolio_ids), deleted_at=None)
        .exclude(description="")
        .annotate(n=Count("id"))
        .group_by("portfolio_id")
        .values("portfolio_id", "n")
    )
    return {row["portfolio_id"]: row["n"] for row in rows}


async def fiche_counts(portfolio_ids: Sequence[int]) -> dict[int, int]:
    """Fiches not deleted per portfolio, whatever their state (absent: none)."""
    rows = await (
        ActivityFiche.filter(portfolio_id__in=list(portfolio_ids), deleted_at=None)
        .annotate(n=Count("id"))
        .group_by("portfolio_id")
        .values("portfolio_id", "n")
    )
    return {row["portfolio_id"]: row["n"] for row in rows}


def portfolio_fiche_counts(info: Info):
    """Fiches not deleted, per portfolio: one statement for any number of portfolios."""

    async def load(portfolio_ids: Sequence[int]) -> list[int]:
        counts = await fiche_counts(portfolio_ids)
        return [counts.get(i, 0) for i in portfolio_ids]

    return info.context.loaders.custom(("portfolio_fiche_counts",), load)


async def unread_counts(reader_id: int, portfolio_ids: Sequence[int]) -> dict[int, int]:
    """Per portfolio, the fiches not deleted that are UNREAD for this reader (R13: never marked read by them, or
    changed by the learner since): two statements whatever the number of portfolios (absent: none)."""
    fiches = await ActivityFiche.filter(portfolio_id__in=list(portfolio_ids), deleted_at=None).values_list(
        "id", "portfolio_id", "learner_changed_at"
    )
    if not fiches:
        return {}
    read = dict(
        await FicheRead.filter(teacher_id=reader_id, fiche_id__in=[f[0] for f in fiches]).values_list(
            "fiche_id", "read_at"
        )
    )
    counts: dict[int, int] = {}
    for fiche_id, portfolio_id, changed_at in fiches:
        read_at = read.get(fiche_id)
        if read_at is None or read_at < changed_at:
            counts[portfolio_id] = counts.get(portfolio_id, 0) + 1
    return counts


def unread_fiche_counts(info: Info):
    """UNREAD fiches for the viewer, per portfolio (the caller checked the viewer may see read states)."""
    reader_id = info.context.require_viewer().id

    async def load(portfolio_ids: Sequence[int]) -> list[int]:
        counts = await unread_counts(reader_id, portfolio_ids)
        return [counts.get(i, 0) for i in portfolio_ids]

    return info.context.loaders.custom(("unread_fiche_counts",), load)


def completed_fiche_counts(info: Info):
    """R2: fiches not deleted whose description is filled in, per portfolio."""

    async def load(portfolio_ids: Sequence[int]) -> list[int]:
        counts = await completed_counts(portfolio_ids)
        return [counts.get(i, 0) for i in portfolio_ids]

    return info.context.loaders.custom(("completed_fiche_counts",), load)


async def new_fiche_counts(trainer_id: int, portfolio_ids: Sequence[int]) -> dict[int, int]:
    """Per portfolio, the fiches not deleted created or changed since the trainer last marked it seen (all of them
    when never marked): two statements whatever the number of portfolios (absent: none)."""
    if not portfolio_ids:
        return {}
    seen = dict(
        await TrainerSeen.filter(trainer_id=trainer_id, portfolio_id__in=list(portfolio_ids)).values_list(
            "portfolio_id", "seen_at"
        )
    )
    since = Q(portfolio_id__in=[pk for pk in portfolio_ids if pk not in seen])
    for pk, seen_at in seen.items():
        since |= Q(portfolio_id=pk, updated_at__gt=seen_at)
    rows = await (
        ActivityFiche.filter(since, deleted_at=None)
        .annotate(n=Count("id"))
        .group_by("portfolio_id")
        .values("portfolio_id", "n")
    )
    return {row["portfolio_id"]: row["n"] for row in rows}


def new_fiche_counts_of(info: Info, trainer_id: int):
    """`new_fiche_counts` for the portfolios of one answer, batched."""

    async def load(portfolio_ids: Sequence[int]) -> list[int]:
        counts = await new_fiche_counts(trainer_id, portfolio_ids)
        return [counts.get(i, 0) for i in portfolio_ids]

    return info.context.loaders.custom(("new_fiche_counts", trainer_id), load)


def tasks_of(info: Info, through: str):
    """Tasks linked through an M2M table (`periods`, `liaison_fiches`, `period_templates`), in framework order."""

    async def load(owner_ids: Sequence[int]) -> list[list[Task]]:
        rows = await (
            Task.filter(**{f"{through}__id__in": list(owner_ids)})
            .order_by("position")
            .values(
                "id",
                "code",
                "label",
                "position",
                "provisional",
                "framework_id",
                "activity_id",
                "retired_at",
                f"{through}__id",
            )
        )
        grouped: dict[int, list[Task]] = defaultdict(list)
        for row in rows:
            owner = row.pop(f"{through}__id")
            grouped[owner].append(Task(**row))
        return [grouped.get(i, []) for i in owner_ids]

    return info.context.loaders.custom(("tasks_of", through), load)


async def trainer_values(viewer: Viewer, portfolio_ids: Sequence[int]) -> dict[int, list[dict]]:
    """The columns of the trainers assigned to each portfolio, within the viewer's reach of trainers, by name."""
    rows = await (
        User.filter(scopes.trainers(viewer), trained_portfolios__id__in=list(portfolio_ids))
        .order_by("last_name", "first_name")
        .values(
            "id",
            "role",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_name",
            "job_title",
            "school_id",
            "trained_portfolios__id",
        )
    )
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row.pop("trained_portfolios__id")].append(row)
    return grouped


def trainers_of(info: Info):
    """Trainers assigned to each portfolio, within the viewer's reach of trainers."""
    viewer = info.context.require_viewer()

    async def load(portfolio_ids: Sequence[int]) -> list[list[User]]:
        grouped = await trainer_values(viewer, portfolio_ids)
        return [[User(**row) for row in grouped.get(i, [])] for i in portfolio_ids]

    return info.context.loaders.custom(("trainers_of",), load)


def liaison_by_portfolio(info: Info):
    return info.context.loaders.by_parent(LiaisonFiche, "portfolio_id", None)


def bilan_by_portfolio(info: Info):
    return info.context.loaders.by_parent(CompanyBilan, "portfolio_id", None)


def bilan_status_by_portfolio(info: Info):
    """The status of each portfolio's bilan (a portfolio has at most one), or None.

    Reads two columns, not whole rows: a completed bilan carries its frozen grid, tens of KiB of
    JSON to decode for nothing. When the same request loads whole bilans anyway (`Portfolio.bilan`),
    the statuses come from those rows instead, so asking both costs no second statement.
    """
    loaders = info.context.loaders

    async def load(portfolio_ids: Sequence[int]) -> list[BilanStatus | None]:
        whole = loaders.existing(loaders.parent_key(CompanyBilan, "portfolio_id", None))
        if whole is not None:
            bilans = await whole.load_many(portfolio_ids)
            return [rows[0].status if rows else None for rows in bilans]
        statuses = await bilan_statuses(portfolio_ids)
        return [statuses.get(i) for i in portfolio_ids]

    return loaders.custom(("bilan_status_by_portfolio",), load)


def bilan_progress_by_portfolio(info: Info):
    """Per portfolio, its bilan's status and whether anything was ever saved in it (a save that changes something
    bumps the version from 1; creation and saves of nothing keep it): ("completed" | "draft" | "not_started") or
    None without a bilan. Three columns read, one statement for a whole list."""

    async def load(portfolio_ids: Sequence[int]) -> list[str | None]:
        rows = await CompanyBilan.filter(portfolio_id__in=list(portfolio_ids)).values_list(
            "portfolio_id", "status", "version"
        )
        progress: dict[int, str] = {}
        for portfolio_id, status, version in rows:
            if BilanStatus(status) is BilanStatus.COMPLETED:
                progress[portfolio_id] = "completed"
            else:
                progress[portfolio_id] = "draft" if version > 1 else "not_started"
        return [progress.get(i) for i in portfolio_ids]

    return info.context.loaders.custom(("bilan_progress_by_portfolio",), load)


async def bilan_statuses(portfolio_ids: Sequence[int]) -> dict[int, BilanStatus]:
    """The status of each portfolio's bilan, two columns read (no frozen grid); absent: no bilan."""
    rows = await CompanyBilan.filter(portfolio_id__in=list(portfolio_ids)).values("portfolio_id", "status")
    return {row["portfolio_id"]: BilanStatus(row["status"]) for row in rows}


PORTFOLIO_COLUMNS = ("id", "days_done", "created_at", "updated_at", "period_id", "learner_id", "referent_teacher_id")
LEARNER_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "learner_status",
    "email",
    "phone",
    "birth_date",
    "left_at",
    "classroom_id",
)
LIAISON_COLUMNS = (
    "id",
    "portfolio_id",
    "objectives",
    "objectives_individualized",
    "tasks_individualized",
    "version",
    "company_name",
    "activity_domain",
    "service",
    "tutor_name",
    "tutor_role",
    "company_address",
    "company_siret",
)


async def portfolio_values_of_periods(
    viewer: Viewer, period_ids: Sequence[int], updated_since: dt.datetime | None = None
) -> list[dict]:
    """The columns of the portfolios of these periods the viewer reaches, by id; with `updated_since`, those
    changed at or after it only."""
    since = Q() if updated_since is None else Q(updated_at__gte=updated_since)
    return await (
        Portfolio.filter(scopes.portfolios(viewer), since, period_id__in=list(period_ids))
        .order_by("id")
        .values(*PORTFOLIO_COLUMNS)
    )


async def learner_values(viewer: Viewer, learner_ids: Sequence[int]) -> dict[int, dict]:
    """The columns of these learners the viewer reaches, by id."""
    rows = await User.filter(scopes.learners(viewer), id__in=list(learner_ids)).values(*LEARNER_COLUMNS)
    return {row["id"]: row for row in rows}


async def classroom_values(viewer: Viewer, classroom_ids: Sequence[int]) -> dict[int, dict]:
    """The columns of these classrooms the viewer reaches, by id."""
    rows = await Classroom.filter(scopes.classrooms(viewer), id__in=list(classroom_ids)).values(
        "id", "name", "level_id"
    )
    return {row["id"]: row for row in rows}


async def liaison_values(portfolio_ids: Sequence[int]) -> dict[int, dict]:
    """The columns of each portfolio's liaison fiche (its first by id, as `liaison_by_portfolio` answers)."""
    found: dict[int, dict] = {}
    for row in await LiaisonFiche.filter(portfolio_id__in=list(portfolio_ids)).order_by("id").values(*LIAISON_COLUMNS):
        found.setdefault(row["portfolio_id"], row)
    return found


def portfolios_of_period(info: Info):
    return info.context.loaders.by_parent(Portfolio, "period_id", scopes.portfolios)


def portfolios_of_learner(info: Info):
    return info.context.loaders.by_parent(Portfolio, "learner_id", scopes.portfolios)


def period_by_id(info: Info):
    return info.context.loaders.by_id(Period, scopes.periods)


def locked_periods(info: Info):
    """R7: a period is locked once any of its bilans is in an interim review."""

    async def load(period_ids: Sequence[int]) -> list[bool]:
        rows = await (
            CompanyBilan.filter(portfolio__period_id__in=list(period_ids), interim_reviews__id__isnull=False)
            .distinct()
            .values_list("portfolio__period_id", flat=True)
        )
        locked = set(rows)
        return [i in locked for i in period_ids]

    return info.context.loaders.custom(("locked_periods",), load)


def period_dates_of_portfolio(info: Info):
    """The first and last days of each portfolio's period (the last is the default meeting date), for portfolios
    already reached."""

    async def load(ids):
        dates = {
            row[0]: (row[1], row[2])
            for row in await Portfolio.filter(id__in=list(ids)).values_list(
                "id", "period__start_date", "period__end_date"
            )
        }
        return [dates.get(i) for i in ids]

    return info.context.loaders.custom(("period_dates_of_portfolio",), load)
