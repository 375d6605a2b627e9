"""The Onboard screen's offers: the list by status, one offer's editor and approvals, the approval settings.
(Built by the offers part of issue 11.)"""

from __future__ import annotations


def offers_section() -> None:
    """The Offers tab of pages/onboard.py."""


def approval_settings_section() -> None:
    """The offer approval settings on pages/onboard_settings.py (admins)."""
