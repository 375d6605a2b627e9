"""Every text exists in both languages, every key the code uses exists, and the browser's language is guessed."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from models.candidate import SOURCES, CandidateCreate, CandidateUpdate
from models.common import JobStatus, Role, Stage
from models.job import JobCreate, JobUpdate
from models.user import UserCreate, UserUpdate
from services import errors
from services.i18n import TEXTS, detect_language, t

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["pages", "ui", "services", "models"]
KEY_RE = re.compile(
    r'"((?:err|app|nav|field|cand|common|jobs|users|account|import|setup|signin|noaccess|help|role|stage|source'
    r'|job_status|audit)\.[a-z_]+)"')
VALUE_ERROR_RE = re.compile(r"""ValueError\(\s*["'](err\.[a-z_]+)["']""")
AUDIT_ACTION_RE = re.compile(r"""action\s*=\s*["']([a-z_]+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# Names service functions ("users.create_user"), not texts.
NOT_TEXTS = {ROOT / "services" / "policy.py"}


def source_files() -> list[Path]:
    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py")) if p not in NOT_TEXTS]
    assert files, "the scan found no code"
    return files


def used_keys() -> dict[str, str]:
    """Every literal message key in the code, with the first file that uses it."""
    found: dict[str, str] = {}
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        for key in KEY_RE.findall(text) + VALUE_ERROR_RE.findall(text):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_chinese_and_english_with_the_same_placeholders(key) -> None:
    zh, en = TEXTS[key]
    assert zh.strip() and en.strip()
    assert placeholders(zh) == placeholders(en)


def test_the_chinese_texts_are_chinese() -> None:
    # Most keys carry Han characters in zh; an English text pasted into the zh slot is a slip.
    no_han = [k for k, (zh, _) in TEXTS.items() if not re.search(r"[\u4e00-\u9fff]", zh)]
    assert no_han == []


def test_every_key_used_in_the_code_exists() -> None:
    keys = used_keys()
    assert len(keys) > 50, "the scan found suspiciously few keys"
    missing = {k: f for k, f in keys.items() if k not in TEXTS}
    assert missing == {}


def test_every_audit_action_written_by_the_services_has_a_label() -> None:
    actions = {a for p in source_files() for a in AUDIT_ACTION_RE.findall(p.read_text(encoding="utf-8"))}
    assert {"create", "update", "move_stage"} <= actions
    assert sorted(a for a in actions if f"audit.{a}" not in TEXTS) == []


def test_every_message_the_validation_layer_can_produce_exists() -> None:
    kinds = ["value_error", "missing", "string_too_short", "string_too_long", "greater_than_equal", "int_parsing",
             "enum", "date_parsing", "something_else"]
    produced = {errors._message_for({"type": kind, "ctx": {"min_length": 3}})[0] for kind in kinds}
    produced.add(errors._message_for({"type": "string_too_short", "ctx": {"min_length": 1}})[0])
    assert sorted(k for k in produced if k not in TEXTS) == []


def test_every_domain_error_default_key_exists() -> None:
    classes = [errors.DomainError, *errors.DomainError.__subclasses__()]
    from services.candidates import DuplicateCandidate
    from services.importer import ImportFileError

    classes += [DuplicateCandidate, ImportFileError]
    assert sorted(c.key for c in classes if c.key not in TEXTS) == []


@pytest.mark.parametrize(
    ("prefix", "values"),
    [("stage", [s.value for s in Stage]), ("role", [r.value for r in Role]),
     ("job_status", [s.value for s in JobStatus]), ("source", SOURCES)],
)
def test_every_choice_has_a_label(prefix, values) -> None:
    assert [v for v in values if f"{prefix}.{v}" not in TEXTS] == []


@pytest.mark.parametrize("schema", [CandidateCreate, CandidateUpdate, JobCreate, JobUpdate, UserCreate, UserUpdate])
def test_every_form_field_has_a_label(schema) -> None:
    assert [f for f in schema.model_fields if f"field.{f}" not in TEXTS] == []


def test_every_import_column_has_a_label() -> None:
    from services.importer import HEADERS

    assert sorted({f for f in HEADERS.values() if f"field.{f}" not in TEXTS}) == []


def test_t_fills_placeholders_and_falls_back_gracefully() -> None:
    assert t("err.too_long", "en", max=120) == "Too long: at most 120 characters."
    assert t("err.too_long", "zh", max=120) == "太长了，最多 120 个字符。"
    assert t("err.too_long", "en") == "Too long: at most {max} characters."
    assert t("err.too_long", "en", other=1) == "Too long: at most {max} characters."
    assert t("no.such_key", "en") == "no.such_key"
    assert t("app.title", "fr") == "面试后跟进"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("en-US,en;q=0.9", "en"), ("zh-CN", "zh"), ("zh-TW,zh;q=0.8,en;q=0.5", "zh"), ("en_GB", "en"),
     ("de-DE,en;q=0.7,zh;q=0.3", "en"), ("fr-FR,de", "zh"), ("", "zh"), (None, "zh")],
)
def test_the_language_is_guessed_from_the_browser(accept, expected) -> None:
    assert detect_language(accept) == expected


def test_without_a_browser_hint_the_configured_default_is_used() -> None:
    assert detect_language(None, default="en") == "en"
    assert detect_language("ja-JP", default="en") == "en"
