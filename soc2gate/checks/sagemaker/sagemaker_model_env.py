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
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker._sagemaker import (
    Model,
    describe_endpoint_config,
    describe_model,
    endpoint_components,
    newest_model_containing,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import (
    STATUS_CHECK,
    Target,
    endpoint_target,
)
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
        "pass; a variant naming no model is judged on the inference components it serves (each "
        "one's model and its own Container Environment); a variant serving neither, or an "
        "Environment that cannot be read (values that are not strings), is an error; a "
        "container without an Environment (AWS omits an empty one) has no markers. A container "
        "with ModelPackageName is judged on the Model Registry package's containers "
        "(DescribeModelPackage; those of the InferenceSpecificationName it names, if any), each "
        "Environment merged with the model container's own; a marker the two set differently "
        "fails; ModelApprovalStatus is reported, and must be Approved (with ModelPackageStatus "
        "Completed) with --require-model-approval. Every inference component listed on the "
        "endpoint is judged; one reporting Specifications (several instance types), or an "
        "adapter whose base is not on the endpoint, is an error."
    )
    remediation = (
        "Register a new model whose container Environment sets the markers (e.g. "
        "SOC2_COMPLIANT=true, SECURITY_HARDENED=true), then deploy it through a new endpoint config."
    )
    soc2 = ("CC8.1", "CC2.1")
    beyond = "no control reads model environment markers or Model Registry approval at deploy time"
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
        extra: list[Model] = []
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
                # Variants without a model serve inference components: judge each one's model
                # and its own Container's Environment.
                served = components_served(ctx, config.endpoint, unnamed)
                if isinstance(served, str):
                    return self.error(served)
                component_names, component_models = served
                names += component_names
                extra += component_models
                sources.append(
                    f"{len(component_models) or len(component_names)} inference component(s)"
                )
            if not names and not extra:  # pragma: no cover - a config has at least one variant
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
        models = [describe_model(ctx, n) for n in dict.fromkeys(names)] + extra
        result = evaluate(
            self,
            models,
            config.require_env,
            " and ".join(sources),
            require_approval=config.require_model_approval,
        )
        return target.cap(self, result) if target is not None else result


def components_served(
    ctx: CheckContext, endpoint: str, unnamed: Sequence[str]
) -> tuple[list[str], list[Model]] | str:
    """The models and the Container environments of the inference components on the endpoint
    (every one ListInferenceComponents lists there, whatever variant it names: it serves on this
    endpoint); a message when one of the ``unnamed`` ("<config>/<variant>") variants serves none."""
    components = endpoint_components(ctx, endpoint)
    names: list[str] = []
    models: list[Model] = []
    empty = [
        label
        for label in unnamed
        if not any(c.variant == label.rsplit("/", 1)[1] for c in components)
    ]
    if empty:
        return (
            f"endpoint config variant(s) {', '.join(empty)} name no model and serve no "
            f"inference component (ListInferenceComponents for {endpoint}): could not tell "
            "what serves there"
        )
    for c in components:
        if c.model_name:
            names.append(c.model_name)
        if c.container is not None and (c.container.environment or not c.model_name):
            # Its own Environment is judged too; without a model it is all there is.
            models.append(
                Model(name=f"inference component {c.name}", arn=c.arn, containers=(c.container,))
            )
    return names, models


def evaluate(
    check: Check,
    models: Sequence[Model],
    required: Mapping[str, str],
    source: str,
    *,
    require_approval: bool = False,
) -> CheckResult:
    problems: list[str] = []
    approvals: list[str] = []
    checked = 0
    for model in models:
        for package in model.packages:
            shown = package.approval or "no ModelApprovalStatus"
            approvals.append(f"{model.name}: model package {package.name} is {shown}")
            if require_approval and package.approval != "Approved":
                problems.append(
                    f"{model.name} deploys model package {package.name}, which is {shown}, not "
                    "Approved (--require-model-approval)"
                )
            if require_approval and package.status != "Completed":
                # Failed, Deleting, still registering, or a state AWS does not document: not a
                # registered version, whatever its approval says.
                problems.append(
                    f"{model.name} deploys model package {package.name} with ModelPackageStatus "
                    f"{package.status}, not Completed: not an approved registered version "
                    "(--require-model-approval)"
                )
        if not model.containers:
            problems.append(f"{model.name} has no container definition to check")
        for container in model.containers:
            checked += 1
            for key, want in required.items():
                if key in container.conflicts:
                    problems.append(
                        f"{model.name} {container.where}: {key} is set to different values by "
                        f"the model and by model package {container.package}"
                    )
                elif key not in container.environment:
                    problems.append(f"{model.name} {container.where}: {key} is missing")
                elif container.environment[key] != want:
                    got = container.environment[key]
                    problems.append(
                        f"{model.name} {container.where}: {key}={got!r}, expected {want!r}"
                    )
    markers = ", ".join(f"{k}={v}" for k, v in required.items())
    evidence: dict[str, Any] = {
        "models": [m.name for m in models],
        "modelArns": [m.arn for m in models],
        "checkedKeys": sorted(required),
    }
    packages = [p for m in models for p in m.packages]
    if packages:
        evidence["modelPackages"] = [
            {"modelPackage": p.name, "arn": p.arn, "ModelApprovalStatus": p.approval}
            for p in packages
        ]
    details = [f"checked: {source}", f"required: {markers}", *approvals]
    if problems:
        return check.failed("; ".join(problems), details=details, evidence=evidence)
    states = sorted({p.approval or "no ModelApprovalStatus" for p in packages})
    via = f"model package {', '.join(states)}: " if packages else ""
    return check.passed(
        f"{via}{markers} present in {checked} container(s) of {', '.join(m.name for m in models)}",
        details=[f"checked: {source}", *approvals],
        evidence=evidence,
    )
