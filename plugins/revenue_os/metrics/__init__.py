"""Metric contracts: one reviewed definition per KPI, feeding the KPI tables and the glossary.

`load_contracts()` reads and validates `metrics/*.yaml`; `kpi_layer.build_kpi_tables()`
computes every contract into the mart; `glossary.render_glossary()` writes the glossary.
"""

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.loader import METRICS_DIR, MetricContractError, load_contracts

__all__ = ["METRICS_DIR", "MetricContract", "MetricContractError", "load_contracts"]
