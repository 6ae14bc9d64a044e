"""A small reader of the SQL fragments contracts carry (aggregates, filters, formulas).

Contracts hold reviewed SQL so that the KPI layer never keeps a second copy of a formula. The
reader does not parse SQL; it makes sure a fragment only names columns of its model, calls a
short list of functions and holds nothing that could end or extend a statement, which is what
review needs to trust it when it is spliced into the generated queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AGGREGATE_FUNCTIONS = frozenset({"sum", "count", "avg", "min", "max"})
ADDITIVE_AGGREGATES = frozenset({"sum", "count"})
SCALAR_FUNCTIONS = frozenset({"coalesce", "nullif", "greatest", "least", "abs", "round"})
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "is",
        "null",
        "true",
        "false",
        "distinct",
        "case",
        "when",
        "then",
        "else",
        "end",
        "between",
        "like",
        "ilike",
    }
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<reference>\{[a-z][a-z0-9_]*\})
  | (?P<operator><=|>=|<>|!=|[-+*/()<>=,])
    """,
    re.VERBOSE,
)
METRIC_REFERENCE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


class SqlTextError(ValueError):
    """A fragment the reader refuses; the message says what and where."""


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise SqlTextError(f"unexpected {text[position]!r} at character {position + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _check(
    text: str, columns: frozenset[str] | None, *, allow_aggregates: bool, allow_references: bool
) -> list[Token]:
    """Every problem of one fragment, raised together so the author fixes them in one pass."""
    tokens = tokenize(text)
    problems: list[str] = []
    depth = 0
    for index, token in enumerate(tokens):
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if token.kind == "operator" and token.text == "(":
            depth += 1
        elif token.kind == "operator" and token.text == ")":
            depth -= 1
            if depth < 0:
                problems.append(f"unbalanced ')' at character {token.position + 1}")
                depth = 0
        elif token.kind == "reference" and not allow_references:
            problems.append(f"{token.text} is a metric reference, allowed only in formulas")
        elif token.kind == "string" and columns is None:
            problems.append(f"string literal {token.text} is not allowed in a formula")
        elif token.kind == "word":
            word = token.text.lower()
            if word in KEYWORDS:
                continue
            if following == "(":
                if word in AGGREGATE_FUNCTIONS and not allow_aggregates:
                    problems.append(f"aggregate {word}() is not allowed here")
                elif word not in AGGREGATE_FUNCTIONS | SCALAR_FUNCTIONS:
                    problems.append(f"unknown function {token.text}()")
            elif columns is None:
                problems.append(f"{token.text!r} is not a metric reference in braces")
            elif token.text not in columns:
                problems.append(f"unknown column {token.text!r}")
    if depth:
        problems.append("unbalanced '('")
    if problems:
        raise SqlTextError("; ".join(problems))
    return tokens


def check_aggregate(text: str, columns: frozenset[str]) -> None:
    """An aggregate expression over the model's columns, e.g. `count(distinct person_id)`."""
    tokens = _check(text, columns, allow_aggregates=True, allow_references=False)
    if not any(_is_call(tokens, i, AGGREGATE_FUNCTIONS) for i in range(len(tokens))):
        raise SqlTextError("must aggregate its rows (sum, count, avg, min or max)")


def check_predicate(text: str, columns: frozenset[str]) -> None:
    """A row filter over the model's columns, e.g. `is_won and opportunity_type = 'x'`."""
    _check(text, columns, allow_aggregates=False, allow_references=False)


def check_formula(text: str) -> list[str]:
    """A formula over other metrics in braces; returns the metrics it names, in order."""
    _check(text, None, allow_aggregates=False, allow_references=True)
    names = METRIC_REFERENCE.findall(text)
    if not names:
        raise SqlTextError("names no metric: write other metrics in braces, e.g. {win_rate}")
    return list(dict.fromkeys(names))


def is_additive(text: str) -> bool:
    """Whether the aggregate over several periods is the sum of the per-period aggregates.

    True for sums and plain counts; false for averages, extremes and distinct counts (a person
    counted in two months is one person over the quarter). The KPI layer sums periods for
    additive metrics and re-aggregates the rows of the whole window for the others.
    """
    tokens = tokenize(text)
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.text.lower() == "distinct":
            return False
        if _is_call(tokens, index, AGGREGATE_FUNCTIONS - ADDITIVE_AGGREGATES):
            return False
    return True


def is_volume(text: str) -> bool:
    """Whether the aggregate is a volume: sums and counts only, distinct counts included.

    A slice of a volume (one channel's MQLs, one region's revenue) is a part of the total, so
    a threshold set for the total says nothing about it; averages and ratios hold per slice.
    """
    tokens = tokenize(text)
    return not any(
        _is_call(tokens, index, AGGREGATE_FUNCTIONS - ADDITIVE_AGGREGATES)
        for index in range(len(tokens))
    )


def _is_call(tokens: list[Token], index: int, names: frozenset[str]) -> bool:
    token = tokens[index]
    return (
        token.kind == "word"
        and token.text.lower() in names
        and index + 1 < len(tokens)
        and tokens[index + 1].text == "("
    )
