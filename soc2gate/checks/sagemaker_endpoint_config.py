"""sagemaker-endpoint-config: every variant of the endpoint's current config uses an allowed type."""

from __future__ import annotations

from collections.abc import Sequence

from soc2gate.checks._sagemaker import (
    Variant,
    current_config_names,
    describe_endpoint,
    describe_endpoint_config,
    endpoint_unconfigured,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker_endpoint_status import endpoint_missing
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult


class SagemakerEndpointConfig(Check):
    id = "sagemaker-endpoint-config"
    title = "Endpoint config uses allowed instance types"
    asserts = (
        "Every production (and shadow) variant of the endpoint's current endpoint config runs "
        "on an allowed --instance-type; serverless and instance-pool variants are named."
    )
    remediation = (
        "Create an endpoint config whose variants use an allowed instance type "
        "(aws sagemaker create-endpoint-config) and update the endpoint to it."
    )
    soc2 = ("CC8.1", "CC6.8")

    def skip_reason(self, config: GateConfig) -> str | None:
        return endpoint_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        name = ctx.config.endpoint or ""
        endpoint = describe_endpoint(ctx.clients("sagemaker"), name)
        if endpoint is None:
            return endpoint_missing(self, ctx, name)
        names = current_config_names(endpoint)
        if not names:
            return self.error(f"endpoint {name} reports no EndpointConfigName")
        variants = {n: describe_endpoint_config(ctx, n) for n in names}
        return evaluate(self, variants, ctx.config.instance_types)


def evaluate(
    check: Check, configs: dict[str, tuple[Variant, ...]], allowed: Sequence[str]
) -> CheckResult:
    problems: list[str] = []
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
                problems.append(f"{label} has no instance type")
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
            "; ".join(problems) + f" (allowed: {allowed_text})", details=lines, evidence=evidence
        )
    count = sum(len(v) for v in configs.values())
    return check.passed(
        f"all {count} variant(s) use allowed instance types ({allowed_text})",
        details=lines,
        evidence=evidence,
    )
