"""The Onboard and Onboard settings pages keep the tab the person chose: after an action that reruns with a flash
message above the tabs, the same tab is open (unkeyed tabs were drawn anew and the browser showed the first)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from models.onboard import AppSetting
from services.onboard import offers
from services.platform import db
from tests.pages.followup_support import open_as
from tests.pages.support import all_text, assert_no_exception, tr


def _open_tab(at: Any) -> str:
    """The label of the tab the server tells the browser to show (the tab container's current index)."""
    containers = [node for node in _nodes(at._tree) if getattr(node, "type", "") == "tab_container"]
    assert len(containers) == 1
    container = containers[0]
    labels = [child.label for child in container.children.values()]
    return labels[container.proto.tab_container.default_tab_index]


def _nodes(node: Any) -> list[Any]:
    found = [node]
    for child in getattr(node, "children", {}).values():
        found += _nodes(child)
    return found


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_new_hires_tab_stays_open_when_the_onboard_page_reruns_with_a_flash(demo_db, open_app, language):
    at = open_as(open_app, "recruiter", "pages/onboard.py", language)
    assert_no_exception(at)
    assert _open_tab(at) == tr("onboard.tab_offers", language)  # the first tab, until another is chosen
    at.session_state["onboard_tabs"] = tr("onboard.tab_hires", language)  # the person clicks New hires
    at.run()
    assert _open_tab(at) == tr("onboard.tab_hires", language)
    at.session_state["_flash"] = ("success", "saved")  # what an action leaves for the next run (ui.common.flash)
    at.toggle(key="hires_closed").set_value(True).run()
    assert_no_exception(at)
    assert "saved" in [s.value for s in at.success]
    assert _open_tab(at) == tr("onboard.tab_hires", language)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_approval_tab_stays_open_after_turning_approval_off(demo_db, open_app, language):
    at = open_as(open_app, "admin", "pages/onboard_settings.py", language)
    assert_no_exception(at)
    assert _open_tab(at) == tr("onboard.tab_templates", language)
    at.session_state["onboard_settings_tabs"] = tr("onboard.tab_approval", language)
    at.run()
    assert _open_tab(at) == tr("onboard.tab_approval", language)
    at.toggle(key="onboard_offers_required").set_value(False).run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert not offers.approval_required(session)
        assert session.exec(select(AppSetting).where(AppSetting.key == offers.APPROVAL_SETTING)).one()
    assert at.success, all_text(at)  # the flash above the tabs …
    assert _open_tab(at) == tr("onboard.tab_approval", language)  # … and the tab the admin was on
