"""A partitioned model replaces only the partitions its inputs' changes reach, on the hand-made
world: one event moved from Max to Jane reaches exactly their two persons' touches, and the
result equals a full rebuild; an input whose changes cannot be known rebuilds it whole."""

from __future__ import annotations

import uuid

import pytest

from revenue_os.transform import build
from revenue_os.warehouse.migrations import migrate
from tests.integration.conftest import ScratchDatabases
from tests.integration.mart_world import load_world
from tests.integration.test_mart_publish import mart_checksums

DATABASE = "partitioned_models"


@pytest.fixture
def world(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create(DATABASE)
    migrate(conn)
    load_world(conn)
    build.build_all(conn, echo=lambda _: None)
    yield conn
    conn.close()
    databases.drop_all()


def touches_line(conn) -> str:
    lines: list[str] = []
    build.build_all(conn, echo=lines.append)
    (line,) = [line for line in lines if ".int_touchpoints:" in line]
    return line


def move_event(conn, event_id: str, contact_id: str) -> None:
    """As a load would: the event re-sent under another contact, in a batch of its own."""
    batch = uuid.uuid4()
    conn.execute(
        "INSERT INTO ops.load_batches (batch_id, source_object, mode, started_at, finished_at,"
        " rows_extracted, rows_inserted, rows_updated, rows_deleted, rows_quarantined)"
        " VALUES (%s, 'hubspot.events', 'incremental', now(), now(), 1, 0, 1, 0, 0)",
        (batch,),
    )
    conn.execute(
        "UPDATE raw.hubspot__events SET batch_id = %s,"
        " record = jsonb_set(record::jsonb, '{objectId}', to_jsonb(%s::text))"
        " WHERE event_id = %s",
        (batch, contact_id, event_id),
    )


def test_a_moved_event_replaces_the_touches_of_its_two_persons_only(world):
    conn = world
    assert touches_line(conn).endswith("(up to date, no change reached it)")
    before = conn.execute(
        "SELECT person_id, count(*) FROM staging.int_touchpoints GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert before == [("hs-101", 5), ("hs-103", 2)]

    # E7, Max's newsletter click, re-sent as Jane's (contact 101).
    move_event(conn, "E7", "101")
    line = touches_line(conn)
    # Out: Jane's five touches and Max's two; in: Jane's six and Max's one.
    assert line.endswith("(brought forward: 2 partitions replaced, 7 rows out, 7 in)"), line
    assert conn.execute(
        "SELECT person_id, count(*) FROM staging.int_touchpoints GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("hs-101", 6), ("hs-103", 1)]
    # Every applied change is forgotten once applied.
    assert conn.execute("SELECT count(*) FROM ops.model_changes").fetchone() == (0,)

    incremental = (mart_checksums(conn, schema=build.STAGING_SCHEMA), mart_checksums(conn))
    build.build_all(conn, echo=lambda _: None, full=True)
    full = (mart_checksums(conn, schema=build.STAGING_SCHEMA), mart_checksums(conn))
    assert incremental == full


def test_an_input_whose_changes_are_unknown_rebuilds_the_model_whole(world):
    conn = world
    expected = mart_checksums(conn, schema=build.STAGING_SCHEMA)
    # The persons' table lost: rebuilt with nothing to compare with, so it records that
    # anything may have changed, and the touches are rebuilt whole, with the same rows.
    conn.execute("DROP TABLE staging.int_persons")
    assert "rebuilt whole" in touches_line(conn)
    assert mart_checksums(conn, schema=build.STAGING_SCHEMA) == expected
    # The touches' table lost: rebuilt whole too.
    conn.execute("DROP TABLE staging.int_touchpoints")
    assert "rebuilt whole" in touches_line(conn)
    assert mart_checksums(conn, schema=build.STAGING_SCHEMA) == expected
