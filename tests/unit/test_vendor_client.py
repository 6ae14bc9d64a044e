"""The shared vendor HTTP client against a real HTTP server on loopback that misbehaves on cue.

The server plays a script per request path: each request takes the next scripted answer
(status, headers, body), so every retry, wait and error below is caused by real HTTP traffic.
"""

from __future__ import annotations

import json

import pytest

from revenue_os.connectors.http import (
    RetryPolicy,
    SourceAuthError,
    SourceRequestError,
    SourceUnavailableError,
    VendorClient,
)
from tests.unit.scripted_server import ScriptedServer

OK_PAGE = {"results": [{"id": "1"}, {"id": "2"}]}


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(server, waits):
    with VendorClient(
        "hubspot",
        server.url,
        {"Authorization": "Bearer t0ken"},
        conn_id="hubspot",
        policy=RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=8),
        seed=1,
        sleep=waits.append,
    ) as vendor:
        yield vendor


def test_throttling_and_server_errors_are_retried_until_the_page_comes(server, client, waits):
    server.script(
        "/page",
        (429, {"Retry-After": "2"}, {"status": "error", "errorType": "RATE_LIMIT"}),
        (500, {}, {"status": "error", "message": "internal"}),
        (200, {}, OK_PAGE),
    )
    assert client.request_json("GET", "/page") == OK_PAGE
    assert server.hits["/page"] == 3
    assert waits[0] == 2.0  # the vendor's Retry-After, exactly
    assert 0 <= waits[1] <= 1.0  # second attempt: jittered, at most base * 2
    assert client.stats.retry_reasons == {"HTTP 429": 1, "HTTP 500": 1}
    assert server.auth_headers == ["Bearer t0ken"] * 3


def test_a_truncated_body_is_fetched_again(server, client):
    whole = json.dumps(OK_PAGE).encode()
    server.script("/cut", (200, {}, whole[: len(whole) // 2]), (200, {}, OK_PAGE))
    assert client.request_json("GET", "/cut") == OK_PAGE
    assert client.stats.retry_reasons == {"truncated body": 1}


def test_google_style_retry_delay_in_the_body_is_honoured(server, client, waits):
    quota = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "quota",
            "details": [{"errors": [{"details": {"quotaErrorDetails": {"retryDelay": "3s"}}}]}],
        }
    }
    server.script("/gaql", (429, {}, quota), (200, {}, OK_PAGE))
    client.request_json("GET", "/gaql")
    assert waits == [3.0]


def test_retries_are_bounded_and_the_error_says_so(server, client, waits):
    server.script("/down", (503, {}, {"message": "maintenance"}))
    with pytest.raises(
        SourceUnavailableError,
        match=r"hubspot: GET /down still failing after 4 "
        r"attempts \(HTTP 503: maintenance\)",
    ):
        client.request_json("GET", "/down")
    assert server.hits["/down"] == 4 and len(waits) == 3


def test_refused_credentials_fail_at_once_naming_the_connection(server, client):
    server.script(
        "/secret", (401, {}, {"status": "error", "message": "Authentication credentials not found"})
    )
    with pytest.raises(SourceAuthError) as error:
        client.request_json("GET", "/secret")
    assert server.hits["/secret"] == 1  # no retry: it cannot help
    message = str(error.value)
    assert message.startswith("hubspot: the API refused the credentials (HTTP 401")
    assert "Airflow connection 'hubspot' (env AIRFLOW_CONN_HUBSPOT)" in message


def test_a_bad_request_fails_at_once_with_the_vendor_message(server, client):
    server.script(
        "/query", (400, {}, [{"message": "No such column 'Foo'", "errorCode": "INVALID_FIELD"}])
    )
    with pytest.raises(
        SourceRequestError, match="HTTP 400 on /query: INVALID_FIELD: No such column 'Foo'"
    ):
        client.request_json("GET", "/query")
    assert server.hits["/query"] == 1


def test_salesforce_daily_limit_is_not_called_a_credentials_problem(server, client):
    server.script(
        "/limits",
        (
            403,
            {},
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        ),
    )
    with pytest.raises(SourceUnavailableError, match="daily API request limit is used up"):
        client.request_json("GET", "/limits")
    assert server.hits["/limits"] == 1
