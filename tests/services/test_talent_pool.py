"""The talent pool: keep a candidate with a reason and a future revisit date, find them again by reason, skill tag
or job family, take them out, and prepare a re-engagement mail in their language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from models.candidate import Application, StageChange
from models.common import Stage
from models.followup import PoolEntry
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.follow_up import followup
from services.pipeline.candidates import move_stage
from services.platform import audit
from services.platform.errors import NotAllowed, NotFound, ValidationError
from tests.services.test_followup import TODAY, _frozen, fields_of, has_chinese  # noqa: F401

TOMORROW = TODAY + timedelta(days=1)


def pool(session: Session, actor: User, candidate_id: int, **values: Any) -> PoolEntry:
    data = {
        "candidate_id": candidate_id,
        "reason": "技术很扎实，这次岗位级别不匹配",
        "job_family": "后端",
        "revisit_on": TODAY + timedelta(days=90),
    } | values
    return followup.add_to_pool(session=session, actor=actor, entry_in=data)


def found(session: Session, actor: User, **filters: str) -> list[int]:
    return [r.candidate.id for r in followup.search_pool(session=session, actor=actor, **filters)]


def test_a_candidate_is_kept_with_a_reason_and_a_revisit_date(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, name="韩梅梅", tags="Python, Go")
    entry = pool(
        session,
        recruiter,
        candidate.id,
        reason="  薪资预期高于预算，明年再联系  ",
        job_family=" 后端 ",
        revisit_on="2026-06-01",
    )
    assert (entry.reason, entry.job_family, entry.revisit_on) == (
        "薪资预期高于预算，明年再联系",
        "后端",
        date(2026, 6, 1),
    )
    assert (entry.status, entry.added_by_id) == ("active", recruiter.id)
    [row] = followup.search_pool(session=session, actor=recruiter)
    assert (row.candidate.name, row.entry.id, row.tags) == ("韩梅梅", entry.id, ["python", "go"])


@pytest.mark.parametrize(
    ("revisit_on", "key"),
    [
        (TODAY, "err.revisit_past"),
        (TODAY - timedelta(days=1), "err.revisit_past"),
        ("2025-12-31", "err.revisit_past"),
        ("someday", "err.date_invalid"),
        (None, "err.date_invalid"),
    ],
    ids=["today", "yesterday", "last_year", "not_a_date", "missing"],
)
def test_a_revisit_date_that_is_not_in_the_future_is_refused(session, make, revisit_on, key) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    with pytest.raises(ValidationError) as err:
        pool(session, recruiter, candidate.id, revisit_on=revisit_on)
    assert fields_of(err) == {"revisit_on": key}
    assert session.exec(select(PoolEntry)).all() == []
    assert pool(session, recruiter, candidate.id, revisit_on=TOMORROW).revisit_on == TOMORROW


def test_today_is_the_company_calendar_day(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    frozen_clock.set(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # already 2 March in Shanghai
    with pytest.raises(ValidationError) as err:
        pool(session, recruiter, candidate.id, revisit_on=date(2026, 3, 2))
    assert fields_of(err) == {"revisit_on": "err.revisit_past"}


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"reason": ""}, "reason", "err.required"),
        ({"reason": "  \n "}, "reason", "err.required"),
        ({"reason": "x" * 1001}, "reason", "err.too_long"),
        ({"job_family": "x" * 61}, "job_family", "err.too_long"),
    ],
    ids=["empty_reason", "blank_reason", "long_reason", "long_family"],
)
def test_a_pool_entry_needs_a_reason(session, make, values, field, key) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    with pytest.raises(ValidationError) as err:
        pool(session, recruiter, candidate.id, **values)
    assert fields_of(err) == {field: key}


def test_pooling_an_unknown_candidate_is_not_found(session, make) -> None:
    with pytest.raises(NotFound):
        pool(session, make.admin(), 999_999)


def test_adding_again_updates_the_entry_instead_of_duplicating_it(session, make) -> None:
    first, second = make.user("recruiter"), make.user("recruiter")
    candidate = make.candidate(actor=first)
    entry = pool(session, first, candidate.id, reason="第一次", job_family="后端")
    again = pool(session, second, candidate.id, reason="更新后的原因", job_family="数据", revisit_on=TOMORROW)
    assert again.id == entry.id
    rows = session.exec(select(PoolEntry)).all()
    assert [(e.reason, e.job_family, e.revisit_on, e.added_by_id) for e in rows] == [
        ("更新后的原因", "数据", TOMORROW, second.id)
    ]


def test_search_finds_candidates_by_reason_tag_and_job_family(session, make) -> None:
    recruiter = make.user("recruiter")
    go = make.candidate(actor=recruiter, tags="Go, Kubernetes")
    py = make.candidate(actor=recruiter, tags="Python")
    pm = make.candidate(actor=recruiter, tags="产品, 数据分析")
    pool(session, recruiter, go.id, reason="薪资预期高", job_family="后端", revisit_on=TODAY + timedelta(days=30))
    pool(
        session,
        recruiter,
        py.id,
        reason="已接受其他 offer，半年后回访",
        job_family="后端",
        revisit_on=TODAY + timedelta(days=10),
    )
    pool(
        session,
        recruiter,
        pm.id,
        reason="薪资预期高，100% 远程",
        job_family="产品",
        revisit_on=TODAY + timedelta(days=20),
    )

    assert found(session, recruiter) == [py.id, pm.id, go.id]  # soonest revisit first
    assert found(session, recruiter, q="薪资") == [pm.id, go.id]
    assert found(session, recruiter, q=" offer ") == [py.id]
    assert found(session, recruiter, q="100%") == [pm.id]
    assert found(session, recruiter, q="%") == [pm.id]  # a wildcard is searched as a character
    assert found(session, recruiter, tag="go") == [go.id]
    assert found(session, recruiter, tag=" Python ") == [py.id]
    assert found(session, recruiter, tag="数据分析") == [pm.id]
    assert found(session, recruiter, tag="kube") == []  # whole tags only
    assert found(session, recruiter, job_family="后端") == [py.id, go.id]
    assert found(session, recruiter, q="薪资", job_family="后端") == [go.id]
    assert found(session, recruiter, q="不存在的原因") == []
    assert followup.job_families(session=session, actor=recruiter) == sorted(["产品", "后端"])


def test_a_removed_candidate_leaves_the_pool_and_can_be_added_again(session, make) -> None:
    recruiter = make.user("recruiter")
    stays, leaves = make.candidate(actor=recruiter), make.candidate(actor=recruiter)
    pool(session, recruiter, stays.id, job_family="后端")
    pool(session, recruiter, leaves.id, job_family="设计")
    removed = followup.remove_from_pool(session=session, actor=recruiter, candidate_id=leaves.id)
    assert removed.status == "removed"
    assert found(session, recruiter) == [stays.id]
    assert followup.job_families(session=session, actor=recruiter) == ["后端"]
    with pytest.raises(NotFound):
        followup.remove_from_pool(session=session, actor=recruiter, candidate_id=leaves.id)

    back = pool(session, recruiter, leaves.id, reason="重新联系上了")
    assert (back.id, back.status) == (removed.id, "active")
    assert sorted(found(session, recruiter)) == sorted([stays.id, leaves.id])


@pytest.mark.parametrize(("language", "greeting"), [("zh", "您好"), ("en", "Dear")])
def test_a_re_engagement_draft_is_written_in_the_candidates_language(session, make, language, greeting) -> None:
    recruiter = make.user("recruiter", name="Wang Fang")
    candidate = make.candidate(actor=recruiter, name="Li Lei", language=language)
    pool(session, recruiter, candidate.id)
    draft = followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=candidate.id)
    assert (draft.status, draft.template, draft.language) == (MailStatus.draft, "reengage", language)
    assert (draft.to_addrs, draft.candidate_id, draft.application_id) == (candidate.email, candidate.id, None)
    assert greeting in draft.text and "Li Lei" in draft.text and "Wang Fang" in draft.text
    assert has_chinese(draft.subject + draft.text) == (language == "zh")
    assert followup.pool_drafts(session=session, actor=recruiter, candidate_id=candidate.id) == [draft]


def test_a_candidate_without_email_gets_no_re_engagement_draft(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, email=None)
    pool(session, recruiter, candidate.id)
    with pytest.raises(ValidationError) as err:
        followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=candidate.id)
    assert fields_of(err) == {"to": "err.candidate_no_email"}
    assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("roles", ["interviewer", "hiring_manager"])
def test_the_talent_pool_is_for_recruiters_and_admins(session, make, roles) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    pool(session, recruiter, candidate.id)
    other = make.user(roles)
    for call in (
        lambda: pool(session, other, candidate.id),
        lambda: followup.search_pool(session=session, actor=other),
        lambda: followup.job_families(session=session, actor=other),
        lambda: followup.remove_from_pool(session=session, actor=other, candidate_id=candidate.id),
        lambda: followup.prepare_reengagement_mail(session=session, actor=other, candidate_id=candidate.id),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert found(session, make.admin()) == [candidate.id]


# --------------------------------------------------------------------------- one pool: the stage and the page
def _application_of(session: Session, candidate_id: int) -> Application:
    return session.exec(select(Application).where(Application.candidate_id == candidate_id)).one()


def test_moving_an_application_to_the_talent_pool_stage_puts_the_person_in_the_pool(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, job=make.job(actor=recruiter), name="周杰")
    app = _application_of(session, candidate.id)
    move_stage(
        session=session,
        actor=recruiter,
        application_id=app.id,
        to_stage=Stage.talent_pool,
        reason="很优秀，暂无名额",
        pool={"revisit_on": TODAY + timedelta(days=60), "job_family": "后端"},
    )
    [row] = followup.search_pool(session=session, actor=recruiter)
    assert (row.candidate.id, row.entry.reason, row.entry.job_family, row.entry.revisit_on) == (
        candidate.id,
        "很优秀，暂无名额",
        "后端",
        TODAY + timedelta(days=60),
    )
    assert followup.count_pool(session=session, actor=recruiter) == 1


@pytest.mark.parametrize(
    ("pool_in", "field", "key"),
    [
        ({}, "revisit_on", "err.date_invalid"),
        ({"revisit_on": TODAY}, "revisit_on", "err.revisit_past"),
        ({"revisit_on": TOMORROW, "job_family": "x" * 61}, "job_family", "err.too_long"),
    ],
    ids=["no_date", "today", "long_family"],
)
def test_a_move_to_the_talent_pool_stage_without_a_good_revisit_date_is_refused_and_nothing_moves(
    session, make, pool_in, field, key
) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, job=make.job(actor=recruiter))
    app = _application_of(session, candidate.id)
    with pytest.raises(ValidationError) as err:
        move_stage(
            session=session,
            actor=recruiter,
            application_id=app.id,
            to_stage=Stage.talent_pool,
            reason="暂无名额",
            pool=pool_in,
        )
    assert fields_of(err) == {field: key}
    session.rollback()
    assert _application_of(session, candidate.id).stage == Stage.interviewing
    assert followup.search_pool(session=session, actor=recruiter) == []


def test_the_pool_reason_alone_is_enough_for_the_move(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, job=make.job(actor=recruiter))
    app = _application_of(session, candidate.id)
    move_stage(
        session=session,
        actor=recruiter,
        application_id=app.id,
        to_stage=Stage.talent_pool,
        pool={"reason": "明年有新团队", "revisit_on": TOMORROW},
    )
    change = session.exec(select(StageChange).where(StageChange.to_stage == Stage.talent_pool)).one()
    assert change.reason == "明年有新团队"


def test_a_hiring_manager_moving_their_jobs_application_to_the_pool_keeps_the_person(session, make) -> None:
    recruiter, manager = make.user("recruiter"), make.user("hiring_manager")
    job = make.job(actor=recruiter, hiring_manager_id=manager.id)
    candidate = make.candidate(actor=recruiter, job=job)
    app = _application_of(session, candidate.id)
    move_stage(
        session=session,
        actor=manager,
        application_id=app.id,
        to_stage=Stage.talent_pool,
        reason="later",
        pool={"revisit_on": TOMORROW},
    )
    assert found(session, recruiter) == [candidate.id]


def test_moving_again_to_the_pool_updates_the_entry_and_keeps_what_was_not_changed(session, make) -> None:
    recruiter = make.user("recruiter")
    job1, job2 = make.job(actor=recruiter), make.job(actor=recruiter)
    candidate = make.candidate(actor=recruiter, job=job1)
    app1 = _application_of(session, candidate.id)
    app2 = make.application(candidate=candidate, job=job2, actor=recruiter)
    move_stage(
        session=session,
        actor=recruiter,
        application_id=app1.id,
        to_stage=Stage.talent_pool,
        reason="第一次",
        pool={"revisit_on": TOMORROW, "job_family": "后端"},
    )
    # Already in the pool: a second application can follow without new details, and nothing is lost.
    move_stage(session=session, actor=recruiter, application_id=app2.id, to_stage=Stage.talent_pool, reason="第二次")
    [row] = followup.search_pool(session=session, actor=recruiter)
    assert (row.entry.reason, row.entry.job_family, row.entry.revisit_on) == ("第一次", "后端", TOMORROW)


def test_re_engaging_a_pooled_application_takes_the_person_out_of_the_pool(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, job=make.job(actor=recruiter))
    app = _application_of(session, candidate.id)
    move_stage(
        session=session,
        actor=recruiter,
        application_id=app.id,
        to_stage=Stage.talent_pool,
        reason="later",
        pool={"revisit_on": TOMORROW},
    )
    draft = followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=candidate.id)
    assert draft.template == "reengage"
    move_stage(session=session, actor=recruiter, application_id=app.id, to_stage=Stage.interviewing, reason="有新岗位")
    assert found(session, recruiter) == []
    assert session.exec(select(PoolEntry)).one().status == "reengaged"


def test_a_closed_candidate_is_offered_for_the_pool_and_added(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter)
    closed = make.candidate(actor=recruiter, job=job, name="已拒绝 张三")
    move_stage(
        session=session,
        actor=recruiter,
        application_id=_application_of(session, closed.id).id,
        to_stage=Stage.rejected,
        reason="级别不够",
    )
    active = make.candidate(actor=recruiter, job=job, name="面试中 李四")
    no_app = make.candidate(actor=recruiter, name="无应聘 王五")
    offered = [c.id for c in followup.poolable_candidates(session=session, actor=recruiter)]
    assert closed.id in offered and no_app.id in offered and active.id not in offered
    assert [c.id for c in followup.poolable_candidates(session=session, actor=recruiter, q="张三")] == [closed.id]
    pool(session, recruiter, closed.id, reason="明年再看")
    assert found(session, recruiter) == [closed.id]
    assert closed.id not in [c.id for c in followup.poolable_candidates(session=session, actor=recruiter)]


def test_the_pool_page_lists_everyone_a_page_at_a_time(session, make) -> None:
    recruiter = make.user("recruiter")
    people = [make.candidate(actor=recruiter) for _ in range(5)]
    for n, person in enumerate(people):
        pool(session, recruiter, person.id, revisit_on=TODAY + timedelta(days=10 + n))
    assert followup.count_pool(session=session, actor=recruiter) == 5
    pages = [found(session, recruiter, offset=o, limit=2) for o in (0, 2, 4)]
    assert [i for page in pages for i in page] == [p.id for p in people]


def test_pool_second_time_nothing_recorded_before_is_lost(session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    first = pool(session, recruiter, candidate.id, reason="第一次", job_family="后端")
    second = pool(
        session,
        recruiter,
        candidate.id,
        reason="第二次",
        job_family="后端",
        revisit_on=first.revisit_on + timedelta(days=1),
    )
    assert (second.id, second.reason, second.job_family, second.added_at) == (
        first.id,
        "第二次",
        "后端",
        first.added_at,
    )
    trail = [
        r["changes"]["reason"]
        for r in audit.list_audit(session=session, entity="candidate", entity_id=candidate.id)
        if r["action"] == "pool_add"
    ]
    assert sorted(trail) == ["第一次", "第二次"]  # the earlier reason stays in the audit trail


def test_the_pickers_poolable_candidates_are_found_past_recently_updated_ones_still_in_process(
    session, make, monkeypatch, frozen_clock
) -> None:
    """The picker reads the most recently updated candidates first (a slice, then the rest): candidates still in
    process updated since the poolable ones fill the first slice, and the picker still lists the poolable ones,
    most recently updated first."""
    monkeypatch.setattr(followup, "POOL_PICKER_SLICE", 3)
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    free = []
    for n in range(3):
        frozen_clock.set(start + timedelta(minutes=n))
        free.append(make.candidate(actor=recruiter, name=f"可入库 {n}"))
    for n in range(5):  # updated later, all with an application open
        frozen_clock.set(start + timedelta(hours=1, minutes=n))
        make.candidate(actor=recruiter, job=job, name=f"面试中 {n}")
    picked = followup.poolable_candidates(session=session, actor=recruiter, limit=2)
    assert [c.id for c in picked] == [free[2].id, free[1].id]
    assert [c.id for c in followup.poolable_candidates(session=session, actor=recruiter, q="可入库 0")] == [free[0].id]
    assert followup.poolable_candidates(session=session, actor=recruiter, q="<script>") == []


def test_an_erased_candidate_is_neither_listed_nor_counted_and_tags_still_filter(session, make) -> None:
    from models.candidate import Candidate
    from models.common import utcnow

    recruiter = make.user("recruiter")
    python = make.candidate(actor=recruiter, tags="python,sql")
    java = make.candidate(actor=recruiter, tags="java")
    erased = make.candidate(actor=recruiter, tags="python")
    for person in (python, java, erased):
        pool(session, recruiter, person.id)
    gone = session.get(Candidate, erased.id)
    gone.anonymised_at = utcnow()
    session.add(gone)
    session.commit()
    assert found(session, recruiter) == [python.id, java.id]
    assert followup.count_pool(session=session, actor=recruiter) == 2
    assert found(session, recruiter, tag="Python") == [python.id]
    assert followup.count_pool(session=session, actor=recruiter, tag="python") == 1
    assert found(session, recruiter, tag="py%") == []  # a wildcard is a character, not a pattern
    assert [r.tags for r in followup.search_pool(session=session, actor=recruiter, tag="sql")] == [["python", "sql"]]
