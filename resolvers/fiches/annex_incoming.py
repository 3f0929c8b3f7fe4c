"""Uploads in flight: copied into this process's own folder, moved among the stored annexes once their row is
committed, and recovered at start-up after a crash.

A process killed (SIGKILL, out of memory, power cut) between copying an upload
and committing its row used to leave a file that no row names among the stored
annexes. Now each process copies uploads into `<annex_dir>/.incoming/<random>/`,
a folder it holds an exclusive `flock` on for as long as it lives: the kernel
drops the lock when the process dies, however it dies. A file moves to its
stored place (annex_files.annex_path) only after its row is committed.

At start-up, every incoming folder whose lock can be taken belongs to a dead
process. A file in it that a committed row names is moved into place (the
process died between the commit and the move); any other file is an upload
that never committed, and is removed; then the folder goes. Folders of live
processes (other workers, other instances on the same folder) stay locked and
untouched.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
from pathlib import Path

from models.fiches import Annex, AnnexKind
from resolvers.fiches.annex_files import STORED_NAME, annex_path

log = logging.getLogger("pfmp.annexes")

INCOMING = ".incoming"
# annex_dir → (this process's folder, the descriptor holding its lock)
_OWN: dict[Path, tuple[Path, int]] = {}


def _try_lock(folder: Path) -> int | None:
    """A descriptor holding the folder's exclusive lock, or None when a live process holds it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def incoming_folder(annex_dir: Path) -> Path:
    """This process's folder for uploads in flight (created and locked on first use)."""
    if annex_dir in _OWN:
        return _OWN[annex_dir][0]
    root = annex_dir / INCOMING
    root.mkdir(parents=True, exist_ok=True)
    while True:
        folder = root / secrets.token_hex(8)
        folder.mkdir()
        fd = _try_lock(folder)
        # Another process's recovery may take a new folder for a dead one between mkdir and flock:
        # keep it only if it is still there and still ours.
        if fd is not None and folder.exists() and os.stat(folder).st_ino == os.fstat(fd).st_ino:
            _OWN[annex_dir] = (folder, fd)
            return folder
        if fd is not None:
            os.close(fd)


def release_incoming(annex_dir: Path) -> None:
    """At shutdown: drop this process's folder (empty once every request has finished) and its lock."""
    own = _OWN.pop(annex_dir, None)
    if own is not None:
        folder, fd = own
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def move_into_place(path: Path, annex_dir: Path) -> Path:
    """Move a committed upload from an incoming folder to its stored place (same file system: atomic)."""
    target = annex_path(annex_dir, path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


async def recover_incoming(annex_dir: Path) -> tuple[int, int]:
    """Finish or undo the uploads of dead processes; (files moved into place, files removed)."""
    root = annex_dir / INCOMING
    if not root.is_dir():
        return 0, 0
    own = _OWN.get(annex_dir, (None, None))[0]
    moved = removed = 0
    for folder in sorted(root.iterdir()):
        if folder == own or not folder.is_dir():
            continue
        fd = _try_lock(folder)
        if fd is None:
            continue
        try:
            files = [p for p in folder.iterdir() if p.is_file()]
            names = [p.name for p in files if STORED_NAME.match(p.name)]
            committed = (
                set(
                    await Annex.filter(stored_name__in=names, kind=AnnexKind.FILE).values_list("stored_name", flat=True)
                )
                if names
                else set()
            )
            for path in files:
                if path.name in committed and not annex_path(annex_dir, path.name).exists():
                    move_into_place(path, annex_dir)
                    moved += 1
                else:
                    path.unlink(missing_ok=True)
                    removed += 1
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
    if moved or removed:
        log.warning("uploads interrupted by a crash: %d moved into place, %d partial files removed", moved, removed)
    return moved, removed
