"""Sign-in: hashing, one message for every failure, lockout, tickets, sessions, company sign-on, role checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, func, select

import services.platform.config
from models.audit import AuditLog
from models.common import Role, utcnow
from models.user import AuthSession, LoginThrottle, User
from services.platform import auth, policy, users
from services.platform.errors import AuthFailed, NotAllowed, ValidationError
from services.platform.policy import Cap
from tests.factories import PASSWORD, action, done

WRONG = "wrong-password-1"
NEW_PASSWORD = "new-Secret-2026"


def failure_key(session: Session, email: str, password: str = WRONG) -> str:
    # A sign-in is an action of its own, as on the page: what the test did before it is saved first. (The count
    # of a failure is written on a connection of its own, which would wait for this session's write lock.)
    session.commit()
    with pytest.raises(AuthFailed) as caught:
        auth.authenticate(session=session, email=email, password=password)
    return caught.value.key


def open_session(session: Session, user: User) -> str:
    """A browser session token for `user`, the way the sign-in page gets one."""
    ticket = auth.issue_ticket(session=session, user=user)
    token = auth.redeem_ticket(session=session, ticket=ticket)
    assert token
    return token


def count(session: Session, model: type, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


# --- hashing and password rules -------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id_and_a_fresh_salt() -> None:
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert first != second
    assert PASSWORD not in first
    assert PasswordHasher().verify(first, PASSWORD)


@pytest.mark.parametrize(
    ("password", "key"),
    [
        ("abc-12", "err.password_short"),
        ("aaaaaaaaaaaaaa", "err.password_weak"),
        ("onlyletterspassword", "err.password_weak"),
        ("12341234123412", "err.password_weak"),
        ("a1a1a1a1a1a1a1", "err.password_weak"),
        ("x1" * 101, "err.too_long"),
    ],
)
def test_a_short_weak_or_huge_password_is_refused_on_the_password_field(password: str, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        auth.check_password_strength(password)
    assert list(caught.value.fields) == ["password"]
    assert caught.value.fields["password"][0] == key


def test_a_password_mixing_letters_and_digits_is_strong_enough() -> None:
    auth.check_password_strength(PASSWORD)
    auth.check_password_strength("Zhang2026wei")


# --- authenticate ---------------------------------------------------------------------------------------------


def test_the_right_password_signs_in_and_records_the_time(session, make, frozen_clock) -> None:
    user = make.user(email="anna@example.com")
    signed_in = auth.authenticate(session=session, email="anna@example.com", password=PASSWORD)
    assert signed_in.id == user.id
    assert session.get(User, user.id).last_login_at == utcnow()


def test_the_email_is_matched_whatever_its_case_and_spaces(session, make) -> None:
    user = make.user(email="anna@example.com")
    assert auth.authenticate(session=session, email="  Anna@Example.COM ", password=PASSWORD).id == user.id


def test_unknown_email_wrong_password_and_deactivated_user_get_the_same_message(session, make) -> None:
    make.user(email="anna@example.com")
    make.user(email="gone@example.com", is_active=False)
    keys = {
        failure_key(session, "nobody@example.com", PASSWORD),
        failure_key(session, "anna@example.com", WRONG),
        failure_key(session, "gone@example.com", PASSWORD),
    }
    assert keys == {"err.sign_in_failed"}


def test_an_account_without_a_password_cannot_be_opened_with_any_password(session) -> None:
    auth.sso_user(session=session, email="sso@example.com", name="SSO")
    # The dummy hash compared against for unknown accounts must not open a password-less one either.
    assert failure_key(session, "sso@example.com", "not-a-real-password-0") == "err.sign_in_failed"
    assert failure_key(session, "sso@example.com", "") == "err.sign_in_failed"


def test_five_failures_lock_the_address_even_against_the_right_password(session, make, frozen_clock) -> None:
    make.user(email="anna@example.com")
    for _ in range(5):
        assert failure_key(session, "anna@example.com") == "err.sign_in_failed"
    with pytest.raises(AuthFailed) as caught:
        auth.authenticate(session=session, email="anna@example.com", password=PASSWORD)
    assert caught.value.key == "err.sign_in_locked"
    assert caught.value.params == {"minutes": 15}


def test_an_unknown_email_is_locked_out_like_a_known_one(session, frozen_clock) -> None:
    keys = [failure_key(session, "nobody@example.com") for _ in range(6)]
    assert keys == ["err.sign_in_failed"] * 5 + ["err.sign_in_locked"]
    throttle = session.get(LoginThrottle, "nobody@example.com")
    assert throttle is not None and throttle.locked_until == utcnow() + timedelta(minutes=15)


def test_the_lock_on_one_address_leaves_other_addresses_alone(session, make, frozen_clock) -> None:
    make.user(email="anna@example.com")
    other = make.user(email="bo@example.com")
    for _ in range(5):
        failure_key(session, "anna@example.com")
    assert auth.authenticate(session=session, email="bo@example.com", password=PASSWORD).id == other.id


def test_the_lock_expires_after_the_configured_minutes(session, make, frozen_clock) -> None:
    user = make.user(email="anna@example.com")
    start = utcnow()
    for _ in range(5):
        failure_key(session, "anna@example.com")
    frozen_clock.set(start + timedelta(minutes=14, seconds=59))
    assert failure_key(session, "anna@example.com", PASSWORD) == "err.sign_in_locked"
    frozen_clock.set(start + timedelta(minutes=15))
    assert auth.authenticate(session=session, email="anna@example.com", password=PASSWORD).id == user.id
    assert session.get(LoginThrottle, "anna@example.com") is None


def test_a_successful_sign_in_resets_the_failure_count(session, make, frozen_clock) -> None:
    make.user(email="anna@example.com")
    for _ in range(4):
        failure_key(session, "anna@example.com")
    assert session.get(LoginThrottle, "anna@example.com").failures == 4
    auth.authenticate(session=session, email="anna@example.com", password=PASSWORD)
    assert session.get(LoginThrottle, "anna@example.com") is None
    for _ in range(4):
        assert failure_key(session, "anna@example.com") == "err.sign_in_failed"
    auth.authenticate(session=session, email="anna@example.com", password=PASSWORD)


def test_the_number_of_allowed_failures_comes_from_the_settings(session, make, monkeypatch, frozen_clock) -> None:
    monkeypatch.setenv("FOLLOWUP_LOGIN_MAX_FAILURES", "2")
    monkeypatch.setenv("FOLLOWUP_LOGIN_LOCK_MINUTES", "3")
    services.platform.config.get_settings.cache_clear()
    make.user(email="anna@example.com")
    failure_key(session, "anna@example.com")
    failure_key(session, "anna@example.com")
    with pytest.raises(AuthFailed) as caught:
        auth.authenticate(session=session, email="anna@example.com", password=PASSWORD)
    assert (caught.value.key, caught.value.params) == ("err.sign_in_locked", {"minutes": 3})


@pytest.mark.parametrize("attempts", [8, 12])
def test_wrong_passwords_at_the_same_moment_all_count_and_lock_the_address(engine, make, attempts) -> None:
    """Many browsers (or a script) failing at once: no crash, and the lock holds afterwards."""
    import threading

    make.user(email="anna@example.com")
    barrier = threading.Barrier(attempts)
    outcomes: list[object] = [None] * attempts

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            with action(engine) as own:
                auth.authenticate(session=own, email="anna@example.com", password=WRONG)
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(o, AuthFailed) for o in outcomes), outcomes
    with Session(engine) as fresh:
        assert failure_key(fresh, "anna@example.com", PASSWORD) == "err.sign_in_locked"


def test_sign_ins_at_the_same_moment_after_failures_do_not_crash(engine, make) -> None:
    """A right and a wrong password at once after some failures: the reset and the count do not collide."""
    import threading

    user = make.user(email="anna@example.com")
    with Session(engine) as first:
        for _ in range(3):
            failure_key(first, "anna@example.com")
    barrier = threading.Barrier(6)
    outcomes: list[object] = [None] * 6

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            with action(engine) as own:
                outcomes[i] = auth.authenticate(
                    session=own, email="anna@example.com", password=PASSWORD if i % 2 else WRONG
                )
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(o, AuthFailed) or (isinstance(o, User) and o.id == user.id) for o in outcomes), outcomes


# --- first admin ------------------------------------------------------------------------------------------------


def test_a_fresh_database_needs_a_first_admin(session) -> None:
    assert auth.needs_first_admin(session=session) is True


def test_a_deactivated_admin_does_not_count_as_the_first_admin(session, make) -> None:
    make.admin(is_active=False)
    make.user("recruiter")
    assert auth.needs_first_admin(session=session) is True


def test_the_first_admin_is_created_as_admin_and_recruiter_with_an_argon2_hash(session) -> None:
    admin = auth.create_first_admin(
        session=session, user_in={"email": "Boss@Example.com", "name": " 王芳 ", "password": PASSWORD}
    )
    assert admin.email == "boss@example.com"
    assert admin.name == "王芳"
    assert admin.role_set == {Role.admin, Role.recruiter}
    assert admin.password_hash.startswith("$argon2id$")
    assert auth.needs_first_admin(session=session) is False
    assert count(session, AuditLog, AuditLog.action == "create_first_admin", AuditLog.entity_id == admin.id) == 1
    assert auth.authenticate(session=session, email="boss@example.com", password=PASSWORD).id == admin.id


def test_a_second_first_admin_is_refused_once_an_admin_exists(session, make) -> None:
    make.admin()
    with pytest.raises(NotAllowed) as caught:
        auth.create_first_admin(session=session, user_in={"email": "x@example.com", "name": "X", "password": PASSWORD})
    assert caught.value.key == "err.admin_exists"
    assert count(session, User, User.email == "x@example.com") == 0


@pytest.mark.parametrize("password", ["short-1", "aaaaaaaaaaaaaa", "passwordpassword", ""])
def test_the_first_admin_with_a_short_or_weak_password_is_refused_on_the_password_field(session, password) -> None:
    with pytest.raises(ValidationError) as caught:
        auth.create_first_admin(
            session=session, user_in={"email": "boss@example.com", "name": "Boss", "password": password}
        )
    assert "password" in caught.value.fields
    assert auth.needs_first_admin(session=session) is True


def test_the_first_admin_with_a_bad_email_is_refused_on_the_email_field(session) -> None:
    with pytest.raises(ValidationError) as caught:
        auth.create_first_admin(session=session, user_in={"email": "boss", "name": "Boss", "password": PASSWORD})
    assert caught.value.fields["email"][0] == "err.email_invalid"


def test_the_first_admin_cannot_take_the_email_of_an_existing_roleless_account(session) -> None:
    auth.sso_user(session=session, email="boss@example.com")
    with pytest.raises(ValidationError) as caught:
        auth.create_first_admin(
            session=session, user_in={"email": "boss@example.com", "name": "Boss", "password": PASSWORD}
        )
    assert caught.value.fields["email"][0] == "err.email_taken"


# --- tickets and browser sessions -----------------------------------------------------------------------------


def test_sign_in_gives_a_one_time_ticket_that_turns_into_a_session_token(session, make) -> None:
    user = make.user(email="anna@example.com")
    signed_in, ticket = auth.sign_in(session=session, email="anna@example.com", password=PASSWORD)
    assert signed_in.id == user.id
    token = auth.redeem_ticket(session=session, ticket=ticket)
    assert token and token != ticket
    assert auth.user_for_session(session=session, token=token).id == user.id
    assert auth.redeem_ticket(session=session, ticket=ticket) is None


def test_a_ticket_expires_after_sixty_seconds(session, make, frozen_clock) -> None:
    user = make.user()
    start = utcnow()
    fresh = auth.issue_ticket(session=session, user=user)
    stale = auth.issue_ticket(session=session, user=user)
    frozen_clock.set(start + timedelta(seconds=59))
    assert auth.redeem_ticket(session=session, ticket=fresh) is not None
    frozen_clock.set(start + timedelta(seconds=60))
    assert auth.redeem_ticket(session=session, ticket=stale) is None


def test_a_ticket_redeemed_twice_at_the_same_moment_opens_only_one_session(engine, make) -> None:
    user = make.user()
    with Session(engine, expire_on_commit=False) as issuing:
        ticket = done(issuing, auth.issue_ticket(session=issuing, user=user))
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        # Both requests have read the unspent ticket before either of them spends it (and still hold it).
        read = [sess.exec(select(AuthSession).where(AuthSession.kind == "ticket")).one() for sess in (first, second)]
        assert [row.revoked_at for row in read] == [None, None]
        tokens = [
            done(first, auth.redeem_ticket(session=first, ticket=ticket)),
            done(second, auth.redeem_ticket(session=second, ticket=ticket)),
        ]
    assert tokens[0] is not None and tokens[1] is None
    with Session(engine) as fresh:
        assert count(fresh, AuthSession, AuthSession.kind == "session") == 1


def test_an_unknown_or_empty_ticket_opens_nothing(session, make) -> None:
    auth.issue_ticket(session=session, user=make.user())
    assert auth.redeem_ticket(session=session, ticket="made-up") is None
    assert auth.redeem_ticket(session=session, ticket="") is None
    assert count(session, AuthSession, AuthSession.kind == "session") == 0


def test_a_ticket_is_not_accepted_as_a_session_token(session, make) -> None:
    ticket = auth.issue_ticket(session=session, user=make.user())
    assert auth.user_for_session(session=session, token=ticket) is None


def test_the_database_keeps_only_a_keyed_hash_of_each_token(session, make) -> None:
    token = open_session(session, make.user())
    hashes = session.exec(select(AuthSession.token_hash)).all()
    assert len(hashes) == 2
    assert all(len(h) == 64 and token not in h for h in hashes)


def test_a_session_token_expires_after_the_session_days(session, make, frozen_clock) -> None:
    user = make.user()
    start = utcnow()
    token = open_session(session, user)
    frozen_clock.set(start + timedelta(days=7) - timedelta(seconds=1))
    assert auth.user_for_session(session=session, token=token).id == user.id
    frozen_clock.set(start + timedelta(days=7))
    assert auth.user_for_session(session=session, token=token) is None


def test_signing_out_revokes_the_session_and_signing_out_twice_is_harmless(session, make) -> None:
    user = make.user()
    token = open_session(session, user)
    other = open_session(session, user)
    auth.end_session(session=session, token=token)
    auth.end_session(session=session, token=token)
    auth.end_session(session=session, token=None)
    assert auth.user_for_session(session=session, token=token) is None
    assert auth.user_for_session(session=session, token=other).id == user.id


def test_a_missing_or_unknown_token_gives_no_user(session, make) -> None:
    open_session(session, make.user())
    assert auth.user_for_session(session=session, token=None) is None
    assert auth.user_for_session(session=session, token="") is None
    assert auth.user_for_session(session=session, token="guess") is None


def test_a_deactivated_user_loses_their_open_session(session, make) -> None:
    user = make.user()
    token = open_session(session, user)
    user.is_active = False
    session.add(user)
    session.commit()
    assert auth.user_for_session(session=session, token=token) is None


# --- change password ------------------------------------------------------------------------------------------


def test_changing_the_password_needs_the_right_old_password(session, make) -> None:
    user = make.user(email="anna@example.com")
    with pytest.raises(ValidationError) as caught:
        auth.change_password(session=session, user=user, old_password=WRONG, new_password=NEW_PASSWORD)
    assert caught.value.fields == {"old_password": ("err.password_wrong", {})}
    assert auth.authenticate(session=session, email="anna@example.com", password=PASSWORD).id == user.id


def test_changing_the_password_refuses_a_weak_new_one(session, make) -> None:
    user = make.user()
    with pytest.raises(ValidationError) as caught:
        auth.change_password(session=session, user=user, old_password=PASSWORD, new_password="aaaaaaaaaaaa")
    assert caught.value.fields["password"][0] == "err.password_weak"


def test_changing_the_password_signs_out_every_browser(session, make) -> None:
    user = make.user(email="anna@example.com")
    tokens = [open_session(session, user), open_session(session, user)]
    auth.change_password(session=session, user=user, old_password=PASSWORD, new_password=NEW_PASSWORD)
    assert [auth.user_for_session(session=session, token=t) for t in tokens] == [None, None]
    assert failure_key(session, "anna@example.com", PASSWORD) == "err.sign_in_failed"
    assert auth.authenticate(session=session, email="anna@example.com", password=NEW_PASSWORD).id == user.id
    assert count(session, AuditLog, AuditLog.action == "change_password", AuditLog.entity_id == user.id) == 1


def test_changing_the_password_checks_the_old_one_against_the_database_not_a_cached_user(engine, make) -> None:
    admin = make.admin()
    cached = make.user(email="anna@example.com")  # the signed-in user as a page holds it, hash and all
    with Session(engine, expire_on_commit=False) as other:
        from services.platform import users

        done(other, users.set_password(session=other, actor=admin, user_id=cached.id, password="Reset-by-admin-1"))
    with Session(engine, expire_on_commit=False) as page:
        with pytest.raises(ValidationError) as caught:
            auth.change_password(session=page, user=cached, old_password=PASSWORD, new_password=NEW_PASSWORD)
        assert caught.value.fields == {"old_password": ("err.password_wrong", {})}
        auth.change_password(session=page, user=cached, old_password="Reset-by-admin-1", new_password=NEW_PASSWORD)
        assert auth.authenticate(session=page, email="anna@example.com", password=NEW_PASSWORD).id == cached.id


def test_a_deactivated_user_cannot_change_their_password(session, make) -> None:
    user = make.user(is_active=False)
    with pytest.raises(NotAllowed):
        auth.change_password(session=session, user=user, old_password=PASSWORD, new_password=NEW_PASSWORD)


# --- company sign-on ------------------------------------------------------------------------------------------


def test_company_sign_on_creates_a_roleless_account_once_and_reuses_it(session) -> None:
    first = auth.sso_user(session=session, email="Li.Na@Corp.example.com", name="李娜", subject="sub-1")
    again = auth.sso_user(session=session, email="li.na@corp.example.com", name="Li Na", subject="sub-1")
    assert again.id == first.id
    assert first.email == "li.na@corp.example.com"
    assert first.name == "李娜"
    assert first.roles == "" and first.role_set == set()
    assert first.password_hash is None
    assert first.sso_subject == "sub-1"
    assert count(session, User) == 1
    assert count(session, AuditLog, AuditLog.action == "sso_first_sign_on") == 1


def test_company_sign_on_without_a_name_uses_the_part_before_the_at(session) -> None:
    assert auth.sso_user(session=session, email="wang.fang@corp.example.com").name == "wang.fang"


def test_company_sign_on_finds_a_local_account_and_keeps_its_roles(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter", email="anna@example.com")
    user = auth.sso_user(session=session, email="anna@example.com", name="Someone Else")
    assert user.id == recruiter.id
    assert user.role_set == {Role.recruiter}
    assert user.last_login_at == utcnow()


def test_company_sign_on_with_an_invalid_email_is_refused(session) -> None:
    with pytest.raises(ValidationError):
        auth.sso_user(session=session, email="not an email")
    assert count(session, User) == 0


def test_a_roleless_account_is_refused_everything_until_an_admin_gives_a_role(session) -> None:
    user = auth.sso_user(session=session, email="new@example.com")
    for cap in Cap:
        with pytest.raises(NotAllowed):
            policy.require_cap(user, cap)
    with pytest.raises(NotAllowed):
        users.list_users(session=session, actor=user)


# --- require_cap ------------------------------------------------------------------------------------------------


def test_require_cap_returns_an_active_user_one_of_whose_roles_holds_the_capability(make) -> None:
    user = make.user("hiring_manager,interviewer")
    assert policy.require_cap(user, Cap.score) is user
    assert policy.require_cap(user, Cap.decide) is user


def test_require_cap_refuses_nobody_a_deactivated_user_and_a_missing_capability(make) -> None:
    with pytest.raises(NotAllowed):
        policy.require_cap(None, Cap.use_app)
    with pytest.raises(NotAllowed):
        policy.require_cap(make.admin(is_active=False), Cap.manage_users)
    with pytest.raises(NotAllowed) as caught:
        policy.require_cap(make.user("interviewer"), Cap.follow_up)
    assert caught.value.key == "err.not_allowed"
