"""Extract and load every source object from the mock vendor APIs over HTTP into a real warehouse.

One mock server (scale 0.02) runs on loopback for the module; each test starts it from its
start-up state and loads into a fresh database with every migration applied. Expected figures
come from the server's /_admin endpoints (what a pull returns, what changed when time moved)
and from comparing one warehouse with another, never from the loader's own report alone.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import psycopg
import pytest

from revenue_os.connectors import hubspot, netsuite
from revenue_os.connectors.ads import LINKEDIN_WINDOW_DAYS
from revenue_os.connectors.base import SourceConnection
from revenue_os.connectors.http import RetryPolicy, SourceAuthError
from revenue_os.orchestration.extract_load import Request, extract_load, history_start
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os_mock_apis.config import VENDORS, FaultOptions, MockConfig
from revenue_os_mock_apis.server import BackgroundMockServer
from revenue_os_stack.mock_api_services import mock_source_connections

TOKEN = "source-token"
ADMIN = "admin-token"
SALESFORCE_BATCH = 200  # the smallest page Salesforce serves: small orgs still page
RETRY_AFTER_S = 2
MOCK_VENDOR = {  # connection id -> the mock's vendor name (its request counters)
    "hubspot": "hubspot",
    "salesforce": "salesforce",
    "google_ads": "google_ads",
    "linkedin_ads": "linkedin",
    "netsuite": "netsuite",
}


class RecordedSleeps:
    """Stands in for time.sleep in the client: records each back-off instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def mock():
    config = MockConfig(
        seed=23,
        scale=0.02,
        tokens=dict.fromkeys(VENDORS, TOKEN),
        admin_token=ADMIN,
        faults=FaultOptions(retry_after_s=RETRY_AFTER_S),
        horizon_days=30,
    )
    with BackgroundMockServer(config) as server:
        yield server


@pytest.fixture
def admin(mock):
    with mock.admin_client(ADMIN) as client:
        client.post("/_admin/faults", json={"reset_counters": True}).raise_for_status()
        yield client


def connections(mock) -> dict[str, SourceConnection]:
    sources = mock_source_connections(mock.base_url, TOKEN)
    salesforce = sources["salesforce"]
    sources["salesforce"] = SourceConnection(
        salesforce.conn_id, salesforce.base_url, salesforce.token, {"batch_size": SALESFORCE_BATCH}
    )
    return sources


def mock_now(mock) -> datetime:
    """The source's clock: the pipeline asks up to the moment the mock business has reached."""
    return datetime.fromtimestamp(mock.state.now_ms / 1000, UTC)


def load(mock, uri, name, request=None, *, sleeps=None, connection=None):
    vendor = name.split(".", 1)[0]
    return extract_load(
        name,
        uri,
        connection or connections(mock)[vendor],
        request or Request(),
        now=mock_now(mock),
        client_options={
            "policy": RetryPolicy(max_attempts=8, base_delay_s=0.5),
            "sleep": sleeps or RecordedSleeps(),
        },
    )


def load_all(mock, uri, request=None, *, sleeps=None, names=tuple(RAW_OBJECTS)) -> dict:
    return {name: load(mock, uri, name, request, sleeps=sleeps) for name in names}


def table_digests(uri: str) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row (keys, record, metadata) of each raw table."""
    digests = {}
    with psycopg.connect(uri) as conn:
        for name, obj in RAW_OBJECTS.items():
            keys = ", ".join(key.name for key in obj.keys)
            digests[name] = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {keys}), '')) "
                f"FROM (SELECT {keys}, record, is_deleted, source_updated_at "
                f"FROM raw.{obj.table}) AS t"
            ).fetchone()
    return digests


def counts(admin) -> dict:
    return admin.get("/_admin/counts").json()["objects"]


def requests_served(admin) -> dict[str, int]:
    return admin.get("/_admin/faults").json()["requests"]


def test_a_full_pull_of_every_object_pages_through_each_vendor_and_matches_the_source(
    mock, admin, warehouses
):
    uri = warehouses("sources_full_pull")
    expected = counts(admin)
    pages: dict[str, int] = {}
    for name in RAW_OBJECTS:
        before = requests_served(admin)[MOCK_VENDOR[name.split(".")[0]]]
        result = load(mock, uri, name, Request(mode="full"))
        pages[name] = requests_served(admin)[MOCK_VENDOR[name.split(".")[0]]] - before
        assert (result.extracted, result.inserted, result.quarantined) == (
            expected[name]["total"],
            expected[name]["total"],
            0,
        ), name

    with psycopg.connect(uri) as conn:
        for name, obj in RAW_OBJECTS.items():
            rows, deleted = conn.execute(
                f"SELECT count(*), count(*) FILTER (WHERE is_deleted) FROM raw.{obj.table}"
            ).fetchone()
            assert (rows, deleted) == (expected[name]["total"], expected[name]["deleted"]), name

    # Fault-free, the number of requests follows from the counts and each API's page size.
    contacts = expected["hubspot.contacts"]
    assert pages["hubspot.contacts"] == math.ceil(contacts["live"] / hubspot.LIST_PAGE) + math.ceil(
        contacts["deleted"] / hubspot.LIST_PAGE
    )
    assert pages["hubspot.events"] == math.ceil(
        expected["hubspot.events"]["total"] / hubspot.EVENTS_PAGE
    )
    history = expected["salesforce.opportunity_history"]["total"]
    assert pages["salesforce.opportunity_history"] == math.ceil(history / SALESFORCE_BATCH) >= 3
    lines = expected["netsuite.invoice_lines"]["total"]
    assert pages["netsuite.invoice_lines"] == math.ceil(lines / netsuite.PAGE) >= 2
    # LinkedIn: the ad accounts, then one analytics request per 31-day window of history.
    days = (mock_now(mock).date() - history_start()).days + 1
    assert pages["linkedin_ads.campaign_days"] == 1 + math.ceil(days / LINKEDIN_WINDOW_DAYS) > 12
    # Google Ads: the accessible customers, then one searchStream per customer.
    customers = admin.get("/_admin/state").json()["google_ads"]["customer_ids"]
    assert pages["google_ads.campaign_days"] == 1 + len(customers) >= 3
    assert all(pages[name] >= 2 for name in ("hubspot.contacts", "hubspot.events")), pages


def test_faults_at_twenty_percent_still_load_exactly_what_a_clean_pull_loads(
    mock, admin, warehouses
):
    clean = warehouses("sources_clean")
    load_all(mock, clean)

    admin.post(
        "/_admin/faults",
        json={"rate_limit_rate": 0.1, "error_rate": 0.1, "fault_seed": 4, "reset_counters": True},
    ).raise_for_status()
    faulty = warehouses("sources_faulty")
    sleeps = RecordedSleeps()
    results = load_all(mock, faulty, sleeps=sleeps)

    assert table_digests(faulty) == table_digests(clean)
    assert sum(r.quarantined for r in results.values()) == 0
    served = sum(requests_served(admin).values())
    retries = len(sleeps.delays)
    # Each retry answers one faulted request: about a fifth of all requests were refused.
    assert 0.1 * served < retries < 0.3 * served, (retries, served)
    # 429s carry Retry-After and are waited out exactly; 500s back off with jitter.
    assert sleeps.delays.count(RETRY_AFTER_S) > 0
    assert any(delay != RETRY_AFTER_S for delay in sleeps.delays)


def test_a_refused_token_fails_at_once_naming_the_connection_and_loads_nothing(
    mock, admin, warehouses
):
    uri = warehouses("sources_bad_token")
    good = connections(mock)["hubspot"]
    bad = SourceConnection(good.conn_id, good.base_url, "not-the-token", good.extra)
    sleeps = RecordedSleeps()

    with pytest.raises(SourceAuthError) as raised:
        load(mock, uri, "hubspot.contacts", sleeps=sleeps, connection=bad)

    message = str(raised.value)
    assert "hubspot" in message and "HTTP 401" in message
    assert "Airflow connection 'hubspot'" in message and "AIRFLOW_CONN_HUBSPOT" in message
    assert sleeps.delays == []  # not retried
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT count(*) FROM raw.hubspot__contacts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM ops.source_state").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM ops.load_batches").fetchone() == (0,)


def test_after_the_source_changes_the_next_run_loads_only_the_delta(mock, admin, warehouses):
    uri = warehouses("sources_incremental")
    load_all(mock, uri)
    before = counts(admin)

    changes = admin.post("/_admin/advance", json={"days": 3}).json()["changes"]
    delta = load_all(mock, uri)

    unchanged_object = {"created": 0, "updated": 0, "deleted": 0}
    for name in RAW_OBJECTS:
        change = changes.get(name, unchanged_object)  # campaigns: no change over these days
        result = delta[name]
        assert result.inserted == change["created"], name
        assert result.updated == change["updated"] + change["deleted"], name
        # What was read again without having changed is the re-read tail only (the restated
        # ad days, the events look-back, records sharing the watermark's instant): a small
        # part of the object, never the whole of it.
        assert result.unchanged <= max(0.25 * before[name]["total"], 50), name
    assert changes["hubspot.contacts"]["changed"] > 0
    assert changes["salesforce.opportunities"]["updated"] > 0

    # The incremental warehouse now equals one loaded from scratch at the new moment.
    fresh = warehouses("sources_incremental_fresh")
    load_all(mock, fresh)
    assert table_digests(uri) == table_digests(fresh)


def test_asking_for_new_fields_reads_the_object_whole_once(mock, admin, warehouses):
    """An installation loaded before a release asked Salesforce for more opportunity fields
    (its stored digest is another): the next run reads every opportunity again, so the old
    records get the new fields, then goes back to reading only what changed."""
    uri = warehouses("sources_new_fields")
    name = "salesforce.opportunities"
    first = load(mock, uri, name)
    total = counts(admin)[name]["total"]
    assert first.extracted == total  # the first load reads everything and keeps the digest
    with psycopg.connect(uri, autocommit=True) as conn:
        stored = conn.execute(
            "SELECT fields_digest FROM ops.source_state WHERE source_object = %s", (name,)
        ).fetchone()[0]
        assert stored is not None
        # As loaded by a release that asked for fewer fields: no next step anywhere.
        conn.execute("UPDATE raw.salesforce__opportunities SET record = record - 'NextStep'")
        conn.execute(
            "UPDATE ops.source_state SET fields_digest = 'an older release' WHERE source_object = %s",
            (name,),
        )
    again = load(mock, uri, name)
    assert (again.extracted, again.updated) == (total, total)  # read whole: every record back
    with psycopg.connect(uri) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM raw.salesforce__opportunities WHERE record ? 'NextStep'"
            ).fetchone()[0]
            == total
        )
        assert (
            conn.execute(
                "SELECT fields_digest FROM ops.source_state WHERE source_object = %s", (name,)
            ).fetchone()[0]
            == stored
        )
    assert load(mock, uri, name).extracted < total  # then incremental again


def test_restated_ad_days_are_overwritten_not_duplicated(mock, admin, warehouses):
    uri = warehouses("sources_restated")
    ads = ("google_ads.campaign_days", "linkedin_ads.campaign_days")
    for name in ads:
        load(mock, uri, name)
    with psycopg.connect(uri) as conn:
        spend_before = dict(
            conn.execute(
                "SELECT campaign_id || '/' || metric_date, record->'metrics'->>'costMicros' "
                "FROM raw.google_ads__campaign_days"
            ).fetchall()
        )

    changes = admin.post("/_admin/advance", json={"days": 3}).json()["changes"]
    results = {name: load(mock, uri, name) for name in ads}
    expected = counts(admin)

    with psycopg.connect(uri) as conn:
        for name in ads:
            table = RAW_OBJECTS[name].table
            keys = ", ".join(key.name for key in RAW_OBJECTS[name].keys)
            rows, distinct = conn.execute(
                f"SELECT count(*), count(DISTINCT ({keys})) FROM raw.{table}"
            ).fetchone()
            assert rows == distinct == expected[name]["total"], name
            assert results[name].updated == changes[name]["restated"] > 0, name
            assert results[name].inserted == changes[name]["created"], name
        spend_after = dict(
            conn.execute(
                "SELECT campaign_id || '/' || metric_date, record->'metrics'->>'costMicros' "
                "FROM raw.google_ads__campaign_days"
            ).fetchall()
        )
    rewritten = [key for key in spend_before if spend_after[key] != spend_before[key]]
    assert rewritten, "no restated day changed its cost"
    assert len(rewritten) <= changes["google_ads.campaign_days"]["restated"]


def test_re_running_the_same_window_changes_nothing(mock, admin, warehouses):
    uri = warehouses("sources_rerun")
    load_all(mock, uri)
    first = table_digests(uri)

    again = load_all(mock, uri)
    full = load_all(mock, uri, Request(mode="full"))

    for name in RAW_OBJECTS:
        for result in (again[name], full[name]):
            assert (result.inserted, result.updated, result.deleted) == (0, 0, 0), name
    assert table_digests(uri) == first
    with psycopg.connect(uri) as conn:
        batches = conn.execute("SELECT count(DISTINCT batch_id) FROM ops.load_batches").fetchone()
        kept = conn.execute(
            "SELECT count(*) FROM raw.hubspot__contacts c JOIN ops.load_batches b USING (batch_id) "
            "WHERE b.mode = 'incremental'"
        ).fetchone()
    assert batches == (3 * len(RAW_OBJECTS),)
    # Unchanged rows keep the batch that first wrote them: nothing was rewritten.
    assert kept == (first["hubspot.contacts"][0],)


def test_malformed_records_land_in_quarantine_and_nothing_is_lost(mock, admin, warehouses):
    uri = warehouses("sources_malformed")
    admin.post("/_admin/faults", json={"malformed_rate": 0.05}).raise_for_status()
    expected = counts(admin)
    names = ("hubspot.contacts", "salesforce.opportunities", "netsuite.invoice_lines")
    results = {name: load(mock, uri, name) for name in names}

    with psycopg.connect(uri) as conn:
        for name in names:
            result = results[name]
            assert result.quarantined > 0, name
            loaded = conn.execute(f"SELECT count(*) FROM raw.{RAW_OBJECTS[name].table}").fetchone()
            quarantined = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE reason <> '' AND payload <> 'null') "
                "FROM ops.quarantine WHERE source_object = %s",
                (name,),
            ).fetchone()
            assert quarantined == (result.quarantined, result.quarantined), name
            assert loaded[0] + result.quarantined == expected[name]["total"], name
        reasons = [r for (r,) in conn.execute("SELECT DISTINCT reason FROM ops.quarantine")]
    assert all(any(word in r for word in ("key", "timestamp", "date")) for r in reasons), reasons
