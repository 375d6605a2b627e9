"""Reminders: the stale-application rule fires once per item, window and person however often (and however
concurrently) it runs; digest readers get one mail a day; My tasks shows the same work without any mail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.candidate import Application
from models.mail import MailStatus, OutboxMessage, Reminder
from services.mail.mailer import send_due
from services.mail.reminders import run_digests, run_reminders
from services.mail.tasks import my_tasks
from services.pipeline.candidates import move_stage
from services.platform.config import Settings
from services.platform.users import set_reminder_mode
from tests.services.mail_server import SmtpServer, configure_mail, running_server

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
DAY = timedelta(days=1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_mail(monkeypatch, smtp.port, stale_application_days=7, digest_hour=8, timezone="Asia/Shanghai")


def remind(engine: Engine, settings: Settings, at: datetime) -> int:
    return run_reminders(engine=engine, now=at, settings=settings)["stale_application"]


def mails(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def reminders(engine: Engine) -> list[Reminder]:
    with Session(engine) as s:
        return list(s.exec(select(Reminder).order_by(Reminder.id)))


def application_of(session: Session, candidate) -> Application:
    return session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()


def test_an_application_idle_for_the_stale_days_reminds_the_owner_once(
    engine, session, make, settings, smtp, frozen_clock
) -> None:
    owner = make.user("recruiter", name="王芳", email="wang.fang@example.com")
    job = make.job(title="高级后端工程师")
    make.candidate(actor=owner, job=job, name="张伟")

    assert remind(engine, settings, T0 + 7 * DAY - timedelta(minutes=1)) == 0
    assert remind(engine, settings, T0 + 7 * DAY) == 1
    assert remind(engine, settings, T0 + 7 * DAY + timedelta(hours=3)) == 0

    [reminder] = reminders(engine)
    assert (reminder.rule, reminder.user_id, reminder.mailed) == ("stale_application", owner.id, True)
    [mail] = mails(engine)
    assert (mail.to_addrs, mail.recipient_user_id, mail.template, mail.language) == (
        "wang.fang@example.com",
        owner.id,
        "reminder",
        "zh",
    )
    frozen_clock.set(T0 + 7 * DAY)
    assert send_due(engine=engine, settings=settings).sent == 1
    [got] = smtp.received
    assert got.message["Subject"] == "【提醒】张伟 · 高级后端工程师：已 7 天没有进展"
    assert got.rcpt_tos == ["wang.fang@example.com"]
    assert "王芳，您好" in got.message.get_body(("plain",)).get_content()


def test_reminders_run_from_two_workers_at_once_raise_one_reminder_and_one_mail(
    engine, make, settings, frozen_clock
) -> None:
    owner = make.user("recruiter")
    job = make.job()
    for _ in range(5):
        make.candidate(actor=owner, job=job)
    start = Barrier(2)

    def run() -> int:
        start.wait()
        return remind(engine, settings, T0 + 7 * DAY)

    with ThreadPoolExecutor(2) as pool:
        counts = [f.result() for f in [pool.submit(run), pool.submit(run)]]

    assert sum(counts) == 5
    assert len(reminders(engine)) == 5
    assert (
        sorted(m.idempotency_key for m in mails(engine)) == sorted({m.idempotency_key for m in mails(engine)})
        and len(mails(engine)) == 5
    )


def test_each_further_window_of_idle_days_reminds_again_and_after_four_the_rule_stops(
    engine, make, settings, frozen_clock
) -> None:
    owner = make.user("recruiter")
    make.candidate(actor=owner, job=make.job(title="产品经理"), name="李娜")

    fired = {days: remind(engine, settings, T0 + days * DAY) for days in (7, 10, 13, 14, 20, 21, 28, 35, 42)}

    assert fired == {7: 1, 10: 0, 13: 0, 14: 1, 20: 0, 21: 1, 28: 1, 35: 0, 42: 0}
    subjects = [m.subject for m in mails(engine)]
    assert subjects == [f"【提醒】李娜 · 产品经理：已 {d} 天没有进展" for d in (7, 14, 21, 28)]
    assert len({r.window for r in reminders(engine)}) == 4


def test_a_stage_change_starts_the_idle_count_again(engine, session, make, settings, frozen_clock) -> None:
    owner = make.user("recruiter")
    candidate = make.candidate(actor=owner, job=make.job())
    assert remind(engine, settings, T0 + 7 * DAY) == 1

    frozen_clock.set(T0 + 8 * DAY)
    move_stage(
        session=session, actor=owner, application_id=application_of(session, candidate).id, to_stage="decision_pending"
    )
    session.commit()

    assert remind(engine, settings, T0 + 14 * DAY) == 0
    assert remind(engine, settings, T0 + 15 * DAY - timedelta(minutes=1)) == 0
    assert remind(engine, settings, T0 + 15 * DAY) == 1
    assert [json.loads(r.payload)["title_en"].rsplit(": ", 1)[1] for r in reminders(engine)] == [
        "no progress for 7 days",
        "no progress for 7 days",
    ]
    assert len(mails(engine)) == 2


def test_a_rejected_application_or_one_for_a_closed_job_reminds_no_one(
    engine, session, make, settings, frozen_clock
) -> None:
    owner = make.user("recruiter")
    rejected = make.candidate(actor=owner, job=make.job())
    move_stage(
        session=session,
        actor=owner,
        application_id=application_of(session, rejected).id,
        to_stage="rejected",
        reason="薪资期望不符",
    )
    job = make.job()
    make.candidate(actor=owner, job=job)
    job.status = "closed"
    session.add(job)
    session.commit()

    assert remind(engine, settings, T0 + 7 * DAY) == 0
    assert mails(engine) == [] and reminders(engine) == []


def test_a_digest_reader_gets_no_single_mail_but_one_digest_a_day_after_the_digest_hour(
    engine, session, make, settings, smtp, frozen_clock
) -> None:
    created = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)  # 06:00 on 2 March in Shanghai
    frozen_clock.set(created)
    reader = make.user("recruiter", name="赵敏", email="zhao.min@example.com")
    set_reminder_mode(session=session, actor=reader, mode="digest")
    job = make.job(title="数据分析师")
    make.candidate(actor=reader, job=job, name="陈晨")
    make.candidate(actor=reader, job=job, name="刘洋")
    due = created + 7 * DAY  # 06:00 on 9 March, before the digest hour

    assert remind(engine, settings, due) == 2
    assert mails(engine) == []
    assert [r.mailed for r in reminders(engine)] == [False, False]
    assert run_digests(engine=engine, now=due, settings=settings) == 0
    assert run_digests(engine=engine, now=due + timedelta(hours=1, minutes=59), settings=settings) == 0

    eight = due + timedelta(hours=2)  # 08:00 local
    assert run_digests(engine=engine, now=eight, settings=settings) == 1
    assert run_digests(engine=engine, now=eight + timedelta(hours=12), settings=settings) == 0
    [digest] = mails(engine)
    assert (digest.to_addrs, digest.template, digest.idempotency_key) == (
        "zhao.min@example.com",
        "digest",
        f"digest:{reader.id}:2026-03-09",
    )
    assert digest.subject == "【每日汇总】您有 2 项待办 · 2026-03-09"
    assert all(r.digested_at == eight for r in reminders(engine))

    frozen_clock.set(eight)
    assert send_due(engine=engine, settings=settings).sent == 1
    text = smtp.received[0].message.get_body(("plain",)).get_content()
    assert "陈晨 · 数据分析师：已 7 天没有进展" in text and "刘洋 · 数据分析师：已 7 天没有进展" in text

    # A reminder raised after today's digest waits for tomorrow's, which carries only it.
    frozen_clock.set(created + DAY)
    make.candidate(actor=reader, job=job, name="孙丽")
    assert remind(engine, settings, due + DAY + timedelta(hours=1)) == 1
    assert run_digests(engine=engine, now=eight + timedelta(hours=3), settings=settings) == 0
    assert run_digests(engine=engine, now=eight + DAY, settings=settings) == 1
    assert [m.subject for m in mails(engine)][-1] == "【每日汇总】您有 1 项待办 · 2026-03-10"
    assert run_digests(engine=engine, now=eight + 2 * DAY, settings=settings) == 0
    assert all(m.status in (MailStatus.queued, MailStatus.sent) for m in mails(engine))


def test_my_tasks_lists_the_owners_overdue_applications_most_urgent_first_and_nothing_for_another_recruiter(
    session, make, settings, frozen_clock
) -> None:
    owner = make.user("recruiter")
    other = make.user("recruiter")
    job = make.job(title="测试工程师")
    oldest = make.candidate(actor=owner, job=job, name="周杰")
    frozen_clock.set(T0 + 2 * DAY)
    newer = make.candidate(actor=owner, job=job, name="吴磊")
    frozen_clock.set(T0 + 4 * DAY)
    soon = make.candidate(actor=owner, job=job, name="郑爽")  # due in a day: inside the two-day horizon
    frozen_clock.set(T0 + 9 * DAY)
    make.candidate(actor=owner, job=job, name="冯刚")  # due in a week: not shown yet
    now = T0 + 10 * DAY
    frozen_clock.set(now)

    tasks = my_tasks(session=session, actor=owner)

    assert [(t.params["name"], t.params["days"], t.overdue(now)) for t in tasks] == [
        ("周杰", 10, True),
        ("吴磊", 8, True),
        ("郑爽", 6, False),
    ]
    assert [t.query for t in tasks] == [{"id": str(c.id)} for c in (oldest, newer, soon)]
    assert {(t.kind, t.page, t.params["job"]) for t in tasks} == {
        ("stale_application", "pages/candidates.py", "测试工程师")
    }
    assert tasks[0].due_at == T0 + 7 * DAY
    assert my_tasks(session=session, actor=other) == []
    assert my_tasks(session=session, actor=make.user("interviewer")) == []


def test_a_reminder_links_to_the_candidate_through_the_landing_page_address() -> None:
    from services.mail.reminders import candidate_link
    from services.platform.config import Settings

    # Candidates is the landing page, which Streamlit serves at "/" only: "/candidates?id=" would not be found.
    assert candidate_link(Settings(base_url="https://hr.example.cn/"), 42) == "https://hr.example.cn/?id=42"
