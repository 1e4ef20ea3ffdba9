"""sagemaker-model-env: the deployed models carry the SOC 2 environment markers.

Model environments hold secrets. Only the *required* keys are ever named with their values;
every other key is neither printed nor put in evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from soc2gate.checks._sagemaker import (
    Model,
    current_config_names,
    describe_endpoint,
    describe_endpoint_config,
    describe_model,
    newest_model_containing,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker_endpoint_status import endpoint_missing
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult


class SagemakerModelEnv(Check):
    id = "sagemaker-model-env"
    title = "Models carry the SOC 2 environment markers"
    asserts = (
        "Every container (PrimaryContainer and each Containers entry) of the models behind the "
        "endpoint's current config, or of the newest model matching --model-name-contains, has "
        "each --require-env KEY=VALUE."
    )
    remediation = (
        "Register a new model whose container Environment sets the markers (e.g. "
        "SOC2_COMPLIANT=true, SECURITY_HARDENED=true), then deploy it through a new endpoint config."
    )
    soc2 = ("CC8.1", "CC2.1")

    def skip_reason(self, config: GateConfig) -> str | None:
        if not config.require_env:
            return "not configured: no --require-env markers"
        if config.model_name_contains or config.endpoint:
            return None
        return "not configured: no --endpoint or --model-name-contains given"

    def run(self, ctx: CheckContext) -> CheckResult:
        config = ctx.config
        sagemaker = ctx.clients("sagemaker")
        if config.model_name_contains:
            newest, matched = newest_model_containing(sagemaker, config.model_name_contains)
            if newest is None:
                return self.failed(f"no model name contains {config.model_name_contains!r}")
            names: Sequence[str] = (newest,)
            source = f"newest of {matched} model(s) matching {config.model_name_contains!r}"
        else:
            endpoint = describe_endpoint(sagemaker, config.endpoint or "")
            if endpoint is None:
                return endpoint_missing(self, ctx, config.endpoint or "")
            config_names = current_config_names(endpoint)
            if not config_names:
                return self.error(f"endpoint {endpoint.name} reports no EndpointConfigName")
            names = tuple(
                dict.fromkeys(
                    v.model_name
                    for c in config_names
                    for v in describe_endpoint_config(ctx, c)
                    if v.model_name
                )
            )
            if not names:
                return self.error(f"endpoint config(s) {', '.join(config_names)} name no model")
            source = f"model(s) behind endpoint config {', '.join(config_names)}"
        models = [describe_model(ctx, n) for n in names]
        return evaluate(self, models, config.require_env, source)


def evaluate(
    check: Check, models: Sequence[Model], required: Mapping[str, str], source: str
) -> CheckResult:
    problems: list[str] = []
    checked = 0
    for model in models:
        if not model.containers:
            problems.append(f"{model.name} has no container definition to check")
        for container in model.containers:
            checked += 1
            for key, want in required.items():
                if key not in container.environment:
                    problems.append(f"{model.name} {container.where}: {key} is missing")
                elif container.environment[key] != want:
                    got = container.environment[key]
                    problems.append(
                        f"{model.name} {container.where}: {key}={got!r}, expected {want!r}"
                    )
    markers = ", ".join(f"{k}={v}" for k, v in required.items())
    evidence = {
        "models": [m.name for m in models],
        "modelArns": [m.arn for m in models],
        "checkedKeys": sorted(required),
    }
    if problems:
        return check.failed(
            "; ".join(problems),
            details=[f"checked: {source}", f"required: {markers}"],
            evidence=evidence,
        )
    return check.passed(
        f"{markers} present in {checked} container(s) of {', '.join(m.name for m in models)}",
        details=[f"checked: {source}"],
        evidence=evidence,
    )
