"""The Onboard screen's new hires: the list by start date with plan progress; the templates editor.
(Built by the plans part of issue 11.)"""

from __future__ import annotations


def hires_section() -> None:
    """The New hires tab of pages/onboard.py."""


def templates_section() -> None:
    """The onboarding templates editor on pages/onboard_settings.py (admins)."""
