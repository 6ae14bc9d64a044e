"""A small SQL-like engine shared by the SOQL, SuiteQL and GAQL mocks.

Each vendor query language is a `SELECT fields FROM object [WHERE ...] [ORDER BY ...] [LIMIT n]`
with its own literals (SOQL's bare datetimes, SuiteQL's TO_TIMESTAMP, GAQL's DURING). They
share one tokenizer, one recursive-descent parser parameterised by dialect, and one vectorised
evaluator over a `Frame`, so every vendor filters and sorts the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from revenue_os_mock_apis.business.core import NULL_INT, Column, Kind

SOQL, SUITEQL, GAQL = "soql", "suiteql", "gaql"


class QueryError(ValueError):
    """A query the vendor would refuse; `code` is a dialect-neutral reason.

    Codes: syntax, unknown_object, unknown_field, bad_value, missing_date_range.
    """

    def __init__(
        self, code: str, message: str, *, field_name: str | None = None, position: int = 0
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_name = field_name
        self.position = position


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:T]))
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise QueryError(
                "syntax", f"unexpected token: '{text[position : position + 10]}'", position=position
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


# --- the syntax tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A typed value: kind is datetime (ms), date (days since 1970), str, num, bool, null."""

    kind: str
    value: object


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Literal, ...]
    negate: bool = False


@dataclass(frozen=True)
class IsNull:
    field: str
    negate: bool = False


@dataclass(frozen=True)
class Like:
    field: str
    pattern: str
    negate: bool = False


@dataclass(frozen=True)
class Between:
    field: str
    low: Literal
    high: Literal


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    parts: tuple


@dataclass(frozen=True)
class Not:
    part: object


@dataclass(frozen=True)
class OrderTerm:
    field: str
    descending: bool = False
    nulls_first: bool | None = None


@dataclass
class Query:
    fields: list[str]
    source: str
    where: object | None = None
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    count_only: bool = False
    star: bool = False


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_datetime_literal(text: str) -> int:
    value = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = f"{value[:-2]}:{value[-2:]}"
    return _epoch_ms(datetime.fromisoformat(value))


def parse_date_literal(text: str) -> int:
    return date.fromisoformat(text).toordinal() - date(1970, 1, 1).toordinal()


_ORACLE_FORMATS = {
    "YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S",
    "YYYY-MM-DD HH24:MI": "%Y-%m-%d %H:%M",
    "YYYY-MM-DD": "%Y-%m-%d",
    "MM/DD/YYYY": "%m/%d/%Y",
    "MM/DD/YYYY HH24:MI:SS": "%m/%d/%Y %H:%M:%S",
    "DD.MM.YYYY": "%d.%m.%Y",
}

# GAQL's DURING ranges, relative to the account's "today" (the mock's as-of date).
DURING_RANGES: dict[str, Callable[[int], tuple[int, int]]] = {
    "TODAY": lambda today: (today, today),
    "YESTERDAY": lambda today: (today - 1, today - 1),
    "LAST_7_DAYS": lambda today: (today - 7, today - 1),
    "LAST_14_DAYS": lambda today: (today - 14, today - 1),
    "LAST_30_DAYS": lambda today: (today - 30, today - 1),
    "LAST_BUSINESS_WEEK": lambda today: (today - 7, today - 3),
}


class Parser:
    """Recursive descent over tokens; dialect decides the literals and a few keywords."""

    def __init__(self, text: str, dialect: str, *, today: int = 0):
        self.text = text
        self.dialect = dialect
        self.tokens = tokenize(text)
        self.index = 0
        self.today = today

    # token helpers
    def peek(self, offset: int = 0) -> Token | None:
        i = self.index + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "ident" and token.upper in words

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("syntax", "unexpected end of query", position=len(self.text))
        self.index += 1
        return token

    def expect_keyword(self, word: str) -> None:
        token = self.peek()
        if token is None or token.kind != "ident" or token.upper != word:
            found = token.text if token else "end of query"
            raise QueryError(
                "syntax",
                f"unexpected token: '{found}' (expecting {word})",
                position=token.position if token else len(self.text),
            )
        self.index += 1

    def expect_punct(self, char: str) -> None:
        token = self.take()
        if token.text != char:
            raise QueryError(
                "syntax",
                f"unexpected token: '{token.text}' (expecting '{char}')",
                position=token.position,
            )

    # grammar
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields, count_only, star = self._select_list()
        self.expect_keyword("FROM")
        source_token = self.take()
        if source_token.kind != "ident":
            raise QueryError(
                "syntax", f"unexpected token: '{source_token.text}'", position=source_token.position
            )
        query = Query(fields=fields, source=source_token.text, count_only=count_only, star=star)
        if (
            self.peek() is not None
            and self.peek().kind == "ident"
            and not self.at_keyword("WHERE", "ORDER", "LIMIT", "OFFSET", "PARAMETERS")
        ):
            self.take()  # a table alias (SuiteQL)
        if self.at_keyword("WHERE"):
            self.take()
            query.where = self._or()
        if self.at_keyword("ORDER"):
            self.take()
            self.expect_keyword("BY")
            query.order = self._order_list()
        if self.at_keyword("LIMIT"):
            self.take()
            query.limit = self._integer()
        if self.at_keyword("OFFSET"):
            self.take()
            query.offset = self._integer()
        if self.at_keyword("PARAMETERS") and self.dialect == GAQL:
            self.index = len(self.tokens)
        token = self.peek()
        if token is not None:
            raise QueryError("syntax", f"unexpected token: '{token.text}'", position=token.position)
        return query

    def _integer(self) -> int:
        token = self.take()
        if token.kind != "num" or "." in token.text or token.text.startswith("-"):
            raise QueryError(
                "syntax",
                f"unexpected token: '{token.text}' (expecting a number)",
                position=token.position,
            )
        return int(token.text)

    def _select_list(self) -> tuple[list[str], bool, bool]:
        fields: list[str] = []
        if self.peek() is not None and self.peek().text == "*":
            self.take()
            return fields, False, True
        if self.at_keyword("COUNT") and self.peek(1) is not None and self.peek(1).text == "(":
            self.index += 2
            self.expect_punct(")")
            return fields, True, False
        while True:
            token = self.take()
            if token.kind != "ident" or token.upper in ("FROM", "WHERE"):
                raise QueryError(
                    "syntax", f"unexpected token: '{token.text}'", position=token.position
                )
            fields.append(token.text)
            if self.peek() is not None and self.peek().text == ",":
                self.take()
                continue
            return fields, False, False

    def _order_list(self) -> list[OrderTerm]:
        terms = []
        while True:
            token = self.take()
            if token.kind != "ident":
                raise QueryError(
                    "syntax", f"unexpected token: '{token.text}'", position=token.position
                )
            descending, nulls_first = False, None
            if self.at_keyword("ASC", "DESC"):
                descending = self.take().upper == "DESC"
            if self.at_keyword("NULLS"):
                self.take()
                nulls_first = self.take().upper == "FIRST"
            terms.append(OrderTerm(token.text, descending, nulls_first))
            if self.peek() is not None and self.peek().text == ",":
                self.take()
                continue
            return terms

    def _or(self):
        parts = [self._and()]
        while self.at_keyword("OR"):
            self.take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def _and(self):
        parts = [self._factor()]
        while self.at_keyword("AND"):
            self.take()
            parts.append(self._factor())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def _factor(self):
        if self.at_keyword("NOT"):
            self.take()
            return Not(self._factor())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self._or()
            self.expect_punct(")")
            return inner
        return self._condition()

    def _condition(self):
        token = self.take()
        if token.kind != "ident":
            raise QueryError("syntax", f"unexpected token: '{token.text}'", position=token.position)
        name = token.text
        nxt = self.peek()
        if nxt is None:
            raise QueryError("syntax", "unexpected end of query", position=len(self.text))
        if nxt.kind == "op":
            self.take()
            op = "!=" if nxt.text == "<>" else nxt.text
            return Compare(name, op, self._literal())
        word = nxt.upper if nxt.kind == "ident" else ""
        if word == "IS":
            self.take()
            negate = False
            if self.at_keyword("NOT"):
                self.take()
                negate = True
            self.expect_keyword("NULL")
            return IsNull(name, negate)
        if word in ("IN", "NOT"):
            negate = word == "NOT"
            self.take()
            if negate:
                if self.at_keyword("LIKE"):
                    self.take()
                    return Like(name, str(self._literal().value), negate=True)
                self.expect_keyword("IN")
            self.expect_punct("(")
            values = [self._literal()]
            while self.peek() is not None and self.peek().text == ",":
                self.take()
                values.append(self._literal())
            self.expect_punct(")")
            return InList(name, tuple(values), negate)
        if word == "LIKE":
            self.take()
            return Like(name, str(self._literal().value))
        if word == "BETWEEN":
            self.take()
            low = self._literal()
            self.expect_keyword("AND")
            return Between(name, low, self._literal())
        if word == "DURING" and self.dialect == GAQL:
            self.take()
            range_token = self.take()
            if range_token.upper not in DURING_RANGES:
                raise QueryError(
                    "bad_value", f"Unsupported date range: {range_token.text}", field_name=name
                )
            low, high = DURING_RANGES[range_token.upper](self.today)
            return Between(name, Literal("date", low), Literal("date", high))
        raise QueryError("syntax", f"unexpected token: '{nxt.text}'", position=nxt.position)

    def _literal(self) -> Literal:
        token = self.take()
        if token.kind == "str":
            body = token.text[1:-1].replace("\\'", "'").replace("''", "'").replace('\\"', '"')
            return Literal("str", body)
        if token.kind == "num":
            return Literal("num", float(token.text))
        if token.kind == "datetime":
            return Literal("datetime", parse_datetime_literal(token.text))
        if token.kind == "date":
            return Literal("date", parse_date_literal(token.text))
        if token.kind == "ident":
            word = token.upper
            if word in ("TRUE", "FALSE"):
                return Literal("bool", word == "TRUE")
            if word == "NULL":
                return Literal("null", None)
            if word in ("TO_TIMESTAMP", "TO_DATE") and self.dialect == SUITEQL:
                return self._oracle_function(word)
            if self.dialect == GAQL:
                return Literal("str", token.text)  # enum values are bare: ENABLED
            if self.dialect == SOQL and word in _SOQL_DATE_LITERALS:
                low, high = _SOQL_DATE_LITERALS[word](self.today)
                return Literal("daterange", (low, high))
        raise QueryError("syntax", f"unexpected token: '{token.text}'", position=token.position)

    def _oracle_function(self, name: str) -> Literal:
        self.expect_punct("(")
        value = self.take()
        fmt = "YYYY-MM-DD HH24:MI:SS" if name == "TO_TIMESTAMP" else "YYYY-MM-DD"
        if self.peek() is not None and self.peek().text == ",":
            self.take()
            fmt = self.take().text.strip("'")
        self.expect_punct(")")
        pattern = _ORACLE_FORMATS.get(fmt.upper())
        if value.kind != "str" or pattern is None:
            raise QueryError("bad_value", f"Invalid {name} arguments: {value.text}, '{fmt}'")
        try:
            moment = datetime.strptime(value.text.strip("'"), pattern).replace(tzinfo=UTC)
        except ValueError as error:
            raise QueryError("bad_value", f"{name}: {error}") from error
        return Literal("datetime", _epoch_ms(moment))


_SOQL_DATE_LITERALS: dict[str, Callable[[int], tuple[int, int]]] = {
    "TODAY": lambda today: (today, today),
    "YESTERDAY": lambda today: (today - 1, today - 1),
}


def parse(text: str, dialect: str, *, today: int = 0) -> Query:
    if not text or not text.strip():
        raise QueryError("syntax", "empty query")
    return Parser(text, dialect, today=today).parse()


# --- evaluation ------------------------------------------------------------------------------

ColumnGetter = Callable[[str], Column]


def _coerce(column: Column, literal: Literal, field_name: str, dialect: str) -> object:
    """The literal as a value comparable with the column's storage, or a QueryError."""
    kind = column.kind
    if literal.kind == "null":
        return None
    if kind == Kind.DATETIME:
        if literal.kind == "datetime":
            return literal.value
        if literal.kind == "date" and dialect != SOQL:
            return int(literal.value) * 86_400_000
        if literal.kind == "str" and dialect != SOQL:
            try:
                return parse_datetime_literal(str(literal.value))
            except ValueError:
                pass
        raise QueryError(
            "bad_value",
            f"value of filter criterion for field '{field_name}' must be of type dateTime and should not be enclosed in quotes",
            field_name=field_name,
        )
    if kind == Kind.DATE:
        if literal.kind == "date":
            return literal.value
        if literal.kind == "datetime" and dialect == SUITEQL:
            return int(literal.value) // 86_400_000
        if literal.kind == "str" and dialect != SOQL:
            try:
                return parse_date_literal(str(literal.value))
            except ValueError:
                pass
        raise QueryError(
            "bad_value",
            f"value of filter criterion for field '{field_name}' must be of type date and should not be enclosed in quotes",
            field_name=field_name,
        )
    if kind == Kind.BOOL:
        if literal.kind == "bool":
            return literal.value
        if literal.kind == "str" and str(literal.value).upper() in ("T", "F", "TRUE", "FALSE"):
            return str(literal.value).upper() in ("T", "TRUE")
        raise QueryError(
            "bad_value",
            f"value of filter criterion for field '{field_name}' must be of type boolean",
            field_name=field_name,
        )
    if kind in (Kind.INT, Kind.FLOAT):
        if literal.kind == "num":
            return float(literal.value)
        if literal.kind == "str" and dialect != SOQL:
            try:
                return float(str(literal.value))
            except ValueError:
                pass
        raise QueryError(
            "bad_value",
            f"value of filter criterion for field '{field_name}' must be a number",
            field_name=field_name,
        )
    if literal.kind == "str":
        return str(literal.value)
    if literal.kind == "num" and dialect != SOQL:
        value = float(literal.value)  # type: ignore[arg-type]
        return str(int(value)) if value.is_integer() else str(value)
    raise QueryError(
        "bad_value",
        f"value of filter criterion for field '{field_name}' must be of type string and should be enclosed in quotes",
        field_name=field_name,
    )


def _compare(column: Column, op: str, value: object) -> np.ndarray:
    values = column.values
    null = column.is_null()
    if value is None:
        if op == "=":
            return null
        if op == "!=":
            return ~null
        return np.zeros(values.size, dtype=bool)
    if column.kind in (Kind.STR, Kind.ID):
        data = np.where(null, "", values).astype(str)
        target = str(value)
        if column.kind == Kind.ID and len(target) == 15 and op in ("=", "!="):
            data = np.array([v[:15] for v in data], dtype=str)  # 15- and 18-char ids match
    else:
        data = values
        target = value
    if op == "=":
        result = data == target
    elif op == "!=":
        result = data != target
    elif op == "<":
        result = data < target
    elif op == "<=":
        result = data <= target
    elif op == ">":
        result = data > target
    elif op == ">=":
        result = data >= target
    else:
        raise QueryError("syntax", f"unexpected operator {op}")
    return np.asarray(result, dtype=bool) & ~null


def _like(column: Column, pattern: str) -> np.ndarray:
    regex = re.compile(
        "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$",
        re.IGNORECASE | re.DOTALL,
    )
    return np.array(
        [v is not None and bool(regex.match(str(v))) for v in column.values], dtype=bool
    )


def _compare_range(column: Column, op: str, days: tuple[int, int], field_name: str) -> np.ndarray:
    """SOQL date literals (TODAY, YESTERDAY) stand for a whole day: compare with its bounds."""
    if column.kind not in (Kind.DATE, Kind.DATETIME):
        raise QueryError(
            "bad_value", f"date literal used on field '{field_name}'", field_name=field_name
        )
    unit = 1 if column.kind == Kind.DATE else 86_400_000
    start, end = int(days[0]) * unit, (int(days[1]) + 1) * unit  # [start, end)
    data, valid = column.values, ~column.is_null()
    results = {
        "=": (data >= start) & (data < end),
        "!=": (data < start) | (data >= end),
        "<": data < start,
        "<=": data < end,
        ">": data >= end,
        ">=": data >= start,
    }
    return results[op] & valid


def evaluate(node, get: ColumnGetter, size: int, dialect: str) -> np.ndarray:
    """A boolean mask of the rows the condition keeps (SQL null semantics: null never matches)."""
    if node is None:
        return np.ones(size, dtype=bool)
    if isinstance(node, BoolOp):
        masks = [evaluate(part, get, size, dialect) for part in node.parts]
        out = masks[0].copy()
        for mask in masks[1:]:
            out = (out & mask) if node.op == "AND" else (out | mask)
        return out
    if isinstance(node, Not):
        return ~evaluate(node.part, get, size, dialect)
    column = get(node.field)
    if isinstance(node, Compare):
        if node.value.kind == "daterange":
            return _compare_range(column, node.op, node.value.value, node.field)  # type: ignore[arg-type]
        return _compare(column, node.op, _coerce(column, node.value, node.field, dialect))
    if isinstance(node, InList):
        mask = np.zeros(size, dtype=bool)
        for literal in node.values:
            mask |= _compare(column, "=", _coerce(column, literal, node.field, dialect))
        return ~mask & ~column.is_null() if node.negate else mask
    if isinstance(node, IsNull):
        null = column.is_null()
        return ~null if node.negate else null
    if isinstance(node, Like):
        mask = _like(column, node.pattern)
        return ~mask & ~column.is_null() if node.negate else mask
    if isinstance(node, Between):
        low = _coerce(column, node.low, node.field, dialect)
        high = _coerce(column, node.high, node.field, dialect)
        return _compare(column, ">=", low) & _compare(column, "<=", high)
    raise QueryError("syntax", "unsupported condition")


def fields_in(node) -> list[str]:
    """Every field a condition mentions (to validate names before evaluating)."""
    if node is None:
        return []
    if isinstance(node, BoolOp):
        return [name for part in node.parts for name in fields_in(part)]
    if isinstance(node, Not):
        return fields_in(node.part)
    return [node.field]


def _sort_key(column: Column, rows: np.ndarray, descending: bool, nulls_first: bool) -> np.ndarray:
    """A float64 key per row that sorts ascending in the requested order."""
    values = column.values[rows]
    null = column.is_null()[rows]
    if column.kind in (Kind.STR, Kind.ID):
        text = np.where(null, "", values).astype(str)
        _, rank = np.unique(text, return_inverse=True)
        key = rank.astype(np.float64)
    elif column.kind == Kind.BOOL:
        key = values.astype(np.float64)
    else:
        key = np.where(null, 0, values).astype(np.float64)
    if descending:
        key = -key
    big = np.float64(1e300)
    return np.where(null, -big if nulls_first else big, key)


def sort_rows(
    get: ColumnGetter,
    rows: np.ndarray,
    order: list[OrderTerm],
    tiebreak: str | None,
    key_rank: np.ndarray | None = None,
) -> np.ndarray:
    """Rows in ORDER BY order; the key column breaks ties so paging is stable.

    `key_rank` (each row's position in key order), when given, sorts by the key column
    without comparing its strings.
    """
    terms = list(order)
    if tiebreak is not None and not any(t.field.lower() == tiebreak.lower() for t in terms):
        terms.append(OrderTerm(tiebreak))
    if not terms or rows.size == 0:
        return rows
    keys = []
    for term in reversed(terms):  # np.lexsort sorts by the last key first
        if key_rank is not None and tiebreak and term.field.lower() == tiebreak.lower():
            rank = key_rank[rows].astype(np.float64)
            keys.append(-rank if term.descending else rank)
            continue
        nulls_first = term.nulls_first if term.nulls_first is not None else not term.descending
        keys.append(_sort_key(get(term.field), rows, term.descending, nulls_first))
    return rows[np.lexsort(keys)]


__all__ = [
    "GAQL",
    "NULL_INT",
    "SOQL",
    "SUITEQL",
    "Between",
    "BoolOp",
    "Compare",
    "InList",
    "Literal",
    "OrderTerm",
    "Query",
    "QueryError",
    "evaluate",
    "fields_in",
    "parse",
    "sort_rows",
]
