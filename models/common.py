"""Shared pieces of the models: the clock, enums and validators."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TypeVar, overload

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{5,22}[0-9]$")


class Clock:
    """The time source; tests move it with `freeze`."""

    frozen: datetime | None = None

    def now(self) -> datetime:
        """Aware UTC; SQLModel stores it as UTC and returns it aware on SQLite and PostgreSQL alike."""
        return self.frozen or datetime.now(UTC)

    def freeze(self, at: datetime | None) -> None:
        self.frozen = at


clock = Clock()


Day = TypeVar("Day", bound=date)  # a date or a datetime


def add_months(day: Day, months: int) -> Day:
    """`day` (a date or a datetime) moved by whole calendar months, kept on its day of the month or clamped to the
    month's last day (31 January + 1 month = 28/29 February); a datetime keeps its time and zone."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))


def utcnow() -> datetime:
    return clock.now()


class Role(StrEnum):
    admin = "admin"
    recruiter = "recruiter"
    hiring_manager = "hiring_manager"
    interviewer = "interviewer"


class Language(StrEnum):
    zh = "zh"
    en = "en"


class JobStatus(StrEnum):
    open = "open"
    on_hold = "on_hold"
    closed = "closed"


class Stage(StrEnum):
    interviewing = "interviewing"
    decision_pending = "decision_pending"
    offer = "offer"
    hired = "hired"
    probation_passed = "probation_passed"
    rejected = "rejected"
    withdrawn = "withdrawn"
    talent_pool = "talent_pool"


EXITS = {Stage.rejected, Stage.withdrawn, Stage.talent_pool}
ACTIVE_STAGES = [Stage.interviewing, Stage.decision_pending, Stage.offer, Stage.hired]

# Where an application may go from each stage; exits may be reopened into interviewing.
TRANSITIONS: dict[Stage, set[Stage]] = {
    Stage.interviewing: {Stage.decision_pending, Stage.offer, *EXITS},
    Stage.decision_pending: {Stage.interviewing, Stage.offer, *EXITS},
    Stage.offer: {Stage.hired, Stage.decision_pending, *EXITS},
    Stage.hired: {Stage.probation_passed, Stage.rejected, Stage.withdrawn},
    Stage.probation_passed: set(),
    Stage.rejected: {Stage.interviewing, Stage.talent_pool},
    Stage.withdrawn: {Stage.interviewing, Stage.talent_pool},
    Stage.talent_pool: {Stage.interviewing},
}


@overload
def clean_text(value: str) -> str: ...
@overload
def clean_text(value: str | None) -> str | None: ...
@overload
def clean_text(value: object) -> object: ...
def clean_text(value: object) -> object:
    """Strip surrounding whitespace so that '   ' counts as empty."""
    return value.strip() if isinstance(value, str) else value


def check_email(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    value = value.strip().lower()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("err.email_invalid")
    return value


def check_phone(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    value = value.strip()
    digits = re.sub(r"\D", "", value)
    if not PHONE_RE.match(value) or not 7 <= len(digits) <= 15:
        raise ValueError("err.phone_invalid")
    return value


def phone_digits(value: str | None) -> str:
    """The digits of a phone number, with China's country code dropped from mobile numbers
    (+86 138…, 0086 138… and 138… are the same phone)."""
    digits = re.sub(r"\D", "", value or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix) :]
    return digits


def split_tags(value: str | list[str] | None) -> str:
    """Tags are kept as one normalised comma-separated string (',a,b,' so LIKE ',a,' matches whole tags)."""
    if value is None:
        return ""
    items = value if isinstance(value, list) else re.split(r"[,，;；]", value)
    tags = []
    for item in items:
        tag = item.strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    if any(len(t) > 40 for t in tags) or len(tags) > 20:
        raise ValueError("err.tags_invalid")
    return "," + ",".join(tags) + "," if tags else ""


def tag_list(value: str | None) -> list[str]:
    return [t for t in (value or "").split(",") if t]
