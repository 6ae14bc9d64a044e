"""The contracts' rules judged on `kpi_values`: `kpi_signals`, a row per rule, period and slice.

A change rule compares a window of the KPI with the window just before it (win rate this week
against its 8 weeks before; the sales cycle's 4 weeks against the 4 before, two windows
running); a level rule judges a value in a named period and breakdown (next quarter's pipeline
coverage in each segment). Both read the windows the KPI layer keeps (`value`,
`trailing_value`, `trailing_8_week_value`, `trailing_13_week_value`), so a rule compares the
same numbers the dashboards and the pre-read show. Every period is judged, which keeps each
rule's history; the alerts read the latest one, the pre-read its week's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import ChangeRule, LevelRule, MetricContract
from revenue_os.metrics.kpi_sql import OVERALL, condition_sql
from revenue_os.metrics.kpi_tables import create_kpi_table
from revenue_os.metrics.labels import dimension_value_label_sql
from revenue_os.metrics.periods import PERIOD_STEP, period_start, rule_windows, shift
from revenue_os.metrics.scorecard import display_sql, period_label_sql
from revenue_os.metrics.thresholds import parse_condition

_INSERT = (
    "INSERT INTO {signals} (metric_name, rule_name, rule_label, rule_kind, period_grain, "
    "period_start, dimension_name, dimension_value, value, baseline_value, change_pct, "
    "condition, minimum_value, judged, fired, is_complete, is_latest, kpi_owner, action_type, "
    "action, format) "
)


def _same_slice(alias: str) -> sql.Composed:
    return sql.SQL(
        "{a}.metric_name = j0.metric_name AND {a}.period_grain = j0.period_grain AND "
        "{a}.dimension_name = j0.dimension_name AND {a}.dimension_value = j0.dimension_value"
    ).format(a=sql.Identifier(alias))


def _shifted(periods: int, step: str) -> sql.Composed:
    return sql.SQL("(j0.period_start - {} * interval {})::date").format(
        sql.Literal(periods), sql.Literal(step)
    )


def change_rule_sql(
    contract: MetricContract, rule: ChangeRule, kpi_values: sql.Identifier
) -> sql.Composed:
    """Every period of the rule's grain, judged: the change of each of the `running` windows
    against the window before it, fired when all of them meet the condition."""
    windows = rule_windows(rule.grain)
    compared = sql.Identifier(windows[rule.compare])
    baseline = sql.Identifier(windows[rule.baseline])
    step = PERIOD_STEP[rule.grain]
    joins, changes = [], []
    for k in range(rule.running):
        judged_alias, before_alias = f"j{k}", f"b{k}"
        if k:
            joins.append(
                sql.SQL(" LEFT JOIN {kv} AS {a} ON {same} AND {a}.period_start = {at}").format(
                    kv=kpi_values,
                    a=sql.Identifier(judged_alias),
                    same=_same_slice(judged_alias),
                    at=_shifted(k * rule.compare, step),
                )
            )
        joins.append(
            sql.SQL(" LEFT JOIN {kv} AS {a} ON {same} AND {a}.period_start = {at}").format(
                kv=kpi_values,
                a=sql.Identifier(before_alias),
                same=_same_slice(before_alias),
                at=_shifted((k + 1) * rule.compare, step),
            )
        )
        changes.append(
            sql.SQL("({j}.{c} - {b}.{base}) * 100 / nullif(abs({b}.{base}), 0)").format(
                j=sql.Identifier(judged_alias),
                b=sql.Identifier(before_alias),
                c=compared,
                base=baseline,
            )
        )
    condition = parse_condition(rule.change)
    judged = [sql.SQL("({}) IS NOT NULL").format(change) for change in changes]
    minimum_value = sql.SQL("NULL::numeric")
    if rule.minimum is not None:
        joins.append(
            sql.SQL(
                " LEFT JOIN {kv} AS m ON m.metric_name = {metric} AND m.period_grain = "
                "j0.period_grain AND m.dimension_name = j0.dimension_name AND "
                "m.dimension_value = j0.dimension_value AND m.period_start = j0.period_start"
            ).format(kv=kpi_values, metric=sql.Literal(rule.minimum.metric))
        )
        minimum_value = sql.SQL("m.{}").format(compared)
        judged.append(
            sql.SQL("coalesce({} >= {}, false)").format(
                minimum_value, sql.Literal(rule.minimum.at_least)
            )
        )
    judged_sql = sql.SQL(" AND ").join(judged)
    fired = sql.SQL(" AND ").join(
        [judged_sql, *(condition_sql(condition, change) for change in changes)]
    )
    return sql.SQL(
        "SELECT j0.metric_name, {name}, {label}, 'change', j0.period_grain, j0.period_start, "
        "j0.dimension_name, j0.dimension_value, j0.{compared}, b0.{baseline}, {change}, "
        "{condition}, {minimum}, {judged}, coalesce({fired}, false), j0.is_complete, false, "
        "{owner}, {action_type}, {action}, {format} FROM {kv} AS j0{joins} "
        "WHERE j0.metric_name = {metric} AND j0.period_grain = {grain} "
        "AND j0.dimension_name IN ({dimensions})"
    ).format(
        name=sql.Literal(rule.name),
        label=sql.Literal(rule.label),
        compared=compared,
        baseline=baseline,
        change=changes[0],
        condition=sql.Literal(f"change {rule.change} %"),
        minimum=minimum_value,
        judged=judged_sql,
        fired=fired,
        owner=sql.Literal(contract.owner.kpi_owner),
        format=sql.Literal(contract.format),
        action_type=sql.Literal(rule.action.type),
        action=sql.Literal(" ".join(rule.action.action.split())),
        kv=kpi_values,
        joins=sql.Composed(joins),
        metric=sql.Literal(contract.name),
        grain=sql.Literal(rule.grain),
        dimensions=sql.SQL(", ").join(map(sql.Literal, [OVERALL, *rule.dimensions])),
    )


def level_rule_sql(
    contract: MetricContract,
    rule: LevelRule,
    kpi_values: sql.Identifier,
    business_day: date | None,
) -> sql.Composed:
    """The rule's periods (every complete one, or the one after the period in progress),
    judged on the value."""
    if rule.period == "next":
        if business_day is None:
            periods = sql.SQL("false")
        else:
            upcoming = shift(rule.grain, period_start(rule.grain, business_day), 1)
            periods = sql.SQL("j0.period_start = {}").format(sql.Literal(upcoming))
    else:
        periods = sql.SQL("j0.is_complete")
    condition = parse_condition(rule.value)
    return sql.SQL(
        "SELECT j0.metric_name, {name}, {label}, 'level', j0.period_grain, j0.period_start, "
        "j0.dimension_name, j0.dimension_value, j0.value, NULL, NULL, {condition}, NULL, "
        "j0.value IS NOT NULL, coalesce({fired}, false), j0.is_complete, false, {owner}, "
        "{action_type}, {action}, {format} FROM {kv} AS j0 WHERE j0.metric_name = {metric} "
        "AND j0.period_grain = {grain} AND j0.dimension_name IN ({dimensions}) AND {periods}"
    ).format(
        name=sql.Literal(rule.name),
        label=sql.Literal(rule.label),
        condition=sql.Literal(f"value {rule.value}"),
        fired=condition_sql(condition, sql.SQL("j0.value")),
        owner=sql.Literal(contract.owner.kpi_owner),
        format=sql.Literal(contract.format),
        action_type=sql.Literal(rule.action.type),
        action=sql.Literal(" ".join(rule.action.action.split())),
        kv=kpi_values,
        metric=sql.Literal(contract.name),
        grain=sql.Literal(rule.grain),
        dimensions=sql.SQL(", ").join(map(sql.Literal, [OVERALL, *rule.dimensions])),
        periods=periods,
    )


def _written_out(signals: sql.Identifier) -> sql.Composed:
    """The labels and the reading in words, for tables and mail that do no arithmetic."""
    return sql.SQL(
        "UPDATE {signals} SET period_label = {period}, dimension_label = CASE WHEN dimension_name "
        "= 'overall' THEN 'All' ELSE {label} END, display_reading = CASE WHEN baseline_value IS "
        "NULL THEN {value} ELSE {value} || ' against ' || {baseline} || coalesce(' (' || {change} "
        "|| ')', '') END"
    ).format(
        signals=signals,
        period=period_label_sql(sql.Identifier("period_grain"), sql.Identifier("period_start")),
        label=dimension_value_label_sql(
            sql.Identifier("dimension_name"), sql.Identifier("dimension_value")
        ),
        value=display_sql(sql.Identifier("value"), sql.Identifier("format")),
        baseline=display_sql(sql.Identifier("baseline_value"), sql.Identifier("format")),
        change=sql.SQL(
            "CASE WHEN change_pct IS NULL THEN NULL ELSE CASE WHEN round(change_pct, 1) > 0 THEN "
            "'+' ELSE '' END || to_char(round(change_pct, 1), 'FM999,999,990.0') || ' %' END"
        ),
    )


_LATEST = sql.SQL(
    "UPDATE {signals} AS s SET is_latest = true FROM (SELECT DISTINCT ON (metric_name, "
    "rule_name, dimension_name, dimension_value) metric_name, rule_name, dimension_name, "
    "dimension_value, period_start FROM {signals} ORDER BY metric_name, rule_name, "
    "dimension_name, dimension_value, is_complete DESC, period_start DESC) AS latest "
    "WHERE (s.metric_name, s.rule_name, s.dimension_name, s.dimension_value, s.period_start) = "
    "(latest.metric_name, latest.rule_name, latest.dimension_name, latest.dimension_value, "
    "latest.period_start)"
)
"""Each rule's and slice's latest judgement: its latest complete period, or (a level rule on
the next period, whose rows are all still to come) that period."""


def build_signals(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    business_day: date | None,
) -> int:
    """(Re)create `kpi_signals` in `schema` from its `kpi_values`; its row count."""
    kpi_values = sql.Identifier(schema, "kpi_values")
    signals = create_kpi_table(cursor, schema, "kpi_signals")
    insert = sql.SQL(_INSERT).format(signals=signals)
    for contract in contracts.values():
        for rule in contract.rules:
            if isinstance(rule, ChangeRule):
                cursor.execute(insert + change_rule_sql(contract, rule, kpi_values))
            else:
                assert isinstance(rule, LevelRule)
                cursor.execute(insert + level_rule_sql(contract, rule, kpi_values, business_day))
    cursor.execute(_written_out(signals))
    cursor.execute(_LATEST.format(signals=signals))
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(signals))
    row = cursor.fetchone()
    return int(row[0]) if row else 0
