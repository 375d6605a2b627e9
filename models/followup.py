"""Follow up: contacts with candidates, intent with competing offers, the experience survey, the talent pool."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from models.common import clean_text, utcnow


class Channel(StrEnum):
    phone = "phone"
    email = "email"
    wechat = "wechat"  # WeChat / WeCom
    social = "social"
    in_person = "in_person"


class Direction(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class Outcome(StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    left_message = "left_message"
    replied = "replied"


# Outcomes after which the ball is in the candidate's court.
WAITING_OUTCOMES = {Outcome.no_answer, Outcome.left_message}


def _text(value: object) -> object:
    return clean_text(value) if value is not None else ""


class ContactIn(SQLModel):
    candidate_id: int
    application_id: int | None = None
    channel: Channel
    direction: Direction = Direction.outbound
    outcome: Outcome
    summary: str = Field(min_length=1, max_length=5000)
    next_contact_at: datetime | None = None

    @field_validator("summary", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class Contact(SQLModel, table=True):
    __table_args__ = (
        # My tasks' next-contact dates: one person's, in date order (read until enough are found).
        Index("ix_contact_by_next", "by_user_id", "next_contact_at"),
        # A candidate's newest contact, and their last contact's time, each one index lookup.
        Index("ix_contact_candidate_newest", "candidate_id", "id"),
        Index("ix_contact_candidate_at", "candidate_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id")
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    channel: str = Field(max_length=12)
    direction: str = Field(max_length=10)
    outcome: str = Field(max_length=14)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    next_contact_at: datetime | None = Field(default=None, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    by_user_id: int = Field(foreign_key="user.id")


class OfferIn(SQLModel):
    company: str = Field(min_length=1, max_length=120)
    stage: str = Field(default="", max_length=60)
    deadline: date | None = None

    @field_validator("company", "stage", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class IntentIn(SQLModel):
    application_id: int
    interest: int = Field(ge=1, le=5)
    expected_salary: Decimal | None = Field(default=None, ge=0, le=100_000_000, max_digits=12, decimal_places=2)
    earliest_start: date | None = None
    decision_deadline: date | None = None
    notes: str = Field(default="", max_length=5000)
    offers: list[OfferIn] = Field(default_factory=list, max_length=10)

    @field_validator("notes", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @field_validator("expected_salary", mode="before")
    @classmethod
    def _salary(cls, value: object) -> object:
        if isinstance(value, str):
            cleaned = value.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
            return cleaned or None
        return value


class Intent(SQLModel, table=True):
    """One recorded state of a candidate's intent for an application; every change adds a row (history).

    `version` counts the rows of one application (1, 2, …); the unique pair makes two people who both edited
    version n unable to both save n + 1: the later one gets a conflict instead of silently replacing it."""

    __table_args__ = (UniqueConstraint("application_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    version: int = Field(default=1)
    interest: int
    expected_salary: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    earliest_start: date | None = None
    decision_deadline: date | None = None
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # JSON list of {"company", "stage", "deadline"}
    offers: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    nearest_offer_deadline: date | None = Field(default=None, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    by_user_id: int = Field(foreign_key="user.id")


class SurveyInvite(SQLModel, table=True):
    """A private, single-use, expiring link; only a keyed hash of its token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    stage: str = Field(max_length=20)  # the application's stage when invited
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    mail_id: int | None = Field(default=None, foreign_key="outboxmessage.id")


class SurveyAnswerIn(SQLModel):
    nps: int = Field(ge=0, le=10)
    clarity: int = Field(ge=1, le=5)
    respect: int = Field(ge=1, le=5)
    treatment: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=3000)

    @field_validator("comment", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class SurveyResponse(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    invite_id: int = Field(foreign_key="surveyinvite.id", unique=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    stage: str = Field(max_length=20, index=True)
    nps: int
    clarity: int
    respect: int
    treatment: int
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    at: datetime = Field(default_factory=utcnow, index=True)


class PoolEntryIn(SQLModel):
    candidate_id: int
    reason: str = Field(min_length=1, max_length=1000)
    job_family: str = Field(default="", max_length=60)
    revisit_on: date

    @field_validator("reason", "job_family", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class PoolEntry(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("candidate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    job_family: str = Field(default="", max_length=60, index=True)
    revisit_on: date = Field(index=True)
    added_by_id: int = Field(foreign_key="user.id")
    added_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="active", max_length=10, sa_type=AutoString)  # active | removed
