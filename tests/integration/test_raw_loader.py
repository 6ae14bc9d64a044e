"""The raw loader on hand-made pages, against a real Postgres with the project's migrations.

Every expectation is worked out from the fixture records by hand: which keys are new, which
changed, which are malformed, what the watermark must become.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from revenue_os.raw.loader import KeyColumn, RawObject, Window, load_pages
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.warehouse.migrations import migrate

CONTACTS = RAW_OBJECTS["hubspot.contacts"]


@pytest.fixture
def scratch(scratch_database):
    """A fresh warehouse-shaped database: every migration applied, no data."""
    with scratch_database("raw_loader_scratch") as conn:
        migrate(conn)
        yield conn


def contact(cid, modified, email="a@example.com", archived=False):
    return {
        "id": cid,
        "properties": {"email": email, "lastmodifieddate": modified},
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": modified,
        "archived": archived,
    }


def content(conn, table="hubspot__contacts"):
    """Key and record of every row: what must not change on a re-run."""
    return conn.execute(
        f"SELECT source_id, record, batch_id FROM raw.{table} ORDER BY source_id"
    ).fetchall()


def test_first_load_then_rerun_changes_nothing(scratch):
    pages = [
        [contact("1", "2026-03-01T10:00:00Z"), contact("2", "2026-03-02T10:00:00Z")],
        [contact("3", "2026-03-03T10:00:00Z")],
    ]
    first = load_pages(scratch, CONTACTS, pages)
    assert (first.extracted, first.inserted, first.updated, first.quarantined) == (3, 3, 0, 0)
    assert first.watermark == datetime(2026, 3, 3, 10, tzinfo=UTC)
    before = content(scratch)

    again = load_pages(scratch, CONTACTS, pages)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert content(scratch) == before  # same rows, same batch ids: nothing was rewritten


def test_changed_record_is_updated_and_newest_version_wins_within_a_batch(scratch):
    load_pages(scratch, CONTACTS, [[contact("1", "2026-03-01T10:00:00Z", "old@example.com")]])
    # The same contact twice in one extraction (overlapping search windows): newest wins.
    result = load_pages(
        scratch,
        CONTACTS,
        [
            [
                contact("1", "2026-03-05T10:00:00Z", "newest@example.com"),
                contact("1", "2026-03-04T10:00:00Z", "middle@example.com"),
            ]
        ],
    )
    assert (result.inserted, result.updated) == (0, 1)
    email = scratch.execute(
        "SELECT record->'properties'->>'email' FROM raw.hubspot__contacts WHERE source_id = '1'"
    ).fetchone()[0]
    assert email == "newest@example.com"


def test_deleted_flag_is_typed(scratch):
    load_pages(scratch, CONTACTS, [[contact("9", "2026-03-01T10:00:00Z", archived=True)]])
    assert (
        scratch.execute(
            "SELECT is_deleted FROM raw.hubspot__contacts WHERE source_id = '9'"
        ).fetchone()[0]
        is True
    )


def test_malformed_records_are_quarantined_with_a_reason_and_the_rest_loads(scratch):
    pages = [
        [
            contact("1", "2026-03-01T10:00:00Z"),
            contact(None, "2026-03-01T10:00:00Z"),  # no key
            contact("3", "not-a-date"),  # unparseable change time
            "a string where a record should be",
        ]
    ]
    result = load_pages(scratch, CONTACTS, pages)
    assert (result.extracted, result.inserted, result.quarantined) == (4, 1, 3)
    rows = scratch.execute(
        "SELECT reason, payload FROM ops.quarantine WHERE batch_id = %s ORDER BY quarantine_id",
        (result.batch_id,),
    ).fetchall()
    reasons = [reason for reason, _ in rows]
    assert reasons[0] == "key source_id is missing"
    assert reasons[1].startswith("updated-at: ValueError")
    assert reasons[2] == "not a JSON object but str"
    assert rows[1][1]["id"] == "3"  # the payload is kept whole
    batch = scratch.execute(
        "SELECT rows_extracted, rows_inserted, rows_quarantined FROM ops.load_batches "
        "WHERE batch_id = %s",
        (result.batch_id,),
    ).fetchone()
    assert batch == (4, 1, 3)


def test_failed_extraction_loads_nothing_and_keeps_the_watermark(scratch):
    load_pages(scratch, CONTACTS, [[contact("1", "2026-03-01T10:00:00Z")]])
    before = content(scratch)

    def pages_then_failure():
        yield [contact("2", "2026-04-01T10:00:00Z")]
        raise ConnectionError("source went away on page 2")

    with pytest.raises(ConnectionError):
        load_pages(scratch, CONTACTS, pages_then_failure())
    assert content(scratch) == before
    watermark = scratch.execute(
        "SELECT watermark FROM ops.source_state WHERE source_object = 'hubspot.contacts'"
    ).fetchone()[0]
    assert watermark == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert scratch.execute("SELECT count(*) FROM ops.load_batches").fetchone()[0] == 1


def ad_day(campaign, day, cost):
    return {
        "customer": {"resourceName": "customers/111", "currencyCode": "USD"},
        "campaign": {"id": campaign, "name": f"c{campaign}"},
        "metrics": {"costMicros": str(cost)},
        "segments": {"date": day},
    }


def test_replace_window_overwrites_restated_days_and_drops_vanished_rows(scratch):
    ads = RAW_OBJECTS["google_ads.campaign_days"]
    load_pages(
        scratch,
        ads,
        [
            [
                ad_day("1", "2026-06-01", 100),
                ad_day("1", "2026-06-02", 200),
                ad_day("2", "2026-06-02", 50),
            ]
        ],
        window=Window(date(2026, 6, 1), date(2026, 6, 2)),
    )
    # The platform restates 06-02: campaign 1 cost changes, campaign 2's row disappears.
    result = load_pages(
        scratch,
        ads,
        [[ad_day("1", "2026-06-02", 250)]],
        window=Window(date(2026, 6, 2), date(2026, 6, 2)),
    )
    assert (result.inserted, result.updated, result.deleted) == (0, 1, 1)
    rows = scratch.execute(
        "SELECT campaign_id, metric_date, (record->'metrics'->>'costMicros')::int "
        "FROM raw.google_ads__campaign_days ORDER BY campaign_id, metric_date"
    ).fetchall()
    assert rows == [("1", date(2026, 6, 1), 100), ("1", date(2026, 6, 2), 250)]


def test_a_malformed_record_in_a_window_never_deletes_a_row_the_source_still_serves(scratch):
    ads = RAW_OBJECTS["google_ads.campaign_days"]
    window = Window(date(2026, 6, 1), date(2026, 6, 3))
    first = [
        ad_day("1", "2026-06-01", 100),
        ad_day("2", "2026-06-01", 10),
        ad_day("1", "2026-06-02", 200),
        ad_day("2", "2026-06-02", 20),
        ad_day("1", "2026-06-03", 300),
    ]
    load_pages(scratch, ads, [first], window=window)
    # The source serves campaign 2 of 06-02 without its campaign id (malformed, its day
    # readable), campaign 2 of 06-01 stopped being reported (a real restatement), and the
    # rest unchanged.
    broken = {**ad_day("2", "2026-06-02", 20), "campaign": {"name": "c2"}}
    result = load_pages(
        scratch,
        ads,
        [[first[0], first[2], broken, first[4]]],
        window=window,
    )
    assert result.quarantined == 1 and result.kept_days == {date(2026, 6, 2)}
    # 06-01's vanished row goes; 06-02's row is kept: its malformed record might be it.
    assert result.deleted == 1
    rows = scratch.execute(
        "SELECT campaign_id, metric_date FROM raw.google_ads__campaign_days "
        "ORDER BY metric_date, campaign_id"
    ).fetchall()
    assert rows == [
        ("1", date(2026, 6, 1)),
        ("1", date(2026, 6, 2)),
        ("2", date(2026, 6, 2)),
        ("1", date(2026, 6, 3)),
    ]
    # A malformed record whose day cannot be read either: nothing in the window is deleted.
    no_day = {"customer": {"resourceName": "customers/111"}, "metrics": {"costMicros": "5"}}
    result = load_pages(scratch, ads, [[first[0], no_day]], window=window)
    assert (result.quarantined, result.deleted, result.kept_whole_window) == (1, 0, True)
    assert scratch.execute("SELECT count(*) FROM raw.google_ads__campaign_days").fetchone()[0] == 4
    # The source serves every record well again: the window is replaced exactly.
    result = load_pages(scratch, ads, [[first[0], first[2], first[4]]], window=window)
    assert (result.quarantined, result.deleted) == (0, 1)  # campaign 2 of 06-02 is gone now


def test_replace_window_needs_a_window(scratch):
    with pytest.raises(ValueError, match="replaces a date window"):
        load_pages(scratch, RAW_OBJECTS["google_ads.campaign_days"], [[]])


def test_catalogue_matches_the_raw_tables(scratch):
    """Every catalogued object has its table, keyed exactly by the catalogue's key columns."""
    for obj in RAW_OBJECTS.values():
        key = scratch.execute(
            """
            SELECT array_agg(a.attname ORDER BY array_position(i.indkey, a.attnum))
            FROM pg_index i JOIN pg_attribute a
              ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = %s::regclass AND i.indisprimary
            """,
            (f"raw.{obj.table}",),
        ).fetchone()[0]
        assert key == obj.key_names, obj.name


def test_an_unknown_extra_key_column_type_is_rejected_by_postgres(scratch):
    """A catalogue entry whose key cannot be stored fails the load, loudly, with nothing written."""
    broken = RawObject(
        name="google_ads.campaign_days",
        table="google_ads__campaign_days",
        keys=(
            KeyColumn("customer_id", lambda r: "1"),
            KeyColumn("campaign_id", lambda r: "1"),
            KeyColumn("metric_date", lambda r: "not a date"),
        ),
        updated_at=lambda r: None,
        mode="replace_window",
        window_column="metric_date",
        endpoint="campaign_days",
        replication="day_window",
    )
    with pytest.raises(psycopg.errors.InvalidDatetimeFormat):
        load_pages(scratch, broken, [[{"x": 1}]], window=Window(date(2026, 1, 1), date(2026, 1, 1)))
    assert scratch.execute("SELECT count(*) FROM raw.google_ads__campaign_days").fetchone()[0] == 0
