"""Staff accounts and their roles."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import AutoString, Field, SQLModel

from models.common import Language, Role, check_email, clean_text, utcnow


class UserBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(min_length=1, max_length=100)
    language: Language = Field(default=Language.zh, max_length=5, sa_type=AutoString)

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return clean_text(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: str) -> str:
        checked = check_email(clean_text(value))
        if not checked:
            raise ValueError("err.required")
        return checked


class UserCreate(UserBase):
    password: str | None = Field(default=None, min_length=10, max_length=200)
    roles: list[Role] = Field(default_factory=list)


class UserUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    language: Language | None = None
    roles: list[Role] | None = None
    is_active: bool | None = None


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    # Comma-separated Role values, e.g. "admin,recruiter".
    roles: str = Field(default="", max_length=100)
    is_active: bool = Field(default=True)
    sso_subject: str | None = Field(default=None, max_length=255)
    # "single": a mail per reminder; "digest": one mail a day with all of them.
    reminder_mode: str = Field(default="single", max_length=10)
    # The weekly metrics digest (services.metrics.digest), chosen on My account by those who may read metrics.
    metrics_digest: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None

    @property
    def role_set(self) -> set[Role]:
        return {Role(r) for r in self.roles.split(",") if r}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set & set(roles))


class UserPublic(UserBase):
    id: int
    roles: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per email address, known or not, so a lockout reveals nothing about accounts."""

    email: str = Field(primary_key=True, max_length=254)
    failures: int = 0
    locked_until: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the database only its keyed hash."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="session", max_length=10)  # "ticket" (one-time, seconds) or "session"
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
