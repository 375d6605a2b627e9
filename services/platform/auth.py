"""Sign-in: password hashing, throttling, browser sessions and company sign-on (who may do what: platform.policy)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, update
from sqlmodel import Session, col, func, select

from models.common import Language, Role, utcnow
from models.user import AuthSession, LoginThrottle, User, UserCreate
from services.platform import audit
from services.platform.config import get_settings
from services.platform.db import session_scope, upsert_insert
from services.platform.errors import AuthFailed, NotAllowed, ValidationError, validate

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")
TICKET_SECONDS = 60


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """At least 10 characters, not all of one kind; raises ValidationError on the `password` field."""
    if len(password) < 10:
        raise ValidationError.single("password", "err.password_short", min=10)
    if len(password) > 200:
        raise ValidationError.single("password", "err.too_long", max=200)
    kinds = sum(
        [any(c.isalpha() for c in password), any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    )
    if kinds < 2 or len(set(password)) < 5:
        raise ValidationError.single("password", "err.password_weak")


def needs_first_admin(*, session: Session) -> bool:
    """True while no active admin exists (a fresh database)."""
    count = session.exec(
        select(func.count()).select_from(User).where(col(User.roles).contains("admin"), User.is_active)
    ).one()
    return count == 0


def create_first_admin(*, session: Session, user_in: dict[str, Any]) -> User:
    """Create the first admin on an empty database; refused once an admin exists."""
    if not needs_first_admin(session=session):
        raise NotAllowed("err.admin_exists")
    data = validate(UserCreate, {**user_in, "roles": [Role.admin, Role.recruiter]})
    check_password_strength(data.password or "")
    if session.exec(select(User).where(User.email == data.email)).first():
        raise ValidationError.single("email", "err.email_taken")
    user = User(
        email=data.email,
        name=data.name,
        language=data.language,
        roles="admin,recruiter",
        password_hash=hash_password(data.password or ""),
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=user,
        entity="user",
        entity_id=user.id or 0,
        action="create_first_admin",
        changes={"email": user.email},
    )
    session.flush()
    return user


def _count_failure(session: Session, email: str) -> None:
    """Add one failure for `email` in a single atomic upsert, locking the address at the limit.

    Read-then-write lost counts (and raised IntegrityError) when several wrong passwords arrived at once:
    INSERT … ON CONFLICT DO UPDATE increments in the database, on SQLite and PostgreSQL alike.
    """
    settings = get_settings()
    now = utcnow()
    until = now + timedelta(minutes=settings.login_lock_minutes)
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    insert = upsert_insert(session.get_bind())
    first_locks = settings.login_max_failures <= 1
    reaches = table.c.failures + 1 >= settings.login_max_failures
    statement = (
        insert(table)
        .values(
            email=email,
            failures=0 if first_locks else 1,
            locked_until=until if first_locks else None,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[table.c.email],
            set_={
                "failures": case((reaches, 0), else_=table.c.failures + 1),
                "locked_until": case((reaches, until), else_=table.c.locked_until),
                "updated_at": now,
            },
        )
    )
    # The one write a sign-in keeps although it fails: AuthFailed rolls the caller's transaction back, and the
    # count must stay. So it is a transaction of its own, on its own connection, committed here. (A sign-in is an
    # action of its own: a caller that had written before it would, on SQLite, hold the lock this waits for.)
    with session_scope(session.get_bind().engine) as own:
        own.execute(statement)
    _forget_throttle(session, email)


def _forget_throttle(session: Session, email: str) -> None:
    """Drop a LoginThrottle row the caller's Session may hold, so it reads the counts the database now has."""
    held = session.identity_map.get(session.identity_key(LoginThrottle, email))
    if held is not None:
        session.expunge(held)


def authenticate(*, session: Session, email: str, password: str) -> User:
    """The user whose email and password match; counts failures and locks the address after too many."""
    settings = get_settings()
    email = (email or "").strip().lower()[:254]
    now = utcnow()
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    locked_until = (
        session.execute(select(table.c.locked_until).where(table.c.email == email)).scalar_one_or_none()
        if email
        else None
    )
    if locked_until is not None and locked_until > now:
        raise AuthFailed("err.sign_in_locked", plural="minutes", minutes=settings.login_lock_minutes)
    user = session.exec(select(User).where(User.email == email)).first() if email else None
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not (ok and user and user.password_hash and user.is_active):
        if email:
            _count_failure(session, email)
        raise AuthFailed()
    # A bulk DELETE: another request may have removed the row already, which an ORM delete would take for an error.
    session.execute(delete(table).where(table.c.email == email))
    _forget_throttle(session, email)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.add(user)
    session.flush()
    return user


def _token_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def issue_ticket(*, session: Session, user: User) -> str:
    """A one-time ticket (60 s) that the browser exchanges for its session cookie."""
    ticket = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=_token_hash(ticket),
            user_id=user.id or 0,
            kind="ticket",
            expires_at=utcnow() + timedelta(seconds=TICKET_SECONDS),
        )
    )
    session.flush()
    return ticket


def redeem_ticket(*, session: Session, ticket: str) -> str | None:
    """Spend a ticket and open a browser session; returns the session token, or None for a bad ticket."""
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(ticket or ""), AuthSession.kind == "ticket")
    ).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    # Spent in the UPDATE itself, so two requests redeeming the same ticket at once cannot both succeed.
    spent = session.exec(
        update(AuthSession)
        .where(col(AuthSession.id) == row.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    if spent.rowcount != 1:  # spent by another request a moment ago: this UPDATE changed nothing
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=_token_hash(token),
            user_id=row.user_id,
            kind="session",
            expires_at=now + timedelta(days=get_settings().session_days),
        )
    )
    session.flush()
    return token


def user_for_session(*, session: Session, token: str | None, kind: str = "session") -> User | None:
    """The active user behind a session cookie (or, with kind="tab", a tab's own sign-in), or None when it is
    unknown, expired or revoked."""
    if not token:
        return None
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token), AuthSession.kind == kind)
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.is_active else None


def open_tab_session(*, session: Session, user: User) -> str:
    """A sign-in held by one browser tab (server-side, never sent to the browser), for when the cookie never
    arrives: checked on every run like a cookie session, so a password reset, deactivation or sign-out ends it,
    and it expires after the session days."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=_token_hash(token),
            user_id=user.id or 0,
            kind="tab",
            expires_at=utcnow() + timedelta(days=get_settings().session_days),
        )
    )
    session.flush()
    return token


def end_session(*, session: Session, token: str | None) -> None:
    """Revoke one browser session (sign out)."""
    if not token:
        return
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).first()
    if row and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()


def revoke_all_sessions(*, session: Session, user_id: int) -> None:
    """Revoke every open session of a user (password change, deactivation)."""
    for row in session.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, col(AuthSession.revoked_at).is_(None))
    ):
        row.revoked_at = utcnow()
        session.add(row)


def sso_user(*, session: Session, email: str, name: str | None = None, subject: str | None = None) -> User:
    """The account for a person signed on by the company (OIDC or proxy header); a new one gets no roles."""
    data_email = (email or "").strip().lower()
    user = session.exec(select(User).where(User.email == data_email)).first()
    if user is None:
        data = validate(UserCreate, {"email": data_email, "name": (name or data_email.split("@")[0])[:100]})
        user = User(
            email=data.email, name=data.name, roles="", sso_subject=subject, language=Language(get_settings().language)
        )
        session.add(user)
        session.flush()
        audit.record(
            session=session,
            actor=None,
            entity="user",
            entity_id=user.id or 0,
            action="sso_first_sign_on",
            changes={"email": user.email},
        )
    user.last_login_at = utcnow()
    session.add(user)
    session.flush()
    return user


def change_password(*, session: Session, user: User, old_password: str, new_password: str) -> str:
    """Change one's own password after checking the old one; every other browser must sign in again.

    Returns a one-time ticket that keeps the current browser signed in (its old session is revoked too)."""
    # The stored hash, not the caller's copy of the user: an admin may have reset the password meanwhile.
    db_user = session.get(User, user.id)
    if db_user is None or not db_user.is_active:
        raise NotAllowed()
    try:
        _hasher.verify(db_user.password_hash or _DUMMY_HASH, old_password or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError.single("old_password", "err.password_wrong") from None
    check_password_strength(new_password)
    db_user.password_hash = hash_password(new_password)
    session.add(db_user)
    revoke_all_sessions(session=session, user_id=db_user.id or 0)
    audit.record(session=session, actor=user, entity="user", entity_id=db_user.id or 0, action="change_password")
    return issue_ticket(session=session, user=db_user)


def sign_in(*, session: Session, email: str, password: str) -> tuple[User, str]:
    """Check the password and issue the one-time ticket the browser turns into its session cookie."""
    user = authenticate(session=session, email=email, password=password)
    return user, issue_ticket(session=session, user=user)
