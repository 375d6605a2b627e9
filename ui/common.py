"""What every page needs: the signed-in user, the language, translated text and error display."""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import streamlit as st
from sqlmodel import Session
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from models.common import Role
from models.user import User
from services.platform.config import get_settings
from services.platform.db import session_scope
from services.platform.errors import Conflict, DomainError, ValidationError
from services.platform.i18n import detect_language, fmt_date, fmt_datetime, fmt_number, fmt_time, has_text, t, tn
from services.platform.policy import Cap, holds

T = TypeVar("T")
USER_KEY = "auth_user"
LANG_KEY = "ui_lang"


def lang() -> str:
    """The interface language: the user's choice, else this browser session's, else the browser's."""
    user = st.session_state.get(USER_KEY)
    if user is not None:
        return user.language
    if LANG_KEY not in st.session_state:
        locale = None
        try:
            locale = st.context.locale
        except Exception:  # AppTest has no browser context
            locale = None
        st.session_state[LANG_KEY] = detect_language(
            locale or st.context.headers.get("Accept-Language"), default=get_settings().language
        )
    return st.session_state[LANG_KEY]


def tr(key: str, **params: Any) -> str:
    """`key` in the current language."""
    return t(key, lang(), **params)


def trn(key: str, n: int, /, **params: Any) -> str:
    """`key` in the current language, in the plural form that count `n` takes ("1 candidate", "2 candidates")."""
    return tn(key, n, lang(), **params)


# Every ASCII punctuation character may be backslash-escaped in (CommonMark) Markdown and then stands for itself:
# no link, image, emphasis, heading, list, table, HTML tag, Streamlit directive (:red[…], :material/…:) or LaTeX.
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_AUTOLINK = re.compile(r":/|www\.|@", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md_escape(text: object, *, lines: bool = False) -> str:
    """User text (a name, a title, a note) made inert for the Markdown that Streamlit renders in st.markdown,
    st.caption, st.title/st.subheader, messages (st.info/st.error/…) and the labels of buttons, expanders, tabs
    and metrics: `![x](/session/end)` shows as those characters instead of loading /session/end as an image.
    `lines`: keep the text's line breaks (Markdown joins lines otherwise)."""
    plain = "" if text is None else str(text)
    # GitHub's "autolink literals" (http://…, www.…, a@b.c) become links even with every character escaped: an
    # invisible word joiner inside the pattern keeps them text.
    plain = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], plain)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", plain)
    return escaped.replace("\r\n", "\n").replace("\n", "  \n") if lines else escaped


def tr_md(key: str, /, *, plural_n: int | None = None, **params: Any) -> str:
    """`key` in the current language with its parameters escaped (md_escape), for a place that renders Markdown;
    with `plural_n`, in the plural form that count takes."""
    escaped = {k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()}
    return tr(key, **escaped) if plural_n is None else trn(key, plural_n, **escaped)


def current_user() -> User:
    """The signed-in user (the frame guarantees there is one on every page but sign-in)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        st.stop()
    return user


def has_role(*roles: Role) -> bool:
    user = st.session_state.get(USER_KEY)
    return bool(user and user.has_role(*roles))


def can(cap: Cap) -> bool:
    """Whether the signed-in user holds `cap` (platform.policy): what a page offers follows what the services allow."""
    return holds(st.session_state.get(USER_KEY), cap)


@contextmanager
def db() -> Iterator[Session]:
    """One user action's transaction: committed when the block ends, rolled back when it raises (services only
    flush). A page that reruns or stops inside the block (Streamlit raises for that) has finished its action:
    what it did is committed."""
    with session_scope() as session:
        try:
            yield session
        except DomainError:
            # Rows a domain error carries (the duplicates found, the version saved meanwhile) must stay
            # readable for the message: detached before the rollback, they are not expired by it.
            session.expunge_all()
            raise
        except ScriptControlException:
            session.commit()
            raise


def call(fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Run one service call in its own session; a domain error becomes a message and None is returned."""
    return act(fn, rerun=False, **kwargs)


def act(
    fn: Callable[..., T],
    /,
    *,
    done: str | Callable[[T], str] | None = None,
    where: dict[str, Any] | None = None,
    then: Callable[[T], object] | None = None,
    on: Mapping[type[DomainError], Callable[[Any], object]] | None = None,
    rerun: bool = True,
    **kwargs: Any,
) -> T | None:
    """One user action: `fn(session=…, **kwargs)` in its own session, one transaction.

    Refused: the first handler in `on` whose error class matches gets the error (a conflict to resolve, duplicates
    to offer), any other error is shown by `show_error(exc, where)`; None is returned.
    Done: `then(result)` keeps what the next run needs (session state), `done` (a text, or a function of the
    result giving one) is flashed, and the page runs again to show the change — or, with `rerun=False`, the
    result is returned to the page. Its own keywords are never passed on (no service takes one of those names)."""
    try:
        with db() as session:
            result = fn(session=session, **kwargs)
    except DomainError as exc:
        handle = next((h for kind, h in (on or {}).items() if isinstance(exc, kind)), None)
        if handle is None:
            show_error(exc, where)
        else:
            handle(exc)
        return None
    if then is not None:
        then(result)
    if done is not None:
        flash(done if isinstance(done, str) else done(result))
    if rerun:
        st.rerun()
    return result


def show_error(exc: DomainError, where: dict[str, Any] | None = None) -> None:
    """A service's refusal: field errors under their fields (`where`), anything else as one message, in
    `where["__all__"]` when there is such a place; stage names in it are translated."""
    if isinstance(exc, ValidationError):
        show_validation(exc, where)
        return
    params = {k: stage_label(v) if "stage" in k and isinstance(v, str) else v for k, v in exc.params.items()}
    target = (where or {}).get("__all__") or st
    icon = ":material/sync_problem:" if isinstance(exc, Conflict) else ":material/error:"
    target.error(error_md(exc, **params), icon=icon)  # params may quote what was typed or uploaded


def error_md(exc: DomainError, **params: Any) -> str:
    """A domain error's message in the current language, its parameters (`exc.params`, overridden by `params`)
    escaped, in the plural form its count takes."""
    params = {**exc.params, **params}
    n = params.get(exc.plural) if exc.plural else None
    return tr_md(exc.key, plural_n=n if isinstance(n, int) else None, **params)


def show_validation(exc: ValidationError, where: dict[str, Any] | None = None) -> None:
    """Put each field's message next to the field (a placeholder from `where`), else in one list."""
    loose = []
    for field, (key, params) in exc.fields.items():
        label = tr(f"field.{field}") if has_text(f"field.{field}") else field
        message = tr_md(key, **(params or {}))
        if where and field in where:
            where[field].error(message, icon=":material/error:")
        else:
            loose.append(f"**{label}**: {message}")
    if loose:
        st.error(tr("err.validation") + "\n\n" + "\n".join(f"- {m}" for m in loose), icon=":material/error:")


def fmt_dt(value: datetime | None) -> str:
    """A timestamp in the company's time zone, minutes precision."""
    if value is None:
        return ""
    return fmt_datetime(value, lang(), get_settings().tz)


def fmt_clock(value: datetime) -> str:
    """The time of day of a timestamp in the company's time zone (an interview's end beside its start)."""
    return fmt_time(value.astimezone(get_settings().tz), lang())


def fmt_num(value: float) -> str:
    """A number (a count, a salary) grouped as the person's locale groups it."""
    return fmt_number(value, lang())


def fmt_day(value: date) -> str:
    """A day as the person reads it."""
    return fmt_date(value, lang())


def flash(message: str, kind: str = "success") -> None:
    """A message shown once after the next rerun (e.g. 'saved')."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop("_flash", None)
    if item:
        kind, message = item
        if kind == "success":
            st.success(message, icon=":material/check_circle:")
        else:
            st.info(message, icon=":material/info:")


def table_key(prefix: str, ids: list[int]) -> str:
    """A selectable table's key that changes with the rows it lists, in order.

    Streamlit keeps a table's selection as row numbers: once a row is gone or the order changes (a contact
    logged, an interview moved) the same number is another row, and the page would act on someone else.
    A new key starts the changed table without a selection.
    """
    return f"{prefix}_{zlib.crc32(','.join(map(str, ids)).encode()):08x}"


def picked_row(state: Any) -> int | None:
    """The position of the row a table's selection points at: the row of the clicked cell (or a ticked row)."""
    if not state:
        return None
    selection = state.get("selection") or {}
    cells = selection.get("cells") or []
    if cells:
        return int(cells[0][0])
    rows = selection.get("rows") or []
    return int(rows[0]) if rows else None


def row_table(
    data: Any,
    *,
    key: str,
    ids: list[int],
    column_config: dict[str, Any] | None = None,
    on_pick: Callable[[int | None], None] | None = None,
    caption: str | None = None,
) -> int | None:
    """A table in which a click on any cell of a row opens that row; returns the id (from `ids`) of the row
    picked, or None. `on_pick` (optional) is called with that id as soon as the click arrives, before the run.

    Single-cell selection, not single-row: a row can then only be picked through its narrow checkbox column,
    and a click anywhere else did nothing. The key changes with the rows listed (`table_key`), so a changed
    table starts without a selection. `caption` (already translated) says under the table what a click does.
    """
    full_key = table_key(key, ids)

    def _changed() -> None:
        index = picked_row(st.session_state.get(full_key))
        on_pick(ids[index] if index is not None and index < len(ids) else None)  # type: ignore[misc]

    event = st.dataframe(
        data,
        key=full_key,
        hide_index=True,
        width="stretch",
        column_config=column_config,
        on_select=_changed if on_pick else "rerun",
        selection_mode="single-cell",
    )
    if caption:
        st.caption(caption)
    index = picked_row(event)
    return ids[index] if index is not None and index < len(ids) else None


def stage_label(stage: str) -> str:
    return tr(f"stage.{stage}")


def role_label(role: str) -> str:
    return tr(f"role.{role}")
