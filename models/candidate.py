"""Candidates, their applications to jobs and the stage history of each application."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel

from models.common import (
    Language,
    Stage,
    check_email,
    check_phone,
    clean_text,
    phone_digits,
    split_tags,
    utcnow,
)

SOURCES = ["referral", "career_site", "job_board", "headhunter", "campus", "social", "talent_pool", "other"]


class CandidateFields(SQLModel):
    """The fields a person types; validated the same way on create, update and import."""

    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=30)
    wechat_id: str | None = Field(default=None, max_length=60)
    source: str = Field(default="other", max_length=30)
    tags: str = Field(default="", max_length=600)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    language: Language = Field(default=Language.zh, max_length=5, sa_type=AutoString)
    consent: bool = False
    notes: str = Field(default="", max_length=5000)

    @field_validator("name", "wechat_id", "notes", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return clean_text(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(clean_text(value)) or None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return check_phone(clean_text(value)) or None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: str | None) -> str:
        value = (clean_text(value) or "other") if value is not None else "other"
        if value not in SOURCES:
            raise ValueError("err.source_invalid")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: str | list[str] | None) -> str:
        return split_tags(value)


class CandidateCreate(CandidateFields):
    @model_validator(mode="after")
    def _reachable(self) -> CandidateCreate:
        if not self.email and not self.phone:
            raise ValueError("err.contact_required")
        return self


class CandidateUpdate(CandidateCreate):
    """A full edit form: every field is sent back, with the version the editor started from."""

    version: int


class Candidate(CandidateFields, table=True):
    __table_args__ = (
        # The erased (few): lists exclude them with one small set, not a lookup of each row's candidate.
        Index(
            "ix_candidate_anonymised",
            "id",
            sqlite_where=text("anonymised_at IS NOT NULL"),
            postgresql_where=text("anonymised_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Lower-cased name, email, phone digits and WeChat ID: one column to search with LIKE.
    search_text: str = Field(default="", max_length=500)
    phone_digits: str = Field(default="", max_length=20, index=True)
    consent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow, index=True)  # the pool page's picker: recent first
    anonymised_at: datetime | None = None
    # Privacy (services.privacy): why we hold the data, the notice version shown and when, and — for a sourced
    # candidate — when they were told where their data came from (PIPL Art. 13–14, 17; GDPR Art. 6, 13–14).
    legal_basis: str = Field(default="pre_contract", max_length=20)
    # The privacy notice version (`privacynotice.id`; no foreign key: added in place on SQLite, see migration 0019).
    notice_id: int | None = Field(default=None)
    notice_shown_at: datetime | None = None
    source_told_at: datetime | None = None
    # The day this person's data is due to be anonymised under the retention rules (None: not yet decided, e.g. an
    # application still open), kept by services.privacy.retention; an admin's "keep longer, because…" sets
    # hold_until / hold_reason, which push it back.
    keep_until: datetime | None = Field(default=None, index=True)
    hold_until: datetime | None = None
    hold_reason: str = Field(default="", max_length=1000)
    # When word from us last reached this person (a contact reached or replied, a mail sent): what stops the
    # feedback clock (services.follow_up.followup.heard_since). Kept by the paths that write those — log_contact and the
    # mail worker marking a mail sent — so the board need not search contacts and mail for every application.
    heard_at: datetime | None = None
    version: int = Field(default=1)

    def refresh_search(self) -> None:
        self.phone_digits = phone_digits(self.phone)
        parts = [self.name, self.email or "", self.phone_digits, self.wechat_id or ""]
        self.search_text = " ".join(p.lower() for p in parts if p)[:500]


class CandidatePublic(CandidateFields):
    id: int
    version: int
    consent_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApplicationCreate(SQLModel):
    candidate_id: int
    job_id: int


# What the follow-up board reads of every open application, carried by its indexes on PostgreSQL (INCLUDE).
BOARD_COLUMNS = ["last_interview_end", "stage_changed_at", "candidate_id", "owner_id"]
# ... and of those whose last interview is still to come (migration 0015).
UPCOMING_COLUMNS = ["candidate_id", "owner_id", "stage_changed_at", "previous_interview_end", "previous_end_unheard"]


class Application(SQLModel, table=True):
    # The candidate list's filters read candidate ids straight from these (stage; job, stage), so a filter costs
    # what it matches, not a scan of every candidate; they also serve the board's and the counts' stage tests.
    __table_args__ = (
        UniqueConstraint("candidate_id", "job_id"),
        Index("ix_application_stage_candidate", "stage", "candidate_id"),
        Index("ix_application_job_stage", "job_id", "stage", "candidate_id"),
        # Open applications by how long they have not moved (My tasks' stale applications, the reminder rule).
        # Each ends with the id, the tie-break of the orders read; on PostgreSQL each carries (INCLUDE) what its
        # readers need besides, so that they read the index alone (migration 0014).
        Index(
            "ix_application_stage_changed",
            "stage",
            "stage_changed_at",
            "id",
            postgresql_include=["candidate_id", "owner_id"],
        ),
        # The open applications whose last interview ends (or ended) after a time: the feedback clocks of the
        # last two weeks.
        Index(
            "ix_application_stage_last_end", "stage", "last_interview_end", "id", postgresql_include=UPCOMING_COLUMNS
        ),
        # ... and those whose candidate has not heard from us since it ended: the board's clocks.
        Index("ix_application_stage_unheard", "stage", "last_end_unheard", "id", postgresql_include=BOARD_COLUMNS),
        # The same, of one owner's candidates: a recruiter's board and My tasks read their own range.
        Index(
            "ix_application_owner_changed",
            "owner_id",
            "stage",
            "stage_changed_at",
            "id",
            postgresql_include=["candidate_id"],
        ),
        Index(
            "ix_application_owner_unheard",
            "owner_id",
            "stage",
            "last_end_unheard",
            "id",
            postgresql_include=BOARD_COLUMNS,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    job_id: int = Field(foreign_key="job.id")
    stage: Stage = Field(default=Stage.interviewing, max_length=20, sa_type=AutoString)
    stage_changed_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # The candidate's owner (`candidate.owner_id`), kept here by every path that sets it (candidates.
    # _add_application, update_candidate), so that one recruiter's applications are an index range, not a lookup
    # of each application's candidate (14.5k lookups per board render at 100k). A copy: the candidate's column
    # holds the foreign key.
    owner_id: int | None = Field(default=None)
    # When its last interview still on (scheduled: held or to come) ends: kept by every path that schedules,
    # moves, cancels or marks an interview (evaluation.keep_last_interview_end); the feedback clock reads it.
    last_interview_end: datetime | None = Field(default=None)
    # That end again while the candidate has heard nothing from us since it (`candidate.heard_at` before it), else
    # None: kept with it, and cleared as word reaches the person (mail.heard_update). Where it has passed, the
    # feedback clock runs from it — an index range, with no candidate to read first.
    last_end_unheard: datetime | None = Field(default=None)
    # The end of the interview still on that ends last but one (kept with `last_interview_end`). While the last
    # one is still to come, this is when the last held one ended, unless it too is still to come: the feedback
    # clock reads it instead of looking up the application's interviews (2,400 lookups per board at 100k).
    previous_interview_end: datetime | None = Field(default=None)
    # That end again while the candidate has heard nothing from us since it, else None (kept and cleared as
    # `last_end_unheard` is): where it has passed, the clock of an application whose next interview is still to
    # come runs from it — with no candidate to read.
    previous_end_unheard: datetime | None = Field(default=None)


class StageChange(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    from_stage: str | None = Field(default=None, max_length=20)
    to_stage: str = Field(max_length=20, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    by_user_id: int | None = Field(default=None, foreign_key="user.id")
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class StageMove(SQLModel):
    """A request to move an application: the target stage and why."""

    to_stage: Stage
    reason: str = Field(default="", max_length=1000)

    @field_validator("reason", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return clean_text(value) or ""
