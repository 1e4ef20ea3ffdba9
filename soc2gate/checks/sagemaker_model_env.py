"""sagemaker-model-env: the deployed models carry the SOC 2 environment markers.

With --endpoint, the models checked are always the ones behind the endpoint config the endpoint
runs once it is InService and settled (judged after sagemaker-endpoint-status, or polled here
when that check is not in the run; see sagemaker_endpoint_status.endpoint_target). The
--model-name-contains filter adds the newest matching model to them; it never replaces them.
Without --endpoint, the newest matching model is checked alone.

Model environments hold secrets. Only the *required* keys are ever named with their values;
every other key is neither printed nor put in evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from soc2gate.checks._sagemaker import (
    Model,
    describe_endpoint_config,
    describe_model,
    newest_model_containing,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker_endpoint_status import STATUS_CHECK, Target, endpoint_target
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult


class SagemakerModelEnv(Check):
    id = "sagemaker-model-env"
    title = "Models carry the SOC 2 environment markers"
    asserts = (
        "Every container (PrimaryContainer and each Containers entry) of the models behind the "
        "endpoint config the endpoint runs once InService and settled (judged after "
        "sagemaker-endpoint-status), plus the newest model matching --model-name-contains, has "
        "each --require-env KEY=VALUE; models of an endpoint that did not reach InService never "
        "pass; a variant naming no model or an Environment that cannot be read is an error."
    )
    remediation = (
        "Register a new model whose container Environment sets the markers (e.g. "
        "SOC2_COMPLIANT=true, SECURITY_HARDENED=true), then deploy it through a new endpoint config."
    )
    soc2 = ("CC8.1", "CC2.1")
    # Judges the endpoint sagemaker-endpoint-status saw InService: one DescribeEndpoint poller.
    depends_on = (STATUS_CHECK,)

    def skip_reason(self, config: GateConfig) -> str | None:
        if not config.require_env:
            return "not configured: no --require-env markers"
        if config.model_name_contains or config.endpoint:
            return None
        return "not configured: no --endpoint or --model-name-contains given"

    def run(self, ctx: CheckContext) -> CheckResult:
        config = ctx.config
        names: list[str] = []
        sources: list[str] = []
        target: Target | None = None
        if config.endpoint:
            found = endpoint_target(self, ctx)
            if isinstance(found, CheckResult):
                return found
            target = found
            unnamed: list[str] = []
            for config_name in target.config_names:
                for v in describe_endpoint_config(ctx, config_name):
                    if v.model_name:
                        names.append(v.model_name)
                    else:
                        unnamed.append(f"{config_name}/{v.name}")
            if unnamed:
                # Inference-component variants name no model: their containers are not read.
                return self.error(
                    "could not tell which model serves there: endpoint config variant(s) "
                    f"{', '.join(unnamed)} name no model"
                )
            if not names:  # pragma: no cover - a config has at least one variant
                return self.error(
                    f"endpoint config(s) {', '.join(target.config_names)} name no model"
                )
            sources.append(f"model(s) behind endpoint config {', '.join(target.config_names)}")
        if config.model_name_contains:
            newest, matched = newest_model_containing(
                ctx.clients("sagemaker"), config.model_name_contains
            )
            if newest is None:
                return self.failed(f"no model name contains {config.model_name_contains!r}")
            names.append(newest)
            sources.append(f"newest of {matched} model(s) matching {config.model_name_contains!r}")
        models = [describe_model(ctx, n) for n in dict.fromkeys(names)]
        result = evaluate(self, models, config.require_env, " and ".join(sources))
        return target.cap(self, result) if target is not None else result


def evaluate(
    check: Check, models: Sequence[Model], required: Mapping[str, str], source: str
) -> CheckResult:
    problems: list[str] = []
    unreadable: list[str] = []
    checked = 0
    for model in models:
        if not model.containers:
            problems.append(f"{model.name} has no container definition to check")
        for container in model.containers:
            if container.environment is None:
                unreadable.append(
                    f"could not read the Environment of {model.name} {container.where}"
                )
                continue
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
    details = [f"checked: {source}", f"required: {markers}"]
    if problems:
        return check.failed("; ".join(problems + unreadable), details=details, evidence=evidence)
    if unreadable:
        return check.error("; ".join(unreadable), details=details, evidence=evidence)
    return check.passed(
        f"{markers} present in {checked} container(s) of {', '.join(m.name for m in models)}",
        details=[f"checked: {source}"],
        evidence=evidence,
    )
