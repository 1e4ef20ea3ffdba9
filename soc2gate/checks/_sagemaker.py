"""Fetchers for SageMaker endpoints, endpoint configs and models, as typed values.

Fail closed on the shape of an answer: a field the verdict reads that is missing, null or of
the wrong type is never replaced by a default ("" / [] / {}). Wrong types always raise
``UnreadableResponse``; a missing optional field is kept as ``None`` (or "") where a check
decides what its absence means, and raises where every reader needs it (EndpointName,
EndpointStatus, the ProductionVariants of an endpoint config, a ListModels page's Models...).
``UnreadableResponse`` is a ``soc2gate.errors.UnreadableAnswer``: the runner reports it as
ERROR "could not read the AWS answer: <operation> '<name>': <field> is ...".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from soc2gate.aws import error_code
from soc2gate.checks.base import CheckContext
from soc2gate.config import GateConfig
from soc2gate.errors import UnreadableAnswer

T = TypeVar("T")

_KIND_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


class UnreadableResponse(UnreadableAnswer):
    """A SageMaker answer lacks a field the verdict needs, or holds it with the wrong type."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class _Answer:
    """One object of an AWS answer, read strictly; ``path`` names it in error messages."""

    data: Mapping[str, Any]
    source: str  # "DescribeEndpoint 'name'"
    path: str = ""  # "" or "ProductionVariants[0]."

    def unreadable(self, key: str, problem: str) -> UnreadableResponse:
        return UnreadableResponse(f"{self.source}: {self.path}{key} {problem}")

    def get(self, key: str, kind: type[T], *, required: bool = False) -> T | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.unreadable(key, "is missing" if key not in self.data else "is null")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.unreadable(key, f"is {_kind(value)}, not {_KIND_NAMES.get(kind, kind)}")
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        return self.get(key, str, required=required)

    def obj(self, key: str, *, required: bool = False) -> _Answer | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Answer(value, self.source, f"{self.path}{key}.")

    def objs(self, key: str, *, required: bool = False) -> list[_Answer] | None:
        """A list of objects; an entry that is not an object (null, a string...) raises."""
        items = self.get(key, list, required=required)
        if items is None:
            return None
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.unreadable(f"{key}[{i}]", f"is {_kind(item)}, not an object")
            out.append(_Answer(item, self.source, f"{self.path}{key}[{i}]."))
        return out


def _answer(resp: Any, operation: str, subject: str) -> _Answer:
    source = f"{operation} {subject!r}" if subject else operation
    if not isinstance(resp, Mapping):
        raise UnreadableResponse(f"{source}: the answer is {_kind(resp)}")
    return _Answer(resp, source)


def endpoint_unconfigured(config: GateConfig) -> str | None:
    """Why checks of the endpoint are skipped (None when --endpoint is given)."""
    return None if config.endpoint else "not configured: no --endpoint given"


@dataclass(frozen=True)
class VariantState:
    """What DescribeEndpoint says about one production or shadow variant's rollout.

    ``None`` means DescribeEndpoint did not report the field; whether that matters is
    decided by ``sagemaker_endpoint_status.judge_endpoint``.
    """

    name: str  # "AllTraffic", or "shadow Canary"
    current_instances: int | None = None
    desired_instances: int | None = None
    #: CurrentServerlessConfig / DesiredServerlessConfig as sorted (key, value) pairs.
    current_serverless: tuple[tuple[str, Any], ...] | None = None
    desired_serverless: tuple[tuple[str, Any], ...] | None = None
    #: VariantStatus entries: (Status, StatusMessage). Empty when the variant is settled.
    statuses: tuple[tuple[str, str], ...] = ()

    @property
    def serverless(self) -> bool:
        return self.current_serverless is not None or self.desired_serverless is not None


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str
    #: AWS's FailureReason with surrounding whitespace trimmed ("" when there is none).
    failure_reason: str
    #: "" when DescribeEndpoint did not report one (checks that need it say "could not read").
    config_name: str
    pending_config_name: str
    creation_time: str
    last_modified_time: str
    deployed_images: tuple[tuple[str, str, str], ...]  # (variant, specified, resolved)
    #: Every production and shadow variant the endpoint reports ("shadow " before a shadow's).
    variants: tuple[str, ...] = ()
    #: The rollout state of each variant; None when DescribeEndpoint reported no
    #: ProductionVariants at all.
    variant_states: tuple[VariantState, ...] | None = None


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _instant(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float("-inf")


def is_endpoint_missing(exc: BaseException) -> bool:
    # SageMaker answers a missing endpoint with ValidationException "Could not find endpoint".
    return error_code(exc) == "ValidationException" and "could not find" in str(exc).lower()


def _serverless(variant: _Answer, key: str) -> tuple[tuple[str, Any], ...] | None:
    config = variant.get(key, dict)
    return None if config is None else tuple(sorted(config.items()))


def _variant_state(prefix: str, variant: _Answer) -> VariantState:
    statuses = []
    for entry in variant.objs("VariantStatus") or []:
        statuses.append(
            (entry.text("Status", required=True) or "", entry.text("StatusMessage") or "")
        )
    current = variant.get("CurrentInstanceCount", int)
    desired = variant.get("DesiredInstanceCount", int)
    for key, count in (("CurrentInstanceCount", current), ("DesiredInstanceCount", desired)):
        if count is not None and count < 0:
            raise variant.unreadable(key, f"is {count}, below 0")
    return VariantState(
        name=prefix + (variant.text("VariantName", required=True) or ""),
        current_instances=current,
        desired_instances=desired,
        current_serverless=_serverless(variant, "CurrentServerlessConfig"),
        desired_serverless=_serverless(variant, "DesiredServerlessConfig"),
        statuses=tuple(statuses),
    )


def parse_endpoint(resp: Any, name: str = "") -> Endpoint:
    """A DescribeEndpoint answer as an ``Endpoint``; ``UnreadableResponse`` when it can't be."""
    answer = _answer(resp, "DescribeEndpoint", name)
    states: list[VariantState] = []
    images: list[tuple[str, str, str]] = []
    production = answer.objs("ProductionVariants")
    # Shadow variants serve a copy of live traffic with their own images: they count too.
    for prefix, variants in (
        ("", production),
        ("shadow ", answer.objs("ShadowProductionVariants")),
    ):
        for variant in variants or []:
            state = _variant_state(prefix, variant)
            states.append(state)
            for image in variant.objs("DeployedImages") or []:
                images.append(
                    (
                        state.name,
                        image.text("SpecifiedImage") or "",
                        image.text("ResolvedImage") or "",
                    )
                )
    pending = answer.obj("PendingDeploymentSummary")
    return Endpoint(
        name=answer.text("EndpointName", required=True) or "",
        arn=answer.text("EndpointArn") or "",
        status=answer.text("EndpointStatus", required=True) or "",
        failure_reason=(answer.text("FailureReason") or "").strip(),
        config_name=answer.text("EndpointConfigName") or "",
        pending_config_name=(
            (pending.text("EndpointConfigName", required=True) or "") if pending else ""
        ),
        creation_time=_iso(answer.data.get("CreationTime")),
        last_modified_time=_iso(answer.data.get("LastModifiedTime")),
        deployed_images=tuple(images),
        variants=tuple(s.name for s in states),
        variant_states=None if production is None else tuple(states),
    )


def describe_endpoint(sagemaker: Any, name: str) -> Endpoint | None:
    """None when the endpoint does not exist (yet); other errors propagate.

    An answer that lacks EndpointName or EndpointStatus, or holds a field of the wrong type,
    raises ``UnreadableResponse``.
    """
    try:
        resp = sagemaker.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if is_endpoint_missing(exc):
            return None
        raise
    return parse_endpoint(resp, name)


@dataclass(frozen=True)
class Variant:
    name: str
    #: "" when the variant names no model (inference components, which the gate does not read).
    model_name: str
    #: "" when the variant reports no InstanceType (serverless and instance-pool variants).
    instance_type: str
    serverless: bool
    pool_types: tuple[str, ...]
    shadow: bool


def describe_endpoint_config(ctx: CheckContext, name: str) -> tuple[Variant, ...]:
    """Variants (production and shadow) of an endpoint config; memoised, configs are immutable.

    ProductionVariants is required: an answer without it raises ``UnreadableResponse``.
    """

    def fetch() -> tuple[Variant, ...]:
        resp = ctx.clients("sagemaker").describe_endpoint_config(EndpointConfigName=name)
        answer = _answer(resp, "DescribeEndpointConfig", name)
        out = []
        for shadow, key in ((False, "ProductionVariants"), (True, "ShadowProductionVariants")):
            for v in answer.objs(key, required=not shadow) or []:
                out.append(
                    Variant(
                        name=v.text("VariantName", required=True) or "",
                        model_name=v.text("ModelName") or "",
                        instance_type=v.text("InstanceType") or "",
                        serverless=v.obj("ServerlessConfig") is not None,
                        pool_types=tuple(
                            p.text("InstanceType", required=True) or ""
                            for p in v.objs("InstancePools") or []
                        ),
                        shadow=shadow,
                    )
                )
        return tuple(out)

    return ctx.memo(("endpoint-config", name), fetch)


def current_config_names(endpoint: Endpoint) -> tuple[str, ...]:
    """The config serving now and, during an update, the one about to serve."""
    names = [endpoint.config_name, endpoint.pending_config_name]
    return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class ContainerEnv:
    where: str  # "PrimaryContainer" or "Containers[1]"
    image: str
    #: None when DescribeModel reported no Environment for this container (could not read).
    environment: dict[str, str] | None


@dataclass(frozen=True)
class Model:
    name: str
    arn: str
    containers: tuple[ContainerEnv, ...]


def _container(where: str, container: _Answer) -> ContainerEnv:
    environment = container.get("Environment", dict)
    if environment is not None:
        for key, value in environment.items():
            # Neither the key nor the value is named: model environments hold secrets.
            if not isinstance(key, str) or not isinstance(value, str):
                bad = key if not isinstance(key, str) else value
                raise container.unreadable("Environment", f"holds {_kind(bad)}, not a string")
    return ContainerEnv(
        where, container.text("Image") or "", None if environment is None else dict(environment)
    )


def describe_model(ctx: CheckContext, name: str) -> Model:
    def fetch() -> Model:
        resp = ctx.clients("sagemaker").describe_model(ModelName=name)
        answer = _answer(resp, "DescribeModel", name)
        containers: list[ContainerEnv] = []
        primary = answer.obj("PrimaryContainer")
        if primary is not None:
            containers.append(_container("PrimaryContainer", primary))
        for i, c in enumerate(answer.objs("Containers") or []):
            containers.append(_container(f"Containers[{i}]", c))
        return Model(
            name=answer.text("ModelName", required=True) or "",
            arn=answer.text("ModelArn") or "",
            containers=tuple(containers),
        )

    return ctx.memo(("model", name), fetch)


def newest_model_containing(sagemaker: Any, text: str) -> tuple[str | None, int]:
    """(newest model whose name contains text, how many matched).

    NameContains and SortBy are passed to AWS to cut the pages, but the filter and the sort are
    done here again: some implementations (moto among them) ignore both. A page without Models,
    or a model without ModelName or CreationTime, raises ``UnreadableResponse``: "newest" cannot
    be told without them.
    """
    matches: list[tuple[Any, str]] = []
    paginator = sagemaker.get_paginator("list_models")
    for page in paginator.paginate(
        NameContains=text, SortBy="CreationTime", SortOrder="Descending"
    ):
        for m in _answer(page, "ListModels", "").objs("Models", required=True) or []:
            name = m.text("ModelName", required=True) or ""
            if text in name:
                created = m.data.get("CreationTime")
                if created is None:
                    raise m.unreadable("CreationTime", "is missing")
                if not hasattr(created, "timestamp"):
                    raise m.unreadable("CreationTime", f"is {_kind(created)}, not a timestamp")
                matches.append((created, name))
    if not matches:
        return None, 0
    # Compare instants, not ISO strings: botocore returns CreationTime in the local time zone,
    # whose UTC offset changes across DST, so string order is not time order.
    matches.sort(key=lambda item: (_instant(item[0]), item[1]), reverse=True)
    return matches[0][1], len(matches)


def endpoint_models(ctx: CheckContext, endpoint: Endpoint) -> tuple[Model, ...]:
    """The models behind the endpoint's current (and pending) config, each once, in order."""
    names = dict.fromkeys(
        v.model_name
        for config_name in current_config_names(endpoint)
        for v in describe_endpoint_config(ctx, config_name)
        if v.model_name
    )
    return tuple(describe_model(ctx, name) for name in names)
