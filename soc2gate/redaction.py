"""Redaction by value: the environment values a run reads never reach a report.

A SageMaker model's container ``Environment`` (and a model package's, and an inference
component's) holds secrets: database passwords, API keys. Every such value the run reads joins
one run-wide ``SecretValues``: the built-in checks add what ``checks.sagemaker._sagemaker`` reads, and a
custom check adds every string under a key named ``Environment`` (any case, any depth) of its
answer, whatever its query. The runner masks each occurrence in every result before any report
sees it (console, JUnit, step summary, evidence record) and in the progress lines; a custom
check also masks the values it quotes. One set serves the whole run, so a value read for one
fleet target is masked in every other target's results too.

Which values are masked, and where:

- a value of ``MIN_SUBSTRING`` (8) characters or more wherever it occurs, inside any text
  (also as JSON or ``repr`` would quote it);
- a shorter one (``1``, ``true``, ``info``, a short PIN) only where a whole field equals it (a
  reason, a detail line, an evidence value, a finding field) and, leaf by leaf, in the values a
  custom check quotes: masking ``1`` or ``true`` inside text would blank every count and flag
  of every report while protecting nothing;
- never: the values of the required markers (``--require-env`` keys, which sagemaker-model-env
  names on purpose) unless another key holds the same value; strings the gate's own
  configuration states (region, endpoint, repository, the markers' expected values, the commit:
  the evidence record prints the configuration anyway); AWS region names (the SageMaker SDK puts
  ``SAGEMAKER_REGION`` in every model, and masking it would blank every ARN); identifiers a
  report must show (an image digest, an ARN, an image reference): a model's deployer could
  otherwise erase the gated digest from every report by putting it in an Environment value.

Check ids, targets, statuses and dictionary keys are never masked, so no verdict can be hidden:
a masked value reads ``[redacted]``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Collection, Iterable, Mapping
from enum import Enum
from typing import Any

from soc2gate.models import CheckResult

REDACTED = "[redacted]"
#: Values at least this long are masked inside any text; shorter ones only as a whole field.
MIN_SUBSTRING = 8
#: Keys whose values (every string below them) are secrets.
SECRET_BEARING_KEY = "environment"
#: Result fields that are never masked: what a report is keyed by, and the verdict.
_KEEP = frozenset({"check_id", "target", "blocked_by", "status"})
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
#: Identifiers a report must be able to show, whatever a model's Environment says: an image
#: digest, an ARN, an ECR image reference or any image reference by digest. A deployer who put
#: the gated digest in an Environment value would otherwise erase it from every report.
_IDENTIFIER = re.compile(
    r"^(sha256:[0-9a-f]{64}"
    r"|arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:\S+"
    r"|[0-9]{12}\.dkr\.ecr[.-][a-z0-9.-]+/[a-z0-9._/-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?"
    r"|[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?@sha256:[0-9a-f]{64})$"
)


def environment_values(answer: Any, markers: Collection[str] = ()) -> set[str]:
    """Every string under a key named ``Environment`` (any case, any depth) of ``answer``,
    except the values of the ``markers`` keys (the required markers, not secrets)."""
    found: set[str] = set()

    def walk(node: Any, inside: bool) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if inside:
                    if not (key in markers and isinstance(value, str)):
                        walk(value, True)
                else:
                    walk(value, isinstance(key, str) and key.lower() == SECRET_BEARING_KEY)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item, inside)
        elif inside and isinstance(node, str):
            found.add(node)

    walk(answer, False)
    return found


def stated_strings(*objects: Any) -> set[str]:
    """Every string in ``objects`` (dataclasses, mappings, sequences, strings): what the gate's
    configuration states, which is not masked."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Enum):
            return
        if isinstance(node, str):
            found.add(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, Mapping):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, (list, tuple, set, frozenset)):
            for item in node:
                walk(item)

    for item in objects:
        walk(item)
    return found


def _quoted(value: str) -> set[str]:
    """``value`` and the forms JSON and ``repr`` print it in (without the quotes)."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms.add(repr(value)[1:-1])
    return forms


class SecretValues:
    """The run's secret values (thread-safe: checks add to it from their worker threads)."""

    def __init__(self, public: Iterable[str] = ()) -> None:
        self._public = frozenset(public)
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def add(self, values: Iterable[str]) -> None:
        new = {
            v
            for v in values
            if isinstance(v, str)
            and v.strip()
            and v not in self._public
            and not _REGION.match(v)
            and not _IDENTIFIER.match(v)
        }
        with self._lock:
            if new <= self._values:
                return
            values_now = self._values | new
            long = {form for v in values_now if len(v) >= MIN_SUBSTRING for form in _quoted(v)}
            ordered = sorted(long, key=len, reverse=True)  # the longest match wins
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
            self._values = values_now

    def add_answer(self, answer: Any, markers: Collection[str] = ()) -> None:
        """The ``Environment`` values of an AWS answer (``environment_values``)."""
        self.add(environment_values(answer, markers))

    def text(self, text: str) -> str:
        """``text`` masked: ``[redacted]`` when it is a secret, else each long secret in it."""
        values, pattern = self._values, self._pattern
        if text in values:
            return REDACTED
        return pattern.sub(REDACTED, text) if pattern is not None else text

    def value(self, value: Any) -> Any:
        """A JSON-like value (or a dataclass of them) with every string in it masked."""
        if not self._values or value is None or isinstance(value, (Enum, bool, int, float)):
            return value
        if isinstance(value, str):
            return self.text(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.value(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in _KEEP
            }
            return dataclasses.replace(value, **changes)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def result(self, result: CheckResult) -> CheckResult:
        """``result`` (reason, details, evidence, findings, parts...) masked."""
        masked: CheckResult = self.value(result)
        return masked
