"""A tab signed in without its cookie (the redirect never happened, cookies blocked) follows the database too:
a password reset, deactivation or expiry ends it on its next run, like a cookie session."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.common import utcnow
from models.user import User
from services.platform import db, users
from tests.pages.conftest import DEMO_PASSWORD, ROLE_EMAILS, demo_user
from tests.pages.support import assert_no_exception, nav_pages, submit


def _signed_in_tab(open_app, email: str):
    """Sign in on the sign-in page; AppTest has no cookies, so this tab never collects its session cookie."""
    from tests.pages.conftest import _default_language

    _default_language(demo_user(email).language)
    at = open_app().run()
    at.text_input(key="signin_email").input(email)
    at.text_input(key="signin_password").input(DEMO_PASSWORD)
    submit(at, "signin_form")
    assert_no_exception(at)
    at.run()
    assert "pages/jobs.py" in nav_pages(at)
    return at


def test_a_password_reset_signs_out_a_tab_that_never_got_its_cookie(demo_db, open_app):
    at = _signed_in_tab(open_app, ROLE_EMAILS["recruiter"])
    admin = demo_user(ROLE_EMAILS["admin"])
    with db.session_scope() as session:
        target = session.exec(select(User).where(User.email == ROLE_EMAILS["recruiter"])).one()
        users.set_password(session=session, actor=admin, user_id=target.id, password="reset-by-admin-42")
    at.run()
    assert_no_exception(at)
    assert nav_pages(at) == {"pages/sign_in.py"}
    assert "auth_user" not in at.session_state


def test_deactivation_and_sign_out_elsewhere_are_seen_by_the_tab_but_other_reruns_stay_signed_in(demo_db, open_app):
    at = _signed_in_tab(open_app, ROLE_EMAILS["interviewer"])
    at.run()
    at.run()
    assert "pages/jobs.py" in nav_pages(at)  # nothing changed: still signed in
    admin = demo_user(ROLE_EMAILS["admin"])
    target = demo_user(ROLE_EMAILS["interviewer"])
    with db.session_scope() as session:
        users.update_user(session=session, actor=admin, user_id=target.id, user_in={"is_active": False})
    at.run()
    assert nav_pages(at) == {"pages/sign_in.py"}


def test_a_tab_sign_in_expires_like_a_cookie_session(demo_db, open_app, frozen_clock):
    frozen_clock.set(utcnow())
    at = _signed_in_tab(open_app, ROLE_EMAILS["hiring_manager"])
    frozen_clock.set(utcnow() + timedelta(days=6, hours=23))
    at.run()
    assert "pages/candidates.py" in nav_pages(at)
    frozen_clock.set(utcnow() + timedelta(hours=2))  # past the 7 session days
    at.run()
    assert_no_exception(at)
    assert nav_pages(at) == {"pages/sign_in.py"}


def test_a_tab_whose_user_was_put_into_its_state_without_signing_in_is_not_signed_in(demo_db):
    """Only a sign-in the database knows counts: a user object alone in the tab's state opens nothing."""
    from streamlit.testing.v1 import AppTest

    from tests.pages.conftest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["auth_user"] = demo_user(ROLE_EMAILS["admin"])
    at.run()
    assert nav_pages(at) == {"pages/sign_in.py"}
