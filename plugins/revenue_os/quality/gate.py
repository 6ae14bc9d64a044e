"""Soda Core v4 contracts as the mart's publish gate.

Each model's simple checks come from the `data_tests` of its properties
(quality/model_checks.py); the rest live in soda/contracts/<layer>/<dataset>.yml. Contracts
name their dataset as `warehouse/${var.database}/${var.schema}/<table>`, so one contract
checks the build schema before the swap and the published schema after. Every check has a tier in its attributes: tier 1 blocks
the publish, tier 2 publishes and is recorded as a known issue. The data source is built from
the warehouse connection the build already uses: no second copy of the credentials.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict

from revenue_os.paths import SODA_CONTRACTS_DIR
from revenue_os.quality.model_checks import ComposedContract, contracts
from revenue_os.transform.audits import AuditResult
from revenue_os.yaml_files import load_yaml

# Soda phones home by default; offline that costs seconds per run and prints an error.
os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")

BLOCKING_TIER = 1
_OUTCOMES = {"PASSED": "passed", "FAILED": "failed", "WARN": "warned"}


@dataclass
class QualityResult:
    dataset: str
    check: str
    tier: int
    outcome: str  # passed | failed | warned | not_evaluated
    measured: str | None
    threshold: str | None
    examples: list = field(default_factory=list)
    owner: str | None = None  # who fixes it at the source, from the check's `owner` attribute
    label: str | None = None  # the check in words (`Open deals without a next step`)

    @property
    def dataset_label(self) -> str:
        return dataset_words(self.dataset)

    @property
    def blocks(self) -> bool:
        return self.tier == BLOCKING_TIER and self.outcome in ("failed", "not_evaluated")


def _data_source_yaml(params: dict[str, str]) -> str:
    """`params`: the warehouse URI as psycopg reads it, so Soda connects where the build does."""
    return yaml.safe_dump(
        {
            "type": "postgres",
            "name": "warehouse",
            "connection": {
                "host": params.get("host"),
                "port": int(params.get("port") or 5432),
                "user": params.get("user"),
                "password": params.get("password", ""),
                "database": params.get("dbname", ""),
            },
        }
    )


_COMPARISONS = (
    ("must_be_greater_than", ">"),
    ("must_be_greater_than_or_equal", ">="),
    ("must_be_less_than", "<"),
    ("must_be_less_than_or_equal", "<="),
    ("must_be", "="),
    ("must_not_be", "!="),
)


_SODA_DEFAULT_NAMES = {"Metric meets threshold", "Metric function meets threshold"}
_LAYER_PREFIXES = ("stg_", "int_", "fct_", "dim_")


def _words(text: str) -> str:
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def check_words(check) -> str:
    """A check as Data Health and the packs name it: its contract's `name`, else its column
    and Soda's wording (`Opportunity id: no duplicate values`), else its qualifier in words."""
    name = getattr(check, "name", None) or ""
    column = getattr(check, "column_name", None)
    qualifier = getattr(check, "qualifier", None)
    if name and name not in _SODA_DEFAULT_NAMES and not column:
        return name
    if column:
        return f"{_words(column)}: {name[:1].lower()}{name[1:]}" if name else _words(column)
    if qualifier:
        return _words(qualifier)
    return name or _words(check.check_path)


def dataset_words(dataset: str) -> str:
    """A checked table in words: `stg_salesforce__opportunities` → `Salesforce opportunities`,
    `fct_revenue_lines` → `Revenue lines`."""
    from revenue_os.metrics.labels import label_of

    name = dataset
    for prefix in _LAYER_PREFIXES:
        name = name.removeprefix(prefix)
    source, _, entity = name.partition("__")
    if entity:
        return f"{label_of('source', source)} {entity.replace('_', ' ')}"
    return _words(name)


def _threshold_text(check) -> str | None:
    """The check's pass condition as people read it: `< 10`, `>= 0 and <= 0.5`, `= 0`."""
    threshold = getattr(check, "threshold", None)
    if threshold is None:
        return None
    parts = [
        f"{symbol} {getattr(threshold, name)}"
        for name, symbol in _COMPARISONS
        if getattr(threshold, name, None) is not None
    ]
    return " and ".join(parts) or None


def _default_schema(contract: ComposedContract) -> str:
    """The schema a contract reads when none is passed: its `schema` variable's default."""
    return load_yaml(contract.text)["variables"]["schema"]["default"]


def _examples(conn: psycopg.Connection, check, schema: str) -> list:
    query = (check.attributes or {}).get("examples")
    if not query:
        return []
    rows = conn.execute(query.replace("${var.schema}", schema)).fetchall()
    return [row[0] if len(row) == 1 else list(row) for row in rows]


LAYERS = ("raw", "staging", "mart")


def verify(
    conn: psycopg.Connection,
    uri: str,
    schema: str | None,
    layer: str = "mart",
    contracts_dir: Path = SODA_CONTRACTS_DIR,
) -> list[QualityResult]:
    """Run every contract of a layer against `schema` (None: each contract's default schema);
    one result per check."""
    from soda_core.common.yaml import ContractYamlSource, DataSourceYamlSource
    from soda_core.contracts.contract_verification import ContractVerificationSession

    composed = contracts(layer, contracts_dir)
    if not composed:
        return []
    params = conninfo_to_dict(uri)
    session = ContractVerificationSession.execute(
        contract_yaml_sources=[
            ContractYamlSource.from_str(contract.text, file_path=contract.source)
            for contract in composed
        ],
        data_source_yaml_sources=[DataSourceYamlSource.from_str(_data_source_yaml(params))],
        variables={
            "database": params.get("dbname", ""),
            **({"schema": schema} if schema else {}),
        },
    )
    results: list[QualityResult] = []
    for verification, contract in zip(session.contract_verification_results, composed, strict=True):
        dataset = contract.dataset
        if verification.has_errors and not verification.check_results:
            results.append(
                QualityResult(
                    dataset,
                    "contract",
                    BLOCKING_TIER,
                    "not_evaluated",
                    verification.get_errors_str()[:500],
                    None,
                )
            )
            continue
        for check_result in verification.check_results:
            check = check_result.check
            attributes = check.attributes or {}
            outcome = _OUTCOMES.get(check_result.outcome.name, "not_evaluated")
            # A warning line (e.g. the MAP-vs-CRM gap at 5 % before its 10 % failure) is a
            # check of its own marked `severity: warn`: crossing it warns, never fails.
            if outcome == "failed" and attributes.get("severity") == "warn":
                outcome = "warned"
            tier = int(attributes.get("tier", BLOCKING_TIER))
            measured = check_result.threshold_value
            result = QualityResult(
                dataset=dataset,
                check=check.check_path.removeprefix("checks.").removeprefix("columns."),
                tier=tier,
                outcome=outcome,
                measured=None if measured is None else str(measured),
                threshold=_threshold_text(check),
                owner=attributes.get("owner"),
                label=check_words(check),
            )
            if outcome != "passed":
                result.examples = _examples(conn, check, schema or _default_schema(contract))
            results.append(result)
    return results


def record(
    conn: psycopg.Connection, build_id: uuid.UUID | None, results: list[QualityResult]
) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        if build_id is not None:  # a retried audit replaces the build's results
            cursor.execute("DELETE FROM ops.quality_results WHERE build_id = %s", (build_id,))
        cursor.executemany(
            "INSERT INTO ops.quality_results (build_id, dataset, check_name, tier, outcome,"
            " measured, threshold, examples, owner, check_label, dataset_label)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    build_id,
                    r.dataset,
                    r.check,
                    r.tier,
                    r.outcome,
                    r.measured,
                    r.threshold,
                    json.dumps(r.examples, default=str) if r.examples else None,
                    r.owner,
                    r.label,
                    r.dataset_label,
                )
                for r in results
            ],
        )


def quality_audit(uri: str, build_id: uuid.UUID | None) -> Callable:
    """An audit for revenue_os.transform.build.audit: the mart contracts on the built schema,
    recorded in ops.quality_results; tier 1 failures fail the audit, tier 2 only warn."""

    def run(conn: psycopg.Connection, schema: str) -> list[AuditResult]:
        # raw and staging keep their own schemas; the mart's contracts read the built one.
        results = [
            result
            for layer in LAYERS
            for result in verify(conn, uri, schema if layer == "mart" else None, layer)
        ]
        record(conn, build_id, results)
        return [
            AuditResult(
                f"quality_tier_{r.tier}",
                f"{r.dataset}: {r.check}",
                passed=not r.blocks,
                measured=f"{r.measured} ({r.outcome})"
                + (f", e.g. {', '.join(map(str, r.examples[:5]))}" if r.examples else ""),
                expected=str(r.threshold),
                warning=not r.blocks and r.outcome != "passed",
            )
            for r in results
        ]

    return run
