"""sagemaker-deployment-guardrails: a bad rollout of this endpoint would roll itself back.

Judged on the endpoint once InService and settled (see
``sagemaker_endpoint_status.endpoint_target``): DescribeEndpoint's ``LastDeploymentConfig`` (the
DeploymentConfig its last CreateEndpoint / UpdateEndpoint named) and, for the inference
components it serves, each component's own ``LastDeploymentConfig``:

- an update policy: blue/green (BlueGreenUpdatePolicy with CANARY or LINEAR traffic shifting,
  or ALL_AT_ONCE) or a rolling update (RollingUpdatePolicy), with a baking period
  (WaitIntervalInSeconds above 0: the time the alarms watch each step before the next). No
  LastDeploymentConfig at all means the last deployment named no guardrails: FAIL (an optional
  member AWS omits is "not set").
- ``AutoRollbackConfiguration`` with alarms, and each alarm (cloudwatch:DescribeAlarms) exists,
  is a metric alarm watching this endpoint (an ``EndpointName`` dimension naming it, and any
  ``VariantName`` one of its variants), has ActionsEnabled, and has not sat in
  INSUFFICIENT_DATA longer than --max-insufficient-data (it would never trip).

AWS's developer guide (Auto-Rollback Configuration and Monitoring): "If you do not have any
CloudWatch alarms set up to monitor your endpoint, then the auto-rollback functionality does not
work during your deployment." A guardrail naming a missing alarm fails quoting it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker._safety import Alarm, Guardrail, describe_alarms, guardrail
from soc2gate.checks.sagemaker._sagemaker import (
    _answer,
    component_variants,
    endpoint_components,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.durations import format_duration
from soc2gate.models import CheckResult

#: AWS SageMaker Developer Guide, "Auto-Rollback Configuration and Monitoring"
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
NO_ALARM_SENTENCE = (
    "If you do not have any CloudWatch alarms set up to monitor your endpoint, then the "
    "auto-rollback functionality does not work during your deployment."
)


@dataclass(frozen=True)
class Deployment:
    """One thing deployed with guardrails: the endpoint, or one inference component."""

    label: str
    guardrail: Guardrail | None


class SagemakerDeploymentGuardrails(EndpointTargetCheck):
    id = "sagemaker-deployment-guardrails"
    title = "The last deployment had guardrails that roll a bad rollout back"
    asserts = (
        "The endpoint's LastDeploymentConfig (and each inference component's own) used "
        "blue/green (canary or linear traffic shifting, or all at once) or a rolling update, "
        "with a baking period (WaitIntervalInSeconds above 0) and AutoRollbackConfiguration "
        "alarms; each alarm exists (cloudwatch:DescribeAlarms), is a metric alarm whose "
        "dimensions name this endpoint (and only its variants), has actions enabled, and has "
        "not been INSUFFICIENT_DATA longer than --max-insufficient-data; a missing "
        "LastDeploymentConfig is a failure; a missing alarm fails quoting AWS's documentation."
    )
    remediation = (
        "Deploy with aws sagemaker update-endpoint --deployment-config '{\"BlueGreenUpdatePolicy"
        '": {"TrafficRoutingConfiguration": {"Type": "CANARY", "CanarySize": {...}, '
        '"WaitIntervalInSeconds": 600}}, "AutoRollbackConfiguration": {"Alarms": '
        '[{"AlarmName": "..."}]}}\' naming CloudWatch metric alarms on this endpoint '
        "(EndpointName / VariantName dimensions, e.g. Invocation5XXErrors, ModelLatency) with "
        "actions enabled and TreatMissingData notBreaching, so they leave INSUFFICIENT_DATA."
    )
    soc2 = ("CC8.1", "CC7.2")
    default_enabled = False
    strict = True
    beyond = (
        "no Security Hub control or AWS Config rule judges deployment guardrails, rollback "
        "alarms or whether those alarms watch the endpoint"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        endpoint = target.endpoint
        raw = _answer(endpoint.raw, "DescribeEndpoint", endpoint.name)
        deployments: list[Deployment] = []
        served = component_variants(ctx, endpoint)
        if served:
            for c in endpoint_components(ctx, endpoint.name):
                answer = _answer(c.raw, "DescribeInferenceComponent", c.name)
                deployments.append(
                    Deployment(
                        f"inference component {c.name}",
                        guardrail(answer.obj("LastDeploymentConfig")),
                    )
                )
        models_named = any(
            v.name not in served
            for v in endpoint.variant_states or ()
            if not v.name.startswith("shadow ")
        )
        if models_named or not served:
            deployments.insert(
                0,
                Deployment(f"endpoint {endpoint.name}", guardrail(raw.obj("LastDeploymentConfig"))),
            )
        names = sorted({a for d in deployments if d.guardrail for a in d.guardrail.alarms})
        alarms = describe_alarms(ctx, names) if names else {}
        variants = {v for v in endpoint.variants if not v.startswith("shadow ")}
        result = evaluate(
            self,
            deployments,
            alarms,
            endpoint.name,
            variants,
            ctx.wall(),
            ctx.config.max_insufficient_data,
        )
        return target.cap(self, result)


def _alarm_problems(
    alarm: Alarm | None,
    name: str,
    endpoint: str,
    variants: set[str],
    now: float,
    max_insufficient: float,
) -> list[str]:
    if alarm is None:
        return [
            f"rollback alarm {name} does not exist (cloudwatch:DescribeAlarms): {NO_ALARM_SENTENCE}"
        ]
    problems = []
    if alarm.composite:
        problems.append(
            f"rollback alarm {name} is a composite alarm: which endpoint it watches cannot be "
            "read from its answer; name metric alarms on the endpoint"
        )
    else:
        named = {v for k, v in alarm.dimensions if k == "EndpointName"}
        if endpoint not in named:
            shown = ", ".join(sorted(named)) or "no EndpointName dimension"
            problems.append(
                f"rollback alarm {name} does not watch endpoint {endpoint} ({shown}): "
                f"{NO_ALARM_SENTENCE}"
            )
        others = sorted({v for k, v in alarm.dimensions if k == "VariantName"} - variants)
        if others:
            problems.append(
                f"rollback alarm {name} watches variant(s) {', '.join(others)}, not a variant "
                f"of endpoint {endpoint}"
            )
    if not alarm.actions_enabled:
        problems.append(f"rollback alarm {name} has ActionsEnabled false")
    if alarm.state == "INSUFFICIENT_DATA" and now - alarm.since > max_insufficient:
        problems.append(
            f"rollback alarm {name} has been INSUFFICIENT_DATA for "
            f"{format_duration(now - alarm.since)}, longer than --max-insufficient-data "
            f"{format_duration(max_insufficient)}: it would not trip during a rollout"
        )
    return problems


def evaluate(
    check: Check,
    deployments: Sequence[Deployment],
    alarms: Mapping[str, Alarm],
    endpoint: str,
    variants: set[str],
    now: float,
    max_insufficient: float,
) -> CheckResult:
    problems: list[str] = []
    lines: list[str] = []
    for d in deployments:
        g = d.guardrail
        if g is None:
            problems.append(
                f"{d.label}: its last deployment named no DeploymentConfig (no "
                "LastDeploymentConfig): no traffic shifting, baking period or automatic rollback"
            )
            continue
        lines.append(
            f"{d.label}: {g.kind or 'no update policy'}, wait {g.wait}s, rollback alarms "
            f"{', '.join(g.alarms) or 'none'}"
        )
        if not g.kind:
            problems.append(
                f"{d.label}: its last deployment named no BlueGreenUpdatePolicy or "
                "RollingUpdatePolicy"
            )
        elif g.wait <= 0:
            problems.append(
                f"{d.label}: its {g.kind} had no baking period (WaitIntervalInSeconds 0): the "
                "alarms had no time to trip before traffic moved on"
            )
        if not g.alarms:
            problems.append(f"{d.label}: no AutoRollbackConfiguration alarms: {NO_ALARM_SENTENCE}")
        for name in g.alarms:
            found = alarms.get(name)
            if found is not None:
                lines.append(
                    f"alarm {name}: {found.state}, actions "
                    f"{'enabled' if found.actions_enabled else 'disabled'}, "
                    + ", ".join(f"{k}={v}" for k, v in sorted(found.dimensions))
                )
            for problem in _alarm_problems(found, name, endpoint, variants, now, max_insufficient):
                problems.append(f"{d.label}: {problem}")
    evidence = {"deployments": lines, "alarms": sorted(alarms)}
    if problems:
        return check.failed("; ".join(dict.fromkeys(problems)), details=lines, evidence=evidence)
    return check.passed(
        f"{len(deployments)} deployment(s) with guardrails and "
        f"{len(alarms)} rollback alarm(s) watching endpoint {endpoint}",
        details=lines,
        evidence=evidence,
    )
