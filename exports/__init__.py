"""Pure DOCX builders: plain data in (`exports.data`), bytes out. No database, no I/O.

python-docx is CPU-bound: call the builders off the event loop
(`await asyncio.to_thread(build_meeting_sheet, data)`).
"""

from exports.allowance import build_allowance_csv, build_allowance_statement
from exports.attestation import build_attestation
from exports.meeting_sheet import build_meeting_sheet
from exports.pre_convention import build_pre_convention
from exports.synthesis import build_learner_synthesis, build_level_synthesis

__all__ = [
    "build_allowance_csv",
    "build_allowance_statement",
    "build_attestation",
    "build_learner_synthesis",
    "build_level_synthesis",
    "build_meeting_sheet",
    "build_pre_convention",
]
