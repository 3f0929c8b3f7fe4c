"""Messages in the request's language: French by default, English on request (`Accept-Language`).

The words live in gettext catalogs, `graph/locale/<language>/LC_MESSAGES/pfmp.po`, one per language, never in the
code. Each message is found by a context and a key:
- `reason`: the message of a payload error's `reason` (graph/errors.py, `Reason`);
- `error`: the message of a top-level error (`AppError.key`);
- `term`: a word a message names, such as the kind of row an ID does not name ("learner").

A template names its placeholders (`{max_length}`); a placeholder whose value is a `Term` is itself looked up in
the `term` context, and a date is written as the language writes it (« 1 septembre 2026 »; ISO in English, as the
API's own dates). The catalogs are compiled with Babel when first read (no build step: a fresh
`pip install -e .` serves them), and cached for the life of the process.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pfmp"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# A header longer than this is not a browser's: only its beginning is read.
MAX_HEADER = 1000
MAX_RANGES = 20


class Term(str):
    """A word of a message that is itself translated (context `term`), such as "learner"."""


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The language's catalog, compiled from its .po with Babel."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _ranges(header: str) -> list[tuple[float, int, str]]:
    """(-q, position, tag) of each language range of an Accept-Language header, q=0 and malformed ranges left out."""
    found = []
    for position, item in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *parameters = (part.strip() for part in item.split(";"))
        if not tag:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        if 0 < weight <= 1:
            found.append((-weight, position, tag))
    return sorted(found)


def negotiate(header: str | None) -> str:
    """The language to answer in: the client's most wanted one that we speak (`en-GB` is English), else French."""
    if not header:
        return DEFAULT_LANGUAGE
    preferred = []
    for _, _, tag in _ranges(header):
        if tag == "*":
            preferred.append(DEFAULT_LANGUAGE)
            continue
        try:
            preferred.append(str(Locale.parse(tag, sep="-")))
        except (ValueError, UnknownLocaleError):
            continue
    return negotiate_locale(preferred, LANGUAGES, sep="_") or DEFAULT_LANGUAGE


def template(context: str, key: str, language: str) -> str:
    """The raw template of `key` in `context`; the key itself when the catalog lacks it (a test forbids that)."""
    return translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).pgettext(context, key)


def _value(value: Any, language: str) -> Any:
    if isinstance(value, Term):
        return template("term", value, language)
    if isinstance(value, dt.date) and language != "en":
        return format_date(value, format="long", locale=language)
    return value


def render(context: str, key: str, params: dict[str, Any] | None, language: str) -> str:
    values = {name: _value(value, language) for name, value in (params or {}).items()}
    return template(context, key, language).format(**values)
