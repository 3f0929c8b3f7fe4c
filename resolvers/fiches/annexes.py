"""Annexes of activity fiches (R12, R16): files uploaded through the GraphQL multipart request spec, and links.

An upload is written to the process's incoming place of the store as its body
arrives (graph/multipart.py) and checked (reach, fiche editable, size, type)
before its transaction opens, so no database lock is held while bytes flow;
the transaction then checks the fiche again and writes the row, and the file
is claimed among the stored annexes once the row is committed. Whatever fails
after the copy removes the file, and a crash leaves it in the incoming place
for the start-up sweep (annex_store.py): no row without a file, no file
without a row. Deleting an annex removes its file once the transaction has
committed (a failure there is logged, and the sweep removes the file).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import strawberry
from strawberry.file_uploads import Upload

from graph.context import Info
from graph.errors import Reason, UserInputError, problem
from graph.messages import Term
from graph.types.common import Payload, UserError
from graph.types.fiches import Annex
from models import fiches as m
from models import live
from permissions.viewer import Viewer
from resolvers.fiches import rules
from resolvers.fiches.annex_files import LandedFile, keep_if_committed, store_upload
from resolvers.fiches.annex_store import store_for
from resolvers.idempotency import Replay
from resolvers.inputs import fetch_in_reach, optional_text
from resolvers.mutations import mutation, run_mutation

MAX_URL = 2000


@strawberry.type(description="Result of annexUpload.")
class AnnexUploadPayload(Payload):
    annex: Annex | None = strawberry.field(default=None, description="The new annex.")


@strawberry.type(description="Result of annexAddUrl.")
class AnnexAddUrlPayload(Payload):
    annex: Annex | None = strawberry.field(default=None, description="The new annex.")


@strawberry.type(description="Result of annexDelete.")
class AnnexDeletePayload(Payload):
    deleted_annex_id: strawberry.ID | None = strawberry.field(default=None, description="ID of the deleted annex.")


def _errors(exc: UserInputError) -> list[UserError]:
    return UserError.all_of(exc)


async def _editable_fiche(info: Info, fiche_id: str, *, for_update: bool) -> m.ActivityFiche:
    viewer = info.context.require_viewer()
    fiche = await rules.fetch_fiche(viewer, fiche_id, "ficheId", for_update=for_update)
    info.context.require("annex.write", owned=fiche.learner_id == viewer.id)
    await rules.check_editable(fiche, "ficheId")
    return fiche


async def _attach(fiche: m.ActivityFiche, **values) -> m.Annex:
    live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
    annex = await m.Annex.create(fiche_id=fiche.id, **values)
    rules.touch_by_learner(fiche)
    await fiche.save()
    return annex


def check_url(value: str) -> str:
    url = value.strip()
    if not url:
        raise problem("url", Reason.VALUE_REQUIRED, label=Term("The link"))
    if len(url) > MAX_URL:
        raise problem("url", Reason.TEXT_TOO_LONG, label=Term("The link"), max_length=MAX_URL)
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise problem("url", Reason.LINK_HAS_SPACES)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise problem("url", Reason.LINK_MALFORMED) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise problem("url", Reason.LINK_SCHEME_REFUSED)
    if not host:
        raise problem("url", Reason.LINK_WITHOUT_HOST)
    if parts.username is not None or parts.password is not None:
        raise problem("url", Reason.LINK_WITH_CREDENTIALS)
    return url


async def _uploaded_again(viewer: Viewer, annex_id: int | None) -> AnnexUploadPayload:
    """The answer to a retried annexUpload (resolvers/idempotency.py): the annex it created, as it is now. The
    retry's own file, never claimed, is dropped with the request."""
    row = await m.Annex.filter(rules.visible_annexes(viewer), id=annex_id).first()
    return AnnexUploadPayload(annex=Annex.from_row(row) if row else None)


@strawberry.input(description="The arguments of annexUpload. Attach a file to a fiche.")
class AnnexUploadInput:
    fiche_id: strawberry.ID = strawberry.field(description="One of your fiches.")
    file: Upload = strawberry.field(
        description="The file (GraphQL multipart request: map it to `variables.input.file`)."
    )
    title: str | None = strawberry.field(default=None, description="A title; by default the file's name.")


@strawberry.input(description="The arguments of annexAddUrl. Attach a web link to a fiche.")
class AnnexAddUrlInput:
    fiche_id: strawberry.ID = strawberry.field(description="One of your fiches.")
    url: str = strawberry.field(description="The address (http or https).")
    title: str | None = strawberry.field(default=None, description="A title; by default the address.")


@strawberry.input(description="The arguments of annexDelete. Remove an annex.")
class AnnexDeleteInput:
    id: strawberry.ID = strawberry.field(description="The annex.")


@strawberry.type
class AnnexMutation:
    @mutation(
        "Attach a file to one of your fiches (GraphQL multipart request). Refused "
        "with TOO_LARGE over the size limit, INVALID when empty or not a PDF, image, "
        "office document or text (judged from the content), CONFLICT when the fiche "
        "cannot change.",
        rule="annex.write",
        transaction=False,
        idempotent=Replay("annex", _uploaded_again),
    )
    async def annex_upload(self, info: Info, input: AnnexUploadInput) -> AnnexUploadPayload:
        fiche_id, file, title = input.fiche_id, input.file, input.title
        return await _upload(info, fiche_id, file, title)

    @mutation("Attach a web link (http or https only) to one of your fiches.", rule="annex.write")
    async def annex_add_url(self, info: Info, input: AnnexAddUrlInput) -> AnnexAddUrlPayload:
        fiche_id, url, title = input.fiche_id, input.url, input.title
        fiche = await _editable_fiche(info, fiche_id, for_update=True)
        link = check_url(url)
        label = optional_text(title, "title", "The title", max_length=300) or urlsplit(link).hostname
        annex = await _attach(fiche, kind=m.AnnexKind.URL, title=label, url=link)
        return AnnexAddUrlPayload(annex=Annex.from_row(annex))

    @mutation(
        "Remove an annex of one of your fiches; its file is deleted once the change is saved.",
        rule="annex.write",
        transaction=False,
    )
    async def annex_delete(self, info: Info, input: AnnexDeleteInput) -> AnnexDeletePayload:
        id = input.id
        viewer = info.context.require_viewer()
        doomed: list[str] = []

        async def body() -> AnnexDeletePayload:
            annex = await fetch_in_reach(
                m.Annex, rules.visible_annexes, viewer, id, "Annex", "id", "annex", for_update=True
            )
            fiche = await m.ActivityFiche.filter(id=annex.fiche_id).select_for_update().first()
            assert fiche is not None  # the annex's foreign key holds its fiche, and deleting a fiche cascades
            info.context.require("annex.write", owned=fiche.learner_id == viewer.id)
            await rules.check_editable(fiche, "id")
            await annex.delete()
            rules.touch_by_learner(fiche)
            await fiche.save()
            live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
            if annex.stored_name:
                doomed.append(annex.stored_name)
            return AnnexDeletePayload(deleted_annex_id=id)

        result = await run_mutation(AnnexDeletePayload, body)
        if not result.errors:
            await store_for(info.context.settings).delete(doomed)
        return result


async def _upload(info: Info, fiche_id: str, file, title: str | None) -> AnnexUploadPayload:
    store = store_for(info.context.settings)
    try:
        await _editable_fiche(info, fiche_id, for_update=False)
        label = optional_text(title, "title", "The title", max_length=300)
        if not isinstance(file, LandedFile):
            raise problem("file", Reason.FILE_PART_MISSING)
        stored = await store_upload(file)
    except UserInputError as exc:
        return AnnexUploadPayload(errors=_errors(exc))

    async def body() -> AnnexUploadPayload:
        fiche = await _editable_fiche(info, fiche_id, for_update=True)
        annex = await _attach(
            fiche,
            kind=m.AnnexKind.FILE,
            title=label or stored.filename,
            original_filename=stored.filename,
            stored_name=stored.stored_name,
            content_type=stored.content_type,
            size=stored.size,
        )
        return AnnexUploadPayload(annex=Annex.from_row(annex))

    return await keep_if_committed(store, stored.stored_name, run_mutation(AnnexUploadPayload, body), "annex")
