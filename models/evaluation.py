"""Evaluate: interview rounds and their criteria, interviews with a panel, scorecards and decisions."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel

from models.common import clean_text, utcnow

MAX_LENGTH = timedelta(hours=8)  # the longest interview accepted (lists of upcoming interviews rely on it)


class InterviewMode(StrEnum):
    onsite = "onsite"
    video = "video"
    phone = "phone"


class InterviewStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    no_show = "no_show"


class Recommendation(StrEnum):
    strong_no = "strong_no"
    no = "no"
    yes = "yes"
    strong_yes = "strong_yes"


POSITIVE = {Recommendation.yes, Recommendation.strong_yes}


class ScorecardStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class DecisionKind(StrEnum):
    advance = "advance"
    offer = "offer"
    reject = "reject"
    hold = "hold"


DECISION_REASONS: dict[DecisionKind, list[str]] = {
    DecisionKind.advance: ["meets_bar", "strong_panel", "needs_more_signal"],
    DecisionKind.offer: ["meets_bar", "strong_panel", "unique_skills"],
    DecisionKind.reject: [
        "skills_below_bar",
        "communication",
        "team_fit",
        "salary_mismatch",
        "position_filled",
        "other",
    ],
    DecisionKind.hold: ["waiting_other_candidates", "headcount_pending", "needs_more_signal", "other"],
}


def _text(value: object) -> object:
    return clean_text(value) if value is not None else ""


class RoundBase(SQLModel):
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=60)
    bar: float = Field(default=3.0, ge=1, le=5)
    position: int = Field(default=0, ge=0, le=100)

    @field_validator("name_zh", "name_en", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class InterviewRound(RoundBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class CriterionBase(SQLModel):
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=60)
    weight: float = Field(default=1.0, gt=0, le=10)
    # What a 1, a 3 and a 5 look like, in both languages.
    level1_zh: str = Field(default="", max_length=300)
    level1_en: str = Field(default="", max_length=300)
    level3_zh: str = Field(default="", max_length=300)
    level3_en: str = Field(default="", max_length=300)
    level5_zh: str = Field(default="", max_length=300)
    level5_en: str = Field(default="", max_length=300)
    position: int = Field(default=0, ge=0, le=100)

    @field_validator(
        "name_zh",
        "name_en",
        "level1_zh",
        "level1_en",
        "level3_zh",
        "level3_en",
        "level5_zh",
        "level5_en",
        mode="before",
    )
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class Criterion(CriterionBase, table=True):
    """A criterion of a round; with job_id set it belongs to that job's override of the round's set."""

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="interviewround.id", index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    is_active: bool = True


class InterviewCreate(SQLModel):
    application_id: int
    round_id: int
    starts_at: datetime
    ends_at: datetime
    mode: InterviewMode = InterviewMode.onsite
    location: str = Field(default="", max_length=300)
    interviewer_ids: list[int] = Field(max_length=8)

    @field_validator("location", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> object:
        # A place or a link is one line; line breaks would only garble the calendar entry and the mail.
        return " ".join(value.split()) if isinstance(value, str) else _text(value)

    @field_validator("interviewer_ids")
    @classmethod
    def _panel(cls, value: list[int]) -> list[int]:
        if not value:  # the page's message for an empty panel, not pydantic's generic "too short"
            raise ValueError("err.not_an_interviewer")
        return value

    @model_validator(mode="after")
    def _times(self) -> InterviewCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("err.timezone_required")
        if self.ends_at <= self.starts_at:
            raise ValueError("err.end_before_start")
        if self.ends_at - self.starts_at > MAX_LENGTH:
            raise ValueError("err.interview_too_long")
        return self


class Interview(SQLModel, table=True):
    __table_args__ = (
        # An application's last held interview (the feedback clock) read from the index alone, per application,
        # and the interviews ended in a window (reminders, My tasks) with the application they belong to.
        Index("ix_interview_application_status_end", "application_id", "status", "ends_at"),
        Index("ix_interview_end_status_application", "ends_at", "status", "application_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    round_id: int = Field(foreign_key="interviewround.id")
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    mode: InterviewMode = Field(default=InterviewMode.onsite, max_length=10, sa_type=AutoString)
    location: str = Field(default="", max_length=300)
    status: InterviewStatus = Field(default=InterviewStatus.scheduled, max_length=12, sa_type=AutoString)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class InterviewPanelist(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("interview_id", "user_id"),
        # The seats still owing a scorecard: My tasks, the interviewer's list and the reminder rules read only
        # these (a few per cent of all seats), not every seat joined to every scorecard.
        # One person's, in the order of their interview's end (their oldest owed scorecards first).
        Index(
            "ix_panelist_owed",
            "user_id",
            "ends_at",
            "interview_id",
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
        # The same seats by their interview's end: those of the interviews ended in a window, read as a range.
        Index(
            "ix_panelist_owed_end",
            "ends_at",
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interview.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    # When this seat stopped owing a scorecard: its card submitted (save_scorecard), or the interview cancelled
    # or marked a no-show (set_interview_status). Both are final; NULL means the scorecard is owed.
    settled_at: datetime | None = None
    # Its interview's end, kept with it (schedule_interview, reschedule_interview): the owed seats of the interviews
    # ended in a window are read from an index, without reading every owed seat's interview.
    ends_at: datetime | None = None


class RatingIn(SQLModel):
    criterion_id: int
    rating: int | None = Field(default=None, ge=1, le=5)
    note: str = Field(default="", max_length=2000)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class ScorecardIn(SQLModel):
    """What an interviewer types; a draft may be incomplete, a submission may not (checked in the service)."""

    ratings: list[RatingIn] = Field(default_factory=list, max_length=30)
    strengths: str = Field(default="", max_length=5000)
    weaknesses: str = Field(default="", max_length=5000)
    comments: str = Field(default="", max_length=5000)
    recommendation: Recommendation | None = None

    @field_validator("strengths", "weaknesses", "comments", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)


class Scorecard(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("interview_id", "interviewer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interview.id", index=True)
    interviewer_id: int = Field(foreign_key="user.id", index=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    status: ScorecardStatus = Field(default=ScorecardStatus.draft, max_length=10, sa_type=AutoString)
    recommendation: str | None = Field(default=None, max_length=12)
    strengths: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    weaknesses: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    comments: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = Field(default=None, index=True)
    version: int = 1


class ScorecardRating(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("scorecard_id", "criterion_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scorecard_id: int = Field(foreign_key="scorecard.id", index=True)
    criterion_id: int = Field(foreign_key="criterion.id")
    rating: int | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class DecisionIn(SQLModel):
    kind: DecisionKind
    reason_code: str = Field(min_length=1, max_length=40)
    reason_text: str = Field(default="", max_length=2000)

    @field_validator("reason_text", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value)

    @model_validator(mode="after")
    def _known_reason(self) -> DecisionIn:
        if self.reason_code not in DECISION_REASONS[self.kind]:
            raise ValueError("err.reason_unknown")
        if self.reason_code == "other" and not self.reason_text:
            raise ValueError("err.reason_text_required")
        return self


class Decision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: str = Field(max_length=10)
    reason_code: str = Field(max_length=40)
    reason_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    by_user_id: int = Field(foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)
    mail_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
