"""The monthly reporting pack on a real Postgres, every expected figure worked by hand.

The hand-made mart holds October 2026 (the pack's month) for four KPIs and one supporting
metric, plus rows the snapshot must leave out (September, the quarter and a week that start
in October):

  Total revenue    $612,345.60, prior $700,000, trailing $2,050,000   red (< 700000)
                   change (612,345.60 - 700,000) / 700,000 = -12.52 %  -> "-12.5 %"
                   product family: hardware 100,000 (prior 150,000), subscription 450,000
                   (460,000), services 62,345.60 (90,000); channel web 612,345.60 (600,000).
                   A sum: the breakdown is the largest declines, hardware -$50,000, services
                   -$27,654, subscription -$10,000 (web grew, so it is not listed).
  ROAS             2.4, prior 3.1, trailing 2.75                       yellow (>= 1 and < 3)
                   change (2.4 - 3.1) / 3.1 = -22.58 %                 -> "-22.6 %"
                   red slices: campaign linkedin-abm 0.5, channel paid_social 0.85 and
                   paid_display 0.95 (worst first); attribution model first_touch 0.3 is red
                   too but is another credit of the same total, never a breakdown.
  Win rate         27.5 %, prior 24 %, trailing 25.84 %                green (>= 25)
                   a percentage changes in points: 27.5 - 24           -> "+3.5 pts"
  Sales cycle      52.5 days, prior 48, trailing 50.2                  judged quarterly
                   change (52.5 - 48) / 48 = +9.375 %                  -> "+9.4 %"
                   its data did not reach the month's end: provisional, marked *
  Paid spend       supporting: frozen, but not in the KPI summary.

Frozen rows: revenue 1 + 3 + 1, ROAS 1 + 3 + 1 + 1, win rate 1, sales cycle 1, spend 1 = 14.

Known issues: build B1 is the published one (B0 was published before it, B2 failed its audit
after it). On B1 the ad spend check failed and the revenue-lines check warned; a passed check
and B0's and B2's results are not listed. Ad spend feeds ROAS, revenue lines total revenue.
Confidence notes: ROAS (medium), then total revenue (high, but touched by a known issue); win
rate and sales cycle are high and untouched.

Decisions on 15 November: ROAS action due 10 November (overdue), win-rate action due 5
December (open), a revenue action done: the pack lists the first two, overdue first.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import tempfile
import uuid
from collections import deque
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import psycopg
import pypdfium2 as pdfium
import pytest
from PIL import Image
from psycopg import sql

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kpi_tables import table_definition
from revenue_os.operations.decisions import add_decision, close_decision
from revenue_os.reporting import PackError, build_pack, freeze_month, gather_pack
from revenue_os.reporting.formatting import STATUS_RGB
from revenue_os.reporting.snapshot import SNAPSHOT_COLUMNS
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack.postgres_cluster import LocalPostgres, ensure_server_installed
from revenue_os_stack.profile import Profile, load_profile
from revenue_os_stack.secret_store import SECRET_GENERATORS

OCTOBER = date(2026, 10, 1)
TODAY = date(2026, 11, 15)
B0, B1, B2 = (uuid.UUID(int=n) for n in (10, 11, 12))
CONTRACTS = load_contracts()


# --- a Postgres of this module's own ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _PrivateProfile(Profile):
    """A profile whose cluster lives in a folder of its own, on a free port."""

    folder: Path = Path("/nonexistent")

    @property
    def postgres_dir(self) -> Path:
        return self.folder / "postgres"

    @property
    def log_dir(self) -> Path:
        return self.folder / "logs"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """The project's own cluster set-up, in a throwaway folder and port.

    This module needs Postgres only, not the suite's whole stack (Airflow, Superset,
    mock APIs), and must neither start nor stop the test profile's cluster under a stack that
    may be running on it: it brings its own and deletes it afterwards.
    """
    base = load_profile("test")
    # The cluster runs as the `postgres` OS user when we are root: it must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="revenue-os-pack-", dir="/var/tmp"))
    folder.chmod(0o755)
    profile = _PrivateProfile(
        **{f.name: getattr(base, f.name) for f in dataclasses.fields(Profile)},
        folder=folder,
    )
    profile = dataclasses.replace(profile, name="pack-test", postgres_port=_free_port())
    pg = LocalPostgres(profile, ensure_server_installed(print))
    secrets = {name: make() for name, make in SECRET_GENERATORS.items()}
    try:
        pg.init()
        pg.start()
        pg.bootstrap_roles(secrets)
        yield pg, secrets
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def warehouse(cluster):
    """An empty, migrated warehouse database for one test."""
    pg, secrets = cluster
    name = f"pack_{uuid.uuid4().hex[:8]}"
    pg.psql(command=f"CREATE DATABASE {name} OWNER revenue_os")
    uri = pg.url("revenue_os", secrets["WAREHOUSE_PASSWORD"], name)
    with psycopg.connect(uri, autocommit=True) as conn:
        migrate(conn)
        yield conn
    pg.psql(command=f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the hand-made mart --------------------------------------------------------------------


def _row(
    metric,
    grain,
    start,
    dimension,
    value,
    prior,
    trailing,
    status,
    dim_value="all",
    complete=True,
    final=None,
):
    contract = CONTRACTS[metric]
    thresholds = contract.thresholds
    action = contract.action_on_breach
    value, prior = Decimal(value), (Decimal(prior) if prior is not None else None)
    delta = (value - prior) * 100 / abs(prior) if prior else None
    return (
        metric,
        contract.label,
        contract.tier,
        contract.area,
        grain,
        start,
        complete,
        complete if final is None else final,
        dimension,
        dim_value,
        value,
        prior,
        delta,
        Decimal(trailing) if trailing is not None else None,
        contract.format,
        contract.direction,
        status,
        thresholds.green if thresholds else None,
        thresholds.yellow if thresholds else None,
        thresholds.red if thresholds else None,
        contract.owner.kpi_owner,
        contract.owner.steward,
        contract.confidence.level,
        action.type if action else None,
        " ".join(action.action.split()) if action else None,
    )


def _month(metric, value, prior, trailing, status, dimension="overall", dim_value="all", **kw):
    return _row(
        metric, "month", OCTOBER, dimension, value, prior, trailing, status, dim_value, **kw
    )


MART_ROWS = [
    _month("total_revenue", "612345.60", "700000", "2050000", "red"),
    _month("total_revenue", "100000", "150000", None, "red", "product_family", "hardware"),
    _month("total_revenue", "450000", "460000", None, "red", "product_family", "subscription"),
    _month("total_revenue", "62345.60", "90000", None, "red", "product_family", "services"),
    _month("total_revenue", "612345.60", "600000", None, "red", "channel", "web"),
    _month("roas", "2.4", "3.1", "2.75", "yellow"),
    _month("roas", "0.85", "1.2", None, "red", "channel", "paid_social"),
    _month("roas", "0.95", "0.9", None, "red", "channel", "paid_display"),
    _month("roas", "3.6", "3.0", None, "green", "channel", "paid_search"),
    _month("roas", "0.5", "0.7", None, "red", "campaign", "linkedin-abm"),
    _month("roas", "0.3", "0.4", None, "red", "attribution_model", "first_touch"),
    _month("win_rate", "27.5", "24", "25.84", "green"),
    _month("sales_cycle_days", "52.5", "48", "50.2", None, complete=False),
    _month("paid_spend", "50000", "48000", "140000", None),
    # Not October's month rows: the month before, and other grains starting in October.
    _row("total_revenue", "month", date(2026, 9, 1), "overall", "700000", None, None, "yellow"),
    _row("total_revenue", "quarter", OCTOBER, "overall", "612345.60", None, None, None),
    _row("total_revenue", "week", date(2026, 10, 5), "overall", "150000", None, None, None),
]
LABELS = {
    "total_revenue": "Total revenue",
    "roas": "Return on ad spend (ROAS)",
    "win_rate": CONTRACTS["win_rate"].label,
    "sales_cycle_days": CONTRACTS["sales_cycle_days"].label,
}
SHOWN = {
    # value, prior month, change, trailing three months
    "total_revenue": ("$612,346", "$700,000", "-12.5 %", "$2,050,000"),
    "roas": ("2.40x", "3.10x", "-22.6 %", "2.75x"),
    "win_rate": ("27.5 %", "24.0 %", "+3.5 pts", "25.8 %"),
    "sales_cycle_days": ("52.5 days", "48.0 days", "+9.4 %", "50.2 days"),
}


def _build_mart(conn: psycopg.Connection) -> None:
    kpi_values = sql.Identifier("mart", "kpi_values")
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(kpi_values, table_definition("kpi_values")))
    with conn.cursor() as cursor:
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES ({})").format(
                kpi_values, sql.SQL(", ").join(sql.Placeholder() * len(MART_ROWS[0]))
            ),
            MART_ROWS,
        )
        finished = datetime(2026, 11, 1, 6, tzinfo=UTC)
        for build, status, hours in ((B0, "published", -24), (B1, "published", 0)):
            cursor.execute(
                "INSERT INTO ops.mart_builds (build_id, started_at, finished_at, status)"
                " VALUES (%s, %s, %s, %s)",
                (
                    build,
                    finished + timedelta(hours=hours - 1),
                    finished + timedelta(hours=hours),
                    status,
                ),
            )
        cursor.execute(
            "INSERT INTO ops.mart_builds (build_id, started_at, finished_at, status)"
            " VALUES (%s, %s, %s, 'audit_failed')",
            (B2, finished + timedelta(hours=23), finished + timedelta(hours=24)),
        )
        cursor.executemany(
            "INSERT INTO ops.quality_results (build_id, dataset, check_name, tier, outcome,"
            " measured, threshold) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (B1, "fct_revenue_lines", "no duplicate invoice lines", 2, "warned", "3", "0"),
                (B1, "fct_ad_spend_daily", "spend is not negative", 2, "failed", "2", "0"),
                (B1, "fct_revenue_lines", "row count", 1, "passed", "2077", "> 0"),
                (B0, "fct_opportunities", "amount not null", 2, "failed", "1", "0"),
                (B2, "fct_funnel", "lead date not null", 1, "failed", "5", "0"),
            ],
        )


def _decide(conn, metric, due, action, **extra) -> int:
    return add_decision(
        conn,
        metric_name=metric,
        forum="Monthly revenue review",
        owner=extra.pop("owner", "CMO"),
        trigger=f"{metric} off target in September",
        action_type=extra.pop("action_type", "reallocate"),
        action=action,
        due_on=due,
        success_metric=f"{metric} back to green",
        decided_on=date(2026, 11, 2),
        known_metrics=set(CONTRACTS),
    )


@pytest.fixture
def mart(warehouse):
    _build_mart(warehouse)
    overdue = _decide(warehouse, "roas", date(2026, 11, 10), "Move budget → paid search <today>")
    due_later = _decide(
        warehouse,
        "win_rate",
        date(2026, 12, 5),
        "Loss review by segment",
        owner="Head of Sales",
        action_type="investigate",
    )
    done = _decide(warehouse, "total_revenue", date(2026, 11, 12), "Chase late invoices")
    close_decision(warehouse, done, closed_on=date(2026, 11, 11))
    return warehouse, overdue, due_later


def _month_rows(conn, source: str) -> list[tuple]:
    columns = sql.SQL(", ").join(map(sql.Identifier, SNAPSHOT_COLUMNS))
    if source == "mart":
        query = sql.SQL(
            "SELECT {} FROM mart.kpi_values WHERE period_grain = 'month' AND period_start = %s"
        )
    else:
        query = sql.SQL("SELECT {} FROM ops.kpi_snapshots WHERE period_start = %s")
    rows = conn.execute(query.format(columns) + sql.SQL(" ORDER BY 1, 5, 6"), (OCTOBER,))
    return rows.fetchall()


# --- the snapshot ----------------------------------------------------------------------------


def test_the_snapshot_is_the_months_rows_of_the_published_build_frozen_once(mart):
    conn, _, _ = mart
    first = freeze_month(conn, OCTOBER, today=TODAY)
    assert (first.written, first.rows, first.kept, first.build_id) == (14, 14, False, B1)
    assert _month_rows(conn, "snapshot") == _month_rows(conn, "mart")
    assert conn.execute(
        "SELECT count(DISTINCT build_id), min(build_id::text) FROM ops.kpi_snapshots"
    ).fetchone() == (1, str(B1))
    frozen_at = conn.execute("SELECT max(frozen_at) FROM ops.kpi_snapshots").fetchone()[0]

    again = freeze_month(conn, OCTOBER, today=TODAY)
    assert (again.written, again.rows, again.kept, again.build_id) == (0, 14, True, B1)

    # The mart moves on (a late invoice): the frozen month does not, until it is refrozen.
    before = _month_rows(conn, "snapshot")
    conn.execute(
        "UPDATE mart.kpi_values SET value = 900000, status = 'green' WHERE metric_name ="
        " 'total_revenue' AND period_grain = 'month' AND period_start = %s"
        " AND dimension_name = 'overall'",
        (OCTOBER,),
    )
    assert freeze_month(conn, OCTOBER, today=TODAY).kept
    assert _month_rows(conn, "snapshot") == before
    assert conn.execute("SELECT max(frozen_at) FROM ops.kpi_snapshots").fetchone()[0] == frozen_at
    pack = gather_pack(conn, OCTOBER, today=TODAY)
    revenue = next(k for k in pack.kpis if k.metric_name == "total_revenue")
    assert (revenue.value, revenue.status) == (Decimal("612345.60"), "red")

    refrozen = freeze_month(conn, OCTOBER, refreeze=True, today=TODAY)
    assert (refrozen.written, refrozen.kept) == (14, False)
    assert _month_rows(conn, "snapshot") == _month_rows(conn, "mart")
    pack = gather_pack(conn, OCTOBER, today=TODAY)
    revenue = next(k for k in pack.kpis if k.metric_name == "total_revenue")
    assert (revenue.value, revenue.status) == (Decimal("900000"), "green")
    assert [e.kpi.metric_name for e in pack.exceptions] == ["roas"]


def test_refusals_name_what_to_fix(mart):
    conn, _, _ = mart
    with pytest.raises(
        PackError, match=r"2026-11 is not closed yet .* last closed month is 2026-10"
    ):
        freeze_month(conn, date(2026, 11, 1), today=TODAY)
    with pytest.raises(
        PackError,
        match=r"mart.kpi_values has no monthly values for 2026-05 \(its months run from "
        r"2026-09 to 2026-10\)",
    ):
        freeze_month(conn, date(2026, 5, 1), today=TODAY)
    with pytest.raises(PackError, match=r"no KPI snapshot for 2026-10: freeze it first"):
        gather_pack(conn, OCTOBER, today=TODAY)
    freeze_month(conn, OCTOBER, today=TODAY)
    # A refreeze that finds nothing keeps what was frozen.
    conn.execute("DELETE FROM mart.kpi_values WHERE period_start = %s", (OCTOBER,))
    with pytest.raises(PackError, match="no monthly values for 2026-10"):
        freeze_month(conn, OCTOBER, refreeze=True, today=TODAY)
    assert conn.execute("SELECT count(*) FROM ops.kpi_snapshots").fetchone()[0] == 14
    conn.execute("UPDATE ops.mart_builds SET status = 'rolled_back'")
    with pytest.raises(PackError, match=r"no published mart: ops\.mart_builds has no build"):
        freeze_month(conn, date(2026, 9, 1), today=TODAY)


# --- the pack's content --------------------------------------------------------------------


def test_the_pack_holds_the_months_kpis_exceptions_issues_and_open_actions(mart):
    conn, overdue, due_later = mart
    freeze_month(conn, OCTOBER, today=TODAY)
    pack = gather_pack(conn, OCTOBER, today=TODAY)

    # Revenue, efficiency, then pipeline (by label); the supporting metric is left out.
    assert [k.metric_name for k in pack.kpis] == [
        "total_revenue",
        "roas",
        "sales_cycle_days",
        "win_rate",
    ]
    # The pack's numbers are the mart's (as they were when frozen).
    mart_rows = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT metric_name, value, prior_value, delta_pct, trailing_value, status,"
            " kpi_owner, confidence FROM mart.kpi_values WHERE period_grain = 'month'"
            " AND period_start = %s AND dimension_name = 'overall' AND tier = 'kpi'",
            (OCTOBER,),
        )
    }
    assert {
        k.metric_name: (
            k.value,
            k.prior_value,
            k.delta_pct,
            k.trailing_value,
            k.status,
            k.kpi_owner,
            k.confidence,
        )
        for k in pack.kpis
    } == mart_rows
    assert [k.status_text for k in pack.kpis] == ["RED", "YELLOW", "quarterly", "GREEN"]
    assert [k.is_final for k in pack.kpis] == [True, True, False, True] and pack.provisional
    assert (pack.count("red"), pack.count("yellow"), pack.count("green")) == (1, 1, 1)

    revenue, roas = pack.exceptions
    assert (revenue.kpi.metric_name, revenue.kpi.breached) == ("total_revenue", "< 700000")
    assert (revenue.kpi.kpi_owner, revenue.kpi.action_type) == ("CRO", "investigate")
    assert revenue.kpi.action == " ".join(
        CONTRACTS["total_revenue"].action_on_breach.action.split()
    )
    assert revenue.breakdown_rule == "decline"
    assert [(b.dimension_value, b.change) for b in revenue.breakdowns] == [
        ("hardware", Decimal("-50000")),
        ("services", Decimal("-27654.40")),
        ("subscription", Decimal("-10000")),
    ]
    assert (roas.kpi.metric_name, roas.kpi.breached) == ("roas", ">= 1 and < 3")
    assert (roas.kpi.kpi_owner, roas.kpi.action_type) == ("CMO", "reallocate")
    assert roas.breakdown_rule == "red"
    assert [(b.dimension_name, b.dimension_value, b.value) for b in roas.breakdowns] == [
        ("campaign", "linkedin-abm", Decimal("0.5")),
        ("channel", "paid_social", Decimal("0.85")),
        ("channel", "paid_display", Decimal("0.95")),
    ]

    assert pack.checks_run == 3  # B1's three results, passed or not
    assert [(i.dataset, i.outcome, i.kpis) for i in pack.known_issues] == [
        ("fct_ad_spend_daily", "failed", (LABELS["roas"],)),
        ("fct_revenue_lines", "warned", (LABELS["total_revenue"],)),
    ]
    assert [(n.label, n.level, n.issues) for n in pack.confidence_notes] == [
        (LABELS["roas"], "medium", ("fct_ad_spend_daily: spend is not negative (failed)",)),
        (
            LABELS["total_revenue"],
            "high",
            ("fct_revenue_lines: no duplicate invoice lines (warned)",),
        ),
    ]
    assert pack.confidence_notes[0].note.startswith("Attribution model dependent")

    assert [(a.decision_id, a.overdue) for a in pack.open_actions] == [
        (overdue, True),
        (due_later, False),
    ]
    assert pack.open_actions[0].metric_label == LABELS["roas"]
    assert pack.subject == (
        "Revenue OS monthly pack: October 2026 (1 red, 1 yellow, 1 overdue action)"
    )


def test_the_html_e_mail_shows_every_kpi_formatted_and_actions_first(mart, tmp_path):
    conn, _, _ = mart
    result = build_pack(conn, OCTOBER, tmp_path, send=False, today=TODAY)
    assert result.html_path == tmp_path / "revenue-os-pack-2026-10.html"
    assert (result.delivery.sent, result.snapshot.written) == (False, 14)
    html = result.html_path.read_text()
    for metric, shown in SHOWN.items():
        assert LABELS[metric] in html
        for text in shown:
            assert text in html, (metric, text)
    assert "Win rate" in html and "Paid spend" not in html
    # Actions come first, the overdue one on top; user text is escaped, not markup.
    assert html.index("Open actions") < html.index("KPI summary") < html.index("Exceptions")
    assert html.index("Move budget") < html.index("Loss review by segment")
    assert html.count("OVERDUE") == 1 and "Chase late invoices" not in html
    assert "paid search &lt;today&gt;" in html and "<today>" not in html
    # Breakdowns by their readers' labels (the taxonomy's and the seeds'), keys of
    # campaigns as the sources name them.
    assert "product family Hardware $100,000 (-$50,000)" in html
    assert (
        "campaign linkedin-abm 0.50x; channel Paid social 0.85x; channel Paid display 0.95x" in html
    )
    assert "first_touch" not in html
    # Badges by colour: one red, one yellow in the summary and again in the exceptions.
    for status, count in (("red", 2), ("yellow", 2), ("green", 1)):
        assert (
            html.count("background-color:#{:02x}{:02x}{:02x}".format(*STATUS_RGB[status])) == count
        )
    assert "<style" not in html


# --- the PDF, as pixels and text ------------------------------------------------------------


def _regions(image: np.ndarray, rgb: tuple[int, int, int], minimum: int = 40) -> int:
    """Connected areas (4-neighbours) of exactly this colour, larger than stray pixels."""
    mask = np.all(image[:, :, :3] == rgb, axis=2)
    seen = np.zeros_like(mask)
    height, width = mask.shape
    regions = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        seen[y, x] = True
        queue, size = deque([(y, x)]), 0
        while queue:
            cy, cx = queue.popleft()
            size += 1
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        regions += size >= minimum
    return regions


def test_the_pdf_is_one_page_with_a_badge_per_status_and_every_figure(mart, tmp_path):
    conn, _, _ = mart
    result = build_pack(conn, OCTOBER, tmp_path, send=False, today=TODAY)
    assert result.pdf_path == tmp_path / "revenue-os-pack-2026-10.pdf"
    document = pdfium.PdfDocument(result.pdf_path)
    assert len(document) == 1
    page = document[0]
    png = tmp_path / "revenue-os-pack-2026-10.png"
    page.render(scale=2).to_pil().save(png)
    image = np.asarray(Image.open(png).convert("RGB"))
    # One red KPI and one yellow: a badge each in the summary and in the exceptions; the
    # green KPI only in the summary.
    found = {status: _regions(image, rgb) for status, rgb in STATUS_RGB.items()}
    assert found == {"red": 2, "yellow": 2, "green": 1}

    text = " ".join(page.get_textpage().get_text_range().split())
    for metric, shown in SHOWN.items():
        assert LABELS[metric] in text
        for figure in shown:
            assert figure in text, (metric, figure)
    assert "Paid spend" not in text
    # Text outside Latin-1 is transliterated, not a crash.
    assert "2026-11-10 OVERDUE" in text and "Move budget -> paid search <today>" in text
    assert "fct_ad_spend_daily: spend is not negative" in text
    assert text.index("Total revenue $612,346 (red: < $700,000)") < text.index(
        "Return on ad spend (ROAS) 2.40x (yellow: >= 1x and < 3x)"
    )
    assert "quarterly" in text and f"{LABELS['sales_cycle_days']} *" in text
    assert "* Provisional: not final when frozen" in text


def test_a_pdf_with_no_exceptions_has_no_red_or_yellow(mart, tmp_path):
    conn, _, _ = mart
    conn.execute(
        "UPDATE mart.kpi_values SET status = 'green' WHERE period_start = %s"
        " AND dimension_name = 'overall' AND status IS NOT NULL",
        (OCTOBER,),
    )
    result = build_pack(conn, OCTOBER, tmp_path, send=False, today=TODAY)
    image = np.asarray(
        pdfium.PdfDocument(result.pdf_path)[0].render(scale=2).to_pil().convert("RGB")
    )
    assert {status: _regions(image, rgb) for status, rgb in STATUS_RGB.items()} == {
        "red": 0,
        "yellow": 0,
        "green": 3,
    }
    assert "No KPI is red or yellow this month." in result.html_path.read_text()


def test_a_pack_asked_past_the_data_covers_the_latest_complete_month_and_says_so(mart, tmp_path):
    """The schedule asks for November on 8 December; the mart's data stopped in early
    November (its calendar: October is the latest complete month). The pack is
    October's, saying November is not covered yet, rather than November's first days."""
    conn, _, _ = mart
    calendar = sql.Identifier("mart", "reporting_calendar")
    conn.execute(
        sql.SQL("CREATE TABLE {} ({})").format(calendar, table_definition("reporting_calendar"))
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (period_grain, latest_complete_period, reporting_close_days, built_at)"
            " VALUES ('month', %s, 7, now())"
        ).format(calendar),
        (OCTOBER,),
    )
    november, december_8 = date(2026, 11, 1), date(2026, 12, 8)
    # Asked by name, November is refused: the mart has nothing of it.
    with pytest.raises(PackError, match="no monthly values for 2026-11"):
        build_pack(conn, november, tmp_path, send=False, today=december_8)

    result = build_pack(
        conn, november, tmp_path, send=False, today=december_8, or_latest_complete=True
    )
    assert result.month == OCTOBER and result.pdf_path.name == "revenue-os-pack-2026-10.pdf"
    said = "The data does not cover November 2026 yet: this is its latest complete month."
    assert said in result.html_path.read_text(encoding="utf-8")
    assert said in " ".join(
        page.get_textpage().get_text_range() for page in pdfium.PdfDocument(result.pdf_path)
    ).replace("\r\n", " ").replace("\n", " ")
    # Asked for October itself, nothing is said.
    october = build_pack(
        conn, OCTOBER, tmp_path, send=False, today=december_8, or_latest_complete=True
    )
    assert "does not cover" not in october.html_path.read_text(encoding="utf-8")
