"""The frame before anyone is signed in: first-admin setup on an empty database, sign-in, sign-out."""

from __future__ import annotations

from sqlmodel import select

from models.user import User
from services.platform import db
from tests.pages.conftest import DEMO_PASSWORD, demo_user
from tests.pages.support import assert_no_exception, element_after, nav_pages, submit, tr

STRONG = "first-admin-pass-1"


def _fill_setup(at, *, password: str, repeat: str) -> None:
    at.text_input(key="setup_name").input("王芳 Wang Fang")
    at.text_input(key="setup_email").input("Wang.Fang@Example.com")
    at.text_input(key="setup_password").input(password)
    at.text_input(key="setup_password2").input(repeat)


def _assert_sent_for_the_cookie(at, language: str) -> None:
    """The browser is sent to trade its one-time ticket for the session cookie, with a link in case it stays."""
    assert tr("signin.redirecting", language) in [i.value for i in at.info]
    bodies = [str(h.proto.body) for h in at.get("html")]
    assert any(
        'window.location.replace("/session/start?ticket=' in b and 'href="/session/start?ticket=' in b for b in bodies
    ), bodies


def _users() -> list[User]:
    with db.session_scope() as session:
        return list(session.exec(select(User)))


def test_an_empty_database_opens_the_first_admin_setup_and_creating_the_admin_signs_in(app_db, open_app):
    at = open_app().run()
    assert_no_exception(at)
    assert at.title[0].value == tr("setup.title", "zh")
    assert nav_pages(at) == {"pages/setup.py"}

    _fill_setup(at, password=STRONG, repeat=STRONG)
    submit(at, "setup_form")
    assert_no_exception(at)

    admins = _users()
    assert [(u.email, u.role_set) for u in admins] == [("wang.fang@example.com", {"admin", "recruiter"})]
    assert at.session_state["auth_user"].email == "wang.fang@example.com"
    _assert_sent_for_the_cookie(at, "zh")
    # Signed in: the admin's pages are in the navigation, the setup page is gone.
    at.run()
    assert {"pages/users.py", "pages/candidates.py"} <= nav_pages(at)
    assert "pages/setup.py" not in nav_pages(at)
    # A fresh browser session now gets the sign-in page, not the setup page.
    again = open_app().run()
    assert again.title[0].value == tr("app.title", "zh")
    assert nav_pages(again) == {"pages/sign_in.py"}


def test_setup_with_a_mismatched_repeat_password_shows_the_error_there_and_creates_nobody(app_db, open_app):
    at = open_app().run()
    _fill_setup(at, password=STRONG, repeat=STRONG + "x")
    submit(at, "setup_form")
    assert_no_exception(at)

    message = element_after(at, "setup_password2")
    assert message.value == tr("err.password_mismatch", "zh")
    assert _users() == []
    assert at.text_input(key="setup_email").value == "Wang.Fang@Example.com"
    assert nav_pages(at) == {"pages/setup.py"}


def test_setup_refuses_a_weak_password_next_to_the_password_field(app_db, open_app):
    at = open_app().run()
    _fill_setup(at, password="aaaaaaaaaaaa", repeat="aaaaaaaaaaaa")
    submit(at, "setup_form")
    assert element_after(at, "setup_password").value == tr("err.password_weak", "zh")
    assert _users() == []


def test_sign_in_shows_the_same_message_for_an_unknown_email_and_a_wrong_password(demo_db, open_app):
    messages = []
    for email, password in [("nobody@example.com", DEMO_PASSWORD), ("recruiter@example.com", "wrong-password-1")]:
        at = open_app().run()
        assert nav_pages(at) == {"pages/sign_in.py"}
        at.text_input(key="signin_email").input(email)
        at.text_input(key="signin_password").input(password)
        submit(at, "signin_form")
        assert_no_exception(at)
        assert "auth_user" not in at.session_state
        messages.append([e.value for e in at.error])
    assert messages[0] == messages[1] == [tr("err.sign_in_failed", "zh")]


def test_signing_in_with_the_right_password_opens_the_pages_of_the_role(demo_db, open_app):
    at = open_app().run()
    at.text_input(key="signin_email").input("  Recruiter@Example.com ")
    at.text_input(key="signin_password").input(DEMO_PASSWORD)
    submit(at, "signin_form")
    assert_no_exception(at)
    assert at.session_state["auth_user"].email == "recruiter@example.com"
    _assert_sent_for_the_cookie(at, "zh")
    at.run()
    assert_no_exception(at)
    assert {"pages/candidates.py", "pages/jobs.py", "pages/import_candidates.py", "pages/account.py"} <= nav_pages(at)
    assert "pages/users.py" not in nav_pages(at)


def test_the_sign_in_page_follows_the_configured_language_when_the_browser_gives_none(demo_db, open_app, monkeypatch):
    from services.platform import config

    monkeypatch.setenv("FOLLOWUP_LANGUAGE", "en")
    config.get_settings.cache_clear()
    at = open_app().run()
    assert at.title[0].value == tr("app.title", "en")
    assert [w.label for w in at.text_input] == [tr("field.email", "en"), tr("field.password", "en")]


def test_signing_out_returns_to_the_sign_in_page(demo_db, open_app):
    at = open_app(demo_user("manager@example.com")).run()
    assert "pages/candidates.py" in nav_pages(at)
    at.button(key="frame_sign_out").click().run()
    assert_no_exception(at)
    assert "auth_user" not in at.session_state
    # The browser is sent to the route that clears the cookie, which loads the app afresh: a new session.
    assert any("/session/end" in str(h.proto.body) for h in at.get("html"))
    fresh = open_app().run()
    assert_no_exception(fresh)
    assert nav_pages(fresh) == {"pages/sign_in.py"}
    assert fresh.title[0].value == tr("app.title", "zh")


def test_switching_the_language_in_the_sidebar_is_kept_with_the_account(demo_db, open_app):
    at = open_app(demo_user("interviewer@example.com", "zh")).run()
    assert at.title[0].value == tr("nav.interviews", "zh")  # an interviewer lands on their interviews
    at.sidebar.selectbox(key="frame_language").set_value("en").run()
    assert_no_exception(at)
    assert at.title[0].value == tr("nav.interviews", "en")
    assert demo_user("interviewer@example.com").language == "en"


def test_signing_in_from_a_browser_in_another_language_keeps_the_accounts_language(demo_db, open_app):
    at = open_app()
    at.session_state["ui_lang"] = "en"  # what an English browser gets on the sign-in page
    at.run()
    assert at.title[0].value == tr("app.title", "en")
    at.text_input(key="signin_email").input("recruiter@example.com")  # saved language: zh
    at.text_input(key="signin_password").input(DEMO_PASSWORD)
    submit(at, "signin_form")
    assert_no_exception(at)
    at.run()
    assert at.title[0].value == tr("nav.candidates", "zh")
    assert at.sidebar.selectbox(key="frame_language").value == "zh"
    assert demo_user("recruiter@example.com").language == "zh"
