"""Offers — acceptance rate, counts by status, decline reasons, time to answer — on the fixed history of
tests/services/metrics_history_more.py; every expected figure is counted by hand from its offers table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from services.metrics import offer_metrics as metrics_offers
from services.metrics.filters import MetricFilter
from services.metrics.offer_metrics import DeclineReasonCount, OfferOutcomes
from services.metrics.speed import Spread
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH, History
from tests.services.metrics_history_more import build_more_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> History:
    return build_more_history(session, frozen_clock)


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def outcomes(session: Session, actor: Any, metric_filter: MetricFilter) -> OfferOutcomes:
    return metrics_offers.offer_outcomes(session=session, actor=actor, metric_filter=metric_filter)


def reasons(session: Session, actor: Any, metric_filter: MetricFilter) -> list[tuple[str, str, int]]:
    rows = metrics_offers.decline_reasons(session=session, actor=actor, metric_filter=metric_filter)
    return [(r.reason, r.label_key, r.count) for r in rows]


def nonzero(result: OfferOutcomes) -> dict[str, int]:
    return {k: v for k, v in result.by_status.items() if v}


def test_by_application_every_offer_of_the_periods_applications_counts_by_its_status(
    session: Session, history: History
) -> None:
    result = outcomes(session, history.admin, march())
    # o1, ob1 accepted; o3, ob2, ob4' declined; ob3 awaiting; ob4 replaced; ob5 a draft. ob6 is of a February
    # application.
    assert nonzero(result) == {"accepted": 2, "declined": 3, "sent": 1, "withdrawn": 1, "draft": 1}
    assert set(result.by_status) == {
        "draft",
        "pending_approval",
        "approved",
        "sent",
        "accepted",
        "declined",
        "expired",
        "withdrawn",
    }
    assert (result.offers, result.sent, result.answered, result.accepted, result.declined) == (8, 7, 5, 2, 3)
    assert result.acceptance_rate == pytest.approx(2 / 5)
    assert result.awaiting == 1
    # 1.0, 1.0, 2.25, 3.0, 5.0 days: the middle one, and the value at rank ⌈0.9·5⌉ = 5.
    assert result.days_to_answer == Spread(count=5, median=2.25, p90=5.0)


def test_by_event_the_offers_sent_in_the_period_count_whenever_their_application_began(
    session: Session, history: History
) -> None:
    result = outcomes(session, history.admin, march(basis="event"))
    # ob6 (a February application, sent 3 March) joins; the draft ob5 was never sent and leaves.
    assert nonzero(result) == {"accepted": 3, "declined": 3, "sent": 1, "withdrawn": 1}
    assert (result.offers, result.sent, result.answered) == (8, 8, 6)
    assert result.acceptance_rate == pytest.approx(0.5)
    # 1.0, 1.0, 1.5, 2.25, 3.0, 5.0 days: median (1.5 + 2.25) / 2 = 1.875, rounded to 1.88; p90 rank 6.
    assert result.days_to_answer == Spread(count=6, median=1.88, p90=5.0)


def test_decline_reasons_count_each_reason_with_its_catalog_label(session: Session, history: History) -> None:
    assert reasons(session, history.admin, march()) == [
        ("compensation", "decline.compensation", 2),
        ("competing_offer", "decline.competing_offer", 1),
    ]
    # Only job A: a3's offer.
    assert reasons(session, history.admin, march(job_ids=[history.job_a.id])) == [
        ("compensation", "decline.compensation", 1)
    ]
    rows = metrics_offers.decline_reasons(session=session, actor=history.admin, metric_filter=march())
    assert all(isinstance(r, DeclineReasonCount) for r in rows)


def test_a_decline_without_a_known_reason_is_labelled_other(session: Session, history: History) -> None:
    from models.onboard import Offer

    offer = session.get(Offer, 1)  # o1, a1's accepted offer: made a decline with an old, unknown code
    assert offer is not None and offer.application_id == history.apps["a1"].id
    offer.status, offer.decline_reason = "declined", "gone_fishing"  # type: ignore[assignment]
    session.add(offer)
    session.commit()
    assert ("gone_fishing", "decline.other", 1) in reasons(session, history.admin, march())


def test_an_empty_period_has_no_offers_and_no_rate(session: Session, history: History) -> None:
    empty = MetricFilter(start=date(2025, 1, 1), end=date(2025, 1, 31))
    for basis in ("application", "event"):
        result = outcomes(session, history.admin, MetricFilter(start=empty.start, end=empty.end, basis=basis))
        assert (result.offers, result.sent, result.answered, result.awaiting) == (0, 0, 0, 0)
        assert set(result.by_status.values()) == {0}
        assert result.acceptance_rate is None
        assert result.days_to_answer == Spread(count=0, median=None, p90=None)
        assert reasons(session, history.admin, empty) == []


def test_a_hiring_manager_sees_the_offers_of_their_own_jobs_only(session: Session, history: History) -> None:
    for basis in ("application", "event"):
        mine = outcomes(session, history.m, march(basis=basis))
        admin_a = outcomes(session, history.admin, march(basis=basis, job_ids=[history.job_a.id]))
        assert mine == admin_a
        assert reasons(session, history.m, march(basis=basis)) == reasons(
            session, history.admin, march(basis=basis, job_ids=[history.job_a.id])
        )
    mine = outcomes(session, history.m, march())
    # Job A: o1 and ob1 accepted (1 and 3 days), o3 declined (1 day), ob3 awaiting, ob5 a draft.
    assert nonzero(mine) == {"accepted": 2, "declined": 1, "sent": 1, "draft": 1}
    assert mine.acceptance_rate == pytest.approx(2 / 3)
    assert mine.days_to_answer == Spread(count=3, median=1.0, p90=3.0)
    # Asking for the other manager's job gives nothing, not their figures.
    other = outcomes(session, history.m, march(job_ids=[history.job_b.id]))
    assert other.offers == 0 and other.acceptance_rate is None
    # Manager N (job B): ob2 and ob4' declined, ob4 replaced: none accepted.
    theirs = outcomes(session, history.n, march())
    assert nonzero(theirs) == {"declined": 2, "withdrawn": 1}
    assert theirs.acceptance_rate == 0.0


def test_filters_by_source_and_recruiter(session: Session, history: History) -> None:
    headhunter = outcomes(session, history.admin, march(source="headhunter"))
    assert nonzero(headhunter) == {"accepted": 1, "declined": 1}  # ob1, ob2
    # a3's offer is of an application the admin created; the recruiter owns every other one.
    by_recruiter = outcomes(session, history.admin, march(recruiter_id=history.recruiter.id))
    admins = outcomes(session, history.admin, march(recruiter_id=history.admin.id))
    assert by_recruiter.offers + admins.offers == 8
    assert nonzero(admins) == {"declined": 1}


def test_interviewers_are_refused(session: Session, history: History) -> None:
    with pytest.raises(NotAllowed):
        outcomes(session, history.interviewer, march())
    with pytest.raises(NotAllowed):
        metrics_offers.decline_reasons(session=session, actor=history.panel["p1"], metric_filter=march())
    with pytest.raises(NotAllowed):
        outcomes(session, None, march())
