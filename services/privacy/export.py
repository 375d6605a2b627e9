"""One candidate's whole record, for a request to see it (GDPR Art. 15, PIPL Art. 45): JSON for machines and an
HTML page for people, in the admin's language and in the other one. Every table that holds something about the
person is read for that person alone (by their id, their applications', interviews', offers' and plans' ids), never
whole. Secrets are left out (the keyed hashes of private links, mail idempotency keys), as are copies (a mail's HTML
beside its text) and uploaded files' bytes (their names, types and sizes are listed). Every export is recorded as
an access."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, SQLModel, col, select

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.common import utcnow
from models.evaluation import (
    Criterion,
    Decision,
    Interview,
    InterviewPanelist,
    InterviewRound,
    Scorecard,
    ScorecardRating,
)
from models.followup import Contact, Intent, PoolEntry, SurveyInvite, SurveyResponse
from models.job import Job
from models.mail import OutboxMessage
from models.onboard import (
    CheckIn,
    ChecklistItem,
    Material,
    Offer,
    OfferApproval,
    OnboardingPlan,
    PlanTask,
    TrainingSession,
)
from models.privacy import AccessAction, AccessRecord, ConsentRecord, PrivacyNotice, PrivacyRequest
from models.user import User
from services.platform.config import get_settings
from services.platform.errors import NotFound
from services.platform.i18n import has_text, t
from services.platform.policy import Cap, require_current_cap
from services.privacy.access_log import record_access

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "privacy"
FORMAT = "interview-followup/candidate-export"
FORMAT_VERSION = 1
# Never exported: secrets (keyed hashes of private links, idempotency keys), copies and search helpers.
LEFT_OUT = {
    "token_hash",
    "link_token_hash",
    "answer_token_hash",
    "idempotency_key",
    "html",
    "search_text",
    "phone_digits",
    "content",
}
# Columns naming a user: the export adds that user's name beside the id (`by_user_id` -> `by_user_name`).
USER_COLUMNS = {
    "owner_id",
    "by_user_id",
    "created_by_id",
    "interviewer_id",
    "user_id",
    "answered_by_id",
    "approver_id",
    "owner_user_id",
    "done_by_id",
    "manager_id",
    "hiring_manager_id",
    "recruiter_id",
    "buddy_id",
    "outcome_by_id",
    "uploaded_by_id",
    "added_by_id",
    "updated_by_id",
}
# The sections, in the order both forms list them; each one's heading is "export.section_<name>".
SECTIONS = (
    "person",
    "privacy",
    "consents",
    "applications",
    "stage_history",
    "interviews",
    "scorecards",
    "ratings",
    "decisions",
    "contacts",
    "intent",
    "mail",
    "survey",
    "talent_pool",
    "offers",
    "onboarding",
    "privacy_requests",
    "audit",
    "access",
)
SECTION_KEYS = {
    "person": "export.section_person",
    "privacy": "export.section_privacy",
    "consents": "export.section_consents",
    "applications": "export.section_applications",
    "stage_history": "export.section_stage_history",
    "interviews": "export.section_interviews",
    "scorecards": "export.section_scorecards",
    "ratings": "export.section_ratings",
    "decisions": "export.section_decisions",
    "contacts": "export.section_contacts",
    "intent": "export.section_intent",
    "mail": "export.section_mail",
    "survey": "export.section_survey",
    "talent_pool": "export.section_talent_pool",
    "offers": "export.section_offers",
    "onboarding": "export.section_onboarding",
    "privacy_requests": "export.section_privacy_requests",
    "audit": "export.section_audit",
    "access": "export.section_access",
}


# The readable page's headings of columns that have no form label ("field.<name>"); the JSON keeps the names.
COLUMN_KEYS = {
    "id": "export.col.id",
    "at": "export.col.at",
    "action": "export.col.action",
    "entity": "export.col.entity",
    "entity_id": "export.col.entity_id",
    "changes": "export.col.changes",
    "user_id": "export.col.user_id",
    "anonymised_at": "export.col.anonymised_at",
    "answered_at": "export.col.answered_at",
    "answered_by_id": "export.col.answered_by_id",
    "answered_via": "export.col.answered_via",
    "approved_at": "export.col.approved_at",
    "approver_id": "export.col.approver_id",
    "by_user_id": "export.col.by_user_id",
    "cc_addrs": "export.col.cc_addrs",
    "to_addrs": "export.col.to_addrs",
    "consent_at": "export.col.consent_at",
    "created_by_id": "export.col.created_by_id",
    "criterion_en": "export.col.criterion_en",
    "criterion_zh": "export.col.criterion_zh",
    "round_en": "export.col.round_en",
    "round_zh": "export.col.round_zh",
    "decided_at": "export.col.decided_at",
    "from_stage": "export.col.from_stage",
    "to_stage": "export.col.to_stage",
    "heard_at": "export.col.heard_at",
    "hold_reason": "export.col.hold_reason",
    "hold_until": "export.col.hold_until",
    "keep_until": "export.col.keep_until",
    "interview_id": "export.col.interview_id",
    "interviewer_id": "export.col.interviewer_id",
    "offer_id": "export.col.offer_id",
    "scorecard_id": "export.col.scorecard_id",
    "mail_id": "export.col.mail_id",
    "letter_mail_id": "export.col.letter_mail_id",
    "recipient_user_id": "export.col.recipient_user_id",
    "notice_published_at": "export.col.notice_published_at",
    "notice_version": "export.col.notice_version",
    "panel": "export.col.panel",
    "record": "export.col.record",
    "sent_at": "export.col.sent_at",
    "stage_changed_at": "export.col.stage_changed_at",
    "submitted_at": "export.col.submitted_at",
    "text": "export.col.text",
    "updated_at": "export.col.updated_at",
    "attempts": "export.col.attempts",
    "last_error": "export.col.last_error",
    "message_id": "export.col.message_id",
    "next_attempt_at": "export.col.next_attempt_at",
    "lease_until": "export.col.lease_until",
    "claimed_by": "export.col.claimed_by",
    "revision": "export.col.revision",
    "last_interview_end": "export.col.last_interview_end",
    "last_end_unheard": "export.col.last_end_unheard",
    "previous_interview_end": "export.col.previous_interview_end",
    "previous_end_unheard": "export.col.previous_end_unheard",
    "nearest_offer_deadline": "export.col.nearest_offer_deadline",
    "added_at": "export.col.added_at",
    "added_by_id": "export.col.added_by_id",
    "day": "export.col.day",
    "done_at": "export.col.done_at",
    "done_by_id": "export.col.done_by_id",
    "due_date": "export.col.due_date",
    "due_on": "export.col.due_on",
    "expires_at": "export.col.expires_at",
    "label_en": "export.col.label_en",
    "label_zh": "export.col.label_zh",
    "link_issued_at": "export.col.link_issued_at",
    "link_revoked_at": "export.col.link_revoked_at",
    "manager_id": "export.col.manager_id",
    "outcome_at": "export.col.outcome_at",
    "outcome_by_id": "export.col.outcome_by_id",
    "outcome_notes": "export.col.outcome_notes",
    "plan_id": "export.col.plan_id",
    "probation_end": "export.col.probation_end",
    "recruiter_id": "export.col.recruiter_id",
    "template_id": "export.col.template_id",
    "used_at": "export.col.used_at",
    "welcome_mail_id": "export.col.welcome_mail_id",
    "uploaded_by_id": "export.col.uploaded_by_id",
    "uploaded_at": "export.col.uploaded_at",
    "updated_by_id": "export.col.updated_by_id",
}
# Coded values the readable page says in words: column -> the key prefix of its values' texts.
VALUE_KEYS = {
    "source": "source.",
    "stage": "stage.",
    "from_stage": "stage.",
    "to_stage": "stage.",
    "legal_basis": "legal_basis.",
    "purpose": "purpose.",
    "method": "consent_method.",
}
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


@dataclass(frozen=True)
class CandidateExport:
    candidate_id: int
    data: dict[str, Any]
    json: bytes
    html: bytes
    json_name: str
    html_name: str
    # The same readable page in the other language (a person may ask in theirs; the admin reads theirs).
    other_language: str = ""
    other_html: bytes = b""
    other_html_name: str = ""


def _plain(value: Any) -> Any:
    """A value as JSON holds it: times in UTC ISO 8601, days ISO, money as text (exact)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _row(obj: SQLModel, **extra: Any) -> dict[str, Any]:
    columns = obj.__table__.columns  # type: ignore[attr-defined]  # every table row has one
    values = {c.name: _plain(getattr(obj, c.name)) for c in columns if c.name not in LEFT_OUT}
    return values | {k: _plain(v) for k, v in extra.items()}


def _ids(rows: Iterable[dict[str, Any]], key: str = "id") -> list[int]:
    return sorted({r[key] for r in rows if r.get(key) is not None})


def _among(column: Any, ids: list[int]) -> Any:
    return col(column).in_(ids or [-1])


def _names(session: Session, data: dict[str, list[dict[str, Any]]]) -> None:
    """Beside every column naming a user, that user's name (one query for the whole export)."""
    wanted = {v for rows in data.values() for r in rows for k, v in r.items() if k in USER_COLUMNS and v}
    names = dict(session.exec(select(User.id, User.name).where(_among(User.id, sorted(wanted)))).all())
    for rows in data.values():
        for r in rows:
            for k in [k for k in r if k in USER_COLUMNS]:
                r[k[: -len("_id")] + "_name"] = names.get(r[k], "") if r[k] else ""


def collect(session: Session, candidate: Candidate) -> dict[str, list[dict[str, Any]]]:
    """Every section of the person's record, each a list of rows (plain JSON values), read for them alone."""
    cid = candidate.id or 0
    data: dict[str, list[dict[str, Any]]] = {}
    person = _row(candidate)
    for k in ("legal_basis", "notice_id", "notice_shown_at", "source_told_at", "keep_until", "hold_until"):
        person.pop(k, None)
    person.pop("hold_reason", None)
    data["person"] = [person]
    notice = session.get(PrivacyNotice, candidate.notice_id) if candidate.notice_id else None
    data["privacy"] = [
        {
            "legal_basis": candidate.legal_basis,
            "notice_version": notice.version if notice else None,
            "notice_published_at": _plain(notice.published_at) if notice else None,
            "notice_shown_at": _plain(candidate.notice_shown_at),
            "source_told_at": _plain(candidate.source_told_at),
            "keep_until": _plain(candidate.keep_until),
            "hold_until": _plain(candidate.hold_until),
            "hold_reason": candidate.hold_reason,
            "anonymised_at": _plain(candidate.anonymised_at),
        }
    ]
    data["consents"] = [
        _row(r)
        for r in session.exec(
            select(ConsentRecord).where(ConsentRecord.candidate_id == cid).order_by(col(ConsentRecord.at))
        )
    ]
    apps = session.exec(
        select(Application, Job.title)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Application.candidate_id == cid)
        .order_by(col(Application.created_at), col(Application.id))
    ).all()
    data["applications"] = [_row(a, job_title=title) for a, title in apps]
    app_ids = _ids(data["applications"])
    data["stage_history"] = [
        _row(r)
        for r in session.exec(
            select(StageChange)
            .where(_among(StageChange.application_id, app_ids))
            .order_by(col(StageChange.at), col(StageChange.id))
        )
    ]
    interviews = session.exec(
        select(Interview, InterviewRound.name_zh, InterviewRound.name_en)
        .join(InterviewRound, col(InterviewRound.id) == Interview.round_id)
        .where(_among(Interview.application_id, app_ids))
        .order_by(col(Interview.starts_at), col(Interview.id))
    ).all()
    interview_ids = sorted(i.id for i, _, _ in interviews if i.id)
    panels: dict[int, list[int]] = {}
    for interview_id, user_id in session.exec(
        select(InterviewPanelist.interview_id, InterviewPanelist.user_id).where(
            _among(InterviewPanelist.interview_id, interview_ids)
        )
    ).all():
        panels.setdefault(interview_id, []).append(user_id)
    panel_names = dict(
        session.exec(
            select(User.id, User.name).where(_among(User.id, sorted({u for us in panels.values() for u in us})))
        ).all()
    )
    data["interviews"] = [
        _row(
            i,
            round_zh=zh,
            round_en=en,
            panel=", ".join(panel_names.get(u, "") for u in sorted(panels.get(i.id or 0, []))),
        )
        for i, zh, en in interviews
    ]
    data["scorecards"] = [
        _row(s)
        for s in session.exec(
            select(Scorecard).where(_among(Scorecard.application_id, app_ids)).order_by(col(Scorecard.id))
        )
    ]
    data["ratings"] = [
        _row(r, criterion_zh=zh, criterion_en=en)
        for r, zh, en in session.exec(
            select(ScorecardRating, Criterion.name_zh, Criterion.name_en)
            .join(Criterion, col(Criterion.id) == ScorecardRating.criterion_id)
            .where(_among(ScorecardRating.scorecard_id, _ids(data["scorecards"])))
            .order_by(col(ScorecardRating.scorecard_id), col(ScorecardRating.id))
        ).all()
    ]
    data["decisions"] = [
        _row(d)
        for d in session.exec(
            select(Decision).where(_among(Decision.application_id, app_ids)).order_by(col(Decision.at))
        )
    ]
    data["contacts"] = [
        _row(c)
        for c in session.exec(
            select(Contact).where(Contact.candidate_id == cid).order_by(col(Contact.at), col(Contact.id))
        )
    ]
    data["intent"] = [
        _row(i)
        for i in session.exec(
            select(Intent).where(_among(Intent.application_id, app_ids)).order_by(col(Intent.at), col(Intent.id))
        )
    ]
    mail = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.candidate_id == cid)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    data["mail"] = [_row(m) for m in mail]
    invites = [
        _row(i)
        for i in session.exec(
            select(SurveyInvite).where(_among(SurveyInvite.application_id, app_ids)).order_by(col(SurveyInvite.id))
        )
    ]
    answers = {
        r.invite_id: r
        for r in session.exec(select(SurveyResponse).where(_among(SurveyResponse.invite_id, _ids(invites))))
    }
    data["survey"] = [
        i | {"answer": _row(answers[i["id"]]) if i["id"] in answers else None}
        for i in invites  # an invitation and, once given, its answer
    ]
    data["talent_pool"] = [
        _row(p)
        for p in session.exec(select(PoolEntry).where(PoolEntry.candidate_id == cid).order_by(col(PoolEntry.id)))
    ]
    offers = [
        _row(o)
        for o in session.exec(select(Offer).where(_among(Offer.application_id, app_ids)).order_by(col(Offer.id)))
    ]
    approvals = session.exec(
        select(OfferApproval).where(_among(OfferApproval.offer_id, _ids(offers))).order_by(col(OfferApproval.id))
    ).all()
    data["offers"] = offers + [_row(a, record="approval") for a in approvals]
    plans = [
        _row(p, record="plan")
        for p in session.exec(
            select(OnboardingPlan)
            .where(_among(OnboardingPlan.application_id, app_ids))
            .order_by(col(OnboardingPlan.id))
        )
    ]
    plan_ids = _ids(plans)
    onboarding = list(plans)
    for kind, model in (("task", PlanTask), ("checklist", ChecklistItem), ("check_in", CheckIn)):
        onboarding += [
            _row(r, record=kind)
            for r in session.exec(select(model).where(_among(model.plan_id, plan_ids)).order_by(col(model.id)))
        ]
    onboarding += [
        _row(r, record="training")
        for r in session.exec(
            select(TrainingSession).where(_among(TrainingSession.plan_id, plan_ids)).order_by(col(TrainingSession.id))
        )
    ]
    uploads = session.exec(
        select(  # type: ignore[call-overload]
            Material.id,
            Material.plan_id,
            Material.filename,
            Material.mime_type,
            Material.size,
            Material.uploaded_by_id,
            Material.uploaded_at,
        )
        .where(_among(Material.plan_id, plan_ids))
        .order_by(col(Material.id))
    ).all()
    onboarding += [
        {
            "record": "upload",
            "id": m_id,
            "plan_id": plan_id,
            "filename": filename,
            "mime_type": mime,
            "size": size,
            "uploaded_by_id": by,
            "uploaded_at": _plain(at),
        }
        for m_id, plan_id, filename, mime, size, by, at in uploads
    ]
    data["onboarding"] = onboarding
    data["privacy_requests"] = [
        _row(r)
        for r in session.exec(
            select(PrivacyRequest).where(PrivacyRequest.candidate_id == cid).order_by(col(PrivacyRequest.id))
        )
    ]
    entities = {
        "candidate": [cid],
        "application": app_ids,
        "interview": interview_ids,
        "scorecard": _ids(data["scorecards"]),
        "offer": _ids(offers),
        "onboarding_plan": plan_ids,
        "onboardingplan": plan_ids,
        "plan_task": _ids([r for r in onboarding if r.get("record") == "task"]),
        "check_in": _ids([r for r in onboarding if r.get("record") == "check_in"]),
        "training": _ids([r for r in onboarding if r.get("record") == "training"]),
    }
    audit_rows: list[dict[str, Any]] = []
    for entity, ids in entities.items():
        if not ids:
            continue
        for row in session.exec(select(AuditLog).where(AuditLog.entity == entity, _among(AuditLog.entity_id, ids))):
            audit_rows.append(_row(row, changes=json.loads(row.changes or "{}")))
    data["audit"] = sorted(audit_rows, key=lambda r: (r["at"], r["id"]))
    data["access"] = [
        _row(r)
        for r in session.exec(
            select(AccessRecord)
            .where(AccessRecord.candidate_id == cid)
            .order_by(col(AccessRecord.at), col(AccessRecord.id))
        )
    ]
    _names(session, data)
    return data


# --------------------------------------------------------------------------- the readable page
@lru_cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _label(key: str, language: str) -> str:
    """A column's heading: its field label where the app has one, else the export's own, else its name, readable."""
    if has_text(f"field.{key}"):
        return t(f"field.{key}", language)
    if key in COLUMN_KEYS:
        return t(COLUMN_KEYS[key], language)
    return key.replace("_", " ")


def _readable(row: dict[str, Any], language: str) -> list[tuple[str, str]]:
    """One row as the page lists it: a user column shows that user's name (not their number), coded values are
    said in words, tags are listed; every value is data, escaped by the template."""
    out = []
    for key, value in row.items():
        if key.endswith("_name") and f"{key.removesuffix('_name')}_id" in USER_COLUMNS and f"{key[:-5]}_id" in row:
            continue  # shown in its id's place
        name = f"{key.removesuffix('_id')}_name"
        if key in USER_COLUMNS and name in row:
            value = row[name] or value
        elif key in VALUE_KEYS and isinstance(value, str) and has_text(VALUE_KEYS[key] + value):
            value = t(VALUE_KEYS[key] + value, language)
        elif key == "language" and value in LANGUAGE_NAMES:
            value = LANGUAGE_NAMES[value]
        elif key == "tags" and isinstance(value, str):
            value = ", ".join(tag for tag in value.split(",") if tag)
        out.append((_label(key, language), _shown(value, language)))
    return out


def _shown(value: Any, language: str) -> str:
    """A value as the page shows it: times in the company's time zone, yes/no in words, nested values as JSON."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("common.yes" if value else "common.no", language)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=1)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return value
        return at.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M")
    return str(value)


def render_html(document: dict[str, Any], language: str) -> str:
    """The export as a printable HTML page in `language`; every value is escaped (user text is never markup)."""
    sections = [
        {
            "title": t(SECTION_KEYS[name], language),
            "rows": [_readable(row, language) for row in rows],
        }
        for name, rows in document["sections"].items()
    ]
    texts = {
        "title": t("export.title", language),
        "intro": t("export.intro", language),
        "exported_at": t("export.exported_at", language),
        "exported_by": t("export.exported_by", language),
        "empty": t("export.empty", language),
    }
    return (
        _env()
        .get_template("candidate_record.html.j2")
        .render(
            lang=language,
            texts=texts,
            person=document["candidate"]["name"],
            exported_at=_shown(document["exported_at"], language),
            exported_by=document["exported_by"],
            sections=sections,
        )
    )


def export_candidate(*, session: Session, actor: User, candidate_id: int) -> CandidateExport:
    """One person's whole record as JSON and as an HTML page in the admin's language; records the export as an
    access (who, when). Sends nothing."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.anonymised_at is not None:
        raise NotFound()
    record_access(session=session, actor=current, candidate_id=candidate_id, action=AccessAction.export)
    now = utcnow()
    sections = collect(session, candidate)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _plain(now),
        "exported_by": current.name,
        "candidate": {"id": candidate_id, "name": candidate.name},
        "sections": {name: sections[name] for name in SECTIONS},
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, default=_plain)
    day = now.astimezone(get_settings().tz).date().isoformat()
    other = "en" if current.language == "zh" else "zh"
    return CandidateExport(
        candidate_id=candidate_id,
        data=document,
        json=text.encode("utf-8"),
        html=render_html(document, current.language).encode("utf-8"),
        json_name=f"candidate-{candidate_id}-{day}.json",
        html_name=f"candidate-{candidate_id}-{day}.html",
        other_language=other,
        other_html=render_html(document, other).encode("utf-8"),
        other_html_name=f"candidate-{candidate_id}-{day}-{other}.html",
    )
