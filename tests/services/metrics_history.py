"""A small fixed hiring history for the metrics tests, with every moment given (UTC; the company's zone is
Asia/Shanghai, UTC+8, so a local day begins at 16:00 UTC the day before). The expected figures in
tests/services/test_metrics_*.py are counted by hand from the table below.

The period of interest is March 2026 (local): [2026-02-28 16:00 UTC, 2026-03-31 16:00 UTC). The clock reads NOW.

Job A (Engineering, manager `m`), job B (Sales, manager `n`). Panelists p1, p2, p3.

a1  A  c1  created 03-02 10:00   interview i1 held, ends 03-05 10:00, p1 submits 03-05 20:00, p2 03-06 12:00
           (p2's 26 h after the end); → decision_pending 03-06 12:00; decision offer 03-07, → offer 03-07; offer sent
           03-08, accepted 03-09, → hired 03-09; plan starts 03-20, passed 04-08 → probation_passed 04-08
a2  A  c2  created 03-06 10:00   interview i2 held, ends 03-08 16:30 (= Monday 03-09 00:30 local), p1 submits
           03-08 17:00, p2 never → interviewing
a3  A  c3  created 03-11 10:00   no interview, no decision recorded (skipped): moved by hand → offer 03-13 (the
           move is its decision); offer sent 03-15, declined
           (compensation) 03-16
           → withdrawn "offer_declined:compensation" from offer
a4  A  c4  created 03-03 10:00   interview i4 held, ends 03-04 10:00, p1 submits 03-04 12:00; decision reject
           (skills_below_bar) 03-05 → rejected; reopened 03-20 → interviewing; interview i4b ends 03-25 10:00,
           p2 submits 03-25 11:00, then i4b is cancelled (cancelled after scoring)
a5  B  c1  created 03-15 10:00   (c1's second application) interview i5 held, ends 03-18 10:00, p3 submits
           03-18 23:00; decision reject (team_fit) 03-19 → rejected from interviewing
a6  A  c5  created 02-28 16:30 (= 03-01 00:30 local, in March) → withdrawn 03-02 from interviewing
a7  A  c6  created 02-28 15:30 (= 02-28 23:30 local, before March); interview i7 held, ends 02-28 16:10 (= 03-01
           00:10 local, in March), p1 owes → interviewing
a8  A  c7  created 03-31 15:59 (= 03-31 23:59 local, in March) → interviewing
a9  A  c8  created 04-09 10:00; interview i9 held, ends 04-10 00:00 (two hours before NOW), p3 owes → interviewing

Word reaching candidates (what stops the feedback clock: a contact reached or replied, a mail sent):
c1  contact reached 03-05 18:00 (8 h after i1); contact no_answer 03-18 12:00 (does not count);
    mail sent 03-20 09:00 (47 h after i5 — c1's other application)
c4  mail queued 03-04 11:00, never sent (does not count); contact replied 03-08 10:00 (96 h after i4)
c6  contact reached 03-10 16:10 (240 h after i7)
c2, c3, c5, c7, c8: nothing
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from models.candidate import Application, StageChange
from models.evaluation import (
    Decision,
    Interview,
    InterviewPanelist,
    InterviewRound,
    InterviewStatus,
    Scorecard,
    ScorecardStatus,
)
from models.followup import Contact
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.onboard import Offer, OfferStatus, OnboardingPlan, PlanStatus
from models.user import User
from tests.factories import Factory

NOW = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class History:
    admin: User
    recruiter: User
    m: User  # job A's hiring manager
    n: User  # job B's hiring manager
    interviewer: User
    panel: dict[str, User]
    job_a: Job
    job_b: Job
    apps: dict[str, Application] = field(default_factory=dict)
    interviews: dict[str, Interview] = field(default_factory=dict)


class Builder:
    def __init__(self, session: Session, clock: Any) -> None:
        self.session, self.clock = session, clock
        self.make = Factory(session)
        self.mails: list[int] = []
        self.round = InterviewRound(name_zh="一面", name_en="First")
        session.add(self.round)
        session.commit()

    def application(self, job: Job, created: datetime, *, candidate: Any = None, actor: User, **values: Any) -> Any:
        self.clock.set(created)
        if candidate is None:
            person = self.make.candidate(actor=actor, job=job, **values)
            from sqlmodel import select

            return self.session.exec(select(Application).where(Application.candidate_id == person.id)).one(), person
        return self.make.application(candidate=candidate, job=job, actor=actor), candidate

    def move(self, app: Application, to: str, when: datetime, reason: str = "") -> None:
        self.session.add(
            StageChange(application_id=app.id or 0, from_stage=app.stage, to_stage=to, at=when, reason=reason)
        )
        app.stage, app.stage_changed_at = to, when  # type: ignore[assignment]
        self.session.add(app)
        self.session.commit()

    def interview(self, app: Application, ends: datetime, panel: list[User], status: str = "scheduled") -> Interview:
        row = Interview(
            application_id=app.id or 0,
            round_id=self.round.id or 0,
            starts_at=ends - timedelta(hours=1),
            ends_at=ends,
            status=InterviewStatus(status),
        )
        self.session.add(row)
        self.session.flush()
        for person in panel:
            self.session.add(InterviewPanelist(interview_id=row.id or 0, user_id=person.id or 0, ends_at=ends))
        self.session.commit()
        return row

    def scorecard(self, interview: Interview, person: User, submitted: datetime, recommendation: str = "yes") -> None:
        self.session.add(
            Scorecard(
                interview_id=interview.id or 0,
                interviewer_id=person.id or 0,
                application_id=interview.application_id,
                status=ScorecardStatus.submitted,
                recommendation=recommendation,
                created_at=submitted - timedelta(minutes=30),
                updated_at=submitted,
                submitted_at=submitted,
            )
        )
        self.session.commit()

    def decision(self, app: Application, kind: str, reason: str, when: datetime, by: User) -> None:
        self.session.add(
            Decision(application_id=app.id or 0, kind=kind, reason_code=reason, by_user_id=by.id or 0, at=when)
        )
        self.session.commit()

    def offer(
        self, app: Application, by: User, *, sent: datetime, status: str, answered: datetime, decline_reason: str = ""
    ) -> Offer:
        row = Offer(
            application_id=app.id or 0,
            status=OfferStatus(status),
            job_title="Engineer",
            start_date=date(2026, 3, 20),
            response_deadline=date(2026, 3, 18),
            created_by_id=by.id or 0,
            created_at=sent - timedelta(hours=2),
            sent_at=sent,
            answered_at=answered,
            decline_reason=decline_reason,
        )
        self.session.add(row)
        self.session.commit()
        return row

    def contact(self, person: Any, by: User, when: datetime, outcome: str) -> None:
        self.session.add(
            Contact(
                candidate_id=person.id,
                channel="phone",
                direction="outbound",
                outcome=outcome,
                summary="电话 / call",
                at=when,
                by_user_id=by.id or 0,
            )
        )
        self.session.commit()

    def mail(self, person: Any, when: datetime, *, sent: bool) -> None:
        n = len(self.mails) + 1
        self.mails.append(n)
        self.session.add(
            OutboxMessage(
                idempotency_key=f"metrics-{n}",
                to_addrs=person.email or "",
                subject="面试反馈 / Feedback",
                html="<p>x</p>",
                text="x",
                candidate_id=person.id,
                status=MailStatus.sent if sent else MailStatus.queued,
                created_at=when - timedelta(minutes=5),
                next_attempt_at=when,
                sent_at=when if sent else None,
                message_id=f"<metrics-{n}@example.com>",
            )
        )
        self.session.commit()

    def plan(self, app: Application, offer: Offer, *, start: date, status: str, outcome_at: datetime | None) -> None:
        self.session.add(
            OnboardingPlan(
                application_id=app.id or 0,
                offer_id=offer.id or 0,
                start_date=start,
                probation_end=start + timedelta(days=90),
                status=PlanStatus(status),
                outcome_at=outcome_at,
            )
        )
        self.session.commit()


def build_history(session: Session, clock: Any) -> History:
    """The history of the module docstring, committed; the clock is left at NOW."""
    b = Builder(session, clock)
    make = b.make
    clock.set(at(1, 5))
    admin = make.admin(name="Admin")
    recruiter = make.user("recruiter", name="Recruiter")
    m = make.user("hiring_manager", name="Manager M")
    n = make.user("hiring_manager", name="Manager N")
    interviewer = make.user("interviewer", name="Interviewer")
    panel = {k: make.user("interviewer", name=k) for k in ("p1", "p2", "p3")}
    job_a = make.job(actor=admin, title="Engineer", department="Engineering", hiring_manager_id=m.id)
    job_b = make.job(actor=admin, title="Sales", department="Sales", hiring_manager_id=n.id)
    h = History(admin, recruiter, m, n, interviewer, panel, job_a, job_b)
    p1, p2, p3 = panel["p1"], panel["p2"], panel["p3"]

    a1, c1 = b.application(job_a, at(3, 2), actor=recruiter, source="referral")
    i1 = b.interview(a1, at(3, 5), [p1, p2])
    b.scorecard(i1, p1, at(3, 5, 20))
    b.scorecard(i1, p2, at(3, 6, 12))
    b.move(a1, "decision_pending", at(3, 6, 12))
    b.decision(a1, "offer", "meets_bar", at(3, 7), admin)
    b.move(a1, "offer", at(3, 7))
    o1 = b.offer(a1, admin, sent=at(3, 8), status="accepted", answered=at(3, 9))
    b.move(a1, "hired", at(3, 9))
    b.plan(a1, o1, start=date(2026, 3, 20), status="passed", outcome_at=at(4, 8))
    b.move(a1, "probation_passed", at(4, 8))

    a2, c2 = b.application(job_a, at(3, 6), actor=recruiter, source="job_board")
    i2 = b.interview(a2, at(3, 8, 16, 30), [p1, p2])
    b.scorecard(i2, p1, at(3, 8, 17))

    a3, _ = b.application(job_a, at(3, 11), actor=admin, source="job_board")
    b.move(a3, "offer", at(3, 13))
    b.offer(a3, admin, sent=at(3, 15), status="declined", answered=at(3, 16), decline_reason="compensation")
    b.move(a3, "withdrawn", at(3, 16), "offer_declined:compensation")

    a4, c4 = b.application(job_a, at(3, 3), actor=recruiter, source="referral")
    i4 = b.interview(a4, at(3, 4), [p1])
    b.scorecard(i4, p1, at(3, 4, 12))
    b.decision(a4, "reject", "skills_below_bar", at(3, 5), admin)
    b.move(a4, "rejected", at(3, 5), "skills_below_bar")
    b.move(a4, "interviewing", at(3, 20), "reopened")
    i4b = b.interview(a4, at(3, 25), [p2])
    b.scorecard(i4b, p2, at(3, 25, 11))
    i4b.status = InterviewStatus.cancelled
    session.add(i4b)
    session.commit()

    a5, _ = b.application(job_b, at(3, 15), candidate=c1, actor=admin)
    i5 = b.interview(a5, at(3, 18), [p3])
    b.scorecard(i5, p3, at(3, 18, 23), recommendation="no")
    b.decision(a5, "reject", "team_fit", at(3, 19), admin)
    b.move(a5, "rejected", at(3, 19), "team_fit: 团队")

    a6, _ = b.application(job_a, at(2, 28, 16, 30), actor=admin, source="campus")
    b.move(a6, "withdrawn", at(3, 2), "不来了")

    a7, c6 = b.application(job_a, at(2, 28, 15, 30), actor=admin, source="campus")
    i7 = b.interview(a7, at(2, 28, 16, 10), [p1])

    a8, _ = b.application(job_a, at(3, 31, 15, 59), actor=recruiter, source="referral")

    a9, _ = b.application(job_a, at(4, 9), actor=recruiter, source="referral")
    i9 = b.interview(a9, at(4, 10, 0), [p3])

    b.contact(c1, admin, at(3, 5, 18), "reached")
    b.contact(c1, admin, at(3, 18, 12), "no_answer")
    b.mail(c1, at(3, 20, 9), sent=True)
    b.mail(c4, at(3, 4, 11), sent=False)
    b.contact(c4, admin, at(3, 8), "replied")
    b.contact(c6, admin, at(3, 10, 16, 10), "reached")

    h.apps = {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5, "a6": a6, "a7": a7, "a8": a8, "a9": a9}
    h.interviews = {"i1": i1, "i2": i2, "i4": i4, "i4b": i4b, "i5": i5, "i7": i7, "i9": i9}
    clock.set(NOW)
    return h
