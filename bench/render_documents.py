"""Render every document as a teacher sees it: DOCX over HTTP, then LibreOffice to PDF and poppler to PNG pages.

Fills a fresh SQLite database through the ORM: the demo data, where the first fiche of Angélique DUPIRE selects
C01 under TA 1-1 and TA 1-2 and C07 under TA 1-1; then a Bac Pro MELEC level of 35 learners in one period with
completed bilans (tests/exports/delivery.py's `melec_level`, as bench/exports_delivery_bench.py) and a MELEC level
of one learner whose bilan is still a draft (for the MELEC meeting sheet). It starts the real server
(`python -m graph.cli serve`), signs in as the demo teacher and downloads:
- demo: DUPIRE's meeting sheet (draft bilan), her bilan once completed through the API (C01 Acquis, C07
  Partiellement acquis, C02 Début d'acquisition, 3 stars) by /exports/bilan/{id}, her pre-convention, the
  pre-conventions of the period, her PFMP attestation, the attestations of the period, the period's PFMP
  allowance statement (a draft: no days recorded), her learner synthesis, the level synthesis;
- MELEC: the meeting sheet of a draft, a completed bilan, a pre-convention, the pre-conventions and the
  attestations and the allowance statement of the 35-learner period, a learner synthesis, the level synthesis of
  the 35 learners.
All DOCX go through one soffice call (its own profile folder under --out), then each PDF through pdftoppm
-png -r 60. Prints a table: document, pages, orientation, fonts used.

    .venv/bin/python bench/render_documents.py --out /tmp/render

--out holds docx/, pdf/, png/ and the server's log; it is kept for looking at the pages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.database import apply_migrations, orm  # noqa: E402
from graph.types.common import encode_id  # noqa: E402
from models.bilans import CompanyBilan  # noqa: E402
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask  # noqa: E402
from models.frameworks import Competence, Task  # noqa: E402
from models.periods import Period  # noqa: E402
from models.portfolios import Portfolio  # noqa: E402
from models.users import Role, User  # noqa: E402
from resolvers.demo import load_demo_data  # noqa: E402
from resolvers.frameworks.importing import load_builtin_frameworks  # noqa: E402
from tests.exports.delivery import melec_level  # noqa: E402
from tests.exports.rendering import fonts, page_sizes, to_pdf, to_png  # noqa: E402

TEACHER = ("professeur@demo.pfmp.test", "demo-pfmp-2026")
LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }"
UPDATE = """mutation($input: BilanUpdateInput!) { bilanUpdate(input: $input) {
  bilan { version } errors { code message } } }"""
COMPLETE = (
    "mutation($id: ID!, $v: Int!) { bilanComplete(input: {id: $id, version: $v}) { bilan { status } errors { code } } }"
)
DISCOVERY = "Stage de découverte"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _cap(model, code: str):
    return await model.get(code=code, framework__code="CAP-ELEC", framework__school_id=None)


async def _select(fiche: ActivityFiche, task: str, competence: str) -> None:
    """What the teacher's choice of targets writes (R14)."""
    task_row, competence_row = await _cap(Task, task), await _cap(Competence, competence)
    await FicheTask.get_or_create(fiche=fiche, task=task_row, defaults={"checked_by_teacher": True})
    await FicheEvaluationTarget.create(fiche=fiche, task=task_row, competence=competence_row)


async def _fill(database_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """The data; answers the documents to download (name → path) and what the completion of the demo bilan needs."""
    await apply_migrations(database_url)
    async with orm(database_url):
        await load_builtin_frameworks()
        await load_demo_data()
        teacher = await User.get(email=TEACHER[0])
        dupire = await User.get(role=Role.LEARNER, last_name="DUPIRE")
        portfolio = await Portfolio.get(learner=dupire, period__name=DISCOVERY).prefetch_related("period")
        first = await ActivityFiche.filter(portfolio=portfolio).order_by("created_at", "id").first()
        assert first is not None, "the demo gives DUPIRE fiches"
        for task, competence in (("TA 1-1", "C01"), ("TA 1-2", "C01"), ("TA 1-1", "C07")):
            await _select(first, task, competence)
        bilan = await CompanyBilan.get(portfolio=portfolio)
        period = await Period.get(id=portfolio.period_id)
        melec = await melec_level(teacher, 35, 1, name="Seconde MELEC")
        draft = await melec_level(teacher, 1, 1, name="Terminale MELEC", completed=False)
        melec_portfolio = await Portfolio.get(learner=melec.learners[0], period=melec.periods[0])
        melec_bilan = await CompanyBilan.get(portfolio=melec_portfolio)
        draft_portfolio = await Portfolio.get(learner=draft.learners[0], period=draft.periods[0])
        competences = {
            code: encode_id("Competence", (await _cap(Competence, code)).id) for code in ("C01", "C02", "C07")
        }

        def gid(kind: str, pk: int) -> str:
            return encode_id(kind, pk)

        documents = {
            "demo meeting sheet, draft": f"/exports/meeting-sheet/{gid('Portfolio', portfolio.id)}",
            "demo bilan, completed": f"/exports/bilan/{gid('CompanyBilan', bilan.id)}",
            "demo pre-convention, DUPIRE": f"/exports/pre-convention/portfolio/{gid('Portfolio', portfolio.id)}",
            "demo pre-conventions, period": f"/exports/pre-convention/period/{gid('Period', period.id)}",
            "demo attestation, DUPIRE": f"/exports/attestation/{gid('Portfolio', portfolio.id)}",
            "demo attestations, period": f"/exports/period-attestations/{gid('Period', period.id)}",
            "demo allowance statement, period": f"/exports/allowance-statement/{gid('Period', period.id)}",
            "demo learner synthesis, DUPIRE": f"/exports/learner-synthesis/{gid('Learner', dupire.id)}",
            "demo level synthesis": f"/exports/level-synthesis/{gid('Level', period.level_id)}",
            "MELEC meeting sheet, draft": f"/exports/meeting-sheet/{gid('Portfolio', draft_portfolio.id)}",
            "MELEC bilan, completed": f"/exports/bilan/{gid('CompanyBilan', melec_bilan.id)}",
            "MELEC pre-convention, 1 learner": f"/exports/pre-convention/portfolio/{gid('Portfolio', melec_portfolio.id)}",
            "MELEC pre-conventions, 35 learners": f"/exports/pre-convention/period/{gid('Period', melec.periods[0].id)}",
            "MELEC attestations, 35 learners": f"/exports/period-attestations/{gid('Period', melec.periods[0].id)}",
            "MELEC allowance statement, 35 learners": f"/exports/allowance-statement/{gid('Period', melec.periods[0].id)}",
            "MELEC learner synthesis": f"/exports/learner-synthesis/{gid('Learner', melec.learners[0].id)}",
            "MELEC level synthesis, 35 learners": f"/exports/level-synthesis/{gid('Level', melec.level.id)}",
        }
        return documents, {"bilan": gid("CompanyBilan", bilan.id), "version": str(bilan.version), **competences}


def _wait_ready(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


def _graphql(client: httpx.Client, query: str, **variables) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL errors: {body['errors']}")
    return body["data"]


def _complete_demo_bilan(client: httpx.Client, ids: dict[str, str]) -> None:
    results = [
        {"competenceId": ids["C01"], "level": "ACQUIRED"},
        {"competenceId": ids["C07"], "level": "PARTIAL"},
        {"competenceId": ids["C02"], "level": "BEGINNING"},
    ]
    comment = "Très bon accueil, curieuse et appliquée.\nContinue à poser des questions."
    saved = _graphql(
        client,
        UPDATE,
        input={
            "id": ids["bilan"],
            "version": int(ids["version"]),
            "engagement": 3,
            "comment": comment,
            "results": results,
        },
    )["bilanUpdate"]
    if saved["errors"]:
        raise SystemExit(f"bilanUpdate: {saved['errors']}")
    completed = _graphql(client, COMPLETE, id=ids["bilan"], v=saved["bilan"]["version"])["bilanComplete"]
    if completed["errors"]:
        raise SystemExit(f"bilanComplete: {completed['errors']}")


def _file_name(name: str) -> str:
    return name.replace(", ", "_").replace(" ", "-")


def download(out: Path) -> dict[str, Path]:
    """Fills the database, serves it and downloads every document as DOCX into out/docx."""
    data_dir = out / "data"
    data_dir.mkdir(parents=True)
    database_url = f"sqlite://{data_dir / 'render.sqlite3'}"
    started = time.perf_counter()
    paths, ids = asyncio.run(_fill(database_url))
    print(f"database filled in {time.perf_counter() - started:.1f} s")
    port = _free_port()
    env = {
        **os.environ,
        "PFMP_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "PFMP_TOKEN_SECRET": "render-" + "s" * 40,
    }
    log = out / "server.log"
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "graph.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    saved: dict[str, Path] = {}
    (out / "docx").mkdir()
    try:
        _wait_ready(base, server, log)
        with httpx.Client(base_url=base, timeout=600) as client:
            token = _graphql(client, LOGIN, e=TEACHER[0], p=TEACHER[1])["login"]["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            for name, path in paths.items():
                if name == "demo bilan, completed":
                    _complete_demo_bilan(client, ids)
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{name} {path}: {response.status_code} {response.text[:300]}")
                saved[name] = out / "docx" / f"{_file_name(name)}.docx"
                saved[name].write_bytes(response.content)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="an empty or new folder; kept afterwards")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    documents = download(out)
    started = time.perf_counter()
    pdfs = to_pdf(list(documents.values()), out / "pdf", out / "lo-profile")
    print(f"{len(pdfs)} documents converted by LibreOffice in {time.perf_counter() - started:.1f} s")
    print()
    print("| document | pages | orientation | fonts |")
    print("|---|---|---|---|")
    for name, pdf in zip(documents, pdfs):
        sizes = page_sizes(pdf)
        orientation = sorted({"landscape" if size.landscape else "portrait" for size in sizes})
        used = sorted({font.name + ("" if font.embedded else " (not embedded)") for font in fonts(pdf)})
        to_png(pdf, out / "png")
        print(f"| {name} | {len(sizes)} | {', '.join(orientation)} | {', '.join(used)} |")
    print()
    print(f"PDF in {out / 'pdf'}, PNG pages (60 dpi) in {out / 'png'}")


if __name__ == "__main__":
    main()
