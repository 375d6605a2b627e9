"""Privacy notice versions (admins) and a candidate's legal basis, notice and consents (their page's Privacy tab)."""

from __future__ import annotations

from services.pipeline.candidates import CandidateDetail


def notice_section() -> None:
    """The Privacy page's notice tab (to be built)."""


def candidate_consent(detail: CandidateDetail) -> None:
    """The candidate page's legal basis, notice and consents (to be built)."""
