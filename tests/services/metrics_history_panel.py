"""The fixed history of tests/services/metrics_history.py (unchanged), and beside it a third job with rated panels,
hires with probation outcomes and check-ins, and groups of applicants — for the calibration, quality-of-hire and
selection-rate tests, whose expected figures are counted by hand from the tables below.

Job C (Design, location Beijing; the factory's jobs A and B are in Shanghai), hiring manager `n` (who also manages
job B; `m` manages job A only). Every application below is created in March 2026 and its interviews end in March.
Interviewers q1, q2, q3. Rounds: Technical (criteria Code, weight 2, and Design, weight 1: a card rated
[Code, Design] scores (2·Code + Design) / 3) and Onsite (Culture, weight 1). The history's own scorecards carry no
ratings (they have no score) and its round is neither of these.

Scorecards (weighted score, recommendation: sy strong yes, y yes, n no, sn strong no):

app source       Technical                                     Onsite              decision  hire, check-ins
k1  career_site  q1 5 [5,5] sy · q2 3 [3,3] n · q3 4 [5,2] y   q2 4 y              offer     passed; 4, 5
k2  career_site  q1 5 [5,5] y · q2 4 [4,4] y                   q1 1 sn, then the   offer     not passed; 2
                                                               interview cancelled
k3  career_site  q1 4 y · q2 3 n · q3 2 n                      —                   reject    —
k4  career_site  q1 4 y · q2 3 y                               —                   reject    —
k5  career_site  q1 3 n · q2 2 sn                              —                   reject    —
k6  career_site  q2 4 y · q3 4 y                               —                   offer     passed; 4
k7  headhunter   q2 2 n                                        q1 2 n              offer     not passed; 2, 3
k8  headhunter   q3 3 y                                        —                   offer     extended; 3
k9  headhunter   q2 3 y                                        —                   offer     passed; day 7 not done
(ratings not shown are the same on both criteria. A decision offer: moved to offer, an accepted offer, hired, a
plan starting 23 March with check-ins on days 7 and 14 done on their due dates, the outcome recorded on 5 April
(the extension on 6 April) and the application moved to probation passed, or rejected "probation_not_passed".
A decision reject: moved to rejected.)

Applicants without a rated panel (job C; "held" = an interview held, no scorecard; then moved to rejected):
s1 s2      career_site  rejected at screening (no interview)
s3 s4      headhunter   rejected at screening
s5 … s8    job_board    held, then rejected
s9         referral     no interview yet, still interviewing (in progress)
s10 s11    campus       held, then rejected
s12 … s15  campus       rejected at screening

The history's a1 (job A) is a hire that passed probation (outcome 8 April) with no score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from models.candidate import Application
from models.evaluation import (
    Criterion,
    Interview,
    InterviewRound,
    InterviewStatus,
    Scorecard,
    ScorecardRating,
    ScorecardStatus,
)
from models.job import Job
from models.onboard import CheckIn, OnboardingPlan
from models.user import User
from tests.services.metrics_history import NOW, Builder, History, at, build_history

# Per application: source, [(round, [(interviewer, ratings, recommendation)], cancelled afterwards)], decision,
# (outcome, check-in ratings by day) of the hire.
Card = tuple[str, list[int], str]
PANELS: dict[str, tuple[str, list[tuple[str, list[Card], bool]], str, tuple[str, dict[int, int | None]] | None]] = {
    "k1": (
        "career_site",
        [
            ("technical", [("q1", [5, 5], "strong_yes"), ("q2", [3, 3], "no"), ("q3", [5, 2], "yes")], False),
            ("onsite", [("q2", [4], "yes")], False),
        ],
        "offer",
        ("passed", {7: 4, 14: 5}),
    ),
    "k2": (
        "career_site",
        [
            ("technical", [("q1", [5, 5], "yes"), ("q2", [4, 4], "yes")], False),
            ("onsite", [("q1", [1], "strong_no")], True),
        ],
        "offer",
        ("not_passed", {7: 2}),
    ),
    "k3": (
        "career_site",
        [("technical", [("q1", [4, 4], "yes"), ("q2", [3, 3], "no"), ("q3", [2, 2], "no")], False)],
        "reject",
        None,
    ),
    "k4": ("career_site", [("technical", [("q1", [4, 4], "yes"), ("q2", [3, 3], "yes")], False)], "reject", None),
    "k5": ("career_site", [("technical", [("q1", [3, 3], "no"), ("q2", [2, 2], "strong_no")], False)], "reject", None),
    "k6": (
        "career_site",
        [("technical", [("q2", [4, 4], "yes"), ("q3", [4, 4], "yes")], False)],
        "offer",
        ("passed", {7: 4}),
    ),
    "k7": (
        "headhunter",
        [("technical", [("q2", [2, 2], "no")], False), ("onsite", [("q1", [2], "no")], False)],
        "offer",
        ("not_passed", {7: 2, 14: 3}),
    ),
    "k8": ("headhunter", [("technical", [("q3", [3, 3], "yes")], False)], "offer", ("extended", {7: 3})),
    "k9": ("headhunter", [("technical", [("q2", [3, 3], "yes")], False)], "offer", ("passed", {7: None})),
}
# Applicants without a rated panel: name -> (source, held an interview, still open).
START = date(2026, 3, 23)  # every hire's first day
APPLICANTS: dict[str, tuple[str, bool, bool]] = (
    {f"s{i}": ("career_site", False, False) for i in (1, 2)}
    | {f"s{i}": ("headhunter", False, False) for i in (3, 4)}
    | {f"s{i}": ("job_board", True, False) for i in (5, 6, 7, 8)}
    | {"s9": ("referral", False, True)}
    | {f"s{i}": ("campus", True, False) for i in (10, 11)}
    | {f"s{i}": ("campus", False, False) for i in (12, 13, 14, 15)}
)


@dataclass
class PanelHistory:
    base: History
    job_c: Job
    q: dict[str, User]
    rounds: dict[str, InterviewRound]
    apps: dict[str, Application] = field(default_factory=dict)
    interviews: dict[str, Interview] = field(default_factory=dict)


def _rated_card(
    b: Builder,
    interview: Interview,
    person: User,
    ratings: list[int],
    recommendation: str,
    when: datetime,
    criteria: list[Criterion],
) -> None:
    card = Scorecard(
        interview_id=interview.id or 0,
        interviewer_id=person.id or 0,
        application_id=interview.application_id,
        status=ScorecardStatus.submitted,
        recommendation=recommendation,
        created_at=when - timedelta(minutes=30),
        updated_at=when,
        submitted_at=when,
    )
    b.session.add(card)
    b.session.flush()
    for criterion, rating in zip(criteria, ratings, strict=True):
        b.session.add(ScorecardRating(scorecard_id=card.id or 0, criterion_id=criterion.id or 0, rating=rating))
    b.session.commit()


def build_panel_history(session: Session, clock: Any) -> PanelHistory:
    """The history of metrics_history plus the tables above, committed; the clock is left at NOW."""
    base = build_history(session, clock)
    b = Builder(session, clock)  # its own round (unused here), and the helpers
    make = b.make
    clock.set(at(1, 6))
    q = {k: make.user("interviewer", name=k) for k in ("q1", "q2", "q3")}
    job_c = make.job(
        actor=base.admin, title="Designer", department="Design", location="Beijing", hiring_manager_id=base.n.id
    )
    rounds = {
        "technical": InterviewRound(name_zh="技术面", name_en="Technical", position=1),
        "onsite": InterviewRound(name_zh="现场面", name_en="Onsite", position=2),
    }
    for row in rounds.values():
        session.add(row)
    session.flush()
    criteria = {
        "technical": [
            Criterion(round_id=rounds["technical"].id or 0, name_zh="代码", name_en="Code", weight=2.0, position=0),
            Criterion(round_id=rounds["technical"].id or 0, name_zh="设计", name_en="Design", weight=1.0, position=1),
        ],
        "onsite": [Criterion(round_id=rounds["onsite"].id or 0, name_zh="文化", name_en="Culture", weight=1.0)],
    }
    for rows in criteria.values():
        session.add_all(rows)
    session.commit()
    h = PanelHistory(base=base, job_c=job_c, q=q, rounds=rounds)

    for n, (name, (source, panels, decision, hire)) in enumerate(PANELS.items()):
        app, _ = b.application(job_c, at(3, 2 + n % 8, 9), actor=base.recruiter, source=source)
        h.apps[name] = app
        for r, (round_key, cards, cancelled) in enumerate(panels):
            ends = at(3, 12 + r, 9 + n)
            interview = Interview(
                application_id=app.id or 0,
                round_id=rounds[round_key].id or 0,
                starts_at=ends - timedelta(hours=1),
                ends_at=ends,
            )
            session.add(interview)
            session.commit()
            h.interviews[f"{name}-{round_key}"] = interview
            for who, ratings, recommendation in cards:
                _rated_card(
                    b, interview, q[who], ratings, recommendation, ends + timedelta(hours=2), criteria[round_key]
                )
            if cancelled:
                interview.status = InterviewStatus.cancelled
                session.add(interview)
                session.commit()
        b.decision(app, decision, "meets_bar" if decision == "offer" else "skills_below_bar", at(3, 20, n), base.admin)
        if decision == "reject":
            b.move(app, "rejected", at(3, 20, n), "skills_below_bar")
            continue
        b.move(app, "offer", at(3, 20, n))
        offer = b.offer(app, base.admin, sent=at(3, 21, n), status="accepted", answered=at(3, 22, n))
        b.move(app, "hired", at(3, 22, n))
        assert hire is not None
        outcome, check_ins = hire
        outcome_at = at(4, 6 if outcome == "extended" else 5, n)
        b.plan(app, offer, start=START, status=outcome, outcome_at=outcome_at)
        plan = session.exec(select(OnboardingPlan).where(OnboardingPlan.application_id == app.id)).one()
        for day, rating in check_ins.items():
            due = START + timedelta(days=day)
            session.add(
                CheckIn(
                    plan_id=plan.id or 0,
                    day=day,
                    due_date=due,
                    manager_id=base.n.id,
                    rating=rating,
                    on_track=None if rating is None else rating >= 3,
                    done_at=None if rating is None else datetime.combine(due, time(2), tzinfo=UTC),
                )
            )
        session.commit()
        if outcome == "passed":
            b.move(app, "probation_passed", outcome_at)
        elif outcome == "not_passed":
            b.move(app, "rejected", outcome_at, "probation_not_passed")

    for n, (name, (source, held, still_open)) in enumerate(APPLICANTS.items()):
        app, _ = b.application(job_c, at(3, 3 + n % 20, 11), actor=base.recruiter, source=source)
        h.apps[name] = app
        if held:
            ends = at(3, 25, 9)
            interview = Interview(
                application_id=app.id or 0,
                round_id=rounds["technical"].id or 0,
                starts_at=ends - timedelta(hours=1),
                ends_at=ends,
            )
            session.add(interview)
            session.commit()
        if not still_open:
            b.move(app, "rejected", at(3, 26), "skills_below_bar")

    clock.set(NOW)
    return h
