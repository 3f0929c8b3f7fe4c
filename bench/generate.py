"""Fill an empty database at school or academy scale, for the load benchmarks (bench/load.py).

    /tmp/venv/bin/python bench/generate.py --scale school --database-url sqlite:///tmp/school.sqlite3
    /tmp/venv/bin/python bench/generate.py --scale academy --database-url postgres://postgres@127.0.0.1:5432/pfmp

school: 1 school, 3 levels (two Bac Pro MELEC, one CAP Électricien), 12 classrooms, 360 learners, 4 periods
per level, 6 fiches per portfolio, bilans of periods 1-3 completed and those of period 4 being entered
(bench/dataset.py says what each school holds). academy: 50 such schools, PostgreSQL only.

The database is migrated and the built-in frameworks loaded first (graph.database); it must hold no school
yet. Rows are written raw, with the primary keys chosen here: COPY on PostgreSQL (then the sequences are moved
past them and the tables analysed, as autovacuum would), executemany in one transaction on SQLite. The periods
belong to the last complete school year (default: the current one minus one), so every period is over. All
accounts share the demo password (resolvers/demo.py). The same seed gives the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tortoise import connections  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from bench.dataset import COLUMNS, Ids, Scale, SchoolRows  # noqa: E402
from graph.database import apply_migrations, orm  # noqa: E402
from graph.settings import normalize_database_url  # noqa: E402
from models import stamps  # noqa: E402
from models.bilans import InterimReview  # noqa: E402
from models.frameworks import Framework  # noqa: E402
from models.schools import School  # noqa: E402
from permissions.passwords import hash_password  # noqa: E402
from resolvers.bilans.dashboard import review_record  # noqa: E402
from resolvers.bilans.grid import load_framework_shapes  # noqa: E402
from resolvers.demo import DEMO_PASSWORD, current_school_year  # noqa: E402
from resolvers.frameworks.importing import load_builtin_frameworks  # noqa: E402

SCHOOLS = {"school": 1, "academy": 50}


class GenerationError(Exception):
    """The generator cannot run on this database; the message says why."""


class _SqliteWriter:
    """executemany per table, everything in one transaction."""

    async def __aenter__(self):
        self._transaction = in_transaction()
        self.connection = await self._transaction.__aenter__()
        return self

    async def write(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
        await self.connection.execute_many(sql, rows)

    async def __aexit__(self, *exc) -> None:
        await self._transaction.__aexit__(*exc)


class _PostgresWriter:
    """COPY per table on one connection, in one transaction; then sequences and statistics."""

    async def __aenter__(self):
        self._acquired = connections.get("default").acquire_connection()
        self.connection = await self._acquired.__aenter__()
        self._transaction = self.connection.transaction()
        await self._transaction.start()
        return self

    async def write(self, table: str, rows: list[tuple]) -> None:
        await self.connection.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                await self._transaction.rollback()
                return
            await self._transaction.commit()
            for table, columns in COLUMNS.items():
                if "id" in columns:
                    await self.connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'COALESCE((SELECT max(id) FROM "{table}"), 1))'
                    )
            await self.connection.execute("ANALYZE")
        finally:
            await self._acquired.__aexit__(exc_type, exc, tb)


async def generate(
    database_url: str,
    scale: str = "school",
    *,
    learners_per_classroom: int = 30,
    seed: int = 2026,
    school_year: int | None = None,
    schools: int | None = None,
    report=print,
) -> Counter:
    """Fill the database; answers the number of rows written per table."""
    url = normalize_database_url(database_url)
    sqlite = url.startswith("sqlite://")
    if scale not in SCHOOLS:
        raise GenerationError(f"unknown scale {scale!r}: school or academy")
    if scale == "academy" and sqlite:
        raise GenerationError("the academy scale needs PostgreSQL (50 schools do not belong in one SQLite file)")
    count = schools or SCHOOLS[scale]
    year = school_year if school_year is not None else current_school_year(dt.date.today()) - 1
    started = time.perf_counter()
    await apply_migrations(url)
    written: Counter = Counter()
    async with orm(url):
        await load_builtin_frameworks()
        if await School.exists():
            raise GenerationError("the database already holds a school: give an empty one")
        frameworks = {row.code: row.id for row in await Framework.filter(school_id=None)}
        shapes_by_id = await load_framework_shapes(frameworks.values())
        shapes = {code: shapes_by_id[pk] for code, pk in frameworks.items()}
        prepared = time.perf_counter()
        ids, password = Ids(), hash_password(DEMO_PASSWORD)
        scale_spec = Scale(learners_per_classroom=learners_per_classroom)
        building = writing = 0.0
        async with _SqliteWriter() if sqlite else _PostgresWriter() as writer:
            for index in range(count):
                mark = time.perf_counter()
                tables = SchoolRows(index, seed, ids, shapes, year, password, scale_spec).build()
                building += time.perf_counter() - mark
                mark = time.perf_counter()
                for table in COLUMNS:
                    if tables.get(table):
                        await writer.write(table, tables[table])
                        written[table] += len(tables[table])
                writing += time.perf_counter() - mark
                if count > 1 and (index + 1) % 10 == 0:
                    report(f"  {index + 1}/{count} schools, {sum(written.values()):,} rows")
        # Each interim review keeps the record of what it consolidated, built as interimReviewCreate builds it.
        for review in await InterimReview.filter(record__isnull=True):
            _, review.record = await review_record(review.learner_id, review.review_date)
            await review.save(update_fields=["record"])
        # Every reader's cached answers start afresh (models/stamps.py): the global stamp is in every key.
        await stamps.bump(stamps.GLOBAL)
        finished = time.perf_counter()
    report(
        f"{count} school(s), school year {year}-{year + 1}, seed {seed}, "
        f"{learners_per_classroom} learners per classroom"
    )
    for table in COLUMNS:
        report(f"  {table:30} {written[table]:>10,}")
    report(f"  {'total':30} {sum(written.values()):>10,}")
    report(
        f"time: {finished - started:.1f} s (migrations and frameworks {prepared - started:.1f} s, "
        f"building rows {building:.1f} s, writing {writing:.1f} s, commit/sequences/analyse "
        f"{finished - prepared - building - writing:.1f} s)"
    )
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCHOOLS), default="school")
    parser.add_argument("--database-url", required=True, help="sqlite://PATH or postgres://… of an empty database")
    parser.add_argument("--learners-per-classroom", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--school-year",
        type=int,
        default=None,
        help="first calendar year of the periods' school year (default: the last complete one)",
    )
    parser.add_argument("--schools", type=int, default=None, help="override the number of schools of the scale")
    arguments = parser.parse_args()
    if arguments.learners_per_classroom < 1:
        parser.error("--learners-per-classroom must be at least 1")
    try:
        asyncio.run(
            generate(
                arguments.database_url,
                arguments.scale,
                learners_per_classroom=arguments.learners_per_classroom,
                seed=arguments.seed,
                school_year=arguments.school_year,
                schools=arguments.schools,
            )
        )
    except GenerationError as exc:
        sys.exit(f"generate: {exc}")


if __name__ == "__main__":
    main()
