"""Framework files (format "pfmp-framework/1"): parsing, validation and import.

The format is documented in the README ("Framework files"). A file is checked
whole before anything is written; each problem names the JSON line (for
syntax errors) or the entry path (e.g. `activities[0].tasks[2].competences[1]`).
Importing the same content twice changes nothing; a changed file updates the
framework in place, matching entries by code (criteria by code, or by position
in a file without criterion codes) so existing links stay valid. An activity,
task, competence or criterion the file no longer lists is retired, never
deleted: fiches, liaison fiches, periods and bilan results that name it keep
it, and nothing cascades from a framework change into them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tortoise import timezone
from tortoise.transactions import in_transaction

from models import frameworks as m
from models import stamps

FORMAT = "pfmp-framework/1"
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "models" / "builtin_frameworks"
LEVEL_VALUES = [level.value for level in m.AchievementLevel]


class FrameworkFileError(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))


@dataclass
class ImportResult:
    framework: m.Framework
    created: bool
    changed: bool


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, where: str, what: str) -> None:
        self.problems.append((where, what))

    def text(self, obj: dict, key: str, where: str, *, required: bool = True, max_length: int = 2000) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}" if where else key, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{where}.{key}" if where else key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.fail(f"{where}.{key}" if where else key, f"is longer than {max_length} characters")
            return None
        return value.strip()

    def items(self, obj: dict, key: str, where: str, *, required: bool = True) -> list:
        value = obj.get(key)
        path = f"{where}.{key}" if where else key
        if value is None:
            if required:
                self.fail(path, "is required")
            return []
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return []
        return value

    def unique(self, seen: set, code: str | None, where: str, kind: str) -> None:
        if code is None:
            return
        if code in seen:
            self.fail(where, f"duplicate {kind} code {code!r}")
        seen.add(code)


def parse_framework(text: str) -> dict:
    """The validated document, or FrameworkFileError listing every problem found."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FrameworkFileError([(f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})")]) from None
    check = _Checker()
    if not isinstance(doc, dict):
        raise FrameworkFileError([("(document)", "must be a JSON object")])
    if doc.get("format") != FORMAT:
        check.fail("format", f"must be {FORMAT!r}")
    check.text(doc, "code", "", max_length=50)
    check.text(doc, "name", "", max_length=300)
    if doc.get("source") is not None:
        check.text(doc, "source", "", required=False)
    notes = check.items(doc, "notes", "", required=False)
    for i, note in enumerate(notes):
        if not isinstance(note, str):
            check.fail(f"notes[{i}]", "must be a string")

    scale = doc.get("scale")
    if not isinstance(scale, dict):
        check.fail("scale", "is required and must be an object with 'levels' and 'threshold'")
    else:
        levels = check.items(scale, "levels", "scale")
        values = []
        for i, level in enumerate(levels):
            where = f"scale.levels[{i}]"
            if not isinstance(level, dict):
                check.fail(where, "must be an object")
                continue
            values.append(level.get("value"))
            check.text(level, "label", where, max_length=100)
        if levels and values != LEVEL_VALUES:
            check.fail("scale.levels", f"must list the six levels in this order: {', '.join(LEVEL_VALUES)}")
        if scale.get("threshold") not in LEVEL_VALUES[1:]:
            check.fail("scale.threshold", "must be one of the levels other than NOT_EVALUATED")

    unit_codes: set = set()
    for i, unit in enumerate(check.items(doc, "units", "", required=False)):
        where = f"units[{i}]"
        if not isinstance(unit, dict):
            check.fail(where, "must be an object")
            continue
        check.unique(unit_codes, check.text(unit, "code", where, max_length=20), f"{where}.code", "unit")
        check.text(unit, "label", where, max_length=300)

    competence_codes: set = set()
    criterion_codes: set = set()
    coded: list[str] = []
    plain: list[str] = []
    competences = check.items(doc, "competences", "")
    if not competences and "competences" in doc:
        check.fail("competences", "must list at least one competence")
    for i, competence in enumerate(competences):
        where = f"competences[{i}]"
        if not isinstance(competence, dict):
            check.fail(where, "must be an object")
            continue
        check.unique(
            competence_codes, check.text(competence, "code", where, max_length=20), f"{where}.code", "competence"
        )
        check.text(competence, "label", where)
        unit = competence.get("unit")
        if unit is not None and unit not in unit_codes:
            check.fail(f"{where}.unit", f"unknown unit {unit!r}")
        for j, criterion in enumerate(check.items(competence, "criteria", where, required=False)):
            criterion_where = f"{where}.criteria[{j}]"
            if isinstance(criterion, dict):
                coded.append(criterion_where)
                check.unique(
                    criterion_codes,
                    check.text(criterion, "code", criterion_where, max_length=30),
                    f"{criterion_where}.code",
                    "criterion",
                )
                check.text(criterion, "label", criterion_where)
            elif isinstance(criterion, str) and criterion.strip():
                plain.append(criterion_where)
            else:
                check.fail(criterion_where, "must be a non-empty string or an object with 'code' and 'label'")
    if coded and plain:
        # Criteria are matched by code or by position, never both within one import.
        check.fail(
            plain[0], "has no code while other criteria of the file have one: give every criterion a code, or none"
        )

    activity_codes: set = set()
    task_codes: set = set()
    activities = check.items(doc, "activities", "")
    for i, activity in enumerate(activities):
        where = f"activities[{i}]"
        if not isinstance(activity, dict):
            check.fail(where, "must be an object")
            continue
        check.unique(activity_codes, check.text(activity, "code", where, max_length=20), f"{where}.code", "activity")
        check.text(activity, "label", where, max_length=300)
        for j, task in enumerate(check.items(activity, "tasks", where)):
            task_where = f"{where}.tasks[{j}]"
            if not isinstance(task, dict):
                check.fail(task_where, "must be an object")
                continue
            check.unique(task_codes, check.text(task, "code", task_where, max_length=20), f"{task_where}.code", "task")
            check.text(task, "label", task_where)
            if "provisional" in task and not isinstance(task["provisional"], bool):
                check.fail(f"{task_where}.provisional", "must be true or false")
            linked: set = set()
            for k, link in enumerate(check.items(task, "competences", task_where, required=False)):
                link_where = f"{task_where}.competences[{k}]"
                if not isinstance(link, dict):
                    check.fail(link_where, "must be an object with 'code' and 'weight'")
                    continue
                code = link.get("code")
                if code not in competence_codes:
                    check.fail(f"{link_where}.code", f"unknown competence {code!r}")
                elif code in linked:
                    check.fail(f"{link_where}.code", f"competence {code!r} linked twice")
                linked.add(code)
                if link.get("weight", 2) not in (1, 2) or isinstance(link.get("weight"), bool):
                    check.fail(f"{link_where}.weight", "must be 1 (secondary) or 2 (main)")

    attitude_codes: set = set()
    for i, attitude in enumerate(check.items(doc, "attitudes", "", required=False)):
        where = f"attitudes[{i}]"
        if not isinstance(attitude, dict):
            check.fail(where, "must be an object")
            continue
        check.unique(attitude_codes, check.text(attitude, "code", where, max_length=20), f"{where}.code", "attitude")
        check.text(attitude, "label", where, max_length=300)

    if check.problems:
        raise FrameworkFileError(check.problems)
    return doc


def content_hash(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def _sync(model, existing: dict, wanted: dict, parent: dict) -> dict:
    """Create, update or delete rows of `model` so they match `wanted` (key → field values)."""
    for key, row in list(existing.items()):
        if key not in wanted:
            await row.delete()
            del existing[key]
    return await _upsert(model, existing, wanted, parent)


async def _upsert(model, existing: dict, wanted: dict, parent: dict) -> dict:
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            existing[key] = await model.create(**parent, **values)
        elif any(getattr(row, name) != value for name, value in values.items()):
            row.update_from_dict(values)
            await row.save()
    return existing


async def _sync_retiring(model, existing: dict, wanted: dict, parent: dict, now: dt.datetime) -> dict:
    """Like `_sync`, but an entry the file no longer lists is retired, never deleted (fiches, liaison fiches,
    periods and bilan results may name it); an entry listed again is un-retired."""
    for key, row in existing.items():
        if key not in wanted and row.retired_at is None:
            row.retired_at = now
            await row.save(update_fields=["retired_at"])
    return await _upsert(
        model, existing, {key: {**values, "retired_at": None} for key, values in wanted.items()}, parent
    )


def _criteria_of(competence: dict) -> list[tuple[str | None, str]]:
    """(code or None, label) of each criterion of a competence of the file."""
    found = []
    for item in competence.get("criteria") or []:
        if isinstance(item, dict):
            found.append((item["code"].strip(), item["label"].strip()))
        else:
            found.append((None, item.strip()))
    return found


async def _sync_criteria(
    competence_id: int, rows: list[m.Criterion], items: list[tuple[str | None, str]], now: dt.datetime
) -> None:
    """Match the file's criteria to the competence's rows, by code when the file gives codes (a code-less row at
    the same position adopts the code: files that gain codes keep their criteria), else by position. Matched and
    new criteria take positions 1..n in file order; the others are retired and follow them in their old order."""
    rows = sorted(rows, key=lambda row: row.position)
    matched: list[m.Criterion | None] = []
    taken: set[int] = set()
    if any(code for code, _ in items):
        by_code = {row.code: row for row in rows if row.code}
        by_position = {row.position: row for row in rows if not row.code}
        for j, (code, _) in enumerate(items, start=1):
            row = (by_code.get(code) if code else None) or by_position.get(j)
            matched.append(row if row is not None and row.id not in taken else None)
            if row is not None:
                taken.add(row.id)
    else:
        by_position = {row.position: row for row in rows}
        for j in range(1, len(items) + 1):
            row = by_position.get(j)
            matched.append(row)
            if row is not None:
                taken.add(row.id)
    left = [row for row in rows if row.id not in taken]
    final: dict[int, int] = {row.id: j for j, row in enumerate(matched, start=1) if row is not None}
    final.update({row.id: len(items) + k for k, row in enumerate(left, start=1)})
    # Positions are unique per competence: move the rows that change out of the way first.
    moving = [row for row in rows if row.position != final[row.id]]
    for row in moving:
        await m.Criterion.filter(id=row.id).update(position=-row.id)
    for row in moving:
        await m.Criterion.filter(id=row.id).update(position=final[row.id])
    for row in left:
        if row.retired_at is None:
            await m.Criterion.filter(id=row.id).update(retired_at=now)
    for j, ((code, label), row) in enumerate(zip(items, matched), start=1):
        if row is None:
            await m.Criterion.create(competence_id=competence_id, code=code, label=label, position=j)
            continue
        values = {"label": label, "retired_at": None, **({"code": code} if code else {})}
        if any(getattr(row, name) != value for name, value in values.items()):
            await m.Criterion.filter(id=row.id).update(**values)


async def import_framework(doc: dict, *, school_id: int | None) -> ImportResult:
    digest = content_hash(doc)
    now = timezone.now()
    async with in_transaction():
        framework = await m.Framework.get_or_none(school_id=school_id, code=doc["code"])
        if framework is not None and framework.content_hash == digest:
            return ImportResult(framework, created=False, changed=False)
        created = framework is None
        header = {
            "name": doc["name"],
            "source": doc.get("source") or "",
            "notes": doc.get("notes") or [],
            "content_hash": digest,
        }
        if framework is None:
            framework = await m.Framework.create(school_id=school_id, code=doc["code"], **header)
        else:
            framework.update_from_dict(header)
            await framework.save()
        owner = {"framework_id": framework.id}

        scale = doc["scale"]
        await _sync(
            m.ScaleLevel,
            {r.value.value: r for r in await m.ScaleLevel.filter(**owner)},
            {
                level["value"]: {
                    "value": m.AchievementLevel(level["value"]),
                    "label": level["label"].strip(),
                    "position": i,
                    "is_threshold": level["value"] == scale["threshold"],
                }
                for i, level in enumerate(scale["levels"])
            },
            owner,
        )
        units = await _sync(
            m.Unit,
            {r.code: r for r in await m.Unit.filter(**owner)},
            {
                unit["code"].strip(): {"label": unit["label"].strip(), "position": i, "code": unit["code"].strip()}
                for i, unit in enumerate(doc.get("units") or [])
            },
            owner,
        )
        competences = await _sync_retiring(
            m.Competence,
            {r.code: r for r in await m.Competence.filter(**owner)},
            {
                c["code"].strip(): {
                    "code": c["code"].strip(),
                    "label": c["label"].strip(),
                    "position": i,
                    "unit_id": units[c["unit"]].id if c.get("unit") else None,
                }
                for i, c in enumerate(doc["competences"])
            },
            owner,
            now,
        )
        listed = {c["code"].strip() for c in doc["competences"]}
        criteria: dict[int, list[m.Criterion]] = {c.id: [] for c in competences.values()}
        for row in await m.Criterion.filter(competence__framework_id=framework.id):
            criteria[row.competence_id].append(row)
        for code, competence in competences.items():
            if code not in listed:
                # A retired competence's criteria are retired with it; listed again, the file decides.
                ids = [row.id for row in criteria[competence.id] if row.retired_at is None]
                if ids:
                    await m.Criterion.filter(id__in=ids).update(retired_at=now)
        for c in doc["competences"]:
            competence = competences[c["code"].strip()]
            await _sync_criteria(competence.id, criteria[competence.id], _criteria_of(c), now)
        activities = await _sync_retiring(
            m.FrameworkActivity,
            {r.code: r for r in await m.FrameworkActivity.filter(**owner)},
            {
                a["code"].strip(): {"code": a["code"].strip(), "label": a["label"].strip(), "position": i}
                for i, a in enumerate(doc["activities"])
            },
            owner,
            now,
        )
        wanted_tasks = {}
        position = 0
        for a in doc["activities"]:
            for t in a["tasks"]:
                wanted_tasks[t["code"].strip()] = {
                    "code": t["code"].strip(),
                    "label": t["label"].strip(),
                    "position": position,
                    "activity_id": activities[a["code"].strip()].id,
                    "provisional": bool(t.get("provisional", False)),
                }
                position += 1
        tasks = await _sync_retiring(
            m.Task, {r.code: r for r in await m.Task.filter(**owner)}, wanted_tasks, owner, now
        )
        existing_links = {
            (link.task_id, link.competence_id): link
            for link in await m.TaskCompetence.filter(task__framework_id=framework.id)
        }
        wanted_links = {}
        for a in doc["activities"]:
            for t in a["tasks"]:
                task = tasks[t["code"].strip()]
                for link in t.get("competences") or []:
                    competence = competences[link["code"]]
                    wanted_links[(task.id, competence.id)] = {
                        "task_id": task.id,
                        "competence_id": competence.id,
                        "weight": link.get("weight", 2),
                    }
        # The links of a retired task or competence stay as they were: fiches and bilans that name them still
        # show them under their task.
        retired = {row.id for row in [*tasks.values(), *competences.values()] if row.retired_at is not None}
        existing_links = {
            key: link
            for key, link in existing_links.items()
            if key in wanted_links or not ({link.task_id, link.competence_id} & retired)
        }
        await _sync(m.TaskCompetence, existing_links, wanted_links, {})
        await _sync(
            m.ProfessionalAttitude,
            {r.code: r for r in await m.ProfessionalAttitude.filter(**owner)},
            {
                p["code"].strip(): {"code": p["code"].strip(), "label": p["label"].strip(), "position": i}
                for i, p in enumerate(doc.get("attitudes") or [])
            },
            owner,
        )
        # A school's own framework is read by that school, a built-in one (school_id None) by every school.
        await stamps.bump(stamps.school_scope(school_id))
    return ImportResult(framework, created=created, changed=True)


async def load_builtin_frameworks() -> list[ImportResult]:
    """Import the shipped frameworks; a no-op when they are already up to date."""
    results = []
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        results.append(await import_framework(parse_framework(path.read_text("utf-8")), school_id=None))
    return results
