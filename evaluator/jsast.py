"""JavaScript syntax trees of evalscripts (tree-sitter), for the static analyses of the runtime.

Only scripts that parse without any error get a tree; callers treat ``None`` as "cannot tell" and
fall back to the general (slower, always correct) execution path.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

FUNCTION_TYPES = frozenset({"function_declaration", "function_expression", "arrow_function",
                            "generator_function_declaration", "generator_function", "method_definition"})
# Nodes that open a scope for let/const/class declarations made directly inside them.
BLOCK_SCOPE_TYPES = frozenset({"statement_block", "for_statement", "for_in_statement", "switch_body",
                               "program", "catch_clause", *FUNCTION_TYPES})


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_javascript.language()))


def parse_program(source: str) -> Node | None:
    """The root node of ``source``, or None when tree-sitter reports any syntax error."""
    tree = _parser().parse(source.encode("utf-8"))
    root = tree.root_node
    return None if root.has_error else root


def text(node: Node) -> str:
    """The source text of a node."""
    return (node.text or b"").decode("utf-8")


def children(node: Node) -> list[Node]:
    """Named children without comments."""
    return [child for child in node.named_children if child.type != "comment"]


def walk(node: Node) -> Iterator[Node]:
    """Every named node of the subtree, depth first (comments skipped)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def is_async(function: Node) -> bool:
    """True for ``async function`` / ``async () =>``."""
    return any(child.type == "async" for child in function.children)


def function_params(function: Node) -> list[Node]:
    """The parameter patterns of a function node (identifiers, patterns, defaults, rest)."""
    single = function.child_by_field_name("parameter")
    if single is not None:
        return [single]
    params = function.child_by_field_name("parameters")
    return children(params) if params is not None else []


def pattern_names(pattern: Node) -> Iterator[str]:
    """The names a binding pattern declares."""
    kind = pattern.type
    if kind in ("identifier", "shorthand_property_identifier_pattern"):
        yield text(pattern)
    elif kind == "assignment_pattern":
        left = pattern.child_by_field_name("left")
        if left is not None:
            yield from pattern_names(left)
    elif kind == "pair_pattern":
        value = pattern.child_by_field_name("value")
        if value is not None:
            yield from pattern_names(value)
    elif kind in ("array_pattern", "object_pattern", "rest_pattern"):
        for child in children(pattern):
            yield from pattern_names(child)


def _enclosing(node: Node, types: frozenset[str]) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type not in types:
        parent = parent.parent
    return parent


def declarations(root: Node) -> dict[int, set[str]]:
    """Scope node id -> the names declared directly in that scope, over the whole subtree of ``root``.

    var and function parameters belong to the nearest function; let/const/class to the nearest block;
    function declarations to both (sloppy-mode block functions are also function-scoped).
    """
    scopes: dict[int, set[str]] = {}

    def add(scope: Node | None, names: Iterator[str]) -> None:
        if scope is not None:
            scopes.setdefault(scope.id, set()).update(names)

    for node in walk(root):
        kind = node.type
        if kind in FUNCTION_TYPES:
            for param in function_params(node):
                add(node, pattern_names(param))
            name = node.child_by_field_name("name")
            if name is not None and kind in ("function_declaration", "generator_function_declaration"):
                add(_enclosing(node, BLOCK_SCOPE_TYPES), iter([text(name)]))
                add(_enclosing(node, FUNCTION_TYPES | {"program"}), iter([text(name)]))
            elif name is not None and kind != "method_definition":
                add(node, iter([text(name)]))  # a named function expression sees its own name
        elif kind in ("variable_declaration", "lexical_declaration"):
            scope_types = FUNCTION_TYPES | {"program"} if kind == "variable_declaration" else BLOCK_SCOPE_TYPES
            if kind == "lexical_declaration" and node.parent is not None and node.parent.type == "for_statement":
                scope = node.parent
            else:
                scope = _enclosing(node, scope_types)
            for declarator in children(node):
                target = declarator.child_by_field_name("name")
                if target is not None:
                    add(scope, pattern_names(target))
        elif kind == "for_in_statement" and node.child_by_field_name("kind") is not None:
            left = node.child_by_field_name("left")
            declared_kind = text(node.child_by_field_name("kind"))  # type: ignore[arg-type]
            scope = node if declared_kind != "var" else _enclosing(node, FUNCTION_TYPES | {"program"})
            if left is not None:
                add(scope, pattern_names(left))
        elif kind == "catch_clause":
            param = node.child_by_field_name("parameter")
            if param is not None:
                add(node, pattern_names(param))
        elif kind == "class_declaration":
            name = node.child_by_field_name("name")
            if name is not None:
                add(_enclosing(node, BLOCK_SCOPE_TYPES), iter([text(name)]))
    return scopes


def assigned_names(root: Node) -> set[str]:
    """Identifiers written anywhere by assignment, compound assignment or ++/--."""
    names: set[str] = set()
    for node in walk(root):
        if node.type in ("assignment_expression", "augmented_assignment_expression"):
            left = node.child_by_field_name("left")
            if left is not None:
                names.update(pattern_names(left) if left.type.endswith("pattern") else
                             ([text(left)] if left.type == "identifier" else []))
        elif node.type == "update_expression":
            argument = node.child_by_field_name("argument")
            if argument is not None and argument.type == "identifier":
                names.add(text(argument))
    return names


def top_level_functions(root: Node) -> dict[str, Node]:
    """Functions bound once at the top level of the program and never reassigned, by name.

    Covers ``function f() {}`` and ``const/let/var f = function / arrow``.
    """
    found: dict[str, list[Node | None]] = {}
    for statement in children(root):
        if statement.type == "function_declaration":
            name = statement.child_by_field_name("name")
            if name is not None:
                found.setdefault(text(name), []).append(statement)
        elif statement.type in ("lexical_declaration", "variable_declaration"):
            for declarator in children(statement):
                name = declarator.child_by_field_name("name")
                value = declarator.child_by_field_name("value")
                if name is None or name.type != "identifier":
                    continue
                bound = value if value is not None and value.type in ("arrow_function", "function_expression") \
                    else None
                found.setdefault(text(name), []).append(bound)
        elif statement.type == "generator_function_declaration":
            name = statement.child_by_field_name("name")
            if name is not None:
                found.setdefault(text(name), []).append(None)
    reassigned = assigned_names(root)
    return {name: nodes[0] for name, nodes in found.items()
            if len(nodes) == 1 and nodes[0] is not None and name not in reassigned}


def mentions(root: Node, names: frozenset[str]) -> bool:
    """True when an identifier in ``names`` occurs anywhere (e.g. ``eval``) or a with statement does."""
    return any((node.type == "identifier" and text(node) in names) or node.type == "with_statement"
               for node in walk(root))
