"""The Outbox says whether a mail and reminder worker is running: none yet, when it last ran, stale, failing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from models.common import utcnow
from services.mail.worker import record_heartbeat
from services.platform import db
from services.platform.i18n import t
from tests.pages.conftest import demo_user
from ui.common import md_escape


def _texts(at) -> str:
    """The warnings and captions as Streamlit received them (names and errors escaped for Markdown)."""
    return "\n".join(str(e.value) for kind in ("warning", "caption") for e in getattr(at, kind))


def _outbox(open_app, language: str = "en"):
    at = open_app(demo_user("admin@example.com", language)).run()
    return at.switch_page("pages/outbox.py").run()


def test_with_no_worker_ever_the_outbox_says_that_no_mail_goes_out(demo_db, open_app) -> None:
    at = _outbox(open_app)
    assert not at.exception
    assert t("outbox.worker_none", "en") in _texts(at)


def test_the_outbox_names_the_worker_that_ran_last_and_warns_when_it_stopped_or_fails(demo_db, open_app) -> None:
    engine = db.get_engine()
    record_heartbeat(engine=engine, name="app1/worker", started_at=utcnow())
    at = _outbox(open_app, "zh")
    assert md_escape("app1/worker") in _texts(at) and t("outbox.worker_none", "zh") not in _texts(at)

    record_heartbeat(engine=engine, name="app1/worker", started_at=utcnow(), error="OperationalError: gone")
    at = _outbox(open_app, "en")
    assert md_escape("OperationalError: gone") in _texts(at)

    with engine.begin() as conn:
        conn.execute(text("UPDATE workerheartbeat SET last_pass_at = :at"), {"at": utcnow() - timedelta(minutes=12)})
    at = _outbox(open_app, "en")
    assert "12 minutes ago" in _texts(at)
