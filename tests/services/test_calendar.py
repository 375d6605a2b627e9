"""The shared .ics builder (services.mail.calendar): what a calendar reads back from an invitation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from services.mail import calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = 'Room "3"; floor, 2\\n <script>alert(1)</script> =HYPERLINK("http://evil")'


def parsed(ics: bytes) -> tuple[Calendar, Any]:
    cal = Calendar.from_ical(ics)
    [event] = cal.walk("VEVENT")
    return cal, event


def an_event(**values: Any) -> calendar.CalendarEvent:
    data: dict[str, Any] = {
        "uid": calendar.event_uid("training", 7),
        "sequence": 0,
        "starts_at": datetime(2026, 4, 1, 9, 30, tzinfo=SHANGHAI),
        "ends_at": datetime(2026, 4, 1, 11, 0, tzinfo=SHANGHAI),
        "summary": "入职培训 Orientation",
        "location": "Room 3",
        "description": "Bring your laptop",
        "url": "https://meet.example.com/abc",
    } | values
    return calendar.CalendarEvent(**data)


def test_a_request_carries_the_event_in_utc_with_organizer_and_attendees() -> None:
    ics = calendar.build_ics(
        an_event(),
        method="REQUEST",
        attendees=[("hire@example.com", "新人"), ("buddy@example.com", "Buddy")],
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    cal, event = parsed(ics)
    assert str(cal["method"]) == "REQUEST"
    assert str(event["uid"]) == "training-7@example.com"
    assert int(event["sequence"]) == 0
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime(2026, 4, 1, 1, 30, tzinfo=UTC) and start.utcoffset() == timedelta(0)
    assert end == datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    assert event.to_ical().decode().count("DTSTART:20260401T013000Z") == 1
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == "mailto:noreply@example.com"
    assert sorted(str(a) for a in event["attendee"]) == ["mailto:buddy@example.com", "mailto:hire@example.com"]
    assert (str(event["location"]), str(event["url"])) == ("Room 3", "https://meet.example.com/abc")


def test_a_cancellation_keeps_the_uid_and_says_cancelled() -> None:
    first = parsed(calendar.build_ics(an_event(), method="REQUEST", attendees=[]))[1]
    cal, event = parsed(calendar.build_ics(an_event(sequence=2), method="CANCEL", attendees=[]))
    assert str(cal["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == str(first["uid"])
    assert int(event["sequence"]) == 2
    assert calendar.ics_filename("CANCEL") == "cancel.ics" and calendar.ics_filename("REQUEST") == "invite.ics"


def test_the_sequence_rises_with_the_version() -> None:
    assert [calendar.sequence_for(v) for v in (1, 2, 5)] == [0, 1, 4]
    assert calendar.sequence_for(0) == 0


def test_hostile_text_comes_back_as_the_same_text() -> None:
    _, event = parsed(
        calendar.build_ics(
            an_event(summary=HOSTILE, location=HOSTILE), method="REQUEST", attendees=[("a@b.cn", HOSTILE)]
        )
    )
    assert str(event["summary"]) == HOSTILE and str(event["location"]) == HOSTILE
    assert str(event["attendee"].params["CN"]) == HOSTILE


def test_empty_place_description_and_url_are_left_out() -> None:
    _, event = parsed(calendar.build_ics(an_event(location="", description="", url=""), method="REQUEST", attendees=[]))
    assert "location" not in event and "description" not in event and "url" not in event
