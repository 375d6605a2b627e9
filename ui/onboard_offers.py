"""The Onboard screen's offers: the list by status, one offer's editor, approvals, letter and answer; the approval
settings (admins). Every action is one service call (services.onboard.offers); user text is shown as text."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from sqlmodel import Session

from models.onboard import DeclineReason, Offer, OfferStatus, SalaryPeriod
from models.user import User
from services.onboard import offers
from services.platform.errors import Conflict, NotAllowed, NotFound
from services.platform.policy import Cap
from ui.common import (
    act,
    call,
    can,
    current_user,
    fmt_day,
    fmt_dt,
    row_table,
    show_error,
    stage_label,
    tr,
    tr_md,
)
from ui.drafts import SendWith, review_draft

K = "onboard_offers_"  # every widget's key starts with this
PICKED = K + "picked"
DECISION_TEXT = {"approved": "onboard_offers.decision_approved", "rejected": "onboard_offers.decision_rejected"}
LIVE = (OfferStatus.draft, OfferStatus.pending_approval, OfferStatus.approved, OfferStatus.sent)


def status_label(status: str) -> str:
    return tr(f"offer_status.{status}")


def _pick(offer_id: int | None) -> None:
    st.session_state[PICKED] = offer_id
    if offer_id is not None:
        st.query_params["offer_id"] = str(offer_id)
    else:
        st.query_params.pop("offer_id", None)


def _linked_offer(user: User) -> int | None:
    """The offer a link asks for: `?offer_id=<id>` (not `offer`: that is the candidate's public link), or the newest
    offer of `?application=<id>` (None: none yet)."""
    raw = st.query_params.get("offer_id", "")
    if raw.isdigit():
        return int(raw)
    app = st.query_params.get("application", "")
    if app.isdigit():
        rows = call(offers.list_offers, actor=user, application_id=int(app)) or []
        live = [r for r in rows if r.status in LIVE]
        if live or rows:
            return max(live or rows, key=lambda r: r.revision).offer_id
    return None


# --------------------------------------------------------------------------- the Offers tab
def offers_section() -> None:
    """The Offers tab of pages/onboard.py: the list by status, a new offer, one offer's editor and actions."""
    user = current_user()
    linked = _linked_offer(user)
    if linked is not None and st.session_state.get(K + "linked") != linked:
        st.session_state[K + "linked"] = linked  # a link opens its offer once; a click in the table then wins
        st.session_state[PICKED] = linked
    statuses = [s.value for s in OfferStatus]
    status = st.selectbox(
        tr("onboard_offers.status_filter"),
        [None, *statuses],
        key=K + "status",
        format_func=lambda s: status_label(s) if s else tr("common.all"),
        placeholder=tr("common.all"),
    )
    rows = call(offers.list_offers, actor=user, status=status) or []
    if not rows:
        st.info(tr("onboard_offers.none"), icon=":material/contract:")
    else:
        frame = pd.DataFrame(
            [
                {
                    tr("field.name"): r.candidate,
                    tr("onboard_offers.job"): r.job,
                    tr("field.status"): status_label(r.status)
                    + (f" · {tr('onboard_offers.waiting_for_you')}" if r.waiting_for_me else ""),
                    tr("field.response_deadline"): fmt_day(r.response_deadline),
                    tr("field.start_date"): fmt_day(r.start_date),
                    tr("onboard_offers.approvals_waiting"): r.approvals_waiting,
                    tr("onboard_offers.revision"): r.revision,
                    tr("onboard_offers.owner"): r.owner,
                }
                for r in rows
            ]
        )
        picked = row_table(
            frame,
            key=K + "table",
            ids=[r.offer_id for r in rows],
            on_pick=_pick,
            caption=tr("onboard_offers.pick_hint"),
        )
        if picked is not None:
            st.session_state[PICKED] = picked
    if can(Cap.edit_offers):
        _new_offer(user, linked)
    chosen = st.session_state.get(PICKED)
    if chosen is not None:
        _offer_panel(user, int(chosen))


def _new_offer(user: User, linked: int | None) -> None:
    linked_app = st.query_params.get("application", "")
    waiting = call(offers.offer_applications, actor=user) or []
    choices = {a: f"{name} · {job}" for a, name, job in waiting}
    _new_offer_gone(user, set(choices))
    expanded = linked_app.isdigit() and int(linked_app) in choices
    if linked_app.isdigit() and not expanded and linked is None:
        _why_no_offer(user, int(linked_app))
    with st.expander(tr("onboard_offers.new"), icon=":material/add:", expanded=expanded):
        if not choices:
            st.caption(tr("onboard_offers.no_applications"))
            return
        ids = list(choices)
        default = ids.index(int(linked_app)) if expanded else 0
        app_id = st.selectbox(
            tr("field.application_id"), ids, index=default, key=K + "new_app", format_func=lambda a: choices[a]
        )
        start = call(offers.offer_form_defaults, actor=user, application_id=app_id)
        if start is None:
            return
        _offer_form(user, f"{K}new_{app_id}", start, offer=None, application_id=app_id)


def _new_offer_gone(user: User, waiting: set[int]) -> None:
    """Save pressed on a new offer's form whose application got its offer meanwhile (another tab, a colleague) or
    left the offer stage: the form is no longer drawn, so without this the typing vanished without a word. The
    person is told, and the offer drafted meanwhile opens with what they typed listed beside it."""
    prefix, end = f"{K}new_", "_save"
    for key in [k for k in st.session_state if str(k).startswith(prefix) and str(k).endswith(end)]:
        app_id = str(key).removeprefix(prefix).removesuffix(end)
        if st.session_state.get(key) is not True or not app_id.isdigit() or int(app_id) in waiting:
            continue
        st.warning(tr("onboard_offers.new_not_saved"), icon=":material/sync_problem:")
        typed = _typed(f"{prefix}{app_id}")
        rows = call(offers.list_offers, actor=user, application_id=int(app_id)) or []
        live = [r for r in rows if r.status in LIVE]
        if live:
            target = max(live, key=lambda r: r.revision).offer_id
            st.session_state[f"{K}edit_{target}_carry"] = typed
            _pick(target)
        return


# The form's fields and the ends of their widgets' keys (`<form key><end>`).
FORM_KEYS = {
    "job_title": "_title",
    "level": "_level",
    "salary_amount": "_salary",
    "salary_currency": "_currency",
    "salary_period": "_period",
    "terms": "_terms",
    "start_date": "_start",
    "response_deadline": "_deadline",
    "location": "_loc",
    "probation_months": "_probation",
    "contract_months": "_contract",
    "notes": "_notes",
}


def _as_form(start: dict[str, Any]) -> dict[str, Any]:
    """An offer's (or the defaults') values as the form's widgets hold them."""
    amount = start["salary_amount"]
    values = {f: start[f] for f in FORM_KEYS}
    values["salary_amount"] = "" if amount in (None, "") else f"{amount:f}".rstrip("0").rstrip(".")
    values["salary_period"] = str(start["salary_period"])
    values["probation_months"] = int(start["probation_months"])
    return values


def _load(form_key: str, values: dict[str, Any]) -> None:
    for field_name, end in FORM_KEYS.items():
        st.session_state[form_key + end] = values[field_name]


def _typed(form_key: str) -> dict[str, Any]:
    return {f: st.session_state.get(form_key + end) for f, end in FORM_KEYS.items()}


def _shown(field_name: str, value: Any) -> str:
    """A form value as a person reads it in the table of differences."""
    if value is None:
        return ""
    if field_name in ("start_date", "response_deadline"):
        return fmt_day(value)
    if field_name == "salary_period":
        return tr(f"offer_period.{value}")
    return str(value).strip()


def _conflict_notice(form_key: str) -> None:
    """After a refused save: the values saved meanwhile are in the form; what this person typed is listed beside
    them (nothing is lost), to take back into the form or leave."""
    conflict = st.session_state.get(form_key + "_conflict")
    if not conflict:
        return
    st.warning(tr("onboard_offers.conflict", when=fmt_dt(conflict["when"])), icon=":material/sync_problem:")
    theirs, mine = conflict["theirs"], conflict["mine"]
    differ = [f for f in FORM_KEYS if _shown(f, theirs.get(f)) != _shown(f, mine.get(f))]
    if differ:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("common.field"): tr(f"field.{f}"),
                        tr("onboard_offers.saved_value"): _shown(f, theirs.get(f)),
                        tr("onboard_offers.your_value"): _shown(f, mine.get(f)),
                    }
                    for f in differ
                ]
            ),
            hide_index=True,
            width="stretch",
            key=form_key + "_conflict_table",
        )
    else:
        st.caption(tr("onboard_offers.conflict_same"))
    c1, c2 = st.columns(2)
    if c1.button(tr("onboard_offers.use_mine"), key=form_key + "_use_mine", icon=":material/edit_note:"):
        st.session_state[form_key + "_reload"] = mine  # into the form, not saved: Save then saves over theirs
        st.session_state.pop(form_key + "_conflict", None)
        st.rerun()
    if c2.button(tr("onboard_offers.keep_saved"), key=form_key + "_keep_saved", icon=":material/restore:"):
        st.session_state.pop(form_key + "_conflict", None)
        st.rerun()


def _why_no_offer(user: User, application_id: int) -> None:
    """A link to an application that cannot get an offer here says why: its stage, or not found (unknown, or not
    this person's to see: the same words, so nothing is learnt of other people's applications)."""

    def _not_found(_: Exception) -> None:
        st.warning(tr("onboard_offers.application_not_found", id=application_id), icon=":material/search_off:")

    start = act(
        offers.offer_form_defaults,
        actor=user,
        application_id=application_id,
        rerun=False,
        on={NotFound: _not_found, NotAllowed: _not_found},
    )
    if start is None:
        return
    if start["stage"] != "offer":
        st.info(
            tr_md("onboard_offers.not_offer_stage", name=start["candidate"], stage=stage_label(start["stage"])),
            icon=":material/info:",
        )


def _offer_form(
    user: User, form_key: str, start: dict[str, Any], *, offer: Offer | None, application_id: int | None = None
) -> None:
    """Every field of an offer with its message beside it; saves a new offer or a revision from the version shown.

    The form is filled once per offer (and after each own save), so a save by someone else meanwhile never
    replaces what is being typed: this person's save is then refused, the form shows what was saved, and what they
    typed stays listed beside it (`_conflict_notice`)."""
    version_key = f"{K}version_{offer.id}" if offer is not None else ""
    carried = st.session_state.pop(form_key + "_carry", None)
    if carried is not None and offer is not None:  # typed into the revision this one replaced (`_left_behind`)
        st.session_state[form_key + "_conflict"] = {
            "theirs": _as_form(start),
            "mine": carried,
            "when": offer.updated_at,
        }
    reload = st.session_state.pop(form_key + "_reload", None)
    if reload is not None:
        _load(form_key, reload)
    elif st.session_state.get(form_key + "_loaded") is None or form_key + "_title" not in st.session_state:
        _load(form_key, _as_form(start))
        if offer is not None:
            st.session_state[version_key] = offer.version
    st.session_state[form_key + "_loaded"] = True
    if offer is not None:
        st.session_state.setdefault(version_key, offer.version)
        _conflict_notice(form_key)
    slots: dict[str, Any] = {}
    with st.form(form_key):
        c1, c2 = st.columns(2)
        title = c1.text_input(tr("field.job_title"), max_chars=120, key=form_key + "_title")
        slots["job_title"] = c1.empty()
        level = c2.text_input(tr("field.level"), max_chars=40, key=form_key + "_level")
        slots["level"] = c2.empty()
        c1, c2, c3 = st.columns([2, 1, 1])
        salary = c1.text_input(tr("field.salary_amount"), max_chars=20, key=form_key + "_salary")
        slots["salary_amount"] = c1.empty()
        currency = c2.text_input(tr("field.salary_currency"), max_chars=3, key=form_key + "_currency")
        slots["salary_currency"] = c2.empty()
        period = c3.selectbox(
            tr("field.salary_period"),
            [p.value for p in SalaryPeriod],
            key=form_key + "_period",
            format_func=lambda p: tr(f"offer_period.{p}"),
        )
        slots["salary_period"] = c3.empty()
        terms = st.text_area(tr("field.terms"), max_chars=2000, key=form_key + "_terms")
        slots["terms"] = st.empty()
        c1, c2 = st.columns(2)
        start_date = c1.date_input(tr("field.start_date"), key=form_key + "_start")
        slots["start_date"] = c1.empty()
        deadline = c2.date_input(tr("field.response_deadline"), key=form_key + "_deadline")
        slots["response_deadline"] = c2.empty()
        location = st.text_input(tr("field.location"), max_chars=120, key=form_key + "_loc")
        slots["location"] = st.empty()
        c1, c2 = st.columns(2)
        probation = c1.number_input(
            tr("field.probation_months"), min_value=0, max_value=6, step=1, key=form_key + "_probation"
        )
        slots["probation_months"] = c1.empty()
        contract = c2.number_input(
            tr("field.contract_months"),
            min_value=1,
            max_value=240,
            step=1,
            key=form_key + "_contract",
            help=tr("onboard_offers.contract_help"),
        )
        slots["contract_months"] = c2.empty()
        notes = st.text_area(tr("field.notes"), max_chars=5000, key=form_key + "_notes")
        slots["notes"] = st.empty()
        slots["__all__"] = st.empty()
        saved = st.form_submit_button(
            tr("onboard_offers.save"), type="primary", icon=":material/save:", key=form_key + "_save"
        )
    if not saved:
        return
    values = {
        "job_title": title,
        "level": level,
        "salary_amount": salary,
        "salary_currency": currency,
        "salary_period": period,
        "terms": terms,
        "start_date": start_date,
        "location": location,
        "probation_months": probation,
        "contract_months": contract,
        "response_deadline": deadline,
        "notes": notes,
    }
    if offer is None:
        act(
            offers.create_offer,
            actor=user,
            offer_in=values | {"application_id": application_id},
            where=slots,
            done=tr("onboard_offers.created"),
            then=lambda o: (_pick(o.id), st.query_params.pop("application", None)),
        )
        return

    def _conflict(exc: Conflict) -> None:
        current = exc.current
        if not isinstance(current, Offer) or str(current.status) not in LIVE:
            show_error(exc, slots)  # nothing left to edit (withdrawn, answered): the message says why
            return
        mine = _typed(form_key)
        target = f"{K}edit_{current.id}"
        # The next run fills the form with what is saved now and lists what was typed beside it.
        st.session_state[target + "_reload"] = _as_form(_start_of(current))
        st.session_state[target + "_conflict"] = {
            "theirs": _as_form(_start_of(current)),
            "mine": mine,
            "when": current.updated_at,
        }
        st.session_state[f"{K}version_{current.id}"] = current.version
        if current.id != offer.id:  # revised meanwhile: the new revision is the one to edit
            _pick(current.id)
        st.rerun()

    def _saved(saved_offer: Offer) -> None:
        _pick(saved_offer.id)
        st.session_state.pop(version_key, None)
        st.session_state.pop(form_key + "_loaded", None)  # the next run shows what was saved
        st.session_state.pop(form_key + "_conflict", None)

    act(
        offers.update_offer,
        actor=user,
        offer_id=offer.id,
        version=st.session_state[version_key],
        offer_in=values,
        where=slots,
        on={Conflict: _conflict},
        done=tr("onboard_offers.saved"),
        then=_saved,
    )


def _offer_panel(user: User, offer_id: int) -> None:
    detail = call(offers.offer_detail, actor=user, offer_id=offer_id)
    if detail is None:
        return
    offer = detail.offer
    status = str(offer.status)
    st.divider()
    st.subheader(tr("onboard_offers.offer_title", revision=offer.revision), anchor=False)
    st.text(f"{detail.candidate} · {detail.job}")
    st.caption(
        tr(
            "onboard_offers.summary",
            status=status_label(status),
            stage=stage_label(detail.stage),
            deadline=fmt_day(offer.response_deadline),
        )
    )
    if offer.decline_reason:
        st.text(f"{tr('field.decline_reason')}: {tr(f'decline.{offer.decline_reason}')} {offer.decline_text}".strip())
    if detail.withdraw_reason:
        st.text(f"{tr('onboard_offers.withdraw_reason')}: {detail.withdraw_reason}")
    if detail.plan_id is not None:
        st.page_link(
            "pages/new_hire.py",
            label=tr("onboard_offers.open_plan"),
            icon=":material/person_add:",
            query_params={"plan": str(detail.plan_id)},
        )
    if len(detail.revisions) > 1:
        st.caption(
            tr("onboard_offers.revisions")
            + " "
            + ", ".join(f"#{rev} {status_label(s)}" for _, rev, s in detail.revisions)
        )
    if detail.can_edit and status not in LIVE:
        _left_behind(detail)
    if not detail.can_edit or status not in LIVE:
        _read_only(offer)  # the terms an approver decides on, above their say; a closed offer's terms
    _approvals(user, detail)
    if detail.can_edit:
        _actions(user, detail)
        if status in LIVE:
            with st.expander(tr("onboard_offers.edit"), icon=":material/edit:", expanded=status == "draft"):
                if status != "draft":
                    st.caption(tr("onboard_offers.revise_hint"))
                _offer_form(user, f"{K}edit_{offer.id}", _start_of(offer), offer=offer)
    _rounds(detail)
    if detail.history:
        with st.expander(tr("onboard_offers.history"), icon=":material/history:"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            tr("onboard_offers.when"): fmt_dt(h["at"]),
                            tr("onboard_offers.who"): h["user"] or tr("onboard_offers.candidate_or_system"),
                            tr("onboard_offers.what"): tr(f"audit.{h['action']}"),
                        }
                        for h in detail.history
                    ]
                ),
                hide_index=True,
                width="stretch",
                key=f"{K}history_{offer.id}",
            )


def _left_behind(detail: offers.OfferDetail) -> None:
    """The offer was open for editing in the last run and has since been revised, withdrawn or answered by someone
    else (a Save pressed now never reaches the form): what was typed is not lost. A newer revision opens with the
    typed values beside its own; else they are listed here."""
    offer = detail.offer
    form_key = f"{K}edit_{offer.id}"
    if form_key + "_title" in st.session_state:
        typed = _typed(form_key)
        before = _as_form(_start_of(offer))
        if any(_shown(f, typed.get(f)) != _shown(f, before.get(f)) for f in FORM_KEYS):
            newer = next((i for i, rev, s in detail.revisions if rev > offer.revision and s in LIVE), None)
            if newer is not None:
                st.session_state[f"{K}edit_{newer}_carry"] = typed
                _pick(newer)
                st.rerun()
            st.session_state[form_key + "_conflict"] = {"theirs": before, "mine": typed, "when": offer.updated_at}
    conflict = st.session_state.get(form_key + "_conflict")
    if not conflict:
        return
    st.warning(
        tr("onboard_offers.closed_meanwhile", status=status_label(str(offer.status))), icon=":material/sync_problem:"
    )
    mine = conflict["mine"]
    st.dataframe(
        pd.DataFrame(
            [
                {tr("common.field"): tr(f"field.{f}"), tr("onboard_offers.your_value"): _shown(f, mine.get(f))}
                for f in FORM_KEYS
            ]
        ),
        hide_index=True,
        width="stretch",
        key=form_key + "_lost_table",
    )
    if st.button(tr("onboard_offers.dismiss"), key=form_key + "_dismiss", icon=":material/close:"):
        st.session_state.pop(form_key + "_conflict", None)
        st.rerun()


def _rounds(detail: offers.OfferDetail) -> None:
    """Every approval round's says (revision, round, who, decision, comment): a rejection and its comment stay
    readable after the offer is revised and submitted again."""
    if not detail.decisions:
        return
    with st.expander(tr("onboard_offers.rounds"), icon=":material/fact_check:"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("onboard_offers.revision"): e.revision,
                        tr("onboard_offers.round"): e.round,
                        tr("onboard_offers.approver"): e.who,
                        tr("field.decision"): tr(DECISION_TEXT.get(e.decision, "onboard_offers.decision_waiting")),
                        tr("field.comment"): e.comment,
                        tr("onboard_offers.when"): fmt_dt(e.at),
                    }
                    for e in reversed(detail.decisions)
                ]
            ),
            hide_index=True,
            width="stretch",
            key=f"{K}rounds_{detail.offer.id}",
        )


def _start_of(offer: Offer) -> dict[str, Any]:
    return {
        "job_title": offer.job_title,
        "level": offer.level,
        "salary_amount": offer.salary_amount,
        "salary_currency": offer.salary_currency,
        "salary_period": offer.salary_period,
        "terms": offer.terms,
        "start_date": offer.start_date,
        "location": offer.location,
        "probation_months": offer.probation_months,
        "contract_months": offer.contract_months,
        "response_deadline": offer.response_deadline,
        "notes": offer.notes,
    }


def _read_only(offer: Offer) -> None:
    """The offer's terms for those who approve but do not edit (a hiring manager), as text."""
    pay = []
    if offer.salary_amount is not None:
        pay.append(f"{offer.salary_currency} {offer.salary_amount:,.2f} / {tr(f'offer_period.{offer.salary_period}')}")
    if offer.terms:
        pay.append(offer.terms)
    st.dataframe(
        pd.DataFrame(
            [
                {tr("onboard_offers.term"): tr("field.job_title"), tr("onboard_offers.value"): offer.job_title},
                {tr("onboard_offers.term"): tr("field.level"), tr("onboard_offers.value"): offer.level},
                {tr("onboard_offers.term"): tr("field.salary_amount"), tr("onboard_offers.value"): "; ".join(pay)},
                {
                    tr("onboard_offers.term"): tr("field.start_date"),
                    tr("onboard_offers.value"): fmt_day(offer.start_date),
                },
                {tr("onboard_offers.term"): tr("field.location"), tr("onboard_offers.value"): offer.location},
                {
                    tr("onboard_offers.term"): tr("field.probation_months"),
                    tr("onboard_offers.value"): str(offer.probation_months),
                },
                {
                    tr("onboard_offers.term"): tr("field.response_deadline"),
                    tr("onboard_offers.value"): fmt_day(offer.response_deadline),
                },
                {tr("onboard_offers.term"): tr("field.notes"), tr("onboard_offers.value"): offer.notes},
            ]
        ),
        hide_index=True,
        width="stretch",
        key=f"{K}terms_{offer.id}",
    )


def _approvals(user: User, detail: offers.OfferDetail) -> None:
    offer = detail.offer
    if detail.stuck:
        st.warning(
            tr_md("onboard_offers.stuck", names=", ".join(detail.waiting_inactive)), icon=":material/person_off:"
        )
    elif detail.waiting_inactive and offer.status == OfferStatus.pending_approval:
        st.info(
            tr_md("onboard_offers.inactive_skipped", names=", ".join(detail.waiting_inactive)), icon=":material/info:"
        )
    if offer.status == OfferStatus.draft:
        rejected = [a for a in detail.approvals if a.decision == "rejected"]
        for a in rejected:  # what to change before submitting again
            st.warning(tr_md("onboard_offers.rejected_by", name=a.approver), icon=":material/undo:")
            st.text(a.comment)
    if detail.approvals:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("onboard_offers.approver"): a.approver
                        + ("" if a.active else f" ({tr('onboard_offers.inactive')})"),
                        tr("field.decision"): tr(DECISION_TEXT.get(a.decision, "onboard_offers.decision_waiting")),
                        tr("field.comment"): a.comment,
                        tr("onboard_offers.when"): fmt_dt(a.decided_at),
                    }
                    for a in detail.approvals
                ]
            ),
            hide_index=True,
            width="stretch",
            key=f"{K}approvals_{offer.id}",
        )
    approve_key, reject_key = f"{K}approve_{offer.id}", f"{K}reject_{offer.id}"
    if not detail.my_approval_waiting:
        # Approve or Reject pressed on a form drawn before someone (another tab, an admin, a withdrawal) settled it:
        # the buttons' trigger is still readable in this run though the form is gone; the person is told, not left
        # believing their say was recorded.
        pressed = (
            "approved"
            if st.session_state.get(approve_key)
            else "rejected"
            if st.session_state.get(reject_key)
            else None
        )
        if pressed is not None:
            st.warning(
                tr(
                    "onboard_offers.decided_meanwhile",
                    status=status_label(str(offer.status)),
                    decision=tr(DECISION_TEXT[pressed]),
                ),
                icon=":material/sync_problem:",
            )
            typed = str(st.session_state.get(f"{K}comment_{offer.id}") or "").strip()
            if typed:
                st.caption(tr("onboard_offers.your_value"))
                st.text(typed)
        return
    slots: dict[str, Any] = {}
    with st.form(f"{K}decide_{offer.id}"):
        st.caption(tr("onboard_offers.decide_hint"))
        comment = st.text_area(tr("field.comment"), max_chars=2000, key=f"{K}comment_{offer.id}")
        slots["comment"] = st.empty()
        slots["__all__"] = st.empty()
        c1, c2, _ = st.columns([1, 1, 2])
        approve = c1.form_submit_button(
            tr("onboard_offers.approve"), type="primary", icon=":material/check:", key=approve_key
        )
        reject = c2.form_submit_button(tr("onboard_offers.reject"), icon=":material/close:", key=reject_key)
    if approve or reject:
        act(
            offers.decide_approval,
            actor=user,
            offer_id=offer.id,
            decision="approved" if approve else "rejected",
            comment=comment,
            version=offer.version,
            where=slots,
            done=tr("onboard_offers.approved_done" if approve else "onboard_offers.rejected_done"),
        )


def _submitted_text(offer: Offer) -> str:
    """What submitting did: asked for approval, or approved at once (approval is off, perhaps since the page)."""
    if offer.status == OfferStatus.approved:
        return tr("onboard_offers.approved_no_approval")
    return tr("onboard_offers.submitted")


def _actions(user: User, detail: offers.OfferDetail) -> None:
    offer = detail.offer
    status = str(offer.status)
    # A button pressed on this offer as it looked before someone (another tab, a colleague, the candidate) moved it
    # on: its form or button is not drawn for the status now, so the press would vanish without a word. Each key is
    # a trigger, True only in the run right after its click.
    drawn_for = {
        f"{K}submit_{offer.id}": status == "draft",
        f"{K}withdraw_yes_{offer.id}": status in LIVE,
        f"{K}answer_send_{offer.id}": status == "sent",
    }
    if any(st.session_state.get(key) is True and not drawn for key, drawn in drawn_for.items()):
        st.warning(tr("onboard_offers.acted_meanwhile", status=status_label(status)), icon=":material/sync_problem:")
    where = {"__all__": st.empty()}
    if status == "draft" and detail.approval_required:
        if detail.approvers_skipped:
            st.warning(
                tr_md("onboard_offers.approver_inactive_warning", names=", ".join(detail.approvers_skipped))
                + (" " + tr("onboard_offers.name_another") if not detail.approvers_next else ""),
                icon=":material/person_off:",
            )
        if detail.approvers_next:
            st.caption(tr_md("onboard_offers.will_ask", names=", ".join(detail.approvers_next)))
    c1, c2, _ = st.columns([1, 1, 2])
    if status == "draft":
        label = "onboard_offers.submit" if detail.approval_required else "onboard_offers.submit_no_approval"
        if c1.button(tr(label), type="primary", key=f"{K}submit_{offer.id}", icon=":material/send:"):
            act(
                offers.submit_for_approval,
                actor=user,
                offer_id=offer.id,
                version=offer.version,
                where=where,
                done=_submitted_text,
            )
    confirm_key = f"{K}withdraw_asked_{offer.id}"
    if status in LIVE and c2.button(
        tr("onboard_offers.withdraw"), key=f"{K}withdraw_{offer.id}", icon=":material/undo:"
    ):
        st.session_state[confirm_key] = True
    if status in LIVE and st.session_state.get(confirm_key):
        _confirm_withdraw(user, offer, confirm_key)
    if status == "approved":
        _letter(user, detail)
    if status == "sent":
        _record_answer(user, offer)


def _confirm_withdraw(user: User, offer: Offer, confirm_key: str) -> None:
    """Withdrawing kills the candidate's link and cannot be undone: asked once more, with an optional reason."""
    slots: dict[str, Any] = {}
    with st.form(f"{K}withdraw_form_{offer.id}", border=True):
        st.warning(tr("onboard_offers.withdraw_confirm"), icon=":material/warning:")
        reason = st.text_area(
            tr("onboard_offers.withdraw_reason"), max_chars=2000, key=f"{K}withdraw_reason_{offer.id}"
        )
        slots["reason"] = st.empty()
        slots["__all__"] = st.empty()
        c1, c2, _ = st.columns([1, 1, 2])
        yes = c1.form_submit_button(
            tr("onboard_offers.withdraw_yes"), type="primary", icon=":material/undo:", key=f"{K}withdraw_yes_{offer.id}"
        )
        no = c2.form_submit_button(tr("onboard_offers.cancel"), icon=":material/close:")
    if no:
        st.session_state.pop(confirm_key, None)
        st.rerun()
    if yes:
        act(
            offers.withdraw_offer,
            actor=user,
            offer_id=offer.id,
            version=offer.version,
            reason=reason,
            where=slots,
            done=tr("onboard_offers.withdrawn"),
            then=lambda _: st.session_state.pop(confirm_key, None),
        )


def _letter(user: User, detail: offers.OfferDetail) -> None:
    offer = detail.offer
    letter = call(offers.letter_draft, actor=user, offer_id=offer.id)
    if letter is None:
        st.caption(tr("onboard_offers.letter_hint"))
        slots = {f: st.empty() for f in ("job_title", "start_date", "location", "response_deadline", "salary_amount")}
        slots["to"] = slots["__all__"] = st.empty()
        if st.button(tr("onboard_offers.prepare_letter"), key=f"{K}prepare_{offer.id}", icon=":material/draft:"):
            act(
                offers.prepare_offer_letter,
                actor=user,
                offer_id=offer.id,
                where=slots,
                done=tr("onboard_offers.letter_ready"),
            )
        return
    review_draft(
        letter,
        user,
        tr("template.offer_letter"),
        send_with=_send_letter(offer.id or 0),
        key=f"{K}letter",
        sent=tr("onboard_offers.letter_sent"),
    )


def _send_letter(offer_id: int) -> SendWith:
    """The letter's send for ui.drafts.review_draft: through the offers service, so the offer becomes sent with it."""

    def send(*, session: Session, actor: User, message_id: int, subject: str, text: str, version: int) -> Offer:
        del message_id  # the offer knows its letter
        return offers.send_offer_letter(
            session=session, actor=actor, offer_id=offer_id, subject=subject, text=text, mail_version=version
        )

    return send


def _record_answer(user: User, offer: Offer) -> None:
    with st.expander(tr("onboard_offers.record_answer"), icon=":material/how_to_reg:"):
        slots: dict[str, Any] = {}
        with st.form(f"{K}answer_{offer.id}"):
            answer = st.radio(
                tr("field.answer"),
                ["accepted", "declined"],
                key=f"{K}answer_kind_{offer.id}",
                format_func=lambda a: status_label(a),
                horizontal=True,
            )
            slots["answer"] = st.empty()
            reasons = [r.value for r in DeclineReason]
            reason = st.selectbox(
                tr("field.decline_reason"),
                reasons,
                index=None,
                key=f"{K}answer_reason_{offer.id}",
                format_func=lambda r: tr(f"decline.{r}"),
                placeholder=tr("onboard_offers.reason_placeholder"),
            )
            slots["decline_reason"] = st.empty()
            text = st.text_area(tr("field.decline_text"), max_chars=2000, key=f"{K}answer_text_{offer.id}")
            slots["decline_text"] = st.empty()
            slots["__all__"] = st.empty()
            recorded = st.form_submit_button(
                tr("onboard_offers.record"), type="primary", icon=":material/done:", key=f"{K}answer_send_{offer.id}"
            )
        if recorded:
            act(
                offers.record_answer,
                actor=user,
                offer_id=offer.id,
                answer=answer,
                reason=reason,
                text=text,
                version=offer.version,
                where=slots,
                done=tr("onboard_offers.answer_recorded"),
            )


# --------------------------------------------------------------------------- settings (admins)
def approval_settings_section() -> None:
    """The offer approval settings on pages/onboard_settings.py (admins): on/off, approvers per department."""
    user = current_user()
    settings = call(offers.approval_settings, actor=user)
    if settings is None:
        return
    st.caption(tr("onboard_offers.approval_intro"))
    required = st.toggle(tr("onboard_offers.approval_required"), value=settings.required, key=K + "required")
    if required != settings.required:
        act(
            offers.set_approval_required,
            actor=user,
            required=required,
            done=tr("onboard_offers.approval_on" if required else "onboard_offers.approval_off"),
        )
    st.subheader(tr("onboard_offers.approvers"), anchor=False)
    if settings.rules:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("field.department"): dept or tr("onboard_offers.every_department"),
                        tr("onboard_offers.approver"): name,
                    }
                    for _, dept, _, name in settings.rules
                ]
            ),
            hide_index=True,
            width="stretch",
            key=K + "rules",
        )
        names = {
            rid: f"{dept or tr('onboard_offers.every_department')} · {name}" for rid, dept, _, name in settings.rules
        }
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        rule_id = c1.selectbox(
            tr("onboard_offers.remove_which"), list(names), key=K + "remove_rule", format_func=lambda r: names[r]
        )
        if c2.button(tr("onboard_offers.remove"), key=K + "remove", icon=":material/person_remove:"):
            st.session_state[K + "remove_asked"] = rule_id
        asked = st.session_state.get(K + "remove_asked")
        if asked is not None and asked in names:  # removing is asked once more, naming who
            st.warning(tr_md("onboard_offers.remove_confirm", rule=names[asked]), icon=":material/warning:")
            y, n, _ = st.columns([1, 1, 2])
            if y.button(tr("onboard_offers.remove_yes"), key=K + "remove_yes", type="primary"):
                act(
                    offers.remove_approver_rule,
                    actor=user,
                    rule_id=asked,
                    done=tr("onboard_offers.removed"),
                    then=lambda _: st.session_state.pop(K + "remove_asked", None),
                )
            if n.button(tr("onboard_offers.cancel"), key=K + "remove_no"):
                st.session_state.pop(K + "remove_asked", None)
                st.rerun()
    else:
        st.caption(tr("onboard_offers.no_rules"))
    people = dict(settings.people)
    departments = ["", *settings.departments]
    slots: dict[str, Any] = {}
    with st.form(K + "add_rule"):
        c1, c2 = st.columns(2)
        department = c1.selectbox(
            tr("field.department"),
            departments,
            key=K + "rule_department",
            format_func=lambda d: d or tr("onboard_offers.every_department"),
        )
        slots["department"] = c1.empty()
        person = c2.selectbox(
            tr("onboard_offers.approver"),
            list(people),
            index=None,
            key=K + "rule_person",
            format_func=lambda p: people.get(p, ""),
            placeholder=tr("onboard_offers.pick_person"),
        )
        slots["user_id"] = c2.empty()
        added = st.form_submit_button(tr("onboard_offers.add"), icon=":material/person_add:")
    if added:
        if person is None:
            slots["user_id"].error(tr("err.required"), icon=":material/error:")
            return
        known = {(dept, uid): rid for rid, dept, uid, _ in settings.rules}
        if (department, person) in known:  # nothing to add: say so, beside the field
            slots["user_id"].warning(
                tr_md(
                    "onboard_offers.already_approver",
                    name=people.get(person, ""),
                    department=department or tr("onboard_offers.every_department"),
                ),
                icon=":material/info:",
            )
            return

        act(
            offers.add_approver_rule,
            actor=user,
            department=department,
            user_id=person,
            where=slots,
            done=tr("onboard_offers.added"),
        )
