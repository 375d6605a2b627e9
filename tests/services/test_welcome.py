"""The new hire's page (issue 11, item 5): the private link (issued, revoked, re-issued, expired), the welcome mail
(prepared for review, or sent by the worker on its day, once), and what the page shows and takes — only the
plan's own checklist, materials and uploads, allowed files only.

Plans are built from model rows (tests.services.test_training.a_plan): the plans part of issue 11 owns plan creation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import Session, col, select

from models.mail import MailStatus, OutboxMessage
from models.onboard import ChecklistItem, Material, OnboardTemplate, PlanStatus, PlanTask, TemplateTask
from services.mail.outbox import send_draft
from services.mail.worker import JOBS
from services.onboard import materials, training, welcome
from services.platform.config import get_settings
from services.platform.errors import InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.services.test_training import START, Hire, a_plan, at, form

PDF = b"%PDF-1.4 a scanned certificate"
PNG = b"\x89PNG\r\n\x1a\n rest of a picture"


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["welcome"][0]


def issued(session: Session, h: Hire) -> str:
    url = welcome.issue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.commit()
    return token_of(url)


def page(session: Session, token: str, **kw: Any) -> welcome.WelcomePage:
    return welcome.open_welcome(session=session, token=token, **kw)


def a_material(
    session: Session, name: str = "员工手册.pdf", content: bytes = PDF, plan_id: int | None = None
) -> Material:
    row = materials.store_material(session=session, filename=name, content=content, actor=None, plan_id=plan_id)
    session.commit()
    return row


# --------------------------------------------------------------------------- the link
def test_an_issued_link_opens_the_page_with_the_plans_own_facts(session, make) -> None:
    h = a_plan(make, language="en")
    url = welcome.issue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.commit()
    assert url.startswith(get_settings().base_url.rstrip("/") + "/?welcome=")
    token = token_of(url)
    assert h.plan.link_token_hash and token not in h.plan.link_token_hash  # only a keyed hash is kept
    shown = page(session, token)
    assert (shown.language, shown.name, shown.start_date, shown.location) == (
        "en",
        h.candidate.name,
        START,
        "上海市徐汇区 1 号楼",
    )
    assert shown.contacts == [("buddy", h.buddy.name), ("hiring_manager", h.manager.name)]
    assert [i.label for i in shown.checklist] == ["ID card", "Degree certificates", "Bank card"]
    assert shown.valid_until == h.plan.probation_end


def test_the_page_is_in_chinese_for_a_chinese_new_hire(session, make) -> None:
    h = a_plan(make, language="zh")
    assert [i.label for i in page(session, issued(session, h)).checklist][0] == "身份证"


def test_issuing_while_a_link_works_is_refused_and_reissuing_ends_the_old_one(session, make) -> None:
    h = a_plan(make)
    old = issued(session, h)
    with pytest.raises(InvalidTransition) as err:
        welcome.issue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.rollback()
    assert err.value.key == "err.welcome_link_live"
    assert page(session, old).name == h.candidate.name
    new = token_of(welcome.reissue_link(session=session, actor=h.recruiter, plan_id=h.plan.id))
    session.commit()
    assert new != old
    with pytest.raises(welcome.WelcomeLinkInvalid):
        page(session, old)
    assert page(session, new).name == h.candidate.name


def test_a_revoked_link_stops_working_and_a_new_one_can_be_issued(session, make) -> None:
    h = a_plan(make)
    token = issued(session, h)
    welcome.revoke_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.commit()
    for call in (
        lambda: page(session, token),
        lambda: welcome.tick_checklist_item(session=session, token=token, item_id=h.items[0].id, ticked=True),
        lambda: welcome.upload_material(session=session, token=token, filename="a.pdf", content=PDF),
    ):
        with pytest.raises(welcome.WelcomeLinkInvalid) as err:
            call()
        assert err.value.key == "welcome.link_invalid"
    session.rollback()
    assert session.get(ChecklistItem, h.items[0].id).done_at is None
    status = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert (status.live, status.revoked_at is not None) == (False, True)
    again = welcome.revoke_link(session=session, actor=h.recruiter, plan_id=h.plan.id)  # a double submit
    assert again.link_revoked_at == status.revoked_at
    fresh = issued(session, h)
    assert page(session, fresh).name == h.candidate.name
    assert welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id).live


def test_the_link_expires_at_the_end_of_probation(session, make, frozen_clock) -> None:
    h = a_plan(make)
    token = issued(session, h)
    last_day = datetime.combine(h.plan.probation_end, datetime.min.time(), get_settings().tz) + timedelta(hours=23)
    frozen_clock.set(last_day.astimezone(UTC))
    assert page(session, token).name == h.candidate.name
    frozen_clock.set((last_day + timedelta(hours=2)).astimezone(UTC))
    with pytest.raises(welcome.WelcomeLinkInvalid):
        page(session, token)


def test_the_link_stops_working_when_the_plan_ends(session, make) -> None:
    h = a_plan(make)
    token = issued(session, h)
    h.plan.status = PlanStatus.not_passed
    session.add(h.plan)
    session.commit()
    with pytest.raises(welcome.WelcomeLinkInvalid):
        page(session, token)
    with pytest.raises(InvalidTransition):
        welcome.reissue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 500])
def test_an_unknown_link_is_one_clear_error(session, make, token) -> None:
    a_plan(make)
    with pytest.raises(welcome.WelcomeLinkInvalid):
        page(session, token)


# --------------------------------------------------------------------------- checklist
def test_the_new_hire_ticks_an_item_and_hr_sees_it(session, make) -> None:
    h = a_plan(make)
    token = issued(session, h)
    welcome.tick_checklist_item(session=session, token=token, item_id=h.items[1].id, ticked=True)
    session.commit()
    assert [i.done for i in page(session, token).checklist] == [False, True, False]
    seen = welcome.plan_checklist(session=session, actor=h.manager, plan_id=h.plan.id)
    assert [i.done_at is not None for i in seen] == [False, True, False]
    first_tick = seen[1].done_at
    welcome.tick_checklist_item(session=session, token=token, item_id=h.items[1].id, ticked=True)  # twice
    session.commit()
    assert session.get(ChecklistItem, h.items[1].id).done_at == first_tick
    welcome.tick_checklist_item(session=session, token=token, item_id=h.items[1].id, ticked=False)
    session.commit()
    assert session.get(ChecklistItem, h.items[1].id).done_at is None


def test_a_link_cannot_tick_another_plans_item(session, make) -> None:
    mine, theirs = a_plan(make), a_plan(make)
    token = issued(session, mine)
    with pytest.raises(NotFound):
        welcome.tick_checklist_item(session=session, token=token, item_id=theirs.items[0].id, ticked=True)
    session.rollback()
    assert session.get(ChecklistItem, theirs.items[0].id).done_at is None


# --------------------------------------------------------------------------- materials and uploads
def test_the_page_lists_and_serves_the_plans_materials_and_links(session, make) -> None:
    handbook = a_material(session)
    culture = a_material(session, "文化介绍.pdf")
    template = OnboardTemplate(department="Engineering")
    session.add(template)
    session.commit()
    session.add(
        TemplateTask(
            template_id=template.id,
            title_zh="阅读员工手册",
            title_en="Read the handbook",
            owner_role="new_hire",
            material_id=handbook.id,
        )
    )
    session.commit()
    h = a_plan(make, template_id=template.id)
    session.add(
        PlanTask(
            plan_id=h.plan.id,
            title_zh="了解公司文化",
            title_en="Our culture",
            owner_role="new_hire",
            due_date=START,
            material_id=culture.id,
            link_url="https://intranet.example.com/culture",
        )
    )
    session.commit()
    token = issued(session, h)
    shown = page(session, token)
    assert {(m.id, m.title, m.filename) for m in shown.materials} == {
        (handbook.id, "阅读员工手册", "员工手册.pdf"),
        (culture.id, "了解公司文化", "文化介绍.pdf"),
    }
    assert [(link.title, link.url) for link in shown.links] == [
        ("了解公司文化", "https://intranet.example.com/culture")
    ]
    got = welcome.download_material(session=session, token=token, material_id=handbook.id)
    assert (got.filename, got.mime_type, got.content) == ("员工手册.pdf", "application/pdf", PDF)


def test_a_link_cannot_download_another_plans_file_or_an_unlisted_one(session, make) -> None:
    mine, theirs = a_plan(make), a_plan(make)
    token, their_token = issued(session, mine), issued(session, theirs)
    their_upload = welcome.upload_material(session=session, token=their_token, filename="身份证.png", content=PNG)
    session.commit()
    stray = a_material(session, "内部资料.pdf")  # a template material of no template of this plan
    for material_id in (their_upload.id, stray.id, 987654):
        with pytest.raises(NotFound):
            welcome.download_material(session=session, token=token, material_id=material_id)
    assert their_upload.id not in {u.id for u in page(session, token).uploads}
    with pytest.raises(NotFound):
        welcome.download_upload(
            session=session, actor=mine.recruiter, plan_id=mine.plan.id, material_id=their_upload.id
        )


def test_an_upload_is_kept_listed_for_hr_and_served_to_both(session, make) -> None:
    h = a_plan(make)
    token = issued(session, h)
    row = welcome.upload_material(session=session, token=token, filename="../../体检报告.pdf", content=PDF)
    session.commit()
    assert (row.filename, row.plan_id, row.uploaded_by_id) == ("体检报告.pdf", h.plan.id, None)
    again = welcome.upload_material(session=session, token=token, filename="体检报告.pdf", content=PDF)  # twice
    assert again.id == row.id
    assert [u.filename for u in page(session, token).uploads] == ["体检报告.pdf"]
    listed = welcome.plan_uploads(session=session, actor=h.manager, plan_id=h.plan.id)
    assert [(u.id, u.size) for u in listed] == [(row.id, len(PDF))]
    assert (
        welcome.download_upload(session=session, actor=h.recruiter, plan_id=h.plan.id, material_id=row.id).content
        == PDF
    )
    assert welcome.download_material(session=session, token=token, material_id=row.id).content == PDF


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("setup.exe", b"MZ\x90\x00", "err.file_type"),
        ("page.pdf", b"<html><script>alert(1)</script>", "err.file_type"),  # a renamed file: its bytes say so
        ("notes.txt", b"hello", "err.file_type"),
        ("empty.pdf", b"", "err.file_empty"),
        ("big.pdf", b"%PDF-" + b"x" * 200, "err.file_too_large"),
    ],
)
def test_a_wrong_or_too_large_upload_is_refused_and_nothing_is_stored(
    session, make, monkeypatch, name, content, key
) -> None:
    monkeypatch.setattr(materials, "MAX_BYTES", 100)
    h = a_plan(make)
    token = issued(session, h)
    with pytest.raises(ValidationError) as err:
        welcome.upload_material(session=session, token=token, filename=name, content=content)
    session.rollback()
    assert err.value.fields["file"][0] == key
    assert session.exec(select(Material)).all() == []


def test_uploads_stop_at_the_limit(session, make, monkeypatch) -> None:
    monkeypatch.setattr(welcome, "MAX_UPLOADS", 2)
    h = a_plan(make)
    token = issued(session, h)
    for n in range(2):
        welcome.upload_material(session=session, token=token, filename=f"{n}.pdf", content=PDF + bytes([n]))
    session.commit()
    with pytest.raises(ValidationError) as err:
        welcome.upload_material(session=session, token=token, filename="3.pdf", content=PDF + b"3")
    assert err.value.fields["file"] == ("err.too_many_files", {"max": 2})


# --------------------------------------------------------------------------- nothing of other people
def test_the_page_shows_nothing_of_another_plan(session, make) -> None:
    mine, theirs = a_plan(make), a_plan(make)
    training.add_session(session=session, actor=theirs.recruiter, plan_id=theirs.plan.id, training_in=form(theirs))
    training.add_session(
        session=session, actor=mine.recruiter, plan_id=mine.plan.id, training_in=form(mine, title="Mine")
    )
    session.commit()
    their_token = issued(session, theirs)
    welcome.upload_material(session=session, token=their_token, filename="theirs.pdf", content=PDF)
    session.commit()
    shown = page(session, issued(session, mine))
    assert [s.title for s in shown.sessions] == ["Mine"]
    assert {i.id for i in shown.checklist} == {i.id for i in mine.items}
    assert shown.uploads == [] and shown.materials == []
    assert theirs.candidate.name not in repr(shown)


def test_the_page_lists_scheduled_sessions_only(session, make) -> None:
    h = a_plan(make)
    kept = training.add_session(session=session, actor=h.recruiter, plan_id=h.plan.id, training_in=form(h))
    dropped = training.add_session(
        session=session,
        actor=h.recruiter,
        plan_id=h.plan.id,
        training_in=form(h, title="Safety", starts_at=at(17, 10), ends_at=at(17, 11)),
    )
    training.cancel_session(session=session, actor=h.recruiter, training_id=dropped.id, version=dropped.version)
    session.commit()
    assert [s.title for s in page(session, issued(session, h)).sessions] == [kept.title]


# --------------------------------------------------------------------------- the welcome mail
def test_the_welcome_mail_is_prepared_in_the_new_hires_language_with_a_working_link(session, make) -> None:
    h = a_plan(make, language="en")
    draft = welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.commit()
    assert draft.status == MailStatus.draft and draft.to_addrs == h.candidate.email
    assert draft.subject == "Welcome aboard: before your first day"
    assert "2026-03-16" in draft.text
    assert "上海市徐汇区 1 号楼" in draft.text and h.buddy.name in draft.text
    link = next(word for word in draft.text.split() if "?welcome=" in word)
    assert page(session, token_of(link)).name == h.candidate.name
    assert welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id).id == draft.id
    assert [d.id for d in welcome.welcome_drafts(session=session, actor=h.recruiter, plan_id=h.plan.id)] == [draft.id]
    sent = send_draft(session=session, actor=h.recruiter, message_id=draft.id, subject=draft.subject, text=draft.text)
    session.commit()
    assert sent.status == MailStatus.held  # no mail server: it waits in the outbox
    status = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert (status.mail_id, status.mail_status, status.live) == (draft.id, MailStatus.held, True)


def test_preparing_the_mail_while_the_link_works_needs_a_yes_to_ending_that_link(session, make) -> None:
    h = a_plan(make, language="en")
    token = issued(session, h)  # shown to HR, perhaps sent on already
    with pytest.raises(ValidationError) as err:
        welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.rollback()
    assert err.value.fields["replace_link"][0] == "err.welcome_replaces_link"
    assert page(session, token).name == h.candidate.name  # still works
    assert welcome.welcome_drafts(session=session, actor=h.recruiter, plan_id=h.plan.id) == []
    draft = welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id, replace_link=True)
    session.commit()
    with pytest.raises(welcome.WelcomeLinkInvalid):  # the yes was to this
        page(session, token)
    link = next(word for word in draft.text.split() if "?welcome=" in word)
    assert page(session, token_of(link)).name == h.candidate.name


def test_after_the_outcome_the_link_has_ended_and_none_is_issued(session, make) -> None:
    h = a_plan(make)
    issued(session, h)
    assert not welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id).ended
    h.plan.status = PlanStatus.passed
    session.add(h.plan)
    session.commit()
    status = welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert status.ended and not status.live and status.plan_status == PlanStatus.passed
    for call in (welcome.issue_link, welcome.reissue_link, welcome.prepare_welcome_mail):
        with pytest.raises(InvalidTransition):
            call(session=session, actor=h.recruiter, plan_id=h.plan.id)


def test_past_the_end_of_probation_no_link_is_issued(session, make, frozen_clock) -> None:
    h = a_plan(make)
    after = datetime.combine(h.plan.probation_end + timedelta(days=1), datetime.min.time(), get_settings().tz)
    frozen_clock.set((after + timedelta(hours=9)).astimezone(UTC))
    assert welcome.link_status(session=session, actor=h.recruiter, plan_id=h.plan.id).ended
    with pytest.raises(InvalidTransition) as err:
        welcome.issue_link(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert err.value.key == "err.welcome_link_ended"
    session.rollback()
    assert session.get(type(h.plan), h.plan.id).link_token_hash is None


def test_a_chinese_welcome_mail(session, make) -> None:
    h = a_plan(make, language="zh")
    draft = welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert draft.subject == "欢迎加入！入职前须知" and "报到地点" in draft.text


def test_a_new_hire_without_email_gets_no_draft(session, make) -> None:
    h = a_plan(make)
    h.candidate.email = None
    session.add(h.candidate)
    session.commit()
    with pytest.raises(ValidationError) as err:
        welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert err.value.fields["to"][0] == "err.candidate_no_email"


def run_job(engine: Any) -> int:
    return JOBS["welcome_mails"](engine=engine, settings=get_settings())


def welcome_mails(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.template == "welcome")))


def test_the_worker_sends_the_welcome_mail_on_its_day_and_only_once(engine, session, make, frozen_clock) -> None:
    template = OnboardTemplate(department="Engineering", welcome_days_before=5)
    session.add(template)
    session.commit()
    h = a_plan(make, template_id=template.id)
    frozen_clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))  # 6 days before the start
    assert run_job(engine) == 0
    frozen_clock.set(datetime(2026, 3, 11, 1, tzinfo=UTC))  # 5 days before, in Shanghai
    assert run_job(engine) == 1
    assert run_job(engine) == 0
    [mail] = welcome_mails(session)
    assert mail.status == MailStatus.held and mail.to_addrs == h.candidate.email
    session.refresh(h.plan)
    assert h.plan.welcome_mail_id == mail.id and h.plan.link_token_hash is not None
    link = next(word for word in mail.text.split() if "?welcome=" in word)
    assert page(session, token_of(link)).name == h.candidate.name


def test_the_worker_leaves_a_plan_alone_once_hr_has_prepared_the_mail(engine, session, make, frozen_clock) -> None:
    h = a_plan(make)
    welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    session.commit()
    frozen_clock.set(datetime(2026, 3, 14, 1, tzinfo=UTC))  # default: 3 days before
    assert run_job(engine) == 0
    assert [m.status for m in welcome_mails(session)] == [MailStatus.draft]


def test_the_worker_skips_started_closed_and_unreachable_plans(engine, session, make, frozen_clock) -> None:
    started = a_plan(make, start=START - timedelta(days=20))
    closed = a_plan(make)
    closed.plan.status = PlanStatus.cancelled
    session.add(closed.plan)
    no_email = a_plan(make)
    no_email.candidate.email = None
    session.add(no_email.candidate)
    session.commit()
    frozen_clock.set(datetime(2026, 3, 14, 1, tzinfo=UTC))
    assert run_job(engine) == 0
    assert welcome_mails(session) == []
    assert started.plan.id


# --------------------------------------------------------------------------- who may
def test_who_may_manage_the_link_and_read_the_checklist(session, make) -> None:
    h = a_plan(make)
    assert welcome.plan_checklist(session=session, actor=h.manager, plan_id=h.plan.id)
    for call in (welcome.issue_link, welcome.reissue_link, welcome.revoke_link, welcome.prepare_welcome_mail):
        with pytest.raises(NotAllowed):
            call(session=session, actor=h.manager, plan_id=h.plan.id)
        session.rollback()
    stranger = make.user("hiring_manager")
    for call in (welcome.plan_checklist, welcome.plan_uploads, welcome.link_status):
        with pytest.raises(NotAllowed):
            call(session=session, actor=stranger, plan_id=h.plan.id)
    assert session.exec(select(OutboxMessage).where(col(OutboxMessage.template) == "welcome")).all() == []


def test_hostile_text_in_the_welcome_mail_is_escaped_in_html(session, make) -> None:
    h = a_plan(make, location='<img src=x onerror=alert(1)> "Room"')
    h.candidate.name = "<script>alert(1)</script>"
    session.add(h.candidate)
    session.commit()
    draft = welcome.prepare_welcome_mail(session=session, actor=h.recruiter, plan_id=h.plan.id)
    assert "<script>" not in draft.html and "<img src=x" not in draft.html
    assert "&lt;script&gt;" in draft.html and "<script>alert(1)</script>" in draft.text


def test_the_welcome_mail_arrives_through_a_real_mail_server(engine, session, make, monkeypatch, frozen_clock) -> None:
    from services.mail.mailer import send_due
    from tests.services.mail_server import configure_mail, running_server

    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        h = a_plan(make, language="en")
        frozen_clock.set(datetime(2026, 3, 14, 1, tzinfo=UTC))
        assert run_job(engine) == 1
        assert send_due(engine=engine, settings=settings).sent == 1
        [received] = smtp.received
    assert received.rcpt_tos == [h.candidate.email]
    assert str(received.message["Subject"]) == "Welcome aboard: before your first day"
    body = received.message.get_body(("plain",)).get_content()
    assert "/?welcome=" in body
