"""One new hire's training sessions (calendar invitations). (Built by the new-hire part of issue 11.)"""

from __future__ import annotations


def sessions_tab(plan_id: int) -> None:
    """The Training tab of pages/new_hire.py."""
