"""Buyer criteria expressions: a small, safe language over a lead's fields.

The text is parsed with `ast.parse(mode="eval")` and only an allow-list of node kinds is
accepted; user text is never given to eval, exec or compile. Compiling checks names, functions,
arities and the kinds of operands (number, text, true/false), and turns the tree into nested
closures, so evaluating a lead does not walk the tree again.

The language:
- literals: numbers, 'text' or "text", True/False (also the names true/false);
- names: lead fields, matched ignoring case; a missing field is None;
- `+ - * / %` on numbers (`+` also joins texts; `%` keeps the sign of the left side), unary
  `- +`, `not`, `and`, `or`, `x if test else y`;
- comparisons `== != < <= > >=` (chains such as `1 < x < 5` too) between values of one kind,
  and `x in (...)` / `x not in [...]` against a list of literals; texts compare ignoring case;
  a missing value equals only a missing value and is in no list;
- the functions in `FUNCTIONS`; text functions take any value (numbers as plain digits, true/false
  as the words); contains/startswith/endswith ignore case; matches is `re.search`.

Numbers are Decimal, rounded to 28 significant digits. Using a missing value, dividing by zero
or converting a bad value raises EvaluationError with a readable message.

Limits: at most MAX_LENGTH characters and MAX_NODES sub-expressions, no `**`, patterns of at most
MAX_PATTERN characters. Patterns run on Python's `re`, which backtracks: a pathological pattern
such as `(a+)+$` can still be slow on a long value.
"""

from __future__ import annotations

import ast
import calendar
import contextlib
import decimal
import enum
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.catalog.fields import FALSE_WORDS, TRUE_WORDS, DataType, FieldSpec, Value
from server.domain.catalog.fields import parse_datetime as _parse_datetime

MAX_LENGTH = 1000
MAX_NODES = 200
MAX_PATTERN = 200
MAX_ROUND_PLACES = 20
MAX_COUNT = 10**6  # for left() and right()

Result = Decimal | str | bool | None
Values = Mapping[str, Value]
Program = Callable[[Values, datetime, ZoneInfo], Result]

_CTX = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_MICRO = Decimal("1e-6")
_NON_DIGITS = re.compile(r"[^0-9]")
_MIDNIGHT = time(0, 0)


class ExpressionError(ValueError):
    """The text is not a valid expression; the message names the problem and where it is."""


class EvaluationError(ValueError):
    """An expression could not be evaluated for one lead (a missing value, division by zero)."""


class Kind(enum.Enum):
    """What an expression gives when its values are present."""

    NUMBER = "number"
    TEXT = "text"
    BOOL = "true/false"


def kind_of(data_type: DataType) -> Kind:
    """The kind a field of this data type has in expressions (dates are their ISO text)."""
    if data_type in _NUMERIC_TYPES:
        return Kind.NUMBER
    if data_type is DataType.Bit:
        return Kind.BOOL
    return Kind.TEXT


_NUMERIC_TYPES = frozenset(
    {DataType.Int, DataType.Bigint, DataType.Money, DataType.Decimal, DataType.Float}
)


@dataclass(frozen=True)
class Expression:
    """A compiled expression: immutable, reusable across leads and threads."""

    text: str
    kind: Kind
    program: Program = field(repr=False, compare=False)

    def evaluate(self, values: Values, now: datetime, tz: ZoneInfo) -> Result:
        """The value for a lead's typed values (keyed by casefolded field name).

        `now` is the evaluation time and `tz` the buyer's time zone (for hour(), weekday() and
        ages). Raises EvaluationError, and nothing else, when the value cannot be worked out.
        """
        try:
            return self.program(values, now, tz)
        except EvaluationError:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            raise EvaluationError(f"cannot evaluate: {exc}") from exc


def compile_expression(text: str, fields: Mapping[str, FieldSpec]) -> Expression:
    """Compile `text` against a lead type's fields (keyed by casefolded name).

    Raises ExpressionError naming the problem and, where there is one, its column.
    """
    if not text.strip():
        raise ExpressionError("an expression is required")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(text)} characters, at most {MAX_LENGTH})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "\d" in a regex literal is fine here
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = ""
        if exc.offset:
            line = f"line {exc.lineno}, " if exc.lineno and exc.lineno > 1 else ""
            where = f" at {line}column {exc.offset}"
        raise ExpressionError(f"syntax error{where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the expression cannot be read") from None
    size = sum(isinstance(node, ast.expr) for node in ast.walk(tree))
    if size > MAX_NODES:
        raise ExpressionError(f"the expression is too complex ({size} parts, at most {MAX_NODES})")
    node = _Compiler(text.strip(), fields).compile(tree.body)
    return Expression(text.strip(), node.kind, node.run)


def compile_function(name: str, spec: FieldSpec) -> Expression:
    """The call `name(field)` of a one-argument function, built without parsing any text."""
    function = FUNCTIONS.get(name.casefold())
    if function is None:
        raise ExpressionError(f"unknown function {name!r}")
    compiler = _Compiler(f"{function.name}({spec.name})", {spec.name.casefold(): spec})
    argument = compiler.field(spec, spec.name)
    node = compiler.call(function, [argument], compiler.text, "")
    return Expression(compiler.text, node.kind, node.run)


def show(value: Result) -> str:
    """A value as a scan log shows it: numbers plainly (at most 6 decimals), true/false."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = f"{value:f}"
        point = text.find(".")
        if point < 0:
            return text
        if len(text) - point > 7:
            with contextlib.suppress(InvalidOperation):  # too many digits to round: keep all
                text = f"{value.quantize(_MICRO, context=_CTX):f}"
        return text.rstrip("0").rstrip(".")
    return value


def reader(data_type: DataType) -> Callable[[Value], Decimal | str | bool]:
    """How expressions read a present value of a field of this type; it raises ValueError."""
    kind = kind_of(data_type)
    if kind is Kind.NUMBER:
        return _number
    if kind is Kind.BOOL:
        return _boolean
    return _as_text_value


def calendar_date(text: str, tz: ZoneInfo) -> date:
    """The date a date field holds: as written when it has no time of day, else in `tz`."""
    moment = _parse_datetime(text)
    if moment.time() == _MIDNIGHT:
        return moment.date()
    return moment.astimezone(tz).date()


def elapsed(since: date, until: date, unit: str) -> int:
    """Whole days ('d'), months ('m') or years ('y') from `since` to `until` (negative if later).

    A month from the 31st is reached at the end of a shorter month, so Jan 31 to Feb 28 is one
    month and Feb 29 to the next Feb 28 one year.
    """
    if unit == "d":
        return (until - since).days
    months = (until.year - since.year) * 12 + until.month - since.month
    if _add_months(since, months) > until:
        months -= 1
    return months // 12 if unit == "y" else months


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


# --- values ------------------------------------------------------------------------------------


def _number(value: Value) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{show(value)} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)
    assert isinstance(value, str)
    try:
        number = Decimal(value.strip().replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not true/false")


def _text(value: Decimal | str | bool) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:f}"


def _whole(value: Decimal, low: int, high: int, what: str) -> int:
    if value != value.to_integral_value() or not low <= value <= high:
        raise EvaluationError(
            f"{what} must be a whole number from {low} to {high}, not {show(value)}"
        )
    return int(value)


def _today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def _date(value: str, tz: ZoneInfo) -> date:
    try:
        return calendar_date(value, tz)
    except ValueError:
        raise EvaluationError(f"{value!r} is not a date") from None


# --- functions ---------------------------------------------------------------------------------

Impl = Callable[[Sequence[Any], datetime, ZoneInfo], Result]


@dataclass(frozen=True)
class Function:
    """A function expressions may call: its parameters' kinds (None: any, as text)."""

    name: str
    params: tuple[Kind | None, ...]
    result: Kind
    impl: Impl = field(repr=False, compare=False)
    optional: int = 0  # how many trailing parameters may be left out
    variadic: bool = False  # the last parameter repeats

    def arity(self) -> str:
        count = len(self.params)
        if self.variadic:
            return f"at least {count} arguments"
        if self.optional:
            return f"{count - self.optional} to {count} arguments"
        return f"{count} argument" + ("" if count == 1 else "s")

    def accepts(self, count: int) -> bool:
        if self.variadic:
            return count >= len(self.params)
        return len(self.params) - self.optional <= count <= len(self.params)


def _round(args: Sequence[Any], now: datetime, tz: ZoneInfo) -> Decimal:
    places = _whole(args[1], -MAX_ROUND_PLACES, MAX_ROUND_PLACES, "places") if len(args) > 1 else 0
    number: Decimal = args[0]
    try:
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_CTX)
    except InvalidOperation:
        raise EvaluationError(f"{show(number)} has too many digits to round") from None


def _left(args: Sequence[Any], now: datetime, tz: ZoneInfo) -> str:
    text: str = args[0]
    return text[: _whole(args[1], 0, MAX_COUNT, "count")]


def _right(args: Sequence[Any], now: datetime, tz: ZoneInfo) -> str:
    text: str = args[0]
    count = _whole(args[1], 0, MAX_COUNT, "count")
    return text[-count:] if count else ""


def _to_number(args: Sequence[Any], now: datetime, tz: ZoneInfo) -> Decimal:
    if isinstance(args[0], Decimal):
        return args[0]
    try:
        return _number(args[0])
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None


def _matches_dynamic(args: Sequence[Any], now: datetime, tz: ZoneInfo) -> bool:
    pattern: str = args[1]
    if len(pattern) > MAX_PATTERN:
        raise EvaluationError(f"the pattern is longer than {MAX_PATTERN} characters")
    try:
        return re.search(pattern, args[0]) is not None
    except re.error as exc:
        raise EvaluationError(f"bad regular expression: {exc}") from None


_N, _T, _B = Kind.NUMBER, Kind.TEXT, Kind.BOOL

FUNCTIONS: Mapping[str, Function] = {
    f.name: f
    for f in (
        Function("len", (None,), _N, lambda a, n, z: Decimal(len(a[0]))),
        Function("lower", (None,), _T, lambda a, n, z: a[0].lower()),
        Function("upper", (None,), _T, lambda a, n, z: a[0].upper()),
        Function("digits", (None,), _T, lambda a, n, z: _NON_DIGITS.sub("", a[0])),
        Function("left", (None, _N), _T, _left),
        Function("right", (None, _N), _T, _right),
        Function("contains", (None, None), _B, lambda a, n, z: a[1].casefold() in a[0].casefold()),
        Function(
            "startswith",
            (None, None),
            _B,
            lambda a, n, z: a[0].casefold().startswith(a[1].casefold()),
        ),
        Function(
            "endswith", (None, None), _B, lambda a, n, z: a[0].casefold().endswith(a[1].casefold())
        ),
        Function("matches", (None, None), _B, _matches_dynamic),
        Function("number", (None,), _N, _to_number),
        Function("abs", (_N,), _N, lambda a, n, z: a[0].copy_abs()),
        Function("min", (_N, _N), _N, lambda a, n, z: min(a), variadic=True),
        Function("max", (_N, _N), _N, lambda a, n, z: max(a), variadic=True),
        Function("round", (_N, _N), _N, _round, optional=1),
        Function(
            "age_years",
            (_T,),
            _N,
            lambda a, n, z: Decimal(elapsed(_date(a[0], z), _today(n, z), "y")),
        ),
        Function(
            "age_days",
            (_T,),
            _N,
            lambda a, n, z: Decimal(elapsed(_date(a[0], z), _today(n, z), "d")),
        ),
        Function("hour", (), _N, lambda a, n, z: Decimal(n.astimezone(z).hour)),
        Function("weekday", (), _N, lambda a, n, z: Decimal(n.astimezone(z).weekday())),
    )
}


# --- compiler ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    run: Program
    kind: Kind
    text: str
    constant: Result = None
    is_constant: bool = False


def _constant(value: Decimal | str | bool, text: str) -> _Node:
    return _Node(lambda values, now, tz: value, _kind_of_value(value), text, value, True)


def _kind_of_value(value: Decimal | str | bool) -> Kind:
    if isinstance(value, bool):
        return Kind.BOOL
    return Kind.NUMBER if isinstance(value, Decimal) else Kind.TEXT


def _present(node: _Node) -> Callable[[Values, datetime, ZoneInfo], Any]:
    """`node.run`, raising EvaluationError instead of giving None."""
    run, missing = node.run, f"{node.text} missing"

    def present(values: Values, now: datetime, tz: ZoneInfo) -> Any:
        value = run(values, now, tz)
        if value is None:
            raise EvaluationError(missing)
        return value

    return present


_REFUSED = {
    ast.Attribute: "attribute access (.)",
    ast.Subscript: "indexing ([])",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "a starred argument (*)",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", _CTX.add),
    ast.Sub: ("-", _CTX.subtract),
    ast.Mult: ("*", _CTX.multiply),
    ast.Div: ("/", _CTX.divide),
    ast.Mod: ("%", _CTX.remainder),
}
_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_EQUALITY = (ast.Eq, ast.NotEq)
_ORDERING: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("<", lambda a, b: bool(a < b)),
    ast.LtE: ("<=", lambda a, b: bool(a <= b)),
    ast.Gt: (">", lambda a, b: bool(a > b)),
    ast.GtE: (">=", lambda a, b: bool(a >= b)),
}


class _Compiler:
    def __init__(self, text: str, fields: Mapping[str, FieldSpec]) -> None:
        self.text = text
        self.fields = fields
        self.handlers: dict[type[ast.AST], Callable[[Any], _Node]] = {
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.UnaryOp: self._unaryop,
            ast.BinOp: self._binop,
            ast.BoolOp: self._boolop,
            ast.IfExp: self._ifexp,
            ast.Compare: self._compare,
            ast.Call: self._call,
        }

    def where(self, node: ast.AST) -> str:
        line = getattr(node, "lineno", None)
        offset = getattr(node, "col_offset", None)
        if line is None or offset is None:
            return ""
        source = self.text.splitlines()[line - 1] if self.text else ""
        column = len(source.encode()[:offset].decode(errors="replace")) + 1
        return f" at line {line}, column {column}" if line > 1 else f" at column {column}"

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message + self.where(node))

    def compile(self, node: ast.AST) -> _Node:
        handler = self.handlers.get(type(node))
        if handler is not None:
            return handler(node)
        what = _REFUSED.get(type(node), type(node).__name__)
        if isinstance(node, ast.Tuple | ast.List):
            what = "a list (other than after in / not in)"
        raise self.fail(f"{what} is not allowed", node)

    def _constant(self, node: ast.Constant) -> _Node:
        value = node.value
        text = self.segment(node)
        if isinstance(value, bool | str):
            return _constant(value, text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
            if not number.is_finite():
                raise self.fail(f"{text} is too large", node)
            return _constant(number, text)
        raise self.fail(f"the constant {text} is not allowed", node)

    def _name(self, node: ast.Name) -> _Node:
        folded = node.id.casefold()
        if folded in ("true", "false"):
            return _constant(folded == "true", node.id)
        spec = self.fields.get(folded)
        if spec is None:
            raise self.fail(f"unknown field {node.id!r}", node)
        return self.field(spec, node.id)

    def field(self, spec: FieldSpec, text: str) -> _Node:
        key, label = spec.name.casefold(), spec.name
        kind, convert = kind_of(spec.data_type), reader(spec.data_type)

        def run(values: Values, now: datetime, tz: ZoneInfo) -> Result:
            value = values.get(key)
            if value is None:
                return None
            try:
                return convert(value)
            except ValueError as exc:
                raise EvaluationError(f"{label}: {exc}") from None

        return _Node(run, kind, text)

    def _unaryop(self, node: ast.UnaryOp) -> _Node:
        operand = self.compile(node.operand)
        text = self.segment(node)
        if isinstance(node.op, ast.Not):
            self.expect(operand, Kind.BOOL, "not", node)
            get = _present(operand)
            return _Node(lambda v, n, z: not get(v, n, z), Kind.BOOL, text)
        if isinstance(node.op, ast.Invert):
            raise self.fail("~ is not allowed", node)
        self.expect(
            operand, Kind.NUMBER, "unary " + ("-" if isinstance(node.op, ast.USub) else "+"), node
        )
        apply = _CTX.minus if isinstance(node.op, ast.USub) else _CTX.plus
        if isinstance(operand.constant, Decimal):
            return _constant(apply(operand.constant), text)
        get = _present(operand)
        return _Node(lambda v, n, z: apply(get(v, n, z)), Kind.NUMBER, text)

    def _binop(self, node: ast.BinOp) -> _Node:
        entry = _ARITHMETIC.get(type(node.op))
        if entry is None:
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"{symbol} is not allowed", node)
        symbol, apply = entry
        left, right = self.compile(node.left), self.compile(node.right)
        text = self.segment(node)
        if symbol == "+" and left.kind is right.kind is Kind.TEXT:
            kind = Kind.TEXT
            apply = _join
        elif left.kind is right.kind is Kind.NUMBER:
            kind = Kind.NUMBER
        else:
            needs = "two numbers or two texts" if symbol == "+" else "two numbers"
            raise self.fail(
                f"{symbol} needs {needs}, not {left.kind.value} and {right.kind.value}", node
            )
        get_left, get_right = _present(left), _present(right)
        if symbol in ("/", "%"):
            if right.is_constant and not right.constant:
                raise self.fail("division by zero", node)
            zero = f"division by zero ({right.text} is 0)"

            def divide(values: Values, now: datetime, tz: ZoneInfo) -> Result:
                a, b = get_left(values, now, tz), get_right(values, now, tz)
                if not b:
                    raise EvaluationError(zero)
                result: Decimal = apply(a, b)
                return result

            return _Node(divide, kind, text)
        return _Node(lambda v, n, z: apply(get_left(v, n, z), get_right(v, n, z)), kind, text)

    def _boolop(self, node: ast.BoolOp) -> _Node:
        word = "and" if isinstance(node.op, ast.And) else "or"
        parts = [self.compile(value) for value in node.values]
        for part in parts:
            self.expect(part, Kind.BOOL, word, node)
        getters = tuple(_present(part) for part in parts)
        if word == "and":

            def run(values: Values, now: datetime, tz: ZoneInfo) -> Result:
                return all(get(values, now, tz) for get in getters)

        else:

            def run(values: Values, now: datetime, tz: ZoneInfo) -> Result:
                return any(get(values, now, tz) for get in getters)

        return _Node(run, Kind.BOOL, self.segment(node))

    def _ifexp(self, node: ast.IfExp) -> _Node:
        test, body, orelse = (self.compile(n) for n in (node.test, node.body, node.orelse))
        self.expect(test, Kind.BOOL, "if", node)
        if body.kind is not orelse.kind:
            raise self.fail(
                f"both sides of if/else must be of one kind, not "
                f"{body.kind.value} and {orelse.kind.value}",
                node,
            )
        get_test, run_body, run_else = _present(test), body.run, orelse.run
        return _Node(
            lambda v, n, z: run_body(v, n, z) if get_test(v, n, z) else run_else(v, n, z),
            body.kind,
            self.segment(node),
        )

    def _compare(self, node: ast.Compare) -> _Node:
        text = self.segment(node)
        left = self.compile(node.left)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            return self.membership(left, node.ops[0], node.comparators[0], text, node)
        operands = [left]
        tests: list[Callable[[Any, Any], bool]] = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                raise self.fail("in / not in cannot be chained with other comparisons", node)
            if isinstance(op, ast.Is | ast.IsNot):
                symbol = _OPERATOR_SYMBOLS[type(op)]
                raise self.fail(f"'{symbol}' is not allowed; use == or !=", node)
            right = self.compile(comparator)
            tests.append(self.comparison(op, operands[-1], right, node))
            operands.append(right)
        runs = tuple(operand.run for operand in operands)
        first, rest = runs[0], tuple(zip(tests, runs[1:], strict=True))

        def run(values: Values, now: datetime, tz: ZoneInfo) -> Result:
            a = first(values, now, tz)
            for test, get in rest:
                b = get(values, now, tz)
                if not test(a, b):
                    return False
                a = b
            return True

        return _Node(run, Kind.BOOL, text)

    def comparison(
        self, op: ast.cmpop, left: _Node, right: _Node, node: ast.AST
    ) -> Callable[[Any, Any], bool]:
        if left.kind is not right.kind:
            hint = "; number() converts text" if Kind.TEXT in (left.kind, right.kind) else ""
            raise self.fail(f"cannot compare {left.kind.value} with {right.kind.value}{hint}", node)
        fold = left.kind is Kind.TEXT
        if isinstance(op, _EQUALITY):
            negate = isinstance(op, ast.NotEq)

            def equal(a: Any, b: Any) -> bool:
                if a is None or b is None:
                    same = a is b
                else:
                    same = a.casefold() == b.casefold() if fold else a == b
                return same is not negate

            return equal
        symbol, order = _ORDERING[type(op)]
        if left.kind is Kind.BOOL:
            raise self.fail(f"{symbol} needs numbers or texts, not true/false", node)
        missing_left, missing_right = f"{left.text} missing", f"{right.text} missing"

        def ordered(a: Any, b: Any) -> bool:
            if a is None:
                raise EvaluationError(missing_left)
            if b is None:
                raise EvaluationError(missing_right)
            return order(a.casefold(), b.casefold()) if fold else order(a, b)

        return ordered

    def membership(
        self, left: _Node, op: ast.cmpop, options: ast.expr, text: str, node: ast.AST
    ) -> _Node:
        if not isinstance(options, ast.Tuple | ast.List):
            raise self.fail("in / not in needs a list of values such as ('NV', 'AZ')", options)
        items = [self.compile(item) for item in options.elts]
        for item in items:
            if not item.is_constant:
                raise self.fail(f"the list may hold only literal values, not {item.text}", options)
            if item.kind is not left.kind:
                raise self.fail(
                    f"cannot look for {left.kind.value} among {item.kind.value} values", options
                )
        fold = left.kind is Kind.TEXT
        members = frozenset(
            item.constant.casefold() if isinstance(item.constant, str) else item.constant
            for item in items
        )
        inside, run = isinstance(op, ast.In), left.run

        def member(values: Values, now: datetime, tz: ZoneInfo) -> Result:
            value = run(values, now, tz)
            if value is None:
                return not inside
            key = value.casefold() if fold and isinstance(value, str) else value
            return (key in members) is inside

        return _Node(member, Kind.BOOL, text)

    def _call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.fail("attribute access (.) is not allowed", node.func)
            raise self.fail("only functions called by name are allowed", node)
        function = FUNCTIONS.get(node.func.id.casefold())
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"unknown function {node.func.id!r} (known: {known})", node)
        if node.keywords:
            raise self.fail("keyword arguments are not allowed", node)
        arguments = [self.compile(argument) for argument in node.args]
        return self.call(function, arguments, self.segment(node), self.where(node))

    def call(self, function: Function, arguments: list[_Node], text: str, where: str) -> _Node:
        name = function.name
        if not function.accepts(len(arguments)):
            raise ExpressionError(f"{name}() takes {function.arity()}, got {len(arguments)}{where}")
        getters = []
        for index, argument in enumerate(arguments):
            wanted = function.params[min(index, len(function.params) - 1)]
            if wanted is not None and argument.kind is not wanted:
                raise ExpressionError(
                    f"{name}() argument {index + 1} must be a {wanted.value}, "
                    f"not {argument.kind.value}{where}"
                )
            get = _present(argument)
            if wanted is None and argument.kind is not Kind.TEXT:
                get = _as_text_run(get)
            getters.append(get)
        impl = function.impl
        if name == "matches" and arguments[1].is_constant:
            impl = self.pattern(str(arguments[1].constant), where)
        if name in ("round", "left", "right") and len(arguments) > 1 and arguments[1].is_constant:
            low, high = (-MAX_ROUND_PLACES, MAX_ROUND_PLACES) if name == "round" else (0, MAX_COUNT)
            try:
                _whole(
                    Decimal(str(arguments[1].constant)), low, high, f"{name}()'s second argument"
                )
            except EvaluationError as exc:
                raise ExpressionError(f"{exc}{where}") from None
        return _Node(_call_run(impl, tuple(getters), text), function.result, text)

    def pattern(self, pattern: str, where: str) -> Impl:
        if len(pattern) > MAX_PATTERN:
            raise ExpressionError(
                f"the pattern for matches() is longer than {MAX_PATTERN} characters{where}"
            )
        try:
            search = re.compile(pattern).search
        except re.error as exc:
            raise ExpressionError(f"bad regular expression for matches(){where}: {exc}") from None
        return lambda a, n, z: search(a[0]) is not None

    def expect(self, operand: _Node, kind: Kind, word: str, node: ast.AST) -> None:
        if operand.kind is not kind:
            raise self.fail(
                f"{word} needs {kind.value}, not {operand.kind.value} ({operand.text})", node
            )


def _join(a: str, b: str) -> str:
    return a + b


def _as_text_value(value: Value) -> str:
    return value if isinstance(value, str) else str(value)


def _as_text_run(
    get: Callable[[Values, datetime, ZoneInfo], Any],
) -> Callable[[Values, datetime, ZoneInfo], Any]:
    return lambda v, n, z: _text(get(v, n, z))


def _call_run(
    impl: Impl, getters: tuple[Callable[[Values, datetime, ZoneInfo], Any], ...], text: str
) -> Program:
    def run(values: Values, now: datetime, tz: ZoneInfo) -> Result:
        arguments = [get(values, now, tz) for get in getters]
        try:
            return impl(arguments, now, tz)
        except EvaluationError as exc:
            raise EvaluationError(f"{text}: {exc}") from None

    return run
