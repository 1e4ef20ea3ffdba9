"""Custom checks as data (config key ``custom_checks``, file only): parsing and validation.

A custom check is one read-only AWS call plus a JMESPath assertion over its answer::

    custom_checks:
      - id: model-network-isolation
        call: sagemaker.describe_model
        params: {ModelName: "{model}"}
        query: EnableNetworkIsolation
        expect: {equals: true}

Everything is validated here, when the config is loaded and before any AWS call, against
botocore's service model: the service and operation exist, the operation reads (Describe, List,
Get, BatchGet) and is on the allow-list of reads a deployment gate needs
(``soc2gate.custom_reads``: nothing that creates state or returns credentials, secrets or a
stream), every parameter is one the operation takes and required ones are given, every
``{placeholder}`` is known, every JMESPath expression compiles and every ``expect`` form is
well-formed. A problem is a ``ConfigError`` naming the check and the field. Running them is
``soc2gate.checks.custom``. Model environments an answer holds are masked by value in every
report (``soc2gate.redaction``), whatever the query.

This module sits beside ``config`` (it imports nothing of the gate above ``errors``).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from soc2gate.custom_reads import refusal
from soc2gate.errors import ConfigError

#: ``{name}`` in a parameter value; any other brace is literal.
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CHECK_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")

#: Placeholder -> the built-in check that resolves it ("" when the config or STS does).
PLACEHOLDERS: dict[str, str] = {
    "region": "",
    "account": "",
    "commit_sha": "",
    "repository": "ecr-repository-config",
    "gated_tag": "ecr-scan-findings",
    "gated_digest": "ecr-scan-findings",
    "endpoint": "sagemaker-endpoint-status",
    "endpoint_arn": "sagemaker-endpoint-status",
    "endpoint_config": "sagemaker-endpoint-status",
    "model": "sagemaker-endpoint-status",
}
#: What a placeholder needs configured; without it the custom check is skipped (never passed).
PLACEHOLDER_NEEDS: dict[str, str] = {
    "repository": "repository",
    "gated_tag": "repository",
    "gated_digest": "repository",
    "endpoint": "endpoint",
    "endpoint_arn": "endpoint",
    "endpoint_config": "endpoint",
    "model": "endpoint",
}

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet")

EXPECT_FORMS = ("equals", "in", "all_in", "matches", "at_least", "at_most", "jmespath")
SPEC_KEYS = (
    "id",
    "title",
    "call",
    "params",
    "query",
    "expect",
    "wait",
    "soc2",
    "remediation",
)
#: Pages followed at most for a paginated operation; more is an ERROR (narrow the call).
MAX_ITEMS = 1000


@dataclass(frozen=True)
class CustomCheckSpec:
    """One validated custom check, as the config file states it."""

    id: str
    title: str
    service: str  # boto3 client name: "sagemaker"
    method: str  # boto3 snake_case: "describe_model"
    operation: str  # the API name: "DescribeModel"
    iam_prefix: str  # "sagemaker"
    params: Mapping[str, Any]
    query: str  # "" only with expect {jmespath: ...}
    expect: tuple[str, Any]  # ("not_empty", None), ("equals", True), ...
    pending_when: str = ""
    soc2: tuple[str, ...] = ()
    remediation: str = ""
    paginated: bool = False

    @property
    def call(self) -> str:
        return f"{self.service}.{self.method}"

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_placeholders_in(self.params)))

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(PLACEHOLDERS[p] for p in self.placeholders if PLACEHOLDERS[p]))

    def expect_text(self) -> str:
        form, value = self.expect
        if form == "not_empty":
            return "not_empty"
        return f"{form}: {value if form in ('matches', 'jmespath') else json.dumps(value)}"

    def __str__(self) -> str:  # the evidence record stringifies config values it can't map
        return f"{self.id}: {self.call} {self.query} {self.expect_text()}"


def _placeholders_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in _placeholders_in(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _placeholders_in(v)]
    return []


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with every ``{placeholder}`` in its strings replaced."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, Mapping):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [fill(v, values) for v in value]
    return value


@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def _services() -> tuple[str, ...]:
    return tuple(_session().get_available_services())


@functools.cache
def service_model(service: str) -> Any:
    return _session().get_service_model(service)


def _jmespath(where: str, expr: Any) -> str:
    import jmespath
    import jmespath.exceptions

    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(f"{where}: expected a JMESPath expression (a string)")
    try:
        jmespath.compile(expr)
    except jmespath.exceptions.JMESPathError as exc:
        problem = " ".join(str(exc).split())
        raise ConfigError(f"{where}: invalid JMESPath {expr!r}: {problem}") from None
    return expr


def _scalar_or_list(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_scalar_or_list(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _scalar_or_list(v) for k, v in value.items())
    return False


def _expect(where: str, raw: Any) -> tuple[str, Any]:
    if raw == "not_empty":
        return ("not_empty", None)
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ConfigError(
            f"{where}: expected not_empty or a mapping with one of "
            f"{', '.join(EXPECT_FORMS)}, got {raw!r}"
        )
    ((form, value),) = raw.items()
    if form not in EXPECT_FORMS:
        close = difflib.get_close_matches(str(form), EXPECT_FORMS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: unknown form {form!r}{hint}")
    here = f"{where}.{form}"
    if form == "equals":
        if value is None or not _scalar_or_list(value):
            raise ConfigError(f"{here}: expected a value (string, number, boolean or list)")
    elif form in ("in", "all_in"):
        if not isinstance(value, list) or not value or not all(_scalar_or_list(v) for v in value):
            raise ConfigError(f"{here}: expected a non-empty list of values")
    elif form == "matches":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{here}: expected a regular expression (a string)")
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{here}: invalid regular expression {value!r}: {exc}") from None
    elif form in ("at_least", "at_most"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{here}: expected a number, got {value!r}")
    else:  # jmespath
        _jmespath(here, value)
    return (str(form), value)


def _params(where: str, raw: Any, operation: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of parameter names to values")
    shape = operation.input_shape
    members = dict(shape.members) if shape is not None else {}
    for key in raw:
        if key not in members:
            close = difflib.get_close_matches(str(key), list(members), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = f"; it takes {', '.join(members)}" if members and not close else ""
            raise ConfigError(
                f"{where}: {operation.name} has no parameter {key!r}{hint}{takes}"
                if members
                else f"{where}: {operation.name} takes no parameters, got {key!r}"
            )
    for name in getattr(shape, "required_members", None) or ():
        if name not in raw:
            raise ConfigError(f"{where}: {operation.name} requires {name}")
    for name in _placeholders_in(dict(raw)):
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(
                f"{where}: unknown placeholder {{{name}}}{hint}; known: {known}"
                if name
                else f"{where}: empty placeholder {{}}; known: {known}"
            )
    tag_read = _gated_tag_read(dict(raw))
    if tag_read:
        # The tag may have moved since ecr-scan-findings judged it: a read by tag would judge
        # whatever image it names when this check runs, not the gated image.
        raise ConfigError(
            f"{where}: {tag_read} reads the image {{gated_tag}} names when this check runs, "
            "which may not be the one ecr-scan-findings judged (a push can move the tag "
            'meanwhile): read the gated image by digest, imageDigest: "{gated_digest}"'
        )
    dummy = fill(dict(raw), {p: "placeholder" for p in PLACEHOLDERS})
    if shape is not None:
        from botocore.validate import ParamValidator

        report = ParamValidator().validate(dummy, shape)
        if report.has_errors():
            problem = " ".join(report.generate_report().split())
            raise ConfigError(f"{where}: {problem}")
    return dict(raw)


def _gated_tag_read(value: Any, path: str = "") -> str:
    """The parameter path of an ``imageTag`` whose value names ``{gated_tag}``, or ""."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "imageTag" and isinstance(item, str) and "{gated_tag}" in item:
                return here
            found = _gated_tag_read(item, here)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _gated_tag_read(item, f"{path}[{i}]")
            if found:
                return found
    return ""


def _call(where: str, raw: Any) -> tuple[str, str, Any]:
    """(service, method, operation model) of ``service.operation``."""
    from botocore import xform_name

    if not isinstance(raw, str) or raw.count(".") != 1:
        raise ConfigError(f"{where}: expected service.operation, e.g. sagemaker.describe_model")
    service, method = (part.strip() for part in raw.split("."))
    if service not in _services():
        close = difflib.get_close_matches(service, _services(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: unknown AWS service {service!r}{hint}")
    model = service_model(service)
    by_method = {xform_name(name): name for name in model.operation_names}
    if method not in by_method:
        close = difflib.get_close_matches(method, list(by_method), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: {service} has no operation {method!r}{hint}")
    operation = model.operation_model(by_method[method])
    name = operation.name
    if not name.startswith(READ_PREFIXES):
        raise ConfigError(
            f"{where}: {service}.{method} ({name}) is not read-only: custom checks may only "
            "call Describe*, List*, Get* and BatchGet* operations"
        )
    why = refusal(service, name)
    if why is None and operation.has_streaming_output:  # pragma: no cover - none is allowed
        why = "it returns a stream"
    if why is not None:
        raise ConfigError(f"{where}: {service}.{method} ({name}) is refused: {why}")
    return service, method, operation


def _soc2(where: str, raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ConfigError(f"{where}: expected a list of criteria, e.g. [CC6.1]")
    return tuple(i.strip() for i in items)


def _text(where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: expected a non-empty string")
    return " ".join(raw.split())


def parse_one(
    index: int, raw: Any, name: str = "custom_checks", *, answer_fields: bool = True
) -> CustomCheckSpec:
    """One validated custom check. ``answer_fields`` checks every field its JMESPath names
    against the operation's output shape (``custom_fields``); only tests of ``evaluate`` over
    made-up answers turn it off."""
    where = f"{name}[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping (id, call, query, expect, ...)")
    check_id = raw.get("id")
    if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
        raise ConfigError(f"{where}.id: expected a lower-kebab-case id, got {check_id!r}")
    where = f"{name}[{index}] ({check_id})"
    for key in raw:
        if key not in SPEC_KEYS:
            close = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")
    for key in ("call", "expect"):
        if raw.get(key) is None:
            raise ConfigError(f"{where}: {key} is required")
    service, method, operation = _call(f"{where} call", raw["call"])
    params = _params(f"{where} params", raw.get("params"), operation)
    expect = _expect(f"{where} expect", raw["expect"])
    query = raw.get("query")
    if query is None:
        if expect[0] != "jmespath":
            raise ConfigError(f"{where}: query is required (a JMESPath over the response)")
        query = ""
    else:
        query = _jmespath(f"{where} query", query)
    pending_when = ""
    if raw.get("wait") is not None:
        wait = raw["wait"]
        if not isinstance(wait, Mapping) or set(wait) != {"pending_when"}:
            raise ConfigError(f"{where} wait: expected {{pending_when: EXPR}}")
        pending_when = _jmespath(f"{where} wait.pending_when", wait["pending_when"])
    if answer_fields:
        # A field the answer cannot hold reads as null, silently: a typo would judge nothing.
        from soc2gate.custom_fields import check_fields

        output = operation.output_shape
        check_fields(f"{where} query", query, output)
        if expect[0] == "jmespath":
            check_fields(f"{where} expect.jmespath", str(expect[1]), output)
        check_fields(f"{where} wait.pending_when", pending_when, output)
    title = _text(f"{where} title", raw["title"]) if "title" in raw else f"{raw['call']} {query}"
    soc2 = _soc2(f"{where} soc2", raw["soc2"]) if "soc2" in raw else ()
    remediation = _text(f"{where} remediation", raw["remediation"]) if "remediation" in raw else ""
    model = service_model(service)
    return CustomCheckSpec(
        id=check_id,
        title=title,
        service=service,
        method=method,
        operation=operation.name,
        iam_prefix=str(model.signing_name or model.endpoint_prefix),
        params=params,
        query=query,
        expect=expect,
        pending_when=pending_when,
        soc2=soc2,
        remediation=remediation,
        paginated=_paginated(service, operation.name),
    )


def _paginated(service: str, operation: str) -> bool:
    import botocore.exceptions

    try:
        _session().get_paginator_model(service).get_paginator(operation)
    except (
        ValueError,
        botocore.exceptions.UnknownServiceError,
        botocore.exceptions.DataNotFoundError,
    ):
        return False
    return True


def parse(name: str, raw: Any, *, answer_fields: bool = True) -> tuple[CustomCheckSpec, ...]:
    """The ``custom_checks`` config value: a list of check mappings, ids unique."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{name}: expected a non-empty list of check mappings")
    specs = tuple(
        parse_one(i, item, name, answer_fields=answer_fields) for i, item in enumerate(raw)
    )
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.id in seen:
            raise ConfigError(f"{name}[{i}] ({spec.id}).id: two custom checks have this id")
        seen.add(spec.id)
    return specs


def check_clashes(specs: tuple[CustomCheckSpec, ...], builtin: set[str]) -> None:
    for i, spec in enumerate(specs):
        if spec.id in builtin:
            raise ConfigError(
                f"custom_checks[{i}] ({spec.id}).id: clashes with the built-in check of that id"
            )
