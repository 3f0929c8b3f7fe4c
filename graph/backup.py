"""`pfmp backup DEST` and `pfmp restore SRC`: a consistent copy of an embedded (SQLite) deployment, and back.

A backup folder holds:
- `pfmp.sqlite3`, the database as one instant of it, taken with SQLite's
  online backup API (`sqlite3.Connection.backup`) in one step: it reads the
  live database under one read transaction, so the copy is exactly the
  database as it stood at that instant, while the server keeps serving (its
  writes wait for the copy on a rollback journal, pass by it in WAL mode);
- `annexes/`, the annex files that copy names, in their stored places;
- `backup.json`, what it is: format, when, how many rows and files.

The database is copied first, then the files, and that order is what makes
the pair consistent. An annex file is written, under a generated name, into
the annex folder (its process's `.incoming/` folder, resolvers/fiches/
annex_store.py) before its row is committed, and moved to its stored place
after; once stored, a file never changes. So every file the copied database
names existed before the copy was taken, and is found afterwards at its stored
place, or still in an incoming folder when the copy caught the instant between
the commit and the move. The files are copied by the list of the copied
database, never by listing the folder: an upload committed after the copy is
not in it, nor is its file. Only a file whose annex was deleted after the copy
was taken (its row gone, then its file) can be missing: the backup then says
so and fails, and is to be run again. Files copied the other way round, the
database last, could name rows whose files were never copied.

`restore` brings a backup into a fresh data folder: the one the settings
name (PFMP_DATA_DIR / DATABASE_URL, PFMP_ANNEX_DIR). It refuses a database
that exists or an annex folder that holds files, so it never overwrites a
deployment. The token secret is not in a backup: a restored deployment signs
with its own (or PFMP_TOKEN_SECRET), so tokens issued before it do not work.

An object store (PFMP_STORAGE_URL) is refused too: its own versioning or replication keeps the files (the
README's Backups section). PostgreSQL is refused: its own tools do it better (pg_dump, base backups
with WAL archiving); the README's production section says how, and how to
copy the annex folder with them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from resolvers.fiches.annex_store import INCOMING, STORED_NAME, annex_path

FORMAT = "pfmp-backup/1"
DATABASE_NAME = "pfmp.sqlite3"
ANNEXES = "annexes"
MANIFEST = "backup.json"
POSTGRES_REFUSAL = (
    "pfmp backup and pfmp restore copy the embedded SQLite database; this deployment uses PostgreSQL: "
    "back it up with pg_dump or base backups, and copy the annex folder (README, 'Backups')"
)

S3_REFUSAL = (
    "pfmp backup and pfmp restore copy the local annex folder; this deployment keeps its annexes in an object store "
    "(PFMP_STORAGE_URL): turn on the bucket's versioning or replication instead (README, 'Backups')"
)


class BackupError(Exception):
    """A backup or restore refused or failed, with the reason in one line."""


@dataclass(frozen=True)
class BackupReport:
    rows: dict[str, int]
    files: int
    bytes: int


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite://"):
        raise BackupError(POSTGRES_REFUSAL)
    return Path(database_url.removeprefix("sqlite://"))


def _empty_folder(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _stored_names(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT stored_name FROM annex WHERE kind = 'FILE' AND stored_name IS NOT NULL").fetchall()
        # The scans of bilans signed on paper live in the annex folder too (resolvers/documents/paper.py).
        rows += db.execute("SELECT scan_stored_name FROM company_bilan WHERE scan_stored_name IS NOT NULL").fetchall()
    return [name for (name,) in rows if STORED_NAME.match(name)]


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 (names of our tables)
            for table in ("app_user", "portfolio", "activity_fiche", "annex", "company_bilan", "interim_review")
        }


def _find_file(annex_dir: Path, stored_name: str) -> Path | None:
    """Where a stored file is now: its place, or an incoming folder (committed, not moved yet), or its place
    again (moved while the incoming folders were looked at)."""
    place = annex_path(annex_dir, stored_name)
    if place.is_file():
        return place
    for folder in (annex_dir / INCOMING).glob("*"):
        candidate = folder / stored_name
        if candidate.is_file():
            return candidate
    return place if place.is_file() else None


def backup(database_url: str, annex_dir: Path, destination: Path) -> BackupReport:
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if not _empty_folder(destination):
        raise BackupError(f"{destination} is not empty: give a new or empty folder")
    destination.mkdir(parents=True, exist_ok=True)
    copied = destination / DATABASE_NAME
    taken_at = dt.datetime.now(dt.UTC)
    live = sqlite3.connect(source, timeout=60)
    try:
        with sqlite3.connect(copied) as target:
            live.backup(target)  # pages=-1: in one step, so one instant of the database
    finally:
        live.close()
    files = total = 0
    missing = []
    for stored_name in _stored_names(copied):
        found = _find_file(annex_dir, stored_name)
        if found is None:
            missing.append(stored_name)
            continue
        target_path = annex_path(destination / ANNEXES, stored_name)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target_path)
        files += 1
        total += target_path.stat().st_size
    if missing:
        raise BackupError(
            f"{len(missing)} annex file(s) named by the copied database are gone (annexes deleted during the "
            f"backup): this backup in {destination} is incomplete; run it again into a new folder"
        )
    rows = _counts(copied)
    manifest = {
        "format": FORMAT,
        "takenAt": taken_at.isoformat(timespec="seconds"),
        "rows": rows,
        "annexFiles": files,
        "annexBytes": total,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return BackupReport(rows, files, total)


def restore(source: Path, database_url: str, annex_dir: Path) -> BackupReport:
    target = sqlite_path(database_url)
    try:
        manifest = json.loads((source / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise BackupError(f"{source} is not a finished pfmp backup (no readable {MANIFEST})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    if target.exists() and target.stat().st_size > 0:
        raise BackupError(f"a database already exists at {target}: restore into a fresh data folder")
    stored = [p for p in annex_dir.rglob("*") if p.is_file()] if annex_dir.exists() else []
    if stored:
        raise BackupError(f"{annex_dir} already holds files: restore into a fresh data folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    with sqlite3.connect(source / DATABASE_NAME) as backup_db, sqlite3.connect(partial) as restored:
        backup_db.backup(restored)
    files = total = 0
    for path in sorted((source / ANNEXES).rglob("*")) if (source / ANNEXES).exists() else []:
        if path.is_file() and STORED_NAME.match(path.name):
            place = annex_path(annex_dir, path.name)
            place.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, place)
            files += 1
            total += place.stat().st_size
    os.replace(partial, target)  # the database last: a restore cut short leaves no database to start on
    return BackupReport(_counts(target), files, total)
