"""The `pfmp` command: serve, migrate, export-schema, import-framework, import-roster, import-staff, create-admin,
export-learner-data, purge, backup, restore."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from pathlib import Path

import click

from graph.settings import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro):
    """Run a database task; a database that cannot be reached stops with one line."""
    try:
        return asyncio.run(coro)
    except (ConfigError, click.ClickException):
        raise
    except OSError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.strerror or exc}") from None
    except Exception as exc:  # the driver's own errors have no common base class
        name = type(exc).__name__
        if any(word in name for word in ("Connection", "Operational", "Database", "Postgres", "Auth", "Config")):
            raise click.ClickException(f"cannot use the database ({name}: {str(exc).splitlines()[0]})") from None
        raise


def _check_store(settings: Settings) -> None:
    """The annex store answers with these settings (bucket, credentials, endpoint), or the start stops in one line."""
    from graph.unavailable import StoreUnavailable
    from resolvers.fiches.annex_store import store_for

    try:
        asyncio.run(store_for(settings).check())
    except StoreUnavailable as exc:
        raise click.ClickException(
            f"the annex store cannot be used ({exc}): check PFMP_STORAGE_URL and the credentials"
        ) from None


@click.group()
def main() -> None:
    """Work-placement portfolios (PFMP) GraphQL server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", is_flag=True, help="Fill an empty database with the demo data (not in production).")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Migrate the database, then serve the API with uvicorn."""
    import uvicorn

    from graph.database import prepare_database

    settings = _settings()
    if demo and settings.production:
        raise click.ClickException("--demo is refused when PFMP_ENV=production")
    if workers > 1 and settings.is_sqlite:
        click.echo("note: several workers on SQLite serialise their writes; use PostgreSQL in production", err=True)
        # Live news goes from process to process through PostgreSQL's LISTEN/NOTIFY only (models/live.py).
        click.echo(
            "note: live events (GraphQL subscriptions) need a single worker on SQLite: a subscriber hears only of "
            "the writes its own worker made; use --workers 1, or PostgreSQL",
            err=True,
        )
    _check_store(settings)
    report = _run(prepare_database(settings, demo=demo))
    if report.get("demo_loaded"):
        click.echo("demo data loaded; accounts are listed in the README")
    click.echo(f"GraphQL on http://{host}:{port}/graphql" + (" (GraphiQL in a browser)" if settings.graphiql else ""))
    # Our protocol class sets TCP_NODELAY, which uvicorn's own leaves off with several workers (graph/serving.py).
    # uvicorn's proxy headers stay off: it would believe X-Forwarded-For from 127.0.0.1 whatever the settings;
    # the sign-in throttle reads it only from PFMP_TRUSTED_PROXIES (permissions/throttle.py).
    uvicorn.run(
        "graph.asgi:app",
        host=host,
        port=port,
        workers=workers,
        factory=False,
        log_level="info",
        proxy_headers=False,
        http="graph.serving:NoDelayHTTPProtocol",
    )


@main.command()
def migrate() -> None:
    """Apply pending migrations and load the built-in frameworks."""
    from graph.database import prepare_database

    report = _run(prepare_database(_settings()))
    click.echo(f"database up to date; built-in frameworks changed: {report['frameworks_changed']}")


@main.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL."""
    from graph.schema import schema

    click.echo(schema.as_str())


@main.command("error-reasons")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the table of reasons and messages (the default).")
@click.option(
    "--update",
    "document",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Rewrite the generated part of this file (docs/errors.md) instead.",
)
def error_reasons(as_markdown: bool, document: Path | None) -> None:
    """Every payload error reason and top-level error message, with their French and English messages."""
    from graph.error_reasons import markdown, update

    if document is not None:
        click.echo(f"{document}: {'updated' if update(document) else 'up to date'}")
        return
    click.echo(markdown(), nl=False)


@main.command("import-framework")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "uai", default=None, help="UAI of the school owning it; default: built-in for all schools.")
def import_framework_command(file: Path, uai: str | None) -> None:
    """Import a framework file (format pfmp-framework/1)."""
    from graph.database import apply_migrations, orm
    from models.schools import School
    from resolvers.frameworks.importing import FrameworkFileError, import_framework, parse_framework

    settings = _settings()
    try:
        doc = parse_framework(file.read_text("utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name}: not UTF-8 text") from None
    except FrameworkFileError as exc:
        for where, what in exc.problems:
            click.echo(f"{file.name}: {where}: {what}", err=True)
        raise click.ClickException(f"{file.name} refused: {len(exc.problems)} problem(s), nothing imported") from None

    async def run():
        await apply_migrations(settings.database_url)
        async with orm(settings.database_url):
            school_id = None
            if uai:
                school = await School.get_or_none(uai=uai.upper())
                if school is None:
                    raise click.ClickException(f"no school with UAI {uai}")
                school_id = school.id
            return await import_framework(doc, school_id=school_id)

    result = _run(run())
    state = "created" if result.created else ("updated" if result.changed else "unchanged")
    click.echo(f"{doc['code']}: {state}")


@main.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xml", "csv"], case_sensitive=False),
    default=None,
    help="Default: from the file name's extension.",
)
@click.option("--school", "uai", default=None, help="UAI of the school; needed when the database holds several.")
@click.option("--level", default=None, help="Level of the classrooms the file creates (the CSV column niveau wins).")
@click.option(
    "--provider",
    default=None,
    help="Record each learner's identifier as their identity at this configured identity provider.",
)
def import_roster_command(
    file: Path, fmt: str | None, uai: str | None, level: str | None, provider: str | None
) -> None:
    """Import classrooms and learners from a school-administration export (XML) or a CSV."""
    from resolvers.people.roster import parse_roster
    from resolvers.people.roster_write import apply_roster

    async def write(roster, school_id: int, progress_bar):
        with progress_bar(len(roster.learners), "learners") as bar:
            return await apply_roster(
                roster, school_id=school_id, level_name=level, provider=provider, progress=bar.update
            )

    result = _import_people_file(file, fmt, uai, provider, parse_roster, write)
    click.echo(
        f"learners: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.missing)} missing"
    )
    click.echo(
        f"classrooms: {len(result.classrooms_created)} created, {len(result.classrooms_updated)} updated, "
        f"{len(result.classrooms_unchanged)} unchanged"
    )
    for user in result.missing:
        click.echo(f"missing (kept, not in the file, left on {user.left_at}): {user.last_name} {user.first_name}")


@main.command("import-staff")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xml", "csv"], case_sensitive=False),
    default=None,
    help="Default: from the file name's extension.",
)
@click.option("--school", "uai", default=None, help="UAI of the school; needed when the database holds several.")
@click.option(
    "--provider",
    default=None,
    help="Record each teacher's identifier as their identity at this configured identity provider.",
)
def import_staff_command(file: Path, fmt: str | None, uai: str | None, provider: str | None) -> None:
    """Import teachers and their classrooms from STS-Web's timetable export (XML) or a CSV."""
    from resolvers.people.staff_roster import parse_staff
    from resolvers.people.staff_roster_write import apply_staff

    async def write(roster, school_id: int, progress_bar):
        return await apply_staff(roster, school_id=school_id, provider=provider)

    result = _import_people_file(file, fmt, uai, provider, parse_staff, write)
    click.echo(
        f"teachers: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.missing)} missing"
    )
    for user in result.missing:
        click.echo(f"missing (kept, not in the file): {user.last_name} {user.first_name}")


def _import_people_file(file: Path, fmt: str | None, uai: str | None, provider: str | None, parse, write):
    """What import-roster and import-staff share: the format and provider checks, the file parsed before any
    database work, the one school, one transaction, the warnings; a refused file imports nothing."""
    from tortoise.transactions import in_transaction

    from graph.database import apply_migrations, orm
    from models.schools import School
    from resolvers.people.roster import RosterFileError, RosterFormat

    settings = _settings()
    fmt = (fmt or file.suffix.lstrip(".")).upper()
    if fmt not in ("XML", "CSV"):
        raise click.ClickException(f"{file.name}: say --format xml or --format csv")
    if provider and provider not in settings.identity_providers:
        raise click.ClickException(f"--provider {provider!r} is not a configured identity provider")

    def refuse(problems: list[str]) -> click.ClickException:
        for line in problems:
            click.echo(f"{file.name}: {line}", err=True)
        return click.ClickException(f"{file.name} refused: {len(problems)} problem(s), nothing imported")

    def progress_bar(length: int, label: str):
        return click.progressbar(length=length, label=label, file=sys.stderr)

    try:
        people = parse(file.read_bytes(), RosterFormat(fmt))
    except RosterFileError as exc:
        raise refuse(exc.problems) from None

    async def run():
        await apply_migrations(settings.database_url)
        async with orm(settings.database_url):
            schools = await School.filter(uai=uai.strip().upper()) if uai else await School.all().limit(2)
            if len(schools) != 1:
                raise click.ClickException(
                    f"no school with UAI {uai}" if uai else "several schools (or none): give --school UAI"
                )
            async with in_transaction():
                return await write(people, schools[0].id, progress_bar)

    try:
        result = _run(run())
    except RosterFileError as exc:
        raise refuse(exc.problems) from None
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--school-uai", required=True, help="UAI of the school; created if new (give --school-name).")
@click.option("--school-name", default=None)
@click.option("--password", default=None, help="Read from the terminal when not given.")
def create_admin(
    email: str, first_name: str, last_name: str, school_uai: str, school_name: str | None, password: str | None
) -> None:
    """Create an administrator account (and its school if new)."""
    from tortoise.transactions import in_transaction

    from graph.database import apply_migrations, orm
    from graph.errors import FieldProblem, Reason
    from models import stamps
    from models.schools import School
    from models.users import Role, User
    from permissions.passwords import hash_password, password_weakness

    settings = _settings()
    if password is None:
        password = getpass.getpass("Password: ")
    weakness = password_weakness(password, email=email.strip().lower(), first_name=first_name, last_name=last_name)
    if weakness:
        raise click.ClickException(FieldProblem(None, Reason(weakness[0]), weakness[1]).message("en"))
    uai = school_uai.strip().upper()
    if not (len(uai) == 8 and uai[:7].isdigit() and uai[7].isalpha()):
        raise click.ClickException("--school-uai must be 7 digits and a letter, e.g. 0599999Z")

    async def run():
        await apply_migrations(settings.database_url)
        async with orm(settings.database_url):
            async with in_transaction():
                school = await School.get_or_none(uai=uai)
                if school is None:
                    if not school_name:
                        raise click.ClickException(f"no school with UAI {uai}: give --school-name to create it")
                    school = await School.create(uai=uai, name=school_name)
                if await User.exists(email=email.strip().lower()):
                    raise click.ClickException(f"an account with email {email} already exists")
                await User.create(
                    school=school,
                    role=Role.ADMIN,
                    email=email.strip().lower(),
                    password_hash=hash_password(password),
                    first_name=first_name,
                    last_name=last_name,
                )
                # The school's readers see its administrators (models/stamps.py).
                await stamps.bump(stamps.school_scope(school.id))

    _run(run())
    click.echo(f"administrator {email} created")


@main.command("export-learner-data")
@click.argument("learner")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The ZIP file to write (refused if it exists).",
)
def export_learner_data(learner: str, out: Path) -> None:
    """Write a learner's whole data (access request) as one ZIP: LEARNER is their id (global or a number).

    The same archive as GET /exports/learner-data/{id} answers a school administrator."""
    from graph.database import apply_migrations, orm
    from graph.errors import BadUserInput
    from graph.types.common import decode_id
    from models.users import Role, User
    from permissions.viewer import Viewer
    from resolvers.documents import learner_archive
    from resolvers.fiches.annex_store import store_for

    settings = _settings()
    if learner.isdigit():
        pk = int(learner)
    else:
        try:
            _, pk = decode_id(learner, expected="Learner", field="LEARNER")
        except BadUserInput as exc:
            raise click.ClickException(str(exc.args[0])) from None
    if out.exists():
        raise click.ClickException(f"{out} already exists: choose another file")

    async def run():
        await apply_migrations(settings.database_url)
        async with orm(settings.database_url):
            row = await User.get_or_none(id=pk, role=Role.LEARNER)
            if row is None:
                raise click.ClickException(f"no learner with id {learner}")
            # Run on the server by its operator: the archive as the learner's school administrators get it.
            operator = Viewer(id=0, role=Role.ADMIN, school_id=row.school_id)
            gathered = await learner_archive.gather(operator, row, store_for(settings))
            # Traced as an archive given by no account: the server's operator, on the server itself.
            from models import audit

            await audit.record(
                audit.AuditKind.LEARNER_DATA_ARCHIVE,
                "Learner",
                row.id,
                "pfmp export-learner-data",
                school_id=row.school_id,
            )
            return gathered

    archive = _run(run())
    partial = out.with_name(out.name + ".part")
    try:
        target = partial.open("xb")
    except FileExistsError:
        raise click.ClickException(f"{partial} exists (another export under way, or one cut short)") from None
    try:
        with target:
            for piece in learner_archive.stream(archive):
                target.write(piece)
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(f"{out}: data of {' '.join(archive.learner_names)}, {len(archive.files)} annex file(s)")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be erased: learners, rows and files.")
@click.option("--school", "uai", default=None, help="UAI of one school; default: every school, each by its policy.")
def purge(dry_run: bool, uai: str | None) -> None:
    """Erase the personal data of the learners past their school's retention policy (docs/stewardship.md, part 2):
    each learner in one transaction, their files removed after it commits and looked up again."""
    import datetime as dt

    from graph.database import apply_migrations, orm
    from models.schools import School
    from resolvers.fiches.annex_store import store_for
    from resolvers.stewardship import erasure

    settings = _settings()
    today = dt.date.today()
    if not dry_run:
        _check_store(settings)

    def say_erased(candidate: erasure.Candidate) -> None:
        click.echo(_erasure_line("erased", candidate))

    async def run():
        await apply_migrations(settings.database_url)
        async with orm(settings.database_url):
            school_ids = None
            if uai:
                school = await School.get_or_none(uai=uai.strip().upper())
                if school is None:
                    raise click.ClickException(f"no school with UAI {uai}")
                school_ids = [school.id]
            if dry_run:
                return await erasure.dry_run(today, school_ids)
            try:
                return await erasure.purge(today, store_for(settings), school_ids, on_erased=say_erased)
            except erasure.PurgeStopped as exc:
                raise click.ClickException(
                    f"purge stopped: the erasure of learner {exc.learner.id} failed ({type(exc.cause).__name__}) "
                    "and was rolled back whole; the learners listed above are erased, the others are untouched"
                ) from None

    schools = _run(run())
    verb = "would erase" if dry_run else "erased"
    erased = held = files = left = 0
    for school in schools:
        policy = school.school
        click.echo(
            f"school {policy.uai} {policy.name}: portfolios and evaluations kept {policy.retention_school_years} "
            "school year(s) after the one the learner left in (to 31 August); audit entries "
            f"{policy.audit_retention_days} days; allowance statements {policy.allowance_retention_years} years "
            "with the names"
        )
        for candidate in school.candidates:
            if candidate.open_period:
                held += 1
                click.echo(
                    f"  kept (open period): learner {candidate.learner.id} {candidate.learner.last_name} "
                    f"{candidate.learner.first_name}, left {candidate.left_at}, kept until {candidate.kept_until}"
                )
                continue
            erased += 1
            files += len(candidate.plan.files) if candidate.plan else 0
            left += len(candidate.files_left)
            if dry_run:
                click.echo(_erasure_line(verb, candidate))
        for name, count in school.rows.items():
            click.echo(f"  {name}: {count} {'would change' if dry_run else 'changed'}")
    click.echo(
        f"{erased} learner(s) {'to erase' if dry_run else 'erased'}, {held} kept for an open period, {files} file(s) "
        + ("to remove" if dry_run else f"removed, {left} still in the store")
    )
    if left:
        raise click.ClickException(f"{left} file(s) are still in the annex store: run the purge again")


def _erasure_line(verb: str, candidate) -> str:
    learner, plan = candidate.learner, candidate.plan
    rows = ", ".join(f"{name} {count}" for name, count in plan.rows.items())
    return (
        f"  {verb}: learner {learner.id} {learner.last_name} {learner.first_name}, left {candidate.left_at}, "
        f"kept until {candidate.kept_until}: {rows}; files {len(plan.files)}"
    )


@main.command()
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Copy the SQLite database (online, while the server runs) and its annex files into DESTINATION, a new or
    empty folder. On PostgreSQL, use pg_dump or base backups (README, 'Backups')."""
    from graph.backup import S3_REFUSAL, BackupError
    from graph.backup import backup as take_backup

    settings = _settings()
    if settings.storage is not None:
        raise click.ClickException(S3_REFUSAL)
    try:
        report = take_backup(settings.database_url, settings.annex_dir, destination)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backup in {destination}: {report.rows['activity_fiche']} fiches, {report.rows['annex']} annexes, "
        f"{report.files} annex files ({report.bytes} bytes)"
    )


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Bring a backup made by `pfmp backup` into the configured data folder, which must be fresh (no database,
    no annex file). Stop the server first; start it on the restored folder afterwards."""
    from graph.backup import S3_REFUSAL, BackupError
    from graph.backup import restore as bring_back

    settings = _settings()
    if settings.storage is not None:
        raise click.ClickException(S3_REFUSAL)
    try:
        report = bring_back(source, settings.database_url, settings.annex_dir)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored from {source}: {report.rows['activity_fiche']} fiches, {report.rows['annex']} annexes, "
        f"{report.files} annex files ({report.bytes} bytes)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
