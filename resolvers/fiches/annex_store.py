"""Where annex files live (R16): one interface, two back ends, chosen by `PFMP_STORAGE_URL` (graph/settings.py).

- `LocalStore`, the embedded default: the folder `PFMP_ANNEX_DIR`, a file per annex at `<ab>/<stored name>`
  (two-character folders keep any one folder small).
- `S3Store`: an S3-compatible object store (AWS, MinIO, Ceph RGW, SeaweedFS, Garage), an object per annex at
  `<prefix>/<ab>/<stored name>`, written and read through `obstore`.

Both keep the same crash guarantees. An upload is written, as its body arrives, under this process's own
incoming place (`.incoming/<process>/<stored name>`), and claimed to its stored place only once its row is
committed; whatever fails before leaves nothing (the part is removed, or the multipart upload aborted). What a
killed process leaves behind is swept at start-up (`sweep`):
- the local folder knows which incoming folders belong to live processes: each holds an exclusive `flock` on
  its own, which the kernel drops when the process dies, however it dies;
- an object store has no locks: an incoming object, and an incomplete multipart upload, is swept only once
  older than an age threshold (`PFMP_STORAGE_SWEEP_AGE`, an hour by default: far longer than an upload takes),
  so one host never removes another host's upload in flight.
An incoming file that a committed row names is claimed (its process died between the commit and the claim);
any other is removed. An annex deleted has its file removed after the commit; a removal that fails (or a
process killed in between) leaves a stored file that no row names, which the same sweep removes once older
than the threshold (stored files are only ever claimed after their row committed, so one without a row is
garbage). The store's prefix (or folder) belongs to one deployment: the sweep trusts the database to name
every file it should keep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import logging
import os
import re
import secrets
import shutil
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

import obstore
from obstore.exceptions import BaseError as ObstoreError
from obstore.exceptions import NotFoundError
from obstore.store import S3Store as ObstoreS3

from graph.settings import S3Location, Settings
from graph.unavailable import StoreUnavailable
from models.bilans import CompanyBilan
from models.fiches import Annex, AnnexKind

log = logging.getLogger("pfmp.annexes")

STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
INCOMING = ".incoming"
# Rows asked at once by the sweep.
SWEEP_BATCH = 500
# Multipart parts of an upload to the object store: S3's smallest part is 5 MiB. With two parts in flight at most,
# an upload holds about 3 parts in memory whatever its size (the budget of bench/upload_bench.py is 50 MB).
PART_SIZE = 6 * 1024 * 1024
PARTS_IN_FLIGHT = 2
READ_CHUNK = 256 * 1024


def annex_path(annex_dir: Path, stored_name: str) -> Path:
    """Where a stored name lives in the local folder."""
    if not STORED_NAME.match(stored_name):
        raise ValueError("not a stored annex name")
    return annex_dir / stored_name[:2] / stored_name


def stored_key(stored_name: str) -> str:
    """Where a stored name lives, relative to the store's root (the same layout in both back ends)."""
    if not STORED_NAME.match(stored_name):
        raise ValueError("not a stored annex name")
    return f"{stored_name[:2]}/{stored_name}"


@dataclass(frozen=True)
class StoredInfo:
    size: int
    modified: dt.datetime | None
    etag: str | None


@dataclass
class SweepReport:
    claimed: int = 0  # committed uploads moved to their place
    removed: int = 0  # uploads that never committed
    orphans: int = 0  # stored files no row names (a deletion that did not finish)
    aborted: int = 0  # incomplete multipart uploads

    def __bool__(self) -> bool:
        return bool(self.claimed or self.removed or self.orphans or self.aborted)


class Incoming(ABC):
    """One upload in flight, written under this process's incoming place."""

    name: str

    @abstractmethod
    async def write(self, batch: bytes | bytearray) -> None: ...

    @abstractmethod
    async def finish(self) -> None:
        """Everything written is stored (still under the incoming place)."""

    @abstractmethod
    def discard(self) -> None:
        """Remove what was written. Synchronous on purpose: it must run even while the task is being cancelled;
        what it cannot do at once is scheduled (`settled` waits for it) or left to the sweep."""

    async def settled(self) -> None:  # noqa: B027 (nothing to wait for unless a back end schedules work)
        """Wait for what `discard` scheduled."""

    @abstractmethod
    def reader(self) -> IO[bytes]:
        """A seekable reader of what was written (blocking: run it in a thread), for the content check of ZIPs."""


class AnnexStore(ABC):
    kind: str

    @abstractmethod
    def incoming(self) -> Incoming:
        """A new upload under a generated stored name."""

    @abstractmethod
    async def claim(self, name: str) -> None:
        """Move a committed upload from this process's incoming place to its stored place."""

    @abstractmethod
    async def drop_incoming(self, name: str) -> None:
        """Remove an upload whose row was not committed."""

    @abstractmethod
    async def stat(self, name: str) -> StoredInfo | None:
        """The stored file's size and dates; None when there is none. StoreUnavailable when out of reach."""

    @abstractmethod
    def read(self, name: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` (exclusive) of a stored file, in pieces."""

    @abstractmethod
    def open_sync(self, name: str) -> IO[bytes] | None:
        """A blocking reader of a stored file (run it in a thread), or None when there is none."""

    def local_path(self, name: str) -> Path | None:
        """The file on this host's disk, for a back end that has one."""
        return None

    @abstractmethod
    async def delete(self, names: list[str]) -> None:
        """Remove stored files after their rows were deleted; a failure is logged, and the sweep removes them."""

    @abstractmethod
    async def check(self) -> None:
        """Raise StoreUnavailable when the store cannot be used (the health check, and the start)."""

    @abstractmethod
    async def sweep(self, older_than: float) -> SweepReport:
        """Finish or undo the uploads of dead processes, and remove stored files no row names (see the module)."""

    def release(self) -> None:  # noqa: B027 (nothing to release unless a back end holds something)
        """At shutdown: what this process holds."""


async def _committed(names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), SWEEP_BATCH):
        batch = names[start : start + SWEEP_BATCH]
        rows = await Annex.filter(stored_name__in=batch, kind=AnnexKind.FILE).values_list("stored_name", flat=True)
        found.update(str(name) for name in rows)
        # The scans of bilans signed on paper live in the same store (resolvers/bilans/paper.py).
        scans = await CompanyBilan.filter(scan_stored_name__in=batch).values_list("scan_stored_name", flat=True)
        found.update(str(name) for name in scans)
    return found


def _log_sweep(report: SweepReport, where: str) -> SweepReport:
    if report:
        log.warning(
            "annex sweep of %s: %d committed uploads claimed, %d partial uploads removed, %d files without a row "
            "removed, %d incomplete multipart uploads aborted",
            where,
            report.claimed,
            report.removed,
            report.orphans,
            report.aborted,
        )
    return report


# ---- the local folder ----


class _LocalIncoming(Incoming):
    def __init__(self, folder: Path) -> None:
        self.name = secrets.token_hex(16)
        self.path = folder / self.name
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)

    async def write(self, batch: bytes | bytearray) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._write, batch)

    def _write(self, batch: bytes | bytearray) -> None:
        with self._lock:  # the descriptor stays open, and its number ours, while the batch is written
            if self._fd is None:
                return
            view = memoryview(batch)
            while view:
                view = view[os.write(self._fd, view) :]

    async def finish(self) -> None:
        self._close()

    def discard(self) -> None:
        """A batch being written when the task was cancelled ends on the unlinked file, one queued is dropped."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove the partial annex file %s", self.name)
        self._close()

    def _close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def reader(self) -> IO[bytes]:
        return self.path.open("rb")


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


class LocalStore(AnnexStore):
    kind = "local"
    # annex_dir → (this process's incoming folder, the descriptor holding its lock)
    _own: dict[Path, tuple[Path, int]] = {}

    def __init__(self, annex_dir: Path) -> None:
        self.annex_dir = annex_dir

    def incoming_folder(self) -> Path:
        """This process's folder for uploads in flight (created and locked on first use)."""
        own = LocalStore._own.get(self.annex_dir)
        if own is not None:
            return own[0]
        root = self.annex_dir / INCOMING
        root.mkdir(parents=True, exist_ok=True)
        while True:
            folder = root / secrets.token_hex(8)
            folder.mkdir()
            fd = _try_lock(folder)
            # Another process's recovery may take a new folder for a dead one between mkdir and flock:
            # keep it only if it is still there and still ours.
            if fd is not None and folder.exists() and os.stat(folder).st_ino == os.fstat(fd).st_ino:
                LocalStore._own[self.annex_dir] = (folder, fd)
                return folder
            if fd is not None:
                os.close(fd)

    def release(self) -> None:
        own = LocalStore._own.pop(self.annex_dir, None)
        if own is not None:
            folder, fd = own
            shutil.rmtree(folder, ignore_errors=True)
            os.close(fd)

    def incoming(self) -> Incoming:
        return _LocalIncoming(self.incoming_folder())

    def _move_into_place(self, path: Path) -> None:
        target = annex_path(self.annex_dir, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)  # same file system: atomic

    async def claim(self, name: str) -> None:
        self._move_into_place(self.incoming_folder() / name)

    async def drop_incoming(self, name: str) -> None:
        (self.incoming_folder() / name).unlink(missing_ok=True)

    def local_path(self, name: str) -> Path | None:
        return annex_path(self.annex_dir, name)

    async def stat(self, name: str) -> StoredInfo | None:
        try:
            result = await asyncio.to_thread(os.stat, annex_path(self.annex_dir, name))
        except (ValueError, OSError):
            return None
        return StoredInfo(result.st_size, dt.datetime.fromtimestamp(result.st_mtime, dt.UTC), None)

    async def read(self, name: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(annex_path(self.annex_dir, name).open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(READ_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    def open_sync(self, name: str) -> IO[bytes] | None:
        try:
            return annex_path(self.annex_dir, name).open("rb")
        except (ValueError, FileNotFoundError):
            return None

    async def delete(self, names: list[str]) -> None:
        for name in names:
            try:
                await asyncio.to_thread(annex_path(self.annex_dir, name).unlink, True)
            except (ValueError, OSError):
                log.exception("could not remove the annex file %s (the next start-up's sweep will)", name)

    async def check(self) -> None:
        if not await asyncio.to_thread(os.access, self.annex_dir, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"the annex folder {self.annex_dir} is not writable")

    async def sweep(self, older_than: float) -> SweepReport:
        report = SweepReport()
        claimed, removed = await self.recover_incoming()
        report.claimed, report.removed = claimed, removed
        cutoff = time.time() - older_than
        stored: list[Path] = []
        if self.annex_dir.is_dir():
            for folder in self.annex_dir.iterdir():
                if folder.name == INCOMING or not folder.is_dir():
                    continue
                stored += [p for p in folder.iterdir() if STORED_NAME.match(p.name) and p.stat().st_mtime < cutoff]
        if stored:
            keep = await _committed([p.name for p in stored])
            for path in stored:
                if path.name not in keep:
                    path.unlink(missing_ok=True)
                    report.orphans += 1
        return _log_sweep(report, str(self.annex_dir))

    async def recover_incoming(self) -> tuple[int, int]:
        """Finish or undo the uploads of dead processes (their folders' locks free); (claimed, removed)."""
        root = self.annex_dir / INCOMING
        if not root.is_dir():
            return 0, 0
        own = LocalStore._own.get(self.annex_dir, (None, None))[0]
        moved = removed = 0
        for folder in sorted(root.iterdir()):
            if folder == own or not folder.is_dir():
                continue
            fd = _try_lock(folder)
            if fd is None:
                continue
            try:
                files = [p for p in folder.iterdir() if p.is_file()]
                committed = await _committed([p.name for p in files if STORED_NAME.match(p.name)])
                for path in files:
                    if path.name in committed and not annex_path(self.annex_dir, path.name).exists():
                        self._move_into_place(path)
                        moved += 1
                    else:
                        path.unlink(missing_ok=True)
                        removed += 1
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        return moved, removed


# ---- S3-compatible object storage ----


class _Abort(Exception):
    """Given to the writer's __aexit__: obstore aborts the multipart upload when it leaves with an exception."""


def _unavailable(exc: BaseException, what: str) -> StoreUnavailable:
    # obstore's messages name the endpoint and the key, never credentials; they stay in the log.
    log.warning("object store unavailable (%s): %s: %s", what, type(exc).__name__, str(exc).splitlines()[0:1])
    return StoreUnavailable(what)


class _ObjectReader(io.RawIOBase):
    """obstore's blocking reader as the file object zipfile and the archive expect (bytes, not obstore's Bytes)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return bytes(self._inner.read() if size is None or size < 0 else self._inner.read(size))

    def readall(self) -> bytes:
        return bytes(self._inner.readall())

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        self._inner.close()
        super().close()


class _S3Incoming(Incoming):
    def __init__(self, store: S3Store) -> None:
        self.name = secrets.token_hex(16)
        self.store = store
        self.key = f"{store.incoming_prefix}{self.name}"
        self._writer = obstore.open_writer_async(
            store.client, self.key, buffer_size=PART_SIZE, max_concurrency=PARTS_IN_FLIGHT
        )
        self._finished = False
        self._cleanup: asyncio.Task[None] | None = None

    async def write(self, batch: bytes | bytearray) -> None:
        try:
            await self._writer.write(bytes(batch))
        except Exception as exc:
            raise _unavailable(exc, "upload") from None

    async def finish(self) -> None:
        try:
            await self._writer.close()
        except Exception as exc:
            raise _unavailable(exc, "upload") from None
        self._finished = True

    def discard(self) -> None:
        if self._cleanup is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to abort on: the sweep aborts it once old enough
        self._cleanup = loop.create_task(self._discard())

    async def _discard(self) -> None:
        try:
            if self._finished:
                await obstore.delete_async(self.store.client, self.key)
            else:
                await self._writer.__aexit__(_Abort, _Abort(), None)
        except Exception:
            log.warning("could not abort the upload %s (the sweep will)", self.name, exc_info=True)

    async def settled(self) -> None:
        if self._cleanup is not None:
            await asyncio.shield(self._cleanup)

    def reader(self) -> IO[bytes]:
        return _ObjectReader(obstore.open_reader(self.store.client, self.key))  # type: ignore[return-value]


def _sign(method: str, url: str, location: S3Location, body: bytes = b"") -> dict[str, str]:
    """AWS Signature Version 4 headers, for the few calls obstore does not make (multipart listing, bucket creation)."""
    parts = urlsplit(url)
    now = dt.datetime.now(dt.UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    digest = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": digest, "x-amz-date": stamp}
    if location.session_token:
        headers["x-amz-security-token"] = location.session_token
    pairs = []
    for item in parts.query.split("&") if parts.query else []:
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            names,
            digest,
        ]
    )
    scope = f"{day}/{location.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + location.secret_access_key).encode()
    for piece in (day, location.region, "s3", "aws4_request"):
        key = hmac.new(key, piece.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={location.access_key_id}/{scope}, SignedHeaders={names}, Signature={signature}"
    )
    return headers


def bucket_url(location: S3Location) -> str:
    if location.endpoint:
        return f"{location.endpoint.rstrip('/')}/{location.bucket}"
    return f"https://{location.bucket}.s3.{location.region}.amazonaws.com"


def s3_request(method: str, location: S3Location, query: str = "", body: bytes = b"", timeout: float = 10) -> bytes:
    """One signed request on the bucket (blocking: run it in a thread)."""
    url = bucket_url(location) + "/" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, data=body or None, method=method, headers=_sign(method, url, location, body))
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (our endpoint, http or https)
        return response.read()


_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Store(AnnexStore):
    kind = "s3"

    def __init__(self, location: S3Location) -> None:
        self.location = location
        config: dict[str, Any] = {
            "region": location.region,
            "access_key_id": location.access_key_id,
            "secret_access_key": location.secret_access_key,
        }
        if location.session_token:
            config["token"] = location.session_token
        if location.endpoint:
            config["endpoint"] = location.endpoint
        self.client = ObstoreS3(
            location.bucket,
            prefix=location.prefix or None,
            config=config,  # type: ignore[arg-type]
            client_options={
                "allow_http": location.endpoint.startswith("http://"),
                "connect_timeout": "3s",
                "timeout": "60s",
            },
            # Out of reach, an answer in seconds rather than minutes: the client is told to retry (503).
            retry_config={
                "max_retries": 2,
                "retry_timeout": dt.timedelta(seconds=5),
                "backoff": {
                    "init_backoff": dt.timedelta(milliseconds=100),
                    "max_backoff": dt.timedelta(seconds=1),
                    "base": 2,
                },
            },
        )
        # This process's incoming place: random, so two processes (or hosts) never share one.
        self.incoming_prefix = f"{INCOMING}/{secrets.token_hex(8)}/"

    def _full(self, key: str) -> str:
        """A key as the bucket knows it (with the prefix), for the calls made without obstore."""
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def incoming(self) -> Incoming:
        return _S3Incoming(self)

    async def claim(self, name: str) -> None:
        try:
            await obstore.copy_async(self.client, f"{self.incoming_prefix}{name}", stored_key(name))
            await obstore.delete_async(self.client, f"{self.incoming_prefix}{name}")
        except Exception as exc:
            raise _unavailable(exc, "claim") from None

    async def drop_incoming(self, name: str) -> None:
        try:
            await obstore.delete_async(self.client, f"{self.incoming_prefix}{name}")
        except Exception:
            log.warning("could not remove the upload %s (the sweep will)", name, exc_info=True)

    async def stat(self, name: str) -> StoredInfo | None:
        try:
            meta = await obstore.head_async(self.client, stored_key(name))
        except (ValueError, FileNotFoundError, NotFoundError):
            return None
        except Exception as exc:
            raise _unavailable(exc, "stat") from None
        return StoredInfo(meta["size"], meta["last_modified"], meta.get("e_tag"))

    async def read(self, name: str, start: int, end: int) -> AsyncIterator[bytes]:
        if end <= start:
            return
        try:
            result = await obstore.get_async(self.client, stored_key(name), options={"range": (start, end)})
        except Exception as exc:
            raise _unavailable(exc, "read") from None
        async for chunk in result.stream(min_chunk_size=READ_CHUNK):
            yield bytes(chunk)

    def open_sync(self, name: str) -> IO[bytes] | None:
        try:
            return _ObjectReader(obstore.open_reader(self.client, stored_key(name)))  # type: ignore[return-value]
        except (ValueError, FileNotFoundError, NotFoundError):
            return None
        except Exception as exc:
            raise _unavailable(exc, "read") from None

    async def delete(self, names: list[str]) -> None:
        keys = [stored_key(n) for n in names if STORED_NAME.match(n)]
        if not keys:
            return
        try:
            await obstore.delete_async(self.client, keys)
        except Exception:
            log.exception("could not remove the annex objects %s (the sweep will)", ", ".join(names))

    async def check(self) -> None:
        try:
            await obstore.list_with_delimiter_async(self.client, INCOMING)
        except Exception as exc:
            raise _unavailable(exc, "check") from None

    async def sweep(self, older_than: float) -> SweepReport:
        try:
            return await self._sweep(older_than)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if isinstance(exc, ObstoreError):
                raise _unavailable(exc, "sweep") from None
            raise

    async def _sweep(self, older_than: float) -> SweepReport:
        report = SweepReport()
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
        old_incoming: list[str] = []
        old_stored: list[str] = []
        async for chunk in obstore.list(self.client, chunk_size=1000):
            for meta in chunk:
                key = meta["path"]
                name = key.rsplit("/", 1)[-1]
                if meta["last_modified"] >= cutoff or not STORED_NAME.match(name):
                    continue
                if key.startswith(INCOMING + "/"):
                    if not key.startswith(self.incoming_prefix):
                        old_incoming.append(key)
                elif key == stored_key(name):
                    old_stored.append(name)
        committed = await _committed([k.rsplit("/", 1)[-1] for k in old_incoming])
        for key in old_incoming:
            name = key.rsplit("/", 1)[-1]
            if name in committed and await self.stat(name) is None:
                await obstore.copy_async(self.client, key, stored_key(name))
                report.claimed += 1
            else:
                report.removed += 1
            await obstore.delete_async(self.client, key)
        keep = await _committed(old_stored)
        orphans = [stored_key(n) for n in old_stored if n not in keep]
        if orphans:
            await obstore.delete_async(self.client, orphans)
            report.orphans = len(orphans)
        report.aborted = await asyncio.to_thread(self._abort_multipart, cutoff)
        return _log_sweep(report, f"s3://{self.location.bucket}/{self.location.prefix}")

    def _abort_multipart(self, cutoff: dt.datetime) -> int:
        """Abort the incomplete multipart uploads under the incoming places that began before `cutoff`."""
        prefix = self._full(INCOMING + "/")
        aborted = 0
        try:
            listing = ElementTree.fromstring(
                s3_request("GET", self.location, f"prefix={quote(prefix, safe='')}&uploads=")
            )
        except (urllib.error.URLError, OSError, ElementTree.ParseError) as exc:
            log.warning("could not list the incomplete multipart uploads: %s", exc)
            return 0
        for upload in listing.iter(f"{_S3}Upload"):
            key, upload_id = upload.findtext(f"{_S3}Key") or "", upload.findtext(f"{_S3}UploadId") or ""
            began = upload.findtext(f"{_S3}Initiated") or ""
            try:
                when = dt.datetime.fromisoformat(began.replace("Z", "+00:00"))
            except ValueError:
                continue
            own = key.startswith(self._full(self.incoming_prefix))
            if when >= cutoff or own or not key.startswith(prefix):
                continue
            try:
                self._abort_one(key, upload_id)
                aborted += 1
            except (urllib.error.URLError, OSError) as exc:
                log.warning("could not abort the multipart upload of %s: %s", key, exc)
        return aborted

    def _abort_one(self, key: str, upload_id: str) -> None:
        url = f"{bucket_url(self.location)}/{quote(key, safe='/-_.~')}?uploadId={quote(upload_id, safe='')}"
        request = urllib.request.Request(url, method="DELETE", headers=_sign("DELETE", url, self.location))
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


_STORES: dict[tuple[Path, S3Location | None], AnnexStore] = {}


def store_for(settings: Settings) -> AnnexStore:
    """The store the settings name (one per process and setting)."""
    key = (settings.annex_dir, settings.storage)
    store = _STORES.get(key)
    if store is None:
        store = S3Store(settings.storage) if settings.storage is not None else LocalStore(settings.annex_dir)
        _STORES[key] = store
    return store


def names(items: Iterable[str | None]) -> list[str]:
    return [n for n in items if n and STORED_NAME.match(n)]
