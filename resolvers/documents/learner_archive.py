"""A learner's whole data as one ZIP archive (access request, GDPR art. 15): gathered, then streamed.

`gather` reads every row about one learner, whatever the number of their
portfolios, fiches or annexes in a fixed number of statements (one per table
plus the dashboard's), and returns plain data: the JSON document and the list
of annex files to put beside it. `stream` writes the ZIP as it goes: each
piece (README, JSON, then every annex file read in chunks of `CHUNK`) leaves
as soon as it is written, so neither the archive nor any file is ever held
whole in memory. It runs in a worker thread (Starlette iterates a plain
generator in its thread pool), as the files are read with blocking calls.

Who may have it is `export.learner_data` (permissions/table.py); the caller
checks it. What the archive holds follows the rules of the one who asks: a
learner's own archive leaves out what access.md does not let them read (a
bilan's results while it is a draft, the deleted fiches and their read
states), an administrator's holds everything. Secrets are never in it: no
password hash and no token version.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from models.bilans import (
    BilanCompetenceMode,
    BilanEvent,
    BilanResultEntry,
    BilanStatus,
    CompanyBilan,
    InterimReview,
)
from models.fiches import (
    ActivityFiche,
    Annex,
    AnnexKind,
    FicheEvaluationTarget,
    FicheRead,
    FicheTask,
)
from models.portfolios import LiaisonFiche, Portfolio
from models.users import ExternalIdentity, Role, User
from permissions import scopes
from permissions.table import allows
from permissions.viewer import Viewer
from resolvers.bilans.dashboard import learner_dashboards
from resolvers.fiches.annex_store import AnnexStore

FORMAT = "pfmp-learner-data/1"
DATA_NAME = "donnees.json"
README_NAME = "README.txt"
CHUNK = 64 * 1024
# Columns that are credentials, not data about the person.
SECRET_COLUMNS = ("password_hash", "token_version")


@dataclass(frozen=True)
class ArchiveFile:
    """An annex file to put in the archive: its stored name in the store, and its name inside the archive."""

    stored_name: str
    name: str


@dataclass
class LearnerArchive:
    learner_names: tuple[str, str]
    document: dict[str, Any]
    files: list[ArchiveFile]
    store: AnnexStore

    @property
    def filename(self) -> str:
        return "Données_" + "_".join(self.learner_names) + ".zip"


def _plain(value: Any) -> Any:
    """A value as JSON knows it: dates in ISO 8601, decimals as strings, enums by value, dataclasses as objects."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def _grouped(rows: Iterable[dict], key: str) -> dict[Any, list[dict]]:
    by: dict[Any, list[dict]] = defaultdict(list)
    for row in rows:
        by[row[key]].append(row)
    return by


def _entry_name(annex: dict) -> str:
    """`annexes/<annex id>_<name the learner gave>`: unique by its id, readable by its name."""
    name = (annex["original_filename"] or "annexe").replace("/", "_").replace("\\", "_")
    return f"annexes/{annex['id']}_{name}"


def _scan_entry_name(bilan: dict) -> str:
    """`scans/<bilan id>_<name the teacher gave>`: the scan of a bilan signed on paper."""
    name = (bilan["scan_filename"] or "scan").replace("/", "_").replace("\\", "_")
    return f"scans/{bilan['id']}_{name}"


async def find_learner(viewer: Viewer, pk: int) -> User | None:
    """The learner, if the viewer reaches them (the caller then asks the rule)."""
    return await User.filter(scopes.learners(viewer), id=pk).first()


async def gather(requester: Viewer, learner: User, store: AnnexStore) -> LearnerArchive:
    """Every row about `learner`, as `requester` may have it (see the module's docstring)."""
    staff_view = allows("fiche.staff.read", requester.role)
    drafts_readable = requester.role is not Role.LEARNER and allows("bilan.draft.read", requester.role)

    account = (
        await User.filter(id=learner.id)
        .first()
        .values(
            *(f for f in User._meta.db_fields if f not in SECRET_COLUMNS),
            classroom_name="classroom__name",
            level_name="classroom__level__name",
            school_name="school__name",
            school_uai="school__uai",
        )
    )
    identities = await ExternalIdentity.filter(user_id=learner.id).values("provider", "subject", "created_at")

    portfolios = (
        await Portfolio.filter(learner_id=learner.id)
        .order_by("period__start_date", "id")
        .values(
            "id",
            "days_done",
            "referent_teacher_id",
            "created_at",
            "updated_at",
            period_id="period__id",
            period_name="period__name",
            period_start_date="period__start_date",
            period_end_date="period__end_date",
            period_school_year="period__school_year",
            period_certifying="period__certifying",
            period_objectives="period__objectives",
            level_name="period__level__name",
        )
    )
    portfolio_ids = [row["id"] for row in portfolios]
    trainers = await Portfolio.filter(id__in=portfolio_ids, trainers__id__isnull=False).values(
        "id",
        trainer_id="trainers__id",
        role="trainers__role",
        first_name="trainers__first_name",
        last_name="trainers__last_name",
        company_name="trainers__company_name",
        job_title="trainers__job_title",
    )
    liaisons = await LiaisonFiche.filter(portfolio_id__in=portfolio_ids).values()
    liaison_tasks = await LiaisonFiche.filter(portfolio_id__in=portfolio_ids, tasks__id__isnull=False).values(
        "id", code="tasks__code", label="tasks__label"
    )

    fiche_filter: dict[str, Any] = {"learner_id": learner.id}
    if not staff_view:
        fiche_filter["deleted_at__isnull"] = True
    fiches = await ActivityFiche.filter(**fiche_filter).order_by("created_at", "id").values()
    fiche_ids = [row["id"] for row in fiches]
    tasks = await FicheTask.filter(fiche_id__in=fiche_ids).values(
        "fiche_id", "ticked_by_learner", "checked_by_teacher", code="task__code", label="task__label"
    )
    targets = await FicheEvaluationTarget.filter(fiche_id__in=fiche_ids).values(
        "fiche_id",
        task_code="task__code",
        competence_code="competence__code",
        competence_label="competence__label",
        criterion_label="criterion__label",
    )
    activity_types = await ActivityFiche.filter(id__in=fiche_ids, activity_types__id__isnull=False).values(
        "id", code="activity_types__code", label="activity_types__label"
    )
    annexes = await Annex.filter(fiche_id__in=fiche_ids).order_by("id").values()
    reads = (
        await FicheRead.filter(fiche_id__in=fiche_ids).values("fiche_id", "teacher_id", "read_at") if staff_view else []
    )

    bilans = await CompanyBilan.filter(portfolio_id__in=portfolio_ids).values()
    readable_bilans = [b for b in bilans if b["status"] == BilanStatus.COMPLETED or drafts_readable]
    readable_ids = [b["id"] for b in readable_bilans]
    modes = await BilanCompetenceMode.filter(bilan_id__in=readable_ids).values(
        "bilan_id", "mode", competence_code="competence__code"
    )
    results = (
        await BilanResultEntry.filter(bilan_id__in=readable_ids)
        .order_by("recorded_at", "id")
        .values(
            "bilan_id",
            "level",
            "previous_level",
            "author_id",
            "recorded_at",
            competence_code="competence__code",
            criterion_label="criterion__label",
        )
    )
    events = await BilanEvent.filter(bilan_id__in=readable_ids).order_by("recorded_at", "id").values()
    reviews = await InterimReview.filter(learner_id=learner.id).order_by("review_date", "id").values()
    # The dashboard as the school sees it (the requester may be the learner, who reads their own whole dashboard).
    school_view = Viewer(id=0, role=Role.ADMIN, school_id=learner.school_id)
    dashboard = (await learner_dashboards(school_view, [learner])).get(learner.id)

    by_portfolio_trainers = _grouped(trainers, "id")
    liaison_tasks_by = _grouped(liaison_tasks, "id")
    liaison_by_portfolio = {row["portfolio_id"]: row for row in liaisons}
    for row in liaisons:
        row["tasks"] = [{"code": t["code"], "label": t["label"]} for t in liaison_tasks_by.get(row["id"], [])]
    modes_by, results_by = _grouped(modes, "bilan_id"), _grouped(results, "bilan_id")
    events_by = _grouped(events, "bilan_id")
    bilan_by_portfolio: dict[int, dict] = {}
    files: list[ArchiveFile] = []
    for row in bilans:
        # The scan of a bilan signed on paper goes beside the annexes; its name in the store never leaves it.
        scan = row.pop("scan_stored_name", None)
        if row["id"] in readable_ids:
            row["scanArchivePath"] = None
            if scan:
                if await store.stat(scan) is not None:
                    row["scanArchivePath"] = _scan_entry_name(row)
                    files.append(ArchiveFile(scan, row["scanArchivePath"]))
                else:
                    row["scanFileMissing"] = True
            row["modes"] = modes_by.get(row["id"], [])
            row["resultLog"] = results_by.get(row["id"], [])
            row["events"] = events_by.get(row["id"], [])
        else:
            # A draft the requester may not read: its status only, as the schema and the documents show it.
            row = {"id": row["id"], "portfolio_id": row["portfolio_id"], "status": row["status"]}
        bilan_by_portfolio[row["portfolio_id"]] = row
    for row in portfolios:
        row["trainers"] = [
            {k: t[k] for k in ("trainer_id", "role", "first_name", "last_name", "company_name", "job_title")}
            for t in by_portfolio_trainers.get(row["id"], [])
        ]
        row["liaisonFiche"] = liaison_by_portfolio.get(row["id"])
        row["bilan"] = bilan_by_portfolio.get(row["id"])

    tasks_by, targets_by = _grouped(tasks, "fiche_id"), _grouped(targets, "fiche_id")
    types_by = _grouped(activity_types, "id")
    annexes_by, reads_by = _grouped(annexes, "fiche_id"), _grouped(reads, "fiche_id")
    for annex in annexes:
        stored = annex.pop("stored_name", None)
        annex["archivePath"] = None
        if annex["kind"] == AnnexKind.FILE and stored:
            if await store.stat(stored) is not None:
                annex["archivePath"] = _entry_name(annex)
                files.append(ArchiveFile(stored, annex["archivePath"]))
            else:
                annex["fileMissing"] = True
    for row in fiches:
        row["tasks"] = tasks_by.get(row["id"], [])
        row["evaluationTargets"] = targets_by.get(row["id"], [])
        row["activityTypes"] = [{"code": t["code"], "label": t["label"]} for t in types_by.get(row["id"], [])]
        row["annexes"] = annexes_by.get(row["id"], [])
        if staff_view:
            row["reads"] = reads_by.get(row["id"], [])

    document = {
        "format": FORMAT,
        "exportedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "learner": account,
        "externalIdentities": identities,
        "portfolios": portfolios,
        "activityFiches": fiches,
        "interimReviews": reviews,
        "dashboard": None
        if dashboard is None
        else {
            "competences": [
                {"competence": p.competence, "current": p.current, "history": p.history} for p in dashboard.competences
            ],
            "periods": [
                {
                    "periodId": line.period.id if line.period else None,
                    "periodName": line.period.name if line.period else None,
                    "ficheCount": line.fiche_count,
                    "completedFicheCount": line.completed_fiche_count,
                    "engagement": line.engagement,
                    "recorded": line.recorded,
                }
                for line in dashboard.periods
            ],
        },
    }
    return LearnerArchive((learner.last_name, learner.first_name), _plain(document), files, store)


README = """\
Données personnelles de {name}
Archive produite le {date} en réponse à une demande d'accès (RGPD, article 15).
(English: this archive holds every piece of data the PFMP portfolio application keeps about this learner.)

Contenu de l'archive :

README.txt
    Ce fichier : ce que contient l'archive.

donnees.json
    Toutes les données enregistrées sur l'élève, lisibles par un programme (JSON, UTF-8, format {format}) :
    - "learner" : le compte (nom, prénom, courriel, téléphone, date de naissance, statut, classe, niveau,
      identifiant national, dates de création et de modification) ; ni mot de passe ni jeton n'y figurent ;
    - "externalIdentities" : les identifiants donnés par l'ENT ou le fournisseur d'identité ;
    - "portfolios" : un portfolio par période de formation en milieu professionnel (PFMP), avec la période,
      les tuteurs ou maîtres d'apprentissage, la fiche de liaison entreprise (lieu, objectifs, activités)
      et le bilan entreprise (résultats actuels, journal de chaque résultat saisi : qui, quand, niveau,
      niveau précédent ; achèvement et réouverture ; signature, et "scanArchivePath", le chemin du scan de
      la feuille signée sur papier dans cette archive) ;
    - "activityFiches" : les fiches d'activité rédigées, avec leurs tâches, les compétences à évaluer,
      les types d'activité et les annexes (titre, lien, nom du fichier, type, taille, et "archivePath",
      le chemin du fichier dans cette archive) ;
    - "interimReviews" : les bilans intermédiaires de compétences et ce qu'ils ont consolidé ;
    - "dashboard" : le tableau de bord (niveau actuel et historique de chaque compétence, périodes).
    Les dates sont au format ISO 8601 ; les heures en temps universel (UTC).

annexes/
    Les fichiers joints aux fiches d'activité, tels qu'ils ont été déposés : "<numéro de l'annexe>_<nom
    du fichier>". Le numéro est le champ "id" de l'annexe dans donnees.json.

scans/
    Les scans des bilans signés sur papier : "<numéro du bilan>_<nom du fichier>" (s'il y en a).
"""


class _Pipe(io.RawIOBase):
    """What `zipfile` writes to: kept until taken, never seekable, so the ZIP is written forward only."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._pieces)
        self._pieces.clear()
        return out


def stream(archive: LearnerArchive) -> Iterator[bytes]:
    """The ZIP, piece by piece: the README and the JSON compressed, the annex files stored as they are (most
    are already compressed), each read and sent `CHUNK` by `CHUNK`."""
    pipe = _Pipe()
    now = dt.datetime.now()
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    with zipfile.ZipFile(pipe, "w", allowZip64=True) as zf:
        for name, text in (
            (
                README_NAME,
                README.format(
                    name=" ".join(reversed(archive.learner_names)),
                    date=archive.document["exportedAt"][:10],
                    format=FORMAT,
                ),
            ),
            (DATA_NAME, json.dumps(archive.document, ensure_ascii=False, indent=2)),
        ):
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as entry:
                entry.write(text.encode("utf-8"))
            yield pipe.take()
        for file in archive.files:
            info = zipfile.ZipInfo(file.name, stamp)
            info.compress_type = zipfile.ZIP_STORED
            source = archive.store.open_sync(file.stored_name)
            if source is None:
                continue  # removed since it was listed (its annex deleted meanwhile)
            with source, zf.open(info, "w", force_zip64=True) as entry:
                while chunk := source.read(CHUNK):
                    entry.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()
