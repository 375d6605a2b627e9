"""Jobs (positions) candidates apply to."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationInfo, field_validator
from sqlmodel import AutoString, Field, SQLModel

from models.common import JobStatus, clean_text, utcnow


class JobBase(SQLModel):
    title: str = Field(min_length=1, max_length=120, index=True)
    department: str = Field(default="", max_length=80, index=True)
    location: str = Field(default="", max_length=80)
    headcount: int = Field(default=1, ge=1, le=1000)
    hiring_manager_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    description: str = Field(default="", max_length=5000)

    @field_validator("title", "department", "location", "description", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return clean_text(value) if value is not None else ""


class JobCreate(JobBase):
    pass


class JobUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=120)
    department: str | None = Field(default=None, max_length=80)
    location: str | None = Field(default=None, max_length=80)
    headcount: int | None = Field(default=None, ge=1, le=1000)
    hiring_manager_id: int | None = None
    description: str | None = Field(default=None, max_length=5000)
    status: JobStatus | None = None

    # None means "not sent" only when the field is left out; a None that is sent would be written as NULL
    # into a NOT NULL column, so it counts as empty text, or as missing for the title and the headcount.
    @field_validator("title", "department", "location", "description", mode="before")
    @classmethod
    def _strip(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            if info.field_name == "title":
                raise ValueError("err.required")
            return ""
        return clean_text(value)

    @field_validator("headcount", mode="before")
    @classmethod
    def _headcount(cls, value: object) -> object:
        if value is None:
            raise ValueError("err.required")
        return value


class Job(JobBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: JobStatus = Field(default=JobStatus.open, max_length=10, index=True, sa_type=AutoString)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    version: int = Field(default=1)
