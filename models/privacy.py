"""Candidate privacy (PIPL / GDPR): the notice shown, consent per purpose, requests to see or erase a record, and
who looked at whose record. The legal basis, the notice a person was shown and their retention dates are columns of
`candidate` (models.candidate)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import Column, Index, Text
from sqlmodel import AutoString, Field, SQLModel

from models.common import clean_text, utcnow


class LegalBasis(StrEnum):
    """Why we may process a candidate's data (PIPL Art. 13 / GDPR Art. 6)."""

    pre_contract = "pre_contract"  # steps before a contract, for the job applied to
    consent = "consent"


class ConsentPurpose(StrEnum):
    talent_pool = "talent_pool"  # keeping the data after the current application ends
    survey = "survey"  # the candidate-experience survey
    sensitive = "sensitive"  # sensitive personal data (PIPL Art. 28–29: separate consent), if ever collected


class ConsentMethod(StrEnum):
    form = "form"  # recorded by staff on the candidate's page
    import_ = "import"  # a column of an import file
    link = "link"  # the candidate's own link in a mail we sent


class RequestKind(StrEnum):
    access = "access"  # a copy of their data (GDPR Art. 15, PIPL Art. 45)
    erasure = "erasure"  # deletion (GDPR Art. 17, PIPL Art. 47)


class RequestLaw(StrEnum):
    pipl = "pipl"  # promptly (we set 15 days)
    gdpr = "gdpr"  # one month


class AccessAction(StrEnum):
    view = "view"
    export = "export"
    erase = "erase"


def _text(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


class PrivacyNoticeIn(SQLModel):
    text_zh: str = Field(min_length=1, max_length=50_000)
    text_en: str = Field(min_length=1, max_length=50_000)

    @field_validator("text_zh", "text_en", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class PrivacyNotice(SQLModel, table=True):
    """One version of the privacy notice; the newest published one is what candidates are shown."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    text_zh: str = Field(sa_column=Column(Text, nullable=False))
    text_en: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime | None = None  # None: a draft
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class ConsentIn(SQLModel):
    candidate_id: int
    purpose: ConsentPurpose
    given: bool
    method: ConsentMethod = ConsentMethod.form
    until: date | None = None  # talent pool: when the consent ends (None: until withdrawn)
    note: str = Field(default="", max_length=500)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value) or ""


class ConsentRecord(SQLModel, table=True):
    """Consent given or withdrawn for one purpose; the newest row per candidate and purpose is in force."""

    __table_args__ = (Index("ix_consentrecord_candidate_purpose", "candidate_id", "purpose", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id")
    purpose: ConsentPurpose = Field(max_length=20, sa_type=AutoString)
    given: bool
    method: ConsentMethod = Field(max_length=10, sa_type=AutoString)
    until: date | None = None
    note: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow)
    by_user_id: int | None = Field(default=None, foreign_key="user.id")  # None: the candidate, by their link


class ConsentLink(SQLModel, table=True):
    """The candidate's own private link to give or withdraw talent-pool consent: single use, expiring; only a keyed
    hash of its token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class PrivacyRequestIn(SQLModel):
    candidate_id: int
    kind: RequestKind
    law: RequestLaw
    received_on: date
    note: str = Field(default="", max_length=2000)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return _text(value) or ""


class PrivacyRequest(SQLModel, table=True):
    """A person's request to see or erase their data: when it came, when the law wants the answer, when answered."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    kind: RequestKind = Field(max_length=10, sa_type=AutoString)
    law: RequestLaw = Field(max_length=10, sa_type=AutoString)
    received_on: date
    due_on: date = Field(index=True)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    answered_at: datetime | None = None
    answered_by_id: int | None = Field(default=None, foreign_key="user.id")
    answer: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class AccessRecord(SQLModel, table=True):
    """Who opened or exported whose record, and when (PIPL Art. 51: records of access); kept for a set period."""

    __table_args__ = (Index("ix_accessrecord_candidate_at", "candidate_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    candidate_id: int = Field(foreign_key="candidate.id")
    action: AccessAction = Field(max_length=10, sa_type=AutoString)
