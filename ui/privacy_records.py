"""Requests to see or erase data, exports, and records of who looked at whose data."""

from __future__ import annotations

from services.pipeline.candidates import CandidateDetail


def requests_section() -> None:
    """The Privacy page's requests tab (to be built)."""


def access_section() -> None:
    """The Privacy page's access-records tab (to be built)."""


def candidate_records(detail: CandidateDetail) -> None:
    """The candidate page's export, requests and who looked (to be built)."""
