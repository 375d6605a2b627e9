"""Every text a person reads, in 简体中文 and English, from the gettext catalogs in `locales/`.

Keys are stable msgids ("app.title"); each language's catalog holds its text as msgstr. Parameters are filled
with str.format (`{name}`), except in mail templates, where Jinja's i18n extension fills `%(name)s`. Translators
edit `locales/<lang>/LC_MESSAGES/messages.po` (README, "Languages"); the catalogs are compiled in-process at
first use, so no build step stands between an edit and a run.

One Streamlit process serves many people in different languages: the translator is chosen per call (`t(key,
lang)`), never installed process-wide with gettext.install().
"""

from __future__ import annotations

import gettext
from datetime import date, datetime, time, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("zh", "en")
LOCALES = Path(__file__).resolve().parents[2] / "locales"
# The Babel locale of each language: dates, numbers and plural rules follow it.
BABEL_LOCALES = {"zh": "zh_CN", "en": "en"}


def _language(lang: str | None) -> str:
    # Anything but English falls back to Chinese, the app's first language (as the (zh, en) table did).
    return lang if lang in LANGUAGES else "zh"


def catalog_path(lang: str) -> Path:
    """Where the catalog of `lang` lives."""
    return LOCALES / _language(lang) / "LC_MESSAGES" / "messages.po"


def read_catalog(lang: str) -> Catalog:
    """The catalog of `lang` as Babel reads it (for tests and tools; the app uses `translations`)."""
    with catalog_path(lang).open("rb") as f:
        return read_po(f, locale=BABEL_LOCALES[_language(lang)])


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog of `lang`, built once per process from its .po file.

    Compiled here rather than committed as .mo files: a .mo that lags its .po would show old texts, and the
    two commands of the README (run, test) need no build step. A few hundred entries compile in milliseconds.
    Fuzzy entries are left out, as msgfmt does: a guess is not a translation.
    """
    buffer = BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _fill(text: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        # A text whose parameters do not fit shows unfilled: a visible slip, never a crash.
        return text


def t(key: str, lang: str = "zh", /, **params: Any) -> str:
    """The text for `key` in `lang`; an unknown key shows itself so a gap is visible, never a crash."""
    return _fill(translations(_language(lang)).gettext(key), params)


def tn(key: str, n: int, lang: str = "zh", /, **params: Any) -> str:
    """The text for `key` in `lang` in the plural form that count `n` takes ("1 candidate", "2 candidates");
    `params` fill it as with `t` (the count among them, under the name the text uses)."""
    return _fill(translations(_language(lang)).ngettext(key, key, n), params)


def keys(lang: str = "zh") -> frozenset[str]:
    """Every key the catalog of `lang` holds."""
    return _keys(_language(lang))


@cache
def _keys(lang: str) -> frozenset[str]:
    return frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog(lang) if m.id)


def has_text(key: str) -> bool:
    """Whether `key` is a text of the catalogs (e.g. a form field's label)."""
    return key in keys("zh")


def babel_locale(lang: str) -> Locale:
    """The Babel locale of `lang` (zh_CN or en), for dates and numbers."""
    return Locale.parse(BABEL_LOCALES[_language(lang)])


# Dates and times read the same in both languages today ("2026-12-01 10:00"): ISO-like patterns, not the locale's
# long forms, so the pages and mails look as they did; the locale still decides digits and any names in them.
DATETIME_PATTERN = "yyyy-MM-dd HH:mm"
DATE_PATTERN = "yyyy-MM-dd"
TIME_PATTERN = "HH:mm"


def fmt_datetime(value: datetime, lang: str, tz: tzinfo | None = None, pattern: str = DATETIME_PATTERN) -> str:
    """`value` as a person reads it in `lang`, in time zone `tz` (the company's) if given."""
    if tz is not None:
        value = value.astimezone(tz)
    return format_datetime(value, pattern, locale=babel_locale(lang))


def fmt_date(value: date, lang: str, pattern: str = DATE_PATTERN) -> str:
    """`value` (a day) as a person reads it in `lang`."""
    return format_date(value, pattern, locale=babel_locale(lang))


def fmt_time(value: time | datetime, lang: str, pattern: str = TIME_PATTERN) -> str:
    """`value` (a time of day) as a person reads it in `lang`."""
    return format_time(value, pattern, locale=babel_locale(lang))


def fmt_number(value: float, lang: str, pattern: str = "#,##0") -> str:
    """A number (a count, an amount of money) with the grouping of `lang`'s locale: "25,000" in both today."""
    return format_decimal(value, pattern, locale=babel_locale(lang))


def detect_language(accept: str | None, default: str = "zh") -> str:
    """'zh' or 'en' from a browser locale or an Accept-Language header, in the browser's order."""
    if not accept:
        return default
    for part in accept.replace("_", "-").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("zh"):
            return "zh"
        if code.startswith("en"):
            return "en"
    return default
