"""ecr-repository-config: repository exists, scanning effectively on, encryption, tag mutability."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import (
    REPO,
    FakeClock,
    StubbedAws,
    ecr_batch_scanning,
    ecr_registry_scanning,
    ecr_repository,
    make_ctx,
    run_one,
    stub_repository_config,
)

from soc2gate.checks.ecr.ecr_repository_config import EcrRepositoryConfig
from soc2gate.config import GateConfig
from soc2gate.models import Status

CHECK = EcrRepositoryConfig()
BASIC = ecr_registry_scanning("BASIC")

# (case, repository, registry scanning, batch scanning, extra config, expected, words in reason)
SCANNING_CASES = [
    (
        "basic-scan-on-push",
        ecr_repository(scan_on_push=True),
        BASIC,
        ecr_batch_scanning(scan_on_push=True, frequency="SCAN_ON_PUSH"),
        {},
        Status.PASS,
        ["image scanning on", "SCAN_ON_PUSH (BASIC)", "encryption AES256 is allowed"],
    ),
    (
        # moto (and a lagging batch answer) leaves the batch at MANUAL: the repo flag counts.
        "scan-on-push-only-on-the-repository",
        ecr_repository(scan_on_push=True),
        BASIC,
        ecr_batch_scanning(scan_on_push=False, frequency="MANUAL"),
        {},
        Status.PASS,
        ["repository scanOnPush is true (BASIC scanning)"],
    ),
    (
        "scan-on-push-false-no-rule",
        ecr_repository(scan_on_push=False),
        BASIC,
        ecr_batch_scanning(),
        {},
        Status.FAIL,
        ["image scanning OFF", "scanOnPush is false and no registry scanning rule"],
    ),
    (
        "basic-registry-rule-matches",
        ecr_repository(scan_on_push=False),
        ecr_registry_scanning("BASIC", [("SCAN_ON_PUSH", ["defender-*"])]),
        ecr_batch_scanning(),
        {},
        Status.PASS,
        ["registry BASIC scanning rule SCAN_ON_PUSH matches filter 'defender-*'"],
    ),
    (
        "enhanced-wildcard-rule",
        ecr_repository(scan_on_push=False),
        ecr_registry_scanning("ENHANCED", [("CONTINUOUS_SCAN", ["*"])]),
        ecr_batch_scanning(frequency="CONTINUOUS_SCAN"),
        {},
        Status.PASS,
        ["registry ENHANCED scanning rule CONTINUOUS_SCAN matches filter '*'"],
    ),
    (
        "enhanced-rule-no-match-scan-on-push-ignored",
        ecr_repository(scan_on_push=True),
        ecr_registry_scanning("ENHANCED", [("CONTINUOUS_SCAN", ["prod-*"])]),
        ecr_batch_scanning(scan_on_push=True, frequency="MANUAL"),
        {},
        Status.FAIL,
        [
            "no ENHANCED registry scanning rule matches the repository",
            "scanOnPush=true is ignored under ENHANCED scanning",
        ],
    ),
    (
        "manual-rule-is-not-scanning",
        ecr_repository(scan_on_push=False),
        ecr_registry_scanning("BASIC", [("MANUAL", ["*"])]),
        ecr_batch_scanning(),
        {},
        Status.FAIL,
        ["image scanning OFF"],
    ),
]

# (case, repository, extra config, expected, words in reason)
ENCRYPTION_CASES = [
    ("aes256-default", ecr_repository(), {}, Status.PASS, ["encryption AES256 is allowed"]),
    (
        "kms-default",
        ecr_repository(encryption="KMS"),
        {},
        Status.PASS,
        ["encryption KMS is allowed"],
    ),
    (
        "kms-dsse-default",
        ecr_repository(encryption="KMS_DSSE"),
        {},
        Status.PASS,
        ["encryption KMS_DSSE is allowed"],
    ),
    (
        "kms-required-aes-found",
        ecr_repository(encryption="AES256"),
        {"encryption": ("KMS", "KMS_DSSE")},
        Status.FAIL,
        ["encryption AES256 is not allowed (allowed: KMS, KMS_DSSE)"],
    ),
    (
        "aes-only-kms-found",
        ecr_repository(encryption="KMS"),
        {"encryption": ("AES256",)},
        Status.FAIL,
        ["encryption KMS is not allowed (allowed: AES256)"],
    ),
]

IMMUTABLE = {"require_immutable_tags": True}

# (case, repository, extra config, expected, words in reason)
MUTABILITY_CASES = [
    (
        "not-required",
        ecr_repository(mutability="MUTABLE"),
        {},
        Status.PASS,
        ["tag mutability MUTABLE (not required to be immutable)"],
    ),
    ("immutable", ecr_repository(mutability="IMMUTABLE"), IMMUTABLE, Status.PASS, ["IMMUTABLE"]),
    (
        "mutable",
        ecr_repository(mutability="MUTABLE"),
        IMMUTABLE,
        Status.FAIL,
        ["tags are MUTABLE, IMMUTABLE is required"],
    ),
    (
        "immutable-with-exclusion-covers-required-tag",
        ecr_repository(mutability="IMMUTABLE_WITH_EXCLUSION", exclusions=["*-latest"]),
        {**IMMUTABLE, "require_tags": ("soc2-dev-latest", "soc2-dev-abc1234")},
        Status.FAIL,
        ["tags are IMMUTABLE_WITH_EXCLUSION", "including required tag(s) ['soc2-dev-latest']"],
    ),
    (
        "immutable-with-exclusion-misses-required-tags",
        ecr_repository(mutability="IMMUTABLE_WITH_EXCLUSION", exclusions=["scratch-*"]),
        {**IMMUTABLE, "require_tags": ("soc2-dev-abc1234",)},
        Status.PASS,
        ["tags are IMMUTABLE_WITH_EXCLUSION", "no required tag matches them"],
    ),
    (
        "immutable-with-exclusion-no-required-tags",
        ecr_repository(mutability="IMMUTABLE_WITH_EXCLUSION", exclusions=["scratch-*"]),
        IMMUTABLE,
        Status.FAIL,
        ["tags are IMMUTABLE_WITH_EXCLUSION: tags matching ['scratch-*'] stay mutable"],
    ),
    (
        "mutable-with-exclusion-covers-required-tags",
        ecr_repository(mutability="MUTABLE_WITH_EXCLUSION", exclusions=["release-*"]),
        {**IMMUTABLE, "require_tags": ("release-1.2.3",)},
        Status.PASS,
        ["tags are MUTABLE_WITH_EXCLUSION", "every required tag matches them"],
    ),
    (
        "mutable-with-exclusion-misses-a-required-tag",
        ecr_repository(mutability="MUTABLE_WITH_EXCLUSION", exclusions=["release-*"]),
        {**IMMUTABLE, "require_tags": ("release-1.2.3", "latest")},
        Status.FAIL,
        ["tags are MUTABLE_WITH_EXCLUSION", "required tag(s) ['latest'] are mutable"],
    ),
]

BASIC_ON = (BASIC, ecr_batch_scanning(scan_on_push=True, frequency="SCAN_ON_PUSH"))
ALL_CASES = (
    SCANNING_CASES
    + [(c[0], c[1], *BASIC_ON, *c[2:]) for c in ENCRYPTION_CASES]
    + [(c[0], c[1], *BASIC_ON, *c[2:]) for c in MUTABILITY_CASES]
)


@pytest.mark.parametrize(
    ("repo", "registry", "batch", "extra", "expected", "words"),
    [case[1:] for case in ALL_CASES],
    ids=[case[0] for case in ALL_CASES],
)
def test_repository_config_table(
    aws: StubbedAws, repo, registry, batch, extra, expected, words
) -> None:
    config = GateConfig(repository=REPO, **extra)
    stub_repository_config(aws, repo, registry, batch)
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert result.evidence["repositoryArn"].endswith(f":repository/{REPO}")
    aws.assert_done()


def test_every_problem_is_reported_not_just_the_first(aws: StubbedAws) -> None:
    stub_repository_config(
        aws, ecr_repository(scan_on_push=False, encryption="KMS", mutability="MUTABLE")
    )
    config = GateConfig(repository=REPO, encryption=("AES256",), require_immutable_tags=True)
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is Status.FAIL
    assert "image scanning OFF" in result.reason
    assert "encryption KMS is not allowed" in result.reason
    assert "tags are MUTABLE, IMMUTABLE is required" in result.reason


def test_missing_repository_fails_naming_it_and_the_region(aws: StubbedAws) -> None:
    aws.fail(
        "ecr",
        "describe_repositories",
        "RepositoryNotFoundException",
        f"The repository with name '{REPO}' does not exist in the registry with id '123456789012'",
        expected={"repositoryNames": [REPO]},
    )
    result = CHECK.run(make_ctx(GateConfig(repository=REPO), aws))
    assert result.status is Status.FAIL
    assert f"repository '{REPO}' not found in region us-east-1" in result.reason
    aws.assert_done()


# (case, operation that is denied, IAM action named in the ERROR)
ERROR_CASES = [
    ("describe-repositories", "describe_repositories", "ecr:DescribeRepositories"),
    (
        "registry-scanning",
        "get_registry_scanning_configuration",
        "ecr:GetRegistryScanningConfiguration",
    ),
    (
        "repository-scanning",
        "batch_get_repository_scanning_configuration",
        "ecr:BatchGetRepositoryScanningConfiguration",
    ),
]
_ORDER = [c[1] for c in ERROR_CASES]
_OK = {
    "describe_repositories": ecr_repository(),
    "get_registry_scanning_configuration": BASIC,
}


@pytest.mark.parametrize(
    ("operation", "action"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_access_denied_anywhere_is_error_never_pass(operation, action, clock: FakeClock) -> None:
    # Prowler's anti-pattern: AccessDenied on the scanning config read as "no rules" -> pass.
    def stub() -> StubbedAws:
        aws = StubbedAws()
        for earlier in _ORDER[: _ORDER.index(operation)]:
            aws.respond("ecr", earlier, _OK[earlier])
        aws.fail("ecr", operation, "AccessDeniedException", f"not authorized to perform: {action}")
        return aws

    with pytest.raises(ClientError):
        CHECK.run(make_ctx(GateConfig(repository=REPO), stub()))
    result = run_one(CHECK.id, GateConfig(repository=REPO), stub(), clock)
    assert result.status is Status.ERROR
    assert f"AccessDenied calling {action}" in result.reason


def _moto(service: str):
    return boto3.client(service, region_name="us-east-1")


# (case, create_repository kwargs, registry scanning to put or None, expected, words)
MOTO_CASES = [
    (
        "scan-on-push",
        {"imageScanningConfiguration": {"scanOnPush": True}},
        None,
        Status.PASS,
        "scanOnPush is true",
    ),
    (
        "no-scanning",
        {"imageScanningConfiguration": {"scanOnPush": False}},
        None,
        Status.FAIL,
        "image scanning OFF",
    ),
    (
        "enhanced-rule",
        {"imageScanningConfiguration": {"scanOnPush": False}},
        ("ENHANCED", "*"),
        Status.PASS,
        "matches filter '*'",
    ),
    (
        "kms",
        {
            "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfiguration": {"encryptionType": "KMS"},
        },
        None,
        Status.PASS,
        "encryption KMS is allowed",
    ),
]


@mock_aws
@pytest.mark.parametrize(
    ("create", "registry", "expected", "words"),
    [c[1:] for c in MOTO_CASES],
    ids=[c[0] for c in MOTO_CASES],
)
def test_moto_repository(create, registry, expected, words) -> None:
    ecr = _moto("ecr")
    ecr.create_repository(repositoryName=REPO, **create)
    if registry:
        scan_type, pattern = registry
        ecr.put_registry_scanning_configuration(
            scanType=scan_type,
            rules=[
                {
                    "scanFrequency": "CONTINUOUS_SCAN",
                    "repositoryFilters": [{"filter": pattern, "filterType": "WILDCARD"}],
                }
            ],
        )
    result = CHECK.run(make_ctx(GateConfig(repository=REPO), _moto))
    assert result.status is expected, result.reason
    assert words in result.reason


@mock_aws
def test_moto_missing_repository() -> None:
    result = CHECK.run(make_ctx(GateConfig(repository=REPO), _moto))
    assert result.status is Status.FAIL
    assert "not found" in result.reason
