"""Small helpers for reading and driving an AppTest run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streamlit.testing.v1 import AppTest

from services.platform.i18n import t
from services.platform.i18n import tn as t_n


def walk(node: Any) -> Iterator[Any]:
    """Every element under `node`, depth first, in page order."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def element_after(at: AppTest, key: str) -> Any:
    """The element drawn right after the widget with `key` (where a page puts that field's message)."""
    for node in walk(at.main):
        children = list(getattr(node, "children", {}).values())
        for i, child in enumerate(children):
            if getattr(child, "key", None) == key:
                return children[i + 1] if i + 1 < len(children) else None
    raise AssertionError(f"no widget with key {key!r} on the page")


def submit(at: AppTest, form_id: str) -> AppTest:
    """Click the submit button of form `form_id` and run."""
    buttons = [b for b in at.button if getattr(b, "form_id", "") == form_id]
    assert buttons, f"form {form_id!r} has no submit button on the page"
    return buttons[0].click().run()


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def all_text(at: AppTest) -> str:
    """Everything readable on the page (titles, markdown, plain text, messages, captions) as one string."""
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "text", "caption", "error", "warning", "info", "success"):
        parts += texts(getattr(at, kind))
    return "\n".join(parts)


def nav_pages(at: AppTest) -> set[str]:
    """The page files the last run's st.navigation offered (relative paths like 'pages/jobs.py')."""
    found = set()
    for info in at._registered_pages.values():  # AppTest keeps no public view of the navigation
        path = str(info.get("script_path") or "")
        if "/pages/" in path:
            found.add("pages/" + path.rsplit("/pages/", 1)[1])
    return found


def tr(key: str, lang: str, **params: Any) -> str:
    return t(key, lang, **params)


def tn(key: str, n: int, lang: str, **params: Any) -> str:
    """A counted text as the page shows it for count `n`."""
    return t_n(key, n, lang, **params)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def table_key_of(at: AppTest, prefix: str) -> str:
    """The key of the table whose key starts with `prefix` (selectable tables' keys change with their rows)."""
    for frame in at.dataframe:
        key = frame.key or ""
        if key.startswith(prefix):
            return key
    raise AssertionError(f"no table with a key starting {prefix!r} on the page")


def click_cell(at: AppTest, prefix: str, row: int, column: str) -> AppTest:
    """Click the cell in `column` of the table's `row` (not its checkbox) and run: what a person's click sends."""
    at.session_state[table_key_of(at, prefix)] = {"selection": {"rows": [], "columns": [], "cells": [[row, column]]}}
    return at.run()
