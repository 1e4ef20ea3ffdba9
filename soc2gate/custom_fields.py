"""The fields a custom check's JMESPath names must exist in the operation's answer.

JMESPath reads a field that does not exist as null, silently: ``!repositories[0].imageTagMutabilty``
(a typo) is true on every answer, and ``x != 'MUTABLE'`` over a misspelt ``x`` passes a mutable
repository. So each expression of a custom check (``query``, ``expect: {jmespath}``,
``wait.pending_when``) is walked once when the config loads, against botocore's output shape of
the operation: a field that a structure does not have, or a field asked of a list or a string
(always null), is a configuration error naming the field, where it was looked for and the
closest member. A map's keys are data (an Environment, findingSeverityCounts): any key is
accepted below a map, and whatever follows a function, a comparison or a literal is not
checked (its shape is not known statically).
"""

from __future__ import annotations

import difflib
from typing import Any

from soc2gate.errors import ConfigError


class UnknownField(ConfigError):
    """A JMESPath field that the answer's shape cannot hold."""


def check_fields(where: str, expression: str, output_shape: Any) -> None:
    """Raise ``UnknownField`` when ``expression`` names a field ``output_shape`` cannot hold."""
    import jmespath.parser

    if not expression or output_shape is None:
        return
    tree = jmespath.parser.Parser().parse(expression).parsed
    _Walk(where, expression).resolve(tree, output_shape)


class _Walk:
    def __init__(self, where: str, expression: str) -> None:
        self.where = where
        self.expression = expression

    def fail(self, problem: str) -> UnknownField:
        return UnknownField(f"{self.where}: {self.expression!r}: {problem}")

    def resolve(self, node: dict[str, Any], shape: Any) -> Any:
        """The shape of what ``node`` gives when evaluated on a value of ``shape`` (None: not
        known statically, so nothing below it is checked)."""
        kind = node["type"]
        children = node.get("children", [])
        if kind == "field":
            return self.field(str(node["value"]), shape)
        if kind in ("subexpression", "pipe", "index_expression"):
            # a.b.c (the parser may put several steps in one node): each step reads the last.
            for child in children:
                shape = self.resolve(child, shape)
            return shape
        if kind == "index":
            return _member(shape) if _type(shape) == "list" else None
        if kind == "slice":
            return shape if _type(shape) == "list" else None
        if kind == "projection":
            left = self.resolve(children[0], shape)
            self.resolve(children[1], _member(left) if _type(left) == "list" else None)
            return None
        if kind == "value_projection":
            left = self.resolve(children[0], shape)
            self.resolve(children[1], left.value if _type(left) == "map" else None)
            return None
        if kind == "flatten":
            left = self.resolve(children[0], shape)
            return left if _type(left) == "list" else None
        if kind == "filter_projection":
            left = self.resolve(children[0], shape)
            element = _member(left) if _type(left) == "list" else None
            self.resolve(children[2], element)
            self.resolve(children[1], element)
            return None
        if kind in ("current", "identity"):
            return shape
        if kind == "function_expression":
            first = self.resolve(children[0], shape) if children else None
            for child in children:
                if child["type"] == "expref":
                    # sort_by(list, &field): the field is read from the list's elements.
                    element = _member(first) if _type(first) == "list" else None
                    self.resolve(child["children"][0], element)
                else:
                    self.resolve(child, shape)
            return None
        # comparator, and/or/not, multi_select_list/dict, key_val_pair, literal, expref...:
        # each operand is read from the same value; the result's shape is not the answer's.
        for child in children:
            self.resolve(child, shape)
        return None

    def field(self, name: str, shape: Any) -> Any:
        kind = _type(shape)
        if kind is None:
            return None
        if kind == "structure":
            members = shape.members
            if name in members:
                return members[name]
            close = difflib.get_close_matches(name, list(members), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(
                f"{shape.name} has no field {name!r}{hint}; it has {', '.join(members)}: a "
                "field that is not there reads as null, so the check would judge nothing"
            )
        if kind == "map":
            return shape.value
        if kind == "list":
            raise self.fail(
                f"{name!r} is asked of a list ({shape.name}), which has no fields: it always "
                f"reads as null; use [].{name} (every element) or [0].{name} (the first)"
            )
        raise self.fail(
            f"{name!r} is asked of a {kind} ({shape.name}), which has no fields: it always reads "
            "as null"
        )


def _type(shape: Any) -> str | None:
    return getattr(shape, "type_name", None) if shape is not None else None


def _member(shape: Any) -> Any:
    return getattr(shape, "member", None)
