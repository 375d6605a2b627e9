"""Import candidates from CSV or XLSX: every row or none, with a per-row error report."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.candidate import Candidate, CandidateCreate
from models.common import Role, phone_digits
from models.job import Job
from models.user import User
from services import candidates as candidate_service
from services.auth import require
from services.errors import DomainError, ValidationError, validate

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000

# Column headers accepted in either language (lower-cased), mapped to field names.
HEADERS = {
    "name": "name", "姓名": "name", "email": "email", "邮箱": "email", "电子邮件": "email",
    "phone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
    "wechat": "wechat_id", "wechat_id": "wechat_id", "微信": "wechat_id", "微信号": "wechat_id",
    "source": "source", "来源": "source", "tags": "tags", "标签": "tags",
    "owner_email": "owner_email", "owner": "owner_email", "负责人": "owner_email", "负责人邮箱": "owner_email",
    "language": "language", "语言": "language", "consent": "consent", "同意": "consent",
    "job": "job", "职位": "job", "notes": "notes", "备注": "notes",
}
TRUE_WORDS = {"yes", "y", "true", "1", "是", "同意", "x"}
LANG_WORDS = {"zh": "zh", "中文": "zh", "chinese": "zh", "en": "en", "english": "en", "英文": "en", "": "zh"}


class ImportFileError(DomainError):
    """The file as a whole cannot be read (format, size, no header)."""

    key = "err.import_file"


@dataclass
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    field: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    value: str = ""


@dataclass
class ImportReport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rows(*, filename: str, content: bytes, headers: dict[str, str] | None = None,
              required: str = "name") -> list[dict[str, str]]:
    """The data rows of a CSV or XLSX file as {field: text}, by the accepted headers (candidates' by default)."""
    headers = headers or HEADERS
    if len(content) > MAX_BYTES:
        raise ImportFileError("err.import_too_big", mb=MAX_BYTES // (1024 * 1024))
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _xlsx_rows(content)
    elif name.endswith(".csv") or name.endswith(".txt"):
        table = _csv_rows(content)
    else:
        raise ImportFileError("err.import_format")
    table = [r for r in table if any((c or "").strip() for c in r)]
    if not table:
        raise ImportFileError("err.import_empty")
    header = [headers.get((h or "").strip().lower(), "") for h in table[0]]
    if required not in header:
        raise ImportFileError("err.import_no_name_column" if required == "name" else "err.import_missing_column",
                              column=required)
    if len(table) - 1 > MAX_ROWS:
        raise ImportFileError("err.import_too_many_rows", max=MAX_ROWS)
    rows = []
    for raw in table[1:]:
        row = {h: (raw[i] if i < len(raw) else "").strip() for i, h in enumerate(header) if h}
        rows.append(row)
    return rows


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
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError("err.import_format") from exc
    sheet = book.worksheets[0]
    rows = []
    for values in sheet.iter_rows(values_only=True):
        rows.append(["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                     for v in values])
        if len(rows) > MAX_ROWS + 2:
            break
    book.close()
    return rows


def import_candidates(*, session: Session, actor: User, rows: list[dict[str, str]]) -> ImportReport:
    """Create a candidate (and application, when a job is named) per row; if any row is bad, create none."""
    require(actor, *candidate_service.EDITORS)
    report = ImportReport()
    owners = {u.email: u for u in session.exec(select(User).where(User.is_active))}
    jobs = list(session.exec(select(Job)))
    jobs_by_key = {str(j.id): j for j in jobs} | {j.title.lower(): j for j in jobs if j.status == "open"}
    seen_email: dict[str, int] = {}
    seen_phone: dict[str, int] = {}
    prepared: list[tuple[int, dict, int | None]] = []
    for index, row in enumerate(rows, start=2):
        errors_before = len(report.errors)
        data: dict[str, Any] = {k: row.get(k, "") for k in ("name", "email", "phone", "wechat_id", "tags", "notes")}
        data["source"] = row.get("source") or "other"
        data["email"] = data["email"] or None
        data["phone"] = data["phone"] or None
        data["language"] = LANG_WORDS.get(row.get("language", "").lower(), row.get("language", ""))
        data["consent"] = row.get("consent", "").lower() in TRUE_WORDS
        owner_email = row.get("owner_email", "").lower()
        if owner_email:
            owner = owners.get(owner_email)
            if owner is None or not owner.has_role(Role.recruiter, Role.admin):
                report.errors.append(RowError(index, "owner_email", "err.not_a_recruiter", value=owner_email))
            else:
                data["owner_id"] = owner.id
        job_id = None
        if row.get("job"):
            job = jobs_by_key.get(row["job"].lower())
            if job is None or job.status != "open":
                report.errors.append(RowError(index, "job", "err.job_unknown", value=row["job"]))
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
                report.errors.append(RowError(index, "email", "err.import_duplicate_in_file",
                                              {"row": seen_email[valid.email]}, valid.email))
            seen_email.setdefault(valid.email, index)
        digits = phone_digits(valid.phone)
        if digits:
            if digits in seen_phone:
                report.errors.append(RowError(index, "phone", "err.import_duplicate_in_file",
                                              {"row": seen_phone[digits]}, valid.phone or ""))
            seen_phone.setdefault(digits, index)
        if len(report.errors) == errors_before:
            prepared.append((index, data, job_id))
    _flag_existing(session, prepared, seen_email, seen_phone, report)
    if report.errors:
        report.errors.sort(key=lambda e: e.row)
        return report
    current_row = 0
    try:
        for row_number, data, job_id in prepared:
            current_row = row_number
            candidate_service.create_candidate(session=session, actor=actor, candidate_in=data, job_id=job_id,
                                               allow_duplicate=True, commit=False)
        session.commit()
    except DomainError as exc:
        session.rollback()
        report.errors.append(RowError(current_row, "", exc.key, exc.params))
        return report
    report.created = len(prepared)
    return report


def _flag_existing(session: Session, prepared: list[tuple[int, dict, int | None]], emails: dict[str, int],
                   phones: dict[str, int], report: ImportReport) -> None:
    """Report rows whose email or phone already belongs to a candidate, in a few batched queries."""
    email_list, phone_list = list(emails), list(phones)
    for start in range(0, max(len(email_list), len(phone_list)), 500):
        chunk_e, chunk_p = email_list[start:start + 500], phone_list[start:start + 500]
        found = session.exec(
            select(Candidate.id, Candidate.name, Candidate.email, Candidate.phone_digits).where(
                col(Candidate.anonymised_at).is_(None),
                or_(col(Candidate.email).in_(chunk_e), col(Candidate.phone_digits).in_(chunk_p)),
            )
        ).all()
        for cid, name, email, digits in found:
            if email in emails:
                report.errors.append(RowError(emails[email], "email", "err.import_exists",
                                              {"id": cid, "name": name}, email))
            elif digits in phones:
                report.errors.append(RowError(phones[digits], "phone", "err.import_exists",
                                              {"id": cid, "name": name}, digits))
