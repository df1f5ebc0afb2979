"""numpy fast path for ORBIT/TILE: ``evaluatePixel(samples)`` run as masked whole-array statements.

:func:`translate_loop` accepts the common temporal shapes: one ``for`` loop over the samples
(``for (let i = 0; i < samples.length; i++)`` or ``for (const s of samples)``), ``let`` locals
updated with ``=``, ``+=``, ``++`` ..., ``if``/``else``, ``continue``, ``break``, ``return``
anywhere, ``samples.length``, ``samples[k]`` for a literal or the loop counter, ``const [a, b] =
samples``, a ``let`` that holds a sample (``best = s``, compared with ``null``, read as ``best.B04``),
``return samples.map((s[, i]) => expression)``, calls of one-``return`` top-level helpers (inlined)
and every expression the SIMPLE translation (:mod:`evaluator.fastpath`) supports. ``var`` counts as
``let`` where its function scope makes no difference (read only after its declaration, in its block).

Each statement runs on all pixels of a chunk at once under a mask of the pixels that reach it:
assignments are ``where(mask, new, old)``, ``continue`` / ``break`` / ``return`` take pixels out
of the mask, the loop runs once per scene with the counter one Python float for all pixels (so
``samples[i]`` is one row of the (T, N) inputs). Everything is float64 like JS numbers, so results
equal V8's bit for bit. A chunk that meets something only V8 can report exactly (reading a band of a
missing sample, a pixel that returns nothing) raises :class:`~evaluator.loopframe.FastPathBailout`
and the session runs the batch in V8 instead. The run-time side lives in :mod:`evaluator.loopframe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from tree_sitter import Node

from .fastpath import (
    ARITHMETIC,
    BITWISE,
    BOOL,
    COMPARISONS,
    HOOK,
    NUM,
    Value,
    _as_number,
    _Expr,
    _number_literal,
    _Translator,
    _truthy,
    _Untranslatable,
    hook_function,
)
from .jsast import (
    assigned_names,
    children,
    function_params,
    is_async,
    parse_program,
    text,
    top_level_functions,
    walk,
)
from .loopframe import FastPathBailout, Frame, LoopFastPath, Statement, Uniform, masked, nothing, store

# Binding kinds besides NUM and BOOL.
COUNTER = "counter"  # the loop counter: one Python float (a JS number) for every pixel
ALIAS = "alias"      # const s = samples[k]: one scene for every pixel
REF = "ref"          # let best = null; best = s: a scene index per pixel, -1 for null
# Properties through which a script could change how arrays iterate or what they inherit.
PROTOTYPE_NAMES = frozenset({"__proto__", "prototype", "Symbol", "setPrototypeOf", "defineProperty"})


@dataclass(frozen=True)
class _Binding:
    kind: str
    uniform: Uniform | None = None   # ALIAS: the scene it names
    mutable: bool = False
    value: _Expr | None = None       # a helper function's parameter: the argument's expression


@dataclass(frozen=True)
class _Compiled:
    run: Statement
    exits: bool  # may take pixels out of the statement list (return / continue / break)


def _is_count(value: float | None, least: int) -> bool:
    """True for a finite whole number >= least (a usable array index)."""
    return value is not None and math.isfinite(value) and value == int(value) and value >= least


class _LoopTranslator(_Translator):
    """evaluatePixel(samples) of an ORBIT/TILE script -> one masked statement runner."""

    def __init__(self, root: Node, function: Node, bands: set[str], outputs: Mapping[str, int]) -> None:
        super().__init__(root, function, bands, outputs)
        self.scopes: list[dict[str, _Binding]] = [{}]
        self.in_loop = False
        self.helpers = {name: node for name, node in top_level_functions(root).items() if name != HOOK}
        self.inlining: set[str] = set()

    # ---- bindings -----------------------------------------------------------------------------

    def _lookup(self, name: str) -> _Binding | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _bind(self, name: str, binding: _Binding) -> None:
        if name == self.sample or self._lookup(name) is not None:
            raise _Untranslatable(f"{name} shadows another binding")
        self.scopes[-1][name] = binding

    # ---- statements ---------------------------------------------------------------------------

    def translate_body(self) -> Statement:
        body = self.function.child_by_field_name("body")
        assert body is not None
        if body.type != "statement_block":
            raise _Untranslatable("expression-bodied evaluatePixel")
        return self._block(children(body)).run

    def _block(self, statements: list[Node]) -> _Compiled:
        self.scopes.append({})
        try:
            compiled = [self._statement(statement) for statement in statements]
        finally:
            self.scopes.pop()

        steps = [(statement.run, statement.exits) for statement in compiled if statement.run is not nothing]

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray | None:
            if not mask.any():
                return None
            entered = mask
            for statement, exits in steps:
                frame.mask = mask
                gone = statement(frame, mask)
                if exits and gone is not None:
                    mask = mask & ~gone
                    if not mask.any():
                        break
            return None if mask is entered else entered & ~mask

        return _Compiled(run, any(statement.exits for statement in compiled))

    def _statement(self, node: Node) -> _Compiled:
        kind = node.type
        if kind in ("lexical_declaration", "variable_declaration"):
            # var is function-scoped, but a var only visible after its declaration and only in its
            # block (what the scope checks here allow) behaves exactly like let
            return self._declaration(node)
        if kind == "expression_statement":
            inner = children(node)
            if len(inner) != 1:
                raise _Untranslatable("expression statement form")
            assign = self._assignment(inner[0])

            def run(frame: Frame, mask: np.ndarray) -> None:
                assign(frame, mask)

            return _Compiled(run, False)
        if kind == "if_statement":
            return self._if_statement(node)
        if kind == "statement_block":
            return self._block(children(node))
        if kind == "empty_statement":
            return _Compiled(nothing, False)
        if kind == "return_statement":
            return self._return(node)
        if kind in ("continue_statement", "break_statement"):
            return self._jump(node)
        if kind == "for_statement":
            return self._counted_loop(node)
        if kind == "for_in_statement":
            return self._for_of(node)
        raise _Untranslatable(f"statement {kind}")

    def _declaration(self, node: Node) -> _Compiled:
        constant = text(node).startswith("const")
        steps: list[Callable[[Frame], None]] = []
        for declarator in children(node):
            target = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if target is None or value is None:
                raise _Untranslatable("declaration without a value")
            if target.type == "array_pattern":
                self._destructure(target, value)
                continue
            if target.type != "identifier":
                raise _Untranslatable("declaration pattern")
            name = text(target)
            mutable = name in self.reassigned
            if constant and mutable:
                raise _Untranslatable("assignment to a constant")
            scene = self._sample_expression(value)
            if scene is not None:
                if mutable:
                    raise _Untranslatable("a let that holds a sample and is reassigned")
                self._bind(name, _Binding(ALIAS, uniform=scene))
            elif value.type == "null":
                self._bind(name, _Binding(REF, mutable=mutable))
                steps.append(lambda frame, name=name: frame.values.__setitem__(name, np.full(frame.size, -1)))
            else:
                expr = self._expr(value)
                self._bind(name, _Binding(expr.kind, mutable=mutable))
                steps.append(lambda frame, name=name, run=expr.run: frame.values.__setitem__(name, run(frame)))

        def run(frame: Frame, mask: np.ndarray) -> None:
            for step in steps:
                step(frame)

        return _Compiled(run if steps else nothing, False)

    def _destructure(self, pattern: Node, value: Node) -> None:
        if not (value.type == "identifier" and text(value) == self.sample):
            raise _Untranslatable("destructuring of something other than the samples")
        for position, item in enumerate(children(pattern)):
            if item.type != "identifier" or text(item) in self.reassigned:
                raise _Untranslatable("destructuring pattern")
            self._bind(text(item), _Binding(ALIAS, uniform=lambda frame, k=position: k))

    def _sample_expression(self, node: Node) -> Uniform | None:
        """The scene a ``samples[k]`` expression or a sample alias names for every pixel, else None."""
        while node.type == "parenthesized_expression":
            node = children(node)[0]
        if node.type == "identifier":
            binding = self._lookup(text(node))
            return binding.uniform if binding is not None and binding.kind == ALIAS else None
        if node.type != "subscript_expression":
            return None
        target = node.child_by_field_name("object")
        index = node.child_by_field_name("index")
        if target is None or index is None or not (target.type == "identifier" and text(target) == self.sample):
            return None
        if any(child.type == "optional_chain" for child in node.children):
            raise _Untranslatable("optional chain")
        return self._scene_index(index)

    def _scene_index(self, node: Node) -> Uniform:
        literal = _number_literal(node)
        if literal is not None:
            if not _is_count(literal, 0):
                raise _Untranslatable("samples index")
            return lambda frame, k=int(literal): k  # type: ignore[arg-type]
        if node.type == "identifier":
            binding = self._lookup(text(node))
            if binding is not None and binding.kind == COUNTER:
                name = text(node)
                return lambda frame: int(frame.values[name])  # type: ignore[arg-type]
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "-":  # type: ignore[arg-type]
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            offset = _number_literal(right) if right is not None else None
            if left is not None and self._is_length(left) and _is_count(offset, 1):
                return lambda frame, k=int(offset): frame.scenes - k  # type: ignore[arg-type]
        raise _Untranslatable(f"samples index {text(node)}")

    def _is_length(self, node: Node) -> bool:
        target = node.child_by_field_name("object") if node.type == "member_expression" else None
        prop = node.child_by_field_name("property") if node.type == "member_expression" else None
        return (target is not None and prop is not None and target.type == "identifier"
                and text(target) == self.sample and text(prop) == "length")

    def _assignment(self, node: Node) -> Statement:
        """``x = e``, ``x op= e``, ``x++`` ... on a local ``let``."""
        if node.type == "update_expression":
            argument = node.child_by_field_name("argument")
            operator = text(node.child_by_field_name("operator"))  # type: ignore[arg-type]
            target = self._mutable(argument, NUM)
            step = np.add if operator == "++" else np.subtract
            return lambda frame, mask: frame.values.__setitem__(
                target, masked(mask, step(frame.values[target], 1.0), frame.values[target]))
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if right is None or node.type not in ("assignment_expression", "augmented_assignment_expression"):
            raise _Untranslatable(f"expression statement {node.type}")
        if node.type == "assignment_expression":
            binding = self._lookup(text(left)) if left is not None and left.type == "identifier" else None
            if binding is not None and binding.kind == REF:
                return self._assign_ref(text(left), right)  # type: ignore[arg-type]
            value = self._expr(right)
            target = self._mutable(left, value.kind)
            return lambda frame, mask: frame.values.__setitem__(
                target, masked(mask, value.run(frame), frame.values[target]))
        operator = text(node.child_by_field_name("operator"))[:-1]  # type: ignore[arg-type]
        fn = ARITHMETIC.get(operator) or BITWISE.get(operator)
        if fn is None:
            raise _Untranslatable(f"assignment operator {operator}=")
        target = self._mutable(left, NUM)
        value = self._number(right)
        return lambda frame, mask: frame.values.__setitem__(
            target, masked(mask, fn(frame.values[target], value.run(frame)), frame.values[target]))

    def _number(self, node: Node) -> _Expr:
        value = self._expr(node)
        if value.kind != NUM:
            raise _Untranslatable("a boolean in arithmetic assignment")
        return value

    def _mutable(self, node: Node | None, kind: str) -> str:
        binding = self._lookup(text(node)) if node is not None and node.type == "identifier" else None
        if binding is None or not binding.mutable or binding.kind != kind:
            raise _Untranslatable("assignment to something other than a local let of the same type")
        return text(node)  # type: ignore[arg-type]

    def _assign_ref(self, name: str, value: Node) -> Statement:
        if value.type == "null":
            return lambda frame, mask: frame.values.__setitem__(name, masked(mask, -1, frame.values[name]))
        scene = self._sample_expression(value)
        if scene is None:
            raise _Untranslatable("a sample variable assigned something other than a sample")

        def run(frame: Frame, mask: np.ndarray) -> None:
            k = scene(frame)
            if not 0 <= k < frame.scenes:
                raise FastPathBailout(f"samples[{k}] is undefined")
            frame.values[name] = masked(mask, k, frame.values[name])

        return run

    def _if_statement(self, node: Node) -> _Compiled:
        condition = node.child_by_field_name("condition")
        consequence = node.child_by_field_name("consequence")
        alternative = node.child_by_field_name("alternative")
        assert condition is not None and consequence is not None
        test = self._test(condition)
        single = self._single(consequence) if alternative is None else None
        if single is not None:
            return self._guarded(test, single)
        then = self._branch(consequence)
        otherwise = self._branch(children(alternative)[0]) if alternative is not None else None

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray | None:
            holds = test(frame)
            gone = then.run(frame, np.logical_and(mask, holds))
            if otherwise is None:
                return gone
            also = otherwise.run(frame, np.logical_and(mask, np.logical_not(holds)))
            return also if gone is None else (gone if also is None else gone | also)

        return _Compiled(run, then.exits or (otherwise is not None and otherwise.exits))

    def _branch(self, node: Node) -> _Compiled:
        return self._block(children(node) if node.type == "statement_block" else [node])

    def _single(self, node: Node) -> _Compiled | None:
        """A branch that is one jump or one assignment (it declares nothing): its statement, else None."""
        statements = children(node) if node.type == "statement_block" else [node]
        if len(statements) != 1 or statements[0].type not in ("continue_statement", "break_statement",
                                                                "expression_statement"):
            return None
        return self._statement(statements[0])

    @staticmethod
    def _guarded(test: Callable[[Frame], Value], statement: _Compiled) -> _Compiled:
        """``if (test) statement`` for one jump or assignment without a block around it (the hot
        shapes ``if (s.dataMask !== 1) continue;`` and ``if (v > best) best = v;``)."""
        inner = statement.run

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray | None:
            selected = np.logical_and(mask, test(frame))
            if not selected.any():  # e.g. samples[1] guarded by samples.length > 1: never read it
                return None
            frame.mask = selected
            return inner(frame, selected)

        return _Compiled(run, statement.exits)

    def _return(self, node: Node) -> _Compiled:
        values = children(node)
        if not values:
            raise _Untranslatable("bare return")
        mapped = self._mapped(values[0])
        if mapped is not None:
            return self._return_mapped(*mapped)
        returned = self._returned(values[0])
        in_loop = self.in_loop

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray:
            everywhere = bool(mask.all())
            for out_id, exprs in returned.items():
                for slot, expr in zip(frame.results[out_id], exprs, strict=True):
                    store(slot, expr.run(frame), mask, everywhere)
            return self._returned_pixels(frame, mask, in_loop)

        return _Compiled(run, True)

    @staticmethod
    def _returned_pixels(frame: Frame, mask: np.ndarray, in_loop: bool) -> np.ndarray:
        frame.done = frame.done | mask
        if in_loop:
            frame.stop(mask)
        return mask

    def _mapped(self, node: Node) -> tuple[str, _Expr] | None:
        """``samples.map((s[, i]) => expression)``: (hidden counter, the expression per scene), else None."""
        while node.type == "parenthesized_expression":
            node = children(node)[0]
        callee = node.child_by_field_name("function") if node.type == "call_expression" else None
        args = node.child_by_field_name("arguments") if callee is not None else None
        if callee is None or args is None or callee.type != "member_expression":
            return None
        target, prop = callee.child_by_field_name("object"), callee.child_by_field_name("property")
        if target is None or prop is None or text(target) != self.sample or text(prop) != "map":
            return None
        arrow = children(args)[0] if len(children(args)) == 1 else None
        body = arrow.child_by_field_name("body") if arrow is not None and arrow.type == "arrow_function" else None
        if arrow is None or body is None or body.type == "statement_block" or is_async(arrow) \
                or len(self.outputs) != 1:
            raise _Untranslatable("samples.map form")
        params = function_params(arrow)
        if not 1 <= len(params) <= 2 or any(p.type != "identifier" or text(p) in self.reassigned for p in params):
            raise _Untranslatable("samples.map parameters")
        counter = f"\0map{node.id}"
        self.scopes.append({})
        try:
            self._bind(counter, _Binding(COUNTER))
            self._bind(text(params[0]), _Binding(ALIAS, uniform=lambda frame: int(frame.values[counter])))  # type: ignore[arg-type]
            if len(params) == 2:
                self._bind(text(params[1]), _Binding(COUNTER))
                index_name = text(params[1])
                expr = self._expr(body)
                run = expr.run

                def with_index(frame: Frame) -> Value:
                    frame.values[index_name] = frame.values[counter]
                    return run(frame)

                return counter, _as_number(_Expr(expr.kind, with_index))
            return counter, _as_number(self._expr(body))
        finally:
            self.scopes.pop()

    def _return_mapped(self, counter: str, expr: _Expr) -> _Compiled:
        out_id, bands = next(iter(self.outputs.items()))
        in_loop = self.in_loop

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray:
            if frame.scenes != bands:
                raise FastPathBailout(f"samples.map returns {frame.scenes} values for {bands} bands")
            everywhere = bool(mask.all())
            for scene, slot in enumerate(frame.results[out_id]):
                frame.values[counter] = float(scene)  # a JS number: i % 0 is NaN, not an integer 0
                store(slot, expr.run(frame), mask, everywhere)
            return self._returned_pixels(frame, mask, in_loop)

        return _Compiled(run, True)

    def _jump(self, node: Node) -> _Compiled:
        if children(node) or not self.in_loop:
            raise _Untranslatable("labelled jump or jump outside the loop")
        leaves_loop = node.type == "break_statement"

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray:
            if leaves_loop:
                frame.stop(mask)
            return mask

        return _Compiled(run, True)

    # ---- loops --------------------------------------------------------------------------------

    def _counted_loop(self, node: Node) -> _Compiled:
        """for (let i = 0; i < samples.length; i++) body"""
        init = node.child_by_field_name("initializer")
        condition = node.child_by_field_name("condition")
        increment = node.child_by_field_name("increment")
        body = node.child_by_field_name("body")
        if init is None or condition is None or increment is None or body is None \
                or init.type not in ("lexical_declaration", "variable_declaration") \
                or text(init).startswith("const") or len(children(init)) != 1:
            raise _Untranslatable("loop form")
        declarator = children(init)[0]
        name_node, start = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
        if name_node is None or name_node.type != "identifier" or start is None or _number_literal(start) != 0:
            raise _Untranslatable("loop start")
        counter = text(name_node)
        if condition.type == "expression_statement":
            condition = children(condition)[0] if children(condition) else condition
        left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
        if not (condition.type == "binary_expression" and text(condition.child_by_field_name("operator")) == "<"  # type: ignore[arg-type]
                and left is not None and left.type == "identifier" and text(left) == counter
                and right is not None and self._is_length(right)):
            raise _Untranslatable("loop condition")
        if not self._is_increment(increment, counter):
            raise _Untranslatable("loop increment")
        if counter in assigned_names(body):
            raise _Untranslatable("the loop body changes its counter")
        return self._loop(counter, None, body)

    @staticmethod
    def _is_increment(node: Node, counter: str) -> bool:
        target = node.child_by_field_name("argument") if node.type == "update_expression" else \
            node.child_by_field_name("left")
        if target is None or target.type != "identifier" or text(target) != counter:
            return False
        if node.type == "update_expression":
            return text(node.child_by_field_name("operator")) == "++"  # type: ignore[arg-type]
        return node.type == "augmented_assignment_expression" and text(
            node.child_by_field_name("operator")) == "+=" and _number_literal(node.child_by_field_name("right")) == 1  # type: ignore[arg-type]

    def _for_of(self, node: Node) -> _Compiled:
        """for (const s of samples) body"""
        kind = node.child_by_field_name("kind")
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        operator = node.child_by_field_name("operator")
        body = node.child_by_field_name("body")
        if kind is None or text(kind) not in ("const", "let", "var") or operator is None or text(operator) != "of" \
                or left is None or left.type != "identifier" or right is None or body is None \
                or not (right.type == "identifier" and text(right) == self.sample):
            raise _Untranslatable("for-of form")
        if text(left) in self.reassigned:
            raise _Untranslatable("the loop variable is reassigned")
        return self._loop(f"\0scene{node.id}", text(left), body)

    def _loop(self, counter: str, alias: str | None, body: Node) -> _Compiled:
        if self.in_loop:
            raise _Untranslatable("nested loop")
        self.scopes.append({})
        self.in_loop = True
        try:
            self._bind(counter, _Binding(COUNTER))
            if alias is not None:
                self._bind(alias, _Binding(ALIAS, uniform=lambda frame: int(frame.values[counter])))  # type: ignore[arg-type]
            inner = self._branch(body)
        finally:
            self.in_loop = False
            self.scopes.pop()

        def run(frame: Frame, mask: np.ndarray) -> np.ndarray | None:
            live = mask
            for scene in range(frame.scenes):
                frame.values[counter] = float(scene)  # a JS number: i % 0 is NaN, not an integer 0
                frame.stopped = None
                inner.run(frame, live)
                if frame.stopped is not None:
                    live = live & ~frame.stopped
                    if not live.any():
                        break
            frame.stopped = None
            returned = mask & frame.done
            return returned if returned.any() else None

        return _Compiled(run, True)

    # ---- expressions --------------------------------------------------------------------------

    def _identifier(self, node: Node) -> _Expr:
        name = text(node)
        binding = self._lookup(name)
        if binding is None:
            if name == self.sample:
                raise _Untranslatable("the samples array itself")
            return super()._identifier(node)
        if binding.value is not None:
            return binding.value
        if binding.kind in (ALIAS, REF):
            raise _Untranslatable("a sample object used as a value")
        kind = NUM if binding.kind == COUNTER else binding.kind
        return _Expr(kind, lambda frame: frame.values[name])

    def _member(self, node: Node) -> _Expr:
        if self._is_length(node):
            return _Expr(NUM, lambda frame: float(frame.scenes))
        target = node.child_by_field_name("object")
        assert target is not None
        if any(child.type == "optional_chain" for child in node.children):
            raise _Untranslatable("optional chain")
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            name = text(prop) if prop is not None else ""
        else:
            index = node.child_by_field_name("index")
            if index is None or index.type != "string":
                return self._not_a_sample(node, target)
            name = text(index)[1:-1]
        scene = self._sample_expression(target)
        binding = self._lookup(text(target)) if target.type == "identifier" else None
        if scene is None and (binding is None or binding.kind != REF):
            return self._not_a_sample(node, target)
        self._use_band(name)
        if scene is not None:
            return _Expr(NUM, lambda frame: frame.band(name, scene(frame)))
        ref = text(target)
        return _Expr(NUM, lambda frame: frame.gather(name, frame.values[ref]))  # type: ignore[arg-type]

    def _use_band(self, name: str) -> None:
        if name not in self.bands:
            raise _Untranslatable(f"{name} is not an input band")
        self.used_bands.add(name)

    def _band_of(self, node: Node) -> tuple[str, Uniform] | None:
        """(band, scene) of ``s.BAND`` / ``samples[k]["BAND"]`` on a sample named for every pixel, else None."""
        while node.type == "parenthesized_expression":
            node = children(node)[0]
        target = node.child_by_field_name("object") if node.type in ("member_expression",
                                                                        "subscript_expression") else None
        if target is None or any(child.type == "optional_chain" for child in node.children):
            return None
        key = node.child_by_field_name("property" if node.type == "member_expression" else "index")
        if key is None or (node.type == "subscript_expression" and key.type != "string"):
            return None
        scene = self._sample_expression(target)
        if scene is None:
            return None
        name = text(key) if node.type == "member_expression" else text(key)[1:-1]
        self._use_band(name)
        return name, scene

    def _whole_compare(self, operator: str, left: Node, right: Node) -> _Expr | None:
        """``s.BAND <op> whole number`` (either order) compared in the band's own integer dtype when
        it has one (dataMask, SCL, DN): the same result as in float64, without converting the band."""
        compare = COMPARISONS[operator]
        for band_node, literal_node, flipped in ((left, right, False), (right, left, True)):
            literal = _number_literal(literal_node)
            found = self._band_of(band_node)
            if found is None or literal is None or not math.isfinite(literal) or literal != int(literal):
                continue
            name, scene = found
            whole = int(literal)

            def run(frame: Frame, name: str = name, scene: Uniform = scene, literal: float = literal,
                    whole: int = whole, flipped: bool = flipped) -> Value:
                k = scene(frame)
                raw = frame.whole_band(name, k, whole)
                pair = (raw, whole) if raw is not None else (frame.band(name, k), literal)
                return compare(pair[1], pair[0]) if flipped else compare(pair[0], pair[1])

            return _Expr(BOOL, run)
        return None

    def _test(self, node: Node) -> Callable[[Frame], Value]:
        """The truth of an if condition; a bare integer band is tested without converting it."""
        inner = node
        while inner.type == "parenthesized_expression" and len(children(inner)) == 1:
            inner = children(inner)[0]
        found = self._band_of(inner)
        if found is None:
            return _truthy(self._expr(node))
        name, scene = found

        def truthy(frame: Frame) -> Value:
            k = scene(frame)
            raw = frame.whole_band(name, k, 0)
            if raw is not None:
                return raw != 0
            value = frame.band(name, k)
            return np.logical_and(value != 0, ~np.isnan(value))

        return truthy

    def _not_a_sample(self, node: Node, target: Node) -> _Expr:
        if target.type == "identifier" and (text(target) == self.sample or self._lookup(text(target)) is not None):
            raise _Untranslatable(f"member {text(node)}")
        return super()._member(node)

    def _call(self, node: Node) -> _Expr:
        callee = node.child_by_field_name("function")
        if callee is not None and callee.type == "identifier" and self._lookup(text(callee)) is None \
                and text(callee) in self.helpers:
            return self._inline(text(callee), node)
        return super()._call(node)

    def _inline(self, name: str, call: Node) -> _Expr:
        """A call of a top-level function whose body is one ``return expression``, compiled in place:
        parameters bound to the arguments (samples stay samples), the caller's locals out of sight."""
        function = self.helpers[name]
        body = function.child_by_field_name("body")
        if name in self.inlining or is_async(function) or body is None:
            raise _Untranslatable(f"call of {name}")
        if body.type == "statement_block":
            statements = children(body)
            returned = children(statements[0]) if len(statements) == 1 else []
            if len(statements) != 1 or statements[0].type != "return_statement" or len(returned) != 1:
                raise _Untranslatable(f"{name} is more than one return statement")
            body = returned[0]
        if any(n.type == "this" or (n.type == "identifier" and text(n) == "arguments") for n in walk(body)):
            raise _Untranslatable(f"{name} uses this or arguments")
        params = function_params(function)
        args_node = call.child_by_field_name("arguments")
        args = children(args_node) if args_node is not None and args_node.type == "arguments" else None
        if args is None or len(args) != len(params) or any(p.type != "identifier" for p in params) \
                or any(a.type == "spread_element" for a in args):
            raise _Untranslatable(f"call of {name} with other arguments than parameters")
        used = {text(n) for n in walk(body) if n.type == "identifier"}
        if any(text(p) not in used for p in params):
            raise _Untranslatable(f"{name} ignores a parameter (its argument might throw)")
        scope: dict[str, _Binding] = {}
        for param, arg in zip(params, args, strict=True):
            scene = self._sample_expression(arg)
            if scene is not None:
                scope[text(param)] = _Binding(ALIAS, uniform=scene)
            else:
                value = self._expr(arg)
                scope[text(param)] = _Binding(value.kind, value=value)
        if self.sample in scope:
            raise _Untranslatable("a helper parameter named like the samples")
        outer, self.scopes = self.scopes, [scope]
        self.inlining.add(name)
        try:
            return self._expr(body)
        finally:
            self.scopes = outer
            self.inlining.discard(name)

    def _binary(self, node: Node) -> _Expr:
        operator = text(node.child_by_field_name("operator"))  # type: ignore[arg-type]
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        assert left is not None and right is not None
        if right.type == "null":
            left, right = right, left
        if operator in COMPARISONS:
            whole = self._whole_compare(operator, left, right)
            if whole is not None:
                return whole
        if left.type == "null" and right.type == "identifier":
            binding = self._lookup(text(right))
            if binding is not None and binding.kind == REF and operator in ("===", "==", "!==", "!="):
                name, is_null = text(right), operator in ("===", "==")
                return _Expr(BOOL, lambda frame: (frame.values[name] < 0) == is_null)  # type: ignore[operator]
        return super()._binary(node)


def _prototypes_untouched(root: Node) -> bool:
    """True when nothing in the script names a prototype or Symbol (for-of and destructuring
    iterate the samples Array through Array.prototype[Symbol.iterator])."""
    return not any(node.type in ("identifier", "property_identifier") and text(node) in PROTOTYPE_NAMES
                   for node in walk(root))


def translate_loop(source: str, bands: list[str], outputs: Mapping[str, int]) -> LoopFastPath | None:
    """The numpy equivalent of an ORBIT/TILE evaluatePixel for these outputs (id -> bands), or None."""
    root = parse_program(source)
    function = hook_function(root)
    if function is None or not _prototypes_untouched(root):
        return None
    try:
        translator = _LoopTranslator(root, function, set(bands), outputs)
        body = translator.translate_body()
    except _Untranslatable:
        return None
    return LoopFastPath(body=body, outputs=tuple(outputs.items()), bands=tuple(sorted(translator.used_bands)))


__all__ = ["translate_loop"]
