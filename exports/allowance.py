"""The PFMP allowance statement of a period: the figures, the head of school's decision to sign (DOCX) and the
file for the school's accounting (CSV).

Since 2023 the State pays school-status learners (apprentices excluded) a flat amount per day of PFMP actually
done, at a daily rate set by their diploma year; the head of school decides the amounts at the end of each
period. Money is counted in integer cents: a line's amount is its days done (whole or half days) times the daily
rate, rounded half up to the cent (only a rate with an odd number of cents and a half day round). No float.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from exports.common import (
    BLANK,
    NBSP,
    format_date,
    format_days,
    heading,
    identity_table,
    new_document,
    paragraph,
    spacer,
    title,
    to_bytes,
    usable_width_cm,
)
from exports.data import SchoolInfo
from exports.wordml import Cell, Run, Table

DOCUMENT_TITLE = "Allocation PFMP"
FULL_TITLE = "Décision d'attribution de l'allocation de PFMP"
DRAFT_MARK = "BROUILLON — état non validé, montants provisoires"
NO_LEARNER = "Aucun apprenant sous statut scolaire n'est affecté à cette période."

# Why a statement cannot be computed.
NO_DIPLOMA_YEAR = "NO_DIPLOMA_YEAR"
NO_RATE = "NO_RATE"
PROBLEMS = {
    NO_DIPLOMA_YEAR: "Le niveau n'indique pas l'année du diplôme préparé : le taux journalier ne peut être choisi.",
    NO_RATE: "Aucun taux journalier n'est en vigueur à la date de fin de la période pour cette année de diplôme.",
}

# `DiplomaYear` values as the decision words them.
DIPLOMA_YEARS = {
    "CAP_1": "CAP, première année",
    "CAP_2": "CAP, deuxième année",
    "CAP_ONE_YEAR": "CAP en un an",
    "BAC_PRO_SECONDE": "Baccalauréat professionnel, seconde",
    "BAC_PRO_PREMIERE": "Baccalauréat professionnel, première",
    "BAC_PRO_TERMINALE": "Baccalauréat professionnel, terminale",
}

CSV_HEADER = ("Nom", "Prénom", "INE", "Jours effectués", "Taux journalier (€)", "Montant (€)", "Statut")


@dataclass(frozen=True)
class RateRow:
    """One daily rate: `school_id` None for the national rates."""

    id: int
    school_id: int | None
    diploma_year: str
    valid_from: date
    daily_rate_cents: int


@dataclass(frozen=True)
class AllowanceLine:
    """One school-status learner of the period. `amount_cents` is None while the days are not recorded (or no
    rate applies)."""

    learner_id: int
    portfolio_id: int
    last_name: str
    first_name: str
    national_id: str | None
    days_done: Decimal | None
    amount_cents: int | None


@dataclass(frozen=True)
class StatementData:
    """A period's statement, live or as validated (`validated_at` set)."""

    school: SchoolInfo
    period_id: int
    period_name: str
    start_date: date
    end_date: date
    level_name: str
    diploma_name: str | None
    diploma_year: str | None
    rate: RateRow | None
    lines: tuple[AllowanceLine, ...]
    # Why the amounts cannot be computed (NO_DIPLOMA_YEAR, NO_RATE), None when they can.
    problem: str | None = None
    validated_at: datetime | None = None
    validated_by: str | None = None
    # The period's apprentices the viewer reaches: not entitled, only counted.
    apprentice_count: int = 0

    @property
    def validated(self) -> bool:
        return self.validated_at is not None

    @property
    def missing(self) -> tuple[AllowanceLine, ...]:
        """Learners whose days done are not recorded yet."""
        return tuple(line for line in self.lines if line.days_done is None)

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines if line.amount_cents is not None)


def rate_in_force(rates: list[RateRow], diploma_year: str, on: date, school_id: int) -> RateRow | None:
    """The rate of `diploma_year` in force on `on`: the one of latest `valid_from` not after it, the school's
    own before the national one from the same day."""
    candidates = [
        rate
        for rate in rates
        if rate.diploma_year == diploma_year and rate.valid_from <= on and rate.school_id in (None, school_id)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda rate: (rate.valid_from, rate.school_id is not None, rate.id))


def amount_cents(days_done: Decimal, daily_rate_cents: int) -> int:
    """Days done × daily rate, in cents, rounded half up."""
    return int((Decimal(days_done) * daily_rate_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def euros(cents: int) -> Decimal:
    """Cents as euros, exactly: 1550 → Decimal("15.50")."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def french_euros(cents: int | None, *, unit: bool = True) -> str:
    """1234,50 € as a French reader writes it (non-breaking space before thousands and the sign); None → "—"."""
    if cents is None:
        return "—"
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", NBSP)
    text = f"{'-' if cents < 0 else ''}{grouped},{rest:02d}"
    return f"{text}{NBSP}€" if unit else text


def diploma_line(name: str | None, year: str | None) -> str:
    parts = [part for part in (name, DIPLOMA_YEARS.get(year or "", year)) if part]
    return " — ".join(parts)


def status_line(data: StatementData) -> str:
    if data.validated_at is not None:
        who = f" par {data.validated_by}" if data.validated_by else ""
        return f"Validé le {format_date(data.validated_at.date())}{who}"
    return DRAFT_MARK


# --- the decision to sign ----------------------------------------------------


def build_allowance_statement(data: StatementData) -> bytes:
    """The head of school's decision for one period, as DOCX bytes (A4 portrait)."""
    document = new_document(data.school, DOCUMENT_TITLE)
    subtitle = f"{data.period_name} — {data.level_name}"
    title(document, FULL_TITLE, subtitle)
    if not data.validated:
        paragraph(document, Run(DRAFT_MARK, bold=True, color="C00000"))
    rate = data.rate
    rate_text = (
        f"{french_euros(rate.daily_rate_cents)} par jour effectué (en vigueur depuis le {format_date(rate.valid_from)})"
        if rate is not None
        else "—"
    )
    school_text = data.school.name + (f", {data.school.address}" if data.school.address else "")
    identity_table(
        document,
        [
            ("Établissement", f"{school_text} (UAI {data.school.uai})"),
            ("Période", f"{data.period_name}, du {format_date(data.start_date)} au {format_date(data.end_date)}"),
            ("Niveau", data.level_name),
            ("Diplôme préparé", diploma_line(data.diploma_name, data.diploma_year) or "—"),
            ("Taux journalier", rate_text),
            ("État", status_line(data)),
        ],
    )
    paragraph(
        document,
        "Vu le décret n° 2023-765 du 11 août 2023 et l'arrêté du même jour fixant les montants de l'allocation "
        "versée aux lycéens de la voie professionnelle pour les périodes de formation en milieu professionnel, "
        "le chef d'établissement décide d'attribuer aux élèves sous statut scolaire ci-dessous l'allocation "
        "correspondant aux jours de formation en milieu professionnel effectivement réalisés.",
    )
    if data.problem is not None:
        paragraph(document, Run(f"Montants non calculables : {PROBLEMS[data.problem]}", bold=True))
    heading(document, "Élèves bénéficiaires", 2)
    if not data.lines:
        paragraph(document, NO_LEARNER, italic=True)
    else:
        _lines_table(document, data)
    if data.missing:
        names = ", ".join(f"{line.last_name} {line.first_name}" for line in data.missing)
        paragraph(document, f"Jours effectués non encore renseignés : {names}.", italic=True)
    if data.apprentice_count:
        paragraph(
            document,
            f"Apprentis de la période, non concernés par l'allocation : {data.apprentice_count}.",
            italic=True,
        )
    _signature(document, data.school.head_of_school)
    return to_bytes(document)


def _lines_table(document, data: StatementData) -> None:
    width = usable_width_cm(document)
    widths = (4.2, 3.6, 3.0, 2.4, width - 4.2 - 3.6 - 3.0 - 2.4)
    table = Table(document, widths)
    table.row(["Nom", "Prénom", "INE", "Jours effectués", "Montant"], header=True)
    for line in data.lines:
        table.row(
            [
                Cell(line.last_name, bold=True),
                line.first_name,
                line.national_id or "",
                Cell(format_days(line.days_done), center=True),
                Cell(french_euros(line.amount_cents), center=True),
            ]
        )
    table.row(
        [
            Cell("Total", bold=True, span=3),
            Cell(format_days(sum((line.days_done or Decimal(0) for line in data.lines), Decimal(0))), center=True),
            # no total to decide while the amounts cannot be computed
            Cell(french_euros(None if data.problem else data.total_cents), bold=True, center=True),
        ]
    )
    spacer(document)


def _signature(document, head_of_school: str | None) -> None:
    heading(document, "Décision du chef d'établissement", 2)
    paragraph(document, f"Fait à {BLANK[:22]}, le ____ / ____ / ________", keep_with_next=True)
    width = usable_width_cm(document)
    table = Table(document, (width,))
    head = f"Le chef d'établissement, {head_of_school}" if head_of_school else "Le chef d'établissement"
    table.row([head], header=True, keep_with_next=True)
    table.row([Cell("Signature et cachet de l'établissement :", italic=True, top=True)], height_cm=3.0)
    paragraph(
        document,
        "Pièce justificative à conserver dix ans par l'établissement (conventions, attestations, jours effectués).",
        italic=True,
    )


# --- the accounting file -------------------------------------------------------


def build_allowance_csv(data: StatementData) -> bytes:
    """One row per school-status learner, `;`-separated with decimal commas and a UTF-8 byte order mark, as a
    French spreadsheet opens it: last name, first name, INE, days done, daily rate and amount in euros, and
    whether the statement is validated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    state = "VALIDÉ" if data.validated else "BROUILLON"
    rate = (
        french_euros(data.rate.daily_rate_cents, unit=False).replace(NBSP, "")
        if data.rate and data.problem is None
        else ""
    )
    for line in data.lines:
        writer.writerow(
            [
                line.last_name,
                line.first_name,
                line.national_id or "",
                "" if line.days_done is None else format_days(line.days_done),
                rate,
                "" if line.amount_cents is None else french_euros(line.amount_cents, unit=False).replace(NBSP, ""),
                state,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
