"""One new hire's private page as HR sees it: the link (issue, revoke, re-issue), the welcome mail, the checklist
and uploads. (Built by the new-hire part of issue 11.)"""

from __future__ import annotations


def welcome_tab(plan_id: int) -> None:
    """The New hire's page tab of pages/new_hire.py."""
