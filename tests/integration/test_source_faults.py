"""Bad records and gaps between runs, over HTTP against the mock vendor APIs: raw converges on
the source, record by record, without a full refresh.

"What the source serves" is always a clean full pull of the same moment into a fresh warehouse;
raw tables are compared with it by an md5 of every row (keys, record, deleted flag, change
time). The mock serves malformed records as a pure function of (seed, object, record), so the
same records stay broken until the fault is switched off: the source is "fixed".
"""

from __future__ import annotations

import psycopg
import pytest

from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os_mock_apis.config import VENDORS, FaultOptions, MockConfig
from revenue_os_mock_apis.server import BackgroundMockServer
from tests.integration.test_sources import ADMIN, TOKEN, load_all, mock_now, table_digests

WINDOW_OBJECTS = ("google_ads.campaign_days", "linkedin_ads.campaign_days")


@pytest.fixture(scope="module")
def mock():
    config = MockConfig(
        seed=31,
        scale=0.02,
        tokens=dict.fromkeys(VENDORS, TOKEN),
        admin_token=ADMIN,
        faults=FaultOptions(retry_after_s=1),
        horizon_days=45,
    )
    with BackgroundMockServer(config) as server:
        yield server


@pytest.fixture
def admin(mock):
    """The mock at its start-up moment, without faults."""
    with mock.admin_client(ADMIN) as client:
        client.post("/_admin/reset").raise_for_status()
        yield client


def source_now(mock, warehouses, name: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every raw table as a clean full pull of this moment loads it."""
    uri = warehouses(name)
    load_all(mock, uri)
    return table_digests(uri)


def keys_of(uri: str, name: str) -> set[tuple]:
    obj = RAW_OBJECTS[name]
    keys = ", ".join(obj.key_names)
    with psycopg.connect(uri) as conn:
        return set(conn.execute(f"SELECT {keys} FROM raw.{obj.table}").fetchall())


def open_quarantine(uri: str) -> dict[str, int]:
    with psycopg.connect(uri) as conn:
        return dict(
            conn.execute(
                "SELECT source_object, count(*) FROM ops.quarantine"
                " WHERE released_at IS NULL GROUP BY 1"
            ).fetchall()
        )


def ad_spend(uri: str) -> tuple:
    """Spend in raw as the source reports it: Google micros, LinkedIn local currency."""
    with psycopg.connect(uri) as conn:
        return conn.execute(
            "SELECT (SELECT sum((record->'metrics'->>'costMicros')::numeric)"
            "        FROM raw.google_ads__campaign_days),"
            "       (SELECT sum((record->>'costInLocalCurrency')::numeric)"
            "        FROM raw.linkedin_ads__campaign_days)"
        ).fetchone()


@pytest.mark.parametrize("gap_days", [1, 5, 30])
def test_after_any_gap_an_incremental_run_loads_exactly_what_a_full_pull_would(
    mock, admin, warehouses, gap_days
):
    uri = warehouses(f"faults_gap_{gap_days}")
    load_all(mock, uri)
    with psycopg.connect(uri) as conn:
        statuses_before = dict(
            conn.execute(
                "SELECT campaign_id, record->'campaign'->>'status' FROM raw.google_ads__campaigns"
            ).fetchall()
        )

    admin.post("/_admin/advance", json={"days": gap_days}).raise_for_status()
    results = load_all(mock, uri)

    expected = source_now(mock, warehouses, f"faults_gap_{gap_days}_source")
    assert table_digests(uri) == expected
    assert ad_spend(uri) == ad_spend(uri.rsplit("/", 1)[0] + f"/faults_gap_{gap_days}_source")
    assert all(result.quarantined == 0 for result in results.values())
    if gap_days == 30:
        # The case a fixed re-read window misses: campaigns that ended or were removed change
        # the status every one of their days used to carry.
        with psycopg.connect(uri) as conn:
            statuses_after = dict(
                conn.execute(
                    "SELECT campaign_id, record->'campaign'->>'status'"
                    " FROM raw.google_ads__campaigns"
                ).fetchall()
            )
        changed = [c for c in statuses_before if statuses_after.get(c) != statuses_before[c]]
        assert changed, "no campaign changed status over 30 days: the case is not exercised"


def test_malformed_records_lose_no_row_and_leave_quarantine_once_the_source_is_fixed(
    mock, admin, warehouses
):
    uri = warehouses("faults_malformed")
    load_all(mock, uri)
    rows_before = {name: len(keys_of(uri, name)) for name in WINDOW_OBJECTS}

    admin.post("/_admin/advance", json={"days": 2}).raise_for_status()
    admin.post("/_admin/faults", json={"malformed_rate": 0.10, "fault_seed": 7}).raise_for_status()
    broken = load_all(mock, uri)
    admin.post("/_admin/faults", json={"malformed_rate": 0.0}).raise_for_status()
    served = warehouses("faults_malformed_source")
    load_all(mock, served)

    quarantined = open_quarantine(uri)
    assert sum(quarantined.values()) == sum(r.quarantined for r in broken.values()) > 0
    for name in WINDOW_OBJECTS:
        # About a tenth of each window was malformed, and not one row was deleted for it.
        assert broken[name].quarantined > 0.05 * broken[name].extracted, name
        assert broken[name].deleted == 0, name
        assert len(keys_of(uri, name)) >= rows_before[name], name
    for name in RAW_OBJECTS:
        in_raw, at_source = keys_of(uri, name), keys_of(served, name)
        # Raw holds nothing the source does not serve, and misses only what is in quarantine.
        assert in_raw <= at_source, name
        assert len(at_source - in_raw) <= quarantined.get(name, 0), name

    # The source is fixed: the next incremental run re-reads what is in quarantine.
    fixed = load_all(mock, uri)
    assert table_digests(uri) == table_digests(served)
    assert ad_spend(uri) == ad_spend(served)
    assert open_quarantine(uri) == {}
    assert sum(r.released_loaded for r in fixed.values()) == sum(quarantined.values())
    assert sum(r.released_again for r in fixed.values()) == 0
    with psycopg.connect(uri) as conn:
        released = conn.execute(
            "SELECT count(*) FILTER (WHERE released_as = 'loaded'), count(*) FROM ops.quarantine"
        ).fetchone()
    assert released == (sum(quarantined.values()),) * 2


def test_a_record_still_malformed_stays_in_quarantine_under_the_newer_load(mock, admin, warehouses):
    uri = warehouses("faults_still_malformed")
    admin.post("/_admin/faults", json={"malformed_rate": 0.10, "fault_seed": 7}).raise_for_status()
    first = load_all(mock, uri, names=("salesforce.opportunities", "google_ads.campaign_days"))
    admin.post("/_admin/advance", json={"days": 1}).raise_for_status()
    again = load_all(mock, uri, names=("salesforce.opportunities", "google_ads.campaign_days"))

    for name in ("salesforce.opportunities", "google_ads.campaign_days"):
        # Each record quarantined first is read again and still malformed.
        assert again[name].released_again == first[name].quarantined > 0, name
        assert again[name].released_loaded == 0, name
        assert open_quarantine(uri)[name] == again[name].quarantined, name


GOOGLE_DAYS = ("google_ads.campaigns", "google_ads.campaign_days")


def google_days_source(mock, warehouses, name: str) -> tuple[int, str]:
    uri = warehouses(name)
    load_all(mock, uri, names=GOOGLE_DAYS)
    return table_digests(uri)["google_ads.campaign_days"]


def test_restatements_within_the_re_read_window_are_loaded_on_the_next_run(mock, admin, warehouses):
    # Cost still moves on days up to 25 days old: inside the 30 days every run re-reads.
    admin.post("/_admin/faults", json={"late_restatement_days": 25}).raise_for_status()
    uri = warehouses("faults_late_25")
    load_all(mock, uri, names=GOOGLE_DAYS)
    admin.post("/_admin/advance", json={"days": 1}).raise_for_status()
    result = load_all(mock, uri, names=GOOGLE_DAYS)["google_ads.campaign_days"]

    assert result.updated > 0  # restated days rewritten
    assert table_digests(uri)["google_ads.campaign_days"] == google_days_source(
        mock, warehouses, "faults_late_25_source"
    )


def test_restatements_older_than_the_re_read_window_are_caught_by_the_weekly_whole_read(
    mock, admin, warehouses
):
    admin.post("/_admin/faults", json={"late_restatement_days": 60}).raise_for_status()
    uri = warehouses("faults_late_60")
    load_all(mock, uri, names=GOOGLE_DAYS)  # the first load reads the whole history

    admin.post("/_admin/advance", json={"days": 1}).raise_for_status()
    load_all(mock, uri, names=GOOGLE_DAYS)
    source = warehouses("faults_late_60_source")
    load_all(mock, source, names=GOOGLE_DAYS)
    served = google_costs(source)
    stale = {key: day for key, (day, cost) in google_costs(uri).items() if served[key][1] != cost}
    # What the 30-day re-read cannot see yet: restated days older than it, and only those.
    today = mock_now(mock).date()
    assert stale, "no late restatement: the case is not exercised"
    assert all((today - day).days > 30 for day in stale.values()), sorted(stale.values())[-1]

    # A week after the last whole read, the run reads the whole history again.
    admin.post("/_admin/advance", json={"days": 6}).raise_for_status()
    load_all(mock, uri, names=GOOGLE_DAYS)
    assert table_digests(uri)["google_ads.campaign_days"] == google_days_source(
        mock, warehouses, "faults_late_60_after_a_week"
    )


def google_costs(uri: str) -> dict[tuple, tuple]:
    with psycopg.connect(uri) as conn:
        return {
            (customer, campaign, day): (day, cost)
            for customer, campaign, day, cost in conn.execute(
                "SELECT customer_id, campaign_id, metric_date, record->'metrics'->>'costMicros'"
                " FROM raw.google_ads__campaign_days"
            )
        }
