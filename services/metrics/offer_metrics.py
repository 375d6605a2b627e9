"""Offers: how many were accepted, why the others were declined, and how long candidates took to answer.

What counts, by the filter's basis:
- application basis: every offer (each revision) of the applications created in the period, whatever its status
  — a draft or one awaiting approval too, in the counts by status;
- event basis: the offers sent in the period (by `sent_at`), followed to their answer whenever it came.
An offer is answered when the candidate accepted or declined it; the acceptance rate is accepted over answered. An
offer withdrawn by us (a revision replaced by the next, or called off) or expired without an answer is not
answered, and counts only by its status. Still awaiting: sent, no answer yet. The time to answer runs from the
offer's `sent_at` to its `answered_at`, in days (median and 90th percentile, computed as services.metrics.speed
does). Decline reasons are the offer's `decline_reason` codes (models.onboard.DeclineReason); their labels are the
catalog keys `decline.<code>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from models.candidate import Application
from models.onboard import DeclineReason, Offer, OfferStatus
from models.user import User
from services.metrics.facts import hours_between
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope
from services.metrics.speed import Spread, _ranked, _spread, _spread_columns

ANSWERED: tuple[str, ...] = (OfferStatus.accepted.value, OfferStatus.declined.value)


@dataclass(frozen=True)
class OfferOutcomes:
    offers: int  # counted (see the module docstring): every status
    by_status: dict[str, int]  # every OfferStatus value, zero included
    sent: int  # of them, sent to the candidate
    answered: int  # accepted + declined
    accepted: int
    declined: int
    acceptance_rate: float | None  # accepted / answered (None with nothing answered)
    awaiting: int  # sent, not yet answered (status sent)
    days_to_answer: Spread  # sent to answered, of the answered


@dataclass(frozen=True)
class DeclineReasonCount:
    reason: str  # the offer's decline_reason code ("" when none was given)
    label_key: str  # the catalog key of its label: decline.<code>, decline.other for none or an unknown code
    count: int


def _offers(session: Session, actor: User | None, metric_filter: MetricFilter, name: str) -> Any:
    """SQL: the offers counted (module docstring) of the applications the viewer may see, as a CTE with offer_id,
    status, sent_at, answered_at and decline_reason."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    apps_query = scoped_applications(viewer, metric_filter)
    conditions: list[Any] = []
    if metric_filter.by_event:
        conditions += [col(Offer.sent_at) >= lo, col(Offer.sent_at) < hi]
    else:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte(f"{name}_apps")
    return (
        select(
            col(Offer.id).label("offer_id"),
            col(Offer.status).label("status"),
            col(Offer.sent_at).label("sent_at"),
            col(Offer.answered_at).label("answered_at"),
            col(Offer.decline_reason).label("decline_reason"),
        )
        .join(apps, apps.c.application_id == Offer.application_id)
        .where(*conditions)
        .cte(name)
    )


def offer_outcomes(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> OfferOutcomes:
    """The counted offers by status, the acceptance rate (accepted over answered), how many still await an answer
    and the days from sending to the answer (median, 90th percentile), in two aggregate queries. Changes nothing."""
    offers = _offers(session, actor, metric_filter, "outcome_offers")
    was_sent = func.sum(case((offers.c.sent_at.is_not(None), 1), else_=0))
    rows = session.execute(select(offers.c.status, func.count(), was_sent).group_by(offers.c.status)).all()
    by_status = {s.value: 0 for s in OfferStatus} | {str(r[0]): int(r[1]) for r in rows}
    sent = sum(int(r[2] or 0) for r in rows)
    answered = and_(offers.c.status.in_(ANSWERED), offers.c.sent_at.is_not(None), offers.c.answered_at.is_not(None))
    hours = case((answered, hours_between(offers.c.sent_at, offers.c.answered_at)))
    ranked = _ranked([], hours, None, [], offers)
    days = _spread(session.execute(select(*_spread_columns(ranked, ranked.c.v))).one(), scale=24.0)
    accepted, declined = by_status[OfferStatus.accepted.value], by_status[OfferStatus.declined.value]
    return OfferOutcomes(
        offers=sum(by_status.values()),
        by_status=by_status,
        sent=sent,
        answered=accepted + declined,
        accepted=accepted,
        declined=declined,
        acceptance_rate=accepted / (accepted + declined) if accepted + declined else None,
        awaiting=by_status[OfferStatus.sent.value],
        days_to_answer=days,
    )


def decline_reasons(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[DeclineReasonCount]:
    """The declined offers among those counted, by decline reason, most first (then by code). Changes nothing."""
    offers = _offers(session, actor, metric_filter, "declined_offers")
    reason = func.coalesce(offers.c.decline_reason, "").label("reason")
    count = func.count().label("n")
    rows = session.execute(
        select(reason, count)
        .where(offers.c.status == OfferStatus.declined.value)
        .group_by(reason)
        .order_by(count.desc(), reason)
    ).all()
    known = {r.value for r in DeclineReason}
    return [
        DeclineReasonCount(
            reason=str(code),
            label_key=f"decline.{code if code in known else DeclineReason.other.value}",
            count=int(n),
        )
        for code, n in rows
    ]
