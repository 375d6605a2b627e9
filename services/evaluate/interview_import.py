"""Import interviews from CSV or XLSX: every row or none, with a per-row error report (as for candidates)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage
from models.evaluation import InterviewMode, InterviewRound
from models.job import Job
from models.user import User
from services.evaluate import evaluation
from services.pipeline.importer import ImportReport, RowError, make_choices, normalise_choice, row_numbers
from services.platform.config import get_settings
from services.platform.db import savepoint
from services.platform.errors import DomainError, ValidationError
from services.platform.policy import Cap, may_sit_on_panels, require_cap

HEADERS = {
    "candidate_email": "candidate_email",
    "email": "candidate_email",
    "候选人邮箱": "candidate_email",
    "邮箱": "candidate_email",
    "job": "job",
    "职位": "job",
    "round": "round",
    "轮次": "round",
    "面试轮次": "round",
    "start": "start",
    "开始时间": "start",
    "minutes": "minutes",
    "时长": "minutes",
    "时长（分钟）": "minutes",
    "mode": "mode",
    "形式": "mode",
    "location": "location",
    "地点": "location",
    "interviewers": "interviewers",
    "面试官": "interviewers",
}
MODE_ALIASES = {
    "on-site": "onsite",
    "面试现场": "onsite",
    "线下": "onsite",
    "视频面试": "video",
    "线上": "video",
    "电话面试": "phone",
}
TEMPLATE = (
    "candidate_email,job,round,start,minutes,mode,location,interviewers\n"
    "zhang.wei@example.com,后端工程师 Backend Engineer,技术面试,2026-12-01 10:00,60,video,"
    "https://meet.example.com/x,interviewer@example.com;manager2@example.com\n"
)


def _parse_start(text: str) -> datetime | None:
    text = text.strip().replace("/", "-").replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=get_settings().tz)
        except ValueError:
            continue
    return None


def import_interviews(*, session: Session, actor: User, rows: list[dict[str, str]]) -> ImportReport:
    """Schedule one interview per row; if any row is wrong, schedule none and report each problem by row."""
    require_cap(actor, Cap.schedule)
    report = ImportReport()
    rounds = evaluation.list_rounds(session=session, actor=actor)
    round_by_name = (
        {normalise_choice(r.name_zh): r for r in rounds}
        | {normalise_choice(r.name_en): r for r in rounds}
        | {str(r.id): r for r in rounds}
    )
    round_names = "; ".join(f"{r.name_zh} / {r.name_en}" for r in rounds) or "—"
    modes = make_choices([m.value for m in InterviewMode], "iv_mode.", MODE_ALIASES)
    emails = {r.get("candidate_email", "").strip().lower() for r in rows} - {""}
    people = {c.email: c for c in session.exec(select(Candidate).where(col(Candidate.email).in_(emails)))}
    apps: dict[int, list[tuple[Application, Job]]] = {}
    if people:
        for app, job in session.exec(
            select(Application, Job)
            .join(Job, col(Job.id) == Application.job_id)
            .where(col(Application.candidate_id).in_([c.id for c in people.values()]))
        ):
            apps.setdefault(app.candidate_id, []).append((app, job))
    staff = {u.email: u for u in session.exec(select(User).where(User.is_active))}
    prepared: list[tuple[int, dict[str, Any]]] = []
    for number, row in zip(row_numbers(rows), rows, strict=True):
        errors_before = len(report.errors)
        candidate = people.get(row.get("candidate_email", "").strip().lower())
        application = None
        if candidate is None:
            report.errors.append(
                RowError(number, "candidate_email", "err.import_no_candidate", value=row.get("candidate_email", ""))
            )
        else:
            wanted = normalise_choice(row.get("job", ""))
            options = [
                (a, j)
                for a, j in apps.get(candidate.id or 0, [])
                if not wanted or normalise_choice(j.title) == wanted or str(j.id) == wanted
            ]
            open_ones = [a for a, _ in options if a.stage in (Stage.interviewing, Stage.decision_pending)]
            if len(open_ones) != 1:
                report.errors.append(
                    RowError(number, "job", "err.application_not_interviewing", value=row.get("job", ""))
                )
            else:
                application = open_ones[0]
        rnd: InterviewRound | None = round_by_name.get(normalise_choice(row.get("round", "")))
        if rnd is None:
            report.errors.append(
                RowError(number, "round", "err.import_choice", {"accepted": round_names}, value=row.get("round", ""))
            )
        starts = _parse_start(row.get("start", ""))
        if starts is None:
            report.errors.append(RowError(number, "start", "err.date_invalid", value=row.get("start", "")))
        minutes_text = row.get("minutes", "").strip() or "60"
        if not re.fullmatch(r"\d{1,3}", minutes_text):
            report.errors.append(RowError(number, "minutes", "err.not_a_number", value=minutes_text))
        mode = modes.pick(row.get("mode", "")) if row.get("mode", "").strip() else "onsite"
        if mode is None:
            report.errors.append(
                RowError(number, "mode", "err.import_choice", {"accepted": modes.accepted}, value=row.get("mode", ""))
            )
        panel_emails = [e.strip().lower() for e in re.split(r"[;,，；\s]+", row.get("interviewers", "")) if e.strip()]
        panel = [staff.get(e) for e in panel_emails]
        if not panel or any(p is None or not may_sit_on_panels(p) for p in panel):
            report.errors.append(
                RowError(number, "interviewers", "err.not_an_interviewer", value=row.get("interviewers", ""))
            )
        if len(report.errors) > errors_before:
            continue
        assert application is not None and rnd is not None and starts is not None and mode is not None
        prepared.append(
            (
                number,
                {
                    "application_id": application.id,
                    "round_id": rnd.id,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=int(minutes_text)),
                    "mode": InterviewMode(mode),
                    "location": row.get("location", ""),
                    "interviewer_ids": [p.id for p in panel if p],
                },
            )
        )
    if report.errors:
        return report
    current = 0
    try:
        # All rows or none: a refused row undoes the rows before it, and the report says which row it was.
        with savepoint(session):
            for number, data in prepared:
                current = number
                evaluation.schedule_interview(session=session, actor=actor, interview_in=data)
    except ValidationError as exc:
        for name, (key, params) in exc.fields.items():
            report.errors.append(RowError(current, name, key, params))
        return report
    except DomainError as exc:
        report.errors.append(RowError(current, "", exc.key, exc.params))
        return report
    report.created = len(prepared)
    return report
