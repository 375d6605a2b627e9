"""What the follow-up page tests share: an interviewed candidate, the app opened on a page as a role, today."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.common import utcnow
from services.platform import config, db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.scenarios import Interviewed, interviewed_candidate


def case(*, name: str, email: str, **kw: Any) -> Interviewed:
    """A new candidate of the demo recruiter whose interview has just ended (tests.scenarios)."""
    with db.session_scope() as session:
        return interviewed_candidate(session, name=name, email=email, **kw)


def open_as(open_app, role: str, page: str, language: str = "zh", **params: str):
    """The app run as the demo account of `role`, with `params` in the address, switched to `page`."""
    at = open_app(demo_user(ROLE_EMAILS[role], language))
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at.switch_page(page).run()


def today() -> date:
    return utcnow().astimezone(config.get_settings().tz).date()
