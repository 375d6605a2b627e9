"""More of the fixed hiring history, for the offers, sources and candidate-experience metrics: everything of
tests/services/metrics_history.py (unchanged; read its table first) plus the rows below. Times are UTC; the company's
zone is Asia/Shanghai (UTC+8); the period of interest is March 2026 (local) and the clock reads NOW (04-10 02:00).

More applications (each a new candidate with the source given; each starts interviewing, moves are from there):
b1  A  c9   headhunter   created 03-10 10:00  → offer 03-11; offer sent 03-12 10:00, accepted 03-15 10:00 (3 days),
                                             → hired 03-15
b2  B  c10  headhunter   created 03-12 10:00  → offer 03-13; offer sent 03-14 10:00, declined (competing_offer)
                                             03-16 16:00 (2.25 days) → withdrawn "offer_declined:competing_offer"
b3  A  c11  career_site  created 03-14 10:00  → offer 03-18; offer sent 03-20 10:00, still awaiting the answer
b4  B  c12  career_site  created 03-05 10:00  → offer 03-08; revision 1 sent 03-09 10:00, withdrawn (replaced) 03-10;
                                             revision 2 sent 03-10 10:00, declined (compensation) 03-15 10:00
                                             (5 days) → withdrawn "offer_declined:compensation"
b5  A  c13  social       created 03-20 10:00  → offer 03-22; the offer is a draft, never sent
b6  B  c14  social       created 02-20 10:00 (February); → offer 02-25; offer sent 03-03 10:00, accepted 03-04 22:00
                                             (1.5 days) → hired 03-04 22:00

The offers (with a1's accepted and a3's declined ones of the base history):
offer      app created   sent     status     days to answer   reason
o1  a1     03-02         03-08    accepted   1.0
o3  a3     03-11         03-15    declined   1.0              compensation
ob1 b1     03-10         03-12    accepted   3.0
ob2 b2     03-12         03-14    declined   2.25             competing_offer
ob3 b3     03-14         03-20    sent       (awaiting)
ob4 b4     03-05         03-09    withdrawn  (replaced, never answered)
ob4' b4    03-05         03-10    declined   5.0              compensation
ob5 b5     03-20         —        draft
ob6 b6     02-20 (Feb)   03-03    accepted   1.5

Survey answers (an invite on the application, at the stage given, answered at 12:00 on the day given):
ans  app  job  source      stage         day    nps  clarity  respect  treatment
s1   a1   A    referral    interviewing  03-06  10   5        5        4
s2   a2   A    job_board   interviewing  03-09   9   4        5        5
s3   a4   A    referral    interviewing  03-04   6   3        4        3
s4   b1   A    headhunter  offer         03-13   8   4        4        4
s5   a6   A    campus      withdrawn     03-03   3   2        3        2
s6   a5   B    referral    rejected      03-20  10   5        5        5     (c1's second application)
s7   b2   B    headhunter  interviewing  03-12   7   3        4        4
s8   b4   B    career_site offer         03-16   0   1        2        1
s9   a5   B    referral    interviewing  03-19   9   4        4        5     (a5 again, an earlier invite)
s10  a9   A    referral    interviewing  04-09   0   1        1        1     (April: outside March)
So in March: job A has exactly 5 answers, job B exactly 4; the stage interviewing exactly 5 (s1 s2 s3 s7 s9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from models.candidate import Application
from models.followup import SurveyInvite, SurveyResponse
from models.onboard import Offer, OfferStatus
from models.user import User
from tests.services.metrics_history import NOW, Builder, History, at, build_history


@dataclass
class Answer:
    app: str
    stage: str
    day: tuple[int, int]
    nps: int
    clarity: int
    respect: int
    treatment: int


ANSWERS: dict[str, Answer] = {
    "s1": Answer("a1", "interviewing", (3, 6), 10, 5, 5, 4),
    "s2": Answer("a2", "interviewing", (3, 9), 9, 4, 5, 5),
    "s3": Answer("a4", "interviewing", (3, 4), 6, 3, 4, 3),
    "s4": Answer("b1", "offer", (3, 13), 8, 4, 4, 4),
    "s5": Answer("a6", "withdrawn", (3, 3), 3, 2, 3, 2),
    "s6": Answer("a5", "rejected", (3, 20), 10, 5, 5, 5),
    "s7": Answer("b2", "interviewing", (3, 12), 7, 3, 4, 4),
    "s8": Answer("b4", "offer", (3, 16), 0, 1, 2, 1),
    "s9": Answer("a5", "interviewing", (3, 19), 9, 4, 4, 5),
    "s10": Answer("a9", "interviewing", (4, 9), 0, 1, 1, 1),
}


def _offer(
    b: Builder,
    app: Application,
    by: User,
    *,
    status: str,
    sent: datetime | None,
    answered: datetime | None = None,
    reason: str = "",
    revision: int = 1,
) -> Offer:
    created = (sent or at(3, 22)) - timedelta(hours=2)
    row = Offer(
        application_id=app.id or 0,
        revision=revision,
        status=OfferStatus(status),
        job_title="Engineer",
        start_date=date(2026, 4, 20),
        response_deadline=date(2026, 4, 30),
        created_by_id=by.id or 0,
        created_at=created,
        sent_at=sent,
        answered_at=answered,
        decline_reason=reason,
    )
    b.session.add(row)
    b.session.commit()
    return row


def add_answer(session: Session, name: str, app: Application, answer: Answer) -> None:
    """A survey answer about `app`: its invite (used) and its response, committed; `name` makes the token unique."""
    when = at(*answer.day, 12)
    invite = SurveyInvite(
        token_hash=f"metrics-more-{name}",
        application_id=app.id or 0,
        stage=answer.stage,
        created_at=when - timedelta(days=1),
        expires_at=when + timedelta(days=13),
        used_at=when,
    )
    session.add(invite)
    session.flush()
    session.add(
        SurveyResponse(
            invite_id=invite.id or 0,
            job_id=app.job_id,
            stage=answer.stage,
            nps=answer.nps,
            clarity=answer.clarity,
            respect=answer.respect,
            treatment=answer.treatment,
            at=when,
        )
    )
    session.commit()


def build_more_history(session: Session, clock: Any) -> History:
    """The base history and the rows of the module docstring, committed; the clock is left at NOW. The new
    applications are in `apps` too (b1 … b6)."""
    h = build_history(session, clock)
    b = Builder(session, clock)
    admin, recruiter = h.admin, h.recruiter
    job_a, job_b = h.job_a, h.job_b

    b1, _ = b.application(job_a, at(3, 10), actor=recruiter, source="headhunter")
    b.move(b1, "offer", at(3, 11))
    _offer(b, b1, admin, status="accepted", sent=at(3, 12), answered=at(3, 15))
    b.move(b1, "hired", at(3, 15))

    b2, _ = b.application(job_b, at(3, 12), actor=recruiter, source="headhunter")
    b.move(b2, "offer", at(3, 13))
    _offer(b, b2, admin, status="declined", sent=at(3, 14), answered=at(3, 16, 16), reason="competing_offer")
    b.move(b2, "withdrawn", at(3, 16, 16), "offer_declined:competing_offer")

    b3, _ = b.application(job_a, at(3, 14), actor=recruiter, source="career_site")
    b.move(b3, "offer", at(3, 18))
    _offer(b, b3, admin, status="sent", sent=at(3, 20))

    b4, _ = b.application(job_b, at(3, 5), actor=recruiter, source="career_site")
    b.move(b4, "offer", at(3, 8))
    _offer(b, b4, admin, status="withdrawn", sent=at(3, 9))
    _offer(b, b4, admin, status="declined", sent=at(3, 10), answered=at(3, 15), reason="compensation", revision=2)
    b.move(b4, "withdrawn", at(3, 15), "offer_declined:compensation")

    b5, _ = b.application(job_a, at(3, 20), actor=recruiter, source="social")
    b.move(b5, "offer", at(3, 22))
    _offer(b, b5, admin, status="draft", sent=None)

    b6, _ = b.application(job_b, at(2, 20), actor=recruiter, source="social")
    b.move(b6, "offer", at(2, 25))
    _offer(b, b6, admin, status="accepted", sent=at(3, 3), answered=at(3, 4, 22))
    b.move(b6, "hired", at(3, 4, 22))

    h.apps |= {"b1": b1, "b2": b2, "b3": b3, "b4": b4, "b5": b5, "b6": b6}
    for name, answer in ANSWERS.items():
        add_answer(session, name, h.apps[answer.app], answer)
    clock.set(NOW)
    return h
