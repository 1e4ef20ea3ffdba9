"""``soc2gate iam-policy``: the least-privilege IAM policy for exactly the checks a config runs.

Built-in checks: the AWS operations each one calls (``BUILTIN_CALLS``), scoped to the gated
repository, endpoint and its log group; endpoint configs and models change names with every
deploy, so they are scoped to the account's ``endpoint-config/*`` and ``model/*``. Custom
checks: the operation of their ``call`` (``custom_spec``), scoped to the resource a placeholder
names, else any resource (their parameters are only known at run time). Checks that are skipped
for a target (not configured, ``--skip``, ``--only``, off by default) grant nothing. The evidence
the run signs and uploads (``report/signing.py``, ``report/evidence_store.py``) is granted in
statements of its own (``Soc2gateEvidence*``).

Every action is the one AWS authorizes the operation with, from the IAM dataset
(``iam_actions``): never the operation's name (S3's GetObjectLockConfiguration is
``s3:GetBucketObjectLockConfiguration``); an operation the dataset does not know is a
ConfigError, never a guess and never left out. ``tests/security/test_custom_iam_policy.py``,
``test_registry_iam_policy.py`` and ``test_iam_policy_actions.py`` prove the output against the
calls the gate makes against the moto server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from soc2gate.config import GateConfig, expand_targets, partition
from soc2gate.errors import ConfigError
from soc2gate.iam_actions import action, actions_for, dependents

Resource = Callable[[GateConfig, str, str], list[str]]
#: An AWS API call: (botocore service name, operation name), ("s3", "ListObjectsV2").
Call = tuple[str, str]


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
    # A model may deploy a package of another account's Model Registry (a central one): the
    # package ARN it names is in that account, and DescribeModelPackage is authorized on it
    # there (that account's model package group policy must allow it too). Which account is
    # only known from the model, at run time: any account's packages, in the region.
    return [f"arn:{partition(region)}:sagemaker:{region}:*:model-package/*"]


def _inference_component(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:inference-component/*"]


def _model_card(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:sagemaker:{region}:{account}:model-card/*"]


def _alarm(config: GateConfig, region: str, account: str) -> list[str]:
    return [f"arn:{partition(region)}:cloudwatch:{region}:{account}:alarm:*"]


def _kms_keys(config: GateConfig, region: str, account: str) -> list[str]:
    # IAM authorizes kms:DescribeKey on the key's ARN, never an alias's; the endpoint config may
    # name a key of another account (by ARN), known only at run time.
    return [f"arn:{partition(region)}:kms:{region}:*:key/*"]


def _log_group(config: GateConfig, region: str, account: str) -> list[str]:
    group = f"arn:{partition(region)}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{config.endpoint}"
    return [group, f"{group}:*"]


def _signing_profiles(config: GateConfig, region: str, account: str) -> list[str]:
    """The trusted --signing-profile ARNs (any version of each) and the signing jobs of their
    accounts and regions: what signer:GetRevocationStatus is authorized on."""
    found: list[str] = []
    for profile in config.signing_profile:
        head = profile.split(":/signing-profiles/", 1)[0]
        found += [profile, f"{profile}/*", f"{head}:/signing-jobs/*"]
    return list(dict.fromkeys(found))


def _any(config: GateConfig, region: str, account: str) -> list[str]:
    return ["*"]


_ENDPOINT_READS: list[tuple[Call, Resource]] = [
    (("sagemaker", "DescribeEndpoint"), _endpoint),
    (("sagemaker", "DescribeEndpointConfig"), _endpoint_config),
    (("sagemaker", "DescribeModel"), _model),
    (("sagemaker", "DescribeModelPackage"), _model_package),
    (("sagemaker", "ListInferenceComponents"), _any),
    (("sagemaker", "DescribeInferenceComponent"), _inference_component),
]
_REPOSITORY_READ: tuple[Call, Resource] = (("ecr", "DescribeRepositories"), _repository)
_IMAGES_READ: tuple[Call, Resource] = (("ecr", "DescribeImages"), _repository)

#: The AWS operations each built-in check may call, with the resources they act on.
BUILTIN_CALLS: dict[str, list[tuple[Call, Resource]]] = {
    "ecr-repository-config": [
        _REPOSITORY_READ,
        (("ecr", "BatchGetRepositoryScanningConfiguration"), _repository),
        (("ecr", "GetRegistryScanningConfiguration"), _any),
    ],
    "ecr-image-tags": [_IMAGES_READ],
    "ecr-scan-findings": [
        _IMAGES_READ,
        (("ecr", "DescribeImageScanFindings"), _repository),
        _REPOSITORY_READ,
        (("inspector2", "ListCoverage"), _any),
    ],
    "ecr-image-user": [
        _IMAGES_READ,
        (("ecr", "BatchGetImage"), _repository),
        (("ecr", "GetDownloadUrlForLayer"), _repository),
    ],
    "sagemaker-endpoint-status": _ENDPOINT_READS,
    "sagemaker-model-env": _ENDPOINT_READS,
    "sagemaker-endpoint-config": _ENDPOINT_READS[:2],
    "deployed-image-scanned": [*_ENDPOINT_READS, _IMAGES_READ, _REPOSITORY_READ],
    "sagemaker-endpoint-encryption": _ENDPOINT_READS[:2],
    "sagemaker-model-isolation": _ENDPOINT_READS,
    "sagemaker-endpoint-availability": _ENDPOINT_READS[:2],
    "sagemaker-deployment-guardrails": [
        *_ENDPOINT_READS[:2],
        *_ENDPOINT_READS[4:],
        (("cloudwatch", "DescribeAlarms"), _alarm),
    ],
    "sagemaker-data-capture": _ENDPOINT_READS[:2],
    "sagemaker-model-card": _ENDPOINT_READS,
    # Referrers (Notation signatures, Sigstore bundles) and their blobs; the AWS Signer reads
    # are in _OPTIONAL_READS (--signing-profile). Sigstore bundles are verified offline.
    "deployed-image-signed": [
        (("ecr", "ListImageReferrers"), _repository),
        (("ecr", "BatchGetImage"), _repository),
        (("ecr", "GetDownloadUrlForLayer"), _repository),
    ],
}
#: Reads a built-in check makes only under an option: (check, the option's GateConfig key).
_OPTIONAL_READS: list[tuple[str, str, tuple[Call, Resource]]] = [
    ("sagemaker-endpoint-encryption", "allowed_kms_keys", (("kms", "DescribeKey"), _kms_keys)),
    ("sagemaker-data-capture", "allowed_kms_keys", (("kms", "DescribeKey"), _kms_keys)),
    (
        "sagemaker-endpoint-availability",
        "require_autoscaling",
        (("application-autoscaling", "DescribeScalableTargets"), _any),
    ),
    ("sagemaker-model-card", "model_card", (("sagemaker", "DescribeModelCard"), _model_card)),
    (
        "deployed-image-signed",
        "signing_profile",
        (("ecr", "DescribeImageSigningStatus"), _repository),
    ),
    # Asked only of a signature whose profile is a trusted one: IAM authorizes it on the
    # signing profile and the signing job (signing-jobs/* of the profile's account).
    (
        "deployed-image-signed",
        "signing_profile",
        (("signer-data", "GetRevocationStatus"), _signing_profiles),
    ),
]
_LOG_READS: list[tuple[Call, Resource]] = [
    (("logs", "DescribeLogStreams"), _log_group),
    (("logs", "GetLogEvents"), _log_group),
]


def _account(config: GateConfig, account: str | None) -> str:
    if account:
        return account
    if config.role_arn and config.role_arn.count(":") >= 4 and config.role_arn.split(":")[4]:
        return config.role_arn.split(":")[4]
    return "*"


#: A custom check's parameter that is exactly one of these placeholders names the resource
#: its call acts on (per botocore service: not SageMaker Feature Store's, which shares the
#: sagemaker prefix); any other parameter leaves the action on "*".
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
            resource = _PLACEHOLDER_RESOURCES.get((spec.service, item))
            if resource is None:
                return ["*"]
            found += resource(config, region, account)
    return found or ["*"]


#: Services whose built-in reads read the gated repository's registry: made with
#: ``--registry-role-arn``'s credentials when it is given (so granted to that role, not to the
#: gate's identity).
REGISTRY_SERVICES = ("ecr", "inspector2")
#: Registry reads a repository policy cannot grant to another account: they take no registryId
#: and always answer for the caller's own registry.
CALLER_ONLY = frozenset(
    {
        "ecr:GetRegistryScanningConfiguration",
        "ecr:BatchGetRepositoryScanningConfiguration",
        "inspector2:ListCoverage",
    }
)


def _grants(
    config: GateConfig, account: str | None, notes: list[str] | None = None
) -> tuple[dict[str, set[str]], ...]:
    """(the gate identity's grants, the registry role's grants) over every fleet target.

    A custom check's action that AWS lists dependent actions for (needed only for some uses,
    kms:Decrypt when a customer key encrypts the resource, and on resources the check does not
    name) is granted alone, and ``notes`` says which ones it may also need."""
    from soc2gate.checks.custom import CustomCheck
    from soc2gate.runner import select_checks

    grants: dict[str, set[str]] = {}
    registry: dict[str, set[str]] = {}

    def grant(name: str, resources: list[str], role: str | None) -> None:
        """Grant to the gate, or, for a read made with --registry-role-arn's credentials
        (``role``), to that role, which the gate is granted to assume."""
        if role:
            grants.setdefault(action("sts", "AssumeRole"), set()).add(role)
        (registry if role else grants).setdefault(name, set()).update(resources)

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
                where = f"custom_checks {spec.id}"
                resources = _custom_resources(spec, target, region, owner)
                for name in actions_for(spec.service, spec.operation, where):
                    grant(name, resources, role if gated else None)
                    also = dependents(name)
                    note = (
                        f"{where}: {name} may also need {', '.join(also)} (AWS lists them as its "
                        "dependent actions, for some uses); not granted: add them, scoped to "
                        "their resources, if the check's call is denied"
                    )
                    if also and notes is not None and note not in notes:
                        notes.append(note)
                continue
            calls = list(BUILTIN_CALLS.get(check.id, ()))
            if check.id == "sagemaker-endpoint-status" and target.log_lines:
                calls += _LOG_READS
            if check.id == "ecr-image-user" and target.endpoint and not target.platform:
                # the platform comes from the instance types the endpoint runs
                calls += _ENDPOINT_READS[:2]
            if check.id == "sagemaker-model-env" and target.model_name_contains:
                calls.append((("sagemaker", "ListModels"), _any))
            calls += [read for cid, key, read in _OPTIONAL_READS
                      if cid == check.id and getattr(target, key)]  # fmt: skip
            for (service, operation), resource in calls:
                registry_read = service in REGISTRY_SERVICES
                for name in actions_for(service, operation):
                    grant(name, resource(target, region, owner), role if registry_read else None)
    return grants, registry


def policy(
    config: GateConfig, account: str | None = None, notes: list[str] | None = None
) -> dict[str, Any]:
    """The IAM policy document for ``config`` (every fleet target): what the gate's identity
    needs. With --registry-role-arn its registry reads are the role's (``registry_policy``).
    The evidence statements come last (``_evidence``). ``notes`` collects what the reader
    should know that a policy cannot say (``_grants``)."""
    document = _document(_grants(config, account, notes)[0])
    document["Statement"] += _evidence(config, account)
    return document


def _kms_key(option: str, key: str, region: str, account: str) -> tuple[str, dict[str, Any] | None]:
    """(resource, condition) that grant the use of the KMS key ``key`` names: its id, key ARN,
    alias name or alias ARN. IAM authorizes KMS calls on the key's ARN, never the alias's, and
    an alias's key is only known to AWS: the account's keys that carry that alias
    (``kms:ResourceAliases``, a condition on the key itself, so it also holds for the calls
    that name the key by its ARN: kms:Sign after kms:GetPublicKey resolved the alias)."""
    arn = key.split(":", 5) if key.startswith("arn:") else []
    if arn and (len(arn) != 6 or arn[2] != "kms" or not arn[5].startswith(("key/", "alias/"))):
        raise ConfigError(
            f"{option} {key}: expected a KMS key id, alias, key ARN "
            "(arn:aws:kms:REGION:ACCOUNT:key/ID) or alias ARN"
        )
    if arn and arn[5].startswith("key/"):
        return key, None
    if arn:
        head, alias = f"arn:{arn[1]}:kms:{arn[3]}:{arn[4]}", arn[5]
    else:
        head, alias = f"arn:{partition(region)}:kms:{region}:{account}", key
    if not alias.startswith("alias/"):
        return f"{head}:key/{key}", None
    return f"{head}:key/*", {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}


def _evidence(config: GateConfig, account: str | None) -> list[dict[str, Any]]:
    """Statements for the evidence the run signs and uploads (run-level options).

    What ``report/signing.py`` and ``report/evidence_store.py`` call: kms:GetPublicKey and
    kms:Sign on --sign-kms-key; PutObject under --evidence-s3's prefix; with
    --evidence-retention its Object Lock headers, which S3 authorizes as PutObjectRetention,
    and GetObjectLockConfiguration of the bucket (checked before any check runs); with
    --evidence-kms-key, kms:GenerateDataKey on that key, which S3 calls with the caller's
    permissions to encrypt the object. These calls use the credentials the gate starts with,
    not --role-arn's (``evidence_store.default_clients``).
    """
    from soc2gate.report.evidence_store import split_s3_url

    if not (config.evidence or config.evidence_s3):
        return []  # no record is made, so nothing is signed either
    region = config.region or os.environ.get("AWS_REGION") or "*"
    owner = _account(config, account)
    wanted: list[tuple[Call, str, dict[str, Any] | None]] = []
    if config.sign_kms_key:
        key, condition = _kms_key("--sign-kms-key", config.sign_kms_key, region, owner)
        wanted += [(("kms", "GetPublicKey"), key, condition), (("kms", "Sign"), key, condition)]
    if config.evidence_s3:
        bucket, prefix = split_s3_url(config.evidence_s3)
        arn = f"arn:{partition(region)}:s3:::{bucket}"
        objects = f"{arn}/{prefix}/*" if prefix else f"{arn}/*"
        wanted.append((("s3", "PutObject"), objects, None))
        if config.evidence_retention:
            wanted.append((("s3", "PutObjectRetention"), objects, None))
            wanted.append((("s3", "GetObjectLockConfiguration"), arn, None))
        if config.evidence_kms_key:
            key, condition = _kms_key("--evidence-kms-key", config.evidence_kms_key, region, owner)
            wanted.append((("kms", "GenerateDataKey"), key, condition))
    # One statement per (resource, condition).
    grouped: dict[tuple[str, str], list[str]] = {}
    for (service, operation), resource, condition in wanted:
        group = grouped.setdefault((resource, json.dumps(condition, sort_keys=True)), [])
        group.append(action(service, operation))
    statements = []
    for i, ((resource, when), names) in enumerate(sorted(grouped.items())):
        statement: dict[str, Any] = {
            "Sid": f"Soc2gateEvidence{i + 1}",
            "Effect": "Allow",
            "Action": sorted(names) if len(names) > 1 else names[0],
            "Resource": resource,
        }
        if json.loads(when) is not None:
            statement["Condition"] = json.loads(when)
        statements.append(statement)
    return statements


def registry_policy(
    config: GateConfig,
    account: str | None = None,
    principal: str | None = None,
    notes: list[str] | None = None,
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
    gate, registry = _grants(config, account, notes)
    if registry:
        return _document(registry)
    # A repository policy grants ECR actions on the repository and nothing else: an Inspector
    # read made without the role is answered for the gate's own account (its own grant).
    reads = sorted(a for a in gate if a.startswith("ecr:") and a not in CALLER_ONLY)
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
    for name, granted in sorted(grants.items()):
        key: tuple[str, ...] = ("*",) if "*" in granted else tuple(sorted(granted))
        by_resources.setdefault(key, []).append(name)
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
    notes: list[str] | None = None,
) -> str:
    """The policy as printed; ``notes`` (when given) collects what to say beside it."""
    document = (
        registry_policy(config, account, principal, notes)
        if registry
        else policy(config, account, notes)
    )
    return json.dumps(document, indent=2) + "\n"
