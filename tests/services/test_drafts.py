"""Mail drafts to candidates (a rejection prepared by a decision): signed by the recruiting team, waiting on the
owner's My tasks, edited, saved, sent or discarded once — however many tabs act on them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlmodel import select

from models.mail import MailStatus, OutboxMessage
from services.mail.outbox import discard_draft, save_draft, send_draft
from services.mail.tasks import my_tasks
from services.platform.config import get_settings
from services.platform.errors import Conflict, InvalidTransition
from tests.factories import action
from tests.services.test_evaluation import decide, interview_with_panel, rejected


def test_the_rejection_draft_is_signed_by_the_recruiting_team_not_by_who_decided(session, make, monkeypatch) -> None:
    manager, recruiter = make.user("hiring_manager", name="经理 赵六"), make.user("recruiter", name="招聘 王芳")
    job = make.job(actor=recruiter, hiring_manager_id=manager.id)
    s = interview_with_panel(make, panel=1, job=job, recruiter=recruiter, language="en")
    made = decide(session, manager, s, "reject", "position_filled")
    mail = session.get(OutboxMessage, made.mail_id)
    assert "赵六" not in mail.text and "赵六" not in mail.html
    # (the body ends with the signature; the privacy footer, after "-- ", follows it)
    assert mail.text.split("\n-- \n")[0].rstrip().endswith("Kind regards,\nRecruiting team")
    monkeypatch.setenv("FOLLOWUP_MAIL_FROM_NAME", "Acme 招聘团队")
    get_settings.cache_clear()
    again = interview_with_panel(make, panel=1, job=job, recruiter=recruiter, language="zh")
    second = session.get(OutboxMessage, decide(session, manager, again, "reject", "position_filled").mail_id)
    assert second.text.split("\n-- \n")[0].rstrip().endswith("此致\nAcme 招聘团队")


def test_the_owner_finds_the_rejection_draft_on_my_tasks_and_nobody_else_does(session, make) -> None:
    manager = make.user("hiring_manager")
    owner, other = make.user("recruiter"), make.user("recruiter")
    job = make.job(actor=owner, hiring_manager_id=manager.id)
    s = interview_with_panel(make, panel=1, job=job, recruiter=owner, name="陈晨")
    made = decide(session, manager, s, "reject", "position_filled")
    [task] = [t for t in my_tasks(session=session, actor=owner) if t.kind == "mail_draft"]
    assert (task.page, task.query, task.params["name"]) == ("pages/outbox.py", {"draft": str(made.mail_id)}, "陈晨")
    assert [t for t in my_tasks(session=session, actor=other) if t.kind == "mail_draft"] == []
    assert [t for t in my_tasks(session=session, actor=manager) if t.kind == "mail_draft"] == []
    send_draft(session=session, actor=owner, message_id=made.mail_id, subject="Re", text="Hello")
    assert [t for t in my_tasks(session=session, actor=owner) if t.kind == "mail_draft"] == []


def test_a_draft_saved_twice_keeps_the_last_edit_and_sends_it(session, make) -> None:
    s, mail = rejected(session, make)
    start = mail.version
    first = save_draft(
        session=session, actor=s.recruiter, message_id=mail.id, subject="第一版", text="你好，\n\n第一版", version=start
    )
    second = save_draft(
        session=session,
        actor=s.recruiter,
        message_id=mail.id,
        subject="第二版",
        text="你好，\n\n第二版",
        version=first.version,
    )
    assert (second.status, second.subject, second.text, second.version) == (
        MailStatus.draft,
        "第二版",
        "你好，\n\n第二版\n",
        start + 2,
    )
    sent = send_draft(
        session=session,
        actor=s.recruiter,
        message_id=mail.id,
        subject=second.subject,
        text=second.text,
        version=second.version,
    )
    assert (sent.status, sent.subject) == (MailStatus.held, "第二版")
    assert "第二版" in sent.html


def test_an_edit_from_an_older_view_of_the_draft_is_a_conflict_and_changes_nothing(session, make) -> None:
    s, mail = rejected(session, make)
    seen = mail.version
    save_draft(session=session, actor=s.recruiter, message_id=mail.id, subject="tab A", text="A", version=seen)
    for act in (
        lambda: save_draft(
            session=session, actor=s.recruiter, message_id=mail.id, subject="tab B", text="B", version=seen
        ),
        lambda: send_draft(
            session=session, actor=s.recruiter, message_id=mail.id, subject="tab B", text="B", version=seen
        ),
        lambda: discard_draft(session=session, actor=s.recruiter, message_id=mail.id, version=seen),
    ):
        with pytest.raises(Conflict) as err:
            act()
        assert err.value.current.subject == "tab A"
    stored = session.get(OutboxMessage, mail.id)
    session.refresh(stored)
    assert (stored.status, stored.subject) == (MailStatus.draft, "tab A")


def test_two_tabs_sending_one_draft_at_once_send_it_once(engine, session, make) -> None:
    s, mail = rejected(session, make)
    start = Barrier(2)

    def press_send(text: str) -> str:
        start.wait()
        try:
            with action(engine) as own:
                send_draft(
                    session=own, actor=s.recruiter, message_id=mail.id, subject="Send", text=text, version=mail.version
                )
            return "sent"
        except (Conflict, InvalidTransition):
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(f.result() for f in [pool.submit(press_send, "one"), pool.submit(press_send, "two")])
    assert outcomes == ["refused", "sent"]
    session.expire_all()
    # The one draft went out once (held: no mail server here); the panel's calendar invitation is the other mail.
    assert [m.status for m in session.exec(select(OutboxMessage).where(OutboxMessage.id == mail.id))] == [
        MailStatus.held
    ]
    to_candidate = session.exec(select(OutboxMessage).where(OutboxMessage.to_addrs == mail.to_addrs)).all()
    assert [m.id for m in to_candidate] == [mail.id]
