"""Finding a field's message where a person sees it: below the field, even when the field sits in a column."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.pages.support import walk


def _path_to(node: Any, key: str) -> list[Any] | None:
    """The chain of blocks from `node` down to the widget with `key` (the widget last)."""
    for child in getattr(node, "children", {}).values():
        if getattr(child, "key", None) == key:
            return [node, child]
        below = _path_to(child, key)
        if below:
            return [node, *below]
    return None


def message_below(at: AppTest, key: str) -> Any:
    """The element drawn below the widget with `key`: its next sibling, or — when the widget sits in a column —
    the next sibling of the row of columns (where the pages put a field's message)."""
    path = _path_to(at.main, key)
    assert path, f"no widget with key {key!r} on the page"
    for parent, child in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
        siblings = list(parent.children.values())
        after = siblings[siblings.index(child) + 1 :]
        if getattr(child, "type", None) == "column":
            continue  # the next column is beside the field, not below it
        if after:
            return after[0]
    return None


def errors_in(node: Any) -> list[str]:
    return [str(e.value) for e in walk(node) if getattr(e, "type", None) == "error"]
