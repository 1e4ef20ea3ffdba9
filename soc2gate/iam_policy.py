"""``soc2gate iam-policy``: the least-privilege IAM policy for exactly the checks a config runs.

Built-in checks: the read actions each one calls (``BUILTIN_ACTIONS``), scoped to the gated
repository, endpoint and its log group; endpoint configs and models change names with every
deploy, so they are scoped to the account's ``endpoint-config/*`` and ``model/*``. Custom
checks: the action of their ``call`` (``custom_spec``), on any resource (their parameters are
only known at run time). Checks that are skipped for a target (not configured, ``--skip``,
``--only``, off by default) grant nothing. ``tests/security/test_custom_iam_policy.py`` proves
the output against the calls the gate makes against the moto server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from soc2gate.config import GateConfig, expand_targets, partition
from soc2gate.errors import ConfigError

Resource = Callable[[GateConfig, str, str], list[str]]


def _repository(config: GateConfig, region: str, account: str) -> list[str]:
    # A central or cross-account registry: the repository's own account and region.
    region = config.registry_region or region
    account = config.registry_id or account
    return [f"arn:{partition(region)}:ecr:{region}:{account}:repository/{config.repository}"]


def _endpoint(config: GateConfig, region: str, account: str) -> list[str]:
    # SageMaker ARNs carry the name lower-cased.
    name = (config.endpoint or "").lower()
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:endpoint/{name}"]


def _endpoint_config(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:endpoint-config/*"]


def _model(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:model/*"]


def _model_package(config: GateConfig, region: str, account: str) -> list[str]:
    # A model may deploy a package of another account (a central Model Registry): "*" there.
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:model-package/*"]


def _inference_component(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:inference-component/*"]


def _log_group(config: GateConfig, region: str, account: str) -> list[str]:
    group = f"arn:{partition(region)}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{config.endpoint}"
    return [group, f"{group}:*"]


def _any(config: GateConfig, region: str, account: str) -> list[str]:
    return ["*"]


_ENDPOINT_READS: list[tuple[str, Resource]] = [
    ("sagemaker:DescribeEndpoint", _endpoint),
    ("sagemaker:DescribeEndpointConfig", _endpoint_config),
    ("sagemaker:DescribeModel", _model),
    ("sagemaker:DescribeModelPackage", _model_package),
    ("sagemaker:ListInferenceComponents", _any),
    ("sagemaker:DescribeInferenceComponent", _inference_component),
]

#: The actions each built-in check may call, with the resources they act on.
BUILTIN_ACTIONS: dict[str, list[tuple[str, Resource]]] = {
    "ecr-repository-config": [
        ("ecr:DescribeRepositories", _repository),
        ("ecr:BatchGetRepositoryScanningConfiguration", _repository),
        ("ecr:GetRegistryScanningConfiguration", _any),
    ],
    "ecr-image-tags": [("ecr:DescribeImages", _repository)],
    "ecr-scan-findings": [
        ("ecr:DescribeImages", _repository),
        ("ecr:DescribeImageScanFindings", _repository),
        ("ecr:DescribeRepositories", _repository),
        ("inspector2:ListCoverage", _any),
    ],
    "ecr-image-user": [
        ("ecr:DescribeImages", _repository),
        ("ecr:BatchGetImage", _repository),
        ("ecr:GetDownloadUrlForLayer", _repository),
    ],
    "sagemaker-endpoint-status": _ENDPOINT_READS,
    "sagemaker-model-env": _ENDPOINT_READS,
    "sagemaker-endpoint-config": _ENDPOINT_READS[:2],
    "deployed-image-scanned": [
        *_ENDPOINT_READS,
        ("ecr:DescribeImages", _repository),
        ("ecr:DescribeRepositories", _repository),
    ],
}


def _account(config: GateConfig, account: str | None) -> str:
    if account:
        return account
    if config.role_arn and config.role_arn.count(":") >= 4 and config.role_arn.split(":")[4]:
        return config.role_arn.split(":")[4]
    return "*"


#: A custom check's parameter that is exactly one of these placeholders names the resource
#: its call acts on (per service); any other parameter leaves the action on "*".
_PLACEHOLDER_RESOURCES: dict[tuple[str, str], Resource] = {
    ("sagemaker", "{endpoint}"): _endpoint,
    ("sagemaker", "{endpoint_arn}"): _endpoint,
    ("sagemaker", "{endpoint_config}"): _endpoint_config,
    ("sagemaker", "{model}"): _model,
    ("ecr", "{repository}"): _repository,
}


def _custom_resources(spec: Any, config: GateConfig, region: str, account: str) -> list[str]:
    found: list[str] = []
    for value in spec.params.values():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):  # a structure (filterCriteria...): any resource
                return ["*"]
            resource = _PLACEHOLDER_RESOURCES.get((spec.iam_prefix, item))
            if resource is None:
                return ["*"]
            found += resource(config, region, account)
    return found or ["*"]


#: Actions that read the gated repository's registry: made with ``--registry-role-arn``'s
#: credentials when it is given (so granted to that role, not to the gate's identity).
REGISTRY_PREFIXES = ("ecr:", "inspector2:")
#: Registry reads a repository policy cannot grant to another account: they take no registryId
#: and always answer for the caller's own registry.
CALLER_ONLY = frozenset(
    {
        "ecr:GetRegistryScanningConfiguration",
        "ecr:BatchGetRepositoryScanningConfiguration",
        "inspector2:ListCoverage",
    }
)


def _grants(config: GateConfig, account: str | None) -> tuple[dict[str, set[str]], ...]:
    """(the gate identity's grants, the registry role's grants) over every fleet target."""
    from soc2gate.checks.custom import CustomCheck
    from soc2gate.runner import select_checks

    grants: dict[str, set[str]] = {}
    registry: dict[str, set[str]] = {}

    def grant(action: str, resources: list[str], role: str | None) -> None:
        """Grant to the gate, or, for a read made with --registry-role-arn's credentials
        (``role``), to that role, which the gate is granted to assume."""
        if role:
            grants.setdefault("sts:AssumeRole", set()).add(role)
        (registry if role else grants).setdefault(action, set()).update(resources)

    for _name, target in expand_targets(config):
        region = target.region or os.environ.get("AWS_REGION") or "*"
        owner = _account(target, account)
        role = target.registry_role_arn
        for check, skip in select_checks(target):
            if skip is not None:
                continue
            spec = getattr(check, "spec", None)
            if spec is not None:
                gated = isinstance(check, CustomCheck) and check.reads_gated_repository()
                grant(
                    f"{spec.iam_prefix}:{spec.operation}",
                    _custom_resources(spec, target, region, owner),
                    role if gated else None,
                )
                continue
            actions: list[tuple[str, Resource]] = list(BUILTIN_ACTIONS.get(check.id, ()))
            if check.id == "sagemaker-endpoint-status" and target.log_lines:
                actions += [
                    ("logs:DescribeLogStreams", _log_group),
                    ("logs:GetLogEvents", _log_group),
                ]
            if check.id == "ecr-image-user" and target.endpoint and not target.platform:
                # the platform comes from the instance types the endpoint runs
                actions += _ENDPOINT_READS[:2]
            if check.id == "sagemaker-model-env" and target.model_name_contains:
                actions.append(("sagemaker:ListModels", _any))
            for action, resource in actions:
                registry_read = action.startswith(REGISTRY_PREFIXES)
                grant(action, resource(target, region, owner), role if registry_read else None)
    return grants, registry


def policy(config: GateConfig, account: str | None = None) -> dict[str, Any]:
    """The IAM policy document for ``config`` (every fleet target): what the gate's identity
    needs. With --registry-role-arn its registry reads are the role's (``registry_policy``)."""
    return _document(_grants(config, account)[0])


def registry_policy(
    config: GateConfig, account: str | None = None, principal: str | None = None
) -> dict[str, Any]:
    """What the gated repository's registry account grants, for a central registry.

    With --registry-role-arn: the identity policy of that role (its trust policy must let the
    gate's identity assume it). Without: the repository policy that lets ``principal`` read
    the repository from its own account; the calls that work only inside the registry's own
    account (CALLER_ONLY) cannot be granted that way, so the checks that need them need the role.
    """
    if not any(target.registry_id for _, target in expand_targets(config)):
        raise ConfigError(
            "iam-policy --registry: no target gates a repository in another registry "
            "(--registry-id or a repository URI)"
        )
    gate, registry = _grants(config, account)
    if registry:
        return _document(registry)
    reads = sorted(a for a in gate if a.startswith(REGISTRY_PREFIXES) and a not in CALLER_ONLY)
    if not reads:
        raise ConfigError("iam-policy --registry: no check this config runs reads the registry")
    if not principal:
        owner = _account(config, account)
        if owner == "*":
            raise ConfigError(
                "iam-policy --registry: name who reads the registry with --principal ARN "
                "(or --account ID)"
            )
        principal = (
            f"arn:{partition(config.registry_region or config.region or '')}:iam::{owner}:root"
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Soc2gateCrossAccountRead",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": reads if len(reads) > 1 else reads[0],
            }
        ],
    }


def _document(grants: dict[str, set[str]]) -> dict[str, Any]:
    # One statement per set of resources; "*" swallows any narrower resource of the action.
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action, granted in sorted(grants.items()):
        key: tuple[str, ...] = ("*",) if "*" in granted else tuple(sorted(granted))
        by_resources.setdefault(key, []).append(action)
    statements = []
    for i, (arns, names) in enumerate(sorted(by_resources.items())):
        statements.append(
            {
                "Sid": f"Soc2gateRead{i + 1}",
                "Effect": "Allow",
                "Action": names if len(names) > 1 else names[0],
                "Resource": list(arns) if len(arns) > 1 else arns[0],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render(
    config: GateConfig,
    account: str | None = None,
    registry: bool = False,
    principal: str | None = None,
) -> str:
    document = registry_policy(config, account, principal) if registry else policy(config, account)
    return json.dumps(document, indent=2) + "\n"
