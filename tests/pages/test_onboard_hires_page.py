"""The Onboard page's new hires, one new hire's page and the templates editor under AppTest, by role and language:
the list opens, tasks are ticked, the start date moves, a check-in and the outcome are recorded, a template task
without an owner is refused next to its field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from models.candidate import Application
from models.onboard import CheckIn, OnboardingPlan, OnboardTemplate, PlanTask
from models.user import User
from services.platform import db
from services.platform.i18n import fmt_date
from tests.factories import Factory, onboarding_plan
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.followup_support import open_as, today
from tests.pages.support import all_text, assert_no_exception, click_cell, element_after, submit, tr
from ui.common import md_escape

NAME = "**粗体** [link](http://evil.example) 新人"


def _plan(start: date = date(2026, 12, 20)) -> int:
    """A plan for a new hire (with markup in their name) on a job of the demo hiring manager."""
    with db.session_scope() as session:
        manager = session.exec(select(User).where(User.email == ROLE_EMAILS["hiring_manager"])).one()
        recruiter = session.exec(select(User).where(User.email == ROLE_EMAILS["recruiter"])).one()
        make = Factory(session)
        job = make.job(actor=recruiter, hiring_manager_id=manager.id, title="入职测试 Onboarding test")
        plan = onboarding_plan(session, job=job, actor=recruiter, start_date=start)
        app = session.get(Application, plan.application_id)
        from models.candidate import Candidate

        cand = session.get(Candidate, app.candidate_id)
        cand.name = NAME
        session.add(cand)
        session.commit()
        return plan.id or 0


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", ["admin", "recruiter", "hiring_manager"])
def test_the_new_hires_tab_and_a_new_hires_page_open_for_each_role(demo_db, open_app, role, language):
    plan_id = _plan()
    at = open_as(open_app, role, "pages/onboard.py", language)
    assert_no_exception(at)
    assert any((d.key or "").startswith("hires_table") for d in at.dataframe)
    at = open_as(open_app, role, "pages/new_hire.py", language, plan=str(plan_id))
    assert_no_exception(at)
    assert any(md_escape(NAME) in str(t.value) for t in at.title)  # shown as the characters typed
    assert tr("plans.tab_checkins", language) in [t.label for t in at.tabs]


def _start(at):
    """The start-date field: keyed by the plan version its form was built from."""
    [field] = [d for d in at.date_input if (d.key or "").startswith("nh_start_")]
    return field


def test_the_recruiter_ticks_a_task_and_moves_the_start_date(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    with db.session_scope() as session:
        task = session.exec(
            select(PlanTask).where(PlanTask.plan_id == plan_id, PlanTask.owner_role == "recruiter")
        ).first()
    at.checkbox(key=f"nh_task_{task.id}_0").check().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(PlanTask, task.id).done_at is not None
    _start(at).set_value(date(2026, 12, 27))
    at = submit(at, "nh_start_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        plan = session.get(OnboardingPlan, plan_id)
        assert plan.start_date == date(2026, 12, 27)
    assert _start(at).value == date(2026, 12, 27)  # the form, built again, shows what is saved
    # saving again from the same page works (the version was read again)
    _start(at).set_value(date(2026, 12, 28))
    at = submit(at, "nh_start_form")
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).start_date == date(2026, 12, 28)


def _moved_by_someone_else(plan_id: int, start: date) -> None:
    with db.session_scope() as session:
        plan = session.get(OnboardingPlan, plan_id)
        plan.start_date = start
        plan.version += 1
        session.add(plan)
        session.commit()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_start_date_changed_by_someone_else_meanwhile_is_told_with_what_is_saved(demo_db, open_app, language):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", language, plan=str(plan_id))
    _moved_by_someone_else(plan_id, date(2026, 12, 22))  # another recruiter, another tab
    _start(at).set_value(date(2027, 1, 4))
    at = submit(at, "nh_start_form")
    assert_no_exception(at)
    with db.session_scope() as session:  # theirs is kept: not silently reverted
        assert session.get(OnboardingPlan, plan_id).start_date == date(2026, 12, 22)
    told = " ".join(e.value for e in at.error)
    assert tr("plans.conflict", language, start="", end="", buddy="", status="")[:6] in told
    assert md_escape(fmt_date(date(2026, 12, 22), language)) in told  # the saved value, named
    assert _start(at).value == date(2026, 12, 22)  # and shown in the form
    _start(at).set_value(date(2027, 1, 4))  # now knowing, they replace it
    at = submit(at, "nh_start_form")
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).start_date == date(2027, 1, 4)


def test_a_buddy_named_from_a_stale_form_does_not_undo_a_start_date_moved_meanwhile(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    _moved_by_someone_else(plan_id, date(2026, 12, 22))
    with db.session_scope() as session:
        someone = session.exec(select(User).where(User.email == ROLE_EMAILS["recruiter"])).one().id
    [buddy] = [b for b in at.selectbox if (b.key or "").startswith("nh_buddy_")]
    buddy.set_value(someone)
    at = submit(at, "nh_buddy_form")
    assert_no_exception(at)
    assert md_escape(fmt_date(date(2026, 12, 22), "en")) in " ".join(e.value for e in at.error)
    with db.session_scope() as session:
        plan = session.get(OnboardingPlan, plan_id)
        assert (plan.start_date, plan.buddy_id) == (date(2026, 12, 22), None)
    # then moving the start date from the rebuilt form starts from the saved date, not the one first shown
    assert _start(at).value == date(2026, 12, 22)


def test_a_plan_closed_by_someone_else_meanwhile_is_told_and_its_forms_are_gone(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    with db.session_scope() as session:  # cancelled in another tab
        plan = session.get(OnboardingPlan, plan_id)
        plan.status, plan.version = "cancelled", plan.version + 1
        session.add(plan)
        session.commit()
    _start(at).set_value(date(2027, 1, 4))
    at = submit(at, "nh_start_form")
    assert_no_exception(at)
    told = " ".join(e.value for e in at.error)
    assert tr("plans.closed_meanwhile", "en", status=tr("plans.status_cancelled", "en")) in told
    assert not [d for d in at.date_input if (d.key or "").startswith("nh_start_")]  # nothing left to change
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).start_date == date(2026, 12, 20)


def test_cancelling_the_plan_oneself_is_not_told_as_someone_elses_doing(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    at.checkbox(key="nh_cancel_sure").check().run()
    at.button(key="nh_cancel").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).status == "cancelled"
    assert tr("plans.cancelled", "en") in [m.value for m in at.success]
    assert not at.error


def test_reopening_the_page_shows_what_someone_else_saved(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    assert _start(at).value == date(2026, 12, 20)
    _moved_by_someone_else(plan_id, date(2026, 12, 22))
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    assert _start(at).value == date(2026, 12, 22)
    _start(at).set_value(date(2026, 12, 23))
    at = submit(at, "nh_start_form")  # built from the version read now: no conflict
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).start_date == date(2026, 12, 23)


def test_coming_back_to_the_page_builds_the_forms_from_the_plan_as_saved_then(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/new_hire.py", "en", plan=str(plan_id))
    at = at.switch_page("pages/onboard.py").run()  # away, in the same session
    _moved_by_someone_else(plan_id, date(2026, 12, 22))
    at.query_params["plan"] = str(plan_id)
    at = at.switch_page("pages/new_hire.py").run()
    assert_no_exception(at)
    assert _start(at).value == date(2026, 12, 22)
    _start(at).set_value(date(2026, 12, 23))
    at = submit(at, "nh_start_form")  # no conflict: the form was built from what is saved now
    assert not at.error
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).start_date == date(2026, 12, 23)


def _check_ins_table(at, language):
    [frame] = [f.value for f in at.dataframe if tr("plans.day", language) in f.value.columns]
    return frame


def test_the_manager_records_a_check_in_and_the_outcome(demo_db, open_app):
    plan_id = _plan(start=today() - timedelta(days=10))  # started: check-ins are for days worked
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", "zh", plan=str(plan_id))
    with db.session_scope() as session:
        first, second = session.exec(select(CheckIn).where(CheckIn.plan_id == plan_id).order_by(CheckIn.day)).all()[:2]
    frame = _check_ins_table(at, "zh")
    assert "None" not in frame[tr("field.rating", "zh")].astype(str).tolist()  # not yet rated: a dash
    assert set(frame[tr("field.on_track", "zh")]) == {"—"}
    at.slider(key=f"nh_ci_rating_{first.id}").set_value(4)
    at.text_area(key=f"nh_ci_notes_{first.id}").input("<b>进展顺利</b>")
    at = submit(at, f"nh_ci_form_{first.id}")
    assert_no_exception(at)
    with db.session_scope() as session:
        row = session.get(CheckIn, first.id)
        assert row.rating == 4 and row.notes == "<b>进展顺利</b>"
    [pick] = [s for s in at.selectbox if (s.key or "").startswith("nh_ci_pick_")]
    assert pick.value == second.id  # on to the next open one
    frame = _check_ins_table(at, "zh")
    assert frame[tr("field.rating", "zh")].tolist()[:2] == ["4", "—"]
    at.radio(key="nh_outcome").set_value("extended")
    at = submit(at, "nh_outcome_form")  # no new end date: told next to the field
    assert element_after(at, "nh_extended_to") is not None
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).status == "active"
    at.radio(key="nh_outcome").set_value("passed")
    at = submit(at, "nh_outcome_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(OnboardingPlan, plan_id).status == "passed"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_before_the_start_date_no_check_in_or_outcome_form_is_offered(demo_db, open_app, language):
    plan_id = _plan()  # starts in the weeks ahead
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", language, plan=str(plan_id))
    assert_no_exception(at)
    shown = [i.value for i in at.info]
    assert tr("plans.check_in_from_start", language, date=fmt_date(date(2026, 12, 20), language)) in shown
    assert tr("plans.outcome_from_start", language, date=fmt_date(date(2026, 12, 20), language)) in shown
    assert not [f for f in at.slider if (f.key or "").startswith("nh_ci_rating_")]
    assert not [r for r in at.radio if r.key == "nh_outcome"]


def test_a_plan_out_of_a_managers_scope_is_refused(demo_db, open_app):
    plan_id = _plan()
    with db.session_scope() as session:
        other = Factory(session).user("hiring_manager", email="other.manager@example.com")
        plan = session.get(OnboardingPlan, plan_id)
        app = session.get(Application, plan.application_id)
        from models.job import Job

        job = session.get(Job, app.job_id)
        job.hiring_manager_id = other.id
        session.add(job)
        session.commit()
    at = open_as(open_app, "hiring_manager", "pages/new_hire.py", "en", plan=str(plan_id))
    assert_no_exception(at)
    assert tr("err.not_allowed", "en") in all_text(at)
    assert md_escape(NAME) not in all_text(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_templates_editor_refuses_a_task_without_an_owner_and_saves_one_with(demo_db, open_app, language):
    at = open_as(open_app, "admin", "pages/onboard_settings.py", language)
    assert_no_exception(at)
    at.text_input(key="tpl_t_title_zh").input("领取工牌")
    at.text_input(key="tpl_t_title_en").input("Collect the badge")
    at = submit(at, "tpl_task_form")
    assert tr("err.task_owner_required", language) in all_text(at)
    at.selectbox(key="tpl_t_owner_role").set_value("new_hire")
    at = submit(at, "tpl_task_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        template = session.exec(select(OnboardTemplate).where(OnboardTemplate.department == "")).one()
        titles = session.exec(select(PlanTask.title_en)).all()
        assert template.version > 1
    assert "Collect the badge" not in titles  # a template change, not a plan's
    at.text_input(key="tpl_days").input("7,30,90")
    at = submit(at, "tpl_settings_form")
    assert_no_exception(at)
    at.text_input(key="tpl_days").input("7,x")
    at = submit(at, "tpl_settings_form")
    assert tr("err.checkin_days_invalid", language) in all_text(at)
    with db.session_scope() as session:
        assert (
            session.exec(select(OnboardTemplate.checkin_days).where(OnboardTemplate.department == "")).one()
            == "7,30,90"
        )


def test_managers_do_not_get_the_settings_page(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["hiring_manager"]))
    at.run()
    from tests.pages.support import nav_pages

    assert "pages/onboard_settings.py" not in nav_pages(at)


def test_a_click_on_a_new_hire_opens_their_page(demo_db, open_app):
    plan_id = _plan()
    at = open_as(open_app, "recruiter", "pages/onboard.py", "en")
    frame = next(d for d in at.dataframe if (d.key or "").startswith("hires_table"))
    names = frame.value[tr("field.name", "en")].tolist()
    at = click_cell(at, "hires_table", names.index(NAME), tr("field.name", "en"))
    assert_no_exception(at)
    assert at.query_params.get("plan") in (str(plan_id), [str(plan_id)])
    assert any(md_escape(NAME) in str(t.value) for t in at.title)


def test_template_settings_saved_by_someone_else_meanwhile_are_told_then_saving_again_wins(demo_db, open_app):
    at = open_as(open_app, "admin", "pages/onboard_settings.py", "en")
    with db.session_scope() as session:  # another admin saves meanwhile
        template = session.exec(select(OnboardTemplate).where(OnboardTemplate.department == "")).one()
        template.version += 1
        template.checkin_days = "14"
        session.add(template)
        session.commit()
    at.text_input(key="tpl_days").input("7,60")
    at = submit(at, "tpl_settings_form")
    assert tr("err.conflict", "en") in all_text(at)
    at = submit(at, "tpl_settings_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        days = select(OnboardTemplate.checkin_days).where(OnboardTemplate.department == "")
        assert session.exec(days).one() == "7,60"


def test_a_template_task_is_picked_edited_and_saved_twice(demo_db, open_app):
    at = open_as(open_app, "admin", "pages/onboard_settings.py", "zh")
    at = click_cell(at, "tpl_tasks", 0, tr("plans.task", "zh"))
    assert_no_exception(at)
    first = at.text_input(key="tpl_t_title_en").value
    assert first
    with db.session_scope() as session:
        from models.onboard import TemplateTask

        count = len(session.exec(select(TemplateTask)).all())
    at.text_input(key="tpl_t_title_en").input(first + " (v2)")
    at = submit(at, "tpl_task_form")
    assert_no_exception(at)
    at.text_input(key="tpl_t_title_en").input(first + " (v3)")
    at = submit(at, "tpl_task_form")
    assert_no_exception(at)
    with db.session_scope() as session:
        titles = session.exec(select(TemplateTask.title_en)).all()
    assert first + " (v3)" in titles and first + " (v2)" not in titles
    assert len(titles) == count  # edited, not added
