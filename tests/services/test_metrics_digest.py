"""The weekly metrics digest, through the outbox and the real mailer to a local SMTP server (aiosmtpd).

The company's zone is Asia/Shanghai (UTC+8). The week counted is Monday 2 March to Sunday 8 March 2026, local:
[2026-03-01 16:00 UTC, 2026-03-08 16:00 UTC); its digest is due from Monday 9 March 08:00 local = 00:00 UTC.

Job A (manager M), whose title is markup; job B "Sales" (manager N). Panelists p1, p2.
a1  A  created 03-02 10:00 UTC; interview i1 ends 03-04 10:00 (p1 submits 12:00); the candidate is reached 18:00 (8 h)
a2  A  created 03-03 10:00; i2 ends 03-05 10:00 (p1 submits 11:00, p2 never); the candidate hears nothing
a3  B  created 03-04 10:00; i3 ends 03-06 10:00 (p2 submits 12:00); a mail sent to the candidate 20:00 (10 h)
a4  B  created 02-20 10:00 (the week before last); an offer waiting for approval

Hand-counted for last week (activity) and what needs attention on Monday morning:
            applied  interviewed  evaluated  heard within 24 h     waiting > 24 h  scorecards overdue  offers
  admin        3         3            2       2 of 3 (67%)             1 (a2)         1 (p2 on i2)       1
  M (job A)    2         2            1       1 of 2 (50%)             1              1                  0
  N (job B)    1         1            1       1 of 1 (100%)            0              0                  1
No interview ended in the week before (its share "—"); over the eight weeks the share is last week's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import services.registry  # noqa: F401 - the worker's jobs, the digest's among them
from models.audit import AuditLog
from models.common import utcnow
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from models.onboard import Offer, OfferStatus
from models.user import User
from services.mail.mailer import send_due
from services.mail.worker import JOBS, Worker
from services.metrics import digest
from services.metrics.digest import digest_key, digest_week, send_weekly_digests, set_metrics_digest
from services.platform.config import Settings
from services.platform.errors import NotAllowed
from services.platform.i18n import t
from tests.services.mail_server import SmtpServer, configure_mail, running_server
from tests.services.metrics_history import Builder, at

MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # Monday 9 March, 08:00 in Shanghai
WEEK = date(2026, 3, 2)
HOSTILE = '<script>alert("x")</script><b>Engineer</b>'
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class World:
    admin: User
    recruiter: User
    m: User
    n: User
    interviewer: User
    gone: User  # deactivated
    quiet: User  # an admin who did not choose the digest


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_mail(monkeypatch, smtp.port, base_url="https://hire.example.com")


def choose(session: Session, user: User, enabled: bool = True) -> User:
    chosen = set_metrics_digest(session=session, actor=user, enabled=enabled)
    session.commit()
    return chosen


@pytest.fixture
def world(session: Session, frozen_clock: Any, settings: Settings) -> World:
    b = Builder(session, frozen_clock)
    make = b.make
    frozen_clock.set(at(1, 5))
    admin = make.admin(name="Admin", email="admin@example.com", language="en")
    recruiter = make.user("recruiter", name="Recruiter", email="recruiter@example.com")
    m = make.user("hiring_manager", name="经理 M", email="m@example.com", language="zh")
    n = make.user("hiring_manager", name="Manager N", email="n@example.com", language="en")
    interviewer = make.user("interviewer", name="Interviewer", email="iv@example.com")
    gone = make.admin(name="Gone", email="gone@example.com")
    quiet = make.admin(name="Quiet", email="quiet@example.com")
    p1, p2 = make.user("interviewer", name="p1"), make.user("interviewer", name="p2")
    job_a = make.job(actor=admin, title=HOSTILE, hiring_manager_id=m.id)
    job_b = make.job(actor=admin, title="Sales", department="Sales", hiring_manager_id=n.id)

    a1, c1 = b.application(job_a, at(3, 2), actor=recruiter)
    i1 = b.interview(a1, at(3, 4), [p1])
    b.scorecard(i1, p1, at(3, 4, 12))
    b.contact(c1, admin, at(3, 4, 18), "reached")
    a2, _ = b.application(job_a, at(3, 3), actor=recruiter)
    i2 = b.interview(a2, at(3, 5), [p1, p2])
    b.scorecard(i2, p1, at(3, 5, 11))
    a3, c3 = b.application(job_b, at(3, 4), actor=recruiter)
    i3 = b.interview(a3, at(3, 6), [p2])
    b.scorecard(i3, p2, at(3, 6, 12))
    b.mail(c3, at(3, 6, 20), sent=True)
    a4, _ = b.application(job_b, at(2, 20), actor=recruiter)
    session.add(
        Offer(
            application_id=a4.id or 0,
            status=OfferStatus.pending_approval,
            job_title="Sales",
            start_date=date(2026, 4, 1),
            response_deadline=date(2026, 3, 20),
            created_by_id=admin.id or 0,
            created_at=at(3, 5),
        )
    )
    session.commit()
    for person in (admin, recruiter, m, n, gone):
        choose(session, person)
    # An interviewer cannot choose it (refused below); a flag set behind the service's back must not send either.
    interviewer.metrics_digest = True
    gone.is_active = False
    session.add_all([interviewer, gone])
    session.commit()
    frozen_clock.set(MONDAY_8)
    return World(admin, recruiter, m, n, interviewer, gone, quiet)


def queue(engine: Engine, settings: Settings) -> int:
    return send_weekly_digests(engine=engine, settings=settings)


def digests(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage).where(OutboxMessage.template == "metrics_digest").order_by(OutboxMessage.id)
            )
        )


def delivered(smtp: SmtpServer, to: str) -> list[EmailMessage]:
    return [r.message for r in smtp.received if r.rcpt_tos == [to]]


def parts(message: EmailMessage) -> dict[str, Any]:
    """The text, the HTML and the inline images of a digest as it arrived, and where the HTML sits."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    images = [p for p in related.iter_parts() if p.get_content_maintype() == "image"]
    return {
        "text": text.get_content(),
        "html": html.get_content(),
        "related": related,
        "images": images,
        "attachments": list(message.iter_attachments()),
    }


# --------------------------------------------------------------------------- the mail as it arrives
def test_the_digest_arrives_with_its_charts_inline_and_the_numbers_as_text(
    engine: Engine, settings: Settings, smtp: SmtpServer, world: World
) -> None:
    assert queue(engine, settings) == 4  # admin, recruiter, M, N
    send_due(engine=engine, settings=settings)
    [mail] = delivered(smtp, "admin@example.com")
    assert mail["Subject"] == "[Weekly metrics] 2026-03-02 – 2026-03-08"
    got = parts(mail)
    # multipart/related holds the HTML first, then the two charts; nothing is left as an attachment to open.
    assert next(got["related"].iter_parts()).get_content_type() == "text/html"
    assert got["attachments"] == []
    assert [p.get_filename() for p in got["images"]] == ["funnel.png", "feedback_weekly.png"]
    for image in got["images"]:
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        assert image.get_content()[:8] == PNG
        assert len(image.get_content()) > 5_000  # a drawn chart, not an empty canvas
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in got["html"]
    text = got["text"]
    assert "Applied: 3\n" in text
    assert "Interviewed: 3 (100% of the step before)" in text
    assert "Evaluated (all scorecards in): 2 (67% of the step before)" in text
    assert "- Decision: 0 (0% of the step before)\n- Offer sent: 0\n" in text  # nothing to convert: no share
    assert "67% of candidates heard from us within 24 hours (2 of 3 interviews held last week)." in text
    assert "The week before: —. Over the last 8 weeks: 67%." in text
    assert "1 candidate waiting for word more than 24 hours after the interview" in text
    assert "1 scorecard overdue" in text
    assert "1 offer awaiting approval" in text
    assert "https://hire.example.com/metrics" in text
    assert "https://hire.example.com/follow_up" in text  # the admin may act on the candidates waiting
    assert "Your jobs:" not in text  # an admin's numbers are of every job


def test_a_hiring_manager_gets_their_jobs_numbers_only_in_chinese_with_the_job_title_escaped(
    engine: Engine, settings: Settings, smtp: SmtpServer, world: World
) -> None:
    queue(engine, settings)
    send_due(engine=engine, settings=settings)
    [mail] = delivered(smtp, "m@example.com")
    assert mail["Subject"] == "【每周指标】2026-03-02 至 2026-03-08"
    got = parts(mail)
    text, html = got["text"], got["html"]
    step = {s: t(f"metrics.step.{s}", "zh") for s in ("applied", "interviewed", "evaluated")}
    assert f"{step['applied']}：2\n" in text
    assert f"{step['interviewed']}：2（为上一步的 100%）" in text
    assert f"{step['evaluated']}：1（为上一步的 50%）" in text
    assert "50% 的候选人在 24 小时内收到了我们的反馈（上周进行的 2 场面试中有 1 场）。" in text
    assert "1 位候选人面试后超过 24 小时仍未收到反馈" in text
    assert "1 份评分表已逾期" in text
    assert "0 份录用通知待审批" in text  # the offer waiting is of job B
    assert "https://hire.example.com/metrics" in text and "/follow_up" not in text  # not a page of theirs
    assert f"您的职位：{HOSTILE}" in text  # plain text shows the title as it is
    assert "<script>" not in html and "<b>Engineer" not in html
    assert "您的职位：&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Engineer&lt;/b&gt;" in html
    assert len(got["images"]) == 2 and all(p.get_content()[:8] == PNG for p in got["images"])


def test_the_other_hiring_manager_sees_only_job_b(
    engine: Engine, settings: Settings, smtp: SmtpServer, world: World
) -> None:
    queue(engine, settings)
    send_due(engine=engine, settings=settings)
    text = parts(delivered(smtp, "n@example.com")[0])["text"]
    assert "Your jobs: Sales\n" in text
    assert "Applied: 1\n" in text
    assert "100% of candidates heard from us within 24 hours (1 of 1 interviews held last week)." in text
    assert "0 candidates waiting" in text
    assert "0 scorecards overdue" in text
    assert "1 offer awaiting approval" in text
    assert "Engineer" not in text


def test_who_did_not_choose_it_may_not_read_metrics_or_was_deactivated_gets_nothing(
    engine: Engine, settings: Settings, smtp: SmtpServer, world: World, session: Session
) -> None:
    lost = session.get(User, world.recruiter.id)
    assert lost is not None
    lost.roles = "interviewer"  # chose it as a recruiter, then lost the role
    session.add(lost)
    choose(session, world.n, enabled=False)
    session.commit()
    assert queue(engine, settings) == 2
    send_due(engine=engine, settings=settings)
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["admin@example.com", "m@example.com"]


def test_an_interviewer_cannot_choose_the_digest(session: Session, world: World) -> None:
    with pytest.raises(NotAllowed):
        set_metrics_digest(session=session, actor=world.interviewer, enabled=True)


def test_choosing_the_digest_is_audited(session: Session, world: World) -> None:
    choose(session, world.quiet)
    choose(session, world.quiet, enabled=False)
    changes = session.exec(
        select(AuditLog.changes).where(AuditLog.entity == "user", AuditLog.entity_id == world.quiet.id)
    ).all()
    assert [json.loads(c) for c in changes if "metrics_digest" in c] == [
        {"metrics_digest": [False, True]},
        {"metrics_digest": [True, False]},
    ]


# --------------------------------------------------------------------------- once per person and week
def test_two_passes_and_a_second_worker_queue_nothing_new(
    engine: Engine, settings: Settings, smtp: SmtpServer, world: World
) -> None:
    assert queue(engine, settings) == 4
    assert queue(engine, settings) == 0
    second = Worker(engine, settings)
    assert second.run_once().jobs["metrics_digest"] == 0
    Worker(engine, settings).run_once()
    assert len([r for r in smtp.received if r.message["Subject"].startswith("[Weekly")]) == 2  # admin, N (English)
    assert sorted(m.idempotency_key for m in digests(engine)) == sorted(
        digest_key(u.id or 0, WEEK) for u in (world.admin, world.recruiter, world.m, world.n)
    )
    assert {m.status for m in digests(engine)} == {MailStatus.sent}


def test_two_workers_at_once_queue_each_digest_once(engine: Engine, settings: Settings, world: World) -> None:
    done: list[int] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        done.append(queue(engine, settings))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 4
    assert len(digests(engine)) == 4


def test_not_before_monday_eight_then_caught_up_on_tuesday_and_never_twice(
    engine: Engine, settings: Settings, frozen_clock: Any, world: World
) -> None:
    frozen_clock.set(MONDAY_8 - timedelta(minutes=1))  # Monday 07:59 in Shanghai
    assert queue(engine, settings) == 0
    frozen_clock.set(MONDAY_8 + timedelta(days=1, hours=6))  # Tuesday 14:00: the worker was down on Monday
    assert queue(engine, settings) == 4
    frozen_clock.set(MONDAY_8 + timedelta(days=6, hours=15, minutes=59))  # Sunday 23:59
    assert queue(engine, settings) == 0
    frozen_clock.set(MONDAY_8 + timedelta(days=7))  # the next Monday 08:00: the next week's
    assert queue(engine, settings) == 4
    keys = {m.idempotency_key for m in digests(engine)}
    assert keys == {
        digest_key(u.id or 0, w)
        for u in (world.admin, world.recruiter, world.m, world.n)
        for w in (WEEK, WEEK + timedelta(days=7))
    }


def test_many_readers_are_served_over_several_passes_each_once(
    engine: Engine, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest, "MAX_PER_PASS", 3)
    assert [queue(engine, settings) for _ in range(3)] == [3, 1, 0]
    assert len(digests(engine)) == 4


def test_a_digest_that_cannot_be_made_does_not_hold_up_the_others_and_is_tried_again_an_hour_later(
    engine: Engine, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch, frozen_clock: Any
) -> None:
    real = digest._figures
    tries: list[int] = []

    def broken_for_m(session: Session, user: User, week: date) -> Any:
        tries.append(user.id or 0)
        if user.id == world.m.id:
            raise RuntimeError("chart engine away")
        return real(session, user, week)

    monkeypatch.setattr(digest, "_figures", broken_for_m)
    monkeypatch.setattr(digest, "_failed", {})
    assert queue(engine, settings) == 3
    # The worker's next passes, seconds apart, do not make it again (and log no traceback every few seconds).
    assert queue(engine, settings) == 0 and tries.count(world.m.id or 0) == 1
    monkeypatch.setattr(digest, "_figures", real)
    frozen_clock.set(utcnow() + digest.RETRY_AFTER)
    assert queue(engine, settings) == 1
    assert {m.recipient_user_id for m in digests(engine)} == {
        world.admin.id,
        world.recruiter.id,
        world.m.id,
        world.n.id,
    }


def test_the_week_due_follows_the_company_clock() -> None:
    # Shanghai: Monday 9 March 08:00 is 00:00 UTC.
    assert digest_week(datetime(2026, 3, 8, 23, 59, tzinfo=UTC)) is None
    assert digest_week(datetime(2026, 3, 9, 0, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert digest_week(datetime(2026, 3, 15, 15, 59, tzinfo=UTC)) == date(2026, 3, 2)  # Sunday 23:59
    assert digest_week(datetime(2026, 3, 15, 16, 0, tzinfo=UTC)) is None  # Monday 00:00 local
    assert digest_week(datetime(2026, 3, 16, 0, 0, tzinfo=UTC)) == date(2026, 3, 9)
    assert digest_key(7, date(2026, 3, 2)) == "metrics_digest:7:2026-W10"
    assert digest_key(7, date(2025, 12, 29)) == "metrics_digest:7:2026-W01"  # ISO year, not the calendar's


def test_the_worker_runs_the_digest_as_one_of_its_jobs() -> None:
    assert JOBS["metrics_digest"] is digest.send_weekly_digests


# --------------------------------------------------------------------------- when the mail server is away
def test_with_the_mail_server_down_the_digest_stays_queued_and_goes_once_it_is_back(
    engine: Engine, settings: Settings, smtp: SmtpServer, frozen_clock: Any, world: World
) -> None:
    smtp.stop()
    assert queue(engine, settings) == 4
    result = send_due(engine=engine, settings=settings)
    assert result.sent == 0 and result.retrying >= 4
    assert {m.status for m in digests(engine)} == {MailStatus.queued}
    assert all(m.attempts == 1 and "cannot connect" in m.last_error for m in digests(engine))
    smtp.start()
    frozen_clock.set(MONDAY_8 + timedelta(minutes=10))
    send_due(engine=engine, settings=settings)
    assert {m.status for m in digests(engine)} == {MailStatus.sent}
    assert sorted(
        r.rcpt_tos[0] for r in smtp.received if "metrics" in r.message["Subject"] or "指标" in r.message["Subject"]
    ) == [
        "admin@example.com",
        "m@example.com",
        "n@example.com",
        "recruiter@example.com",
    ]
    with Session(engine) as session:  # the images stay with their message while it waits
        images = session.exec(select(OutboxAttachment).where(OutboxAttachment.content_id != "")).all()
    assert len(images) == 8 and all(i.content[:8] == PNG for i in images)


# --------------------------------------------------------------------------- inline parts beside attachments
def test_an_inline_image_sits_with_the_html_and_an_attachment_stays_an_attachment(
    engine: Engine, settings: Settings, smtp: SmtpServer, session: Session
) -> None:
    from services.mail.outbox import Attachment, queue_mail

    message = queue_mail(
        session=session,
        to="someone@example.com",
        subject="Inline and attached",
        html='<p><img src="cid:chart-1@example"></p>',
        text="numbers",
        key="inline-and-attached",
        attachments=[Attachment("notes.pdf", b"%PDF-1.4 notes", "application/pdf")],
    )
    session.add(
        OutboxAttachment(
            outbox_id=message.id or 0,
            filename="chart.png",
            content=PNG + b"rest",
            mime_type="image/png",
            content_id="chart-1@example",
        )
    )
    session.commit()
    send_due(engine=engine, settings=settings)
    [received] = delivered(smtp, "someone@example.com")
    # mixed[alternative[text, related[html, image]], pdf]
    shape = [(p.get_content_type(), p.get_content_disposition()) for p in received.walk()]
    assert shape == [
        ("multipart/mixed", None),
        ("multipart/alternative", None),
        ("text/plain", None),
        ("multipart/related", None),
        ("text/html", None),
        ("image/png", "inline"),
        ("application/pdf", "attachment"),
    ]
    image = next(p for p in received.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart-1@example>" and image.get_content() == PNG + b"rest"
    assert [a.get_filename() for a in received.iter_attachments()] == ["notes.pdf"]
