"""Fetchers for the deployment safety checks: CloudWatch alarms, Application Auto Scaling
targets, KMS keys and SageMaker model cards, as typed values, read as strictly as
``_sagemaker`` reads SageMaker (a field the verdict reads that is missing, null or mistyped is
``UnreadableResponse``: "could not read", never "nothing found"). Plus the parsers of the
SageMaker members only these checks judge (DataCaptureConfig, VpcConfig, DeploymentConfig),
which read the answers ``_sagemaker`` memoised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from soc2gate.checks.base import CheckContext
from soc2gate.checks.sagemaker._sagemaker import UnreadableResponse, _Answer, _answer, _kind

# ---- SageMaker members ---------------------------------------------------------------------


@dataclass(frozen=True)
class DataCapture:
    """DescribeEndpointConfig's DataCaptureConfig."""

    enabled: bool
    percent: int
    destination: str
    #: "" when the member is absent: captured data is then encrypted with S3's default only.
    kms_key: str
    modes: tuple[str, ...]


def data_capture(config: _Answer) -> DataCapture | None:
    """None when the config has no DataCaptureConfig (capture is off). EnableCapture is
    optional and "defaults to enabled" (SageMaker API reference, DataCaptureConfig);
    InitialSamplingPercentage, DestinationS3Uri and CaptureOptions are required."""
    capture = config.obj("DataCaptureConfig")
    if capture is None:
        return None
    enabled = capture.get("EnableCapture", bool)
    percent = capture.get("InitialSamplingPercentage", int, required=True)
    assert percent is not None
    if not 0 <= percent <= 100:
        raise capture.unreadable("InitialSamplingPercentage", f"is {percent}, not 0 to 100")
    options = capture.objs("CaptureOptions", required=True) or []
    return DataCapture(
        enabled=True if enabled is None else enabled,
        percent=percent,
        destination=capture.text("DestinationS3Uri", required=True) or "",
        kms_key=capture.text("KmsKeyId") or "",
        modes=tuple(o.text("CaptureMode", required=True) or "" for o in options),
    )


@dataclass(frozen=True)
class Network:
    """EnableNetworkIsolation and VpcConfig of a model (or of an endpoint config, for the
    containers of inference components that name no model)."""

    isolated: bool
    #: None when there is no VpcConfig (the container runs in SageMaker's own network).
    subnets: tuple[str, ...] | None
    security_groups: tuple[str, ...] | None


def _strings(answer: _Answer, key: str) -> tuple[str, ...]:
    values = answer.get(key, list, required=True)
    assert values is not None
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise answer.unreadable(f"{key}[{i}]", f"is {_kind(value)}, not a non-empty string")
    return tuple(values)


def network(answer: _Answer) -> Network:
    """EnableNetworkIsolation is optional and false when absent (the API reference's default);
    a VpcConfig present needs both SecurityGroupIds and Subnets."""
    vpc = answer.obj("VpcConfig")
    return Network(
        isolated=bool(answer.get("EnableNetworkIsolation", bool)),
        subnets=_strings(vpc, "Subnets") if vpc is not None else None,
        security_groups=_strings(vpc, "SecurityGroupIds") if vpc is not None else None,
    )


@dataclass(frozen=True)
class Guardrail:
    """One DeploymentConfig (DescribeEndpoint's, or an inference component's own)."""

    #: "blue/green CANARY", "blue/green LINEAR", "blue/green ALL_AT_ONCE", "rolling update",
    #: or "" when the config names no update policy.
    kind: str
    #: Seconds SageMaker waits (bakes) between steps while the alarms are watched.
    wait: int
    alarms: tuple[str, ...]
    #: False when AutoRollbackConfiguration is absent.
    rollback: bool


#: TrafficRoutingConfig.Type: every value AWS defines; another is an answer not read.
TRAFFIC_TYPES = ("CANARY", "LINEAR", "ALL_AT_ONCE")


def guardrail(config: _Answer | None) -> Guardrail | None:
    """A LastDeploymentConfig, or None when the answer has none (the last deployment named no
    DeploymentConfig: not set)."""
    if config is None:
        return None
    kind, wait = "", 0
    blue_green = config.obj("BlueGreenUpdatePolicy")
    rolling = config.obj("RollingUpdatePolicy")
    if blue_green is not None and rolling is not None:
        raise config.unreadable(
            "BlueGreenUpdatePolicy",
            "and RollingUpdatePolicy are both set: which one ran is unknown",
        )
    if blue_green is not None:
        routing = blue_green.obj("TrafficRoutingConfiguration", required=True)
        assert routing is not None
        kind_of = routing.text("Type", required=True) or ""
        if kind_of not in TRAFFIC_TYPES:
            raise routing.unreadable(
                "Type", f"is {kind_of!r}, not one of {', '.join(TRAFFIC_TYPES)}"
            )
        kind = f"blue/green {kind_of}"
        wait = routing.get("WaitIntervalInSeconds", int, required=True) or 0
    elif rolling is not None:
        rolling.obj("MaximumBatchSize", required=True)
        kind = "rolling update"
        wait = rolling.get("WaitIntervalInSeconds", int, required=True) or 0
    rollback = config.obj("AutoRollbackConfiguration")
    alarms: list[str] = []
    if rollback is not None:
        for alarm in rollback.objs("Alarms") or []:
            alarms.append(alarm.text("AlarmName", required=True) or "")
    return Guardrail(kind, wait, tuple(dict.fromkeys(alarms)), rollback is not None)


# ---- CloudWatch alarms ---------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    name: str
    composite: bool
    actions_enabled: bool
    state: str
    #: When the alarm entered its state (StateTransitionedTimestamp, else StateUpdatedTimestamp),
    #: seconds since the epoch.
    since: float
    #: Every (Name, Value) dimension of the metric(s) it watches.
    dimensions: frozenset[tuple[str, str]]


#: StateValue: every value CloudWatch defines.
ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def _timestamp(answer: _Answer, *keys: str) -> float:
    for key in keys:
        value = answer.data.get(key)
        if value is None:
            continue
        if not hasattr(value, "timestamp"):
            raise answer.unreadable(key, f"is {_kind(value)}, not a timestamp")
        return float(value.timestamp())
    raise answer.unreadable(keys[-1], "is missing")


def _alarm(entry: _Answer, composite: bool) -> Alarm:
    state = entry.text("StateValue", required=True) or ""
    if state not in ALARM_STATES:
        raise entry.unreadable("StateValue", f"is {state!r}, not one of {', '.join(ALARM_STATES)}")
    enabled = entry.get("ActionsEnabled", bool, required=True)
    dimensions: set[tuple[str, str]] = set()

    def add(holder: _Answer) -> None:
        for d in holder.objs("Dimensions") or []:
            dimensions.add(
                (d.text("Name", required=True) or "", d.text("Value", required=True) or "")
            )

    if not composite:
        add(entry)
        for query in entry.objs("Metrics") or []:
            stat = query.obj("MetricStat")
            metric = stat.obj("Metric", required=True) if stat is not None else None
            if metric is not None:
                add(metric)
    return Alarm(
        name=entry.text("AlarmName", required=True) or "",
        composite=composite,
        actions_enabled=bool(enabled),
        state=state,
        # StateTransitionedTimestamp is when the state last changed; older answers only carry
        # StateUpdatedTimestamp (also moved by a change of EvaluationState).
        since=_timestamp(entry, "StateTransitionedTimestamp", "StateUpdatedTimestamp"),
        dimensions=frozenset(dimensions),
    )


def describe_alarms(ctx: CheckContext, names: Sequence[str]) -> dict[str, Alarm]:
    """The alarms CloudWatch has of ``names`` (metric and composite), by name; a name it does
    not answer is not in the result (the alarm does not exist). Every page is read."""
    found: dict[str, Alarm] = {}
    cloudwatch = ctx.clients("cloudwatch")
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        answer = _answer(page, "DescribeAlarms", ", ".join(names))
        for composite, key in ((False, "MetricAlarms"), (True, "CompositeAlarms")):
            for entry in answer.objs(key) or []:
                alarm = _alarm(entry, composite)
                if alarm.name in names:  # an implementation that ignores the filter
                    found[alarm.name] = alarm
    return found


# ---- Application Auto Scaling --------------------------------------------------------------

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def variant_resource(endpoint: str, variant: str) -> str:
    """The ResourceId Application Auto Scaling gives a SageMaker variant."""
    return f"endpoint/{endpoint}/variant/{variant}"


def scalable_targets(ctx: CheckContext, resources: Sequence[str]) -> dict[str, int]:
    """ResourceId -> MinCapacity of the variants' registered scalable targets (every page);
    a variant without one is not in the result."""
    found: dict[str, int] = {}
    client = ctx.clients("application-autoscaling")
    for page in client.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="sagemaker",
        ResourceIds=list(resources),
        ScalableDimension=SCALABLE_DIMENSION,
    ):
        answer = _answer(page, "DescribeScalableTargets", ", ".join(resources))
        for target in answer.objs("ScalableTargets", required=True) or []:
            resource = target.text("ResourceId", required=True) or ""
            dimension = target.text("ScalableDimension", required=True) or ""
            if resource not in resources or dimension != SCALABLE_DIMENSION:
                continue  # an implementation that ignores the filter
            minimum = target.get("MinCapacity", int, required=True)
            assert minimum is not None
            found[resource] = minimum
    return found


# ---- KMS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    arn: str
    #: KeyState (Enabled, Disabled, PendingDeletion...); "" when not reported.
    state: str


def describe_key(ctx: CheckContext, key: str) -> Key:
    """kms:DescribeKey of a key id, key ARN, alias name or alias ARN: the key's ARN, so an
    alias and the key it names compare equal. Memoised (one call per key per run)."""

    def fetch() -> Key:
        resp = ctx.clients("kms").describe_key(KeyId=key)
        metadata = _answer(resp, "DescribeKey", key).obj("KeyMetadata", required=True)
        assert metadata is not None
        return Key(
            arn=metadata.text("Arn", required=True) or "", state=metadata.text("KeyState") or ""
        )

    found: Key = ctx.memo(("kms-key", key), fetch)
    return found


def key_problems(ctx: CheckContext, label: str, key: str, allowed: Iterable[str]) -> list[str]:
    """What is wrong with ``key`` (the KmsKeyId ``label`` names) under --allowed-kms-key:
    not one of the allowed keys, or not Enabled. Nothing is read without an allow-list."""
    allowed = tuple(allowed)
    if not allowed:
        return []
    resolved = describe_key(ctx, key)
    problems = []
    if resolved.arn not in {describe_key(ctx, a).arn for a in allowed}:
        problems.append(
            f"{label} {key} is key {resolved.arn}, not one of --allowed-kms-key "
            f"({', '.join(allowed)})"
        )
    if resolved.state and resolved.state != "Enabled":
        problems.append(f"{label} {key} is {resolved.state}, not Enabled")
    return problems


# ---- model cards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCard:
    name: str
    arn: str
    status: str
    #: model_package_details.model_package_arn of the (metadata-only) content, "" if absent.
    package_arn: str
    #: ModelCardProcessingStatus (a deletion under way), "" when not reported.
    processing: str


#: ModelCardStatus: every value AWS defines.
CARD_STATES = ("Draft", "PendingReview", "Approved", "Archived")


def describe_model_card(ctx: CheckContext, name: str) -> ModelCard:
    """DescribeModelCard with IncludedData MetadataOnly: the status, and a content reduced to
    a few documented paths (model_package_details.model_package_arn among them), which needs
    no kms:Decrypt of a card encrypted with a customer key."""
    resp = ctx.clients("sagemaker").describe_model_card(
        ModelCardName=name, IncludedData="MetadataOnly"
    )
    answer = _answer(resp, "DescribeModelCard", name)
    status = answer.text("ModelCardStatus", required=True) or ""
    if status not in CARD_STATES:
        raise answer.unreadable("ModelCardStatus", f"is {status!r}, not one of {CARD_STATES}")
    package_arn = ""
    content = answer.text("Content")
    if content:
        try:
            document: Any = json.loads(content)
        except ValueError:
            raise answer.unreadable("Content", "is not JSON") from None
        details = document.get("model_package_details") if isinstance(document, dict) else None
        if details is not None:
            if not isinstance(details, dict):
                raise answer.unreadable("Content", "model_package_details is not an object")
            value = details.get("model_package_arn")
            if value is not None and not isinstance(value, str):
                raise answer.unreadable(
                    "Content", "model_package_details.model_package_arn is not a string"
                )
            package_arn = value or ""
    return ModelCard(
        name=answer.text("ModelCardName", required=True) or "",
        arn=answer.text("ModelCardArn") or "",
        status=status,
        package_arn=package_arn,
        processing=answer.text("ModelCardProcessingStatus") or "",
    )


def package_card_status(package_raw: Any, name: str) -> str:
    """ModelCard.ModelCardStatus of a DescribeModelPackage answer ("" when it has no card)."""
    answer = _answer(package_raw, "DescribeModelPackage", name)
    card = answer.obj("ModelCard")
    if card is None:
        return ""
    status = card.text("ModelCardStatus") or ""
    if status and status not in CARD_STATES:
        raise card.unreadable("ModelCardStatus", f"is {status!r}, not one of {CARD_STATES}")
    return status


__all__ = [
    "UnreadableResponse",
    "data_capture",
    "describe_alarms",
    "describe_key",
    "describe_model_card",
    "guardrail",
    "key_problems",
    "network",
    "scalable_targets",
]
