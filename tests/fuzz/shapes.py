"""Mutations of wire answers, enumerated from botocore's service model (not from a hand list).

``mutations_for(operation, body)`` walks the operation's output shape
(``botocore.session.get_session().get_service_model(service).operation_model(op).output_shape``)
in step with one concrete answer: structure members, list members, map values. Every node
present in the answer gets the mutations its *modelled* type allows (delete it, null it, empty
it, give it each other JSON type, an enum value the model does not define, another value), and
every modelled member absent from a present structure gets an ``add``. The fuzz layer then
serves the mutated answer to the real gate.

Paths print as ``imageScanFindings.findings[0].severity``, map values as
``PrimaryContainer.Environment{SOC2_COMPLIANT}``; ``pattern`` turns list indices into ``[*]`` so
one allowlist entry covers every element.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session

Step = str | int | tuple[str, str]  # member name, list index, ("map", key)
Path = tuple[Step, ...]

UNKNOWN_ENUM = "SOC2GATE_FUZZ_NOT_IN_THE_MODEL"
#: More enum siblings than this: only the first and last few are tried (InstanceType has ~300).
MAX_SIBLINGS = 6
_ABSENT = object()


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def output_shape(operation: str) -> Any:
    """``service:Operation`` -> botocore output shape."""
    service, name = operation.split(":", 1)
    return _session().get_service_model(service).operation_model(name).output_shape


def render(path: Path) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif isinstance(step, tuple):
            out += "{" + step[1] + "}"
        else:
            out += ("." if out else "") + step
    return out or "<body>"


def pattern(path: Path) -> str:
    """The path with list indices as ``[*]``: what allowlist entries and coverage count."""
    return render(tuple(-1 if isinstance(s, int) else s for s in path)).replace("[-1]", "[*]")


def _type_of(shape: Any) -> str:
    return str(shape.type_name)


@dataclass(frozen=True)
class Node:
    path: Path
    shape: Any
    value: Any  # _ABSENT for a modelled member the answer does not hold


def walk(value: Any, shape: Any, path: Path = ()) -> Iterator[Node]:
    """Every node of ``value`` with its shape, depth first; absent members of structures too."""
    if path:
        yield Node(path, shape, value)
    kind = _type_of(shape)
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from walk(value[name], member, (*path, name))
            else:
                yield Node((*path, name), member, _ABSENT)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, shape.member, (*path, i))
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, shape.value, (*path, ("map", str(key))))


def example(shape: Any, depth: int = 0) -> Any:
    """A small value of ``shape``'s type (what ``add`` inserts): required members filled in."""
    kind = _type_of(shape)
    if kind == "structure":
        if depth > 3:
            return {}
        return {name: example(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        return [example(shape.member, depth + 1)]
    if kind == "map":
        key_enum = list(getattr(shape.key, "enum", []) or [])
        return {(key_enum[-1] if key_enum else "FUZZ_KEY"): example(shape.value, depth + 1)}
    if kind == "string":
        enum = list(getattr(shape, "enum", []) or [])
        return enum[0] if enum else "fuzz"
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1795684722.0
    return "fuzz"


@dataclass(frozen=True)
class Mutation:
    """One change to one answer: ``kind`` applied at ``path`` (value for set-like kinds)."""

    operation: str
    key: str  # the request the answer belongs to (realshape.wire.request_key)
    path: Path
    kind: str
    value: Any = None

    @property
    def where(self) -> str:
        return f"{self.operation} {render(self.path)}"

    @property
    def pattern(self) -> str:
        return pattern(self.path)

    def describe(self) -> str:
        shown = "" if self.kind in ("delete", "null") else f" = {_short(self.value)}"
        return f"{self.operation} {render(self.path)}: {self.kind}{shown}"


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_VALUES: dict[str, Any] = {
    "string": "fuzz",
    "number": 7,
    "bool": True,
    "list": ["fuzz"],
    "object": {"fuzz": "fuzz"},
}
_JSON_KIND = {
    "string": "string",
    "timestamp": "number",
    "integer": "number",
    "long": "number",
    "float": "number",
    "double": "number",
    "boolean": "bool",
    "list": "list",
    "structure": "object",
    "map": "object",
    "blob": "string",
}


def _values_for(node: Node) -> list[tuple[str, Any]]:
    """(kind, value) mutations a present node gets from its modelled type."""
    kind = _type_of(node.shape)
    value = node.value
    out: list[tuple[str, Any]] = [("delete", None), ("null", None)]
    json_kind = _JSON_KIND.get(kind, "string")
    out += [(f"type:{t}", v) for t, v in _TYPE_VALUES.items() if t != json_kind]
    if kind == "string":
        out.append(("empty", ""))
        enum = list(getattr(node.shape, "enum", []) or [])
        if enum:
            out.append(("enum:unknown", UNKNOWN_ENUM))
            siblings = [e for e in enum if e != value]
            if len(siblings) > MAX_SIBLINGS:
                half = MAX_SIBLINGS // 2
                siblings = siblings[:half] + siblings[-half:]
            out += [(f"enum:{e}", e) for e in siblings]
        elif isinstance(value, str):
            out.append(("change", value + "-fuzz"))
        # A string that reads as another type: what a lax reader turns into a number or bool.
        if isinstance(value, str) and value in ("true", "false"):
            out.append(("type:string-bool", "false" if value == "true" else "true"))
    elif kind in ("integer", "long", "float", "double"):
        out += [("zero", 0), ("negative", -1), ("type:numeric-string", str(value))]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(("change", value + 1))
    elif kind == "boolean":
        flipped = not value if isinstance(value, bool) else False
        out += [
            ("flip", flipped),
            ("type:string-bool", "true" if flipped else "false"),
            ("type:number-bool", 1 if flipped else 0),
            # The same meaning in another JSON type: a reader that only tests truthiness keeps
            # it; the gate should refuse the type.
            ("type:string-of-value", "true" if value else "false"),
        ]
    elif kind == "timestamp":
        out += [("zero", 0), ("type:date-string", "not-a-date")]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(("change", value + 86400.0 * 365))
    elif kind == "list":
        out.append(("empty", []))
        if isinstance(value, list):
            out.append(("append", [*value, example(node.shape.member)]))
            if len(value) > 1:
                out.append(("drop-first", value[1:]))
                out.append(("drop-last", value[:-1]))
    elif kind == "map":
        out.append(("empty", {}))
        if isinstance(value, dict):
            key_enum = list(getattr(node.shape.key, "enum", []) or [])
            new_keys = [k for k in key_enum if k not in value] or ["FUZZ_KEY"]
            for k in new_keys[:MAX_SIBLINGS]:
                out.append((f"add-key:{k}", {**value, k: example(node.shape.value)}))
    elif kind == "structure":
        out.append(("empty", {}))
    return out


def mutations_for(operation: str, key: str, body: Any) -> list[Mutation]:
    """Every mutation of one answer, from the operation's output shape."""
    shape = output_shape(operation)
    out: list[Mutation] = []
    for node in walk(body, shape):
        if node.value is _ABSENT:
            out.append(Mutation(operation, key, node.path, "add", example(node.shape)))
            continue
        for kind, value in _values_for(node):
            out.append(Mutation(operation, key, node.path, kind, value))
    return out


def modelled_paths(operation: str, body: Any) -> set[str]:
    """Patterns of every node the walk reaches (present or absent)."""
    return {pattern(n.path) for n in walk(body, output_shape(operation))}


class Inapplicable(Exception):
    """The path no longer exists (an earlier mutation of the same answer removed it)."""


def apply(body: Any, mutation: Mutation) -> Any:
    """A mutated deep copy of ``body``."""
    out = copy.deepcopy(body)
    *parents, last = mutation.path
    node = out
    for step in parents:
        node = _step(node, step)
    if isinstance(last, tuple):
        last = last[1]
    if mutation.kind == "delete":
        container: Any = node
        if (isinstance(node, dict) and last in node) or (
            isinstance(node, list) and isinstance(last, int) and last < len(node)
        ):
            container.pop(last)
        else:
            raise Inapplicable(mutation.describe())
        return out
    if isinstance(node, dict):
        if mutation.kind != "add" and last not in node:
            raise Inapplicable(mutation.describe())
        node[last] = copy.deepcopy(mutation.value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = copy.deepcopy(mutation.value)
    else:
        raise Inapplicable(mutation.describe())
    return out


def _step(node: Any, step: Step) -> Any:
    key = step[1] if isinstance(step, tuple) else step
    try:
        child = node[key]
    except (KeyError, IndexError, TypeError):
        raise Inapplicable(str(step)) from None
    if not isinstance(child, (dict, list)):
        raise Inapplicable(str(step))
    return child
