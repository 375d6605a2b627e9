"""The candidate experience survey: a private link that works once and expires, stored only as a keyed hash;
wrong, used and expired links are refused alike; results per job or stage, hidden below five answers."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from models.candidate import Application
from models.common import Stage
from models.followup import SurveyInvite, SurveyResponse
from models.job import Job
from models.user import User
from services.follow_up import followup
from services.follow_up.followup import SurveyLinkInvalid
from services.pipeline.candidates import move_stage
from services.platform.config import get_settings
from services.platform.errors import NotAllowed, ValidationError
from tests.factories import Factory, action
from tests.services.test_followup import END, HOUR, T0, _frozen, fields_of, interviewed  # noqa: F401

DAY = 24 * HOUR
GOOD = {"nps": 9, "clarity": 4, "respect": 5, "treatment": 4, "comment": "面试官很专业"}
LINK_RE = re.compile(r"/\?survey=([A-Za-z0-9_-]+)")


def invite(session: Session, actor: User, application_id: int) -> str:
    """Prepare a survey invitation and return the token from the link in its text."""
    mail = followup.prepare_candidate_mail(
        session=session, actor=actor, application_id=application_id, template="survey_invite"
    )
    session.commit()  # as the page would
    found = LINK_RE.findall(mail.text)
    assert len(found) == 1, mail.text
    return found[0]


def answer(session: Session, token: str, **values: Any) -> SurveyResponse:
    return followup.answer_survey(session=session, token=token, answer_in=GOOD | values)


def refused(call: Any) -> SurveyLinkInvalid:
    with pytest.raises(SurveyLinkInvalid) as err:
        call()
    return err.value


def invite_of(session: Session, token: str) -> SurveyInvite:
    return session.exec(select(SurveyInvite).where(SurveyInvite.token_hash == followup._token_hash(token))).one()


# --------------------------------------------------------------------------- the link
def test_the_invitation_carries_a_private_link_that_opens_the_survey(session, make) -> None:
    s = interviewed(make, language="en")
    token = invite(session, s.recruiter, s.application.id)
    mail = followup.drafts_for_application(session=session, actor=s.recruiter, application_id=s.application.id)[0]
    assert f"{get_settings().base_url}/?survey={token}" in mail.text
    assert "expires in 14 days" in mail.text
    assert len(token) >= 40
    assert followup.open_survey(session=session, token=token) == followup.SurveyLink(job=s.job.title, language="en")
    stored = invite_of(session, token)
    assert (stored.application_id, stored.stage, stored.mail_id) == (s.application.id, "interviewing", mail.id)
    assert (stored.expires_at, stored.used_at) == (T0 + 14 * DAY, None)


def test_each_invitation_gets_its_own_link(session, make) -> None:
    s = interviewed(make)
    first, second = invite(session, s.recruiter, s.application.id), invite(session, s.recruiter, s.application.id)
    assert first != second
    answer(session, first)
    assert followup.open_survey(session=session, token=second).job == s.job.title


def test_the_token_is_stored_only_as_a_keyed_hash(engine, session, make) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    answer(session, token, comment="还不错")
    holders = set()
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(sa_select(table)).mappings():
                holders |= {(table.name, column) for column, value in row.items() if token in str(value)}
    # Only the mail that carries the link to the candidate holds it; nothing the survey keeps does.
    assert holders <= {("outboxmessage", "html"), ("outboxmessage", "text")}
    stored = invite_of(session, token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored.token_hash)
    assert token not in stored.token_hash


def test_with_another_secret_key_the_same_link_does_not_open(session, make, monkeypatch) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", secrets.token_urlsafe(32))
    get_settings.cache_clear()
    refused(lambda: followup.open_survey(session=session, token=token))


def test_a_link_works_once_and_a_second_answer_is_refused(session, make, frozen_clock) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    frozen_clock.set(T0 + 2 * DAY)
    response = answer(session, token, comment="  流程清晰  ")
    assert (response.nps, response.clarity, response.respect, response.treatment, response.comment) == (
        9,
        4,
        5,
        4,
        "流程清晰",
    )
    assert (response.job_id, response.stage, response.at) == (s.job.id, "interviewing", T0 + 2 * DAY)
    assert invite_of(session, token).used_at == T0 + 2 * DAY

    refused(lambda: answer(session, token, nps=0, comment="改个答案"))
    refused(lambda: followup.open_survey(session=session, token=token))
    assert [(r.nps, r.comment) for r in session.exec(select(SurveyResponse))] == [(9, "流程清晰")]


@pytest.mark.parametrize("token", ["", "   ", "x", "survey", "A" * 43, "' OR 1=1 --"])
def test_a_guessed_or_empty_link_is_refused(session, make, token) -> None:
    s = interviewed(make)
    invite(session, s.recruiter, s.application.id)
    refused(lambda: followup.open_survey(session=session, token=token))
    refused(lambda: answer(session, token))
    assert session.exec(select(SurveyResponse)).all() == []


def test_a_random_token_is_refused(session, make) -> None:
    s = interviewed(make)
    invite(session, s.recruiter, s.application.id)
    for _ in range(20):
        guess = secrets.token_urlsafe(32)
        refused(lambda guess=guess: followup.open_survey(session=session, token=guess))
        refused(lambda guess=guess: answer(session, guess))


def test_a_link_expires_after_the_survey_days(session, make, frozen_clock) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    frozen_clock.set(T0 + 14 * DAY - HOUR / 60)
    assert followup.open_survey(session=session, token=token).job == s.job.title
    frozen_clock.set(T0 + 14 * DAY)
    refused(lambda: followup.open_survey(session=session, token=token))
    refused(lambda: answer(session, token))
    assert invite_of(session, token).used_at is None
    assert session.exec(select(SurveyResponse)).all() == []


def test_the_survey_days_come_from_the_environment(session, make, frozen_clock, monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_SURVEY_DAYS", "3")
    get_settings.cache_clear()
    s = interviewed(make, language="en")
    token = invite(session, s.recruiter, s.application.id)
    assert (
        "expires in 3 days"
        in followup.drafts_for_application(session=session, actor=s.recruiter, application_id=s.application.id)[0].text
    )
    frozen_clock.set(T0 + 3 * DAY + HOUR)
    refused(lambda: answer(session, token))


def test_wrong_used_and_expired_links_are_refused_with_the_same_message(session, make, frozen_clock) -> None:
    s = interviewed(make)
    used, expired = invite(session, s.recruiter, s.application.id), invite(session, s.recruiter, s.application.id)
    answer(session, used)
    frozen_clock.set(T0 + 15 * DAY)
    errors = [
        refused(lambda: answer(session, secrets.token_urlsafe(32))),
        refused(lambda: answer(session, used)),
        refused(lambda: answer(session, expired)),
        refused(lambda: followup.open_survey(session=session, token="nonsense")),
        refused(lambda: followup.open_survey(session=session, token=used)),
        refused(lambda: followup.open_survey(session=session, token=expired)),
    ]
    assert {(e.key, str(e), tuple(e.params)) for e in errors} == {("survey.link_invalid", "survey.link_invalid", ())}


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"nps": 11}, "nps", "err.out_of_range"),
        ({"nps": -1}, "nps", "err.out_of_range"),
        ({"clarity": 0}, "clarity", "err.out_of_range"),
        ({"respect": 6}, "respect", "err.out_of_range"),
        ({"treatment": "很好"}, "treatment", "err.not_a_number"),
        ({"nps": None}, "nps", "err.not_a_number"),
        ({"comment": "长" * 3001}, "comment", "err.too_long"),
    ],
    ids=["nps_11", "nps_negative", "clarity_0", "respect_6", "treatment_text", "nps_missing", "comment_3001"],
)
def test_answers_out_of_range_are_refused_without_spending_the_link(session, make, values, field, key) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    with pytest.raises(ValidationError) as err:
        answer(session, token, **values)
    assert fields_of(err) == {field: key}
    assert invite_of(session, token).used_at is None
    assert answer(session, token, comment="长" * 3000).nps == 9  # the link still works


def test_two_answers_at_the_same_moment_store_one(engine: Engine, session, make) -> None:
    s = interviewed(make)
    token = invite(session, s.recruiter, s.application.id)
    start = Barrier(2)

    def submit(nps: int) -> str:
        start.wait()
        try:
            with action(engine) as own:
                followup.answer_survey(session=own, token=token, answer_in=GOOD | {"nps": nps})
            return "stored"
        except SurveyLinkInvalid:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(f.result() for f in [pool.submit(submit, 10), pool.submit(submit, 0)])
    assert outcomes == ["refused", "stored"]
    assert len(session.exec(select(SurveyResponse)).all()) == 1


# --------------------------------------------------------------------------- results
def answered(
    make: Factory,
    recruiter: User,
    job: Job,
    scores: list[int],
    clarity: list[int] | None = None,
    stage: Stage | None = None,
) -> None:
    """One candidate per NPS score in `scores`, each invited (after moving to `stage`) and answering."""
    session = make.session
    for i, nps in enumerate(scores):
        candidate = make.candidate(actor=recruiter, job=job)
        app = session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()
        if stage is not None:
            move_stage(session=session, actor=recruiter, application_id=app.id, to_stage=stage)
        token = invite(session, recruiter, app.id)
        answer(session, token, nps=nps, clarity=(clarity or [3] * len(scores))[i], respect=5, treatment=4)


def test_results_below_five_answers_show_only_the_count(session, make) -> None:
    recruiter = make.user("recruiter")
    answered(make, recruiter, make.job(title="后端工程师"), [10, 10, 10, 10])
    [group] = followup.survey_summary(session=session, actor=recruiter)
    assert (group.key, group.answers, group.shown) == ("后端工程师", 4, False)
    assert (group.nps, group.clarity, group.respect, group.treatment) == (None, None, None, None)


def test_nps_is_the_share_of_promoters_minus_the_share_of_detractors(session, make) -> None:
    recruiter = make.user("recruiter")
    answered(make, recruiter, make.job(title="A 产品经理"), [10, 9, 8, 7, 6], clarity=[5, 4, 3, 2, 1])
    answered(make, recruiter, make.job(title="B 数据分析"), [10, 10, 10, 9, 7, 3])
    answered(make, recruiter, make.job(title="C 测试"), [0, 1, 2, 3, 4])
    answered(make, recruiter, make.job(title="D 运维"), [10, 9])
    groups = followup.survey_summary(session=session, actor=recruiter, by="job")
    assert [(g.key, g.answers, g.nps) for g in groups] == [
        ("A 产品经理", 5, 20.0),  # 2 promoters, 1 detractor of 5
        ("B 数据分析", 6, 80.0),  # the first 5 of 6 count (4 promoters): the 6th waits for 4 more
        ("C 测试", 5, -100.0),
        ("D 运维", 2, None),
    ]
    assert (groups[0].clarity, groups[0].respect, groups[0].treatment) == (3.0, 5.0, 4.0)


def test_results_by_stage_group_answers_by_the_stage_when_invited(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job()
    answered(make, recruiter, job, [10, 10, 9, 9, 8])
    answered(make, recruiter, job, [0, 10, 10], stage=Stage.decision_pending)
    groups = followup.survey_summary(session=session, actor=recruiter, by="stage")
    assert [(g.key, g.answers, g.nps) for g in groups] == [("decision_pending", 3, None), ("interviewing", 5, 80.0)]
    assert [(g.key, g.answers) for g in followup.survey_summary(session=session, actor=recruiter)] == [(job.title, 8)]


def test_results_are_for_recruiters_admins_and_hiring_managers_only(session, make) -> None:
    with pytest.raises(NotAllowed):
        followup.survey_summary(session=session, actor=make.user("interviewer"))
    assert followup.survey_summary(session=session, actor=make.user("hiring_manager")) == []
    with pytest.raises(ValidationError) as err:
        followup.survey_summary(session=session, actor=make.admin(), by="candidate")
    assert fields_of(err) == {"by": "err.choice_invalid"}


# --------------------------------------------------------------------------- the floor cannot be undone
def figures(group: followup.SurveyGroup) -> tuple:
    return (group.counted, group.nps, group.clarity, group.respect, group.treatment)


def test_subtracting_one_grouping_from_another_reveals_no_one(session, make) -> None:
    """Job A has five answers, job B one; both were invited while interviewing. Before: the stage figure covered
    all six, so stage minus job A gave B's single answer. Now the lone answer counts nowhere."""
    recruiter = make.user("recruiter")
    answered(make, recruiter, make.job(title="A"), [10, 10, 9, 9, 8], clarity=[5, 5, 4, 4, 4])
    answered(make, recruiter, make.job(title="B"), [0], clarity=[1])
    [a, b] = followup.survey_summary(session=session, actor=recruiter, by="job")
    [stage] = followup.survey_summary(session=session, actor=recruiter, by="stage")
    overall = followup.survey_overall(session=session, actor=recruiter)
    assert (b.answers, b.shown, b.nps) == (1, False, None)
    assert (stage.answers, overall.answers) == (6, 6)  # received
    assert figures(stage) == figures(overall) == figures(a) == (5, 80.0, 4.4, 5.0, 4.0)


def test_results_change_only_in_batches_of_five_so_watching_them_reveals_no_single_answer(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job(title="后端")
    answered(make, recruiter, job, [9, 9, 9, 9, 9])
    seen = [figures(followup.survey_overall(session=session, actor=recruiter))]
    for nps in (0, 0, 0, 0):  # one at a time: nothing moves
        answered(make, recruiter, job, [nps])
        seen.append(figures(followup.survey_overall(session=session, actor=recruiter)))
        [group] = followup.survey_summary(session=session, actor=recruiter)
        assert figures(group) == seen[0]
    assert set(seen) == {(5, 100.0, 3.0, 5.0, 4.0)}
    answered(make, recruiter, job, [0])  # the fifth of the new batch: all five are released together
    assert figures(followup.survey_overall(session=session, actor=recruiter)) == (10, 0.0, 3.0, 5.0, 4.0)


def test_a_small_cell_hidden_in_one_grouping_is_hidden_in_every_grouping_and_the_total(session, make) -> None:
    """Job A: 5 interviewing + 1 decision_pending; job B: 4 decision_pending. By stage, decision_pending has
    five; by job, A has six. Without cells, (A by job) − (interviewing by stage) would be one person."""
    recruiter = make.user("recruiter")
    job_a, job_b = make.job(title="A"), make.job(title="B")
    answered(make, recruiter, job_a, [10, 10, 10, 10, 10])
    answered(make, recruiter, job_a, [0], stage=Stage.decision_pending)
    answered(make, recruiter, job_b, [5, 5, 5, 5], stage=Stage.decision_pending)
    by_job = {g.key: g for g in followup.survey_summary(session=session, actor=recruiter, by="job")}
    by_stage = {g.key: g for g in followup.survey_summary(session=session, actor=recruiter, by="stage")}
    overall = followup.survey_overall(session=session, actor=recruiter)
    assert (by_job["A"].answers, by_job["A"].counted, by_job["A"].nps) == (6, 5, 100.0)
    assert (by_job["B"].shown, by_stage["decision_pending"].answers, by_stage["decision_pending"].shown) == (
        False,
        5,
        False,
    )
    assert figures(by_stage["interviewing"]) == figures(by_job["A"]) == figures(overall)


# --------------------------------------------------------------------------- computed once until something changes
def test_results_are_computed_once_and_again_after_a_new_answer_or_a_renamed_job(engine, session, make) -> None:
    from sqlalchemy import event

    from services.pipeline import jobs

    recruiter = make.admin()
    job = make.job(title="旧名字")
    answered(make, recruiter, job, [10, 10, 9, 9, 8])
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first = followup.survey_summary(session=session, actor=recruiter)
    computed = len(statements)
    first[0].nps = -100.0  # the caller's copy: the next reader must not see it
    again = followup.survey_summary(session=session, actor=recruiter)
    assert len(statements) - computed == 1  # only the stamp, not the numbering of every answer
    assert [(g.key, g.nps) for g in again] == [("旧名字", 80.0)]
    jobs.update_job(
        session=session,
        actor=recruiter,
        job_id=job.id,
        version=job.version,
        job_in={"title": "新名字 <b>", "department": job.department, "location": job.location},
    )
    assert [g.key for g in followup.survey_summary(session=session, actor=recruiter)] == ["新名字 <b>"]
    answered(make, recruiter, job, [0, 0, 0, 0, 0])
    assert [(g.key, g.answers, g.nps) for g in followup.survey_summary(session=session, actor=recruiter)] == [
        ("新名字 <b>", 10, -10.0)
    ]  # 4 promoters, 5 detractors of 10
