"""Fault injection: the HTTP answers that replace moto's for chosen calls.

moto always answers; real AWS throttles, denies and fails. ``MotoWorld.inject(operation,
factory)`` registers a ``ResponseFactory``; the world's server (``soc2gate.demo.server``) asks it
before each counted call and, when it returns a ``Fault``, sends that instead of moto's answer.
``aws_error`` builds the JSON-protocol error body AWS sends (``{"__type": ..., "message": ...}``
with ``x-amzn-ErrorType``), and ``fail_calls`` is the common factory: fail these call numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: Called with the 1-based number of the call; returns a ``Fault`` to answer with, or None.
ResponseFactory = Callable[[int], "Fault | None"]


@dataclass(frozen=True)
class Fault:
    """An HTTP answer that replaces moto's for one call."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def aws_error(
    code: str = "AccessDeniedException",
    message: str = "User is not authorized to perform this action",
    status: int = 400,
) -> Fault:
    """A JSON-protocol AWS error (``{"__type": code, "message": message}``)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Fault(
        status,
        body,
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
    )


def fail_calls(calls: Iterable[int] | None, fault: Fault) -> ResponseFactory:
    """A response factory answering the given call numbers (all if None) with ``fault``."""
    wanted = None if calls is None else frozenset(calls)

    def factory(n: int) -> Fault | None:
        return fault if wanted is None or n in wanted else None

    return factory
