"""The frame: page config, sign-in gate, sidebar and navigation by role."""

from __future__ import annotations

import json

import streamlit as st

from models.common import Language, Role
from services import auth, users
from services.config import get_settings
from services.db import migrate
from ui.common import LANG_KEY, USER_KEY, db, lang, tr

COOKIE = "followup_session"
TICKET_KEY = "auth_ticket"


@st.cache_resource(show_spinner=False)
def _prepare_database() -> bool:
    """Run migrations once per server process (the ASGI lifespan usually did already)."""
    migrate()
    return True


def _resolve_user():  # noqa: ANN202 - User | None
    """Who is signed in: this tab, the session cookie, the company's proxy header or OIDC login."""
    settings = get_settings()
    cached = st.session_state.get(USER_KEY)
    with db() as session:
        if cached is not None:
            fresh = session.get(type(cached), cached.id)
            if fresh is not None and fresh.is_active:
                return fresh
            st.session_state.pop(USER_KEY, None)
            return None
        user = auth.user_for_session(session=session, token=st.context.cookies.get(COOKIE))
        if user is None and settings.auth_header:
            email = st.context.headers.get(settings.auth_header)
            if email:
                user = auth.sso_user(session=session, email=email)
        if user is None and _oidc_configured() and st.user.get("is_logged_in", False):
            user = auth.sso_user(session=session, email=str(st.user.get("email", "")),
                                 name=st.user.get("name"), subject=st.user.get("sub"))
        return user if user is not None and user.is_active else None


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _redirect(url: str) -> None:
    """Send the browser to one of our own routes (to set or clear the HttpOnly cookie)."""
    st.html(f"<script>window.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)


def _language_picker() -> None:
    user = st.session_state.get(USER_KEY)
    options = [Language.zh.value, Language.en.value]
    current = lang()
    choice = st.selectbox(
        tr("nav.language"), options, index=options.index(current), key="frame_language",
        format_func=lambda code: {"zh": "简体中文", "en": "English"}[code],
    )
    if choice != current:
        if user is not None:
            with db() as session:
                st.session_state[USER_KEY] = users.set_language(session=session, actor=user, language=choice)
        st.session_state[LANG_KEY] = choice
        st.rerun()


def sign_out() -> None:
    """Revoke the session, forget the user in this tab and clear the cookie."""
    with db() as session:
        auth.end_session(session=session, token=st.context.cookies.get(COOKIE))
    st.session_state.clear()
    if _oidc_configured() and st.user.get("is_logged_in", False):
        st.logout()
    _redirect("/session/end")
    st.stop()


def _pages_for(user) -> dict[str, list[st.Page]]:  # noqa: ANN001
    """The navigation sections this user's roles open."""
    sections: dict[str, list[st.Page]] = {}
    work: list[st.Page] = []
    if user.has_role(Role.admin, Role.recruiter, Role.hiring_manager):
        work.append(st.Page("pages/candidates.py", title=tr("nav.candidates"), icon=":material/group:",
                            default=True))
    work.append(st.Page("pages/jobs.py", title=tr("nav.jobs"), icon=":material/work:",
                        default=not work))
    if user.has_role(Role.admin, Role.recruiter):
        work.append(st.Page("pages/import_candidates.py", title=tr("nav.import"), icon=":material/upload_file:"))
    sections[tr("nav.section_work")] = work
    admin: list[st.Page] = []
    if user.has_role(Role.admin):
        admin.append(st.Page("pages/users.py", title=tr("nav.users"), icon=":material/manage_accounts:"))
    admin.append(st.Page("pages/account.py", title=tr("nav.account"), icon=":material/person:"))
    sections[tr("nav.section_settings")] = admin
    return sections


def main() -> None:
    st.set_page_config(page_title=tr("app.title"), page_icon=":material/forum:", layout="wide")
    _prepare_database()
    ticket = st.session_state.pop(TICKET_KEY, None)
    if ticket:
        # Just signed in: let the browser exchange the ticket for its HttpOnly cookie (survives refresh).
        _redirect(f"/session/start?ticket={ticket}")
    user = _resolve_user()
    if user is None:
        st.session_state.pop(USER_KEY, None)
        with db() as session:
            first_run = auth.needs_first_admin(session=session)
        page = "pages/setup.py" if first_run else "pages/sign_in.py"
        title = tr("nav.setup") if first_run else tr("nav.sign_in")
        with st.sidebar:
            _language_picker()
        st.navigation([st.Page(page, title=title, icon=":material/login:")], position="hidden").run()
        return
    st.session_state[USER_KEY] = user
    with st.sidebar:
        st.markdown(f"**{user.name}**  \n{user.email}")
        roles = " · ".join(tr(f"role.{r}") for r in sorted(user.role_set)) or tr("role.none")
        st.caption(roles)
        _language_picker()
        if st.button(tr("nav.sign_out"), key="frame_sign_out", icon=":material/logout:"):
            sign_out()
    if not user.role_set:
        st.navigation([st.Page("pages/no_access.py", title=tr("nav.no_access"), icon=":material/lock:")],
                      position="hidden").run()
        return
    st.navigation(_pages_for(user)).run()
