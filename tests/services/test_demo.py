"""seed-demo: valid for every seed, realistic in proportion at any size, every stage and board column when tiny."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from bench.pages import SEED as BENCH_SEED
from models.candidate import Application, Candidate, StageChange
from models.common import Stage, utcnow
from models.evaluation import Interview, Scorecard, ScorecardStatus
from models.followup import Contact, PoolEntry
from models.mail import MailStatus, OutboxMessage
from models.onboard import (
    LIVE_OFFER,
    CheckIn,
    DeclineReason,
    Offer,
    OfferApproval,
    OfferStatus,
    OnboardingPlan,
    PlanTask,
    TrainingSession,
    probation_cap,
)
from models.user import User
from services.follow_up import followup
from services.onboard import offers
from services.platform.config import get_settings
from services.platform.demo import TABLES, seed_demo
from services.platform.demo_onboard import OPEN_OFFER_FIRST


@pytest.mark.parametrize("seed", [*range(21), BENCH_SEED])
def test_no_seed_value_breaks_a_unique_constraint(session: Session, seed: int) -> None:
    # bench.search's seed once made two talent-pool entries for one person; every seed must go through.
    counts = seed_demo(session=session, candidates=60, seed=seed)
    assert counts["candidate"] == 60
    pooled = session.exec(select(PoolEntry.candidate_id)).all()
    assert len(pooled) == len(set(pooled))


def test_the_seed_the_benchmark_uses_goes_through_at_a_few_thousand(session: Session) -> None:
    assert seed_demo(session=session, candidates=2000, seed=BENCH_SEED)["candidate"] == 2000


def test_a_tiny_demo_shows_every_stage_and_every_board_column(session: Session) -> None:
    seed_demo(session=session, candidates=10)
    assert set(session.exec(select(Application.stage).distinct())) == {s.value for s in Stage}
    admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
    board = followup.follow_up_board(session=session, actor=admin)
    assert {row.state for row in board} == {"awaiting_feedback", "awaiting_reply", "at_risk", "in_touch", "decided"}


def test_every_table_grows_with_the_demo_in_proportion(session: Session) -> None:
    small = seed_demo(session=session, candidates=300, seed=3)
    for model in TABLES:
        assert small[model.__tablename__] > 0, model.__tablename__
    # Far more than the few hundred recent applications the demo used to interview: nearly all of them.
    interviewed = session.exec(select(func.count(func.distinct(Interview.application_id)))).one()
    assert interviewed > 0.8 * small["application"]
    assert small["stagechange"] > 4 * small["application"]


def test_histories_have_real_gaps_and_nothing_happens_in_the_future(session: Session) -> None:
    seed_demo(session=session, candidates=300, seed=5)
    now = utcnow()
    for app in session.exec(select(Application)):
        history = session.exec(
            select(StageChange)
            .where(StageChange.application_id == app.id)
            .order_by(col(StageChange.at), col(StageChange.id))
        ).all()
        assert history[0].to_stage == "interviewing" and history[0].from_stage is None
        assert history[-1].to_stage == app.stage
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_stage == before.to_stage
            assert after.at - before.at > timedelta(minutes=30)
        assert history[-1].at <= now
    assert session.exec(select(func.max(Contact.at))).one() <= now
    assert session.exec(select(func.max(OutboxMessage.sent_at))).one() <= now
    # Scorecards still in draft or missing are the last two days' interviews of open applications only.
    drafts = session.exec(
        select(Interview.ends_at, Application.stage)
        .join(Scorecard, col(Scorecard.interview_id) == Interview.id)
        .join(Application, col(Application.id) == Interview.application_id)
        .where(Scorecard.status == ScorecardStatus.draft)
    ).all()
    assert drafts
    for ends_at, stage in drafts:
        assert stage == Stage.interviewing and ends_at > now - timedelta(hours=49)


def test_no_demo_check_in_falls_after_the_end_of_probation(session: Session) -> None:
    from models.onboard import CheckIn, OnboardingPlan

    seed_demo(session=session, candidates=300, seed=3)
    late = session.exec(
        select(CheckIn.day, OnboardingPlan.probation_end)
        .join(OnboardingPlan, col(OnboardingPlan.id) == CheckIn.plan_id)
        .where(col(CheckIn.due_date) > col(OnboardingPlan.probation_end))
    ).all()
    assert late == []  # a day-90 check-in in a one- or two-month probation made no sense
    assert session.exec(select(func.count()).select_from(CheckIn)).one() > 0


# --------------------------------------------------------------------------- offers and onboarding (issue 11, 18)
DEFAULT_SIZE = 300  # manage.py seed-demo --candidates, when not given


def _offers(session: Session) -> list[Offer]:
    return list(session.exec(select(Offer).order_by(col(Offer.id))))


@pytest.mark.parametrize("candidates", [20, 60, DEFAULT_SIZE])
def test_a_small_demo_and_the_default_one_have_offers_in_every_status(session: Session, candidates: int) -> None:
    seed_demo(session=session, candidates=candidates)
    assert {o.status for o in _offers(session)} == {s.value for s in OfferStatus}


def test_the_same_seed_gives_the_same_offers_and_open_ones_are_mostly_sent(session: Session) -> None:
    seed_demo(session=session, candidates=400, seed=11)
    first = [(o.application_id, o.revision, o.status) for o in _offers(session)]
    session.rollback()  # nothing was committed: the same seed again, on the same empty database
    seed_demo(session=session, candidates=400, seed=11)
    assert [(o.application_id, o.revision, o.status) for o in _offers(session)] == first
    open_ = Counter(status for _, _, status in first if status not in ("accepted", "declined"))
    assert set(open_) == {s.value for s in OPEN_OFFER_FIRST}
    assert open_.most_common(1)[0][0] == OfferStatus.sent


@pytest.mark.parametrize("candidates", [20, DEFAULT_SIZE])
def test_every_sent_offer_has_its_letter_in_the_outbox_with_a_link_that_opens_it(
    session: Session, candidates: int
) -> None:
    seed_demo(session=session, candidates=candidates)
    sent = [o for o in _offers(session) if o.sent_at is not None]
    assert {o.status for o in sent} >= {"sent", "accepted", "declined", "expired"}
    opened = 0
    for offer in sent:
        assert offer.letter_mail_id is not None and offer.answer_token_hash, offer
        mail = session.get(OutboxMessage, offer.letter_mail_id)
        assert mail is not None and mail.template == "offer_letter"
        app = session.get(Application, offer.application_id)
        candidate = session.get(Candidate, app.candidate_id) if app else None
        assert candidate is not None and mail.to_addrs == candidate.email
        assert mail.application_id == offer.application_id and mail.candidate_id == candidate.id
        assert mail.status == MailStatus.sent and mail.sent_at is not None and mail.sent_at >= offer.sent_at
        assert candidate.name in mail.text and offer.job_title in mail.text
        found = re.search(r"\?offer=([\w-]+)", mail.text)
        assert found is not None and offers._token_hash(found.group(1)) == offer.answer_token_hash
        token = found.group(1)
        if offer.status == OfferStatus.sent:
            assert offers.open_offer_link(session=session, token=token).candidate_name == candidate.name
            opened += 1
        else:
            with pytest.raises(offers.OfferLinkInvalid):
                offers.open_offer_link(session=session, token=token)
    assert opened > 0
    # The link is answered through the offer service like any other: the candidate accepts one.
    live = next(o for o in sent if o.status == OfferStatus.sent)
    mail = session.get(OutboxMessage, live.letter_mail_id)
    token = re.search(r"\?offer=([\w-]+)", mail.text).group(1)  # type: ignore[union-attr]
    answered = offers.answer_offer_by_link(session=session, token=token, answer="accepted")
    assert answered.status == OfferStatus.accepted
    assert session.get(Application, live.application_id).stage == Stage.hired  # type: ignore[union-attr]


def test_an_approved_offer_may_wait_with_its_letter_as_a_draft_and_one_not_yet_sent_has_no_link(
    session: Session,
) -> None:
    seed_demo(session=session, candidates=2000, seed=7)
    approved = [o for o in _offers(session) if o.status == OfferStatus.approved]
    drafted = [o for o in approved if o.letter_mail_id is not None]
    assert drafted
    for offer in drafted:
        mail = session.get(OutboxMessage, offer.letter_mail_id)
        assert mail is not None and mail.status == MailStatus.draft and mail.sent_at is None and offer.answer_token_hash
    for offer in _offers(session):
        if offer.status in (OfferStatus.draft, OfferStatus.pending_approval):
            assert offer.letter_mail_id is None and offer.answer_token_hash is None and offer.sent_at is None


@pytest.mark.parametrize("candidates", [60, DEFAULT_SIZE])
def test_offers_keep_the_rules_the_offer_service_keeps(session: Session, candidates: int) -> None:
    seed_demo(session=session, candidates=candidates, seed=candidates)
    now = utcnow()
    today = now.astimezone(get_settings().tz).date()
    by_app: dict[int, list[Offer]] = {}
    for offer in _offers(session):
        by_app.setdefault(offer.application_id, []).append(offer)
    for app_id, rows in by_app.items():
        app = session.get(Application, app_id)
        assert app is not None
        assert sum(o.status in LIVE_OFFER for o in rows) <= 1, rows  # one live offer per application
        assert sorted(o.revision for o in rows) == list(range(1, len(rows) + 1))
        reached = session.exec(
            select(StageChange.at).where(StageChange.application_id == app_id, StageChange.to_stage == Stage.offer)
        ).all()
        assert reached, app  # only an application that reached the offer stage has an offer
        for offer in rows:
            status = OfferStatus(offer.status)
            if status in LIVE_OFFER or status in (OfferStatus.expired, OfferStatus.withdrawn):
                assert app.stage == Stage.offer, (status, app.stage)
            if status == OfferStatus.accepted:
                assert app.stage in (Stage.hired, Stage.probation_passed, Stage.rejected)
                plans = session.exec(select(OnboardingPlan).where(OnboardingPlan.offer_id == offer.id)).all()
                assert len(plans) == 1
            else:
                assert not session.exec(select(OnboardingPlan).where(OnboardingPlan.offer_id == offer.id)).all()
            if status == OfferStatus.declined:
                assert offer.decline_reason in {r.value for r in DeclineReason} and app.stage == Stage.withdrawn
                last = session.exec(
                    select(StageChange).where(StageChange.application_id == app_id).order_by(col(StageChange.at).desc())
                ).first()
                assert last is not None and last.reason == f"offer_declined:{offer.decline_reason}"
                if offer.decline_reason == DeclineReason.other:
                    assert offer.decline_text
            else:
                assert offer.decline_reason == ""
            # The offer's own clock runs forward and never past today.
            times = [offer.created_at, offer.submitted_at, offer.approved_at, offer.sent_at, offer.answered_at]
            seen = [t for t in times if t is not None]
            assert seen == sorted(seen) and seen[-1] <= now and offer.updated_at <= now, offer
            assert (offer.submitted_at is None) == (status == OfferStatus.draft)
            approvals = session.exec(select(OfferApproval).where(OfferApproval.offer_id == offer.id)).all()
            if status == OfferStatus.draft:
                assert not approvals
            elif status == OfferStatus.pending_approval:
                assert approvals and all(a.decision == "" and a.decided_at is None for a in approvals)
            else:
                assert approvals and all(a.decision == "approved" for a in approvals)
            cap = probation_cap(offer.contract_months)
            assert cap is None or offer.probation_months <= cap
            if status in (OfferStatus.sent, OfferStatus.approved, OfferStatus.pending_approval, OfferStatus.draft):
                assert offer.response_deadline >= today  # still open: the deadline is ahead
            if status == OfferStatus.expired:
                assert offer.response_deadline < today and offer.sent_at is not None
    # Nothing for the worker to expire right after seeding: every offer still out is within its deadline.
    assert offers.expire_due(session=session) == 0


def test_plans_stand_at_every_point_with_ticks_late_tasks_check_ins_training_and_outcomes(session: Session) -> None:
    seed_demo(session=session, candidates=DEFAULT_SIZE)
    today = utcnow().astimezone(get_settings().tz).date()
    plans = session.exec(select(OnboardingPlan)).all()
    assert {p.status for p in plans} >= {"active", "extended", "passed", "not_passed"}
    for plan in plans:
        if plan.status in ("extended", "passed", "not_passed"):
            assert plan.outcome_at is not None and plan.outcome_by_id is not None
        if plan.status == "extended":
            assert plan.probation_end > today
    running = [p.id for p in plans if p.status in ("active", "extended")]
    tasks = session.exec(select(PlanTask).where(col(PlanTask.plan_id).in_(running))).all()
    assert any(t.done_at is not None for t in tasks)
    assert any(t.done_at is None and t.due_date < today for t in tasks)  # some running late
    assert any(t.done_at is None and t.due_date >= today for t in tasks)
    check_ins = session.exec(select(CheckIn)).all()
    assert any(c.done_at is not None and c.rating for c in check_ins)
    assert session.exec(select(func.count()).select_from(TrainingSession)).one() >= len(plans)
    reasons = session.exec(select(Offer.decline_reason).where(Offer.status == OfferStatus.declined).distinct()).all()
    assert len(reasons) >= 3


def test_a_withdrawn_offer_may_have_been_revised_into_a_new_draft_as_the_offer_service_revises(
    session: Session,
) -> None:
    seed_demo(session=session, candidates=20)
    revised = [o for o in _offers(session) if o.revision > 1]
    assert revised
    for offer in revised:
        before = session.exec(
            select(Offer).where(Offer.application_id == offer.application_id, Offer.revision == offer.revision - 1)
        ).one()
        assert before.status == OfferStatus.withdrawn and offer.status == OfferStatus.draft
        assert offer.created_at == before.updated_at  # withdrawn and redrafted in one go (offers.update_offer)
        assert offer.salary_amount >= before.salary_amount
    # The recruiter carries on with the new revision through the offer service.
    admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
    submitted = offers.submit_for_approval(session=session, actor=admin, offer_id=revised[0].id or 0)
    assert submitted.status == OfferStatus.pending_approval
