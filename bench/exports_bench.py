"""Time and memory of the DOCX exports at a school's real sizes. Run by hand:

    /tmp/venv/bin/python bench/exports_bench.py [--repeat N]

Each document is built in a fresh process, so that its ru_maxrss is its own:
first timed (best of N builds, no tracing), then built once more under
tracemalloc. tracemalloc only sees Python's allocations; lxml's tree lives in
libxml2's C heap, which only ru_maxrss (the process's peak resident memory)
accounts for.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exports import build_level_synthesis, build_meeting_sheet, build_pre_convention  # noqa: E402
from exports.data import (  # noqa: E402
    BilanSummary,
    CompetenceResult,
    FicheSummary,
    LearnerInfo,
    LearnerPeriods,
    LevelSynthesisData,
    PeriodInfo,
    PeriodRecord,
    PreConventionData,
    PreConventionLearner,
    Workplace,
)
from tests.exports.samples import (  # noqa: E402
    DISCOVERY,
    OBJECTIVES,
    SCHOOL,
    TOUT_ELEC,
    competence_labels,
    grid,
    scale_of,
    seed_meeting_sheet,
    task_refs,
)

MELEC = "bac-pro-melec"
LEVELS = ("NOT_ACQUIRED", "BEGINNING", "PARTIAL", "ACQUIRED", "MASTERED")


def learner(index: int) -> LearnerInfo:
    return LearnerInfo(f"Prénom{index:03d}", f"NOM{index:03d}", f"1 MELEC {'AB'[index % 2]}", apprentice=index % 7 == 0)


def workplace(index: int) -> Workplace:
    return Workplace(
        company_name=f"Électricité Générale {index:03d}",
        activity_domain="Entreprise générale d'électricité (tertiaire et industrie)",
        service="Travaux neufs",
        tutor_name=f"Tuteur {index:03d}",
        tutor_role="Chef de chantier",
    )


def pre_convention_35() -> PreConventionData:
    tasks = task_refs(MELEC, ("T1-1", "T1-2", "T2-1", "T2-2", "T2-3", "T3-1", "T5-2"))
    learners = tuple(
        PreConventionLearner(learner(index), workplace(index) if index % 3 else None, OBJECTIVES, tasks)
        for index in range(35)
    )
    return PreConventionData(SCHOOL, DISCOVERY, learners)


def level_synthesis_100x3() -> LevelSynthesisData:
    competences = list(competence_labels(MELEC).items())
    periods = [
        PeriodInfo(f"PFMP {number}", start, start + timedelta(days=25), certifying=number != 3)
        for number, start in ((1, date(2026, 11, 16)), (2, date(2027, 3, 1)), (3, date(2027, 5, 31)))
    ]
    learners = []
    for index in range(100):
        records = []
        for number, period in enumerate(periods):
            results = tuple(
                CompetenceResult(code, label, LEVELS[(index + number + position) % len(LEVELS)])
                for position, (code, (label, _)) in enumerate(competences)
            )
            records.append(
                PeriodRecord(
                    period=period,
                    workplace=workplace(index),
                    days_done=Decimal("19.5") if index % 5 == 0 else Decimal(20),
                    fiches=tuple(FicheSummary(f"Fiche {n} : Activité {n} en entreprise") for n in range(1, 4)),
                    bilan=BilanSummary(True, period.end_date, 1 + (index + number) % 4, results),
                )
            )
        learners.append(LearnerPeriods(learner(index), tuple(records)))
    return LevelSynthesisData(SCHOOL, scale_of(MELEC), "Première Bac Pro MELEC", tuple(learners), "2026-2027")


def meeting_sheet_melec_by_criteria():
    activities = grid(MELEC, by_criteria=frozenset(competence_labels(MELEC)))
    return seed_meeting_sheet(scale=scale_of(MELEC), activities=activities, workplace=TOUT_ELEC)


CASES = {
    "pre-convention, 35 learners": (build_pre_convention, pre_convention_35),
    "level synthesis, 100 learners x 3 periods (MELEC)": (build_level_synthesis, level_synthesis_100x3),
    "meeting sheet, whole MELEC grid by criteria": (build_meeting_sheet, meeting_sheet_melec_by_criteria),
}


def measure(name: str, repeat: int) -> dict:
    build, make = CASES[name]
    data = make()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        content = build(data)
        times.append(time.perf_counter() - start)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    build(data)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "best": min(times),
        "median": sorted(times)[len(times) // 2],
        "size": len(content),
        "traced_peak": traced_peak,
        "rss_before": rss_before,
        "rss_after": rss_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed builds per document (default 3)")
    arguments = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    print(f"python {sys.version.split()[0]}, {arguments.repeat} timed builds per document, one process each")
    header = f"{'document':52} {'best s':>7} {'median s':>8} {'DOCX KiB':>8} {'tracemalloc MiB':>15} {'maxrss MiB':>17}"
    print(header)
    print("-" * len(header))
    with context.Pool(1, maxtasksperchild=1) as pool:
        for name in CASES:
            figures = pool.apply(measure, (name, arguments.repeat))
            rss = f"{figures['rss_after'] / 1024:.0f} (+{(figures['rss_after'] - figures['rss_before']) / 1024:.0f})"
            print(
                f"{name:52} {figures['best']:7.2f} {figures['median']:8.2f} {figures['size'] / 1024:8.0f} "
                f"{figures['traced_peak'] / 2**20:15.1f} {rss:>17}"
            )
    print("maxrss: peak resident memory of the process (+ growth while building, data already in memory)")


if __name__ == "__main__":
    main()
