"""Retention on the screens (issue 13): the candidate's Privacy tab (keep-until and why, keep longer because…, erase
now with confirmation when an offer or onboarding plan would be lost) and the Privacy page's retention tab (the
rules form, who falls due within 30 days), in both languages; only admins see them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.candidate import Application, Candidate
from models.common import utcnow
from models.onboard import Offer, OfferCreate, OfferStatus
from services.onboard import plans
from services.pipeline import candidates
from services.platform import db
from services.privacy import retention
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import all_text, assert_no_exception, click_cell, element_after, submit, tr

LANGS = ["zh", "en"]


def _candidate(stage: str = "rejected") -> Candidate:
    """A new candidate of the demo's recruiter, their one application moved to `stage`."""
    with db.session_scope() as session:
        admin = demo_user(ROLE_EMAILS["admin"])
        job_id = session.exec(select(Application.job_id)).first()
        person = candidates.create_candidate(
            session=session,
            actor=admin,
            job_id=job_id,
            allow_duplicate=True,
            candidate_in={"name": "Qiu Retention 邱保留", "email": "qiu.retention@example.org"},
        )
        app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
        if stage != "interviewing":
            for step in ("decision_pending", "offer") if stage == "offer" else (stage,):
                candidates.move_stage(session=session, actor=admin, application_id=app.id, to_stage=step, reason="x")
        session.commit()
        session.refresh(person)
        return person


def _with_running_plan() -> Candidate:
    person = _candidate("offer")
    with db.session_scope() as session:
        admin = demo_user(ROLE_EMAILS["admin"])
        app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
        start = utcnow().date() + timedelta(days=30)
        fields = OfferCreate.model_validate(
            {
                "application_id": app.id,
                "job_title": "Engineer",
                "salary_amount": "30000",
                "start_date": start,
                "response_deadline": start - timedelta(days=14),
            }
        )
        offer = Offer.model_validate(fields.model_dump() | {"status": OfferStatus.accepted, "created_by_id": admin.id})
        session.add(offer)
        session.flush()
        plans.start_onboarding(session=session, offer=offer, actor=admin)
        session.commit()
    return person


def _open_candidate(open_app, person: Candidate, lang: str, role: str = "admin"):
    at = open_app(demo_user(ROLE_EMAILS[role], lang))
    at.switch_page("pages/candidates.py")
    at.query_params["id"] = str(person.id)
    return at.run()


def _fresh(person: Candidate) -> Candidate:
    with db.session_scope() as session:
        return session.get(Candidate, person.id)


@pytest.mark.parametrize("lang", LANGS)
def test_the_privacy_tab_shows_the_keep_until_date_and_the_rule_behind_it(demo_db, open_app, lang: str) -> None:
    person = _candidate()
    at = _open_candidate(open_app, person, lang)
    assert_no_exception(at)
    text = all_text(at)
    assert tr("retention.title", lang) in [s.value for s in at.subheader]
    assert tr("retention.rule.not_hired", lang) in text
    last = retention.last_day(retention.add_months(_fresh(person).created_at, 12) + timedelta(minutes=5))
    assert tr("retention.keep_until", lang, date="").split("**")[0] in text
    assert str(last.year) in text


def test_a_recruiter_does_not_see_the_retention_part(demo_db, open_app) -> None:
    person = _candidate()
    at = _open_candidate(open_app, person, "en", role="recruiter")
    assert_no_exception(at)
    assert tr("retention.title", "en") not in [s.value for s in at.subheader]
    assert not [b for b in at.button if (b.key or "").startswith("ret_erase_")]


@pytest.mark.parametrize("lang", LANGS)
def test_keep_longer_needs_a_reason_and_a_day_after_today_and_then_is_shown(demo_db, open_app, lang: str) -> None:
    person = _candidate()
    at = _open_candidate(open_app, person, lang)
    cid = person.id
    at.date_input(key=f"ret_hold_until_{cid}").set_value(date(2020, 1, 1))
    submit(at, f"ret_hold_form_{cid}")
    assert_no_exception(at)
    assert element_after(at, f"ret_hold_until_{cid}").value == tr("err.hold_in_past", lang)
    assert element_after(at, f"ret_hold_reason_{cid}").value == tr("err.reason_required", lang)
    assert _fresh(person).hold_until is None

    hostile = "=1+2 <script>alert(1)</script> ![x](/session/end)"
    at.date_input(key=f"ret_hold_until_{cid}").set_value(utcnow().date() + timedelta(days=400))
    at.text_area(key=f"ret_hold_reason_{cid}").input(hostile)
    submit(at, f"ret_hold_form_{cid}")
    assert_no_exception(at)
    assert tr("retention.hold_saved", lang) in [s.value for s in at.success]
    assert hostile in [t.value for t in at.text]  # shown as text, never as markup
    assert tr("retention.rule.hold", lang) in all_text(at)
    assert _fresh(person).hold_reason == hostile


@pytest.mark.parametrize("lang", LANGS)
def test_erase_now_needs_a_reason_then_the_person_is_gone_from_the_page_and_search(
    demo_db, open_app, lang: str
) -> None:
    person = _candidate()
    at = _open_candidate(open_app, person, lang)
    cid = person.id
    at.button(key=f"ret_erase_{cid}").click().run()
    assert_no_exception(at)
    assert tr("err.reason_required", lang) in [e.value for e in at.error]
    assert _fresh(person).anonymised_at is None

    at.text_area(key=f"ret_erase_reason_{cid}").input("本人要求 asked by mail")
    at.button(key=f"ret_erase_{cid}").click().run()
    assert_no_exception(at)
    assert _fresh(person).anonymised_at is not None
    assert tr("retention.erased", lang, n=cid) in [s.value for s in at.success]
    assert at.query_params.get("id") in (None, "", [])
    at.text_input(key="cand_q").input("qiu").run()  # back on the list: search for them
    assert_no_exception(at)
    assert "Qiu Retention" not in all_text(at)
    assert not any("Qiu Retention" in str(f.value) for f in at.dataframe)


@pytest.mark.parametrize("lang", LANGS)
def test_erasing_a_new_hire_says_what_will_be_lost_and_asks_for_confirmation(demo_db, open_app, lang: str) -> None:
    person = _with_running_plan()
    at = _open_candidate(open_app, person, lang)
    cid = person.id
    assert_no_exception(at)
    assert tr("retention.lost_plan", lang) in all_text(at)
    at.text_area(key=f"ret_erase_reason_{cid}").input("asked")
    at.button(key=f"ret_erase_{cid}").click().run()
    assert tr("err.erase_needs_confirmation", lang) in [e.value for e in at.error]
    assert _fresh(person).anonymised_at is None
    at.checkbox(key=f"ret_erase_confirm_{cid}").check()
    at.button(key=f"ret_erase_{cid}").click().run()
    assert_no_exception(at)
    assert _fresh(person).anonymised_at is not None


# --------------------------------------------------------------------------- the Privacy page's retention tab
def _privacy_page(open_app, lang: str):
    at = open_app(demo_user(ROLE_EMAILS["admin"], lang))
    at.switch_page("pages/privacy.py")
    return at.run()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("bad", ["abc", "0", "10000", "1.5", "=1+2"])
def test_the_rules_form_refuses_what_is_not_a_whole_number_of_months_from_1_to_120(
    demo_db, open_app, lang: str, bad: str
) -> None:
    at = _privacy_page(open_app, lang)
    assert_no_exception(at)
    at.text_input(key="ret_rules_not_hired_months").input(bad)
    submit(at, "ret_rules_form")
    assert_no_exception(at)
    assert element_after(at, "ret_rules_not_hired_months").value == tr("err.retention_months", lang, min=1, max=120)
    assert at.text_input(key="ret_rules_not_hired_months").value == bad  # what was typed stays


@pytest.mark.parametrize("lang", LANGS)
def test_the_rules_form_saves_and_the_due_list_shows_who_falls_due(demo_db, open_app, lang: str) -> None:
    person = _candidate()
    with db.session_scope() as session:
        session.exec(
            update(Candidate)
            .where(col(Candidate.id) == person.id)
            .values(keep_until=datetime.now(UTC) + timedelta(days=10))
        )
        session.commit()
    at = _privacy_page(open_app, lang)
    at.text_input(key="ret_rules_hired_months").input("9")
    submit(at, "ret_rules_form")
    assert_no_exception(at)
    assert tr("retention.rules_saved", lang) in [s.value for s in at.success]
    assert at.text_input(key="ret_rules_hired_months").value == "9"
    frames = [f for f in at.dataframe if (f.key or "").startswith("ret_due")]
    assert frames and "Qiu Retention 邱保留" in frames[0].value.iloc[:, 0].tolist()


def test_a_click_on_the_due_list_opens_the_candidate(demo_db, open_app) -> None:
    person = _candidate()
    with db.session_scope() as session:
        session.exec(
            update(Candidate)
            .where(col(Candidate.id) == person.id)
            .values(keep_until=datetime.now(UTC) + timedelta(days=3))
        )
        session.commit()
    at = _privacy_page(open_app, "en")
    frame = next(f for f in at.dataframe if (f.key or "").startswith("ret_due"))
    row = frame.value.iloc[:, 0].tolist().index("Qiu Retention 邱保留")
    at = click_cell(at, "ret_due", row, tr("retention.col_name", "en"))
    assert_no_exception(at)
    assert at.title[0].value == "Qiu Retention 邱保留"


@pytest.mark.parametrize("lang", LANGS)
def test_an_admins_my_tasks_lists_who_falls_due(demo_db, open_app, lang: str) -> None:
    person = _candidate()
    keep = datetime.now(UTC) + timedelta(days=12)
    with db.session_scope() as session:
        session.exec(update(Candidate).where(col(Candidate.id) == person.id).values(keep_until=keep))
        session.commit()
    at = open_app(demo_user(ROLE_EMAILS["admin"], lang))
    at.switch_page("pages/my_tasks.py")
    at.run()
    assert_no_exception(at)
    from services.platform.i18n import fmt_date

    wanted = tr("task.retention_due", lang, name="Qiu Retention 邱保留", date=fmt_date(retention.last_day(keep), lang))
    assert wanted in [t.value for t in at.text]
