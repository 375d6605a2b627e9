"""Calendar invitations: one RFC 5545 `.ics` (built with `icalendar`) for one event, shared by every screen that
invites people (interviews, training sessions).

An event keeps one UID for its whole life; every change bumps the record's `version`, and the event's SEQUENCE is
`version - 1`, so calendars take the newest message as the truth. A move is a new `METHOD:REQUEST`, a
cancellation `METHOD:CANCEL` with `STATUS:CANCELLED`. Times go out in UTC; the organizer is the app's sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from models.common import utcnow
from services.platform.config import get_settings

Method = Literal["REQUEST", "CANCEL"]
PRODID = "-//Interview Follow-up//EN"
ICS_MIME = "text/calendar"


@dataclass(frozen=True)
class CalendarEvent:
    """What one invitation says: the event, not who receives it."""

    uid: str
    sequence: int
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    summary: str
    location: str = ""
    description: str = ""
    url: str = ""


def event_uid(kind: str, record_id: int) -> str:
    """An event's calendar UID ("interview-12@example.com"): the same for every message about it, on every server."""
    domain = get_settings().mail_from.rsplit("@", 1)[-1] or "localhost"
    return f"{kind}-{record_id}@{domain}"


def sequence_for(version: int) -> int:
    """The SEQUENCE of a record saved `version` times: 0 for the first invitation, rising with every change."""
    return max(version - 1, 0)


def ics_filename(method: Method) -> str:
    return "cancel.ics" if method == "CANCEL" else "invite.ics"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    addr = vCalAddress(f"mailto:{email}")
    addr.params["CN"] = vText(name)
    for key, value in params.items():
        addr.params[key] = vText(value)
    return addr


def build_ics(
    event: CalendarEvent, *, method: Method, attendees: list[tuple[str, str]], now: datetime | None = None
) -> bytes:
    """One VCALENDAR with one VEVENT: `attendees` are (email, name) pairs, the organizer is the app's sender."""
    settings = get_settings()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", (now or utcnow()).astimezone(UTC))
    vevent.add("dtstart", event.starts_at.astimezone(UTC))
    vevent.add("dtend", event.ends_at.astimezone(UTC))
    vevent.add("summary", event.summary)
    if event.location:
        vevent.add("location", event.location)
    if event.description:
        vevent.add("description", event.description)
    if event.url:
        vevent.add("url", event.url)
    vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    vevent.add("organizer", _address(settings.mail_from, settings.mail_from_name))
    for email, name in attendees:
        vevent.add("attendee", _address(email, name, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="FALSE"))
    cal.add_component(vevent)
    ical: bytes = cal.to_ical()
    return ical
