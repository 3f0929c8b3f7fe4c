"""The body of a multipart request (GraphQL multipart request spec: `operations`, `map`, then the file parts),
parsed as it arrives: each file part is written straight into this process's incoming place of the annex store
(resolvers/fiches/annex_store.py), in batches of 1 MiB, its size and type checked on the way (resolvers/fiches/annex_files.LandedFile).

Starlette's `request.form()` spooled each part to a temporary file one piece of the body at a time (a hop to a
thread for each piece of 64 KiB or less), and the resolver then copied that file again to the incoming folder:
two copies and tens of thousands of thread hops for a large file (bench/upload_bench.py). Here the body is
read once and written once, with one write in flight while the next batch arrives.

What is refused: a body that is not well-formed multipart, that ends before its closing boundary (cut short),
a field part over 1 MiB, more than `MAX_FILES` file parts: 400, and every file written so far removed. A file
part over the upload limit or of a type not accepted is not refused here: its bytes stop being kept, and the
resolver that receives it answers TOO_LARGE or INVALID naming its argument. The whole body stays capped by the
request body limit (graph/app.py).
"""

from __future__ import annotations

from cross_web import HTTPException
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from resolvers.fiches.annex_files import LandedFile
from resolvers.fiches.annex_store import AnnexStore

MAX_FIELD = 1024 * 1024
MAX_FIELDS = 100
MAX_FILES = 100

CUT_SHORT = "The multipart body ends before its closing boundary."
NOT_MULTIPART = "Unable to parse the multipart body."


class _Parts:
    """The parser's callbacks: they only collect (synchronous, on the event loop); writing is `receive`'s."""

    def __init__(self, store: AnnexStore, limit: int, landed: list[LandedFile]) -> None:
        self.store = store
        self.limit = limit
        self.fields: dict[str, str] = {}
        self.files: dict[str, LandedFile] = {}
        self.landed = landed
        self.count = 0
        self.ended: list[LandedFile] = []
        self.finished = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._name = ""
        self._data = bytearray()
        self.current: LandedFile | None = None

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._data = bytearray()
        self.current = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise HTTPException(400, 'Each part needs a Content-Disposition header with a "name".')
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.count += 1
            if self.count > MAX_FILES:
                raise HTTPException(400, f"At most {MAX_FILES} files in one request.")
            self.current = LandedFile(self.store, options[b"filename"].decode("utf-8", "replace"), self.limit)
            self.landed.append(self.current)
        elif len(self.fields) >= MAX_FIELDS:
            raise HTTPException(400, f"At most {MAX_FIELDS} fields in one request.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is not None:
            self.current.add(data[start:end])
            return
        if len(self._data) + end - start > MAX_FIELD:
            raise HTTPException(400, f"The field '{self._name}' is larger than {MAX_FIELD // 1024} KiB.")
        self._data += data[start:end]

    def on_part_end(self) -> None:
        if self.current is not None:
            self.files[self._name] = self.current
            self.ended.append(self.current)
        else:
            self.fields[self._name] = self._data.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.finished = True


async def receive_multipart(
    request: Request, store: AnnexStore, limit: int, landed: list[LandedFile]
) -> tuple[dict[str, str], dict[str, LandedFile]]:
    """(fields, file parts by name) of the request's body; every file part landed is appended to `landed` as
    soon as it is created, for the caller to discard what no resolver claimed."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "Missing boundary in multipart.")
    parts = _Parts(store, limit, landed)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end,
            "on_end": parts.on_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for file in parts.ended:
                await file.complete()
            parts.ended.clear()
            current = parts.current
            if current is not None and current.batch_ready:
                await current.flush()
        parser.finalize()
    except MultipartParseError:
        raise HTTPException(400, NOT_MULTIPART) from None
    if not parts.finished:
        raise HTTPException(400, CUT_SHORT)
    return parts.fields, parts.files
