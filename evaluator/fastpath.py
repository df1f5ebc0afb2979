"""numpy fast path: pure-arithmetic SIMPLE evalscripts evaluated as whole-array expressions.

:func:`translate` turns ``evaluatePixel`` into a tree of numpy closures when every construct in it
has an exact numpy equivalent under JavaScript semantics (all arithmetic in float64 like JS numbers;
``Math.round`` half-up; ``||``/``&&`` returning operand values; bitwise ops on int32; ``1 ** Infinity``
is NaN ...); anything else, or anything it cannot prove harmless, returns None and the script runs
in V8. Supported: ``const``/``let`` locals assigned once, ``if (...) return ...`` chains, ternaries,
arithmetic, comparisons, ``!``/``&&``/``||`` on booleans, bitwise ops, ``Math.*``, ``index()``,
``CONST_ARRAY.includes(x)`` on top-level ``const`` number arrays, top-level ``const`` numbers, and
array / number / ``{outputId: [...]}`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from tree_sitter import Node

from .jsast import (
    FUNCTION_TYPES,
    assigned_names,
    children,
    declarations,
    function_params,
    is_async,
    parse_program,
    text,
    top_level_functions,
    walk,
)

Value = np.ndarray | float
Env = dict[int, Value]
Compiled = Callable[["_Chunk"], Value]
NUM = "num"
BOOL = "bool"
HOOK = "evaluatePixel"
CHUNK_PIXELS = 1 << 16
TWO_32 = 2.0 ** 32
TWO_31 = 2.0 ** 31

MATH_CONSTANTS = {"PI": math.pi, "E": math.e, "LN2": math.log(2), "LN10": math.log(10),
                  "LOG2E": 1 / math.log(2), "LOG10E": 1 / math.log(10), "SQRT2": math.sqrt(2),
                  "SQRT1_2": math.sqrt(0.5)}
GLOBAL_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf}


def _js_round(x: Value) -> Value:
    floor = np.floor(x)
    rounded = np.where(x - floor >= 0.5, floor + 1.0, floor)
    return np.where(rounded == 0, np.copysign(0.0, x), rounded)  # JS: Math.round(-0.4) is -0


def _js_sign(x: Value) -> Value:
    return np.where(x == 0, x, np.sign(x))  # JS: Math.sign(-0) is -0


def _js_pow(base: Value, exponent: Value) -> Value:
    # JS: (+-1) ** (+-Infinity) and 1 ** NaN are NaN, numpy says 1.
    result = np.power(base, exponent)
    return np.where(((np.abs(base) == 1.0) & np.isinf(exponent)) | np.isnan(exponent), np.nan, result)


def _signed_zeros(picked: Value, a: Value, b: Value, zero_of_pair: Callable[[Value, Value], Value]) -> Value:
    """JS Math.max/min on signed zeros: where both operands are zero use ``zero_of_pair`` (numpy's
    maximum/minimum keep the first operand on such ties). Zeros are rare, so test for them first."""
    zero = np.equal(picked, 0)
    if not np.any(zero):
        return picked
    return np.where(zero & np.equal(a, 0) & np.equal(b, 0), zero_of_pair(a, b), picked)


def _js_min(*values: Value) -> Value:
    result: Value = math.inf
    for value in values:
        # Math.min(0, -0) is -0: the negated sum of the negated zeros
        result = _signed_zeros(np.minimum(result, value), result, value,
                               lambda a, b: -(np.negative(a) + np.negative(b)))
    return result


def _js_max(*values: Value) -> Value:
    result: Value = -math.inf
    for value in values:
        # Math.max(-0, 0) is 0: the sum of two zeros is -0 only when both are -0
        result = _signed_zeros(np.maximum(result, value), result, value, np.add)
    return result


def _js_hypot(*values: Value) -> Value:
    squares: Value = 0.0
    for value in values:
        squares = squares + np.square(value)
    result = np.sqrt(squares)
    any_inf = np.zeros_like(result, dtype=bool)
    for value in values:
        any_inf = any_inf | np.isinf(value)
    return np.where(any_inf, math.inf, result)


MATH_FUNCTIONS: dict[str, tuple[int | None, Callable[..., Value]]] = {
    "abs": (1, np.abs), "sqrt": (1, np.sqrt), "cbrt": (1, np.cbrt), "exp": (1, np.exp), "expm1": (1, np.expm1),
    "log": (1, np.log), "log1p": (1, np.log1p), "log2": (1, np.log2), "log10": (1, np.log10),
    "sin": (1, np.sin), "cos": (1, np.cos), "tan": (1, np.tan), "asin": (1, np.arcsin), "acos": (1, np.arccos),
    "atan": (1, np.arctan), "sinh": (1, np.sinh), "cosh": (1, np.cosh), "tanh": (1, np.tanh),
    "asinh": (1, np.arcsinh), "acosh": (1, np.arccosh), "atanh": (1, np.arctanh),
    "floor": (1, np.floor), "ceil": (1, np.ceil), "trunc": (1, np.trunc), "sign": (1, _js_sign),
    "round": (1, _js_round), "fround": (1, lambda x: np.float64(np.float32(x)) if np.isscalar(x)
                                           else np.asarray(x, np.float32).astype(np.float64)),
    "atan2": (2, np.arctan2), "pow": (2, _js_pow),
    "min": (None, _js_min), "max": (None, _js_max), "hypot": (None, _js_hypot),
}


def _to_int32(x: Value) -> np.ndarray:
    finite = np.where(np.isfinite(x), x, 0.0)
    wrapped = np.mod(np.trunc(finite), TWO_32)  # in [0, 2^32)
    return np.where(wrapped >= TWO_31, wrapped - TWO_32, wrapped).astype(np.int64)


def _to_uint32(x: Value) -> np.ndarray:
    finite = np.where(np.isfinite(x), x, 0.0)
    return np.mod(np.trunc(finite), TWO_32).astype(np.int64)


def _wrap_int32(values: np.ndarray) -> np.ndarray:
    return ((values + (1 << 31)) % (1 << 32)) - (1 << 31)


BITWISE: dict[str, Callable[[Value, Value], Value]] = {
    "&": lambda a, b: (_to_int32(a) & _to_int32(b)).astype(np.float64),
    "|": lambda a, b: (_to_int32(a) | _to_int32(b)).astype(np.float64),
    "^": lambda a, b: (_to_int32(a) ^ _to_int32(b)).astype(np.float64),
    "<<": lambda a, b: _wrap_int32(_to_int32(a) << (_to_uint32(b) & 31)).astype(np.float64),
    ">>": lambda a, b: (_to_int32(a) >> (_to_uint32(b) & 31)).astype(np.float64),
    ">>>": lambda a, b: (_to_uint32(a) >> (_to_uint32(b) & 31)).astype(np.float64),
}
ARITHMETIC: dict[str, Callable[[Value, Value], Value]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "%": np.fmod, "**": _js_pow,
}
COMPARISONS: dict[str, Callable[[Value, Value], Value]] = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "===": np.equal, "!=": np.not_equal, "!==": np.not_equal,
}


# Names through which a script could replace builtins or helpers the translation relies on.
REFLECTIVE_GLOBALS = frozenset({"globalThis", "window", "self", "global", "Reflect", "Object", "eval", "Function",
                                "Array", "Proxy"})
WRITE_TYPES = frozenset({"assignment_expression", "augmented_assignment_expression", "update_expression",
                         "unary_expression"})


class _Untranslatable(Exception):
    """The construct has no proven numpy equivalent: run the script in V8."""


@dataclass
class _Chunk:
    """The values of one chunk of pixels while it is evaluated (locals are computed once)."""

    bands: Mapping[str, np.ndarray]
    memo: Env


@dataclass(frozen=True)
class _Expr:
    kind: str        # NUM or BOOL
    run: Compiled


def _as_number(expr: _Expr) -> _Expr:
    if expr.kind == NUM:
        return expr
    run = expr.run
    return _Expr(NUM, lambda c: np.asarray(run(c), dtype=np.float64))


def _truthy(expr: _Expr) -> Compiled:
    run = expr.run
    if expr.kind == BOOL:
        return run

    def truthy(chunk: _Chunk) -> Value:
        value = run(chunk)
        return np.logical_and(value != 0, ~np.isnan(value))

    return truthy


Returned = dict[str, list[_Expr]]
Returned_values = dict[str, list[Value]]


@dataclass(frozen=True)
class FastPath:
    """A translated evaluatePixel: :meth:`chunks` maps band arrays to raw float64 output values."""

    returns: Returned
    bands: tuple[str, ...]

    def chunks(self, bands: Mapping[str, np.ndarray], count: int) -> Iterator[tuple[int, int, Returned_values]]:
        """Per chunk of pixels: (start, stop, {output id: [float64 array or scalar per band]}).

        Call it inside ``np.errstate(all="ignore")``: JS arithmetic raises nothing.
        """
        for start in range(0, count, CHUNK_PIXELS):
            stop = min(count, start + CHUNK_PIXELS)
            chunk = _Chunk({name: np.asarray(values[start:stop], dtype=np.float64)
                            for name, values in bands.items() if name in self.bands}, {})
            yield start, stop, {out_id: [expr.run(chunk) for expr in exprs] for out_id, exprs in self.returns.items()}


class _Translator:
    """evaluatePixel(sample) -> numpy closures, or _Untranslatable."""

    def __init__(self, root: Node, function: Node, bands: set[str], outputs: Mapping[str, int]) -> None:
        self.root = root
        self.function = function
        self.bands = bands
        self.outputs = dict(outputs)
        self.constants = self._top_level_constants()
        self.locals: dict[str, _Expr] = {}
        self.used_bands: set[str] = set()
        self._bound_names: set[str] | None = None
        params = function_params(function)
        if not params or params[0].type != "identifier" or is_async(function):
            raise _Untranslatable("evaluatePixel(sample) expected")
        self.sample = text(params[0])
        for param in params[1:]:
            if param.type != "identifier":
                raise _Untranslatable("parameter pattern")
        others = {text(p) for p in params[1:]}
        body = function.child_by_field_name("body")
        assert body is not None
        if any(n.type == "identifier" and text(n) in others | {"arguments", "this"} for n in walk(body)):
            raise _Untranslatable("uses scenes, metadata or arguments")
        self.reassigned = assigned_names(function)
        self.declared_here = set().union(*declarations(function).values())

    def _top_level_constants(self) -> dict[str, float | tuple[float, ...]]:
        """Top-level ``const`` numbers, and number arrays only ever used as ``NAME.includes(x)``."""
        found: dict[str, float | tuple[float, ...]] = {}
        declared: dict[str, int] = {}
        for statement in children(self.root):
            if statement.type in ("lexical_declaration", "variable_declaration"):
                for declarator in children(statement):
                    name = declarator.child_by_field_name("name")
                    if name is None or name.type != "identifier":
                        continue
                    declared[text(name)] = declared.get(text(name), 0) + 1
                    value = declarator.child_by_field_name("value")
                    if text(statement).startswith("const") and value is not None:
                        literal = _number_literal(value)
                        if literal is not None:
                            found[text(name)] = literal
                        elif value.type == "array":
                            items = [_number_literal(item) for item in children(value)]
                            if items and all(item is not None and not math.isnan(item) for item in items):
                                found[text(name)] = tuple(items)  # type: ignore[arg-type]
            elif statement.type in ("function_declaration", "class_declaration"):
                name = statement.child_by_field_name("name")
                if name is not None:
                    declared[text(name)] = declared.get(text(name), 0) + 1
        for name, value in list(found.items()):
            if declared.get(name) != 1 or (isinstance(value, tuple) and not self._only_includes(name)):
                del found[name]
        self.top_level_names = set(declared)
        return found

    def _only_includes(self, name: str) -> bool:
        for node in walk(self.root):
            if node.type != "identifier" or text(node) != name:
                continue
            parent = node.parent
            if (parent is not None and parent.type == "variable_declarator"
                    and parent.child_by_field_name("name") == node):
                continue
            prop = parent.child_by_field_name("property") if parent is not None else None
            if (parent is None or parent.type != "member_expression" or prop is None or text(prop) != "includes"
                    or parent.parent is None or parent.parent.type != "call_expression"):
                return False
        return True

    # ---- statements ---------------------------------------------------------------------------

    def translate(self) -> Returned:
        body = self.function.child_by_field_name("body")
        assert body is not None
        if body.type != "statement_block":
            return self._returned(body)
        returned = self._block(children(body))
        if returned is None:
            raise _Untranslatable("evaluatePixel can end without returning")
        return returned

    def _block(self, statements: list[Node]) -> Returned | None:
        """The value the statement list returns on every path, or None if it can fall through."""
        saved = dict(self.locals)
        try:
            for k, statement in enumerate(statements):
                stype = statement.type
                if stype in ("lexical_declaration", "variable_declaration"):
                    self._declare(statement)
                elif stype == "return_statement":
                    values = children(statement)
                    if not values:
                        raise _Untranslatable("bare return")
                    return self._returned(values[0])
                elif stype == "if_statement":
                    return self._if(statement, statements[k + 1:])
                elif stype == "statement_block":
                    inner = self._block(children(statement))
                    if inner is not None:
                        return inner
                elif stype != "empty_statement":
                    raise _Untranslatable(f"statement {stype}")
            return None
        finally:
            self.locals = saved

    def _declare(self, statement: Node) -> None:
        for declarator in children(statement):
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if name is None or name.type != "identifier" or value is None:
                raise _Untranslatable("declaration form")
            if text(name) in self.reassigned or text(name) == self.sample:
                raise _Untranslatable("reassigned local")
            self.locals[text(name)] = _memoized(self._expr(value))

    def _if(self, statement: Node, rest: list[Node]) -> Returned | None:
        """Both ways through an if statement, each followed by the statements after it."""
        condition = statement.child_by_field_name("condition")
        consequence = statement.child_by_field_name("consequence")
        alternative = statement.child_by_field_name("alternative")
        assert condition is not None and consequence is not None
        test = _truthy(self._expr(condition))
        then = self._branch(consequence, rest)
        otherwise = self._branch(children(alternative)[0], rest) if alternative is not None else self._block(rest)
        if then is None or otherwise is None:
            return None
        return _select(test, then, otherwise)

    def _branch(self, node: Node, rest: list[Node]) -> Returned | None:
        statements = children(node) if node.type == "statement_block" else [node]
        returned = self._block(statements)
        if returned is not None:
            return returned
        if any(s.type in ("lexical_declaration", "variable_declaration") for s in statements):
            raise _Untranslatable("a branch that declares names and falls through")
        return self._block(statements + rest)

    def _returned(self, node: Node) -> Returned:
        """The output values of a returned expression, keyed by output id."""
        while node.type == "parenthesized_expression":
            node = children(node)[0]
        if node.type == "object":
            values: Returned = {}
            for pair in children(node):
                if pair.type != "pair":
                    raise _Untranslatable("object member")
                key = pair.child_by_field_name("key")
                value = pair.child_by_field_name("value")
                assert key is not None and value is not None
                key_text = text(key).strip("\"'") if key.type in ("property_identifier", "string") else None
                if key_text is None:
                    raise _Untranslatable("computed key")
                band_values = self._band_values(value)
                if key_text in self.outputs:
                    values[key_text] = band_values
            if set(values) != set(self.outputs):
                raise _Untranslatable("an output is missing from the returned object")
        elif len(self.outputs) == 1:
            values = {next(iter(self.outputs)): self._band_values(node)}
        else:
            raise _Untranslatable("bare return with several outputs")
        for out_id, band_values in values.items():
            if len(band_values) != self.outputs[out_id]:
                raise _Untranslatable("band count differs from the output's")
        return values

    def _band_values(self, node: Node) -> list[_Expr]:
        while node.type == "parenthesized_expression":
            node = children(node)[0]
        if node.type == "array":
            items = children(node)
            if any(item.type == "spread_element" for item in items):
                raise _Untranslatable("spread in returned array")
            return [_as_number(self._expr(item)) for item in items]
        return [_as_number(self._expr(node))]

    # ---- expressions --------------------------------------------------------------------------

    def _expr(self, node: Node) -> _Expr:
        ntype = node.type
        literal = _number_literal(node)
        if literal is not None:
            return _Expr(NUM, lambda c, v=literal: v)
        if ntype in ("true", "false"):
            return _Expr(BOOL, lambda c, v=(ntype == "true"): np.bool_(v))
        if ntype == "parenthesized_expression":
            inner = children(node)
            if len(inner) != 1:
                raise _Untranslatable("sequence")
            return self._expr(inner[0])
        if ntype == "identifier":
            return self._identifier(node)
        if ntype in ("member_expression", "subscript_expression"):
            return self._member(node)
        if ntype == "unary_expression":
            return self._unary(node)
        if ntype == "binary_expression":
            return self._binary(node)
        if ntype == "ternary_expression":
            test = _truthy(self._expr(node.child_by_field_name("condition")))  # type: ignore[arg-type]
            yes = self._expr(node.child_by_field_name("consequence"))  # type: ignore[arg-type]
            no = self._expr(node.child_by_field_name("alternative"))  # type: ignore[arg-type]
            if yes.kind != no.kind:
                raise _Untranslatable("ternary of mixed types")
            return _Expr(yes.kind, lambda c: np.where(test(c), yes.run(c), no.run(c)))
        if ntype == "call_expression":
            return self._call(node)
        raise _Untranslatable(f"expression {ntype}")

    def _identifier(self, node: Node) -> _Expr:
        name = text(node)
        if name == self.sample:
            raise _Untranslatable("the sample object itself")
        if name in self.locals:
            return self.locals[name]
        if name in self.declared_here:
            raise _Untranslatable(f"{name} read outside its declaration's reach")
        if name in self.constants and isinstance(self.constants[name], float):
            value = self.constants[name]
            return _Expr(NUM, lambda c: value)
        if name in GLOBAL_CONSTANTS and name not in self.top_level_names:
            value = GLOBAL_CONSTANTS[name]
            return _Expr(NUM, lambda c: value)
        raise _Untranslatable(f"identifier {name}")

    def _member(self, node: Node) -> _Expr:
        target = node.child_by_field_name("object")
        assert target is not None
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            name = text(prop) if prop is not None else ""
            if any(child.type == "optional_chain" for child in node.children):
                raise _Untranslatable("optional chain")
        else:
            index = node.child_by_field_name("index")
            if index is None or index.type != "string":
                raise _Untranslatable("computed member")
            name = text(index)[1:-1]
        if target.type == "identifier" and text(target) == self.sample and self.sample not in self.reassigned:
            if name not in self.bands:
                raise _Untranslatable(f"sample.{name} is not an input band")
            self.used_bands.add(name)
            return _Expr(NUM, lambda c: c.bands[name])
        if target.type == "identifier" and text(target) == "Math" and self._global("Math") \
                and name in MATH_CONSTANTS:
            value = MATH_CONSTANTS[name]
            return _Expr(NUM, lambda c: value)
        raise _Untranslatable(f"member {text(node)}")

    def _global(self, name: str) -> bool:
        """True when the script never declares or assigns ``name`` (so the builtin or helper is ours)."""
        if self._bound_names is None:
            self._bound_names = set(assigned_names(self.root)) | self.top_level_names | {
                text(n) for n in walk(self.root) if n.type == "identifier" and n.parent is not None
                and n.parent.type in ("variable_declarator", "formal_parameters", "function_declaration",
                                      "class_declaration", "catch_clause", "arrow_function")}
        return name not in self._bound_names

    def _unary(self, node: Node) -> _Expr:
        operator = text(node.child_by_field_name("operator"))  # type: ignore[arg-type]
        operand = self._expr(node.child_by_field_name("argument"))  # type: ignore[arg-type]
        if operator == "!":
            test = _truthy(operand)
            return _Expr(BOOL, lambda c: np.logical_not(test(c)))
        number = _as_number(operand)
        if operator == "-":
            return _Expr(NUM, lambda c: np.negative(number.run(c)))
        if operator == "+":
            return number
        if operator == "~":
            return _Expr(NUM, lambda c: np.invert(_to_int32(number.run(c))).astype(np.float64))
        raise _Untranslatable(f"unary {operator}")

    def _binary(self, node: Node) -> _Expr:
        operator = text(node.child_by_field_name("operator"))  # type: ignore[arg-type]
        left = self._expr(node.child_by_field_name("left"))  # type: ignore[arg-type]
        right = self._expr(node.child_by_field_name("right"))  # type: ignore[arg-type]
        if operator in ARITHMETIC or operator in BITWISE:
            fn = ARITHMETIC.get(operator) or BITWISE[operator]
            a, b = _as_number(left), _as_number(right)
            return _Expr(NUM, lambda c: fn(a.run(c), b.run(c)))
        if operator in COMPARISONS:
            compare = COMPARISONS[operator]
            if left.kind != right.kind and operator in ("===", "!=="):
                # a boolean is never strictly equal to a number
                never = operator == "!=="
                return _Expr(BOOL, lambda c: np.bool_(never))
            if left.kind != right.kind or operator not in ("==", "===", "!=", "!=="):
                left, right = _as_number(left), _as_number(right)  # JS compares them as numbers
            a, b = left, right
            return _Expr(BOOL, lambda c: compare(a.run(c), b.run(c)))
        if operator in ("&&", "||"):
            if left.kind != right.kind:
                raise _Untranslatable("&& / || of mixed types")
            test = _truthy(left)
            if operator == "&&":
                return _Expr(left.kind, lambda c: np.where(test(c), right.run(c), left.run(c)))
            return _Expr(left.kind, lambda c: np.where(test(c), left.run(c), right.run(c)))
        if operator == "??":
            return left  # numbers and booleans are never null or undefined
        raise _Untranslatable(f"operator {operator}")

    def _call(self, node: Node) -> _Expr:
        callee = node.child_by_field_name("function")
        args_node = node.child_by_field_name("arguments")
        assert callee is not None and args_node is not None
        if args_node.type != "arguments" or any(a.type == "spread_element" for a in children(args_node)):
            raise _Untranslatable("call form")
        args = [self._expr(a) for a in children(args_node)]
        if callee.type == "identifier" and text(callee) == "index" and self._global("index"):
            if len(args) < 2:
                raise _Untranslatable("index() arity")
            x, y = _as_number(args[0]), _as_number(args[1])
            return _Expr(NUM, lambda c: _index(x.run(c), y.run(c)))
        if callee.type != "member_expression":
            raise _Untranslatable(f"call of {text(callee)}")
        target = callee.child_by_field_name("object")
        prop = callee.child_by_field_name("property")
        assert target is not None and prop is not None
        method = text(prop)
        if target.type == "identifier" and text(target) == "Math" and self._global("Math") and method in MATH_FUNCTIONS:
            arity, fn = MATH_FUNCTIONS[method]
            numbers = [_as_number(a) for a in args]
            if arity is not None and len(numbers) < arity:
                raise _Untranslatable(f"Math.{method} arity")
            used = numbers if arity is None else numbers[:arity]
            return _Expr(NUM, lambda c: np.asarray(fn(*(a.run(c) for a in used)), dtype=np.float64))
        if (target.type == "identifier" and method == "includes"
                and isinstance(self.constants.get(text(target)), tuple) and len(args) == 1 and args[0].kind == NUM):
            members = np.array(self.constants[text(target)], dtype=np.float64)
            value = args[0]
            return _Expr(BOOL, lambda c: np.isin(value.run(c), members))
        raise _Untranslatable(f"call of {text(callee)}")


def _index(x: Value, y: Value) -> Value:
    total = np.add(x, y)
    ratio = np.subtract(x, y)
    if not isinstance(ratio, np.ndarray) or ratio.ndim == 0:
        return np.where(total == 0, 0.0, ratio / total)
    np.divide(ratio, total, out=ratio)  # in place: one temporary less per call
    zero = total == 0
    if zero.any():  # rare; a masked copy costs as much as the division
        ratio[zero] = 0.0
    return ratio


def _memoized(expr: _Expr) -> _Expr:
    key = id(expr)
    run = expr.run

    def cached(chunk: _Chunk) -> Value:
        if key not in chunk.memo:
            chunk.memo[key] = run(chunk)
        return chunk.memo[key]

    return _Expr(expr.kind, cached)


def _select(test: Compiled, then: Returned, otherwise: Returned) -> Returned:
    merged: Returned = {}
    for out_id, values in then.items():
        other = otherwise[out_id]
        merged[out_id] = [_Expr(NUM, lambda c, a=a, b=b: np.where(test(c), a.run(c), b.run(c)))
                          for a, b in zip(values, other, strict=True)]
    return merged


def _number_literal(node: Node) -> float | None:
    if node.type == "number":
        raw = text(node).replace("_", "")
        try:
            if raw[:2].lower() in ("0x", "0o", "0b"):
                return float(int(raw, 0))
            return float(raw)
        except ValueError:
            return None
    if node.type == "unary_expression":
        operator = node.child_by_field_name("operator")
        argument = node.child_by_field_name("argument")
        if operator is not None and argument is not None and text(operator) in "-+":
            value = _number_literal(argument)
            if value is not None:
                return -value if text(operator) == "-" else value
    return None


def _builtins_untouched(root: Node) -> bool:
    """True when nothing in the script can replace Math functions, helpers or Array.prototype.includes:
    no global object, reflection or eval, no top-level ``this``, and Math only read as ``Math.name``."""
    for node in walk(root):
        if node.type == "identifier" and text(node) in REFLECTIVE_GLOBALS:
            return False
        if node.type == "this" and not any(a.type in FUNCTION_TYPES for a in _ancestors(node)):
            return False
        if node.type == "identifier" and text(node) == "Math":
            parent = node.parent
            if parent is None or parent.type != "member_expression" or parent.child_by_field_name("object") != node:
                return False
            holder = parent.parent
            if holder is not None and holder.type in WRITE_TYPES and holder.children[0] == parent:
                return False
    return True


def _ancestors(node: Node) -> list[Node]:
    found = []
    parent = node.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def hook_function(root: Node | None) -> Node | None:
    """The script's top-level evaluatePixel function node when the script can be translated at all (parsed, no
    built-in redefined), else None."""
    if root is None or not _builtins_untouched(root):
        return None
    function = top_level_functions(root).get(HOOK)
    if function is None or function.type not in ("function_declaration", "function_expression", "arrow_function"):
        return None
    return function


def translate(source: str, bands: list[str], outputs: Mapping[str, int]) -> FastPath | None:
    """The numpy equivalent of the script's evaluatePixel for these outputs (id -> bands), or None."""
    root = parse_program(source)
    function = hook_function(root)
    if function is None:
        return None
    try:
        translator = _Translator(root, function, set(bands), outputs)
        returns = translator.translate()
    except _Untranslatable:
        return None
    return FastPath(returns=returns, bands=tuple(sorted(translator.used_bands)))


__all__ = ["FastPath", "translate"]
