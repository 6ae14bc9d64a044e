"""The connectors' pure helpers: time parsing, retry timing, vendor error messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from revenue_os.connectors.base import epoch_ms, parse_iso
from revenue_os.connectors.http import RetryPolicy, parse_retry_after, vendor_message
from revenue_os.connectors.netsuite import parse_netsuite_datetime, suiteql_timestamp
from revenue_os.connectors.salesforce import soql_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-01T12:00:00Z", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("2026-06-01T12:00:00.000+0000", datetime(2026, 6, 1, 12, tzinfo=UTC)),  # Salesforce
        ("2026-06-01T14:00:00+02:00", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_parse_iso(text, expected):
    assert parse_iso(text) == expected


def test_parse_iso_rejects_garbage():
    with pytest.raises(ValueError):
        parse_iso("not-a-date")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11/20/2026", datetime(2026, 11, 20, tzinfo=UTC)),
        ("3/7/2026 9:05 pm", datetime(2026, 3, 7, 21, 5, tzinfo=UTC)),
        ("3/7/2026 12:30 am", datetime(2026, 3, 7, 0, 30, tzinfo=UTC)),
        ("3/7/2026 12:30:15 PM", datetime(2026, 3, 7, 12, 30, 15, tzinfo=UTC)),
        ("2026-03-07T10:00:00Z", datetime(2026, 3, 7, 10, tzinfo=UTC)),
    ],
)
def test_parse_netsuite_datetime(text, expected):
    assert parse_netsuite_datetime(text) == expected


def test_query_literals():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert soql_datetime(moment) == "2026-01-02T03:04:05Z"
    assert suiteql_timestamp(moment) == (
        "TO_TIMESTAMP('2026-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS')"
    )
    assert epoch_ms(moment) == "1767323045000"


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= parse_retry_after(in_ten) <= 10


def test_backoff_is_exponential_jittered_and_capped():
    policy = RetryPolicy(max_attempts=8, base_delay_s=0.5, max_delay_s=4.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 4.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range
    assert policy.delay(1, 2.5, rng) == 2.5  # the vendor's Retry-After wins
    assert policy.delay(1, 99, rng) == 4.0  # but never beyond the cap


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            [{"message": "Session expired", "errorCode": "INVALID_SESSION_ID"}],
            "INVALID_SESSION_ID: Session expired",
        ),
        (
            {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}},
            "RESOURCE_EXHAUSTED: quota",
        ),
        (
            {
                "title": "Unauthorized",
                "o:errorDetails": [
                    {"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}
                ],
            },
            "INVALID_LOGIN: Invalid login attempt.",
        ),
        (
            {"status": "error", "message": "Authentication credentials not found"},
            "Authentication credentials not found",
        ),
    ],
)
def test_vendor_message_reads_each_vendor_shape(body, expected):
    assert vendor_message(body) == expected
