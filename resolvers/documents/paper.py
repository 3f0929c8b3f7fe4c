"""The paper path (issue 16, part 2): the scan of a bilan signed on paper.

The teacher enters the results as for any bilan, uploads the scan of the sheet
signed on paper with `bilanPaperScanUpload` (the GraphQL multipart request,
streamed and checked as annexes are: resolvers/fiches/annex_files.py), then
completes it with `bilanComplete(input: {signatureMode: PAPER})`
(resolvers/bilans/bilans.py). The scan lives in the annex store under a
generated name; the row names it, so the start-up sweep keeps it
(annex_store._committed). A new scan replaces the earlier one, whose file is
removed once the change is committed; a scan is uploaded to a draft only (a
completed bilan is reopened first, and keeps its scan until it is replaced).
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.file_uploads import Upload
from tortoise.expressions import F

from graph.context import Info
from graph.errors import Reason, UserInputError, problem
from graph.types.bilans import CompanyBilan
from graph.types.common import Payload, UserError, version_field
from models import bilans as m
from models.audit import AuditKind
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.fiches.annex_files import LandedFile, keep_if_committed, store_upload
from resolvers.fiches.annex_store import store_for
from resolvers.inputs import check_version, fetch_in_reach
from resolvers.mutations import mutation, run_mutation

# A signed sheet, scanned or photographed: nothing else is a scan (annex_types judges the type from the content).
SCAN_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


@strawberry.type(description="Result of bilanPaperScanUpload.")
class BilanPaperScanUploadPayload(Payload):
    bilan: CompanyBilan | None = strawberry.field(default=None, description="The bilan with its new scan.")


async def _draft(viewer: Viewer, id: str, version: int) -> m.CompanyBilan:
    bilan = await fetch_in_reach(m.CompanyBilan, scopes.bilans, viewer, id, "CompanyBilan", "id", "company bilan")
    if bilan.status is not m.BilanStatus.DRAFT:
        raise problem("id", Reason.BILAN_ALREADY_COMPLETED)
    check_version(bilan.version, version)
    return bilan


@strawberry.input(description="The arguments of bilanPaperScanUpload. Upload the scan of a bilan signed on paper.")
class BilanPaperScanUploadInput:
    id: strawberry.ID = strawberry.field(description="The bilan.")
    version: int = version_field()
    file: Upload = strawberry.field(
        description="The scan, a PDF, PNG or JPEG file (GraphQL multipart request: map it to `variables.input.file`)."
    )


@strawberry.type
class BilanPaperMutation:
    @mutation(
        "Upload the scan of the sheet a draft bilan was signed on, on paper (GraphQL multipart request): a PDF, "
        "PNG or JPEG file, judged from its content (INVALID otherwise, nothing kept). It replaces an earlier scan. "
        "Then complete the bilan with bilanComplete(input: {signatureMode: PAPER}).",
        rule="bilan.paper.write",
        transaction=False,
        audit=AuditKind.EVALUATION_CHANGE,
    )
    async def bilan_paper_scan_upload(
        self, info: Info, input: BilanPaperScanUploadInput
    ) -> BilanPaperScanUploadPayload:
        id, version, file = input.id, input.version, input.file
        viewer = info.context.require("bilan.paper.write")
        store = store_for(info.context.settings)
        try:
            await _draft(viewer, id, version)
            if not isinstance(file, LandedFile):
                raise problem("file", Reason.FILE_PART_MISSING)
            stored = await store_upload(file)
            if stored.content_type not in SCAN_TYPES:
                await store.drop_incoming(stored.stored_name)
                raise problem("file", Reason.BILAN_SCAN_TYPE_REFUSED, found=stored.content_type.split(";")[0])
        except UserInputError as exc:
            return BilanPaperScanUploadPayload(errors=UserError.all_of(exc))
        replaced: list[str] = []

        async def body() -> BilanPaperScanUploadPayload:
            bilan = await _draft(viewer, id, version)
            done = await m.CompanyBilan.filter(id=bilan.id, version=version, status=m.BilanStatus.DRAFT).update(
                version=F("version") + 1,
                updated_at=dt.datetime.now(dt.UTC),
                scan_stored_name=stored.stored_name,
                scan_filename=stored.filename,
                scan_content_type=stored.content_type,
                scan_size=stored.size,
            )
            if not done:
                current = await m.CompanyBilan.filter(id=bilan.id).first().values_list("version", flat=True)
                raise problem("version", Reason.VERSION_STALE, current=current, given=version)
            if bilan.scan_stored_name:
                replaced.append(bilan.scan_stored_name)
            return BilanPaperScanUploadPayload(bilan=CompanyBilan.from_row(await m.CompanyBilan.get(id=bilan.id)))

        result = await keep_if_committed(
            store, stored.stored_name, run_mutation(BilanPaperScanUploadPayload, body), "bilan scan"
        )
        if not result.errors:
            # The earlier scan is no longer named by any row: removed now, or by the sweep if this fails.
            await store.delete(replaced)
        return result
