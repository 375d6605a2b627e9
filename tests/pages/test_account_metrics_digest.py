"""My account's weekly metrics digest toggle: offered to those who may read metrics (admin, recruiter, hiring
manager) in their language, saved to the database when switched, and not offered to an interviewer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.user import User
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import all_text, assert_no_exception, tr

PAGE = "pages/account.py"
KEY = "account_metrics_digest"


def _open(open_app, role: str, language: str):
    return open_app(demo_user(ROLE_EMAILS[role], language)).switch_page(PAGE).run()


def _chosen(email: str) -> bool:
    with db.session_scope() as session:
        return session.exec(select(User.metrics_digest).where(User.email == email)).one()


@pytest.mark.parametrize(("role", "language"), [("hiring_manager", "zh"), ("admin", "en"), ("recruiter", "zh")])
def test_someone_who_reads_metrics_turns_the_weekly_digest_on_and_off(demo_db, open_app, role, language) -> None:
    at = _open(open_app, role, language)
    assert_no_exception(at)
    assert tr("account.metrics_digest", language) in [s.value for s in at.subheader]
    toggle = at.toggle(key=KEY)
    assert toggle.label == tr("account.metrics_digest_toggle", language)
    assert toggle.value is False and _chosen(ROLE_EMAILS[role]) is False

    at = toggle.set_value(True).run()
    assert_no_exception(at)
    assert [s.value for s in at.success] == [tr("account.metrics_digest_on", language)]
    assert _chosen(ROLE_EMAILS[role]) is True

    at = at.toggle(key=KEY).set_value(False).run()
    assert [s.value for s in at.success] == [tr("account.metrics_digest_off", language)]
    assert _chosen(ROLE_EMAILS[role]) is False


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_interviewer_is_not_offered_the_metrics_digest(demo_db, open_app, language) -> None:
    at = _open(open_app, "interviewer", language)
    assert_no_exception(at)
    assert KEY not in [t.key for t in at.toggle]
    assert tr("account.metrics_digest", language) not in all_text(at)
    assert tr("account.reminders", language) in all_text(at)  # the rest of the page is there
