"""sagemaker-model-isolation: the model containers behind the endpoint cannot reach the
internet and pull their images from ECR.

Judged over the models behind the config the endpoint runs once InService and settled (see
``sagemaker_endpoint_status.endpoint_target``), the models of the inference components it
serves, and the containers of components that name no model (which run under the endpoint
config's own EnableNetworkIsolation and VpcConfig). A model deploying a Model Registry package
carries the setting itself (a package has none) and is judged as any model.

- ``EnableNetworkIsolation`` true: the container makes no outbound network call (absent is
  false, AWS's default).
- a ``VpcConfig``: the endpoint's network interfaces are in your subnets and security groups,
  from --allowed-subnet / --allowed-security-group when given.
- every container's ``ImageConfig.RepositoryAccessMode`` is ``Platform`` (ECR, the registry the
  gate scanned; no ImageConfig is ECR, AWS's default) unless --allowed-repository-access allows
  ``Vpc`` (a private Docker registry in your VPC, which the gate did not scan).

Inter-container traffic encryption: SageMaker offers it for training, processing and monitoring
jobs (EnableInterContainerTrafficEncryption), not for models (CreateModel has no such member), so
the containers of a multi-container model are named and nothing more is judged there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker._safety import Network, network
from soc2gate.checks.sagemaker._sagemaker import (
    _answer,
    describe_model,
    endpoint_config_answer,
    served_models,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult

#: ImageConfig.RepositoryAccessMode: every value AWS defines.
ACCESS_MODES = ("Platform", "Vpc")


@dataclass(frozen=True)
class Judged:
    """One thing that runs containers: a model, or an endpoint config for its components."""

    label: str
    network: Network
    #: (where, RepositoryAccessMode) of each container with an Image.
    access: tuple[tuple[str, str], ...]
    containers: int


def _model(ctx: CheckContext, name: str) -> Judged:
    model = describe_model(ctx, name)
    answer = _answer(model.raw, "DescribeModel", name)
    access: list[tuple[str, str]] = []
    found = []
    primary = answer.obj("PrimaryContainer")
    if primary is not None:
        found.append(("PrimaryContainer", primary))
    found += [(f"Containers[{i}]", c) for i, c in enumerate(answer.objs("Containers") or [])]
    for where, container in found:
        image = container.obj("ImageConfig")
        mode = (image.text("RepositoryAccessMode", required=True) or "") if image else "Platform"
        if mode not in ACCESS_MODES:
            raise container.unreadable(
                "ImageConfig.RepositoryAccessMode", f"is {mode!r}, not one of {ACCESS_MODES}"
            )
        access.append((where, mode))
    return Judged(f"model {name}", network(answer), tuple(access), len(found))


class SagemakerModelIsolation(EndpointTargetCheck):
    id = "sagemaker-model-isolation"
    title = "Model containers are network-isolated, in your VPC, pulling from ECR"
    asserts = (
        "Every model behind the endpoint config the endpoint runs once InService and settled "
        "(including those deploying Model Registry packages and those of its inference "
        "components) has EnableNetworkIsolation true and a VpcConfig (subnets and security "
        "groups from --allowed-subnet / --allowed-security-group when given); components that "
        "name no model are judged on the endpoint config's own EnableNetworkIsolation and "
        "VpcConfig; every container's ImageConfig.RepositoryAccessMode is Platform (ECR) unless "
        "--allowed-repository-access allows Vpc. SageMaker offers no inter-container traffic "
        "encryption for models: multi-container models are named, not judged on it."
    )
    remediation = (
        "Create the model again with --enable-network-isolation and --vpc-config "
        "SecurityGroupIds=...,Subnets=... (allowed ones), its image in ECR "
        "(RepositoryAccessMode Platform), then deploy it through a new endpoint config; a "
        "container that needs the network must get what it needs from S3 or the VPC instead."
    )
    soc2 = ("CC6.6", "CC6.1")
    default_enabled = False
    strict = True
    security_hub = ("SageMaker.5", "SageMaker.16", "SageMaker.19")
    aws_config = ("sagemaker-model-isolation-enabled", "sagemaker-model-in-vpc")
    beyond = (
        "judges only the models this endpoint runs, at deploy time, including Model Registry "
        "packages and inference components; subnets and security groups against an allow-list; "
        "asks for Platform (the scanned ECR image) where SageMaker.16/.19 ask for Vpc"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        served = served_models(ctx, target.endpoint.name, target.config_names)
        if isinstance(served, str):
            return self.error(served)
        judged: list[Judged] = [_model(ctx, name) for name in served.names]
        bare = served.bare_components
        for config_name in served.component_configs if bare else ():
            answer = endpoint_config_answer(ctx, config_name)
            judged.append(
                Judged(
                    f"endpoint config {config_name} (inference component(s) {', '.join(bare)})",
                    network(answer),
                    (),
                    len(bare),
                )
            )
        packaged = [p.name for name in served.names for p in describe_model(ctx, name).packages]
        result = evaluate(self, judged, ctx.config, packaged)
        return target.cap(self, result)


def evaluate(
    check: Check, judged: Sequence[Judged], config: GateConfig, packages: Sequence[str] = ()
) -> CheckResult:
    problems: list[str] = []
    lines: list[str] = []
    subnets_allowed, groups_allowed = config.allowed_subnets, config.allowed_security_groups
    for item in judged:
        net = item.network
        vpc = (
            f"VPC subnets {', '.join(net.subnets or ())}, security groups "
            f"{', '.join(net.security_groups or ())}"
            if net.subnets is not None
            else "no VpcConfig"
        )
        lines.append(
            f"{item.label}: EnableNetworkIsolation {str(net.isolated).lower()}, {vpc}"
            + "".join(f", {where} {mode}" for where, mode in item.access)
        )
        if not net.isolated:
            problems.append(
                f"{item.label} has EnableNetworkIsolation false (or not set): its container "
                "can reach the internet"
            )
        if net.subnets is None:
            problems.append(f"{item.label} has no VpcConfig: it runs outside your VPC")
        else:
            bad = [s for s in net.subnets if subnets_allowed and s not in subnets_allowed]
            if bad:
                problems.append(
                    f"{item.label} uses subnet(s) {', '.join(bad)}, not in --allowed-subnet"
                )
            bad = [
                g for g in net.security_groups or () if groups_allowed and g not in groups_allowed
            ]
            if bad:
                problems.append(
                    f"{item.label} uses security group(s) {', '.join(bad)}, not in "
                    "--allowed-security-group"
                )
        for where, mode in item.access:
            if mode not in config.allowed_repository_access:
                problems.append(
                    f"{item.label} {where} pulls its image with RepositoryAccessMode {mode}, not "
                    f"{' or '.join(config.allowed_repository_access)} (--allowed-repository-access)"
                )
        if item.containers > 1:
            lines.append(
                f"{item.label}: {item.containers} containers; SageMaker offers no "
                "inter-container traffic encryption for models"
            )
    lines += [f"model package {p}: its model's settings apply" for p in dict.fromkeys(packages)]
    evidence = {"judged": [j.label for j in judged], "network": lines}
    if problems:
        return check.failed("; ".join(problems), details=lines, evidence=evidence)
    return check.passed(
        f"{len(judged)} model(s)/config(s) network-isolated in your VPC, images from "
        f"{' or '.join(config.allowed_repository_access)}: {', '.join(j.label for j in judged)}",
        details=lines,
        evidence=evidence,
    )
