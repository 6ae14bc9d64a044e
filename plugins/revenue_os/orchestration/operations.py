"""The callables behind the operations tasks: KPI owners' alerts and the freshness watchdog."""

from __future__ import annotations

from revenue_os.warehouse.connection import LOADER_CONN_ID, connect, warehouse_uri


def alert_kpi_owners(conn_id: str = LOADER_CONN_ID) -> dict[str, list[str]]:
    """After a publish: alert the owners of KPIs that turned red and of rules that fired (once
    per spell), and check the success of the decision log's actions now due."""
    from datetime import date

    from revenue_os.metrics import load_contracts
    from revenue_os.metrics.formatting import format_value
    from revenue_os.notifications.kpi_alerts import alert_kpi_owners as alert
    from revenue_os.operations.decisions import check_due_decisions

    contracts = load_contracts()
    with connect(warehouse_uri(conn_id)) as conn:
        result = alert(conn, contracts, format_value)
        checks = check_due_decisions(conn, contracts, today=date.today())
    result["decisions_checked"] = [f"{c.decision_id}: {c.result}" for c in checks]
    return result


def check_freshness(conn_id: str = LOADER_CONN_ID) -> dict[str, list[str]]:
    """Alert on-call about stale sources or a stale mart (once per stale spell)."""
    from revenue_os.metrics import load_contracts
    from revenue_os.notifications.freshness import check_freshness as check

    with connect(warehouse_uri(conn_id)) as conn:
        return check(conn, load_contracts())
