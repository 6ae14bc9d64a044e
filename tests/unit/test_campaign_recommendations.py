"""The campaign recommendation rule against the shipped ROAS and cost-per-MQL contracts:
ROAS decides; an expensive lead flow only holds a green campaign back to a test."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.recommendations import RecommendationSettings, _CampaignFigures, recommend


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


def test_a_campaign_started_in_the_windows_last_two_months_is_too_young_to_judge(contracts):
    # October's window runs August to October: a campaign started on 3 September has not run
    # through it, so its 0.5 ROAS (red if judged) says nothing yet; one started in August has.
    young = dataclasses.replace(
        figures(10_000, 5_000, 20),
        started_on=date(2026, 9, 3),
        judged_if_started_before=date(2026, 9, 1),
    )
    old = dataclasses.replace(young, started_on=date(2026, 8, 20))
    settings = RecommendationSettings()
    verdict = recommend(young, contracts["roas"], contracts["cost_per_mql"], settings, "W-shaped")
    assert verdict[0] == "test" and verdict[2:] == (None, None)
    assert verdict[1].startswith("started on 03 Sep 2026, within the last two months")
    assert recommend(old, contracts["roas"], contracts["cost_per_mql"], settings, "W")[0] == (
        "reduce"
    )


def test_the_settings_are_read_from_their_file(contracts):
    settings = RecommendationSettings.load(contracts=contracts)
    assert settings == RecommendationSettings(
        minimum_spend_usd=Decimal(3000),
        roas_metric="roas",
        spend_metric="paid_spend",
        attributed_metric="paid_attributed_revenue",
        cost_per_mql_metric="cost_per_mql",
        mql_metric="mqls",
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda text: text.replace("roas: roas", "roas: return_on_spend"),
            r"metrics\.roas: 'return_on_spend' is no contract in metrics/",
        ),
        (
            lambda text: text.replace("minimum_spend_usd: 3000", "minimum_spend_usd: lots"),
            "minimum_spend_usd: a number of dollars, 0 or more",
        ),
        (
            lambda text: text.replace("  mqls: mqls\n", ""),
            "metrics: name attributed_revenue, cost_per_mql, mqls, roas, spend",
        ),
    ],
)
def test_a_wrong_setting_names_the_file_and_the_fix(tmp_path, contracts, edit, message):
    from revenue_os.metrics.recommendations import SETTINGS_FILE, RecommendationSettingsError

    path = tmp_path / SETTINGS_FILE.name
    path.write_text(edit(SETTINGS_FILE.read_text()))
    with pytest.raises(
        RecommendationSettingsError, match=f"campaign_recommendations.yml: .*{message}"
    ):
        RecommendationSettings.load(path, contracts)
