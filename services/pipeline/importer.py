"""Import candidates from CSV or XLSX: every row or none, with a per-row error report."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.candidate import SOURCES, Candidate, CandidateCreate
from models.common import Language, phone_digits, utcnow
from models.import_mapping import ImportMapping
from models.job import Job
from models.user import User
from services.pipeline import candidates as candidate_service
from services.pipeline.spreadsheet import unquote_cell
from services.platform.db import savepoint
from services.platform.errors import DomainError, ValidationError, validate
from services.platform.i18n import LANGUAGES, t
from services.platform.policy import Cap, may_own_candidates, require_cap

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 100
# Excel's own limit for one cell; a longer one is a broken or hostile file (and csv's default limit is 128 KiB).
MAX_CELL_CHARS = 32_767
# An .xlsx is a zip: refuse before parsing when what it unpacks to is far beyond what 5,000 rows need
# (a 1.4 MB "zip bomb" unpacked to 1.5 GB), or when one member is compressed far more than real sheets are.
MAX_XLSX_UNPACKED = 60 * 1024 * 1024
MAX_XLSX_RATIO = 150
MAX_XLSX_MEMBERS = 500
IGNORE = ""  # the target of a file column that is not imported

# The fields a candidates file can fill; first_name and last_name are combined into the name.
CANDIDATE_FIELDS = [
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "wechat_id",
    "source",
    "tags",
    "owner_email",
    "language",
    "consent",
    "job",
    "notes",
]
# Header words people use for each field, in both languages; compared after `normalise_header`.
CANDIDATE_SYNONYMS: dict[str, list[str]] = {
    "name": [
        "name",
        "full name",
        "candidate",
        "candidate name",
        "applicant",
        "applicant name",
        "姓名",
        "名字",
        "候选人",
        "候选人姓名",
        "应聘者",
        "应聘者姓名",
        "应聘人",
        "人选",
        "人选姓名",
    ],
    "first_name": ["first name", "firstname", "given name", "forename", "名"],
    "last_name": ["last name", "lastname", "surname", "family name", "姓"],
    "email": [
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "邮箱地址",
        "电邮",
        "候选人邮箱",
    ],
    "phone": [
        "phone",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "telephone",
        "tel",
        "phone number",
        "contact number",
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话号码",
        "联系方式",
        "移动电话",
    ],
    "wechat_id": ["wechat", "wechat id", "weixin", "微信", "微信号", "微信id"],
    "source": ["source", "channel", "candidate source", "来源", "渠道", "简历来源", "招聘渠道", "候选人来源"],
    "tags": ["tags", "tag", "labels", "label", "skills", "keywords", "标签", "技能", "关键词"],
    "owner_email": [
        "owner",
        "owner email",
        "recruiter",
        "recruiter email",
        "负责人",
        "负责人邮箱",
        "招聘负责人",
        "招聘专员",
    ],
    "language": ["language", "preferred language", "语言", "沟通语言"],
    "consent": ["consent", "gdpr consent", "privacy consent", "同意", "授权", "同意授权", "隐私授权"],
    "job": [
        "job",
        "job title",
        "position",
        "role",
        "applied position",
        "applied for",
        "vacancy",
        "opening",
        "职位",
        "应聘职位",
        "岗位",
        "应聘岗位",
        "申请职位",
        "投递职位",
        "招聘职位",
    ],
    "notes": ["notes", "note", "comments", "comment", "remarks", "备注", "说明", "评语"],
}
TRUE_WORDS = ["yes", "y", "true", "1", "是", "同意", "已同意", "x", "√", "✓"]
FALSE_WORDS = ["no", "n", "false", "0", "否", "不同意", "未同意"]
# Words people use for a source beside the labels the app shows (内推 is what everyone says for 内部推荐).
SOURCE_ALIASES = {
    "内推": "referral",
    "员工推荐": "referral",
    "官网": "career_site",
    "公司官网": "career_site",
    "招聘平台": "job_board",
    "校招": "campus",
    "校园": "campus",
    "社交": "social",
}
LANGUAGE_ALIASES = {
    "中文": "zh",
    "简体中文": "zh",
    "汉语": "zh",
    "chinese": "zh",
    "英文": "en",
    "英语": "en",
    "english": "en",
}


def normalise_header(text: str) -> str:
    """A header as compared: full-width folded, lower case, without spaces, punctuation or a required-mark."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"[\s_\-.:：*()（）\[\]【】/]+", "", text)


def normalise_choice(text: str) -> str:
    """A value of an enum-like column as compared: case, width and whitespace (and _ -) do not matter."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text or "").casefold())


def _synonym_index(synonyms: dict[str, list[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for target, words in synonyms.items():
        for word in [target, *words]:
            index.setdefault(normalise_header(word), target)
    return index


# Header words the older, fixed-header importers accepted; they are all synonyms now.
HEADERS = {
    word: target
    for word, target in _synonym_index(CANDIDATE_SYNONYMS).items()
    if target not in ("first_name", "last_name")
}


@dataclass
class Choices:
    """The accepted values of an enum-like column: its values and the app's labels in both languages."""

    words: dict[str, str]  # normalised word -> value
    accepted: str  # what the error lists

    def pick(self, text: str) -> str | None:
        return self.words.get(normalise_choice(text))


def make_choices(values: list[str], label_prefix: str = "", aliases: dict[str, str] | None = None) -> Choices:
    """Choices for `values`, accepting each value, its zh and en labels (`label_prefix` + value) and aliases."""
    words: dict[str, str] = {}
    shown = []
    for value in values:
        labels = [t(label_prefix + value, lang) for lang in LANGUAGES] if label_prefix else []
        for word in [value, *labels]:
            words.setdefault(normalise_choice(word), value)
        shown.append(" / ".join(dict.fromkeys([*labels, value])))
    for word, value in (aliases or {}).items():
        words.setdefault(normalise_choice(word), value)
    return Choices(words, "; ".join(shown))


def source_choices() -> Choices:
    return make_choices(SOURCES, "source.", SOURCE_ALIASES)


def language_choices() -> Choices:
    return make_choices([lang.value for lang in Language], "", LANGUAGE_ALIASES)


def consent_choices() -> Choices:
    words = {normalise_choice(w): "yes" for w in TRUE_WORDS} | {normalise_choice(w): "no" for w in FALSE_WORDS}
    return Choices(words, " / ".join(TRUE_WORDS[:6]) + "; " + " / ".join(FALSE_WORDS[:6]))


class ImportFileError(DomainError):
    """The file as a whole cannot be read (format, size, no header)."""

    key = "err.import_file"


@dataclass
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    field: str
    key: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # (`field` here is the attribute above)
    value: str = ""
    column: str = ""  # the file's own header of the column, when the problem is in one cell


class ImportRowsError(DomainError):
    """Some cells cannot be imported at all (a NUL byte, a cell longer than a spreadsheet allows): by row and column."""

    key = "err.import_cells"
    plural = "rows"

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(rows=len({e.row for e in errors}))
        self.errors = errors


@dataclass
class ImportReport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class Rows(list[dict[str, str]]):
    """The data rows as {field: text}, with the spreadsheet's row number of each (blank lines are skipped,
    so the n-th row is not always on line n + 1)."""

    numbers: list[int]


def row_numbers(rows: list[dict[str, str]]) -> list[int]:
    """The spreadsheet row number of each row (rows given as a plain list count from 2, below the header)."""
    numbers = getattr(rows, "numbers", None)
    return list(numbers) if numbers is not None and len(numbers) == len(rows) else list(range(2, len(rows) + 2))


@dataclass
class Table:
    """A file as read: its header row and its data rows (row numbers as a spreadsheet shows them)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_table(*, filename: str, content: bytes) -> Table:
    """The header and data rows of a CSV or XLSX file, refusing files too large, too long or not a table."""
    if len(content) > MAX_BYTES:
        raise ImportFileError("err.import_too_big", mb=MAX_BYTES // (1024 * 1024))
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _xlsx_rows(content)
    elif name.endswith(".csv") or name.endswith(".txt"):
        table = _csv_rows(content)
    else:
        raise ImportFileError("err.import_format")
    numbered = [(number, r) for number, r in enumerate(table, start=1) if any((c or "").strip() for c in r)]
    if not numbered:
        raise ImportFileError("err.import_empty")
    if len(numbered) - 1 > MAX_ROWS:
        raise ImportFileError("err.import_too_many_rows", max=MAX_ROWS)
    header = [unquote_cell((h or "").strip())[:200] for h in numbered[0][1]]
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    if width > MAX_COLUMNS:
        raise ImportFileError("err.import_too_many_columns", max=MAX_COLUMNS)
    return Table(header=header[:width], rows=[(number, list(r)) for number, r in numbered[1:]])


def guess_mapping(header: list[str], synonyms: dict[str, list[str]] | None = None) -> list[str]:
    """The target field of each file column guessed from its header ("" = ignore); each field at most once.

    An exact synonym wins; otherwise the longest synonym the header ends with ("候选人手机" is a phone)."""
    index = _synonym_index(synonyms or CANDIDATE_SYNONYMS)
    taken: set[str] = set()
    mapping = []
    for text in header:
        key = normalise_header(text)
        target = index.get(key)
        if target is None and key:
            ends = [w for w in index if len(w) >= 2 and key.endswith(w)]
            target = index[max(ends, key=len)] if ends else None
        if target is None or target in taken:
            mapping.append(IGNORE)
        else:
            taken.add(target)
            mapping.append(target)
    if "name" in taken:  # a full name beats its parts
        mapping = [IGNORE if m in ("first_name", "last_name") else m for m in mapping]
    return mapping


def check_mapping(mapping: list[str], *, fields: list[str] | None = None, required: str = "name") -> None:
    """ValidationError unless the mapping names known fields, each at most once, and the required one."""
    fields = fields or CANDIDATE_FIELDS
    used = [m for m in mapping if m != IGNORE]
    if any(m not in fields for m in used):
        raise ValidationError.single("mapping", "err.choice_invalid")
    twice = sorted({m for m in used if used.count(m) > 1})
    if twice:
        raise ValidationError.single("mapping", "err.import_mapped_twice", target=twice[0])
    present = set(used)
    if required == "name":
        if "name" not in present and not {"first_name", "last_name"} & present:
            raise ValidationError.single("mapping", "err.import_name_unmapped")
        if "name" in present and {"first_name", "last_name"} & present:
            raise ValidationError.single("mapping", "err.import_name_and_parts")
    elif required not in present:
        raise ValidationError.single("mapping", "err.import_required_unmapped", target=required)


def _join_name(first: str, last: str) -> str:
    """First + last name as one: family name first and no space for Chinese (王 + 芳 = 王芳)."""
    if not first or not last:
        return first or last
    if _is_han(last[-1]) and _is_han(first[0]):
        return last + first
    return f"{first} {last}"


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def apply_mapping(table: Table, mapping: list[str]) -> Rows:
    """The data rows as {field: text} by the mapping; ImportRowsError names every unusable cell by row and column."""
    problems: list[RowError] = []
    rows = Rows()
    rows.numbers = [number for number, _ in table.rows]
    for number, raw in table.rows:
        row: dict[str, str] = {}
        for i, target in enumerate(mapping):
            if target == IGNORE:
                continue
            cell = raw[i] if i < len(raw) else ""
            cell = cell or ""
            column = table.header[i] if i < len(table.header) else ""
            if "\x00" in cell:
                problems.append(
                    RowError(number, target, "err.import_nul", column=column, value=cell.replace("\x00", "\\0")[:80])
                )
                continue
            if len(cell) > MAX_CELL_CHARS:
                problems.append(
                    RowError(
                        number,
                        target,
                        "err.import_cell_too_long",
                        {"max": MAX_CELL_CHARS},
                        column=column,
                        value=cell[:80] + "…",
                    )
                )
                continue
            row[target] = unquote_cell(cell.strip())
        if "first_name" in row or "last_name" in row:
            row["name"] = _join_name(row.pop("first_name", ""), row.pop("last_name", ""))
        rows.append(row)
    if problems:
        raise ImportRowsError(problems)
    return rows


def read_rows(*, filename: str, content: bytes, headers: dict[str, str] | None = None, required: str = "name") -> Rows:
    """The data rows of a CSV or XLSX file as {field: text}, by the accepted headers (candidates' by default)."""
    headers = headers or HEADERS
    table = read_table(filename=filename, content=content)
    taken: set[str] = set()
    mapping = []
    for text in table.header:
        target = headers.get(normalise_header(text)) or headers.get(text.strip().lower(), IGNORE)
        mapping.append(IGNORE if target in taken else target)
        taken.add(target)
    if required not in mapping:
        raise ImportFileError(
            "err.import_no_name_column" if required == "name" else "err.import_missing_column", column=required
        )
    return apply_mapping(table, mapping)


def header_signature(header: list[str]) -> str:
    """The key a mapping is remembered under: the normalised headers, in order, hashed."""
    return hashlib.sha256("\x1f".join(normalise_header(h) for h in header).encode("utf-8")).hexdigest()


def load_mapping(*, session: Session, actor: User, header: list[str], kind: str = "candidates") -> list[str] | None:
    """The mapping last confirmed for files with these headers, if any (and still valid)."""
    require_cap(actor, Cap.edit_candidates)
    saved = session.exec(
        select(ImportMapping).where(ImportMapping.kind == kind, ImportMapping.signature == header_signature(header))
    ).first()
    if saved is None:
        return None
    try:
        mapping = json.loads(saved.mapping)
    except ValueError:
        return None
    if not isinstance(mapping, list) or len(mapping) != len(header) or not all(isinstance(m, str) for m in mapping):
        return None
    return mapping


def save_mapping(
    *, session: Session, actor: User, header: list[str], mapping: list[str], kind: str = "candidates"
) -> None:
    """Remember the confirmed mapping for the next file with the same headers (replaces an older one)."""
    require_cap(actor, Cap.edit_candidates)
    check_mapping(mapping)
    if len(mapping) != len(header):
        raise ValidationError.single("mapping", "err.choice_invalid")
    signature = header_signature(header)
    saved = session.exec(
        select(ImportMapping).where(ImportMapping.kind == kind, ImportMapping.signature == signature)
    ).first()
    if saved is None:
        saved = ImportMapping(kind=kind, signature=signature)
    saved.mapping = json.dumps(mapping)
    saved.updated_by_id = actor.id
    saved.updated_at = utcnow()
    try:
        with savepoint(session):
            session.add(saved)
    except IntegrityError:  # two people confirmed the same layout at once: the other's mapping stands
        pass


def _csv_rows(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("err.import_encoding")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # The file is at most MAX_BYTES, so no field can be longer; an over-long cell is then named by row.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES + 1))
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as exc:
        raise ImportFileError("err.import_format") from exc


def _check_zip(content: bytes) -> None:
    """Refuse an .xlsx whose members unpack to far more than a 5,000-row sheet needs, before any parsing."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ImportFileError("err.import_format") from exc
    if len(members) > MAX_XLSX_MEMBERS:
        raise ImportFileError("err.import_xlsx_bomb", mb=MAX_XLSX_UNPACKED // (1024 * 1024))
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_XLSX_UNPACKED or (info.file_size > 1024 * 1024 and ratio > MAX_XLSX_RATIO):
            raise ImportFileError("err.import_xlsx_bomb", mb=MAX_XLSX_UNPACKED // (1024 * 1024))


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_zip(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError("err.import_format") from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        # Read one column past the limit, so a wider sheet is refused rather than silently cut.
        for values in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            rows.append(
                [
                    "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                    for v in values
                ]
            )
            if len(rows) > MAX_ROWS + 2:
                break
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError("err.import_format") from exc
    finally:
        book.close()
    if any(len(r) > MAX_COLUMNS and r[MAX_COLUMNS].strip() for r in rows):
        raise ImportFileError("err.import_too_many_columns", max=MAX_COLUMNS)
    return rows


def import_candidates(*, session: Session, actor: User, rows: list[dict[str, str]]) -> ImportReport:
    """Create a candidate (and application, when a job is named) per row; if any row is bad, create none."""
    require_cap(actor, Cap.edit_candidates)
    report = ImportReport()
    owners = {u.email: u for u in session.exec(select(User).where(User.is_active))}
    jobs = list(session.exec(select(Job)))
    open_jobs = [j for j in jobs if j.status == "open"]
    jobs_by_key = {str(j.id): j for j in jobs} | {normalise_choice(j.title): j for j in open_jobs}
    job_titles = "; ".join(sorted(j.title for j in open_jobs)[:30]) or "—"
    sources, languages, consents = source_choices(), language_choices(), consent_choices()
    seen_email: dict[str, int] = {}
    seen_phone: dict[str, int] = {}
    prepared: list[tuple[int, dict[str, Any], int | None]] = []
    for index, row in zip(row_numbers(rows), rows, strict=True):
        errors_before = len(report.errors)
        data: dict[str, Any] = {k: row.get(k, "") for k in ("name", "email", "phone", "wechat_id", "tags", "notes")}
        data["email"] = data["email"] or None
        data["phone"] = data["phone"] or None
        for name, choices, empty in (
            ("source", sources, "other"),
            ("language", languages, "zh"),
            ("consent", consents, "no"),
        ):
            text = row.get(name, "")
            picked = choices.pick(text) if text.strip() else empty
            if picked is None:
                report.errors.append(
                    RowError(index, name, "err.import_choice", {"accepted": choices.accepted}, value=text[:80])
                )
                picked = empty
            data[name] = picked
        data["consent"] = data["consent"] == "yes"
        owner_email = row.get("owner_email", "").lower()
        if owner_email:
            owner = owners.get(owner_email)
            if owner is None or not may_own_candidates(owner):
                report.errors.append(RowError(index, "owner_email", "err.not_a_recruiter", value=owner_email))
            else:
                data["owner_id"] = owner.id
        job_id = None
        if row.get("job"):
            job = jobs_by_key.get(row["job"].strip()) or jobs_by_key.get(normalise_choice(row["job"]))
            if job is None or job.status != "open":
                report.errors.append(
                    RowError(index, "job", "err.import_job_unknown", {"accepted": job_titles}, value=row["job"][:80])
                )
            else:
                job_id = job.id
        try:
            valid = validate(CandidateCreate, data)
        except ValidationError as exc:
            for fname, (key, params) in exc.fields.items():
                report.errors.append(RowError(index, fname, key, params, str(data.get(fname) or "")[:80]))
            continue
        if valid.email:
            if valid.email in seen_email:
                report.errors.append(
                    RowError(
                        index, "email", "err.import_duplicate_in_file", {"row": seen_email[valid.email]}, valid.email
                    )
                )
            seen_email.setdefault(valid.email, index)
        digits = phone_digits(valid.phone)
        if digits:
            if digits in seen_phone:
                report.errors.append(
                    RowError(
                        index, "phone", "err.import_duplicate_in_file", {"row": seen_phone[digits]}, valid.phone or ""
                    )
                )
            seen_phone.setdefault(digits, index)
        if len(report.errors) == errors_before:
            prepared.append((index, data, job_id))
    _flag_existing(session, seen_email, seen_phone, report)
    if report.errors:
        report.errors.sort(key=lambda e: e.row)
        return report
    current_row = 0
    try:
        # All rows or none: a refused row undoes the rows before it, and the report says which row it was.
        with savepoint(session):
            for row_number, data, job_id in prepared:
                current_row = row_number
                candidate_service.create_candidate(
                    session=session,
                    actor=actor,
                    candidate_in=data,
                    job_id=job_id,
                    allow_duplicate=True,
                    consent_method="import",
                )
    except DomainError as exc:
        report.errors.append(RowError(current_row, "", exc.key, exc.params))
        return report
    report.created = len(prepared)
    return report


def _flag_existing(session: Session, emails: dict[str, int], phones: dict[str, int], report: ImportReport) -> None:
    """Report rows whose email or phone already belongs to a candidate, in a few batched queries."""
    email_list, phone_list = list(emails), list(phones)
    for start in range(0, max(len(email_list), len(phone_list)), 500):
        chunk_e, chunk_p = email_list[start : start + 500], phone_list[start : start + 500]
        found = session.exec(
            select(Candidate.id, Candidate.name, Candidate.email, Candidate.phone_digits).where(
                col(Candidate.anonymised_at).is_(None),
                or_(col(Candidate.email).in_(chunk_e), col(Candidate.phone_digits).in_(chunk_p)),
            )
        ).all()
        for cid, name, email, digits in found:
            if email in emails:
                report.errors.append(
                    RowError(emails[email], "email", "err.import_exists", {"id": cid, "name": name}, email)
                )
            elif digits in phones:
                report.errors.append(
                    RowError(phones[digits], "phone", "err.import_exists", {"id": cid, "name": name}, digits)
                )
