"""The dashboards on a real Superset 6.1: the refresh exported and imported the bundle; every
chart's saved query answers with data; key numbers equal the mart read with SQL; a re-import
changes nothing; the executive browses dashboards but cannot reach SQL Lab or raw data."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from revenue_os.dashboards.bundle import build_bundle, bundle_files
from revenue_os.dashboards.publish import import_and_check
from revenue_os.dashboards.specs import load_specs
from revenue_os.dashboards.superset_client import SupersetClient
from revenue_os.metrics.labels import label_of
from revenue_os.orchestration.dashboards import BUNDLE_NAME, IMPORTED_NAME
from tests.integration.conftest import state_file

SLUGS = {
    "data-health",
    "executive-performance",
    "marketing-roi",
    "pipeline-retention",
    "recurring-revenue",
    "weekly-revenue-meeting",
}
CHANNEL_TABLE = "Channel performance (the date range, W-shaped attribution)"


@pytest.fixture(scope="module")
def reader_uri(stack) -> str:
    return stack.warehouse_uri("mart_reader")


@pytest.fixture(scope="module")
def files(reader_uri):
    return bundle_files(reader_uri)


@pytest.fixture
def admin(stack):
    with SupersetClient(
        stack.profile.superset_url, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"]
    ) as client:
        client.login()
        yield client


def ours(files, kind: str) -> dict[str, dict]:
    return {c["uuid"]: c for path, c in files.items() if path.startswith(f"{kind}/")}


def test_the_refresh_exported_the_bundle_and_imported_it(stack, reader_uri, files, admin):
    exported = state_file("exports") / BUNDLE_NAME
    assert exported.read_bytes() == build_bundle(reader_uri)  # deterministic, and current
    assert b"MART_READER" not in exported.read_bytes()
    assert stack.secrets["MART_READER_PASSWORD"].encode() not in exported.read_bytes()
    slugs = {c["slug"] for c in ours(files, "dashboards").values()}
    assert slugs == SLUGS
    assert slugs <= {d["slug"] for d in admin.dashboards()}
    # The refresh recorded what it imported, so the next refresh skips an unchanged bundle.
    imported = json.loads((state_file("exports") / IMPORTED_NAME).read_text())
    assert list(imported.values()) == [bundle_digest_of(reader_uri, files)]


# Exception lists, empty when all is well (no check failed, no known issue): the specs say so.
SPECS = load_specs()
MAY_BE_EMPTY = {
    chart.title for spec in SPECS.values() for chart in spec.charts if chart.may_be_empty
}
SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def test_every_chart_answers_with_rows(files, admin):
    charts = {c["uuid"]: c for c in admin.charts() if c.get("uuid") in ours(files, "charts")}
    assert len(charts) == len(ours(files, "charts")) >= 40
    empty = {}
    for chart in charts.values():
        result = admin.chart_data(chart["id"])["result"]
        rows = sum(part["rowcount"] for part in result)
        assert all(not part.get("error") for part in result), chart["slice_name"]
        if rows == 0 and chart["slice_name"] not in MAY_BE_EMPTY:
            empty[chart["slice_name"]] = result[0].get("error")
    assert empty == {}


def _chart(admin, files, title: str) -> list[dict]:
    """The data of the first chart with this title (a headline may sit on two dashboards)."""
    uuids = sorted(u for u, c in ours(files, "charts").items() if c["slice_name"] == title)
    assert uuids, f"no chart titled {title!r} in the bundle"
    (chart,) = [c for c in admin.charts() if c.get("uuid") == uuids[0]]
    return admin.chart_data(chart["id"])["result"][0]["data"]


def _long(rows: list[dict], axis: str) -> list[tuple]:
    """A time-series chart's rows as it draws them (one column per series, the series' label
    as the column's name), back to (axis value, series label, value); gaps are left out."""
    return [
        (row[axis], series, value)
        for row in rows
        for series, value in row.items()
        if series != axis and value is not None
    ]


def _day(epoch_ms: float) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).date()


def _calendar(mart_reader) -> dict:
    row = mart_reader.execute(
        "SELECT current_period, latest_complete_period, latest_final_period,"
        " latest_complete_label FROM mart.reporting_calendar WHERE period_grain = 'month'"
    ).fetchone()
    return dict(zip(("current", "complete", "final", "complete_label"), row, strict=True))


def test_revenue_by_month_equals_the_mart_up_to_the_month_in_progress(files, admin, mart_reader):
    rows = _chart(admin, files, "Revenue by month, USD (final and provisional months)")
    shown = {
        (_day(month), state): Decimal(str(total)).quantize(Decimal("0.01"))
        for month, state, total in _long(rows, "month_start")
    }
    calendar = _calendar(mart_reader)
    expected = {
        (month, "Final" if month <= calendar["final"] else "Provisional"): total
        for month, total in mart_reader.execute(
            "SELECT date_trunc('month', invoice_date)::date, sum(revenue_usd)"
            " FROM mart.fct_revenue_lines WHERE invoice_date < %s GROUP BY 1",
            (calendar["current"],),
        ).fetchall()
    }
    assert shown == expected
    assert max(month for month, _ in shown) == calendar["complete"]


def test_the_roas_tile_shows_the_kpi_of_the_latest_complete_month(files, admin, mart_reader):
    (tile,) = _chart(admin, files, "ROAS (W-shaped attribution)")
    calendar = _calendar(mart_reader)
    value, prior, status = mart_reader.execute(
        "SELECT value, prior_value, status FROM mart.kpi_values WHERE metric_name = 'roas'"
        " AND period_grain = 'month' AND dimension_name = 'overall' AND period_start = %s",
        (calendar["complete"],),
    ).fetchone()
    assert tile["period_label"] == calendar["complete_label"]
    assert tile["display_value"] == f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP)}x"
    change = ((value - prior) * 100 / abs(prior)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert tile["display_change"] == f"{'+' if change > 0 else '-'}{abs(change)} %"
    assert (
        tile["status_label"]
        == {"green": "On track", "yellow": "At risk", "red": "Off track"}[status]
    )


def test_the_coverage_chart_shows_the_coverage_kpi_by_segment(files, admin, mart_reader):
    title = next(
        chart.title
        for chart in SPECS["pipeline_retention"].charts
        if chart.key == "coverage_by_segment"
    )
    shown = {
        (_day(quarter), segment): round(Decimal(str(value)), 6)
        for quarter, segment, value in _long(_chart(admin, files, title), "period_start")
    }
    expected = {
        (quarter, label_of("segment", segment)): round(value, 6)
        for quarter, segment, value in mart_reader.execute(
            "SELECT period_start, dimension_value, value FROM mart.kpi_values"
            " WHERE metric_name = 'pipeline_coverage' AND period_grain = 'quarter'"
            " AND dimension_name = 'segment' AND value IS NOT NULL"
        ).fetchall()
    }
    assert shown == expected
    # This quarter and the next, and the open pipeline makes this quarter's coverage real.
    assert len({quarter for quarter, _ in shown}) == 2
    assert any(value > 0 for value in shown.values())


def _filtered(admin, files, slug: str, key: str, chosen: dict[str, str]) -> dict:
    """A chart's data with dashboard filters chosen, as the dashboard asks for it: the
    filter's column and value appended to the saved query (`chosen`: column → label)."""
    chart_uuid = files[f"charts/{slug}/{key}.yaml"]["uuid"]
    (chart,) = [c for c in admin.charts() if c.get("uuid") == chart_uuid]
    body = json.loads(
        admin._http.get(f"/api/v1/chart/{chart['id']}").json()["result"]["query_context"]
    )
    for column, value in chosen.items():
        body["queries"][0]["filters"].append({"col": column, "op": "IN", "val": [value]})
    body["force"] = True
    response = admin._http.post("/api/v1/chart/data", json=body)
    return {"status": response.status_code, **response.json()}


def _scorecard_row(mart_reader, metric: str, dimension: str, value: str) -> dict:
    cursor = mart_reader.execute(
        "SELECT display_value, period_label FROM mart.kpi_scorecard WHERE metric_name = %s"
        " AND period_grain = 'month' AND dimension_name = %s AND dimension_value = %s",
        (metric, dimension, value),
    )
    return dict(zip(("display_value", "period_label"), cursor.fetchone(), strict=True))


def test_a_kpi_tile_shows_the_slice_a_filter_chooses(files, admin, mart_reader):
    chosen = _filtered(
        admin, files, "executive-performance", "revenue_headline", {"segment_label": "SMB"}
    )
    (part,) = chosen["result"]
    (tile,) = part["data"]
    expected = _scorecard_row(mart_reader, "total_revenue", "segment", "smb")
    assert (tile["display_value"], tile["period_label"]) == (
        expected["display_value"],
        expected["period_label"],
    )
    assert tile["breakdown_note"] == "Segment: SMB"
    assert {"column": "segment_label"} in part["applied_filters"]
    assert part["rejected_filters"] == []
    total = _scorecard_row(mart_reader, "total_revenue", "overall", "all")
    assert tile["display_value"] != total["display_value"]  # a slice, not the company


def test_a_chart_a_filter_cannot_reach_says_so(files, admin, mart_reader):
    # ROAS is not kept by segment: the tile keeps the company's ROAS and Superset reports the
    # filter as incompatible, which the dashboard shows on the chart.
    chosen = _filtered(admin, files, "marketing-roi", "roas_headline", {"segment_label": "SMB"})
    (part,) = chosen["result"]
    (tile,) = part["data"]
    assert (
        tile["display_value"]
        == _scorecard_row(mart_reader, "roas", "overall", "all")["display_value"]
    )
    assert [item["column"] for item in part["rejected_filters"]] == ["segment_label"]
    # The scorecard follows the segment where a KPI is kept by it, and says where not.
    chosen = _filtered(
        admin, files, "executive-performance", "kpi_scorecard", {"segment_label": "SMB"}
    )
    rows = {row["label"]: row for row in chosen["result"][0]["data"]}
    assert rows["Total revenue"]["breakdown_note"] == "Segment: SMB"
    assert (
        rows["Total revenue"]["display_value"]
        == (_scorecard_row(mart_reader, "total_revenue", "segment", "smb")["display_value"])
    )
    assert rows["Return on ad spend (ROAS)"]["breakdown_note"] == (
        "Not kept by segment: the company's total"
    )


def test_two_breakdowns_at_once_leave_a_kpi_total_unfiltered_and_say_so(files, admin, mart_reader):
    chosen = _filtered(
        admin,
        files,
        "executive-performance",
        "revenue_headline",
        {"segment_label": "SMB", "region_label": "EMEA"},
    )
    (part,) = chosen["result"]
    (tile,) = part["data"]
    # No KPI is kept by segment and region together: the company's total, said on the tile
    # and with both filters reported as not applied.
    assert (
        tile["display_value"]
        == (_scorecard_row(mart_reader, "total_revenue", "overall", "all")["display_value"])
    )
    assert tile["breakdown_note"] == (
        "Not filtered: no KPI is kept by two breakdowns at once, choose one"
    )
    assert sorted(item["column"] for item in part["rejected_filters"]) == [
        "region_label",
        "segment_label",
    ]


def test_a_breakdown_chart_narrows_to_the_chosen_value(files, admin, mart_reader):
    chosen = _filtered(
        admin, files, "marketing-roi", "roas_by_channel", {"channel_label": "Paid social"}
    )
    (part,) = chosen["result"]
    series = {series for _, series, _ in _long(part["data"], "period_start")}
    assert series == {"Paid social"}
    # Campaigns narrow by their own channel (dim_campaign): every campaign with a ROAS row
    # of the channel with the most, and no other.
    by_channel: dict[str, set[str]] = {}
    for channel, label in mart_reader.execute(
        "SELECT c.channel, s.dimension_label FROM mart.kpi_scorecard AS s JOIN"
        " mart.dim_campaign AS c ON c.campaign_key = s.dimension_value WHERE"
        " s.metric_name = 'roas' AND s.period_grain = 'month' AND s.dimension_name = 'campaign'"
        " AND s.value IS NOT NULL"
    ):
        by_channel.setdefault(channel, set()).add(label)
    channel = max(by_channel, key=lambda name: len(by_channel[name]))
    chosen = _filtered(
        admin,
        files,
        "marketing-roi",
        "roas_by_campaign",
        {"channel_label": label_of("channel", channel)},
    )
    campaigns = {row["dimension_label"] for row in chosen["result"][0]["data"]}
    assert campaigns == by_channel[channel]
    idle = next(name for name in ("paid_social", "paid_display", "email") if name not in by_channel)
    chosen = _filtered(
        admin,
        files,
        "marketing-roi",
        "roas_by_campaign",
        {"channel_label": label_of("channel", idle)},
    )
    assert chosen["result"][0]["data"] == []


def test_the_channel_table_adds_up_the_kpi_layers_channel_months(files, admin, mart_reader):
    """Marketing's channel table, one row per channel, equals the KPI layer's channel rows
    summed over the complete and provisional months (the month in progress is left out),
    ROAS and cost per lead as ratios of those sums."""
    calendar = _calendar(mart_reader)
    sums: dict[str, dict[str, Decimal]] = {}
    for channel, metric, total in mart_reader.execute(
        "SELECT dimension_value, metric_name, sum(value) FROM mart.kpi_values WHERE"
        " period_grain = 'month' AND dimension_name = 'channel' AND period_start < %s"
        " AND metric_name IN ('paid_spend', 'leads', 'paid_attributed_revenue')"
        " GROUP BY 1, 2",
        (calendar["current"],),
    ):
        sums.setdefault(label_of("channel", channel), {})[metric] = total
    rows = {row["channel_label"]: row for row in _chart(admin, files, CHANNEL_TABLE)}
    assert set(rows) == set(sums)
    for channel, expected in sums.items():
        spend = expected.get("paid_spend", Decimal(0))
        shown = rows[channel]
        assert round(Decimal(str(shown["paid_spend"])), 2) == round(spend, 2), channel
        assert shown["leads"] == expected.get("leads", 0), channel
        if spend:
            roas = expected.get("paid_attributed_revenue", Decimal(0)) / spend
            assert round(Decimal(str(shown["roas"])), 6) == round(roas, 6), channel
            if expected.get("leads"):
                assert round(Decimal(str(shown["cost_per_lead"])), 6) == round(
                    spend / expected["leads"], 6
                ), channel
        else:
            assert shown["roas"] is None, channel
    assert sum(1 for row in rows.values() if row["paid_spend"]) >= 2  # paid channels, at least


def test_campaign_revenue_shows_one_attribution_model_w_shaped_unless_chosen(
    files, admin, mart_reader
):
    calendar = _calendar(mart_reader)

    def expected(model: str) -> dict[str, Decimal]:
        return {
            campaign: total
            for campaign, total in mart_reader.execute(
                "SELECT campaign_key, sum(attributed_amount_usd) FROM"
                " mart.fct_campaign_attribution_monthly WHERE attribution_model = %s"
                " AND conversion_type = 'won_opportunity' AND campaign_key IS NOT NULL"
                " AND month_start < %s AND channel IN ('paid_search', 'paid_social',"
                " 'paid_display') GROUP BY 1",
                (model, calendar["current"]),
            )
        }

    for chosen, model in (
        ({}, "w_shaped"),
        ({"attribution_model_label": "First touch"}, "first_touch"),
    ):
        response = _filtered(
            admin, files, "marketing-roi", "attributed_revenue_by_campaign", chosen
        )
        (part,) = response["result"]
        shown = {
            row["campaign_key"]: round(Decimal(str(row["paid_attributed_revenue"])), 2)
            for row in part["data"]
        }
        assert shown == {key: round(value, 2) for key, value in expected(model).items() if value}
        assert part["rejected_filters"] == []


def test_no_chart_shows_only_zeros_or_nothing_and_no_legend_shows_a_key(files, admin):
    charts = {c["uuid"]: c for c in admin.charts() if c.get("uuid") in ours(files, "charts")}
    blank, keys = [], []
    for uuid_, chart in charts.items():
        title = chart["slice_name"]
        data = admin.chart_data(chart["id"])["result"][0]["data"]
        params = ours(files, "charts")[uuid_]["params"]
        series = [c for c in params.get("groupby", []) if isinstance(c, str)]
        numbers = [
            value
            for row in data
            for column, value in row.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and column not in (params.get("x_axis"), "period_start")
        ]
        if params["viz_type"] == "handlebars":
            # Written-out rows carry their figures as text ("$1.2M", "+4.0 %", "3.80x"); a
            # period label ("September 2026") has digits whatever the figures, so only the
            # display_ columns count where a template has them.
            shown = [c for c in (data[0] if data else {}) if c.startswith("display_")]
            numbers += [
                row[c]
                for row in data
                for c in (shown or row)
                if isinstance(row[c], str) and re.search(r"[1-9]", row[c])
            ]
        if title not in MAY_BE_EMPTY and not any(numbers):
            blank.append(title)
        query = json.loads(ours(files, "charts")[uuid_]["query_context"])["queries"][0]
        pivoted = any(step["operation"] == "pivot" for step in query.get("post_processing", []))
        if pivoted and series:  # the series' labels are the columns' names
            legend = {column for row in data for column in row if column != params["x_axis"]}
        else:
            legend = {row[c] for row in data for c in series if isinstance(row.get(c), str)}
        if params["viz_type"] != "table":
            keys += [(title, label) for label in sorted(legend) if SNAKE_CASE.match(label)]
    assert blank == []
    assert keys == []


def test_a_reimport_changes_nothing(stack, reader_uri, files, admin):
    def inventory() -> tuple:
        charts = sorted((c["id"], c["uuid"]) for c in admin.charts())
        dashboards = sorted((d["id"], d["slug"]) for d in admin.dashboards())
        return charts, dashboards

    before = inventory()
    report = import_and_check(
        stack.profile.superset_url, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"], reader_uri
    )
    assert report.ok, report.summary()
    assert inventory() == before


def test_an_unchanged_bundle_is_not_reimported_unless_superset_lost_part_of_it(
    stack, reader_uri, files, admin
):
    login = (stack.profile.superset_url, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"])
    first = import_and_check(*login, reader_uri, files=files)
    assert first.imported and first.ok, first.summary()

    again = import_and_check(*login, reader_uri, files=files, imported_digest=first.bundle_digest)
    assert not again.imported and again.ok, again.summary()
    assert again.summary().startswith("unchanged (not re-imported) in ")
    # Still checked: every chart of ours queried, the same rows as after the import.
    assert again.rows_by_chart == first.rows_by_chart

    # Another password beside the same files is another import (it is the one Superset uses).
    rotated = reader_uri.replace(stack.secrets["MART_READER_PASSWORD"], "rotated")
    assert bundle_digest_of(rotated, files) != first.bundle_digest

    # A chart deleted in Superset: the same digest no longer suffices.
    victim = next(c for c in admin.charts() if c.get("uuid") in ours(files, "charts"))
    response = admin._http.delete(f"/api/v1/chart/{victim['id']}")
    assert response.status_code == 200, response.text
    restored = import_and_check(
        *login, reader_uri, files=files, imported_digest=first.bundle_digest
    )
    assert restored.imported and restored.ok, restored.summary()
    assert victim["uuid"] in {c.get("uuid") for c in admin.charts()}


def test_a_publish_retires_every_cached_result_filtered_views_included(
    stack, reader_uri, files, admin
):
    """A view no warm-up replays (a filter an executive chose) cached before a refresh is
    computed again after it, not served from the cache with the previous mart's numbers."""
    login = (stack.profile.superset_url, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"])
    (chart,) = [
        c
        for c in admin.charts()
        if c.get("uuid") in ours(files, "charts")
        and c["slice_name"] == "Revenue by month, USD (final and provisional months)"
    ]
    body = json.loads(
        admin._http.get(f"/api/v1/chart/{chart['id']}").json()["result"]["query_context"]
    )
    body["queries"][0]["filters"].append({"col": "segment", "op": "IN", "val": ["smb"]})

    def filtered_is_cached() -> bool:
        response = admin._http.post("/api/v1/chart/data", json=body)
        assert response.status_code == 200, response.text
        return all(part.get("is_cached") for part in response.json()["result"])

    filtered_is_cached()
    assert filtered_is_cached()  # the second ask is answered from the cache
    report = import_and_check(*login, reader_uri, files=files)  # as after a publish
    assert report.ok, report.summary()
    assert not filtered_is_cached()


def bundle_digest_of(reader_uri: str, files) -> str:
    from psycopg.conninfo import conninfo_to_dict

    from revenue_os.dashboards.bundle import zip_bundle
    from revenue_os.dashboards.publish import bundle_digest

    return bundle_digest(zip_bundle(files), conninfo_to_dict(reader_uri)["password"])


def api_session(stack, username: str, password: str) -> httpx.Client:
    """A logged-in API session as `username` (bearer and CSRF token), as a browser has."""
    client = httpx.Client(
        base_url=stack.profile.superset_url, headers={"Accept": "application/json"}, timeout=60
    )
    token = client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db", "refresh": False},
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    client.headers["X-CSRFToken"] = client.get("/api/v1/security/csrf_token/").json()["result"]
    return client


def run_sql(session: httpx.Client, database_id: int, query: str) -> httpx.Response:
    return session.post(
        "/api/v1/sqllab/execute/",
        json={"database_id": database_id, "sql": query, "runAsync": False},
    )


def test_the_executive_browses_dashboards_but_not_sql_lab(stack, files, admin):
    (database,) = admin.databases()
    chart = next(c for c in admin.charts() if c.get("uuid") in ours(files, "charts"))
    exe = api_session(stack, "executive", stack.secrets["SUPERSET_EXECUTIVE_PASSWORD"])
    try:
        slugs = {d["slug"] for d in exe.get("/api/v1/dashboard/").json()["result"]}
        assert slugs >= SLUGS
        assert exe.get(f"/api/v1/chart/{chart['id']}/data/").status_code == 200
        assert run_sql(exe, database["id"], "SELECT 1").status_code == 403
        raw = {"database": database["id"], "schema": "raw", "table_name": "hubspot__contacts"}
        assert exe.post("/api/v1/dataset/", json=raw).status_code == 403
    finally:
        exe.close()


def test_superset_cannot_read_raw_even_as_admin(stack, admin):
    (database,) = admin.databases()
    session = api_session(stack, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"])
    try:
        allowed = run_sql(session, database["id"], "SELECT count(*) AS n FROM mart.dim_channel")
        refused = run_sql(session, database["id"], "SELECT count(*) FROM raw.hubspot__contacts")
    finally:
        session.close()
    assert allowed.status_code == 200 and allowed.json()["data"] == [{"n": 10}]
    # The connection is the mart_reader role: Postgres refuses the raw schema.
    assert refused.status_code >= 400 and "permission denied" in refused.text
