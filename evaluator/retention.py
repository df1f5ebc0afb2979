"""Static proof that an ORBIT/TILE evalscript cannot keep, change or enumerate its sample objects.

When :func:`samples_stay_local` holds, the runtime reuses one sample object per scene for every
pixel (band getters that read the current pixel) instead of allocating T fresh objects per pixel.
That is only invisible to the script if no sample outlives its evaluatePixel call, no sample is
mutated and no sample's own keys are listed. The analysis tracks, through evaluatePixel, every
value that may be a sample (SAMPLE), the samples array (SAMPLES) or anything that may contain
either (OTHER), and refuses (returns False) as soon as such a value reaches a place it could
outlive the call from (an outer variable, an object property, an unknown function, a throw ...).
It is conservative: anything it does not understand counts as an escape.
"""

from __future__ import annotations

from collections.abc import Iterable

from tree_sitter import Node

from .jsast import (
    FUNCTION_TYPES,
    children,
    declarations,
    function_params,
    is_async,
    mentions,
    parse_program,
    text,
    top_level_functions,
    walk,
)

Kind = str | None          # None: holds no sample
SAMPLE = "sample"          # one sample object
SAMPLES = "samples"        # an array whose elements are samples (or plain values)
OTHER = "other"            # anything that may hold samples somewhere

HOOK = "evaluatePixel"
FORBIDDEN_GLOBALS = frozenset({"eval"})
# Reading these on a reused sample would differ from a plain object literal.
SAMPLE_FORBIDDEN_PROPERTIES = frozenset({"constructor", "__proto__"})
MAX_PASSES = 12
MAX_CALL_DEPTH = 8

# samples-array methods: result kind, and the parameter kinds of their callback (first argument).
_CALLBACK_PARAMS = {
    "map": (SAMPLE, None, SAMPLES), "flatMap": (SAMPLE, None, SAMPLES), "forEach": (SAMPLE, None, SAMPLES),
    "filter": (SAMPLE, None, SAMPLES), "some": (SAMPLE, None, SAMPLES), "every": (SAMPLE, None, SAMPLES),
    "find": (SAMPLE, None, SAMPLES), "findLast": (SAMPLE, None, SAMPLES),
    "findIndex": (SAMPLE, None, SAMPLES), "findLastIndex": (SAMPLE, None, SAMPLES),
    "reduce": (OTHER, SAMPLE, None, SAMPLES), "reduceRight": (OTHER, SAMPLE, None, SAMPLES),
    "sort": (SAMPLE, SAMPLE), "toSorted": (SAMPLE, SAMPLE),
}
_ARRAY_RESULTS: dict[str, Kind] = {
    "filter": SAMPLES, "slice": SAMPLES, "concat": SAMPLES, "reverse": SAMPLES, "sort": SAMPLES,
    "toSorted": SAMPLES, "toReversed": SAMPLES, "splice": SAMPLES, "find": SAMPLE, "findLast": SAMPLE,
    "at": SAMPLE, "pop": SAMPLE, "shift": SAMPLE,
    "some": None, "every": None, "findIndex": None, "findLastIndex": None, "forEach": None,
    "includes": None, "indexOf": None, "lastIndexOf": None, "join": None, "push": None, "unshift": None,
}
_LITERAL_TYPES = frozenset({"number", "string", "true", "false", "null", "undefined", "regex", "this",
                            "super", "template_string", "empty_statement", "debugger_statement",
                            "break_statement", "continue_statement", "statement_identifier"})


class _Escapes(Exception):
    """A sample may outlive its call, be mutated or be enumerated."""


def _join(a: Kind, b: Kind) -> Kind:
    if a is None:
        return b
    if b is None or a == b:
        return a
    return OTHER


def _join_all(kinds: Iterable[Kind]) -> Kind:
    result: Kind = None
    for kind in kinds:
        result = _join(result, kind)
    return result


class _Program:
    """Whole-script facts shared by the analyses of evaluatePixel and the functions it calls."""

    def __init__(self, root: Node) -> None:
        self.root = root
        self.functions = top_level_functions(root)
        self.active: list[int] = []
        self.memo: dict[tuple[int, tuple[Kind, ...]], Kind] = {}

    def call(self, function: Node, arg_kinds: tuple[Kind, ...]) -> Kind:
        """Analyse a top-level function called with these argument kinds; its return kind."""
        key = (function.id, arg_kinds)
        if key in self.memo:
            return self.memo[key]
        if function.id in self.active or len(self.active) >= MAX_CALL_DEPTH:
            raise _Escapes("recursion")
        self.active.append(function.id)
        try:
            result = _Function(self, function, arg_kinds).run()
        finally:
            self.active.pop()
        self.memo[key] = result
        return result


class _Function:
    """The flow of sample kinds through one function (and the closures written inside it)."""

    def __init__(self, program: _Program, function: Node, param_kinds: tuple[Kind, ...]) -> None:
        if is_async(function) or function.type.startswith("generator"):
            raise _Escapes("async or generator function")
        self.program = program
        self.function = function
        self.param_kinds = param_kinds
        self.scopes = declarations(function)
        self.kinds: dict[str, Kind] = {}
        self.returns: Kind = None

    # ---- driver -------------------------------------------------------------------------------

    def run(self) -> Kind:
        for _ in range(MAX_PASSES):
            before = dict(self.kinds)
            self.returns = self._body(self.function, self.param_kinds)
            if self.kinds == before:
                return self.returns
        raise _Escapes("no fixed point")

    def _body(self, function: Node, param_kinds: tuple[Kind, ...]) -> Kind:
        """Bind parameters, walk the body; the join of what it returns."""
        if is_async(function) or function.type.startswith("generator"):
            raise _Escapes("async or generator closure")
        for k, param in enumerate(function_params(function)):
            self._bind(param, param_kinds[k] if k < len(param_kinds) else None)
        if any(kind is not None for kind in param_kinds):
            self._set("arguments", OTHER)
        saved, self.returns = self.returns, None
        body = function.child_by_field_name("body")
        if body is not None:
            if body.type == "statement_block":
                self._statement(body)
            else:
                self.returns = _join(self.returns, self._expr(body))
        result, self.returns = self.returns, saved
        return result

    # ---- names --------------------------------------------------------------------------------

    def _is_local(self, node: Node) -> bool:
        name = text(node)
        current: Node | None = node
        while current is not None:
            if name in self.scopes.get(current.id, ()):
                return True
            if current.id == self.function.id:
                return False
            current = current.parent
        return False

    def _set(self, name: str, kind: Kind) -> None:
        if kind is not None:
            self.kinds[name] = _join(self.kinds.get(name), kind)

    def _bind(self, pattern: Node, kind: Kind, declared: bool = True) -> None:
        """Give the names of a binding or assignment pattern the kind of the value they take apart."""
        ptype = pattern.type
        if ptype in ("identifier", "shorthand_property_identifier_pattern"):
            if kind is not None and not declared and not self._is_local(pattern):
                raise _Escapes(f"sample stored in outer variable {text(pattern)}")
            self._set(text(pattern), kind)
        elif ptype == "assignment_pattern":
            default = pattern.child_by_field_name("right")
            left = pattern.child_by_field_name("left")
            extra = self._expr(default) if default is not None else None
            if left is not None:
                self._bind(left, _join(kind, extra), declared)
        elif ptype == "array_pattern":
            for item in children(pattern):
                if item.type == "rest_pattern":
                    self._bind(children(item)[0], SAMPLES if kind == SAMPLES else (kind and OTHER), declared)
                else:
                    self._bind(item, SAMPLE if kind == SAMPLES else (kind and OTHER), declared)
        elif ptype == "object_pattern":
            for item in children(pattern):
                if item.type == "rest_pattern" and kind is not None:
                    raise _Escapes("object rest of a sample")
                if item.type == "pair_pattern":
                    key = item.child_by_field_name("key")
                    if key is not None and key.type == "computed_property_name":
                        self._expr(children(key)[0])
                    value = item.child_by_field_name("value")
                    if value is not None:
                        self._bind(value, None if kind == SAMPLE else (kind and OTHER), declared)
                else:
                    self._bind(item, None if kind == SAMPLE else (kind and OTHER), declared)
        elif ptype in ("member_expression", "subscript_expression"):
            target = self._expr(pattern.child_by_field_name("object"))  # type: ignore[arg-type]
            if ptype == "subscript_expression":
                self._expr(pattern.child_by_field_name("index"))  # type: ignore[arg-type]
            if kind is not None or target is not None:
                raise _Escapes("sample stored in or written to an object property")
        else:
            raise _Escapes(f"unsupported pattern {ptype}")

    # ---- statements ---------------------------------------------------------------------------

    def _statement(self, node: Node) -> None:
        ntype = node.type
        if ntype in _LITERAL_TYPES:
            return
        if ntype in ("lexical_declaration", "variable_declaration"):
            for declarator in children(node):
                name = declarator.child_by_field_name("name")
                value = declarator.child_by_field_name("value")
                kind = self._expr(value) if value is not None else None
                if name is not None:
                    self._bind(name, kind)
        elif ntype == "expression_statement":
            for child in children(node):
                self._expr(child)
        elif ntype == "return_statement":
            values = children(node)
            self.returns = _join(self.returns, self._expr(values[0]) if values else None)
        elif ntype == "throw_statement":
            if self._expr(children(node)[0]) is not None:
                raise _Escapes("sample thrown")
        elif ntype == "for_in_statement":
            self._for_in(node)
        elif ntype in ("function_declaration", "generator_function_declaration"):
            name = node.child_by_field_name("name")
            kind = self._closure(node, ())
            if name is not None:
                self._set(text(name), kind)
        elif ntype in ("statement_block", "if_statement", "else_clause", "for_statement", "while_statement",
                       "do_statement", "labeled_statement", "switch_statement", "switch_body", "switch_case",
                       "switch_default", "try_statement", "catch_clause", "finally_clause",
                       "parenthesized_expression"):
            for child in children(node):
                if child.type in ("statement_block", "expression_statement", "lexical_declaration",
                                  "variable_declaration", "empty_statement") or child.type.endswith(
                        ("_statement", "_clause", "_declaration", "switch_body", "switch_case",
                         "switch_default")):
                    self._statement(child)
                elif child.type in ("identifier", "object_pattern", "array_pattern") and ntype == "catch_clause":
                    self._bind(child, None)
                elif child.type == "statement_identifier":
                    continue
                else:
                    self._expr(child)
        else:
            raise _Escapes(f"unsupported statement {ntype}")

    def _for_in(self, node: Node) -> None:
        right = node.child_by_field_name("right")
        left = node.child_by_field_name("left")
        operator = node.child_by_field_name("operator")
        source = self._expr(right) if right is not None else None
        if operator is not None and text(operator) == "in":
            if source in (SAMPLE, OTHER):
                raise _Escapes("for-in over a sample's keys")
            item: Kind = None
        else:
            item = SAMPLE if source == SAMPLES else (source and OTHER)
        if left is not None:
            self._bind(left, item, declared=node.child_by_field_name("kind") is not None)
        body = node.child_by_field_name("body")
        if body is not None:
            self._statement(body)

    # ---- expressions --------------------------------------------------------------------------

    def _expr(self, node: Node) -> Kind:
        ntype = node.type
        if ntype in _LITERAL_TYPES:
            if ntype == "template_string":
                for child in children(node):
                    if child.type == "template_substitution":
                        self._expr(children(child)[0])
            return None
        if ntype == "identifier":
            return self.kinds.get(text(node)) if (self._is_local(node) or text(node) == "arguments") else None
        if ntype in ("parenthesized_expression", "sequence_expression"):
            kinds = [self._expr(child) for child in children(node)]
            return kinds[-1] if kinds else None
        if ntype == "member_expression":
            return self._member(node)
        if ntype == "subscript_expression":
            target = self._expr(node.child_by_field_name("object"))  # type: ignore[arg-type]
            self._expr(node.child_by_field_name("index"))  # type: ignore[arg-type]
            return SAMPLE if target == SAMPLES else (None if target == SAMPLE else target)
        if ntype == "call_expression":
            return self._call(node)
        if ntype == "new_expression":
            constructor = node.child_by_field_name("constructor")
            args = node.child_by_field_name("arguments")
            kinds = [self._expr(constructor)] if constructor is not None else []
            kinds += [self._expr(a) for a in children(args)] if args is not None else []
            if _join_all(kinds) is not None:
                raise _Escapes("sample passed to a constructor")
            return None
        if ntype in FUNCTION_TYPES:
            return self._closure(node, ())
        if ntype == "assignment_expression":
            value = self._expr(node.child_by_field_name("right"))  # type: ignore[arg-type]
            self._bind(node.child_by_field_name("left"), value, declared=False)  # type: ignore[arg-type]
            return value
        if ntype == "augmented_assignment_expression":
            left = node.child_by_field_name("left")
            value = self._expr(node.child_by_field_name("right"))  # type: ignore[arg-type]
            assert left is not None
            current = self._expr(left)
            if left.type != "identifier" or value is not None:
                self._bind(left, value, declared=False)
            return _join(current, value)
        if ntype == "update_expression":
            argument = node.child_by_field_name("argument")
            assert argument is not None
            if argument.type != "identifier":
                self._bind(argument, None, declared=False)
            return None
        if ntype == "unary_expression":
            argument = node.child_by_field_name("argument")
            operator = node.child_by_field_name("operator")
            assert argument is not None
            if operator is not None and text(operator) == "delete" and argument.type != "identifier":
                self._bind(argument, None, declared=False)
            else:
                self._expr(argument)
            return None
        if ntype == "binary_expression":
            left = self._expr(node.child_by_field_name("left"))  # type: ignore[arg-type]
            right = self._expr(node.child_by_field_name("right"))  # type: ignore[arg-type]
            operator = text(node.child_by_field_name("operator"))  # type: ignore[arg-type]
            return _join(left, right) if operator in ("&&", "||", "??") else None
        if ntype == "ternary_expression":
            self._expr(node.child_by_field_name("condition"))  # type: ignore[arg-type]
            return _join(self._expr(node.child_by_field_name("consequence")),  # type: ignore[arg-type]
                         self._expr(node.child_by_field_name("alternative")))  # type: ignore[arg-type]
        if ntype == "array":
            kinds = [self._expr(child) for child in children(node)]
            return OTHER if _join_all(kinds) is not None else None
        if ntype == "spread_element":
            return self._expr(children(node)[0])
        if ntype == "object":
            return self._object(node)
        raise _Escapes(f"unsupported expression {ntype}")

    def _member(self, node: Node) -> Kind:
        target = self._expr(node.child_by_field_name("object"))  # type: ignore[arg-type]
        prop = text(node.child_by_field_name("property"))  # type: ignore[arg-type]
        if target == SAMPLES:
            return None if prop == "length" else OTHER
        if target == SAMPLE:
            if prop in SAMPLE_FORBIDDEN_PROPERTIES:
                raise _Escapes(f"sample.{prop}")
            return None
        return target

    def _object(self, node: Node) -> Kind:
        kinds: list[Kind] = []
        for item in children(node):
            if item.type == "pair":
                key = item.child_by_field_name("key")
                if key is not None and key.type == "computed_property_name":
                    self._expr(children(key)[0])
                kinds.append(self._expr(item.child_by_field_name("value")))  # type: ignore[arg-type]
            elif item.type == "spread_element":
                spread = self._expr(children(item)[0])
                if spread in (SAMPLE, OTHER):
                    raise _Escapes("object spread of a sample")
                kinds.append(spread)
            elif item.type == "shorthand_property_identifier":
                kinds.append(self.kinds.get(text(item)) if self._is_local(item) else None)
            elif item.type == "method_definition":
                kinds.append(self._closure(item, ()))
            else:
                raise _Escapes(f"unsupported object member {item.type}")
        return OTHER if _join_all(kinds) is not None else None

    def _closure(self, node: Node, param_kinds: tuple[Kind, ...]) -> Kind:
        """Walk a function written inside this one; OTHER when it can see a sample."""
        self._body(node, param_kinds)
        tainted = {name for name, kind in self.kinds.items() if kind is not None}
        sees = any(n.type == "identifier" and text(n) in tainted for n in walk(node))
        return OTHER if sees else None

    def _call(self, node: Node) -> Kind:
        callee = node.child_by_field_name("function")
        args_node = node.child_by_field_name("arguments")
        assert callee is not None and args_node is not None
        args = children(args_node) if args_node.type == "arguments" else [args_node]
        if callee.type == "member_expression":
            target = self._expr(callee.child_by_field_name("object"))  # type: ignore[arg-type]
            method = text(callee.child_by_field_name("property"))  # type: ignore[arg-type]
            if target == SAMPLES:
                return self._array_method(method, args)
            if target is not None:
                raise _Escapes(f"method {method} called on a sample or a value holding samples")
            kinds = [self._expr(a) for a in args]
            if _join_all(kinds) is not None:
                raise _Escapes(f"sample passed to {text(callee)}")
            return None
        if callee.type in FUNCTION_TYPES:
            raise _Escapes("immediately invoked function")
        kinds = tuple(self._expr(a) for a in args)
        if callee.type == "identifier" and not self._is_local(callee):
            function = self.program.functions.get(text(callee))
            if any(kind is not None for kind in kinds):
                if function is None or any(a.type == "spread_element" for a in args):
                    raise _Escapes(f"sample passed to {text(callee)}")
                return self.program.call(function, kinds)
            return None
        if self._expr(callee) is not None or any(kind is not None for kind in kinds):
            raise _Escapes(f"sample passed to local function {text(callee)}")
        return None

    def _array_method(self, method: str, args: list[Node]) -> Kind:
        params = _CALLBACK_PARAMS.get(method)
        if params is not None:
            if not args or args[0].type not in ("arrow_function", "function_expression"):
                raise _Escapes(f"samples.{method} with a callback that is not written inline")
            returned = self._body(args[0], params)
            rest = [self._expr(a) for a in args[1:]]
            if method in ("map", "flatMap"):
                return OTHER if returned is not None else None
            if method in ("reduce", "reduceRight"):
                return OTHER if _join(returned, _join_all(rest)) is not None else None
            if _join_all(rest) is not None:
                raise _Escapes(f"sample passed as thisArg of samples.{method}")
            return _ARRAY_RESULTS[method]
        if method not in _ARRAY_RESULTS:
            raise _Escapes(f"samples.{method}")
        kinds = [self._expr(a) for a in args]
        if method == "concat" and _join_all(kinds) not in (None, SAMPLES):
            return OTHER
        return _ARRAY_RESULTS[method]


def escape_reason(source: str) -> str | None:
    """Why :func:`samples_stay_local` refuses a script (None when it accepts it); for tests and logs."""
    root = parse_program(source)
    if root is None:
        return "the script does not parse"
    if mentions(root, FORBIDDEN_GLOBALS):
        return "the script uses eval or with"
    program = _Program(root)
    hook = program.functions.get(HOOK)
    if hook is None:
        return "evaluatePixel is not one top-level function"
    try:
        program.call(hook, (SAMPLES,))
    except _Escapes as exc:
        return str(exc)
    return None


def samples_stay_local(source: str) -> bool:
    """True when evaluatePixel provably never keeps, mutates or enumerates its sample objects."""
    return escape_reason(source) is None


__all__ = ["escape_reason", "samples_stay_local"]
