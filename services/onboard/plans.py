"""Onboarding plans: created from a template when an offer is accepted (to be built: issue 11)."""

from __future__ import annotations

from sqlmodel import Session

from models.onboard import Offer, OnboardingPlan
from models.user import User


def start_onboarding(*, session: Session, offer: Offer, actor: User | None) -> OnboardingPlan | None:  # noqa: ARG001 - scaffold, replaced in this issue
    """Create the onboarding plan of an accepted offer (no commit); `actor` None when the candidate accepted
    through their link."""
    return None
