"""The shape of a metric contract (one `metrics/<name>.yaml`), as pydantic models.

Extra fields are refused everywhere: a misspelt key is an error, never a silently ignored
setting. What a single file can say about itself is checked here; what needs the other
contracts or the mart catalogue (references, columns, cycles) is checked by the loader.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from revenue_os.metrics.sql_text import is_volume
from revenue_os.metrics.thresholds import STATUSES, Condition, coverage_problems, parse_condition

Grain = Literal["week", "month", "quarter"]
GRAINS: tuple[Grain, ...] = ("week", "month", "quarter")
Dimension = Literal[
    "channel",
    "campaign",
    "product_family",
    "product",
    "segment",
    "region",
    "attribution_model",
    "opportunity_type",
    "platform",
]
Area = Literal[
    "revenue", "profitability", "efficiency", "funnel", "pipeline", "retention", "operations"
]
AREAS: tuple[str, ...] = Area.__args__  # type: ignore[attr-defined]
Forum = Literal["weekly", "monthly"]
FORUM_NAMES = {"weekly": "weekly revenue meeting", "monthly": "monthly review"}
MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimpleCalculation(_Strict):
    kind: Literal["simple"]
    model: Text
    expression: Text
    time_column: Text
    filter: str | None = None
    default_filters: dict[Dimension, str] = Field(default_factory=dict)


class RatioCalculation(_Strict):
    kind: Literal["ratio"]
    numerator: MetricName
    denominator: MetricName
    multiplier: float = 1.0


class GrowthCalculation(_Strict):
    kind: Literal["growth"]
    of: MetricName


class FormulaCalculation(_Strict):
    kind: Literal["formula"]
    expression: Text


Calculation = Annotated[
    SimpleCalculation | RatioCalculation | GrowthCalculation | FormulaCalculation,
    Field(discriminator="kind"),
]


class RefreshSla(_Strict):
    hours: Annotated[int, Field(gt=0)]
    # Days after a period ends until its value stops moving (restated spend, back-dated
    # records, a cohort still converting). Until then the period is complete but not final,
    # and the KPI owners' alerts do not judge it.
    final_after_days: Annotated[int, Field(ge=0)] = 0
    note: Text


class Owner(_Strict):
    kpi_owner: Text
    steward: Text


class Confidence(_Strict):
    level: Literal["high", "medium", "low"]
    note: Text


class Thresholds(_Strict):
    green: Text
    yellow: Text
    red: Text
    period: Grain
    # Which period the owners' alerts judge: the latest final one, or for a forward-looking
    # KPI (pipeline coverage) the period in progress, which is the one still to act on.
    judged_on: Literal["final", "current"] = "final"
    # A company-wide level judges the total only, like a volume: a segment that sells smaller
    # deals by design (average selling price in SMB) is not red for it.
    total_only: bool = False

    @model_validator(mode="after")
    def _cover_the_number_line(self) -> Thresholds:
        problems = coverage_problems(self.conditions())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @field_validator("green", "yellow", "red")
    @classmethod
    def _parses(cls, text: str) -> str:
        parse_condition(text)
        return text

    def conditions(self) -> dict[str, Condition]:
        return {status: parse_condition(getattr(self, status)) for status in STATUSES}


class ActionOnBreach(_Strict):
    type: Literal["investigate", "mitigate", "reallocate", "escalate"]
    action: Text


class RuleMinimum(_Strict):
    """Judge the rule only where another metric (the deals behind a win rate) reaches a
    count over the judged window: a rate of three deals moves 15 % on one deal."""

    metric: MetricName
    at_least: Annotated[float, Field(gt=0)]


class ChangeRule(_Strict):
    """Fires on a change, not a level: the window judged against the window just before it.

    `compare` and `baseline` are window lengths in periods of `grain` (1 is the period
    itself); the KPI layer keeps windows of 1, 4, 8 and 13 weeks, 1 and 3 months, 1 and 4
    quarters. `change` is a condition on the per cent change of the judged window against the
    baseline (`<= -15`: down 15 % or more); `running` asks it to hold for that many windows
    in a row, each judged against the one before it (the sales cycle up 10 % two 4-week
    windows running).
    """

    kind: Literal["change"]
    name: MetricName
    label: Text
    grain: Grain
    compare: Annotated[int, Field(ge=1)] = 1
    baseline: Annotated[int, Field(ge=1)]
    change: Text
    running: Annotated[int, Field(ge=1, le=4)] = 1
    minimum: RuleMinimum | None = None
    dimensions: list[Dimension] = Field(default_factory=list)
    action: ActionOnBreach

    @field_validator("change")
    @classmethod
    def _parses(cls, text: str) -> str:
        parse_condition(text)
        return text


class LevelRule(_Strict):
    """Fires on a level in a named period and breakdown, beside the KPI's own thresholds:
    pipeline coverage of next quarter under 3.0x in any segment."""

    kind: Literal["level"]
    name: MetricName
    label: Text
    grain: Grain
    # `next`: the period after the one in progress (a forward-looking KPI's horizon);
    # `latest`: the latest complete period.
    period: Literal["latest", "next"] = "latest"
    value: Text
    dimensions: list[Dimension] = Field(default_factory=list)
    action: ActionOnBreach

    @field_validator("value")
    @classmethod
    def _parses(cls, text: str) -> str:
        parse_condition(text)
        return text


Rule = Annotated[ChangeRule | LevelRule, Field(discriminator="kind")]


class MetricContract(_Strict):
    name: MetricName
    label: Text
    tier: Literal["kpi", "supporting"]
    area: Area
    decision: Text
    definition: Text
    calculation: Calculation
    grain: Annotated[list[Grain], Field(min_length=1)]
    # A simple metric maps each dimension to a column of its model; a derived metric lists
    # names only (its inputs hold the columns), read here as a mapping to None.
    dimensions: dict[Dimension, Text | None] = Field(default_factory=dict)
    # A dimension broken out at fewer grains than the metric has (campaigns by month only):
    # each slice is a row of kpi_values at every grain it is computed at, so a dimension of
    # thousands of values at a grain nobody reads costs the build most of its rows.
    dimension_grains: dict[Dimension, list[Grain]] = Field(default_factory=dict)
    source_of_truth: Text
    inclusions: list[Text]
    exclusions: list[Text]
    refresh_sla: RefreshSla
    owner: Owner
    confidence: Confidence
    format: Literal["usd", "percent", "ratio", "count", "days", "months"]
    direction: Literal["higher_is_better", "lower_is_better"]
    thresholds: Thresholds | None = None
    action_on_breach: ActionOnBreach | None = None
    # The forums that review the KPI: the monthly review (the monthly pack) reads every KPI;
    # `weekly` also puts it in the weekly pre-read and the weekly dashboard, week by week
    # with its 4- and 13-week windows.
    forums: list[Forum] = Field(default_factory=lambda: ["monthly"])
    # Rules beside the thresholds, alerted to the KPI owner once per spell like them and
    # listed among the exceptions of the pre-read.
    rules: list[Rule] = Field(default_factory=list)

    @property
    def is_volume(self) -> bool:
        """A sum or count: its thresholds judge the total, never one slice of it."""
        return isinstance(self.calculation, SimpleCalculation) and is_volume(
            self.calculation.expression
        )

    @property
    def judges_total_only(self) -> bool:
        """Its thresholds judge the total only: a volume, or a level its contract says is
        the company's (average selling price)."""
        return self.is_volume or (self.thresholds is not None and self.thresholds.total_only)

    @property
    def is_forward_looking(self) -> bool:
        """Judged on the period in progress (pipeline coverage), not on a final one."""
        return self.thresholds is not None and self.thresholds.judged_on == "current"

    @field_validator("dimensions", mode="before")
    @classmethod
    def _listed_names_are_a_mapping(cls, value: object) -> object:
        if isinstance(value, list):
            if len(set(map(str, value))) != len(value):
                raise ValueError("a dimension is listed twice")
            return dict.fromkeys(value)
        return value

    @field_validator("grain")
    @classmethod
    def _grains_once_in_order(cls, grains: list[Grain]) -> list[Grain]:
        if len(set(grains)) != len(grains):
            raise ValueError("a grain is listed twice")
        return sorted(grains, key=GRAINS.index)

    @model_validator(mode="after")
    def _fits_its_tier_and_kind(self) -> MetricContract:
        problems = []
        if self.tier == "kpi" and self.thresholds is None:
            problems.append("thresholds: required for tier kpi")
        if self.tier == "kpi" and self.action_on_breach is None:
            problems.append("action_on_breach: required for tier kpi")
        if self.thresholds is not None and self.thresholds.period not in self.grain:
            problems.append(
                f"thresholds.period: {self.thresholds.period!r} is not one of grain {self.grain}"
            )
        simple = isinstance(self.calculation, SimpleCalculation)
        columns = list(self.dimensions.values())
        if simple and None in columns:
            problems.append(
                "dimensions: a simple metric maps each dimension to a column of its model"
            )
        if not simple and any(column is not None for column in columns):
            problems.append(
                "dimensions: a derived metric lists dimension names; its inputs hold the columns"
            )
        if len(set(self.forums)) != len(self.forums):
            problems.append("forums: a forum is listed twice")
        if "weekly" in self.forums:
            if self.tier != "kpi":
                problems.append("forums: only a tier kpi metric is reviewed in the weekly forum")
            elif "week" not in self.grain and not self.is_forward_looking:
                problems.append(
                    "forums: the weekly forum reads weeks, add week to grain (or judge the "
                    "KPI on the period in progress, thresholds.judged_on: current)"
                )
        problems += self._rule_problems()
        for dimension, grains in self.dimension_grains.items():
            if dimension not in self.dimensions:
                problems.append(f"dimension_grains.{dimension}: not a dimension of this metric")
            elsewhere = [grain for grain in grains if grain not in self.grain]
            if elsewhere or not grains or len(set(grains)) != len(grains):
                problems.append(
                    f"dimension_grains.{dimension}: list some of grain {self.grain}, each once"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _rule_problems(self) -> list[str]:
        from revenue_os.metrics.periods import rule_windows

        problems = []
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            problems.append("rules: a rule name is used twice")
        for index, rule in enumerate(self.rules):
            where = f"rules.{index} ({rule.name})"
            if rule.grain not in self.grain:
                problems.append(f"{where}.grain: {rule.grain!r} is not one of grain {self.grain}")
                continue
            for dimension in rule.dimensions:
                if dimension not in self.dimensions_at(rule.grain):
                    problems.append(
                        f"{where}.dimensions: {dimension!r} is not broken out at {rule.grain}"
                    )
            if isinstance(rule, ChangeRule):
                kept = sorted(rule_windows(rule.grain))
                for field, periods in (("compare", rule.compare), ("baseline", rule.baseline)):
                    if periods not in kept:
                        problems.append(
                            f"{where}.{field}: the KPI layer keeps windows of "
                            f"{', '.join(map(str, kept))} {rule.grain}s, not {periods}"
                        )
            elif rule.period == "next" and not self.is_forward_looking:
                problems.append(
                    f"{where}.period: only a forward-looking KPI (thresholds.judged_on: "
                    "current) has a next period"
                )
        return problems

    @property
    def dimension_names(self) -> list[str]:
        return list(self.dimensions)

    def dimensions_at(self, grain: str) -> list[str]:
        """The dimensions broken out at `grain`: all of them unless dimension_grains says."""
        return [
            name
            for name in self.dimensions
            if name not in self.dimension_grains or grain in self.dimension_grains[name]
        ]

    def dimension_columns_at(self, grain: str) -> dict[str, str]:
        """dimension → column at `grain`, for a simple metric (empty for a derived one)."""
        kept = self.dimensions_at(grain)
        return {name: column for name, column in self.dimension_columns.items() if name in kept}

    @property
    def dimension_columns(self) -> dict[str, str]:
        """dimension → column, for a simple metric (empty for a derived one)."""
        return {name: column for name, column in self.dimensions.items() if column is not None}
