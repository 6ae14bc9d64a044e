"""Freshness SLAs from the metric contracts: how old each source and the mart may get.

A source's SLA is the strictest `refresh_sla.hours` of the contracts whose `source_of_truth`
names it, the mart's the strictest of all contracts, each plus the slack of a daily schedule.
The freshness watchdog alerts on them, the data-health tables show them, and the data-quality
gate's freshness checks (soda/contracts/mart/source_freshness.yml) block at them: a unit test
keeps that YAML in step with this rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from revenue_os.metrics.contract import MetricContract

SLACK_HOURS = 2
MART = "mart"
# How the contracts' source_of_truth names each source (the prefix of its raw objects).
SOURCE_NAMES = {
    "hubspot": "HubSpot",
    "salesforce": "Salesforce",
    "google_ads": "Google Ads",
    "linkedin_ads": "LinkedIn Ads",
    "netsuite": "NetSuite",
}


def freshness_slas(contracts: Mapping[str, MetricContract]) -> dict[str, float]:
    """The SLA in hours of every source and of the mart, from the contracts (plus slack)."""
    strictest = min(c.refresh_sla.hours for c in contracts.values())
    slas: dict[str, float] = {MART: strictest + SLACK_HOURS}
    for source, name in SOURCE_NAMES.items():
        hours = [
            c.refresh_sla.hours
            for c in contracts.values()
            if name.lower() in c.source_of_truth.lower()
        ]
        slas[source] = min(hours, default=strictest) + SLACK_HOURS
    return slas
