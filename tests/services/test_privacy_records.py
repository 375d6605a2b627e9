"""Privacy records (issue 13): exporting one person's whole record, requests to see or erase data and their legal
answer days, and the records of who looked at whose record (kept for a period, purged daily)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.candidate import Application
from models.common import Stage, utcnow
from models.evaluation import Decision
from models.followup import SurveyInvite, SurveyResponse
from models.onboard import AppSetting, Offer, OfferCreate, OfferStatus
from models.privacy import AccessRecord, ConsentRecord, PrivacyRequest
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail import outbox, tasks
from services.onboard import plans
from services.pipeline import candidates
from services.platform.config import get_settings
from services.platform.errors import InvalidTransition, NotAllowed, NotFound, ValidationError
from services.platform.i18n import t
from services.privacy import access_log, export, privacy_requests
from services.privacy.privacy_requests import add_months, due_date
from tests.factories import Factory, done

HOSTILE = "<script>alert('x')</script>"
FORMULA = "=1+2"
IMAGE = "![x](/session/end)"


def _app_of(session: Session, candidate_id: int) -> Application:
    return session.exec(select(Application).where(Application.candidate_id == candidate_id)).one()


def seed_everything(session: Session, make: Factory) -> tuple[User, int]:
    """A person with something in every section the export lists, made through the app's services where a
    service makes it; returns (the admin, the person's id)."""
    admin = make.admin(name="Admin 管理员")
    panelist = make.user("interviewer", name="Panel 面试官")
    job = make.job(actor=admin, title="Engineer 工程师")
    person = make.candidate(
        actor=admin, job=job, name=f"Zhang {HOSTILE}", notes=f"{FORMULA} {IMAGE}", wechat_id="wx_zhang"
    )
    cid = person.id or 0
    app = _app_of(session, cid)
    ends = utcnow() - timedelta(hours=1)
    first = evaluation.list_rounds(session=session, actor=admin)
    if not first:
        evaluation.ensure_default_rounds(session=session)
        first = evaluation.list_rounds(session=session, actor=admin)
    criteria = evaluation.criteria_for(session=session, round_id=first[0].id, job_id=job.id)
    interview = evaluation.schedule_interview(
        session=session,
        actor=admin,
        interview_in={
            "application_id": app.id,
            "round_id": first[0].id,
            "starts_at": ends - timedelta(hours=1),
            "ends_at": ends,
            "mode": "video",
            "interviewer_ids": [panelist.id],
        },
    )
    done(session, interview)
    done(
        session,
        evaluation.save_scorecard(
            session=session,
            actor=panelist,
            interview_id=interview.id or 0,
            scorecard_in={
                "ratings": [{"criterion_id": c.id, "rating": 4, "note": f"rating note {HOSTILE}"} for c in criteria],
                "strengths": "clear <b>thinker</b>",
                "recommendation": "yes",
            },
            submit=True,
        ),
    )
    session.add(Decision(application_id=app.id or 0, kind="advance", reason_code="strong", by_user_id=admin.id or 0))
    followup.log_contact(
        session=session,
        actor=admin,
        contact_in={
            "candidate_id": cid,
            "application_id": app.id,
            "channel": "phone",
            "outcome": "reached",
            "summary": f"called {HOSTILE}",
        },
    )
    followup.record_intent(session=session, actor=admin, intent_in={"application_id": app.id, "interest": 4})
    followup.add_to_pool(
        session=session,
        actor=admin,
        entry_in={"candidate_id": cid, "reason": "promising", "revisit_on": date(2026, 9, 1)},
    )
    outbox.queue_mail(
        session=session,
        to=person.email or "",
        subject="Thank you 谢谢",
        html="<p>body</p>",
        text="the body of the mail",
        key=f"export-test-{cid}",
        candidate_id=cid,
        application_id=app.id,
    )
    invite = SurveyInvite(
        token_hash=f"secret-hash-{cid}", application_id=app.id or 0, stage="interviewing", expires_at=ends
    )
    session.add(invite)
    session.flush()
    session.add(
        SurveyResponse(
            invite_id=invite.id or 0,
            job_id=job.id or 0,
            stage="interviewing",
            nps=9,
            clarity=4,
            respect=5,
            treatment=4,
            comment="nice",
        )
    )
    session.add(ConsentRecord(candidate_id=cid, purpose="talent_pool", given=True, method="form", by_user_id=admin.id))
    done(session, None)
    for stage in (Stage.decision_pending, Stage.offer):
        candidates.move_stage(session=session, actor=admin, application_id=app.id or 0, to_stage=stage)
    fields = OfferCreate.model_validate(
        {
            "application_id": app.id,
            "job_title": job.title,
            "salary_amount": "30000",
            "start_date": date(2026, 4, 1),
            "response_deadline": date(2026, 3, 20),
        }
    )
    offer = Offer.model_validate(
        fields.model_dump()
        | {"status": OfferStatus.accepted, "created_by_id": admin.id, "answer_token_hash": f"answer-hash-{cid}"}
    )
    session.add(offer)
    session.flush()
    plans.start_onboarding(session=session, offer=offer, actor=admin)
    privacy_requests.log_request(
        session=session,
        actor=admin,
        request_in={"candidate_id": cid, "kind": "access", "law": "gdpr", "received_on": privacy_requests.today()},
    )
    access_log.record_access(session=session, actor=admin, candidate_id=cid, action="view")
    done(session, None)
    return admin, cid


# --------------------------------------------------------------------------- export
def test_the_export_holds_every_section_of_a_seeded_person_and_records_itself(session, make, frozen_clock):
    admin, cid = seed_everything(session, make)
    made = done(session, export.export_candidate(session=session, actor=admin, candidate_id=cid))
    sections = made.data["sections"]
    assert list(sections) == list(export.SECTIONS)
    empty = [name for name, rows in sections.items() if not rows]
    assert empty == []
    assert sections["person"][0]["wechat_id"] == "wx_zhang"
    assert sections["ratings"][0]["rating"] == 4 and "rating note" in sections["ratings"][0]["note"]
    assert sections["scorecards"][0]["interviewer_name"] == "Panel 面试官"
    assert sections["mail"][0]["subject"] == "Thank you 谢谢" and sections["mail"][0]["text"] == "the body of the mail"
    assert sections["survey"][0]["answer"]["nps"] == 9
    assert {r.get("record") for r in sections["onboarding"]} >= {"plan", "task"}
    assert any(r["entity"] == "candidate" and r["user_name"] == "Admin 管理员" for r in sections["audit"])
    assert [r["action"] for r in sections["access"]] == ["view", "export"]  # this export is in its own record
    exported = session.exec(select(AccessRecord).where(AccessRecord.action == "export")).all()
    assert [(r.user_id, r.candidate_id) for r in exported] == [(admin.id, cid)]


def test_the_export_leaves_out_secrets_and_copies(session, make, frozen_clock):
    admin, cid = seed_everything(session, make)
    made = export.export_candidate(session=session, actor=admin, candidate_id=cid)
    text = made.json.decode("utf-8")
    for secret in ('"token_hash"', '"answer_token_hash"', '"link_token_hash"', '"idempotency_key"', '"html"'):
        assert secret not in text
    assert f"secret-hash-{cid}" not in text and f"answer-hash-{cid}" not in text


def test_the_json_export_round_trips_with_iso_dates_and_utf8(session, make, frozen_clock):
    admin, cid = seed_everything(session, make)
    made = export.export_candidate(session=session, actor=admin, candidate_id=cid)
    assert "管理员" in made.json.decode("utf-8")  # UTF-8, not \u escapes
    loaded = json.loads(made.json)
    assert loaded == json.loads(json.dumps(made.data, ensure_ascii=False, default=export._plain))
    assert loaded["format"] == export.FORMAT and loaded["candidate"]["id"] == cid
    assert datetime.fromisoformat(loaded["exported_at"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(loaded["sections"]["person"][0]["created_at"]).tzinfo is not None
    assert made.json_name.endswith(".json") and str(cid) in made.json_name and "Zhang" not in made.json_name


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_html_export_escapes_hostile_text_in_the_admins_language(session, make, frozen_clock, language):
    admin, cid = seed_everything(session, make)
    admin.language = language
    session.add(admin)
    done(session, None)
    html = export.export_candidate(session=session, actor=admin, candidate_id=cid).html.decode("utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>thinker</b>" not in html and "&lt;b&gt;thinker&lt;/b&gt;" in html
    assert FORMULA in html and IMAGE in html  # shown as the characters typed (no spreadsheet, no Markdown here)
    assert ("个人信息档案" if language == "zh" else "Personal data record") in html
    assert ("修改记录" if language == "zh" else "Who changed what") in html
    assert "Content-Security-Policy" in html


@pytest.mark.parametrize("role", ["recruiter", "hiring_manager", "interviewer"])
def test_only_admins_export(session, make, frozen_clock, role):
    admin, cid = seed_everything(session, make)
    other = make.user(role)
    with pytest.raises(NotAllowed):
        export.export_candidate(session=session, actor=other, candidate_id=cid)
    assert session.exec(select(AccessRecord).where(AccessRecord.action == "export")).all() == []


def test_an_erased_or_missing_person_cannot_be_exported(session, make, frozen_clock):
    admin = make.admin()
    person = make.candidate(actor=admin)
    person.anonymised_at = utcnow()
    session.add(person)
    done(session, None)
    for cid in (person.id, 99999):
        with pytest.raises(NotFound):
            export.export_candidate(session=session, actor=admin, candidate_id=cid)


def test_the_export_reads_one_person_not_whole_tables(engine: Engine, session, make, frozen_clock):
    """Every query of the export names the person (or their rows' ids): another person's rows are never read."""
    from sqlalchemy import event

    admin, cid = seed_everything(session, make)
    seed_everything(session, make)  # a second person with everything too
    statements: list[str] = []
    listener = lambda *args: statements.append(str(args[2]).lower())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        export.export_candidate(session=session, actor=admin, candidate_id=cid)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [s for s in statements if s.lstrip().startswith("select")]
    unfiltered = [s for s in reads if not re.search(r"\swhere\s", s)]
    assert reads and unfiltered == []


# --------------------------------------------------------------------------- requests and their deadlines
@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 15), date(2027, 1, 15)),
    ],
)
def test_gdpr_gives_one_calendar_month_clamped_to_the_months_end(received, due):
    assert due_date(law="gdpr", received_on=received) == due


def test_pipl_promptly_is_fifteen_days_here():
    assert due_date(law="pipl", received_on=date(2026, 12, 20)) == date(2027, 1, 4)
    assert add_months(date(2026, 1, 31), -2) == date(2025, 11, 30)


def _added_long_ago(make: Factory, admin: User, frozen_clock: Any, **values: Any) -> Any:
    """A person added a year before the frozen day (requests may have come in since)."""
    now = utcnow()
    frozen_clock.set(now - timedelta(days=365))
    person = make.candidate(actor=admin, **values)
    frozen_clock.set(now)
    return person


def _request(session: Session, admin: User, cid: int, **values: Any) -> PrivacyRequest:
    data = {"candidate_id": cid, "kind": "access", "law": "gdpr", "received_on": privacy_requests.today()} | values
    return privacy_requests.log_request(session=session, actor=admin, request_in=data)


def test_a_request_received_in_the_future_or_before_the_person_existed_is_refused(session, make, frozen_clock):
    admin = make.admin()
    cid = make.candidate(actor=admin).id
    with pytest.raises(ValidationError) as future:
        _request(session, admin, cid, received_on=privacy_requests.today() + timedelta(days=1))
    assert future.value.fields["received_on"][0] == "err.records_received_future"
    with pytest.raises(ValidationError) as early:
        _request(session, admin, cid, received_on=privacy_requests.today() - timedelta(days=400))
    assert early.value.fields["received_on"][0] == "err.records_received_before"


def test_an_empty_note_is_fine_and_an_oversized_one_is_refused(session, make, frozen_clock):
    admin = make.admin()
    cid = make.candidate(actor=admin).id
    row = _request(session, admin, cid, note="   ")
    assert row.note == "" and row.due_on == add_months(privacy_requests.today(), 1)
    with pytest.raises(ValidationError) as big:
        _request(session, admin, cid, note="x" * 2001)
    assert big.value.fields["note"][0] == "err.too_long"
    with pytest.raises(ValidationError) as kind:
        _request(session, admin, cid, kind="delete_everything")
    assert "kind" in kind.value.fields


def test_open_requests_are_on_admins_my_tasks_until_answered(session, make, frozen_clock):
    admin = make.admin()
    recruiter = make.user("recruiter")
    person = _added_long_ago(make, admin, frozen_clock, name="Li Request")
    late = _request(session, admin, person.id, law="pipl", received_on=privacy_requests.today() - timedelta(days=20))
    soon = _request(session, admin, person.id, kind="erasure", law="gdpr")
    done(session, None)
    mine = [t for t in tasks.my_tasks(session=session, actor=admin) if t.kind == "privacy_request"]
    assert [t.params["name"] for t in mine] == ["Li Request", "Li Request"]
    assert mine[0].due_at < mine[1].due_at and mine[0].overdue(utcnow()) and not mine[1].overdue(utcnow())
    assert mine[0].query == {"id": str(person.id)}
    assert all(t.kind != "privacy_request" for t in tasks.my_tasks(session=session, actor=recruiter))
    privacy_requests.answer_request(session=session, actor=admin, request_id=late.id, answer="export sent by mail")
    done(session, None)
    left = [t for t in tasks.my_tasks(session=session, actor=admin) if t.kind == "privacy_request"]
    assert len(left) == 1 and left[0].due_at.astimezone(get_settings().tz).date() == soon.due_on


def test_answering_twice_says_when_and_by_whom(session, make, frozen_clock):
    admin = make.admin(name="First Admin")
    other = make.admin(name="Second Admin")
    row = _request(session, admin, make.candidate(actor=admin).id)
    done(session, None)
    privacy_requests.answer_request(session=session, actor=admin, request_id=row.id, answer="sent")
    done(session, None)
    with pytest.raises(InvalidTransition) as twice:
        privacy_requests.answer_request(session=session, actor=other, request_id=row.id, answer="sent again")
    assert twice.value.key == "err.records_request_answered" and twice.value.params["by"] == "First Admin"
    with pytest.raises(ValidationError):
        privacy_requests.answer_request(session=session, actor=admin, request_id=row.id, answer="  ")


def test_requests_list_open_first_by_due_day_then_answered(session, make, frozen_clock):
    admin = make.admin()
    cid = _added_long_ago(make, admin, frozen_clock).id
    a = _request(session, admin, cid, law="gdpr")
    b = _request(session, admin, cid, law="pipl")
    c = _request(session, admin, cid, law="pipl", received_on=privacy_requests.today() - timedelta(days=3))
    privacy_requests.answer_request(session=session, actor=admin, request_id=c.id, answer="done")
    rows = privacy_requests.list_requests(session=session, actor=admin)
    assert [r.id for r in rows] == [b.id, a.id, c.id]
    assert [r.id for r in privacy_requests.list_requests(session=session, actor=admin, answered=True)] == [c.id]


@pytest.mark.parametrize("role", ["recruiter", "hiring_manager", "interviewer"])
def test_only_admins_log_list_and_answer_requests(session, make, frozen_clock, role):
    admin = make.admin()
    cid = make.candidate(actor=admin).id
    row = _request(session, admin, cid)
    done(session, None)
    other = make.user(role)
    with pytest.raises(NotAllowed):
        _request(session, other, cid)
    with pytest.raises(NotAllowed):
        privacy_requests.list_requests(session=session, actor=other)
    with pytest.raises(NotAllowed):
        privacy_requests.answer_request(session=session, actor=other, request_id=row.id, answer="x")
    with pytest.raises(NotAllowed):
        access_log.list_access(session=session, actor=other)
    with pytest.raises(NotAllowed):
        access_log.set_access_keep_months(session=session, actor=other, months=12)


# --------------------------------------------------------------------------- records of access
def test_views_are_recorded_for_those_who_may_see_the_person(session, make, frozen_clock):
    admin = make.admin(name="Boss")
    manager = make.user("hiring_manager", name="Manager")
    stranger = make.user("hiring_manager")
    job = make.job(actor=admin, hiring_manager_id=manager.id)
    cid = make.candidate(actor=admin, job=job, name="Wang Viewed").id
    access_log.record_access(session=session, actor=manager, candidate_id=cid, action="view")
    with pytest.raises(NotFound):
        access_log.record_access(session=session, actor=stranger, candidate_id=cid, action="view")
    with pytest.raises(NotAllowed):
        access_log.record_access(session=session, actor=manager, candidate_id=cid, action="export")
    done(session, None)
    rows = access_log.list_access(session=session, actor=admin, candidate_text="wang")
    assert [(r.user, r.candidate, r.action) for r in rows] == [("Manager", "Wang Viewed", "view")]
    assert access_log.list_access(session=session, actor=admin, user_id=admin.id) == []
    today = privacy_requests.today()
    assert access_log.list_access(session=session, actor=admin, start=today + timedelta(days=1)) == []
    assert len(access_log.list_access(session=session, actor=admin, start=today, end=today)) == 1
    with pytest.raises(ValidationError):
        access_log.list_access(session=session, actor=admin, start=today, end=today - timedelta(days=1))
    assert access_log.list_access(session=session, actor=admin, candidate_text="100%_") == []


@pytest.mark.parametrize(("months", "ok"), [(6, True), (36, True), (120, True), (5, False), (121, False), ("x", False)])
def test_the_period_kept_is_validated(session, make, months, ok):
    admin = make.admin()
    if ok:
        assert access_log.set_access_keep_months(session=session, actor=admin, months=months) == months
        assert access_log.access_keep_months(session=session, actor=admin) == months
    else:
        with pytest.raises(ValidationError):
            access_log.set_access_keep_months(session=session, actor=admin, months=months)


def test_the_purge_job_deletes_records_past_the_period_once_a_day(engine, session, make, frozen_clock):
    admin = make.admin()
    cid = make.candidate(actor=admin).id
    access_log.set_access_keep_months(session=session, actor=admin, months=6)
    done(session, None)
    frozen_clock.set(datetime(2025, 8, 1, 9, 0, tzinfo=UTC))
    old = access_log.record_access(session=session, actor=admin, candidate_id=cid, action="view").id
    frozen_clock.set(datetime(2025, 9, 10, 9, 0, tzinfo=UTC))
    kept = access_log.record_access(session=session, actor=admin, candidate_id=cid, action="view").id
    done(session, None)
    frozen_clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # six months back: 2 September 2025
    settings = get_settings()
    assert access_log.purge_job(engine=engine, settings=settings) == 1
    assert access_log.purge_job(engine=engine, settings=settings) == 0  # once a day
    session.expire_all()
    assert [r.id for r in session.exec(select(AccessRecord))] == [kept] and old != kept
    frozen_clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))  # the next days: the September one is past too
    assert access_log.purge_job(engine=engine, settings=settings) == 1
    session.expire_all()
    assert session.exec(select(AccessRecord)).all() == []
    marker = session.get(AppSetting, access_log.PURGED_SETTING)
    assert marker is not None and marker.value == "2026-03-11"


def test_the_purge_job_runs_in_the_worker():
    from services.mail.worker import JOBS

    assert JOBS["purge_access_records"] is access_log.purge_job


def test_records_of_access_are_listed_newest_first_with_names(session, make, frozen_clock):
    admin = make.admin(name="Admin A")
    cid = make.candidate(actor=admin, name="Chen").id
    access_log.record_access(session=session, actor=admin, candidate_id=cid, action="view")
    frozen_clock.set(utcnow() + timedelta(minutes=5))
    export.export_candidate(session=session, actor=admin, candidate_id=cid)
    rows = access_log.list_access(session=session, actor=admin, candidate_id=cid)
    assert [(r.action, r.user) for r in rows] == [("export", "Admin A"), ("view", "Admin A")]
    assert session.exec(select(col(AccessRecord.id))).all()


def test_the_same_request_logged_twice_while_open_is_refused_once_answered_it_may_come_again(
    session, make, frozen_clock
):
    admin = make.admin()
    cid = make.candidate(actor=admin).id
    first = _request(session, admin, cid, law="pipl")
    done(session, None)
    with pytest.raises(InvalidTransition) as twice:  # a double click, a second tab, a colleague with the same letter
        _request(session, admin, cid, law="pipl")
    assert twice.value.key == "err.records_request_logged_already"
    _request(session, admin, cid, law="gdpr")  # another law, another deadline: its own request
    _request(session, admin, cid, kind="erasure", law="pipl")
    privacy_requests.answer_request(session=session, actor=admin, request_id=first.id, answer="sent")
    done(session, None)
    again = _request(session, admin, cid, law="pipl")  # the person asks again after the answer
    assert again.id != first.id
    assert len(privacy_requests.list_requests(session=session, actor=admin, candidate_id=cid)) == 4


def _cells(html: str) -> dict[str, set[str]]:
    """Every heading of the readable page's tables with the values listed under it."""
    out: dict[str, set[str]] = {}
    for head, value in re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', html, flags=re.S):
        out.setdefault(head, set()).add(value)
    return out


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_readable_export_names_people_and_says_codes_in_words_in_both_languages(
    session, make, frozen_clock, language
):
    admin, cid = seed_everything(session, make)
    admin.language = language
    session.add(admin)
    done(session, None)
    made = export.export_candidate(session=session, actor=admin, candidate_id=cid)
    other = "en" if language == "zh" else "zh"
    assert made.other_language == other and made.other_html_name.endswith(f"-{other}.html")
    for lang, html in ((language, made.html.decode("utf-8")), (other, made.other_html.decode("utf-8"))):
        cells = _cells(html)
        headings = set(cells)
        # Every column has a heading in the page's language, none is a column's bare name.
        bare = {h for h in headings if re.fullmatch(r"[a-z][a-z0-9 ]*", h) and h != "id"}
        assert not bare, f"headings without a text in {lang}: {sorted(bare)}"
        assert not any(h.endswith((" id", " name")) for h in headings)
        # Staff are named, not numbered; coded values are said in words.
        assert "Admin 管理员" in cells[t("field.owner_id", lang)]
        assert t("stage.interviewing", lang) in cells[t("export.col.to_stage", lang)] | cells[t("field.stage", lang)]
        assert t("legal_basis.pre_contract", lang) in cells[t("field.legal_basis", lang)]
        assert "pre_contract" not in html
        assert ("个人信息档案" if lang == "zh" else "Personal data record") in html
    assert '"legal_basis": "pre_contract"' in made.json.decode("utf-8")  # the JSON keeps names and codes
