"""Onboard: offers and their approvals, onboarding templates and plans, training sessions, the new hire's
materials and checklist, probation check-ins and the probation outcome."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from models.common import clean_text, utcnow


def _text(value: object) -> object:
    return clean_text(value) if value is not None else ""


# --------------------------------------------------------------------------- offers
class OfferStatus(StrEnum):
    draft = "draft"
    pending_approval = "pending_approval"
    approved = "approved"
    sent = "sent"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


# The statuses of the one live offer an application may have at a time.
LIVE_OFFER = {OfferStatus.draft, OfferStatus.pending_approval, OfferStatus.approved, OfferStatus.sent}


class SalaryPeriod(StrEnum):
    month = "month"
    year = "year"
    hour = "hour"


class DeclineReason(StrEnum):
    compensation = "compensation"
    competing_offer = "competing_offer"
    location = "location"
    role_level = "role_level"
    counter_offer = "counter_offer"
    personal = "personal"
    no_response = "no_response"
    other = "other"


def probation_cap(contract_months: int | None) -> int | None:
    """The longest probation China's Labour Contract Law (Art. 19) allows for a contract of that length, in months;
    None when the contract length is not given (the cap of an open-ended contract, 6, applies then)."""
    if contract_months is None:
        return None
    if contract_months < 3:
        return 0  # under three months: no probation at all
    if contract_months < 12:
        return 1
    if contract_months < 36:
        return 2
    return 6


class OfferFields(SQLModel):
    """What the recruiter types into an offer; validated the same way on create and revise."""

    job_title: str = Field(min_length=1, max_length=120)
    level: str = Field(default="", max_length=40)
    salary_amount: Decimal | None = Field(default=None, ge=0, le=100_000_000, max_digits=12, decimal_places=2)
    salary_currency: str = Field(default="CNY", min_length=3, max_length=3)
    salary_period: SalaryPeriod = SalaryPeriod.month
    terms: str = Field(default="", max_length=2000)  # free terms, instead of or beside the salary
    start_date: date
    location: str = Field(default="", max_length=120)
    probation_months: int = Field(default=3, ge=0, le=6)
    contract_months: int | None = Field(default=None, ge=1, le=240)  # None: not given (open-ended or unknown)
    response_deadline: date
    notes: str = Field(default="", max_length=5000)

    @field_validator("job_title", "level", "terms", "location", "notes", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @field_validator("salary_currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        return (clean_text(value) or "CNY").upper() if isinstance(value, str) or value is None else value

    @field_validator("salary_amount", mode="before")
    @classmethod
    def _salary(cls, value: object) -> object:
        if isinstance(value, str):
            cleaned = value.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
            return cleaned or None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OfferFields:
        if self.salary_amount is None and not self.terms:
            raise ValueError("err.offer_pay_required")
        cap = probation_cap(self.contract_months)
        if cap is not None and self.probation_months > cap:
            raise ValueError("err.probation_over_cap")
        return self


class OfferCreate(OfferFields):
    application_id: int


class OfferUpdate(OfferFields):
    """A full edit form, with the version the editor started from."""

    version: int


class Offer(SQLModel, table=True):
    """One revision of the offer to an application. Revising an offer that has left draft makes a new revision
    (the old one withdrawn); only one revision per application is live (LIVE_OFFER) at a time."""

    __table_args__ = (
        UniqueConstraint("application_id", "revision"),
        Index("ix_offer_status_deadline", "status", "response_deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    revision: int = Field(default=1)
    status: OfferStatus = Field(default=OfferStatus.draft, max_length=20, sa_type=AutoString)
    job_title: str = Field(max_length=120)
    level: str = Field(default="", max_length=40)
    salary_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    salary_currency: str = Field(default="CNY", max_length=3)
    salary_period: str = Field(default=SalaryPeriod.month, max_length=10)
    terms: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    start_date: date
    location: str = Field(default="", max_length=120)
    probation_months: int = 3
    contract_months: int | None = None
    response_deadline: date
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    # "link" (the candidate through the private link) or "recorded" (a recruiter by hand)
    answered_via: str = Field(default="", max_length=10)
    answered_by_id: int | None = Field(default=None, foreign_key="user.id")
    decline_reason: str = Field(default="", max_length=20)
    decline_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The private accept/decline link of the offer letter: only a keyed hash of its token; single use.
    answer_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    letter_mail_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
    version: int = Field(default=1)  # bumped by every change: two people editing one offer conflict


class OfferApproval(SQLModel, table=True):
    """One approver's say on one offer revision: pending ("") until they approve or reject, with a comment."""

    __table_args__ = (
        UniqueConstraint("offer_id", "approver_id"),
        Index("ix_offerapproval_approver_decision", "approver_id", "decision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offer.id", index=True)
    approver_id: int = Field(foreign_key="user.id")
    decision: str = Field(default="", max_length=10)  # "" | approved | rejected
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class ApproverRule(SQLModel, table=True):
    """An extra approver an admin names for every offer of a department ("" = every department)."""

    __table_args__ = (UniqueConstraint("department", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(default="", max_length=80)
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class AppSetting(SQLModel, table=True):
    """A setting admins change in the app (not in the environment), e.g. "offer_approval_required" = "1"."""

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


# --------------------------------------------------------------------------- templates and plans
class TaskCategory(StrEnum):
    document = "document"
    account = "account"
    equipment = "equipment"
    training = "training"
    check_in = "check_in"
    other = "other"


class OwnerRole(StrEnum):
    recruiter = "recruiter"
    hiring_manager = "hiring_manager"
    person = "person"  # a named person (IT, facilities…): `owner_user_id`
    buddy = "buddy"
    new_hire = "new_hire"


class PlanStatus(StrEnum):
    active = "active"
    passed = "passed"
    extended = "extended"  # still on probation, until the new end date
    not_passed = "not_passed"
    cancelled = "cancelled"  # the hire did not start (withdrew before day 1)


class OnboardTemplate(SQLModel, table=True):
    """The plan every new hire of a department starts from ("" = the default for departments without one)."""

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(default="", max_length=80, unique=True)
    checkin_days: str = Field(default="7,30,60,90", max_length=100)  # days after the start date
    welcome_days_before: int = Field(default=3)  # the welcome mail goes out this many days before day 1
    # JSON list of {"zh": …, "en": …}: what the new hire brings or does (入职材料)
    checklist: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    version: int = Field(default=1)


class TemplateTaskIn(SQLModel):
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    category: TaskCategory = TaskCategory.other
    owner_role: OwnerRole
    owner_user_id: int | None = None
    due_offset_days: int = Field(default=0, ge=-90, le=365)
    link_url: str = Field(default="", max_length=500)
    material_id: int | None = None

    @field_validator("title_zh", "title_en", "link_url", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @field_validator("link_url")
    @classmethod
    def _link(cls, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise ValueError("err.link_invalid")
        return value

    @model_validator(mode="after")
    def _owner(self) -> TemplateTaskIn:
        if self.owner_role == OwnerRole.person and self.owner_user_id is None:
            raise ValueError("err.task_owner_required")
        return self


class TemplateTask(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="onboardtemplate.id", index=True)
    position: int = Field(default=0)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    category: str = Field(default=TaskCategory.other, max_length=12)
    owner_role: str = Field(max_length=16)
    owner_user_id: int | None = Field(default=None, foreign_key="user.id")
    due_offset_days: int = 0
    link_url: str = Field(default="", max_length=500)
    material_id: int | None = Field(default=None, foreign_key="material.id")


class Material(SQLModel, table=True):
    """A file kept in the database (so every app server behind a proxy serves the same): a handbook an admin
    attaches to a template task, or a document a new hire uploads to their plan. Served only after a check."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="onboardingplan.id", index=True)  # a new hire's upload
    filename: str = Field(max_length=200)
    mime_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_id: int | None = Field(default=None, foreign_key="user.id")  # None: the new hire, by their link
    uploaded_at: datetime = Field(default_factory=utcnow)


class OnboardingPlan(SQLModel, table=True):
    """An accepted offer's way from signing to the end of probation: one per application."""

    __table_args__ = (Index("ix_onboardingplan_status_start", "status", "start_date"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    offer_id: int = Field(foreign_key="offer.id")
    template_id: int | None = Field(default=None, foreign_key="onboardtemplate.id")
    start_date: date
    probation_end: date
    hiring_manager_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    recruiter_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    buddy_id: int | None = Field(default=None, foreign_key="user.id")
    status: PlanStatus = Field(default=PlanStatus.active, max_length=12, sa_type=AutoString)
    outcome_at: datetime | None = None
    outcome_by_id: int | None = Field(default=None, foreign_key="user.id")
    outcome_notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The new hire's private page: a keyed hash of the link's token; revoking clears it, re-issuing replaces it.
    link_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    link_issued_at: datetime | None = None
    link_revoked_at: datetime | None = None
    welcome_mail_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    version: int = Field(default=1)


class PlanTask(SQLModel, table=True):
    __table_args__ = (Index("ix_plantask_owner_open", "owner_user_id", "done_at", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="onboardingplan.id", index=True)
    position: int = Field(default=0)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    category: str = Field(default=TaskCategory.other, max_length=12)
    owner_role: str = Field(max_length=16)
    owner_user_id: int | None = Field(default=None, foreign_key="user.id")  # None: the new hire
    due_offset_days: int = 0
    due_date: date
    link_url: str = Field(default="", max_length=500)
    material_id: int | None = Field(default=None, foreign_key="material.id")
    done_at: datetime | None = None
    done_by_id: int | None = Field(default=None, foreign_key="user.id")


class ChecklistItem(SQLModel, table=True):
    """One thing the new hire brings or does (入职材料), ticked off by them on their page; HR sees it."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="onboardingplan.id", index=True)
    position: int = Field(default=0)
    label_zh: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
    done_at: datetime | None = None


class TrainingSessionIn(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    location: str = Field(default="", max_length=200)
    meeting_link: str = Field(default="", max_length=500)
    attendee_ids: list[int] = Field(default_factory=list, max_length=50)

    @field_validator("title", "location", "meeting_link", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @model_validator(mode="after")
    def _times(self) -> TrainingSessionIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("err.timezone_required")
        if self.ends_at <= self.starts_at:
            raise ValueError("err.end_before_start")
        return self


class TrainingSession(SQLModel, table=True):
    """A training session (orientation, product, safety…) for one new hire and its attendees; every change bumps
    `version` (the invitation's SEQUENCE is version - 1)."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="onboardingplan.id", index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    location: str = Field(default="", max_length=200)
    meeting_link: str = Field(default="", max_length=500)
    attendee_ids: str = Field(default="", max_length=500)  # comma-separated user ids
    status: str = Field(default="scheduled", max_length=10)  # scheduled | cancelled
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


class CheckInIn(SQLModel):
    rating: int = Field(ge=1, le=5)
    on_track: bool
    notes: str = Field(default="", max_length=5000)
    concerns: str = Field(default="", max_length=5000)

    @field_validator("notes", "concerns", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class CheckIn(SQLModel, table=True):
    """A probation check-in on day N after the start, by the hiring manager."""

    __table_args__ = (
        UniqueConstraint("plan_id", "day"),
        Index("ix_checkin_manager_open", "manager_id", "done_at", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="onboardingplan.id", index=True)
    day: int
    due_date: date
    manager_id: int | None = Field(default=None, foreign_key="user.id")
    rating: int | None = None
    on_track: bool | None = None
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    concerns: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    done_at: datetime | None = None
    done_by_id: int | None = Field(default=None, foreign_key="user.id")
    version: int = Field(default=1)


class ProbationOutcomeIn(SQLModel):
    outcome: PlanStatus
    extended_to: date | None = None
    notes: str = Field(default="", max_length=5000)

    @field_validator("notes", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @model_validator(mode="after")
    def _outcome(self) -> ProbationOutcomeIn:
        if self.outcome not in (PlanStatus.passed, PlanStatus.extended, PlanStatus.not_passed):
            raise ValueError("err.invalid")
        if self.outcome == PlanStatus.extended and self.extended_to is None:
            raise ValueError("err.extended_to_required")
        return self
