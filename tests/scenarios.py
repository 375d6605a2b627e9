"""Starting points for page and browser tests, made through the services as people using the app would.

Each takes an open Session on the database under test (the AppTest one, or the browser server's SQLite file)
and the demo accounts that `seed_demo` created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from models.common import utcnow
from models.evaluation import Scorecard
from models.job import Job
from models.user import User
from services.evaluate import evaluation
from services.pipeline import candidates

DEMO_PANEL = ("interviewer@example.com", "interviewer2@example.com")


@dataclass(frozen=True)
class Interviewed:
    """A candidate whose interview has just ended, and what the tests need to reach it."""

    candidate_id: int
    candidate: str
    email: str
    application_id: int
    interview_id: int
    job: str
    criteria: tuple[int, ...]  # the ids of the criteria the panel rates, in the scorecard's order


def account(session: Session, email: str) -> User:
    return session.exec(select(User).where(User.email == email)).one()


def managed_open_job(session: Session, manager_email: str = "manager@example.com") -> Job:
    """An open demo job whose hiring manager is `manager_email`."""
    manager = account(session, manager_email)
    return session.exec(
        select(Job).where(Job.hiring_manager_id == manager.id, Job.status == "open").order_by(col(Job.id))
    ).first()


def interviewed_candidate(
    session: Session,
    *,
    name: str,
    email: str,
    language: str = "zh",
    recruiter: str = "recruiter@example.com",
    panel: tuple[str, ...] = DEMO_PANEL,
    ended_hours_ago: float = 1.0,
    minutes: int = 60,
) -> Interviewed:
    """A new candidate of `recruiter`, applying to an open job of manager@, interviewed by `panel` (ended
    `ended_hours_ago` hours ago, so the 24-hour feedback clock runs and every scorecard is awaited)."""
    owner = account(session, recruiter)
    job = managed_open_job(session)
    person = candidates.create_candidate(
        session=session,
        actor=owner,
        job_id=job.id,
        allow_duplicate=True,
        candidate_in={"name": name, "email": email, "language": language},
    )
    detail = candidates.get_candidate_detail(session=session, actor=owner, candidate_id=person.id)
    application = detail.applications[0].application
    first_round = evaluation.list_rounds(session=session, actor=owner)[1]  # the technical round
    ends = utcnow() - timedelta(hours=ended_hours_ago)
    interview = evaluation.schedule_interview(
        session=session,
        actor=owner,
        interview_in={
            "application_id": application.id,
            "round_id": first_round.id,
            "starts_at": ends - timedelta(minutes=minutes),
            "ends_at": ends,
            "mode": "video",
            "location": "https://meet.example.com/panel",
            "interviewer_ids": [account(session, e).id for e in panel],
        },
        allow_conflicts=True,
    )  # the demo data keeps the panel busy at random times; no double booking is tested here
    criteria = evaluation.criteria_for(session=session, round_id=first_round.id, job_id=job.id)
    return Interviewed(
        candidate_id=person.id,
        candidate=name,
        email=email,
        application_id=application.id,
        interview_id=interview.id,
        job=job.title,
        criteria=tuple(c.id for c in criteria),
    )


def submit_scorecard(
    session: Session,
    case: Interviewed,
    interviewer: str,
    *,
    ratings: dict[int, int] | int = 4,
    recommendation: str = "yes",
) -> None:
    """`interviewer` submits a complete scorecard for the case's interview."""
    scores = ratings if isinstance(ratings, dict) else dict.fromkeys(case.criteria, ratings)
    actor = account(session, interviewer)
    draft = session.exec(
        select(Scorecard).where(Scorecard.interview_id == case.interview_id, Scorecard.interviewer_id == actor.id)
    ).first()
    answers = {
        "ratings": [{"criterion_id": c, "rating": scores[c]} for c in case.criteria],
        "strengths": "思路清晰 / clear thinking",
        "weaknesses": "经验偏少 / little experience",
        "recommendation": recommendation,
    }
    evaluation.save_scorecard(
        session=session,
        actor=actor,
        interview_id=case.interview_id,
        submit=True,
        version=draft.version if draft else None,
        scorecard_in=answers,
    )
