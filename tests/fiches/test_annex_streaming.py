"""R16: uploads whose body arrives in pieces (the GraphQL multipart request spec: operations, map, then the file
parts): the bytes come back identical whatever the sizes and wherever the pieces cut the body, and a file refused,
a body cut short or a part nobody asked for leaves nothing on disk."""

import json
import os
import uuid

import pytest

from models.fiches import Annex
from tests.conftest import STORAGES
from tests.fiches.conftest import UPLOAD, stored_files

KIB = 1024
MIB = 1024 * KIB
PIECE = 7919  # a prime: the pieces cut the boundaries, the headers and the files anywhere

TWO = """mutation($f: ID!, $a: Upload!, $b: Upload!) {
  a: annexUpload(input: {ficheId: $f, file: $a}) { annex { size contentType downloadUrl } errors { field code reason message } }
  b: annexUpload(input: {ficheId: $f, file: $b}) { annex { size contentType downloadUrl } errors { field code reason message } }
}"""


def pdf(size: int) -> bytes:
    """A PDF header then random bytes (with the start of a boundary in them), `size` bytes in all."""
    head = b"%PDF-1.7\n\r\n--\r\n-"
    return (head + os.urandom(max(0, size - len(head))))[:size]


def body(operations: dict, files_map: dict, files: dict[str, bytes], *, close: bool = True) -> tuple[str, bytes]:
    """(content type, body) of a GraphQL multipart request, written by hand."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in (("operations", json.dumps(operations)), ("map", json.dumps(files_map))):
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, content in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        out += content + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


async def post_in_pieces(api, content_type: str, data: bytes):
    async def pieces():
        for start in range(0, len(data), PIECE):
            yield data[start : start + PIECE]

    headers = {**api.headers, "content-type": content_type, "content-length": str(len(data))}
    return await api.http.post("/graphql", headers=headers, content=pieces())


async def upload_in_pieces(api, fiche_id: str, content: bytes) -> dict:
    content_type, data = body(
        {"query": UPLOAD, "variables": {"f": fiche_id, "file": None, "t": None}},
        {"0": ["variables.file"]},
        {"0": content},
    )
    response = await post_in_pieces(api, content_type, data)
    assert response.status_code == 200, response.text
    return response.json()["data"]["annexUpload"]


async def downloaded(api, annex: dict) -> bytes:
    response = await api.http.get(annex["downloadUrl"], headers=api.headers)
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize(
    "size", [1, 8 * KIB - 1, 8 * KIB, 8 * KIB + 1, PIECE * 3, MIB - 1, MIB + 1, 2 * MIB], ids=lambda s: f"{s}B"
)
async def test_the_bytes_come_back_identical(size, learner, demo, settings):
    # given a file of that size (one byte of text, or a PDF), its body cut in pieces of 7919 bytes
    content = b"x" if size == 1 else pdf(size)
    # when the learner uploads it
    payload = await upload_in_pieces(learner, demo.fiche1, content)
    # then it is stored whole, and downloads byte for byte
    assert payload["errors"] == []
    assert payload["annex"]["size"] == size
    assert payload["annex"]["contentType"] == ("text/plain; charset=utf-8" if size == 1 else "application/pdf")
    assert await downloaded(learner, payload["annex"]) == content
    assert len(stored_files(settings)) == 1


async def test_an_empty_file_in_pieces_is_refused_and_leaves_nothing(learner, demo, settings):
    payload = await upload_in_pieces(learner, demo.fiche1, b"")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "file"], "INVALID")]
    assert await Annex.all().count() == 0 and stored_files(settings) == []


async def test_a_file_over_the_limit_is_refused_naming_it_once_part_written(learner, demo, settings):
    # given a PDF one byte over the limit, arriving in pieces: much of it was written before the limit was crossed
    payload = await upload_in_pieces(learner, demo.fiche1, pdf(settings.upload_limit + 1))
    # then the upload is refused naming its file argument, and neither row nor file remains
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "file"], "TOO_LARGE")]
    assert await Annex.all().count() == 0 and stored_files(settings) == []


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
@pytest.mark.parametrize("cut", ["in the file", "before the closing boundary"])
async def test_a_body_cut_short_is_refused_and_leaves_nothing(cut, storage, learner, demo, settings):
    # given a body whose length is honest but which ends in the file, or right after it without the closing boundary
    content_type, data = body(
        {"query": UPLOAD, "variables": {"f": demo.fiche1, "file": None, "t": None}},
        {"0": ["variables.file"]},
        {"0": pdf(3 * MIB // 2)},
        close=False,
    )
    if cut == "in the file":
        data = data[: len(data) - MIB // 2]
    response = await post_in_pieces(learner, content_type, data)
    # then the request is refused as malformed, and nothing was stored
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await Annex.all().count() == 0 and stored_files(settings) == []


async def test_two_files_in_one_request(learner, demo, settings):
    # given two uploads in one operation, the second one refused by its content
    first, second = pdf(MIB + 5), b"MZ\x90\x00" + b"\x00" * 300
    content_type, data = body(
        {"query": TWO, "variables": {"f": demo.fiche1, "a": None, "b": None}},
        {"0": ["variables.a"], "1": ["variables.b"]},
        {"0": first, "1": second},
    )
    response = await post_in_pieces(learner, content_type, data)
    result = response.json()["data"]
    # then the first is stored and comes back identical, the second refused naming its argument, leaving nothing
    assert result["a"]["errors"] == [] and await downloaded(learner, result["a"]["annex"]) == first
    assert [(e["field"], e["code"]) for e in result["b"]["errors"]] == [(["input", "file"], "INVALID")]
    assert await Annex.all().count() == 1 and len(stored_files(settings)) == 1

    # and two accepted files in one request are both stored
    third = pdf(300 * KIB)
    content_type, data = body(
        {"query": TWO, "variables": {"f": demo.fiche1, "a": None, "b": None}},
        {"0": ["variables.a"], "1": ["variables.b"]},
        {"0": third, "1": first},
    )
    result = (await post_in_pieces(learner, content_type, data)).json()["data"]
    assert await downloaded(learner, result["a"]["annex"]) == third
    assert await downloaded(learner, result["b"]["annex"]) == first
    assert await Annex.all().count() == 3 and len(stored_files(settings)) == 3


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_a_file_part_no_operation_uses_leaves_nothing(storage, learner, demo, settings):
    # given a request carrying, besides the upload, a file part the map gives to no variable
    content_type, data = body(
        {"query": UPLOAD, "variables": {"f": demo.fiche1, "file": None, "t": None}},
        {"0": ["variables.file"]},
        {"0": pdf(20 * KIB), "1": pdf(30 * KIB)},
    )
    payload = (await post_in_pieces(learner, content_type, data)).json()["data"]["annexUpload"]
    # then only the uploaded file remains
    assert payload["errors"] == [] and payload["annex"]["size"] == 20 * KIB
    assert len(stored_files(settings)) == 1


async def test_a_map_naming_a_missing_part_is_refused_and_leaves_nothing(learner, demo, settings):
    content_type, data = body(
        {"query": UPLOAD, "variables": {"f": demo.fiche1, "file": None, "t": None}},
        {"7": ["variables.file"]},
        {"0": pdf(20 * KIB)},
    )
    response = await post_in_pieces(learner, content_type, data)
    assert response.status_code == 400
    assert await Annex.all().count() == 0 and stored_files(settings) == []
