"""Retention rules (admins) and a candidate's keep-until date, hold and erasure (their page's Privacy tab)."""

from __future__ import annotations

from services.pipeline.candidates import CandidateDetail


def retention_section() -> None:
    """The Privacy page's retention tab (to be built)."""


def candidate_retention(detail: CandidateDetail) -> None:
    """The candidate page's keep-until date, "keep longer" and "erase now" (to be built)."""
