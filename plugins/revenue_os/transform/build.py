"""Write-audit-publish for the mart.

1. build: seeds and staging/intermediate models into `staging` (internal, never published),
   the mart models into `mart_build`, a schema nobody reads;
2. audit: every model's grain is unique, the facts are not empty, attribution gives each
   conversion exactly 1 per model, each monthly roll-up sums to its fact; more checks (the
   data-quality gate) plug in through `extra_audits`;
3. publish: in one transaction `mart` becomes `mart_previous` and `mart_build` becomes `mart`,
   so a reader sees the old mart or the new one, never a half-built or failed one; the
   previous version stays for `rollback`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from revenue_os.metrics.kept_kpis import BROUGHT_FORWARD_KPI_TABLES, KeptMetrics
from revenue_os.metrics.kpi_layer import build_kpi_tables
from revenue_os.metrics.kpi_tables import KPI_TABLES, KPI_TABLES_FILE
from revenue_os.metrics.mart_catalogue import MART_MODELS, ROLLUPS
from revenue_os.metrics.scorecard import stamp_as_of
from revenue_os.paths import SEEDS_DIR
from revenue_os.quality.gate import quality_audit
from revenue_os.quality.health import write_data_health
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.transform import changes, differences
from revenue_os.transform.audits import Audit, AuditFailed, AuditResult
from revenue_os.transform.models import Model, ModelError, build_order, discover
from revenue_os.warehouse.connection import LOADER_ROLE, READER_ROLE

log = logging.getLogger(__name__)

STAGING_SCHEMA = "staging"
BUILD_SCHEMA = "mart_build"
PUBLISHED_SCHEMA = "mart"
PREVIOUS_SCHEMA = "mart_previous"
# Superset's login, and the operations tasks' (alerts, the watchdog, the reporting pack).
MART_READING_ROLES = (READER_ROLE, LOADER_ROLE)
CREDIT_TOLERANCE = 1e-9
# first, last, linear, U, W and time decay (sql/models/marts/fct_attribution.sql)
ATTRIBUTION_MODELS = 6


@dataclass
class BuildResult:
    build_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _set_session(conn: psycopg.Connection) -> None:
    # Dates and casts must not depend on the server's or the client's time zone.
    conn.execute("SET TIME ZONE 'UTC'")
    # JIT compilation cost more than it saved: the planner misjudges the range joins of
    # fct_opportunities and compiles for rows that never come (docs/performance.md).
    conn.execute("SET jit = off")
    # Index builds (the kept tables' grain, the indexed mart tables, the KPI table's key) sort
    # in memory instead of on disk: kpi_values' key at scale 10 took 1.5 s instead of 2.0 s.
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute(
        sql.SQL("SET search_path TO {}, {}").format(
            sql.Identifier(BUILD_SCHEMA), sql.Identifier(STAGING_SCHEMA)
        )
    )


_BUILD_COMMENT = "revenue-os build "


def schema_build(conn: psycopg.Connection, schema: str) -> uuid.UUID | None:
    """The build whose tables a mart schema holds, from the schema's comment (it moves with
    the schema when a publish or a rollback renames it); None when there is none."""
    row = conn.execute(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
        (schema,),
    ).fetchone()
    comment = row[0] if row else None
    if not comment or not comment.startswith(_BUILD_COMMENT):
        return None
    return uuid.UUID(comment.removeprefix(_BUILD_COMMENT))


def _refused_by_audit(conn: psycopg.Connection, build_id: uuid.UUID | None) -> bool:
    """Whether the build left in `mart_build` failed its audits. Its tables are in doubt (the
    audit judged them whole, and a wrong row may sit in a partition no change will reach), so
    the next build starts from an empty schema rather than bringing them forward. A build
    that broke or stopped is taken up: each table it wrote agrees with its recorded state."""
    if build_id is None:
        return False
    status = conn.execute(
        "SELECT status FROM ops.mart_builds WHERE build_id = %s", (build_id,)
    ).fetchone()
    return status is not None and status[0] == "audit_failed"


def start_build(
    conn: psycopg.Connection,
    run_id: str | None = None,
    *,
    full: bool = False,
    models: dict[str, Model] | None = None,
) -> uuid.UUID:
    """Open a build and a row in ops.mart_builds. The build schema is the mart one copy
    behind, brought forward by what changed since (blue-green): a build left by a broken or
    retried build, else `mart_previous`; its partitioned tables and their state are kept,
    and the tables they follow, every other table dropped. With `full`, when there is none,
    or when the build left there failed its audits, a fresh, empty schema."""
    build_id = uuid.uuid4()
    models = discover() if models is None else models
    with conn.transaction():
        held = {s: schema_build(conn, s) for s in (BUILD_SCHEMA, PREVIOUS_SCHEMA, PUBLISHED_SCHEMA)}
        base_schema = None
        if not full and not _refused_by_audit(conn, held[BUILD_SCHEMA]):
            base_schema = next(
                (s for s in (BUILD_SCHEMA, PREVIOUS_SCHEMA) if held[s] is not None), None
            )
        if base_schema is None:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(BUILD_SCHEMA))
            )
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(BUILD_SCHEMA)))
        else:
            if base_schema != BUILD_SCHEMA:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(BUILD_SCHEMA))
                )
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(base_schema), sql.Identifier(BUILD_SCHEMA)
                    )
                )
            # The partitioned tables, and the tables they follow: a rebuilt model compares
            # itself with its own table of the build before last to say what changed since.
            # And kpi_values, brought forward by the rows the KPI computations since wrote.
            followed = changes.columns_read(models)
            rollups = differences.followed_facts(models)
            kept = sorted(
                m.name
                for m in models.values()
                if m.published
                and (m.partitions is not None or m.name in followed or m.name in rollups)
            ) + list(BROUGHT_FORWARD_KPI_TABLES)
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND NOT tablename = ANY(%s)",
                (BUILD_SCHEMA, kept),
            ).fetchall():
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                        sql.Identifier(BUILD_SCHEMA, table)
                    )
                )
            conn.execute(
                "UPDATE ops.mart_model_state SET build_id = %s WHERE build_id = %s",
                (build_id, held[base_schema]),
            )
        conn.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                sql.Identifier(BUILD_SCHEMA), sql.Literal(f"{_BUILD_COMMENT}{build_id}")
            )
        )
        # The states of tables no schema holds any more.
        conn.execute(
            "DELETE FROM ops.mart_model_state WHERE NOT build_id = ANY(%s)",
            ([build_id, *([held[PUBLISHED_SCHEMA]] if held[PUBLISHED_SCHEMA] else [])],),
        )
        conn.execute(
            "INSERT INTO ops.mart_builds (build_id, run_id, started_at, status)"
            " VALUES (%s, %s, now(), 'building')",
            (build_id, run_id),
        )
    return build_id


def load_seeds(conn: psycopg.Connection, seeds_dir: Path = SEEDS_DIR) -> dict[str, int]:
    """Each sql/seeds/<name>.csv as staging.seed_<name>, every column text (models cast)."""
    counts: dict[str, int] = {}
    for path in sorted(seeds_dir.glob("*.csv")):
        table = sql.Identifier(STAGING_SCHEMA, f"seed_{path.stem}")
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        if not header or len(set(header)) != len(header):
            raise ModelError(f"{path}: the first line must name each column once")
        for number, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise ModelError(f"{path}:{number}: {len(row)} values for {len(header)} columns")
        columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in header)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(body)
        with conn.transaction():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(table))
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
            with conn.cursor().copy(
                sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(table)
            ) as copy:
                copy.write(buffer.getvalue())
        counts[f"seed_{path.stem}"] = len(body)
    return counts


def _schema_of(model: Model) -> str:
    return BUILD_SCHEMA if model.published else STAGING_SCHEMA


@dataclass
class BroughtForward:
    """What bringing an incremental model forward did."""

    batches: int
    rows_out: int
    rows_in: int

    def note(self) -> str:
        if not self.batches:
            return "up to date, no new load"
        return (
            f"brought forward by {self.batches} load{'s' if self.batches > 1 else ''}: "
            f"{self.rows_out:,} rows out, {self.rows_in:,} in"
        )


def build_model(
    conn: psycopg.Connection,
    model: Model,
    *,
    full: bool = False,
    read_by_partitions: set[str] | None = None,
    changes_dated_by: str | None = None,
    build_id: uuid.UUID | None = None,
    rolled_up_by: frozenset[str] = frozenset(),
    rollup_of_partitioned: Model | None = None,
) -> tuple[int, str | None]:
    """(Re)create one model's table from its SELECT, or bring an incremental or partitioned
    one forward; return its row count and, for those, what its build did.
    `read_by_partitions`: the columns whose changes partitioned models read from this one;
    `changes_dated_by`: the column dating those changes, where a reader reads them by date.
    `rolled_up_by`: the roll-ups that follow this partitioned fact's replaced rows;
    `rollup_of_partitioned`: the partitioned fact this roll-up follows that way."""
    readers = read_by_partitions or set()
    # A mart table's state belongs to the build whose schema holds it; staging has one.
    store = changes.StateStore(str(build_id) if model.published else None)
    note = None
    if rollup_of_partitioned is not None and not full:
        with conn.transaction():
            followed = _apply_fact_difference(conn, model, rollup_of_partitioned, store)
        if followed is not None:
            return followed
        note = "rebuilt whole (first build, new SQL, or its fact rebuilt whole)"
    if model.incremental is not None and not full:
        forward = _bring_forward(conn, model, readers, changes_dated_by)
        if forward is not None:
            rows, done = forward
            return rows, done.note()
        note = "rebuilt whole (first build, new SQL or table missing)"
    if model.partitions is not None and not full:
        with conn.transaction():
            replaced = changes.bring_forward(
                conn,
                _schema_of(model),
                model,
                _sql_digest(model),
                readers,
                store,
                keep_difference_of=str(build_id) if rolled_up_by else None,
                dated_by=changes_dated_by,
            )
        if replaced is not None:
            rows, done = replaced
            return rows, done.note()
        note = "rebuilt whole (first build, new SQL, or an input rebuilt or changed unfollowed)"
    schema = _schema_of(model)
    table = sql.Identifier(schema, model.name)
    # Staging is rebuilt from raw every time and never read by anyone else: unlogged tables
    # skip the write-ahead log. Published tables are logged (they must survive a crash), and
    # so are incremental ones, which a crash must not empty behind their recorded state.
    kept_state = model.incremental or model.partitions or rollup_of_partitioned
    unlogged = sql.SQL("" if model.published or kept_state else "UNLOGGED ")
    with conn.transaction():
        # The batches first, the rows second: a load that commits in between is applied
        # again next time (idempotent), never skipped.
        batches = _batches(conn, model) if model.incremental else []
        latest = changes.latest_change(conn) if model.partitions else 0
        set_aside = bool(readers) and not full and changes.set_aside(conn, schema, model.name)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(table))
        indexed_by = model.properties.meta.indexed_by if model.properties else ()
        try:
            with changes.model_settings(conn, model):
                created = conn.execute(
                    sql.SQL("CREATE {}TABLE {} AS\n{}").format(unlogged, table, sql.SQL(model.sql))
                )
        except psycopg.Error as error:
            raise ModelError(f"{model.path.name}: {error.diag.message_primary or error}") from error
        if indexed_by:
            conn.execute(
                sql.SQL("CREATE INDEX ON {} ({})").format(
                    table, sql.SQL(", ").join(map(sql.Identifier, indexed_by))
                )
            )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
        rows = created.rowcount  # CREATE TABLE AS reports the rows it wrote
        if kept_state:
            _index_grain(conn, table, model)
        if model.incremental:
            _save_state(conn, model, batches, rows)
        if model.partitions:
            digests = changes.input_digests(conn, model)
            store.save(conn, model.name, _sql_digest(model), rows, latest, digests)
        if rolled_up_by:
            differences.forget_difference(conn, model.name)
        if rollup_of_partitioned is not None:
            # Computed from the fact as it stands: the change id the fact has applied.
            fact_state = store.load(conn, rollup_of_partitioned.name)
            if fact_state is not None:
                store.save(conn, model.name, _sql_digest(model), rows, fact_state[1], {})
        if readers and full:
            changes.record_everything(conn, model.name)
        elif readers:
            changes.record_rebuild(conn, schema, model, readers, set_aside, changes_dated_by)
        return rows, note


def _apply_fact_difference(
    conn: psycopg.Connection, model: Model, fact_model: Model, store: changes.StateStore
) -> tuple[int, str] | None:
    """Bring a roll-up forward by the rows its fact replaced in this build; None when it must
    be rebuilt whole instead (its state does not match the fact's kept difference)."""
    schema = _schema_of(model)
    fact = fact_model.name
    assert store.build_id is not None  # a roll-up is a mart model
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{model.name}",)).fetchone()[0]
    difference = differences.kept_difference(conn, fact)
    state = store.load(conn, model.name)
    if exists is None or not differences.applies(
        state, store.load(conn, fact), difference, _sql_digest(model), store.build_id
    ):
        return None
    assert difference is not None and state is not None
    rows, rows_out, rows_in = differences.apply_difference(
        conn, schema, model, fact_model, rows_before=state[3]
    )
    store.save(conn, model.name, _sql_digest(model), rows, difference[2], {})
    if not rows_out + rows_in:
        return rows, f"up to date, {fact} replaced no rows"
    return rows, f"brought forward by {fact}'s rows replaced: {rows_out:,} out, {rows_in:,} in"


def _index_grain(conn: psycopg.Connection, table: sql.Identifier, model: Model) -> None:
    """A table kept and brought forward build after build gets a unique index on its grain:
    Postgres then refuses a repeated key as it is inserted, the grain audit reads the index
    instead of grouping every row again each day, and a day's replaced rows are found by key.
    A table whose rows already repeat the grain is left without one, for the audit to report."""
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("CREATE UNIQUE INDEX ON {} ({}) NULLS NOT DISTINCT").format(
                    table, sql.SQL(", ").join(map(sql.Identifier, model.grain))
                )
            )
    except psycopg.errors.UniqueViolation:
        log.warning("%s repeats its grain: no unique index, the audit reports it", model.name)


def _sql_digest(model: Model) -> str:
    return hashlib.sha256(model.sql.encode()).hexdigest()


def _source_object(model: Model) -> str:
    assert model.incremental is not None
    (name,) = [n for n, o in RAW_OBJECTS.items() if o.table == model.incremental.raw_table]
    return name


def _batches(conn: psycopg.Connection, model: Model) -> list[uuid.UUID]:
    """Every load batch of the model's raw table so far."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE source_object = %s",
            (_source_object(model),),
        )
    ]


def _save_state(conn: psycopg.Connection, model: Model, batches: list, rows: int) -> None:
    conn.execute(
        """
        INSERT INTO ops.staging_state (model, sql_digest, applied_batches, row_count, updated_at)
        VALUES (%s, %s, %s, %s, now())
        ON CONFLICT (model) DO UPDATE SET sql_digest = excluded.sql_digest,
            applied_batches = excluded.applied_batches, row_count = excluded.row_count,
            updated_at = excluded.updated_at
        """,
        (model.name, _sql_digest(model), batches, rows),
    )


def _bring_forward(
    conn: psycopg.Connection, model: Model, readers: set[str], dated_by: str | None = None
) -> tuple[int, BroughtForward] | None:
    """Apply to an incremental model's table the raw rows written since it was built: each
    changed raw row's old staging row out, its new one (unless deleted) in. None when the
    table must be rebuilt instead: never built, its SQL changed, or its table is gone."""
    increment = model.incremental
    assert increment is not None
    table = sql.Identifier(STAGING_SCHEMA, model.name)
    with conn.transaction():
        state = conn.execute(
            "SELECT sql_digest, applied_batches, row_count FROM ops.staging_state"
            " WHERE model = %s FOR UPDATE",
            (model.name,),
        ).fetchone()
        exists = conn.execute(
            "SELECT to_regclass(%s)", (f"{STAGING_SCHEMA}.{model.name}",)
        ).fetchone()[0]
        if state is None or state[0] != _sql_digest(model) or exists is None:
            return None
        applied, rows = set(state[1]), state[2]
        new = [batch for batch in _batches(conn, model) if batch not in applied]
        if not new:
            return rows, BroughtForward(0, 0, 0)
        # Literal ids (our own uuids) keep the model's SQL free of placeholders.
        batch_array = "'{" + ",".join(str(uuid.UUID(str(b))) for b in new) + "}'::uuid[]"
        in_new_batches = sql.SQL(
            "({key}) IN (SELECT {raw_key} FROM {raw} WHERE batch_id = ANY({batches}))"
        ).format(
            key=sql.SQL(", ").join(map(sql.Identifier, increment.keys)),
            raw_key=sql.SQL(", ").join(map(sql.Identifier, increment.raw_keys)),
            raw=sql.Identifier("raw", increment.raw_table),
            batches=sql.SQL(batch_array),
        )
        replaced = sql.SQL("SELECT * FROM {} WHERE {}").format(table, in_new_batches)
        if readers:  # the rows' values before, then after
            changes.record_values(conn, model.name, readers, replaced, dated_by)
        deleted = conn.execute(
            sql.SQL("DELETE FROM {} WHERE {}").format(table, in_new_batches)
        ).rowcount
        changed_rows = (
            f"(select * from raw.{increment.raw_table} where batch_id = any({batch_array}))"
            f" as {increment.raw_table}"
        )
        select = re.sub(rf"\braw\.{increment.raw_table}\b", changed_rows, model.sql)
        try:
            inserted = conn.execute(
                sql.SQL("INSERT INTO {} {}").format(table, sql.SQL(select))
            ).rowcount
        except psycopg.errors.UniqueViolation as error:
            raise changes.grain_repeated(model, error) from error
        except psycopg.Error as error:
            raise ModelError(f"{model.path.name}: {error.diag.message_primary or error}") from error
        if readers:
            changes.record_values(conn, model.name, readers, replaced, dated_by)
        rows = rows - deleted + inserted
        _save_state(conn, model, [*state[1], *new], rows)
        differences.analyse_if_moved(conn, table, deleted + inserted, rows)
        return rows, BroughtForward(len(new), deleted, inserted)


def _record_model(
    conn: psycopg.Connection, build_id: uuid.UUID, model: str, layer: str, rows: int, seconds: float
) -> None:
    conn.execute(
        "INSERT INTO ops.mart_build_models (build_id, model, layer, row_count, seconds)"
        " VALUES (%s, %s, %s, %s, %s)",
        (build_id, model, layer, rows, round(seconds, 3)),
    )


def build_layer(
    conn: psycopg.Connection,
    layer: str,
    build_id: uuid.UUID,
    models: dict[str, Model] | None = None,
    echo: Callable[[str], None] = log.info,
    *,
    full: bool = False,
) -> BuildResult:
    """Build every model of one layer in dependency order, recording each in ops. With
    `full`, incremental models are rebuilt from all of raw too."""
    models = discover() if models is None else models
    _set_session(conn)
    result = BuildResult(build_id)
    if layer == "staging":
        for name, count in load_seeds(conn).items():
            echo(f"seed   {STAGING_SCHEMA}.{name}: {count} rows")
    ordered = build_order(models, layer)
    read_by_partitions = changes.columns_read(models)
    dated_by = changes.changes_dated_by(models)
    rollup_facts = differences.followed_facts(models)
    for index, model in enumerate(ordered, start=1):
        started = time.perf_counter()
        rows, note = build_model(
            conn,
            model,
            full=full,
            read_by_partitions=read_by_partitions.get(model.name),
            changes_dated_by=dated_by.get(model.name),
            build_id=build_id,
            rolled_up_by=frozenset(r for r, f in rollup_facts.items() if f == model.name),
            rollup_of_partitioned=(
                models[rollup_facts[model.name]] if model.name in rollup_facts else None
            ),
        )
        seconds = time.perf_counter() - started
        result.rows[model.name], result.seconds[model.name] = rows, seconds
        _record_model(conn, build_id, model.name, layer, rows, seconds)
        echo(
            f"[{index}/{len(ordered)}] {_schema_of(model)}.{model.name}: "
            f"{rows:,} rows in {seconds:.1f} s" + (f" ({note})" if note else "")
        )
    # The facts' replaced rows were for their roll-ups, built by now.
    for fact in set(rollup_facts.values()):
        differences.forget_difference(conn, fact)
    changes.forget_applied(conn)
    return result


def build_kpis(
    conn: psycopg.Connection,
    build_id: uuid.UUID,
    echo: Callable[[str], None] = log.info,
    *,
    full: bool = False,
) -> dict[str, int]:
    """Compile the metric contracts into the built mart's KPI tables (kpi_values,
    campaign_recommendations): one definition per metric, no second copy of its SQL. The
    metrics' rows are brought forward from the rows the build before kept in staging, by the
    periods the day changed; with `full`, computed whole."""
    started = time.perf_counter()
    kept = KeptMetrics(STAGING_SCHEMA, full=full)
    counts = build_kpi_tables(conn, BUILD_SCHEMA, kept=kept)
    seconds = time.perf_counter() - started
    for table, rows in counts.items():
        _record_model(conn, build_id, table, "kpis", rows, seconds)
        echo(f"[kpis] {BUILD_SCHEMA}.{table}: {rows:,} rows")
    echo(
        f"[kpis] compiled from the metric contracts in {seconds:.1f} s (metric grains computed"
        f" whole / by the periods that changed: simple {kept.computed['whole']} /"
        f" {kept.computed['periods']}, derived {kept.derived['whole']} /"
        f" {kept.derived['periods']}, kpi_values {kept.values['whole']} /"
        f" {kept.values['periods']}; {kept.rows_moved:,} work rows moved,"
        f" {kept.values_rewritten:,} kpi_values rows written again by them; the rest kept as"
        " they were)"
    )
    return counts


# Postgres' names for the types the properties files spell the short way.
_BUILT_TYPES = {"timestamp with time zone": "timestamptz"}


def _grain_enforced(conn: psycopg.Connection, schema: str, model: Model) -> bool:
    """Whether a valid unique index on exactly the grain, nulls not distinct, guards the table
    (so no two rows can share a key, null parts included, and no scan is needed to know)."""
    return conn.execute(
        "SELECT EXISTS (SELECT FROM pg_index AS i WHERE i.indrelid = to_regclass(%s)"
        " AND i.indisunique AND i.indisvalid AND i.indnullsnotdistinct"
        " AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = i.indnatts"
        " AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute AS a"
        "      WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])) = %s)",
        (f"{schema}.{model.name}", sorted(model.grain)),
    ).fetchone()[0]


def _grain_audit(conn: psycopg.Connection, model: Model) -> AuditResult:
    schema = _schema_of(model)
    expected = f"0 on ({', '.join(model.grain)})"
    if _grain_enforced(conn, schema, model):
        return AuditResult(
            "unique_grain",
            model.name,
            True,
            "0 duplicated keys (a unique index on the grain refuses them)",
            expected,
        )
    table = sql.Identifier(schema, model.name)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in model.grain)
    duplicates = conn.execute(
        sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM {} GROUP BY {} HAVING count(*) > 1) AS dup"
        ).format(table, key)
    ).fetchone()[0]
    return AuditResult(
        "unique_grain",
        model.name,
        duplicates == 0,
        f"{duplicates} duplicated keys",
        expected,
    )


def _column_audits(conn: psycopg.Connection, models: dict[str, Model]) -> list[AuditResult]:
    """Every built table has exactly the columns its properties declare, with their types, so
    the mart catalogue the contracts and dashboards are checked against is what was built."""
    built: dict[str, dict[str, str]] = {}
    for table, column, kind in conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, NULL) FROM pg_attribute AS a"
        " JOIN pg_class AS c ON c.oid = a.attrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN (%s, %s) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY c.relname, a.attnum",
        (STAGING_SCHEMA, BUILD_SCHEMA),
    ):
        built.setdefault(table, {})[column] = _BUILT_TYPES.get(kind, kind)
    declared_in = {
        model.name: (
            model.properties,
            f"{model.path.parent.name}/_{model.path.parent.name}__models.yml",
        )
        for model in build_order(models)
        if model.properties is not None
    }
    declared_in |= {
        name: (properties, KPI_TABLES_FILE.name) for name, properties in KPI_TABLES.items()
    }
    results = []
    for name, (properties, source) in declared_in.items():
        declared = properties.column_types
        actual = built.get(name, {})
        problems = [f"{c} missing" for c in declared if c not in actual]
        problems += [f"{c} not declared" for c in actual if c not in declared]
        problems += [
            f"{c} is {actual[c]}, declared {kind}"
            for c, kind in declared.items()
            if c in actual and actual[c] != kind
        ]
        results.append(
            AuditResult(
                "declared_columns",
                name,
                not problems,
                "; ".join(problems) or f"{len(actual)} columns as declared",
                f"the {len(declared)} columns of {source}",
            )
        )
    return results


# Published tables that are rightly empty at times, and when.
MAY_BE_EMPTY = {
    "campaign_recommendations": "when no campaign spent in the last complete month",
    "decision_log": "until a forum records its first decision",
}


def _not_empty_audits(conn: psycopg.Connection, build_id: uuid.UUID) -> list[AuditResult]:
    """Every published table has rows, from the counts the build recorded (no second scan)."""
    rows = conn.execute(
        "SELECT model, row_count FROM ops.mart_build_models"
        " WHERE build_id = %s AND layer IN ('marts', 'kpis') ORDER BY model",
        (build_id,),
    ).fetchall()
    return [
        AuditResult("not_empty", model, count > 0, f"{count} rows", "> 0")
        for model, count in rows
        if model not in MAY_BE_EMPTY
    ]


def _attribution_audits(conn: psycopg.Connection) -> list[AuditResult]:
    table = sql.Identifier(BUILD_SCHEMA, "fct_attribution")
    # One grouping of the fact by conversion and model answers both: each group's credit,
    # and the groups (models) of each conversion. Two groupings took 1.7 s at scale 10.
    off, worst, models_per_conversion = conn.execute(
        sql.SQL(
            "SELECT coalesce(sum(models_off), 0), coalesce(max(worst), 0),"
            " count(*) FILTER (WHERE models <> %(models)s) FROM ("
            " SELECT count(*) AS models,"
            " count(*) FILTER (WHERE abs(total - 1) > %(tolerance)s) AS models_off,"
            " max(abs(total - 1)) FILTER (WHERE abs(total - 1) > %(tolerance)s) AS worst"
            " FROM (SELECT conversion_id, sum(credit) AS total FROM {}"
            " GROUP BY conversion_id, attribution_model) AS sums GROUP BY conversion_id"
            ") AS conversions"
        ).format(table),
        {"models": ATTRIBUTION_MODELS, "tolerance": CREDIT_TOLERANCE},
    ).fetchone()
    return [
        AuditResult(
            "credit_sums_to_one",
            "fct_attribution",
            off == 0,
            f"{off} conversion-models off by up to {float(worst):.2g}",
            "0 (tolerance 1e-9)",
        ),
        AuditResult(
            "six_models",
            "fct_attribution",
            models_per_conversion == 0,
            f"{models_per_conversion} conversions without all {ATTRIBUTION_MODELS}",
            "0",
        ),
    ]


_MEASURE_TYPES = frozenset({"numeric", "integer", "bigint"})


def _sums(columns: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("sum({0}) AS {0}").format(sql.Identifier(c)) for c in columns)


def _rollup_audits(conn: psycopg.Connection, models: dict[str, Model]) -> list[AuditResult]:
    """Each monthly roll-up sums to its fact: every shared measure, and the count of fact rows
    it rolls up, month by month.

    Monthly charts and the KPI layer's months read the roll-ups, its weeks read the facts; a
    roll-up that lost or doubled rows would show a different revenue than the weekly view.
    Each fact is summed by month once, however many roll-ups it has.
    """
    by_fact: dict[tuple[str, str], list[tuple[str, str, list[str]]]] = {}
    for rollup, (fact, time_column, row_count) in ROLLUPS.items():
        if rollup in models and fact in models:
            measures = [
                column
                for column, kind in MART_MODELS[rollup].items()
                if kind in _MEASURE_TYPES and column in MART_MODELS[fact]
            ]
            by_fact.setdefault((fact, time_column), []).append((rollup, row_count, measures))
    results = []
    for (fact, time_column), rollups in by_fact.items():
        measured = list(dict.fromkeys(c for _, _, measures in rollups for c in measures))
        months_off = sql.SQL(", ").join(
            sql.SQL(
                "(SELECT count(*) FROM fact_months AS f FULL JOIN"
                " (SELECT month_start, {sums}, sum({row_count}) AS fact_rows FROM {rollup}"
                " GROUP BY 1) AS r USING (month_start) WHERE {differs})"
            ).format(
                sums=_sums(measures),
                row_count=sql.Identifier(row_count),
                rollup=sql.Identifier(BUILD_SCHEMA, rollup),
                differs=sql.SQL(" OR ").join(
                    sql.SQL("f.{0} IS DISTINCT FROM r.{0}").format(sql.Identifier(c))
                    for c in [*measures, "fact_rows"]
                ),
            )
            for rollup, row_count, measures in rollups
        )
        counts = conn.execute(
            sql.SQL(
                "WITH fact_months AS MATERIALIZED (SELECT date_trunc('month', {time})::date"
                " AS month_start, {sums}, count(*) AS fact_rows FROM {fact} GROUP BY 1)"
                " SELECT {months_off}"
            ).format(
                time=sql.Identifier(time_column),
                sums=_sums(measured),
                fact=sql.Identifier(BUILD_SCHEMA, fact),
                months_off=months_off,
            )
        ).fetchone()
        for (rollup, _, measures), off in zip(rollups, counts, strict=True):
            results.append(
                AuditResult(
                    "sums_to_fact",
                    rollup,
                    off == 0,
                    f"{off} months where the rows or {', '.join(measures)} differ from {fact}",
                    "0",
                )
            )
    return results


def audit(
    conn: psycopg.Connection,
    build_id: uuid.UUID,
    models: dict[str, Model] | None = None,
    echo: Callable[[str], None] = log.info,
    extra_audits: Sequence[Audit] = (),
) -> list[AuditResult]:
    """Run the audits on the built mart, record them, and raise AuditFailed if any failed."""
    models = discover() if models is None else models
    results: list[AuditResult] = []
    results.extend(_grain_audit(conn, model) for model in build_order(models))
    results.extend(_column_audits(conn, models))
    results.extend(_not_empty_audits(conn, build_id))
    if "fct_attribution" in models:
        results.extend(_attribution_audits(conn))
    results.extend(_rollup_audits(conn, models))
    for extra in extra_audits:
        results.extend(extra(conn, BUILD_SCHEMA))
    with conn.transaction():
        # A retried audit (a transient error, or a task retried after it failed) replaces
        # the build's results instead of colliding with them: the cause stays visible.
        conn.execute("DELETE FROM ops.mart_audits WHERE build_id = %s", (build_id,))
        for r in results:
            conn.execute(
                "INSERT INTO ops.mart_audits (build_id, audit, subject, passed, measured, expected)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (build_id, r.audit, r.subject, r.passed, r.measured, r.expected),
            )
    failed = [r for r in results if not r.passed]
    for r in results:
        if not r.passed or r.warning:
            echo(r.line())
    echo(f"audit: {len(results) - len(failed)} of {len(results)} passed")
    if failed:
        _finish(conn, build_id, "audit_failed", "; ".join(r.line() for r in failed))
        # Readers keep the last good business tables after a blocked build, but its health
        # figures go to the published mart at once: that is where the dashboards look.
        write_data_health(conn, PUBLISHED_SCHEMA)
        raise AuditFailed(
            "the built mart failed its audits; the published mart is unchanged:\n"
            + "\n".join(r.line() for r in failed)
        )
    _finish(conn, build_id, "built")
    write_data_health(conn, BUILD_SCHEMA)
    return results


def _finish(conn: psycopg.Connection, build_id: uuid.UUID, status: str, error: str | None = None):
    conn.execute(
        "UPDATE ops.mart_builds SET status = %s, error = %s, finished_at = now()"
        " WHERE build_id = %s",
        (status, error, build_id),
    )


def fail_build(conn: psycopg.Connection, build_id: uuid.UUID, error: str) -> None:
    """Record a build that broke; the published mart is untouched."""
    _finish(conn, build_id, "failed", error[:2000])


class PublishBlocked(RuntimeError):
    """The swap cannot be made as the builder: nothing was published, the mart is as it was."""


def _check_tables_owned(conn: psycopg.Connection, schemas: tuple[str, ...]) -> None:
    """Renaming a schema needs only the schema, but the swap also grants and revokes reading
    every table in it, which needs each table's ownership: a table another role owns (one
    created or altered by hand) would stop every publish on a bare 'permission denied'.
    Name the tables and the fix instead."""
    foreign = conn.execute(
        "SELECT schemaname || '.' || tablename, tableowner FROM pg_tables"
        " WHERE schemaname = ANY(%s) AND tableowner <> current_user ORDER BY 1",
        (list(schemas),),
    ).fetchall()
    if foreign:
        (builder,) = conn.execute("SELECT current_user").fetchone()
        listed = ", ".join(f"{table} (owned by {owner})" for table, owner in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise PublishBlocked(
            f"{len(foreign)} mart table{'s' if len(foreign) > 1 else ''} not owned by the"
            f" builder ({builder}), which must grant and revoke reading them: {listed}{more}."
            f" As their owner or a superuser, run ALTER TABLE <table> OWNER TO {builder}"
            " for each, then build again; the published mart is unchanged"
        )


def _swap(conn: psycopg.Connection, new: str, old: str) -> None:
    """Publish schema `new` as the mart; keep the current mart as `old`. One transaction."""
    _check_tables_owned(conn, (new, PUBLISHED_SCHEMA))
    ident = sql.Identifier
    readers = sql.SQL(", ").join(ident(role) for role in MART_READING_ROLES)
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident(old)))
    conn.execute(
        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(ident(PUBLISHED_SCHEMA), ident(old))
    )
    conn.execute(
        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(ident(new), ident(PUBLISHED_SCHEMA))
    )
    # Privileges belong to the schema object and moved with it: the readers keep reading
    # only what is published now.
    conn.execute(
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(ident(old), readers)
    )
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(ident(old), readers))
    published = ident(PUBLISHED_SCHEMA)
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(published))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(published, readers))
    conn.execute(
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(published, readers)
    )
    conn.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
            published, readers
        )
    )


def publish(conn: psycopg.Connection, build_id: uuid.UUID) -> None:
    """Swap the audited build in as the published mart, atomically."""
    status = conn.execute(
        "SELECT status FROM ops.mart_builds WHERE build_id = %s", (build_id,)
    ).fetchone()
    if not status or status[0] != "built":
        raise AuditFailed(
            f"build {build_id} is {status[0] if status else 'unknown'}, not audited: not published"
        )
    with conn.transaction():
        # The health tables were written while the build was only audited.
        conn.execute(
            sql.SQL("UPDATE {} SET build_status = 'published' WHERE build_id = %s").format(
                sql.Identifier(BUILD_SCHEMA, "data_health_checks")
            ),
            (str(build_id),),
        )
        calendar = conn.execute(
            "SELECT to_regclass(%s)", (f"{BUILD_SCHEMA}.reporting_calendar",)
        ).fetchone()
        if calendar and calendar[0] is not None:
            with conn.cursor() as cursor:
                stamp_as_of(cursor, BUILD_SCHEMA, published=True)
        _swap(conn, BUILD_SCHEMA, PREVIOUS_SCHEMA)
        _finish(conn, build_id, "published")


# The build behind the published mart: a rollback marks the build it removes `rolled_back`,
# so the newest build still `published` is the one in the `mart` schema.
LATEST_PUBLISHED_SQL = (
    "SELECT build_id, finished_at FROM ops.mart_builds WHERE status = 'published'"
    " ORDER BY finished_at DESC NULLS LAST, started_at DESC LIMIT 1"
)


def published_build(conn: psycopg.Connection) -> tuple[uuid.UUID, datetime] | None:
    """The build in the `mart` schema and when it was published; None before the first."""
    return conn.execute(LATEST_PUBLISHED_SQL).fetchone()


def rollback(conn: psycopg.Connection) -> uuid.UUID | None:
    """Put the previously published mart back; the one it replaces becomes the previous."""
    exists = conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (PREVIOUS_SCHEMA,)
    ).fetchone()
    if not exists:
        raise AuditFailed(
            "there is no previous mart to roll back to: a build brings the copy one behind"
            " the published mart forward, so there is none during a build or after a failed"
            " one; the next published build keeps one again"
        )
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(PREVIOUS_SCHEMA), sql.Identifier("mart_rollback")
            )
        )
        _swap(conn, "mart_rollback", PREVIOUS_SCHEMA)
        row = published_build(conn)
        if row:
            conn.execute(
                "UPDATE ops.mart_builds SET status = 'rolled_back' WHERE build_id = %s", (row[0],)
            )
    return row[0] if row else None


def build_all(
    conn: psycopg.Connection,
    *,
    run_id: str | None = None,
    publish_after: bool = True,
    echo: Callable[[str], None] = log.info,
    models: dict[str, Model] | None = None,
    quality_uri: str | None = None,
    full: bool = False,
) -> BuildResult:
    """Build every layer, audit, and publish: the whole write-audit-publish in one call.

    With `quality_uri` (the warehouse URI, password included) the data-quality contracts in
    soda/contracts/mart run on the built schema as part of the audit. With `full`, the
    incremental staging models are rebuilt from all of raw instead of brought forward.
    """
    models = discover() if models is None else models
    build_id = start_build(conn, run_id, full=full, models=models)
    started = datetime.now(UTC)
    result = BuildResult(build_id)
    try:
        for layer in ("staging", "intermediate", "marts"):
            layer_result = build_layer(conn, layer, build_id, models, echo, full=full)
            result.rows.update(layer_result.rows)
            result.seconds.update(layer_result.seconds)
        started_kpis = time.perf_counter()
        result.rows.update(build_kpis(conn, build_id, echo, full=full))
        result.seconds["kpi_tables"] = time.perf_counter() - started_kpis
    except Exception as error:
        fail_build(conn, build_id, str(error))
        raise
    extra: list[Audit] = []
    if quality_uri:
        extra.append(quality_audit(quality_uri, build_id))
    started_audits = time.perf_counter()
    audit(conn, build_id, models, echo, extra_audits=extra)
    result.seconds["audits"] = time.perf_counter() - started_audits
    if publish_after:
        publish(conn, build_id)
        echo(f"published build {build_id} (started {started:%H:%M:%S} UTC)")
    return result
