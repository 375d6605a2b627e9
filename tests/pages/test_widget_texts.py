"""Streamlit's own widget texts are English unless a parameter sets them: every picker that can show its
placeholder ("Choose options", "Choose an option") gets one from our texts."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def test_every_multiselect_has_a_placeholder_from_our_texts() -> None:
    missing = [where for where, call in _calls("multiselect") if "placeholder" not in _keywords(call)]
    assert missing == []


def test_no_multiselect_offers_streamlits_english_select_all() -> None:
    # Its "Select all" / "Select N matches" has no parameter for its text: in a Chinese page it would be the one
    # English line of the list. None of our pickers needs it (an empty job filter already means every job).
    shown = [where for where, call in _calls("multiselect") if not _is_false(_keywords(call).get("select_all"))]
    assert shown == []


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def test_every_selectbox_that_starts_empty_has_a_placeholder_from_our_texts() -> None:
    missing = []
    for where, call in _calls("selectbox"):
        keywords = _keywords(call)
        starts_empty = isinstance(keywords.get("index"), ast.Constant) and keywords["index"].value is None
        if starts_empty and "placeholder" not in keywords:
            missing.append(where)
    assert missing == []


def test_every_selectbox_whose_first_option_is_none_has_a_placeholder_from_our_texts() -> None:
    """Streamlit shows the placeholder, not the None option's label, for a None value (e.g. after the language
    changed): without one the Chinese page says "Choose an option"."""
    missing = []
    for where, call in _calls("selectbox"):
        options = call.args[1] if len(call.args) > 1 else _keywords(call).get("options")
        first_is_none = (
            isinstance(options, ast.List)
            and options.elts
            and isinstance(options.elts[0], ast.Constant)
            and options.elts[0].value is None
        )
        if first_is_none and "placeholder" not in _keywords(call):
            missing.append(where)
    assert missing == []
