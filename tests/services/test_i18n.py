"""Every text exists in both languages, from every source that asks for one: the catalogs are complete and
agree, every key the code or a mail template uses is in them (literal keys, keys built from a prefix and an
enum's values, the texts of `_()`/`ngettext()` in templates), counted texts have plural forms, and the
browser's language is guessed."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from jinja2 import Environment

from services.platform import errors
from services.platform.i18n import detect_language, read_catalog, t
from services.platform.i18n_keys import code_files, data_keys, dynamic_keys

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates" / "mail"
# The functions that look a key up (their key comes first), and whether they count: tr_md counts with plural_n=.
LOOKUPS = {
    "t": "single",
    "tr": "single",
    "tr_md": "single",
    "texts": "single",
    "tn": "plural",
    "trn": "plural",
    "ntexts": "plural",
}


def placeholders(text: str) -> set[str]:
    """The `{name}` (str.format) and `%(name)s` (Jinja's gettext) parameters of a text."""
    braces = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return braces | set(re.findall(r"%\((\w+)\)s", text))


CATALOGS = {lang: read_catalog(lang) for lang in ("zh", "en")}


def entries(lang: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """Each key of a catalog: (plural?, its texts)."""
    found = {}
    for message in CATALOGS[lang]:
        if not message.id:
            continue
        plural = not isinstance(message.id, str)
        key = message.id[0] if plural else message.id
        texts = tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)
        found[key] = (plural, texts)
    return found


ZH, EN = entries("zh"), entries("en")


def source_files() -> list[Path]:
    files = code_files()
    assert len(files) > 50, "the scan found no code"
    return files


def _lookups() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Every key looked up with a literal (key -> (kind, file)) and every prefix of a key built in an f-string
    (f"stage.{s}": prefix -> file)."""
    literal: dict[str, tuple[str, str]] = {}
    prefixes: dict[str, str] = {}
    for path in source_files():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in LOOKUPS:
                continue
            first = node.args[0]
            kind = "plural" if any(k.arg == "plural_n" for k in node.keywords) else LOOKUPS[name]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literal.setdefault(first.value, (kind, where))
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
                prefixes.setdefault(str(first.values[0].value), where)
            elif isinstance(first, ast.IfExp):  # tr("a" if x else "b")
                for branch in (first.body, first.orelse):
                    if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                        literal.setdefault(branch.value, (kind, where))
    return literal, prefixes


LITERAL, PREFIXES = _lookups()
DYNAMIC = dynamic_keys()
KEY_PREFIXES = sorted({k.split(".", 1)[0] for k in ZH})


def literal_keys() -> dict[str, str]:
    """Every string literal in the code shaped like a key of a prefix the catalogs know."""
    return data_keys(set(KEY_PREFIXES))


def template_messages() -> dict[str, tuple[bool, str]]:
    """Every msgid a mail template asks for through the Jinja i18n extension: key -> (plural?, template)."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    found: dict[str, tuple[bool, str]] = {}
    for path in sorted(TEMPLATES.glob("*.j2")):
        for _, function, message in env.extract_translations(path.read_text(encoding="utf-8")):
            key = message if isinstance(message, str) else message[0]
            found.setdefault(key, (function in ("ngettext", "npgettext"), path.name))
    return found


# ---------------------------------------------------------------------------------------------- the catalogs
def test_both_catalogs_hold_the_same_keys() -> None:
    assert len(ZH) > 500, "the catalogs hold suspiciously few texts"
    assert sorted(set(ZH) - set(EN)) == [] and sorted(set(EN) - set(ZH)) == []


def test_every_catalog_entry_is_translated_in_both_languages_and_none_is_fuzzy() -> None:
    empty = [
        (lang, k)
        for lang, found in (("zh", ZH), ("en", EN))
        for k, (_, texts) in found.items()
        if not texts or not all(s.strip() for s in texts)
    ]
    assert empty == []
    fuzzy = [(lang, m.id) for lang, c in CATALOGS.items() for m in c if m.id and m.fuzzy]
    assert fuzzy == []


def test_the_catalogs_say_how_each_language_counts() -> None:
    assert CATALOGS["zh"].plural_forms == "nplurals=1; plural=0;"
    assert CATALOGS["en"].plural_forms == "nplurals=2; plural=(n != 1);"
    assert CATALOGS["zh"].locale.language == "zh" and CATALOGS["en"].locale.language == "en"


@pytest.mark.parametrize("key", sorted(ZH))
def test_every_text_has_the_same_placeholders_and_plural_shape_in_both_languages(key) -> None:
    (zh_plural, zh), (en_plural, en) = ZH[key], EN.get(key, (None, ()))
    assert zh_plural == en_plural
    assert len(zh) == 1 and len(en) == (2 if en_plural else 1)  # Chinese has one form, English two
    assert all(placeholders(text) == placeholders(zh[0]) for text in en)


def test_the_chinese_texts_are_chinese() -> None:
    # Most keys carry Han characters in zh; an English text pasted into the zh slot is a slip.
    # (A text of parameters and punctuation alone, like "%(title)s：%(detail)s", has no words to be Chinese.)
    words = {k: re.sub(r"\{\w+\}|%\(\w+\)s", "", texts[0]) for k, (_, texts) in ZH.items()}
    no_han = [k for k, text in words.items() if not re.search(r"[\u4e00-\u9fff]", text) and re.search("[A-Za-z]", text)]
    assert no_han == []


# ---------------------------------------------------------------------------------------------- the code
def test_every_key_looked_up_with_a_literal_exists_and_counted_ones_have_plural_forms() -> None:
    assert len(LITERAL) > 300, "the scan found suspiciously few lookups"
    assert {k: f for k, (_, f) in LITERAL.items() if k not in ZH} == {}
    assert {k: f for k, (kind, f) in LITERAL.items() if kind == "plural" and not ZH[k][0]} == {}
    assert {k: f for k, (kind, f) in LITERAL.items() if kind == "single" and ZH[k][0]} == {}, "a count needs tn/trn"


def test_every_literal_key_in_the_code_exists() -> None:
    keys = literal_keys()
    assert len(keys) > 300, "the scan found suspiciously few keys"
    assert {k: f for k, f in keys.items() if k not in ZH} == {}


def test_every_prefix_the_code_builds_keys_from_is_enumerated_here() -> None:
    # A new f"<prefix>.{…}" lookup must say, in platform/i18n_keys.py, which values it can take: else it escapes
    # this test and `pybabel extract`.
    assert {p: f for p, f in PREFIXES.items() if p not in DYNAMIC} == {}


@pytest.mark.parametrize("prefix", sorted(DYNAMIC))
def test_every_key_built_from_a_prefix_exists(prefix) -> None:
    values = DYNAMIC[prefix]
    assert values, f"no values found for {prefix}"
    assert sorted(v for v in values if f"{prefix}{v}" not in ZH) == []


def test_every_message_the_validation_layer_can_produce_exists() -> None:
    kinds = [
        "value_error",
        "missing",
        "string_too_short",
        "string_too_long",
        "greater_than_equal",
        "int_parsing",
        "enum",
        "date_parsing",
        "something_else",
    ]
    produced = {errors._message_for({"type": kind, "ctx": {"min_length": 3}})[0] for kind in kinds}
    produced.add(errors._message_for({"type": "string_too_short", "ctx": {"min_length": 1}})[0])
    assert sorted(k for k in produced if k not in ZH) == []


def test_every_domain_error_default_key_exists_and_its_count_makes_it_plural() -> None:
    from services.evaluate.evaluation import ScheduleConflict
    from services.pipeline.candidates import DuplicateCandidate
    from services.pipeline.importer import ImportFileError, ImportRowsError

    classes = [
        errors.DomainError,
        *errors.DomainError.__subclasses__(),
        DuplicateCandidate,
        ImportFileError,
        ImportRowsError,
        ScheduleConflict,
    ]
    assert sorted(c.key for c in classes if c.key not in ZH) == []
    assert sorted(c.key for c in classes if c.plural and not ZH[c.key][0]) == []


# ---------------------------------------------------------------------------------------------- the mail templates
def test_every_text_a_mail_template_asks_for_exists_with_the_right_plural_shape() -> None:
    used = template_messages()
    assert len(used) > 40, "the templates ask for suspiciously few texts"
    assert {k: f for k, (_, f) in used.items() if k not in ZH} == {}
    assert {k: f for k, (plural, f) in used.items() if plural != ZH[k][0]} == {}


def test_each_mail_template_exists_once_for_both_languages() -> None:
    assert sorted(p.name for p in TEMPLATES.glob("*.zh.j2")) + sorted(p.name for p in TEMPLATES.glob("*.en.j2")) == []


# ---------------------------------------------------------------------------------------------- the lookups
def test_t_fills_placeholders_and_falls_back_gracefully() -> None:
    assert t("err.too_long", "en", max=120) == "Too long: at most 120 characters."
    assert t("err.too_long", "zh", max=120) == "太长了，最多 120 个字符。"
    assert t("err.too_long", "en") == "Too long: at most {max} characters."
    assert t("err.too_long", "en", other=1) == "Too long: at most {max} characters."
    assert t("no.such_key", "en") == "no.such_key"
    assert t("app.title", "fr") == "面试后跟进"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN", "zh"),
        ("zh-TW,zh;q=0.8,en;q=0.5", "zh"),
        ("en_GB", "en"),
        ("de-DE,en;q=0.7,zh;q=0.3", "en"),
        ("fr-FR,de", "zh"),
        ("", "zh"),
        (None, "zh"),
    ],
)
def test_the_language_is_guessed_from_the_browser(accept, expected) -> None:
    assert detect_language(accept) == expected


def test_without_a_browser_hint_the_configured_default_is_used() -> None:
    assert detect_language(None, default="en") == "en"
    assert detect_language("ja-JP", default="en") == "en"
