"""The field formats of spec.py: what a timestamp must be, and which diagnostic each wrong one gets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportgen.spec import _DATE_TIME, TIMESTAMP_PATTERN, FormatError, format_utc, parse_timestamp


@given(st.from_regex(re.compile(_DATE_TIME), fullmatch=True))
def test_a_time_without_its_zone_is_told_so(text: str) -> None:
    # parse_timestamp tries the pattern with a zone first: the two patterns must never both match
    assert re.fullmatch(TIMESTAMP_PATTERN, text) is None
    with pytest.raises(FormatError) as raised:
        parse_timestamp(text)
    assert raised.value.code == "RG106"


@given(st.from_regex(re.compile(TIMESTAMP_PATTERN), fullmatch=True))
def test_a_time_with_its_zone_is_never_told_it_has_none(text: str) -> None:
    assert re.fullmatch(_DATE_TIME, text) is None
    try:
        parsed = parse_timestamp(text)
    except FormatError as exc:  # a date or time out of range, as "2026-13-45T99:00Z"
        assert exc.code == "RG105"
    else:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2026-03-02T10:00:00", "RG106"),
        ("2026-03-02 10:00", "RG106"),
        ("2026-03-02", "RG105"),
        ("2026-03-02T10:00:00 Z", "RG105"),
        ("2026-02-30T10:00:00Z", "RG105"),
        ("yesterday", "RG105"),
    ],
)
def test_each_wrong_time_gets_its_diagnostic(text: str, code: str) -> None:
    with pytest.raises(FormatError) as raised:
        parse_timestamp(text)
    assert raised.value.code == code


def test_a_time_with_an_offset_is_made_utc() -> None:
    assert parse_timestamp("2026-03-02T12:00:00+02:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_timestamp("2026-03-02T10:00:00Z").tzinfo is UTC


# A day away from either end of datetime's range: another zone may fall a few hours past it.
_MOMENTS = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC))


@given(_MOMENTS, st.integers(-14 * 60, 14 * 60))
def test_a_moment_is_written_alike_in_any_zone_kept_or_not(moment: datetime, minutes: int) -> None:
    zoned = moment.astimezone(timezone(timedelta(minutes=minutes)))
    written = format_utc.__wrapped__(moment)
    assert format_utc(zoned) == format_utc(moment) == written
    assert written == moment.strftime("%Y-%m-%dT%H:%M:%SZ").rjust(20, "0")
