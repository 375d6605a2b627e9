"""ui.common.act, the one way a page runs a user action, on a tiny page of its own."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages.support import all_text, assert_no_exception, tr


def _page() -> None:
    import streamlit as st

    from services.platform.errors import Conflict, NotFound, ValidationError
    from ui.common import act, show_flash

    show_flash()
    slot = st.empty()

    def double(*, session: object, value: int) -> int:
        st.session_state["had_session"] = session is not None
        outcome = st.session_state.get("outcome", "done")
        if outcome == "invalid":
            raise ValidationError.single("value", "err.required")
        if outcome == "conflict":
            raise Conflict("err.conflict")
        if outcome == "refused":
            raise NotFound()
        return value * 2

    if st.button("go", key="go"):
        act(
            double,
            value=21,
            where={"value": slot, "__all__": slot},
            on={Conflict: lambda exc: st.session_state.update(resolved=exc.key)},
            then=lambda result: st.session_state.update(result=result),
            done=lambda result: f"doubled {result}",
        )


def run(outcome: str) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=30)
    at.session_state["outcome"] = outcome
    at.run()
    at.button(key="go").click().run()
    assert_no_exception(at)
    return at


def test_a_done_action_keeps_its_result_flashes_and_runs_the_page_again(app_db: str) -> None:
    at = run("done")
    assert at.session_state["had_session"] and at.session_state["result"] == 42
    assert [m.value for m in at.success] == ["doubled 42"]  # shown by the new run, so it was flashed
    assert not at.error


def test_a_refusal_is_shown_beside_the_form_and_nothing_is_kept(app_db: str) -> None:
    at = run("refused")
    assert tr("err.not_found", "zh") in all_text(at)
    assert "result" not in at.session_state and not at.success


def test_a_field_error_goes_under_its_field(app_db: str) -> None:
    at = run("invalid")
    assert [e.value for e in at.error] == [tr("err.required", "zh")]
    assert "result" not in at.session_state


def test_an_error_the_page_resolves_goes_to_its_handler_not_on_screen(app_db: str) -> None:
    at = run("conflict")
    assert at.session_state["resolved"] == "err.conflict"
    assert not at.error and not at.success and "result" not in at.session_state
