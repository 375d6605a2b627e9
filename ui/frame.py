"""The frame: page config, sign-in gate, sidebar and navigation by role."""

from __future__ import annotations

import html
import json
import logging
from datetime import timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

import services.registry  # noqa: F401 - every screen's rules and My tasks providers
from models.common import Language
from services.platform import auth, policy, users
from services.platform.config import get_settings
from services.platform.db import database_problem, database_ready, migrate
from services.platform.i18n import t
from ui.common import LANG_KEY, USER_KEY, db, lang, md_escape, tr

COOKIE = "followup_session"
log = logging.getLogger("followup.frame")
TAB_KEY = "auth_tab_token"  # this tab's own sign-in (services.platform.auth.open_tab_session), kept server-side only


def _prepare_database() -> None:
    """Migrate once per server process and database (the ASGI lifespan usually did already); after a failure
    (the database was down at start) the next run tries again, so it is migrated as soon as it is back."""
    migrate()


def _cookie_token() -> str | None:
    """This browser's session token; anything but a string (AppTest's mocked context) counts as none."""
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and token else None


def _sso_email() -> str | None:
    """The email the company's proxy header or OIDC sign-on vouches for in this run, if any."""
    settings = get_settings()
    if settings.auth_header:
        email = st.context.headers.get(settings.auth_header)
        if email:
            return str(email).strip().lower()
    if _oidc_configured() and st.user.get("is_logged_in", False):
        return str(st.user.get("email", "")).strip().lower() or None
    return None


def _tab_still_signed_in(session, cached) -> bool:  # Session, User
    """Whether what signed this tab in still holds, asked of the database on every run: the cookie's session,
    else the tab's own sign-in (no cookie arrived), else the company's sign-on. Revoked or expired: no."""
    token = _cookie_token()
    if token is not None:
        owner = auth.user_for_session(session=session, token=token)
        return owner is not None and owner.id == cached.id
    tab = st.session_state.get(TAB_KEY)
    if tab:
        owner = auth.user_for_session(session=session, token=tab, kind="tab")
        return owner is not None and owner.id == cached.id
    return _sso_email() == cached.email


def _resolve_user():  # User | None
    """Who is signed in: this tab, the session cookie, the company's proxy header or OIDC login."""
    settings = get_settings()
    cached = st.session_state.get(USER_KEY)
    with db() as session:
        if cached is not None:
            fresh = session.get(type(cached), cached.id)
            if fresh is not None and fresh.is_active and _tab_still_signed_in(session, cached):
                return fresh
            st.session_state.pop(USER_KEY, None)
            st.session_state.pop(TAB_KEY, None)
            return None
        user = auth.user_for_session(session=session, token=_cookie_token())
        if user is None and settings.auth_header:
            email = st.context.headers.get(settings.auth_header)
            if email:
                user = auth.sso_user(session=session, email=email)
        if user is None and _oidc_configured() and st.user.get("is_logged_in", False):
            user = auth.sso_user(
                session=session,
                email=str(st.user.get("email", "")),
                name=st.user.get("name"),
                subject=st.user.get("sub"),
            )
        return user if user is not None and user.is_active else None


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def continue_signed_in(user, ticket: str) -> None:  # models.user.User
    """After a correct password: the browser trades the one-time ticket for its HttpOnly cookie and comes back.

    The redirect is sent from the page that signed in, in a run that switches no page: sent in the same run as
    the switch to the signed-in pages, the browser sometimes dropped it and never got the cookie.
    """
    # Signed in in this tab even if the redirect does not happen, through a sign-in the database can revoke.
    with db() as session:
        st.session_state[TAB_KEY] = auth.open_tab_session(session=session, user=user)
    st.session_state[USER_KEY] = user
    url = f"/session/start?ticket={ticket}"
    st.info(tr("signin.redirecting"), icon=":material/hourglass_top:")
    st.html(
        f'<a href="{html.escape(url)}" target="_self">{html.escape(tr("signin.continue"))}</a>'
        f"<script>window.location.replace({json.dumps(url)});</script>",
        unsafe_allow_javascript=True,
    )
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
        tr("nav.language"),
        options,
        key="frame_language",
        on_change=_choose_language,
        format_func=lambda code: {"zh": "简体中文", "en": "English"}[code],
    )


def sign_out() -> None:
    """Revoke the session, forget the user in this tab and clear the cookie."""
    with db() as session:
        auth.end_session(session=session, token=_cookie_token())
        auth.end_session(session=session, token=st.session_state.get(TAB_KEY))
    st.session_state.clear()
    if _oidc_configured() and st.user.get("is_logged_in", False):
        st.logout()
    # A POST from this page (the route refuses GET and other sites), which clears the HttpOnly cookie.
    st.html(
        "<script>const f = document.createElement('form'); f.method = 'post'; f.action = '/session/end';"
        "document.body.appendChild(f); f.submit();</script>",
        unsafe_allow_javascript=True,
    )
    st.stop()


# Title and icon of each screen; who sees it is services.platform.policy.PAGES' business.
_PAGE_LOOK = {
    "pages/my_tasks.py": ("nav.my_tasks", ":material/checklist:"),
    "pages/interviews.py": ("nav.interviews", ":material/event:"),
    "pages/follow_up.py": ("nav.follow_up", ":material/support_agent:"),
    "pages/candidates.py": ("nav.candidates", ":material/group:"),
    "pages/jobs.py": ("nav.jobs", ":material/work:"),
    "pages/import_candidates.py": ("nav.import", ":material/upload_file:"),
    "pages/talent_pool.py": ("nav.talent_pool", ":material/bookmarks:"),
    "pages/onboard.py": ("nav.onboard", ":material/badge:"),
    "pages/new_hire.py": ("nav.new_hire", ":material/person_add:"),
    "pages/metrics.py": ("nav.metrics", ":material/monitoring:"),
    "pages/outbox.py": ("nav.outbox", ":material/outgoing_mail:"),
    "pages/scorecard.py": ("nav.scorecard", ":material/rate_review:"),
    "pages/debrief.py": ("nav.debrief", ":material/groups:"),
    "pages/users.py": ("nav.users", ":material/manage_accounts:"),
    "pages/rounds.py": ("nav.rounds", ":material/checklist_rtl:"),
    "pages/onboard_settings.py": ("nav.onboard_settings", ":material/tune:"),
    "pages/privacy.py": ("nav.privacy", ":material/shield_person:"),
    "pages/account.py": ("nav.account", ":material/person:"),
}
_SETTINGS_PAGES = {
    "pages/users.py",
    "pages/rounds.py",
    "pages/onboard_settings.py",
    "pages/privacy.py",
    "pages/account.py",
}
# A candidate's or new hire's private link: no account, no menu, nothing else of the app (query parameter, page,
# title key, icon).
_PUBLIC_LINKS = (
    ("survey", "pages/survey.py", "survey.title", ":material/reviews:"),
    ("offer", "pages/offer_answer.py", "offer_answer.title", ":material/contract:"),
    ("welcome", "pages/welcome.py", "welcome.title", ":material/waving_hand:"),
    ("consent", "pages/consent.py", "consent.title", ":material/verified_user:"),  # privacy (issue 13)
    ("notice", "pages/privacy_notice.py", "privacy_notice.title", ":material/policy:"),
)


def _not_for_your_role() -> None:
    """A screen this account's roles do not open, asked for by its address (a bookmark, a link from a colleague):
    said plainly in the reader's language, instead of Streamlit's English "Page not found"."""
    st.title(tr("noaccess.role_title"), anchor=False)
    st.info(tr("noaccess.role_body"), icon=":material/lock:")


def _pages_for(user) -> dict[str, list[st.Page]]:
    """The navigation sections this user's capabilities open (services.platform.policy.PAGES); every other screen's
    address leads to a hidden page that says it is not for their role (st.navigation has no hook for an unknown
    page: it tells the browser "Page not found" in English and runs the default page)."""
    allowed = policy.pages_for(user)
    # The landing page (Candidates; for someone who only interviews, their interviews) is served at "/" and
    # only there: links in mail to a candidate therefore use "/?id=…" (services.mail.reminders.candidate_link).
    landing = "pages/candidates.py" if policy.holds(user, policy.Cap.view_candidates) else "pages/interviews.py"
    work: list[st.Page] = []
    settings: list[st.Page] = []
    for rule in allowed:
        title, icon = _PAGE_LOOK[rule.path]
        page = st.Page(
            rule.path,
            title=tr(title),
            icon=icon,
            default=rule.path == landing,
            visibility="hidden" if rule.hidden else "visible",
        )
        (settings if rule.path in _SETTINGS_PAGES else work).append(page)
    opened = {rule.path for rule in allowed}
    for path, (title, _) in _PAGE_LOOK.items():
        if path not in opened:  # the same address the screen has for those who may open it: its file's name
            work.append(
                st.Page(
                    _not_for_your_role,
                    title=tr(title),
                    icon=":material/lock:",
                    url_path=path.removeprefix("pages/").removesuffix(".py"),
                    visibility="hidden",
                )
            )
    return {tr("nav.section_work"): work, tr("nav.section_settings"): settings}


def _database_unavailable(problem: str) -> None:
    """The page shown while the database cannot be reached or written: in both languages (who is reading may
    not be known), no traceback; it retries by itself and carries on once the database answers again."""
    st.title(f"{t('dbdown.title', 'zh')} · {t('dbdown.title', 'en')}", anchor=False)
    key = "dbdown.read_only" if problem == "read_only" else "dbdown.unavailable"
    st.warning(t(key, "zh"), icon=":material/cloud_off:")
    st.warning(t(key, "en"), icon=":material/cloud_off:")
    st.button(f"{t('dbdown.retry', 'zh')} · {t('dbdown.retry', 'en')}", key="frame_db_retry", icon=":material/refresh:")
    if problem == "unavailable":
        _wait_for_database()


@st.fragment(run_every=timedelta(seconds=10))
def _wait_for_database() -> None:
    # Every 10 seconds: once the database answers (migrated if it just came back), the whole page runs again.
    if database_ready():
        st.rerun(scope="app")


def main() -> None:
    st.set_page_config(page_title=tr("app.title"), page_icon=":material/forum:", layout="wide")
    try:
        _main()
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        log.warning(
            "database %s (%s: %s)",
            problem,
            type(exc).__name__,
            str(getattr(exc, "orig", None) or exc).splitlines()[0][:300],
        )
        _database_unavailable(problem)


def _main() -> None:
    _prepare_database()
    for param, page, title, icon in _PUBLIC_LINKS:
        if st.query_params.get(param):
            st.navigation([st.Page(page, title=tr(title), icon=icon)], position="hidden").run()
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
        st.navigation(
            [st.Page("pages/no_access.py", title=tr("nav.no_access"), icon=":material/lock:")], position="hidden"
        ).run()
        return
    # expanded: an admin's menu has more entries than Streamlit shows before its "View more" fold.
    st.navigation(_pages_for(user), expanded=True).run()
