"""User text is shown as text on every page: a name, title, tag, reason or note written as Markdown or HTML
(`![x](/session/end)` would sign out whoever views it; images would load from anywhere) is never rendered as such.

Every person-made text in the demo data is replaced by hostile markup, every page is opened (with a row picked
where it has a table), and every element that Streamlit renders as Markdown is read: once its backslash-escapes
are taken out, no image, link or HTML tag may be left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.candidate import Application, Candidate, StageChange
from models.evaluation import Criterion, Decision, Interview, InterviewRound, Scorecard, ScorecardRating
from models.followup import Contact, Intent, PoolEntry
from models.job import Job
from models.mail import OutboxMessage
from models.user import User
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import assert_no_exception, click_cell, walk
from ui.common import WORD_JOINER, md_escape

HOSTILE = "![x](/session/end) <img src=x onerror=alert(1)> [link](http://evil) :red[red] **b**"
# What Markdown would turn into an image, a link or an HTML tag.
LIVE = re.compile(r"!\[|\]\(|<img|<a\b|\bhttp://evil")
MARKDOWN_VALUES = (
    "Markdown",
    "Caption",
    "Title",
    "Header",
    "Subheader",
    "Error",
    "Warning",
    "Info",
    "Success",
    "Metric",
    "Toast",
)

# model: the person-made text fields that get the hostile text (numbered where a name must stay unique)
FIELDS: dict[type, tuple[str, ...]] = {
    Candidate: ("name", "notes"),
    Job: ("title", "department", "location"),
    User: ("name",),
    StageChange: ("reason",),
    InterviewRound: ("name_zh", "name_en"),
    Criterion: ("name_zh", "name_en", "level1_zh", "level1_en", "level3_zh", "level3_en", "level5_zh", "level5_en"),
    Interview: ("location",),
    Scorecard: ("strengths", "weaknesses", "comments"),
    ScorecardRating: ("note",),
    Decision: ("reason_text",),
    Contact: ("summary",),
    Intent: ("notes",),
    PoolEntry: ("reason", "job_family"),
    OutboxMessage: ("subject",),
}


def test_md_escape_leaves_no_markup_and_keeps_every_character() -> None:
    escaped = md_escape(HOSTILE)
    assert not LIVE.search(re.sub(r"\\.", "", escaped))
    assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == HOSTILE
    assert md_escape("王小明 Anna") == "王小明 Anna"
    assert md_escape("a\nb", lines=True) == "a  \nb"
    assert md_escape(None) == ""
    # GitHub's autolink literals link even escaped text: a word joiner breaks them.
    for literal in ("http://evil.example", "www.evil.example", "someone@evil.example"):
        assert WORD_JOINER in md_escape(literal)


@pytest.fixture
def hostile_db(demo_db: str) -> str:
    with db.session_scope() as session:
        for model, fields in FIELDS.items():
            for n, row in enumerate(session.exec(select(model)).all()):
                for field in fields:
                    if getattr(row, field, None) is not None or field in ("reason", "notes", "location"):
                        setattr(row, field, f"{HOSTILE} {n}")
                session.add(row)
        for n, cand in enumerate(session.exec(select(Candidate)).all()):
            cand.tags = f"![t{n}](/session/end),<b>bold</b>"
            session.add(cand)
        session.commit()
    return demo_db


def _rendered(at: AppTest) -> Iterator[tuple[str, str]]:
    """(kind, text) of everything on the page that Streamlit renders as Markdown."""
    for root in (at.main, at.sidebar):
        for node in walk(root):
            kind = type(node).__name__
            if kind in MARKDOWN_VALUES and isinstance(getattr(node, "value", None), str):
                yield kind, node.value
            label = getattr(node, "label", None)
            if isinstance(label, str):
                yield f"{kind} label", label


def assert_no_live_markup(at: AppTest, where: str) -> None:
    assert_no_exception(at)
    live = [(kind, text) for kind, text in _rendered(at) if LIVE.search(re.sub(r"\\.", "", text))]
    assert live == [], where
    shown = "\n".join(text for _, text in _rendered(at))
    assert "session" in shown.replace("\\", ""), f"{where}: the hostile text is not on the page at all"


def _first(model: type, *where: Any) -> Any:
    with db.session_scope() as session:
        return session.exec(select(model).where(*where)).first()


def test_no_page_renders_user_text_as_markup(hostile_db, open_app) -> None:
    admin = demo_user(ROLE_EMAILS["admin"], "en")
    recruiter = demo_user(ROLE_EMAILS["recruiter"], "zh")
    interviewer = demo_user(ROLE_EMAILS["interviewer"], "en")

    at = open_app(recruiter).run()
    assert_no_live_markup(at, "candidates")
    click_cell(at, "cand_table", 0, "姓名")
    assert_no_live_markup(at, "a candidate")
    for tab in at.tabs:
        assert isinstance(tab.label, str)

    with_history = _first(StageChange, StageChange.reason.is_not(None))
    app = _first(Application, Application.id == with_history.application_id)
    at = open_app(recruiter)
    at.query_params["id"] = str(app.candidate_id)
    at.run()
    assert_no_live_markup(at, "a candidate with a stage history")

    for page in (
        "pages/jobs.py",
        "pages/my_tasks.py",
        "pages/talent_pool.py",
        "pages/outbox.py",
        "pages/follow_up.py",
        "pages/interviews.py",
        "pages/account.py",
    ):
        at = open_app(recruiter).run()
        at.switch_page(page).run()
        assert_no_live_markup(at, page)
        prefix = {
            "pages/jobs.py": "jobs_table",
            "pages/talent_pool.py": "pool_table",
            "pages/outbox.py": "outbox_table",
            "pages/interviews.py": "iv_week_table",
        }.get(page)
        if prefix and any((d.key or "").startswith(prefix) for d in at.dataframe):
            column = at.dataframe[-1].value.columns[1]
            click_cell(at, prefix, 0, column)
            assert_no_live_markup(at, f"{page}, first row")

    contacted = _first(Contact)
    at = open_app(recruiter)
    at.query_params["application"] = str(contacted.application_id)
    at.run()
    at.switch_page("pages/follow_up.py").run()
    assert_no_live_markup(at, "a follow-up panel")

    decided = _first(Decision)
    at = open_app(admin)
    at.query_params["application"] = str(decided.application_id)
    at.run()
    at.switch_page("pages/debrief.py").run()
    assert_no_live_markup(at, "a debrief")
    at = open_app(admin).run()
    at.switch_page("pages/rounds.py").run()
    assert_no_live_markup(at, "rounds")

    mine = _first(Scorecard, Scorecard.interviewer_id == interviewer.id)
    at = open_app(interviewer).run()
    at.switch_page("pages/interviews.py").run()
    assert_no_live_markup(at, "my interviews")
    at = open_app(interviewer)
    at.query_params["interview"] = str(mine.interview_id)
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert_no_live_markup(at, "a scorecard")
