"""The outbox: what arrives at a real SMTP server, queueing inside the caller's transaction, and the outbox page's
services (list, retry, cancel, test message) and commands (mail-test, worker --once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import manage
import services.mail.outbox
import services.platform.config
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from services.mail.mailer import send_due
from services.mail.outbox import (
    Attachment,
    cancel_message,
    get_message,
    list_outbox,
    queue_mail,
    queue_template,
    queue_test_message,
    release_held,
    render,
    retry_message,
)
from services.mail.worker import Worker
from services.platform.config import Settings
from services.platform.db import get_engine, migrate, session_scope
from services.platform.errors import InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.factories import Factory, done
from tests.services.mail_server import SmtpServer, configure_mail, running_server, unconfigure_mail

REMINDER_ITEM = {
    "title_zh": "张伟 · 高级工程师：已 7 天没有进展",
    "title_en": "Zhang Wei: no progress for 7 days",
    "detail_zh": "该应聘自 2026-03-02 17:00 起一直处于同一阶段。请联系候选人或做出决定。",
    "detail_en": "Stuck.",
    "link": "http://localhost:8501/candidates?id=7",
    "due": "",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_mail(monkeypatch, smtp.port)


def deliver(engine: Engine, settings: Settings) -> int:
    """Run the worker's sending step until nothing is due; returns how many were sent."""
    sent = 0
    while (batch := send_due(engine=engine, settings=settings)).claimed:
        sent += batch.sent
    return sent


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def simple_mail(session: Session, key: str, to: str = "hr@example.com", **kw: object) -> OutboxMessage:
    return queue_mail(
        session=session,
        to=to,
        subject="面试安排通知",
        html="<p>您好，面试时间已确定。</p>",
        text="您好，面试时间已确定。\n",
        key=key,
        **kw,
    )


# What arrives


def test_a_reminder_arrives_with_its_chinese_subject_html_and_rendered_plain_text(
    engine, session, settings, smtp
) -> None:
    message = queue_template(
        session=session,
        template="reminder",
        language="zh",
        to="li.na@example.com",
        key="r1",
        context={"recipient_name": "李娜", "item": REMINDER_ITEM},
    )
    session.commit()
    rendered = render("reminder", "zh", recipient_name="李娜", item=REMINDER_ITEM)

    assert deliver(engine, settings) == 1

    [got] = smtp.received
    mail = got.message
    assert mail["Subject"] == "【提醒】张伟 · 高级工程师：已 7 天没有进展" == rendered.subject
    assert mail["Message-ID"] == message.message_id
    assert mail["From"].addresses[0].addr_spec == "noreply@followup.example.com"
    assert mail["From"].addresses[0].display_name == "招聘团队 Recruiting"
    plain = mail.get_body(("plain",)).get_content()
    assert plain == rendered.text
    assert "李娜，您好" in plain and "去处理：http://localhost:8501/candidates?id=7" in plain
    assert "<p>" not in plain and "<a " not in plain
    html = mail.get_body(("html",)).get_content()
    assert html.strip() == rendered.html.strip()
    assert '<a href="http://localhost:8501/candidates?id=7"' in html and "<br>" not in html
    assert [p.get_content_type() for p in mail.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    assert outbox(engine)[0].status == MailStatus.sent


def test_attachments_arrive_as_attachments_with_their_chinese_file_names_and_exact_bytes(
    engine, session, settings, smtp
) -> None:
    files = [
        Attachment("简历 张伟.pdf", b"%PDF-1.4 \x00\xff binary", "application/pdf"),
        Attachment("面试笔记.txt", "二面：沟通清晰".encode(), "text/plain"),
        Attachment("证件照.jpg", b"\xff\xd8\xff\xe0 jpeg", "image/jpeg"),
        Attachment("作品集", b"no extension, type from the upload", "application/zip"),
    ]
    simple_mail(session, "with-files", attachments=files)
    session.commit()

    assert deliver(engine, settings) == 1

    mail = smtp.received[0].message
    parts = list(mail.iter_attachments())
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts] == [
        (a.filename, a.mime_type, a.content) for a in files
    ]
    assert all(p.get_content_disposition() == "attachment" for p in parts)
    assert mail.get_body(("plain",)).get_content() == "您好，面试时间已确定。\n"


def test_to_and_cc_recipients_are_in_the_headers_and_every_one_gets_the_mail(engine, session, settings, smtp) -> None:
    simple_mail(
        session,
        "to-cc",
        to="Wang.Fang@Example.com; zhao@example.com",
        cc=["manager@example.com", "wang.fang@example.com"],
    )
    session.commit()

    deliver(engine, settings)

    [got] = smtp.received
    assert [a.addr_spec for a in got.message["To"].addresses] == ["wang.fang@example.com", "zhao@example.com"]
    assert [a.addr_spec for a in got.message["Cc"].addresses] == ["manager@example.com", "wang.fang@example.com"]
    assert sorted(got.rcpt_tos) == ["manager@example.com", "wang.fang@example.com", "zhao@example.com"]
    assert got.mail_from == "noreply@followup.example.com"


def test_mail_queued_in_a_transaction_that_is_rolled_back_is_neither_kept_nor_sent(engine, settings, smtp) -> None:
    with pytest.raises(RuntimeError, match="the stage change failed"), session_scope(engine) as s:
        simple_mail(s, "rolled-back", attachments=[Attachment("offer.pdf", b"%PDF")])
        raise RuntimeError("the stage change failed")

    assert send_due(engine=engine, settings=settings).claimed == 0
    assert outbox(engine) == []
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(OutboxAttachment)).one() == 0
    assert smtp.received == []


def test_the_same_idempotency_key_queued_twice_makes_one_row_and_one_mail(engine, session, settings, smtp) -> None:
    first = simple_mail(session, "offer:42")
    session.commit()
    with Session(engine, expire_on_commit=False) as other:
        again = simple_mail(other, "offer:42", to="someone.else@example.com")
        other.commit()

    assert again.id == first.id and again.message_id == first.message_id
    assert deliver(engine, settings) == 1
    with Session(engine) as late:
        simple_mail(late, "offer:42")
        late.commit()
    assert deliver(engine, settings) == 0
    assert len(outbox(engine)) == 1
    assert smtp.message_ids() == {first.message_id: 1}
    assert smtp.received[0].rcpt_tos == ["hr@example.com"]


@pytest.mark.parametrize(
    ("to", "cc", "field"),
    [
        ("not-an-address", None, "to"),
        ("ok@example.com, broken@", None, "to"),
        ("ok@example.com", "also broken", "cc"),
        ("", None, "to"),
    ],
)
def test_an_invalid_address_is_refused_before_anything_is_queued(
    engine, session, settings, smtp, to, cc, field
) -> None:
    with pytest.raises(ValidationError) as refused:
        simple_mail(session, f"bad:{to}:{cc}", to=to, cc=cc, attachments=[Attachment("a.pdf", b"%PDF")])
    session.commit()

    assert set(refused.value.fields) == {field}
    assert refused.value.fields[field][0] in {"err.email_invalid", "err.required"}
    assert outbox(engine) == []
    assert deliver(engine, settings) == 0 and smtp.received == []


def test_without_a_mail_server_mail_is_held_and_goes_out_once_one_is_configured(
    engine, session, smtp, monkeypatch
) -> None:
    bare = unconfigure_mail(monkeypatch)
    message = simple_mail(session, "held:1")
    session.commit()
    assert message.status == MailStatus.held
    assert send_due(engine=engine, settings=bare).claimed == 0
    assert release_held(session=session) == 0

    settings = configure_mail(monkeypatch, smtp.port)
    assert send_due(engine=engine, settings=settings).claimed == 0  # held is not queued
    assert release_held(session=session) == 1
    session.commit()  # as the worker's step does
    assert outbox(engine)[0].status == MailStatus.queued

    assert Worker(engine, settings).run_once(rules=False).sent == 1
    assert outbox(engine)[0].status == MailStatus.sent
    assert smtp.message_ids() == {message.message_id: 1}


# The outbox page's services


def test_a_failed_message_retried_is_queued_again_with_fresh_attempts_and_goes_out(
    engine, session, make, settings, smtp
) -> None:
    recruiter = make.user("recruiter")
    message = simple_mail(session, "retry-me")
    session.commit()
    smtp.handler.data_reply = "554 5.7.1 rejected as spam"
    deliver(engine, settings)
    failed = outbox(engine)[0]
    assert (failed.status, failed.attempts) == (MailStatus.failed, 1)

    smtp.handler.data_reply = "250 OK"
    retried = done(session, retry_message(session=session, actor=recruiter, message_id=message.id))

    assert (retried.status, retried.attempts, retried.last_error) == (MailStatus.queued, 0, "")
    assert deliver(engine, settings) == 1
    assert smtp.message_ids() == {message.message_id: 1}
    with pytest.raises(InvalidTransition):
        retry_message(session=session, actor=recruiter, message_id=message.id)
    with pytest.raises(NotFound):
        retry_message(session=session, actor=recruiter, message_id=9999)


def test_a_cancelled_message_is_never_sent(engine, session, make, settings, smtp) -> None:
    recruiter = make.user("recruiter")
    doomed = simple_mail(session, "cancel-me")
    kept = simple_mail(session, "keep-me")
    session.commit()

    cancelled = done(session, cancel_message(session=session, actor=recruiter, message_id=doomed.id))

    assert cancelled.status == MailStatus.cancelled
    assert deliver(engine, settings) == 1
    assert smtp.message_ids() == {kept.message_id: 1}
    assert [m.status for m in outbox(engine)] == [MailStatus.cancelled, MailStatus.sent]


def test_a_message_already_sent_cannot_be_cancelled(engine, session, make, settings, smtp) -> None:
    recruiter = make.user("recruiter")
    message = simple_mail(session, "gone")
    session.commit()
    deliver(engine, settings)

    with pytest.raises(InvalidTransition) as refused:
        cancel_message(session=session, actor=recruiter, message_id=message.id)

    assert refused.value.params == {"status": MailStatus.sent}
    assert outbox(engine)[0].status == MailStatus.sent


def test_the_outbox_lists_newest_first_with_the_count_in_each_status(
    engine, session, make, settings, smtp, monkeypatch
) -> None:
    recruiter = make.user("recruiter")
    for n in range(3):
        simple_mail(session, f"sent:{n}")
    session.commit()
    deliver(engine, settings)
    cancelled = simple_mail(session, "cancelled")
    waiting = [simple_mail(session, f"queued:{n}") for n in range(2)]
    session.commit()
    cancel_message(session=session, actor=recruiter, message_id=cancelled.id)

    rows, counts = list_outbox(session=session, actor=recruiter)
    assert set(counts) == {s.value for s in MailStatus}  # every status, even those with none
    assert {status: n for status, n in counts.items() if n} == {"queued": 2, "sent": 3, "cancelled": 1}
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True) and len(rows) == 6

    # Each status is counted up to the cap and one more (the page shows "2+"); the rows are not capped.
    monkeypatch.setattr(services.mail.outbox, "COUNT_CAP", 2)
    rows, counts = list_outbox(session=session, actor=recruiter)
    assert {status: n for status, n in counts.items() if n} == {"queued": 2, "sent": 3, "cancelled": 1}
    assert len(rows) == 6
    with Session(engine) as fresh:  # the list leaves the bodies unread
        assert "html" not in list_outbox(session=fresh, actor=recruiter)[0][0].__dict__
    monkeypatch.setattr(services.mail.outbox, "COUNT_CAP", 1)
    assert list_outbox(session=session, actor=recruiter)[1]["sent"] == 2

    queued, _ = list_outbox(session=session, actor=recruiter, status="queued")
    assert [r.idempotency_key for r in queued] == [w.idempotency_key for w in reversed(waiting)]
    page_two, _ = list_outbox(session=session, actor=recruiter, page=2, page_size=4)
    assert len(page_two) == 2


def test_an_interviewer_cannot_see_the_outbox_or_touch_its_messages(session, make, settings) -> None:
    interviewer = make.user("interviewer")
    message = simple_mail(session, "private", attachments=[Attachment("简历.pdf", b"%PDF")])
    session.commit()

    with pytest.raises(NotAllowed):
        list_outbox(session=session, actor=interviewer)
    with pytest.raises(NotAllowed):
        get_message(session=session, actor=interviewer, message_id=message.id)
    with pytest.raises(NotAllowed):
        cancel_message(session=session, actor=interviewer, message_id=message.id)
    admin = make.admin()
    shown, files = get_message(session=session, actor=admin, message_id=message.id)
    assert shown.subject == "面试安排通知" and [f.filename for f in files] == ["简历.pdf"]


def test_only_an_admin_can_queue_a_test_message_and_it_arrives(engine, session, make, settings, smtp) -> None:
    with pytest.raises(NotAllowed):
        queue_test_message(session=session, actor=make.user("recruiter"), to="it@example.com")
    assert outbox(engine) == []

    admin = make.admin(name="管理员 王")
    message = done(session, queue_test_message(session=session, actor=admin, to="it@example.com"))

    assert (message.status, message.template, message.created_by_id) == (MailStatus.queued, "test_message", admin.id)
    assert deliver(engine, settings) == 1
    mail = smtp.received[0].message
    assert mail["Subject"] == "【面试后跟进】测试邮件"
    assert "由 管理员 王 于" in mail.get_body(("plain",)).get_content()


# The command line


@pytest.fixture
def cli_database(blank_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """manage.py pointed at a blank, migrated database with one admin."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", blank_database_url)
    services.platform.config.get_settings.cache_clear()
    migrate(blank_database_url)
    engine = get_engine(blank_database_url)
    with Session(engine) as s:
        Factory(s).admin()
    return engine


def test_mail_test_with_a_bad_address_exits_2_and_queues_nothing(cli_database, capsys) -> None:
    assert manage.main(["mail-test", "--to", "bad-address"]) == 2

    assert "err.email_invalid" in capsys.readouterr().err
    assert outbox(cli_database) == []


def test_mail_test_without_a_mail_server_queues_the_message_held(cli_database, capsys) -> None:
    assert manage.main(["mail-test", "--to", "it@example.com"]) == 0

    assert "held until a mail server is configured" in capsys.readouterr().out
    assert [(m.to_addrs, m.status) for m in outbox(cli_database)] == [("it@example.com", MailStatus.held)]


def test_worker_once_without_a_mail_server_leaves_mail_held_and_exits_0(cli_database, capsys) -> None:
    with Session(cli_database) as s:
        simple_mail(s, "cli:held")
        s.commit()

    assert manage.main(["worker", "--once"]) == 0

    captured = capsys.readouterr()
    assert "no mail server configured" in captured.err and "sent 0" in captured.out
    [message] = outbox(cli_database)
    assert (message.status, message.attempts, message.last_error) == (MailStatus.held, 0, "")


def test_worker_once_also_says_what_its_jobs_did(cli_database, capsys) -> None:
    """An operator running `worker --once` sees the housekeeping jobs' counts (privacy: retention, purge of the
    records of access) beside the mail's."""
    assert manage.main(["worker", "--once"]) == 0

    out = capsys.readouterr().out
    assert "jobs {" in out and "'retention':" in out and "'purge_access_records':" in out
