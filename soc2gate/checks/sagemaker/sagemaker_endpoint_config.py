"""sagemaker-endpoint-config: every variant of the config the endpoint runs uses an allowed type.

The config judged is the one the endpoint runs once it is InService and settled: this check
waits for sagemaker-endpoint-status (``depends_on``) and judges the endpoint that check saw
pass, or polls DescribeEndpoint itself when that check is not in the run. While the endpoint
is rolling out, only the config it is heading to (PendingDeploymentSummary, or the config being
created) is judged early: a disallowed type there FAILs at once, anything else waits. An
endpoint that never reached InService is never passed (``Target.cap``).
"""

from __future__ import annotations

from collections.abc import Sequence

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker._sagemaker import (
    Variant,
    describe_endpoint_config,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.models import CheckResult


class SagemakerEndpointConfig(EndpointTargetCheck):
    id = "sagemaker-endpoint-config"
    title = "Endpoint config uses allowed instance types"
    asserts = (
        "Every production (and shadow) variant of the endpoint config the endpoint runs once "
        "InService and settled (judged after sagemaker-endpoint-status) runs on an allowed "
        "--instance-type; serverless and instance-pool variants are named; a config of an "
        "endpoint that did not reach InService never passes; an InstanceType that cannot be "
        "read is an error."
    )
    remediation = (
        "Create an endpoint config whose variants use an allowed instance type "
        "(aws sagemaker create-endpoint-config) and update the endpoint to it."
    )
    soc2 = ("CC8.1", "CC6.8")
    beyond = "no control restricts an endpoint's instance types"
    # Judges the endpoint sagemaker-endpoint-status saw InService (EndpointTargetCheck): one
    # DescribeEndpoint poller.

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        variants = {n: describe_endpoint_config(ctx, n) for n in target.config_names}
        return target.cap(self, evaluate(self, variants, ctx.config.instance_types))


def evaluate(
    check: Check, configs: dict[str, tuple[Variant, ...]], allowed: Sequence[str]
) -> CheckResult:
    """FAIL on a disallowed or serverless variant; ERROR when a variant's type can't be read."""
    problems: list[str] = []
    unreadable: list[str] = []
    lines: list[str] = []
    for config_name, variants in configs.items():
        if not variants:
            problems.append(f"{config_name} has no production variants")
        for v in variants:
            label = f"{config_name}/{v.name}" + (" (shadow)" if v.shadow else "")
            if v.serverless:
                problems.append(f"{label} is serverless (no instance type to check)")
                continue
            types = list(v.pool_types) or ([v.instance_type] if v.instance_type else [])
            if not types:
                unreadable.append(f"could not read the InstanceType of {label}")
                continue
            kind = "instance pool " if v.pool_types else ""
            bad = [t for t in types if t not in allowed]
            lines.append(f"{label}: {kind}{', '.join(types)}")
            if bad:
                problems.append(f"{label} uses {kind}{', '.join(bad)}")
    evidence = {"EndpointConfigNames": list(configs), "variants": lines}
    allowed_text = ", ".join(allowed)
    if problems:
        return check.failed(
            "; ".join(problems + unreadable) + f" (allowed: {allowed_text})",
            details=lines,
            evidence=evidence,
        )
    if unreadable:
        return check.error("; ".join(unreadable), details=lines, evidence=evidence)
    count = sum(len(v) for v in configs.values())
    return check.passed(
        f"all {count} variant(s) use allowed instance types ({allowed_text})",
        details=lines,
        evidence=evidence,
    )
