"""The data-health tables Superset shows (it reads the mart only, never ops).

Written into the schema being published, just before the swap, and into the published mart
in place after a blocked build: the business tables keep the last good data, but on-call and
executives see at once that the latest build was stopped, and by which check.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from revenue_os.metrics import MetricContract, load_contracts
from revenue_os.metrics.loader import models_behind
from revenue_os.metrics.slas import freshness_slas

# A check's result, as both the history and the known issues list it.
_RESULT_COLUMNS: dict[str, str] = {
    "dataset": "text",
    "check_name": "text",
    "tier": "integer",
    "outcome": "text",
    "measured": "text",
    "threshold": "text",
    "examples": "text",
    "owner": "text",
    "checked_at": "timestamptz",
    "check_label": "text",
    "dataset_label": "text",
}

DATA_PLATFORM = "Data platform"
"""Who fixes a check that names no owner: the team that runs the warehouse and its loads."""

# The tables' columns and types, for the Superset datasets over them.
DATA_HEALTH_TABLES: dict[str, dict[str, str]] = {
    "data_health_checks": {
        "result_id": "integer",
        "build_id": "text",
        "run_id": "text",
        "run_label": "text",
        "build_status": "text",
        **_RESULT_COLUMNS,
        "checked_date": "date",
    },
    "data_health_sources": {
        "source_object": "text",
        "source": "text",
        "last_loaded_at": "timestamptz",
        "hours_since_load": "numeric",
        "sla_hours": "integer",
        "status": "text",
        "rows_last_load": "integer",
        "records_in_quarantine": "integer",
        "last_full_load_at": "timestamptz",
    },
    "data_health_known_issues": {**_RESULT_COLUMNS, "confidence_note": "text"},
    "data_health_summary": {
        "build_id": "text",
        "run_id": "text",
        "build_status": "text",
        "checked_at": "timestamptz",
        "checks": "integer",
        "passed": "integer",
        "warned": "integer",
        "failed": "integer",
        "checks_headline": "text",
        "sources": "integer",
        "fresh_sources": "integer",
        "freshness_headline": "text",
        "last_full_load_at": "timestamptz",
        "build_line": "text",
        "status_color": "text",
    },
}

_CHECKS = """
SELECT r.result_id::integer, r.build_id::text, b.run_id,
       replace(b.run_id, '__', ' · ') AS run_label, replace(b.status, '_', ' ') AS build_status,
       r.dataset, r.check_name,
       r.tier::integer,
       r.outcome, r.measured, r.threshold,
       (SELECT string_agg(example, '; ') FROM jsonb_array_elements_text(r.examples::jsonb) AS example) AS examples,
       coalesce(r.owner, {data_platform}) AS owner, r.checked_at,
       coalesce(r.check_label, r.check_name) AS check_label,
       coalesce(r.dataset_label, r.dataset) AS dataset_label,
       r.checked_at::date AS checked_date
FROM ops.quality_results AS r
LEFT JOIN ops.mart_builds AS b USING (build_id)
"""

_SOURCES = """
SELECT source_object, split_part(source_object, '.', 1) AS source, max(finished_at) AS last_loaded_at,
       round((extract(epoch FROM now() - max(finished_at)) / 3600)::numeric, 1) AS hours_since_load,
       sla.hours::integer AS sla_hours,
       CASE WHEN now() - max(finished_at) < make_interval(hours => sla.hours) THEN 'fresh'
            ELSE 'stale' END AS status,
       (array_agg(rows_extracted ORDER BY finished_at DESC))[1]::integer AS rows_last_load,
       (SELECT count(*) FROM ops.quarantine AS q
        WHERE q.source_object = load_batches.source_object AND q.released_at IS NULL)::integer
           AS records_in_quarantine,
       -- An object's first load had no watermark: it read everything, as a full load does.
       greatest(max(finished_at) FILTER (WHERE mode = 'full'), min(finished_at))
           AS last_full_load_at
FROM ops.load_batches
JOIN (VALUES {slas}) AS sla (source, hours) ON sla.source = split_part(source_object, '.', 1)
GROUP BY source_object, sla.hours
"""

_KNOWN_ISSUES = """
SELECT r.dataset, r.check_name, r.tier::integer, r.outcome, r.measured, r.threshold,
       (SELECT string_agg(example, '; ') FROM jsonb_array_elements_text(r.examples::jsonb) AS example) AS examples,
       coalesce(r.owner, {data_platform}) AS owner, r.checked_at,
       coalesce(r.check_label, r.check_name) AS check_label,
       coalesce(r.dataset_label, r.dataset) AS dataset_label,
       coalesce(notes.note, '') AS confidence_note
FROM ops.quality_results AS r
LEFT JOIN (VALUES {notes}) AS notes (dataset, note) ON notes.dataset = r.dataset
WHERE r.build_id = (SELECT build_id FROM ops.quality_results ORDER BY checked_at DESC LIMIT 1)
  AND r.outcome <> 'passed'
"""


# One row, always: the latest build's checks in words ("All 61 checks passed") and the sources'
# freshness, so the dashboard never opens on an empty table. Reads the tables written above.
_SUMMARY = """
WITH latest AS (
    SELECT build_id FROM {checks} ORDER BY checked_at DESC LIMIT 1
), results AS (
    SELECT c.* FROM {checks} AS c JOIN latest USING (build_id)
), counted AS (
    SELECT max(build_id) AS build_id, max(run_id) AS run_id, max(build_status) AS build_status,
           max(checked_at) AS checked_at, count(*)::integer AS checks,
           count(*) FILTER (WHERE outcome = 'passed')::integer AS passed,
           count(*) FILTER (WHERE outcome = 'warned')::integer AS warned,
           count(*) FILTER (WHERE outcome NOT IN ('passed', 'warned'))::integer AS failed,
           count(*) FILTER (WHERE outcome NOT IN ('passed', 'warned') AND tier = 1)::integer
               AS blocking
    FROM results
), freshness AS (
    SELECT count(*)::integer AS sources,
           count(*) FILTER (WHERE status = 'fresh')::integer AS fresh_sources,
           string_agg(source_object, ', ' ORDER BY source_object)
               FILTER (WHERE status <> 'fresh') AS stale,
           min(last_full_load_at) AS last_full_load_at
    FROM {sources}
)
SELECT counted.build_id, counted.run_id, counted.build_status, counted.checked_at,
       counted.checks, counted.passed, counted.warned, counted.failed,
       CASE WHEN counted.checks = 0 THEN 'No data-quality checks have run yet'
            WHEN counted.passed = counted.checks
                THEN 'All ' || counted.checks || ' checks of the latest build passed'
            -- A tier 2 failure is published and listed as a known issue; only tier 1 blocks.
            ELSE counted.passed || ' of ' || counted.checks || ' checks passed · '
                 || counted.warned || ' warned · '
                 || (counted.failed - counted.blocking) || ' known issues'
                 || CASE WHEN counted.blocking > 0
                         THEN ' · ' || counted.blocking || ' blocked the publish' ELSE '' END
            END AS checks_headline,
       freshness.sources, freshness.fresh_sources,
       CASE WHEN freshness.sources = 0 THEN 'No source has been loaded yet'
            WHEN freshness.fresh_sources = freshness.sources
                THEN 'All ' || freshness.sources || ' source objects are within their SLA'
            ELSE (freshness.sources - freshness.fresh_sources) || ' of ' || freshness.sources
                 || ' source objects are stale: ' || freshness.stale END AS freshness_headline,
       freshness.last_full_load_at,
       CASE WHEN counted.checks = 0 THEN 'No build has been audited yet'
            ELSE 'Latest build checked '
                 || to_char(counted.checked_at AT TIME ZONE 'UTC', 'FMDD Mon YYYY HH24:MI')
                 || ' UTC · last full load '
                 || coalesce(to_char(freshness.last_full_load_at AT TIME ZONE 'UTC',
                                     'FMDD Mon YYYY HH24:MI') || ' UTC', 'never') END
           AS build_line,
       CASE WHEN counted.blocking > 0 OR freshness.fresh_sources < freshness.sources
                THEN '#d93025'
            WHEN counted.warned > 0 OR counted.failed > 0 THEN '#e37400'
            ELSE '#1e8e3e' END AS status_color
FROM counted CROSS JOIN freshness
"""


def _confidence_notes(contracts: dict[str, MetricContract]) -> list[tuple[str, str]]:
    """Per mart table, the confidence notes of the KPIs computed from it (through the metrics
    a ratio or formula derives from: ROAS is behind the attribution and the ad spend)."""
    notes: dict[str, list[str]] = {}
    for contract in contracts.values():
        if contract.tier != "kpi":
            continue
        for model in models_behind(contract, contracts):
            notes.setdefault(model, []).append(
                f"{contract.label}: {contract.confidence.level} ({contract.confidence.note.strip()})"
            )
    return [(model, " | ".join(items)) for model, items in sorted(notes.items())]


def _values(rows: list[tuple]) -> sql.Composed:
    return sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, row))) for row in rows
    )


def write_data_health(conn: psycopg.Connection, schema: str) -> None:
    """(Re)create data_health_checks, _sources, _known_issues and the one-row _summary."""
    contracts = load_contracts()
    tables = {
        "data_health_checks": sql.SQL(_CHECKS).format(data_platform=sql.Literal(DATA_PLATFORM)),
        "data_health_sources": sql.SQL(_SOURCES).format(
            slas=_values(sorted(freshness_slas(contracts).items()))
        ),
        "data_health_known_issues": sql.SQL(_KNOWN_ISSUES).format(
            notes=_values(_confidence_notes(contracts) or [("", "")]),
            data_platform=sql.Literal(DATA_PLATFORM),
        ),
    }
    tables["data_health_summary"] = sql.SQL(_SUMMARY).format(
        checks=sql.Identifier(schema, "data_health_checks"),
        sources=sql.Identifier(schema, "data_health_sources"),
    )
    with conn.transaction():
        for name, query in tables.items():
            table = sql.Identifier(schema, name)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.execute(sql.SQL("CREATE TABLE {} AS {}").format(table, query))
