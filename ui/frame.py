"""The frame: page config, sign-in gate, sidebar and navigation by role."""

from __future__ import annotations

import html
import json

import streamlit as st

from models.common import Language, Role
from services import auth, users
from services.config import get_settings
from services.db import migrate
from ui.common import LANG_KEY, USER_KEY, db, lang, md_escape, tr

COOKIE = "followup_session"


@st.cache_resource(show_spinner=False)
def _prepare_database() -> bool:
    """Run migrations once per server process (the ASGI lifespan usually did already)."""
    migrate()
    return True


def _cookie_token() -> str | None:
    """This browser's session token; anything but a string (AppTest's mocked context) counts as none."""
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and token else None


def _resolve_user():  # noqa: ANN202 - User | None
    """Who is signed in: this tab, the session cookie, the company's proxy header or OIDC login."""
    settings = get_settings()
    cached = st.session_state.get(USER_KEY)
    with db() as session:
        if cached is not None:
            fresh = session.get(type(cached), cached.id)
            token = _cookie_token()
            if token is not None:
                # A session revoked elsewhere (password changed or reset, signed out) ends this tab too.
                owner = auth.user_for_session(session=session, token=token)
                if owner is None or owner.id != cached.id:
                    fresh = None
            if fresh is not None and fresh.is_active:
                return fresh
            st.session_state.pop(USER_KEY, None)
            return None
        user = auth.user_for_session(session=session, token=_cookie_token())
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


def continue_signed_in(user, ticket: str) -> None:  # noqa: ANN001 - models.user.User
    """After a correct password: the browser trades the one-time ticket for its HttpOnly cookie and comes back.

    The redirect is sent from the page that signed in, in a run that switches no page: sent in the same run as
    the switch to the signed-in pages, the browser sometimes dropped it and never got the cookie.
    """
    st.session_state[USER_KEY] = user  # signed in in this tab even if the redirect does not happen
    url = f"/session/start?ticket={ticket}"
    st.info(tr("signin.redirecting"), icon=":material/hourglass_top:")
    st.html(f'<a href="{html.escape(url)}" target="_self">{html.escape(tr("signin.continue"))}</a>'
            f"<script>window.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)
    st.stop()


def _choose_language() -> None:
    """The sidebar select changed: keep the choice with the account (or this browser session)."""
    choice = st.session_state["frame_language"]
    user = st.session_state.get(USER_KEY)
    if user is not None and choice != user.language:
        with db() as session:
            st.session_state[USER_KEY] = users.set_language(session=session, actor=user, language=choice)
    st.session_state[LANG_KEY] = choice


def _language_picker() -> None:
    options = [Language.zh.value, Language.en.value]
    # Always show the language in use: after signing in it is the account's, not the one picked on the sign-in
    # page, and a value left over from there must not be taken for a change.
    st.session_state["frame_language"] = lang()
    st.selectbox(
        tr("nav.language"), options, key="frame_language", on_change=_choose_language,
        format_func=lambda code: {"zh": "简体中文", "en": "English"}[code],
    )


def sign_out() -> None:
    """Revoke the session, forget the user in this tab and clear the cookie."""
    with db() as session:
        auth.end_session(session=session, token=_cookie_token())
    st.session_state.clear()
    if _oidc_configured() and st.user.get("is_logged_in", False):
        st.logout()
    _redirect("/session/end")
    st.stop()


def _pages_for(user) -> dict[str, list[st.Page]]:  # noqa: ANN001
    """The navigation sections this user's roles open."""
    staff = user.has_role(Role.admin, Role.recruiter)
    sees_candidates = user.has_role(Role.admin, Role.recruiter, Role.hiring_manager)
    # The landing page (Candidates, else Jobs) is served at "/" and only there: links in mail to a candidate
    # therefore use "/?id=…" (services.reminders.candidate_link).
    work = [st.Page("pages/my_tasks.py", title=tr("nav.my_tasks"), icon=":material/checklist:"),
            st.Page("pages/interviews.py", title=tr("nav.interviews"), icon=":material/event:")]
    if staff:
        work.append(st.Page("pages/follow_up.py", title=tr("nav.follow_up"), icon=":material/support_agent:"))
    if sees_candidates:
        work.append(st.Page("pages/candidates.py", title=tr("nav.candidates"), icon=":material/group:",
                            default=True))
    work.append(st.Page("pages/jobs.py", title=tr("nav.jobs"), icon=":material/work:", default=not sees_candidates))
    if staff:
        work += [st.Page("pages/import_candidates.py", title=tr("nav.import"), icon=":material/upload_file:"),
                 st.Page("pages/talent_pool.py", title=tr("nav.talent_pool"), icon=":material/bookmarks:"),
                 st.Page("pages/outbox.py", title=tr("nav.outbox"), icon=":material/outgoing_mail:")]
    # Reached from links (an interview, an application), not from the menu.
    work += [st.Page("pages/scorecard.py", title=tr("nav.scorecard"), icon=":material/rate_review:",
                     visibility="hidden"),
             st.Page("pages/debrief.py", title=tr("nav.debrief"), icon=":material/groups:", visibility="hidden")]
    settings: list[st.Page] = []
    if user.has_role(Role.admin):
        settings += [st.Page("pages/users.py", title=tr("nav.users"), icon=":material/manage_accounts:"),
                     st.Page("pages/rounds.py", title=tr("nav.rounds"), icon=":material/checklist_rtl:")]
    settings.append(st.Page("pages/account.py", title=tr("nav.account"), icon=":material/person:"))
    return {tr("nav.section_work"): work, tr("nav.section_settings"): settings}


def main() -> None:
    st.set_page_config(page_title=tr("app.title"), page_icon=":material/forum:", layout="wide")
    _prepare_database()
    if st.query_params.get("survey"):
        # A candidate's private survey link: no account, no menu, nothing else of the app.
        st.navigation([st.Page("pages/survey.py", title=tr("survey.title"), icon=":material/reviews:")],
                      position="hidden").run()
        return
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
        st.markdown(f"**{md_escape(user.name)}**")
        st.text(user.email)
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
