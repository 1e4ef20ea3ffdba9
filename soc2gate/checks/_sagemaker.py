"""Fetchers for SageMaker endpoints, endpoint configs and models, as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soc2gate.aws import error_code
from soc2gate.checks.base import CheckContext
from soc2gate.config import GateConfig


def endpoint_unconfigured(config: GateConfig) -> str | None:
    """Why checks of the endpoint are skipped (None when --endpoint is given)."""
    return None if config.endpoint else "not configured: no --endpoint given"


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str
    failure_reason: str
    config_name: str
    pending_config_name: str
    creation_time: str
    last_modified_time: str
    deployed_images: tuple[tuple[str, str, str], ...]  # (variant, specified, resolved)
    #: Every production and shadow variant the endpoint reports ("shadow " before a shadow's).
    variants: tuple[str, ...] = ()


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _instant(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float("-inf")


def is_endpoint_missing(exc: BaseException) -> bool:
    # SageMaker answers a missing endpoint with ValidationException "Could not find endpoint".
    return error_code(exc) == "ValidationException" and "could not find" in str(exc).lower()


def describe_endpoint(sagemaker: Any, name: str) -> Endpoint | None:
    """None when the endpoint does not exist (yet); other errors propagate."""
    try:
        resp = sagemaker.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if is_endpoint_missing(exc):
            return None
        raise
    # Shadow variants serve a copy of live traffic with their own images: they count too.
    variants = [
        (prefix + str(v.get("VariantName", "")), v)
        for prefix, key in (("", "ProductionVariants"), ("shadow ", "ShadowProductionVariants"))
        for v in resp.get(key) or []
    ]
    images = tuple(
        (name, str(i.get("SpecifiedImage", "")), str(i.get("ResolvedImage", "")))
        for name, v in variants
        for i in v.get("DeployedImages") or []
    )
    return Endpoint(
        name=resp["EndpointName"],
        arn=resp.get("EndpointArn", ""),
        status=str(resp.get("EndpointStatus", "")),
        failure_reason=str(resp.get("FailureReason", "") or ""),
        config_name=str(resp.get("EndpointConfigName", "") or ""),
        pending_config_name=str(
            (resp.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", "") or ""
        ),
        creation_time=_iso(resp.get("CreationTime")),
        last_modified_time=_iso(resp.get("LastModifiedTime")),
        deployed_images=images,
        variants=tuple(name for name, _ in variants),
    )


@dataclass(frozen=True)
class Variant:
    name: str
    model_name: str
    instance_type: str
    serverless: bool
    pool_types: tuple[str, ...]
    shadow: bool


def describe_endpoint_config(ctx: CheckContext, name: str) -> tuple[Variant, ...]:
    """Variants (production and shadow) of an endpoint config; memoised, configs are immutable."""

    def fetch() -> tuple[Variant, ...]:
        resp = ctx.clients("sagemaker").describe_endpoint_config(EndpointConfigName=name)
        out = []
        for shadow, key in ((False, "ProductionVariants"), (True, "ShadowProductionVariants")):
            for v in resp.get(key) or []:
                out.append(
                    Variant(
                        name=str(v.get("VariantName", "")),
                        model_name=str(v.get("ModelName", "") or ""),
                        instance_type=str(v.get("InstanceType", "") or ""),
                        serverless=bool(v.get("ServerlessConfig")),
                        pool_types=tuple(
                            str(p.get("InstanceType", "")) for p in v.get("InstancePools") or []
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
    environment: dict[str, str]


@dataclass(frozen=True)
class Model:
    name: str
    arn: str
    containers: tuple[ContainerEnv, ...]


def describe_model(ctx: CheckContext, name: str) -> Model:
    def fetch() -> Model:
        resp = ctx.clients("sagemaker").describe_model(ModelName=name)
        containers: list[ContainerEnv] = []
        primary = resp.get("PrimaryContainer")
        if primary:
            containers.append(
                ContainerEnv(
                    "PrimaryContainer",
                    str(primary.get("Image", "")),
                    dict(primary.get("Environment") or {}),
                )
            )
        for i, c in enumerate(resp.get("Containers") or []):
            containers.append(
                ContainerEnv(
                    f"Containers[{i}]", str(c.get("Image", "")), dict(c.get("Environment") or {})
                )
            )
        return Model(
            name=str(resp["ModelName"]),
            arn=str(resp.get("ModelArn", "")),
            containers=tuple(containers),
        )

    return ctx.memo(("model", name), fetch)


def newest_model_containing(sagemaker: Any, text: str) -> tuple[str | None, int]:
    """(newest model whose name contains text, how many matched).

    NameContains and SortBy are passed to AWS to cut the pages, but the filter and the sort are
    done here again: some implementations (moto among them) ignore both.
    """
    matches: list[tuple[Any, str]] = []
    paginator = sagemaker.get_paginator("list_models")
    for page in paginator.paginate(
        NameContains=text, SortBy="CreationTime", SortOrder="Descending"
    ):
        for m in page.get("Models") or []:
            name = str(m.get("ModelName", ""))
            if text in name:
                matches.append((m.get("CreationTime"), name))
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
