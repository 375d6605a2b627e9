"""What a second look at the Onboard screen in the browser found (issue 11), each pinned by a test: a Save pressed
with nothing changed leaves the offer as it was (an approved or sent offer is not revised, withdrawn and sent back
for approval), and a salary's currency is three letters, not any three characters.

The clock is frozen at T0 of tests/services/test_offers.py (2026-03-02 09:00 UTC)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from models.audit import AuditLog
from models.onboard import Offer
from services.onboard import offers
from services.platform.errors import ValidationError
from tests.factories import done
from tests.services.test_offers import approved, count, drafted, form, sent, world


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def _audit_rows(session, offer_id: int) -> int:
    return len(session.exec(select(AuditLog).where(AuditLog.entity == "offer", AuditLog.entity_id == offer_id)).all())


def _save_unchanged(session, w, offer: Offer) -> Offer:
    return done(
        session,
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=offer.id, version=offer.version, offer_in=form()
        ),
    )


def test_saving_a_draft_twice_without_a_change_changes_nothing(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    before = _audit_rows(session, offer.id)
    first = _save_unchanged(session, w, offer)
    second = _save_unchanged(session, w, first)
    assert (second.id, second.version, second.status, second.revision) == (offer.id, 1, "draft", 1)
    assert _audit_rows(session, offer.id) == before  # no "updated" line with nothing in it


def test_saving_an_approved_offer_without_a_change_keeps_it_approved(session, make) -> None:
    w = world(session, make)
    offer = approved(session, w)
    again = _save_unchanged(session, w, offer)
    session.expire_all()
    assert (again.id, again.status, again.revision) == (offer.id, "approved", 1)
    assert count(session, Offer) == 1  # no revision 2 waiting for approval again


def test_saving_a_sent_offer_without_a_change_keeps_the_candidates_link_working(session, make) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    again = _save_unchanged(session, w, offer)
    session.expire_all()
    assert (again.id, again.status) == (offer.id, "sent")
    assert offers.open_offer_link(session=session, token=token).job_title == offer.job_title


def test_a_real_change_to_a_sent_offer_still_makes_a_new_revision(session, make) -> None:
    w = world(session, make)
    offer, _ = sent(session, w)
    new = done(
        session,
        offers.update_offer(
            session=session,
            actor=w.recruiter,
            offer_id=offer.id,
            version=offer.version,
            offer_in=form(salary_amount="30000.00", level="P7"),  # the same amount written otherwise, a new level
        ),
    )
    assert (new.revision, new.status, new.level, new.salary_amount) == (2, "draft", "P7", Decimal("30000"))


@pytest.mark.parametrize("currency", ["=1+", "¥¥¥", "12A", "C Y", "ÄBC"])
def test_a_currency_that_is_not_three_letters_is_refused_next_to_its_field(session, make, currency) -> None:
    w = world(session, make)
    with pytest.raises(ValidationError) as exc:
        drafted(session, w, salary_currency=currency)
    assert exc.value.fields["salary_currency"][0] == "err.currency_code"
    session.rollback()
    assert count(session, Offer) == 0


def test_a_currency_is_kept_in_capitals(session, make) -> None:
    w = world(session, make)
    assert drafted(session, w, salary_currency=" usd ").salary_currency == "USD"


def test_a_bad_currency_on_a_revision_is_refused_and_the_offer_stays(session, make) -> None:
    w = world(session, make)
    offer = drafted(session, w)
    with pytest.raises(ValidationError) as exc:
        offers.update_offer(
            session=session, actor=w.recruiter, offer_id=offer.id, version=1, offer_in=form(salary_currency="=1+")
        )
    assert exc.value.fields["salary_currency"][0] == "err.currency_code"
    session.rollback()
    session.expire_all()
    assert session.get(Offer, offer.id).salary_currency == "CNY"
