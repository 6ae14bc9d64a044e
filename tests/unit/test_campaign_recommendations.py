"""The campaign recommendation rule against the shipped ROAS and cost-per-MQL contracts:
ROAS decides; an expensive lead flow only holds a green campaign back to a test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kpi_layer import RecommendationSettings, _CampaignFigures, recommend


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def figures(spend: int, attributed: int, mqls: int | None) -> _CampaignFigures:
    spend_d, attributed_d = Decimal(spend), Decimal(attributed)
    return _CampaignFigures(
        campaign_key="c",
        channel="paid_search",
        spend_month=spend_d / 3,
        spend_3m=spend_d,
        attributed_month=attributed_d / 3,
        attributed_3m=attributed_d,
        roas_month=attributed_d / spend_d,
        roas_3m=attributed_d / spend_d,
        mqls_3m=Decimal(mqls) if mqls else None,
        cost_per_mql_3m=spend_d / mqls if mqls else None,
    )


@pytest.mark.parametrize(
    ("spend", "attributed", "mqls", "expected", "says"),
    [
        (10_000, 40_000, 20, "scale", ["ROAS 4.0", "green (>= 3)", "$500 is green"]),
        (10_000, 5_000, 20, "reduce", ["ROAS 0.5", "below the red line (< 1)"]),
        (10_000, 20_000, 20, "test", ["ROAS 2.0", "yellow (>= 1 and < 3)"]),
        # green ROAS, but $2,500 per MQL is red (>= 1200): test before scaling, not reduce
        (10_000, 80_000, 4, "test", ["ROAS 8.0", "but cost per MQL $2,500 is in the red"]),
        (2_000, 80_000, 4, "test", ["below the $3,000 needed to judge it"]),
    ],
)
def test_recommendation_and_its_reason(contracts, spend, attributed, mqls, expected, says):
    recommendation, reason, _, _ = recommend(
        figures(spend, attributed, mqls),
        contracts["roas"],
        contracts["cost_per_mql"],
        RecommendationSettings(),
        "W-shaped",
    )
    assert recommendation == expected
    for text in says:
        assert text in reason, reason
