"""Evaluations survive every legitimate operation.

- `activity_fiche.reference`: a fiche's number [n] is stored at creation and never changes (R18). Existing fiches
  get the number they show today (their rank by creation among the portfolio's fiches not deleted); deleted ones,
  which show none, get the numbers after those, in creation order.
- Completed bilans are frozen whole (R21): their effective meeting date is stored and their header (period dates,
  workplace, trainers) kept in `frozen_grid.header`, as they stand now.
- `interim_review.record`: each existing review gets the record of what it consolidated, built from its bilans as
  they stand (consolidated bilans cannot have changed: they cannot be reopened and their periods are locked).

The data steps read and write with plain SQL (the models may change after this file), through the pure builders
the server itself uses.
"""

import datetime as dt
import functools
import json
from collections import defaultdict
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class _Sql:
    """Plain SQL on the migration's connection, with the placeholders of its dialect."""

    def __init__(self, schema_editor) -> None:
        self.client = schema_editor.client
        self.postgres = self.client.capabilities.dialect == "postgres"

    def _params(self, sql: str, count: int) -> str:
        for i in range(1, count + 1):
            sql = sql.replace("?", f"${i}", 1) if self.postgres else sql
        return sql

    async def rows(self, sql: str, *values) -> list:
        _, rows = await self.client.execute_query(self._params(sql, len(values)), list(values))
        return [dict(row) for row in rows]

    async def run(self, sql: str, *values) -> None:
        await self.client.execute_query(self._params(sql, len(values)), list(values))

    def date_value(self, day: dt.date | None):
        return day if self.postgres or day is None else day.isoformat()

    @staticmethod
    def json_in(value):
        return json.loads(value) if isinstance(value, (str, bytes)) else value


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _marks(values: list) -> str:
    return ", ".join("?" for _ in values)


FICHE_NUMBERS = [
    # Fiches not deleted: their rank by (created_at, id) among those of the portfolio.
    """UPDATE activity_fiche SET reference = (
         SELECT COUNT(*) FROM activity_fiche AS other
         WHERE other.portfolio_id = activity_fiche.portfolio_id AND other.deleted_at IS NULL
           AND (other.created_at < activity_fiche.created_at
                OR (other.created_at = activity_fiche.created_at AND other.id <= activity_fiche.id)))
       WHERE portfolio_id IS NOT NULL AND deleted_at IS NULL""",
    # Deleted fiches: after every fiche not deleted, in creation order.
    """UPDATE activity_fiche SET reference = (
         SELECT COUNT(*) FROM activity_fiche AS other
         WHERE other.portfolio_id = activity_fiche.portfolio_id
           AND (other.deleted_at IS NULL
                OR other.created_at < activity_fiche.created_at
                OR (other.created_at = activity_fiche.created_at AND other.id <= activity_fiche.id)))
       WHERE portfolio_id IS NOT NULL AND deleted_at IS NOT NULL""",
]


async def _number_fiches(sql: _Sql) -> None:
    for statement in FICHE_NUMBERS:
        await sql.run(statement)


async def _freeze_completed_bilans(sql: _Sql) -> None:
    from resolvers.bilans.grid import frozen_header

    bilans = await sql.rows(
        """SELECT b.id, b.portfolio_id, b.meeting_date, b.frozen_grid, p.start_date, p.end_date,
                  l.company_name, l.activity_domain, l.service, l.tutor_name, l.tutor_role, l.id AS liaison_id
           FROM company_bilan AS b JOIN portfolio AS f ON f.id = b.portfolio_id JOIN period AS p ON p.id = f.period_id
           LEFT JOIN liaison_fiche AS l ON l.portfolio_id = b.portfolio_id
           WHERE b.status = 'COMPLETED'""")
    if not bilans:
        return
    portfolio_ids = [b["portfolio_id"] for b in bilans]
    trainers = defaultdict(list)
    for row in await sql.rows(
            f"""SELECT t.portfolio_id, u.first_name, u.last_name FROM portfolio_trainer AS t
                JOIN app_user AS u ON u.id = t.user_id WHERE t.portfolio_id IN ({_marks(portfolio_ids)})
                ORDER BY u.last_name, u.first_name, u.id""", *portfolio_ids):
        trainers[row["portfolio_id"]].append(f"{row['first_name']} {row['last_name']}")
    for bilan in bilans:
        grid = sql.json_in(bilan["frozen_grid"]) or {}
        if "header" in grid:
            continue
        stored = _date(bilan["meeting_date"])
        workplace = None if bilan["liaison_id"] is None else {
            name: bilan[name] for name in ("company_name", "activity_domain", "service", "tutor_name", "tutor_role")}
        grid["header"] = frozen_header(period_start=_date(bilan["start_date"]), period_end=_date(bilan["end_date"]),
                                       meeting_date=stored, workplace=workplace,
                                       trainers=trainers[bilan["portfolio_id"]])
        await sql.run("UPDATE company_bilan SET meeting_date = ?, frozen_grid = ? WHERE id = ?",
                      sql.date_value(stored or _date(bilan["end_date"])), json.dumps(grid), bilan["id"])


async def _record_reviews(sql: _Sql) -> None:
    from models.bilans import EvaluationMode
    from models.frameworks import AchievementLevel
    from resolvers.bilans.review_record import BilanFacts, CompetenceFacts, build_record

    reviews = await sql.rows("SELECT id FROM interim_review WHERE record IS NULL")
    if not reviews:
        return
    pairs = await sql.rows(
        """SELECT r.interim_review_id AS review_id, b.id, b.meeting_date, b.completed_at, b.engagement, b.frozen_grid,
                  p.id AS period_id, p.name AS period_name, p.end_date, v.framework_id
           FROM interim_review_bilan AS r JOIN company_bilan AS b ON b.id = r.companybilan_id
           JOIN portfolio AS f ON f.id = b.portfolio_id JOIN period AS p ON p.id = f.period_id
           JOIN level AS v ON v.id = p.level_id""")
    bilan_ids = list({row["id"] for row in pairs})
    results: dict[int, dict] = defaultdict(dict)
    if bilan_ids:
        for row in await sql.rows(
                f"""SELECT bilan_id, competence_id, criterion_id, level FROM company_bilan_result
                    WHERE bilan_id IN ({_marks(bilan_ids)}) ORDER BY id""", *bilan_ids):
            results[row["bilan_id"]][(row["competence_id"], row["criterion_id"])] = AchievementLevel(row["level"])
    facts: dict[int, list] = defaultdict(list)
    for row in pairs:
        grid = sql.json_in(row["frozen_grid"]) or {}
        facts[row["review_id"]].append(BilanFacts(
            bilan_id=row["id"], period_id=row["period_id"], period_name=row["period_name"],
            date=_date(row["meeting_date"]) or _date(row["end_date"]), completed_at=_datetime(row["completed_at"]),
            engagement=row["engagement"], framework_id=grid.get("framework_id") or row["framework_id"],
            modes={comp: EvaluationMode(mode) for comp, mode in grid.get("modes", [])},
            results=results[row["id"]]))
    framework_ids = list({f.framework_id for items in facts.values() for f in items if f.framework_id is not None})
    competences: dict[int, list] = defaultdict(list)
    if framework_ids:
        for row in await sql.rows(
                f"""SELECT c.id, c.framework_id, c.code, c.label, u.code AS unit FROM framework_competence AS c
                    LEFT JOIN framework_unit AS u ON u.id = c.unit_id
                    WHERE c.framework_id IN ({_marks(framework_ids)}) ORDER BY c.position, c.id""", *framework_ids):
            competences[row["framework_id"]].append(
                CompetenceFacts(row["id"], row["framework_id"], row["code"], row["label"], row["unit"]))
    for review in reviews:
        record = build_record(facts[review["id"]], competences)
        await sql.run("UPDATE interim_review SET record = ? WHERE id = ?", json.dumps(record), review["id"])


async def backfill(apps, schema_editor) -> None:
    sql = _Sql(schema_editor)
    await _number_fiches(sql)
    await _freeze_completed_bilans(sql)
    await _record_reviews(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0002_foreign_key_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ActivityFiche',
            name='reference',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='InterimReview',
            name='record',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.RunPython(backfill, ops.RunPython.noop),
    ]
