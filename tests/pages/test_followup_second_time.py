"""Follow-up forms used a second time and by two people (issue 8): the intent form starts from the newest values
and refuses a stale save while keeping what was typed; moving an application to the talent-pool stage puts the
person on the Talent pool page; a closed candidate is added from that page; a rejection draft reaches its owner's
My tasks and is edited, saved and sent from the Outbox, once."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from sqlmodel import select

from models.candidate import Application
from models.common import Stage
from models.followup import Intent, PoolEntry
from models.mail import MailStatus, OutboxMessage
from services.evaluate import evaluation
from services.follow_up import followup
from services.pipeline import candidates
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.followup_support import case
from tests.pages.followup_support import open_as as _open
from tests.pages.followup_support import today as _today
from tests.pages.support import all_text, assert_no_exception, submit, tr
from tests.scenarios import Interviewed, interviewed_candidate

_case = partial(case, name="宋雨", email="song.yu@example.com")


def _intents(case: Interviewed) -> list[Intent]:
    with db.session_scope() as session:
        return list(
            session.exec(select(Intent).where(Intent.application_id == case.application_id).order_by(Intent.version))
        )


def _press(at, form_id: str, label: str):
    [button] = [b for b in at.button if getattr(b, "form_id", "") == form_id and b.label == label]
    return button.click().run()


# --------------------------------------------------------------------------- intent
def test_the_intent_form_starts_from_the_newest_values_and_a_second_save_keeps_them(demo_db, open_app):
    case = _case()
    offer_day = _today() + timedelta(days=2)
    with db.session_scope() as session:
        followup.record_intent(
            session=session,
            actor=demo_user(ROLE_EMAILS["recruiter"]),
            intent_in={
                "application_id": case.application_id,
                "interest": 4,
                "expected_salary": "32000",
                "earliest_start": _today() + timedelta(days=30),
                "decision_deadline": _today() + timedelta(days=7),
                "notes": "很期待 ![x](/session/end)",
                "offers": [{"company": "字节跳动", "stage": "口头", "deadline": offer_day}],
            },
        )
    at = _open(open_app, "recruiter", "pages/follow_up.py", application=str(case.application_id))
    assert_no_exception(at)
    assert at.slider(key="fu_interest").value == 4
    assert at.text_input(key="fu_salary").value == "32000"
    assert at.date_input(key="fu_start").value == _today() + timedelta(days=30)
    assert at.date_input(key="fu_deadline").value == _today() + timedelta(days=7)
    assert at.text_area(key="fu_notes").value == "很期待 ![x](/session/end)"
    assert tr("risk.offer_deadline", "zh") in [w.value for w in at.warning]

    # Second time: only the interest changes; everything recorded before stays, and so does the at-risk flag.
    at.slider(key="fu_interest").set_value(2)
    submit(at, f"fu_intent_{case.application_id}")
    assert_no_exception(at)
    first, second = _intents(case)
    assert (second.version, second.interest, second.expected_salary) == (2, 2, Decimal("32000"))
    assert (second.earliest_start, second.decision_deadline, second.notes) == (
        first.earliest_start,
        first.decision_deadline,
        first.notes,
    )
    assert (
        json.loads(second.offers)
        == json.loads(first.offers)
        == [{"company": "字节跳动", "stage": "口头", "deadline": offer_day.isoformat()}]
    )
    assert tr("risk.offer_deadline", "zh") in [w.value for w in at.warning]
    # The history shows user text as text, never as Markdown.
    assert any("![x](/session/end)" in t.value for t in at.text)

    # Third time, from the form as it now stands.
    assert at.slider(key="fu_interest").value == 2
    at.text_input(key="fu_salary").input("35000")
    submit(at, f"fu_intent_{case.application_id}")
    third = _intents(case)[-1]
    assert (third.version, third.interest, third.expected_salary, third.offers) == (
        3,
        2,
        Decimal("35000"),
        second.offers,
    )


def test_a_save_after_someone_elses_is_refused_and_what_was_typed_stays(demo_db, open_app):
    case = _case()
    at = _open(open_app, "recruiter", "pages/follow_up.py", "en", application=str(case.application_id))
    at.slider(key="fu_interest").set_value(5)
    at.text_area(key="fu_notes").input("mine")
    with db.session_scope() as session:  # meanwhile, an admin records an intent
        followup.record_intent(
            session=session,
            actor=demo_user(ROLE_EMAILS["admin"]),
            version=0,
            intent_in={"application_id": case.application_id, "interest": 1, "notes": "theirs"},
        )
    submit(at, f"fu_intent_{case.application_id}")
    assert_no_exception(at)
    assert tr("err.intent_changed", "en") in [e.value for e in at.error]
    assert [i.notes for i in _intents(case)] == ["theirs"]
    assert (at.slider(key="fu_interest").value, at.text_area(key="fu_notes").value) == (5, "mine")
    # Having seen theirs, pressing again saves what is typed as the newest version; theirs stays in the history.
    submit(at, f"fu_intent_{case.application_id}")
    assert_no_exception(at)
    assert [(i.version, i.notes) for i in _intents(case)] == [(1, "theirs"), (2, "mine")]


# --------------------------------------------------------------------------- talent pool
def test_moving_an_application_to_the_talent_pool_stage_lists_the_person_on_the_talent_pool_page(demo_db, open_app):
    case = _case(name="许晴", email="xu.qing@example.com")
    at = _open(open_app, "recruiter", "pages/candidates.py", id=str(case.candidate_id))
    assert_no_exception(at)
    app_id = case.application_id
    at.selectbox(key=f"cand_move_to_{app_id}").set_value("talent_pool")
    at.text_input(key=f"cand_move_reason_{app_id}").input("很优秀，暂无名额")
    at.date_input(key=f"cand_pool_revisit_{app_id}").set_value(_today())  # not in the future: refused
    submit(at, f"cand_move_{app_id}")
    assert_no_exception(at)
    assert tr("err.revisit_past", "zh") in [e.value for e in at.error]
    with db.session_scope() as session:
        assert session.get(Application, app_id).stage == Stage.interviewing
    at.date_input(key=f"cand_pool_revisit_{app_id}").set_value(_today() + timedelta(days=45))
    at.text_input(key=f"cand_pool_family_{app_id}").input("后端")
    submit(at, f"cand_move_{app_id}")
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(Application, app_id).stage == Stage.talent_pool
    at.switch_page("pages/talent_pool.py").run()
    assert_no_exception(at)
    table = next(d for d in at.dataframe if (d.key or "").startswith("pool_table_")).value
    mine = table[table[tr("field.name", "zh")] == "许晴"]
    assert mine[tr("pool.reason", "zh")].tolist() == ["很优秀，暂无名额"]
    assert mine[tr("pool.job_family", "zh")].tolist() == ["后端"]


def test_a_closed_candidate_is_added_from_the_talent_pool_page(demo_db, open_app):
    with db.session_scope() as session:
        recruiter = demo_user(ROLE_EMAILS["recruiter"])
        case = interviewed_candidate(session, name="罗斌 =HYPERLINK(1)", email="luo.bin@example.com")
        candidates.move_stage(
            session=session,
            actor=recruiter,
            application_id=case.application_id,
            to_stage="rejected",
            reason="级别不匹配",
        )
    at = _open(open_app, "recruiter", "pages/talent_pool.py", "en")
    assert_no_exception(at)
    at.text_input(key="pool_find").input("luo.bin").run()
    picker = at.selectbox(key="pool_pick")
    assert picker.options == ["罗斌 =HYPERLINK(1) · luo.bin@example.com"]
    submit(at, "pool_add_form")  # nobody picked yet
    assert tr("err.required", "en") in [e.value for e in at.error]
    at.selectbox(key="pool_pick").set_value(case.candidate_id)
    at.text_input(key="pool_add_reason").input("Strong, wrong level")
    submit(at, "pool_add_form")
    assert_no_exception(at)
    assert tr("pool.added", "en") in [s.value for s in at.success]
    with db.session_scope() as session:
        entry = session.exec(select(PoolEntry).where(PoolEntry.candidate_id == case.candidate_id)).one()
    assert (entry.reason, entry.status) == ("Strong, wrong level", "active")
    table = next(d for d in at.dataframe if (d.key or "").startswith("pool_table_")).value
    assert "罗斌 =HYPERLINK(1)" in table[tr("field.name", "en")].tolist()
    assert tr("pool.none_to_add", "en") in [i.value for i in at.info]  # in the pool now: no longer offered


def test_the_pool_tab_starts_from_the_entry_and_a_second_save_keeps_it(demo_db, open_app):
    case = _case(name="钱多", email="qian.duo@example.com")
    at = _open(open_app, "recruiter", "pages/follow_up.py", application=str(case.application_id))
    at.text_input(key="fu_pool_reason").input("明年有新团队")
    at.text_input(key="fu_pool_family").input("数据")
    submit(at, f"fu_pool_{case.candidate_id}")
    assert_no_exception(at)
    assert at.text_input(key="fu_pool_reason").value == "明年有新团队"
    assert at.text_input(key="fu_pool_family").value == "数据"
    at.date_input(key="fu_pool_revisit").set_value(_today() + timedelta(days=20))
    submit(at, f"fu_pool_{case.candidate_id}")
    with db.session_scope() as session:
        entry = session.exec(select(PoolEntry).where(PoolEntry.candidate_id == case.candidate_id)).one()
    assert (entry.reason, entry.job_family, entry.revisit_on) == ("明年有新团队", "数据", _today() + timedelta(days=20))


# --------------------------------------------------------------------------- rejection drafts
def _rejected_by_the_manager(name: str) -> tuple[Interviewed, int]:
    with db.session_scope() as session:
        case = interviewed_candidate(session, name=name, email="he.ping@example.com")
        decision = evaluation.record_decision(
            session=session,
            actor=demo_user(ROLE_EMAILS["hiring_manager"]),
            application_id=case.application_id,
            decision_in={"kind": "reject", "reason_code": "position_filled"},
        )
        return case, decision.mail_id


def test_the_owner_finds_the_rejection_draft_on_my_tasks_and_edits_saves_and_sends_it_from_the_outbox(
    demo_db, open_app
):
    case, mail_id = _rejected_by_the_manager("何平")
    at = _open(open_app, "recruiter", "pages/my_tasks.py")
    assert_no_exception(at)
    assert "何平" in all_text(at)
    at = _open(open_app, "recruiter", "pages/outbox.py", draft=str(mail_id))
    assert_no_exception(at)
    body = at.text_area(key=f"draft_body_{mail_id}")
    # The letter ends with the signature; the candidate's privacy footer (their consent link) follows after "-- ".
    letter, footer = body.value.split("\n-- \n")
    assert letter.rstrip().endswith("此致\n招聘团队")
    assert "/?consent=" in footer
    body.input(body.value.replace("祝您求职顺利", "祝您一切顺利"))
    _press(at, f"draft_{mail_id}", tr("db.save", "zh"))
    assert_no_exception(at)
    at.text_input(key=f"draft_subject_{mail_id}").input("关于您的申请")
    _press(at, f"draft_{mail_id}", tr("db.save", "zh"))  # second time: the body edit is not lost
    with db.session_scope() as session:
        saved = session.get(OutboxMessage, mail_id)
    assert (saved.status, saved.subject) == (MailStatus.draft, "关于您的申请")
    assert "祝您一切顺利" in saved.text and "祝您一切顺利" in saved.html

    other_tab = _open(open_app, "recruiter", "pages/outbox.py", draft=str(mail_id))
    _press(at, f"draft_{mail_id}", tr("db.send", "zh"))
    assert_no_exception(at)
    assert tr("db.sent", "zh") in [s.value for s in at.success]
    _press(other_tab, f"draft_{mail_id}", tr("db.send", "zh"))  # the same draft from a second tab
    assert_no_exception(other_tab)
    assert tr("outbox.draft_gone", "zh") in [i.value for i in other_tab.info]  # it went already: not again
    with db.session_scope() as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.candidate_id == case.candidate_id)).all()
    assert [(m.status, m.subject) for m in sent] == [(MailStatus.held, "关于您的申请")]
    at = _open(open_app, "recruiter", "pages/my_tasks.py")
    assert "何平" not in all_text(at)


def test_a_drafts_subject_on_my_tasks_is_shown_as_text_not_markdown(demo_db, open_app):
    from services.mail import outbox as mail

    _, mail_id = _rejected_by_the_manager("![x](/session/end)")
    with db.session_scope() as session:
        mail.save_draft(
            session=session,
            actor=demo_user(ROLE_EMAILS["recruiter"]),
            message_id=mail_id,
            subject="[click](https://evil.example) =1+1",
            text="你好",
        )
    at = _open(open_app, "recruiter", "pages/my_tasks.py", "en")
    assert_no_exception(at)
    [line] = [t.value for t in at.text if "evil.example" in t.value]
    assert "![x](/session/end)" in line and "[click](https://evil.example) =1+1" in line
    assert not [m.value for m in at.markdown if "evil.example" in m.value or "/session/end" in m.value]


# --------------------------------------------------------------------------- My tasks, full
@pytest.mark.parametrize("language", ["zh", "en"])
def test_my_tasks_says_when_its_list_is_full_and_there_may_be_more(demo_db, open_app, monkeypatch, language):
    """My tasks lists the LIMIT most urgent: a full list counts what it cannot know as "N+", not as all there is."""
    from services.mail import tasks

    at = _open(open_app, "recruiter", "pages/my_tasks.py", language)
    assert_no_exception(at)
    overdue, soon = (m.value for m in at.metric)
    assert "+" not in overdue + soon  # the demo recruiter's tasks fit: exact counts
    everything = int(overdue) + int(soon)
    assert everything > 3
    monkeypatch.setattr(tasks, "LIMIT", 3)
    at = _open(open_app, "recruiter", "pages/my_tasks.py", language)
    assert_no_exception(at)
    overdue, soon = (m.value for m in at.metric)
    if soon == "—":  # every task listed is overdue: how many fall due soon is not known
        assert overdue == "3+"
    else:  # the list ends among the soon ones: the overdue count is exact, the soon one a lower bound
        assert soon.endswith("+") and not overdue.endswith("+")
        assert int(overdue) + int(soon.rstrip("+")) == 3
    assert tr("tasks.capped_help", language, limit=3) in [m.help for m in at.metric]
    assert len([t for t in at.text if t.value]) >= 3


def test_discarding_a_draft_asks_first_and_keeps_the_text_until_pressed_again(demo_db, open_app):
    _, mail_id = _rejected_by_the_manager("卢敏")
    at = _open(open_app, "recruiter", "pages/outbox.py", draft=str(mail_id))
    body = at.text_area(key=f"draft_body_{mail_id}")
    body.input(body.value.replace("祝您求职顺利", "祝您一切顺利"))
    _press(at, f"draft_{mail_id}", tr("db.discard", "zh"))  # one press: a question, nothing lost
    assert_no_exception(at)
    assert tr("db.discard_confirm", "zh") in [w.value for w in at.warning]
    assert "祝您一切顺利" in at.text_area(key=f"draft_body_{mail_id}").value
    with db.session_scope() as session:
        assert session.get(OutboxMessage, mail_id).status == MailStatus.draft
    _press(at, f"draft_{mail_id}", tr("db.discard", "zh"))  # the second press discards
    assert_no_exception(at)
    assert tr("db.discarded", "zh") in [s.value for s in at.success]
    with db.session_scope() as session:
        assert session.get(OutboxMessage, mail_id).status != MailStatus.draft


def test_a_save_between_two_discard_presses_forgets_the_question(demo_db, open_app):
    _, mail_id = _rejected_by_the_manager("卢敏")
    at = _open(open_app, "recruiter", "pages/outbox.py", draft=str(mail_id))
    _press(at, f"draft_{mail_id}", tr("db.discard", "zh"))
    _press(at, f"draft_{mail_id}", tr("db.save", "zh"))
    _press(at, f"draft_{mail_id}", tr("db.discard", "zh"))  # asks again: the earlier question was left
    assert_no_exception(at)
    assert tr("db.discard_confirm", "zh") in [w.value for w in at.warning]
    with db.session_scope() as session:
        assert session.get(OutboxMessage, mail_id).status == MailStatus.draft
