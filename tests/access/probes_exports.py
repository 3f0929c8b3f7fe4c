"""Probes of the export rules (R22–R24): one download per rule, as each role, over the export routes.

Each probe asks for a row the role reaches (the master follows HÔT, everyone
else reaches DUPIRE and the first level), so a refusal is the rule's 403 and
never a 404 for a row out of reach (tests/exports/test_delivery_access.py
covers those).
"""

import io
import json
import zipfile

from graph.routes.exports import DOCX
from graph.types.common import encode_id
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Level
from models.users import Role, User
from tests.access.probes_bilans import _bilan
from tests.access.registry import _reachable_learner, probe
from tests.conftest import Api
from tests.exports.reading import open_docx


async def _download(api: Api, path: str) -> str:
    """ "allowed" for a DOCX that opens, "refused" on 403, the code on 401, else what came back."""
    response = await api.http.get(path, headers=api.headers)
    if response.status_code == 200 and response.headers["content-type"] == DOCX:
        open_docx(response.content)
        return "allowed"
    if response.status_code == 403:
        return "refused"
    if response.status_code == 401:
        return response.json()["code"]
    return f"status {response.status_code}"


async def _portfolio(role: Role | None) -> str:
    row = await Portfolio.get(learner__last_name=_reachable_learner(role), period__name="Stage de découverte")
    return encode_id("Portfolio", row.id)


@probe("export.meeting_sheet")
async def _(api, role):
    return await _download(api, f"/exports/meeting-sheet/{await _portfolio(role)}")


@probe("export.completed_bilan")
async def _(api, role):
    bilan = await _bilan(role, completed=True)
    return await _download(api, f"/exports/bilan/{encode_id('CompanyBilan', bilan.id)}")


@probe("export.pre_convention")
async def _(api, role):
    one = await _download(api, f"/exports/pre-convention/portfolio/{await _portfolio(role)}")
    period = encode_id("Period", (await Period.get(name="Stage de découverte")).id)
    every = await _download(api, f"/exports/pre-convention/period/{period}")
    return one if one == every else f"{one}/{every}"


@probe("export.attestation")
async def _(api, role):
    one = await _download(api, f"/exports/attestation/{await _portfolio(role)}")
    period = encode_id("Period", (await Period.get(name="Stage de découverte")).id)
    every = await _download(api, f"/exports/period-attestations/{period}")
    return one if one == every else f"{one}/{every}"


@probe("export.learner_synthesis")
async def _(api, role):
    learner = await User.get(role=Role.LEARNER, last_name=_reachable_learner(role))
    return await _download(api, f"/exports/learner-synthesis/{encode_id('Learner', learner.id)}")


@probe("export.level_synthesis")
async def _(api, role):
    level = await Level.get(name="Première année de CAP")
    return await _download(api, f"/exports/level-synthesis/{encode_id('Level', level.id)}")


@probe("export.learner_data")
async def _(api, role):
    learner = await User.get(role=Role.LEARNER, last_name=_reachable_learner(role))
    response = await api.http.get(f"/exports/learner-data/{encode_id('Learner', learner.id)}", headers=api.headers)
    if response.status_code == 200 and response.headers["content-type"] == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert json.loads(archive.read("donnees.json"))["learner"]["last_name"] == learner.last_name
        return "allowed"
    if response.status_code == 403:
        return "refused"
    if response.status_code == 401:
        return response.json()["code"]
    return f"status {response.status_code}"
