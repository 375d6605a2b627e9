"""Every selectable table opens a row on a click in any of its cells, not only on its narrow checkbox column."""

from __future__ import annotations

from services.mail.outbox import queue_test_message
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import assert_no_exception, click_cell, tr


def test_a_click_on_a_candidates_name_opens_the_candidate(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    name = at.dataframe[0].value[tr("field.name", "en")].iloc[1]
    click_cell(at, "cand_table", 1, tr("field.email", "en"))
    assert_no_exception(at)
    assert at.title[0].value == name
    assert at.query_params["id"]


def test_a_click_on_a_jobs_department_opens_the_job_for_editing(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.switch_page("pages/jobs.py").run()
    title = at.dataframe[0].value[tr("field.title", "zh")].iloc[0]
    click_cell(at, "jobs_table", 0, tr("field.department", "zh"))
    assert_no_exception(at)
    assert at.subheader[0].value == tr("jobs.edit", "zh")
    assert at.text_input(key="jobs_edit_title").value == title


def test_a_click_on_a_users_email_opens_the_user(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["admin"], "en")).run()
    at.switch_page("pages/users.py").run()
    name = at.dataframe[0].value[tr("field.name", "en")].iloc[2]
    click_cell(at, "users_table", 2, tr("field.email", "en"))
    assert_no_exception(at)
    assert at.subheader[0].value == tr("users.edit", "en", name=name)


def test_a_click_on_a_pool_reason_opens_the_person(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.switch_page("pages/talent_pool.py").run()
    name = at.dataframe[0].value[tr("field.name", "zh")].iloc[0]
    click_cell(at, "pool_table", 0, tr("pool.reason", "zh"))
    assert_no_exception(at)
    assert at.subheader[0].value == name


def test_a_click_on_a_messages_subject_previews_it(demo_db, open_app):
    admin = demo_user(ROLE_EMAILS["admin"], "en")
    with db.session_scope() as session:
        queue_test_message(session=session, actor=admin, to="someone@example.com")
    at = open_app(admin).run()
    at.switch_page("pages/outbox.py").run()
    click_cell(at, "outbox_table", 0, tr("outbox.subject", "en"))
    assert_no_exception(at)
    assert [e for e in at.expander if e.label == tr("outbox.plain_text", "en")]


def test_a_click_on_an_interviews_candidate_opens_it_to_change(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    at.switch_page("pages/interviews.py").run()
    if not at.dataframe:  # no interview this week in the demo data: the week before has some
        at.date_input(key="iv_week").set_value(at.date_input(key="iv_week").value.replace(day=1)).run()
    table = at.dataframe[-1].value
    status = table[tr("field.status", "en")].iloc[0]
    click_cell(at, "iv_week_table", 0, tr("field.name", "en"))
    assert_no_exception(at)
    # Held interviews show as awaiting scorecards or completed: still scheduled, so they open to change too.
    if status in {tr(f"iv_status.{s}", "en") for s in ("scheduled", "awaiting_scorecards", "completed")}:
        assert any(getattr(b, "form_id", "").startswith("iv_edit_form") for b in at.button)
    else:
        assert tr("iv.not_scheduled_any_more", "en") in [i.value for i in at.info]


def test_a_draft_waiting_for_me_picked_in_the_outbox_table_opens_once_without_a_crash(demo_db, open_app):
    from services.mail import outbox as mail
    from services.pipeline import candidates

    recruiter = demo_user(ROLE_EMAILS["recruiter"], "en")
    with db.session_scope() as session:
        person = candidates.create_candidate(
            session=session,
            actor=recruiter,
            allow_duplicate=True,
            candidate_in={"name": "Draft Person", "email": "draft.person@example.com"},
        )
        mail.queue_mail(
            session=session,
            to="draft.person@example.com",
            subject="[x](http://evil) Thanks",
            html="<p>Thanks</p>",
            text="Thanks",
            key="outbox-walk-draft",
            candidate_id=person.id,
            draft=True,
        )
        session.commit()
    at = open_app(recruiter).run()
    at.switch_page("pages/outbox.py").run()
    at.segmented_control(key="outbox_status").set_value("draft").run()
    assert_no_exception(at)
    row = at.dataframe[-1].value[tr("outbox.subject", "en")].tolist().index("[x](http://evil) Thanks")
    click_cell(at, "outbox_table", row, tr("outbox.subject", "en"))
    assert_no_exception(at)
    assert tr("outbox.draft_above", "en") in [i.value for i in at.info]
    # The draft's box above shows the subject as text, not as a link.
    assert all("](http://evil)" not in e.label for e in at.expander)
