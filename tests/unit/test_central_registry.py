"""Central and cross-account registries: the gated repository in another account or region.

The gate reads it with a client bound to that registry (its region, ``registryId`` on every call
that takes one, the registry role's credentials when given). Registry-level answers that ECR
gives only for the caller's own account must never stand in for the registry's: that would
judge the wrong registry's scanning. moto keeps a separate backend per account (credentials from
AssumeRole belong to the role's account), so the role path runs for real here; botocore's
Stubber proves the wire parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from unit_fakes import (
    DIGEST,
    REPO,
    StubbedAws,
    ecr_batch_scanning,
    ecr_registry_scanning,
    ecr_repository,
    run_one,
    stub_repository_config,
)

from soc2gate.aws import OPERATION_SERVICE, REGISTRY_SUFFIX, AwsClients
from soc2gate.checks.ecr._ecr import parse_image_uri
from soc2gate.checks.sagemaker.deployed_image_scanned import Scanned, _compare
from soc2gate.config import GateConfig, build_config, parse_mapping
from soc2gate.errors import ConfigError
from soc2gate.iam_policy import policy, registry_policy
from soc2gate.models import Status
from soc2gate.runner import run_gate

CENTRAL = "111122223333"
CENTRAL_REGION = "eu-west-1"
CALLER = "123456789012"
ROLE = f"arn:aws:iam::{CENTRAL}:role/soc2gate-registry-read"
URI = f"{CENTRAL}.dkr.ecr.{CENTRAL_REGION}.amazonaws.com/{REPO}"
TAG = "soc2-dev-latest"


# ---- configuration ------------------------------------------------------------------------


def test_repository_uri_names_the_registry() -> None:
    config = build_config({"repository": URI})
    assert (config.repository, config.registry_id, config.registry_region) == (
        REPO,
        CENTRAL,
        CENTRAL_REGION,
    )


def test_an_unquoted_yaml_account_id_of_twelve_digits_is_read(tmp_path: Path) -> None:
    from soc2gate.config import load_yaml

    path = tmp_path / "gate.yml"
    path.write_text(f"repository: {REPO}\nregistry_id: {CENTRAL}\n", encoding="utf-8")
    assert build_config(load_yaml(str(path))).registry_id == CENTRAL


@pytest.mark.parametrize("name", ["ml.team/model", "a.b", "team/sub.team/model", "ghcr.io/x"])
def test_repository_names_with_dots_stay_names(name: str) -> None:
    config = build_config({"repository": name})
    assert (config.repository, config.registry_id, config.registry_region) == (name, None, None)


def test_registry_role_names_the_account() -> None:
    config = build_config({"repository": REPO, "registry_role_arn": ROLE})
    assert config.registry_id == CENTRAL


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"repository": URI, "registry_id": "444455556666"}, "contradicts --repository"),
        ({"repository": URI, "registry_region": "us-west-2"}, "contradicts --repository"),
        ({"repository": f"{URI}:latest"}, "no tag or digest"),
        ({"repository": f"{CENTRAL}.dkr.ecr.{CENTRAL_REGION}.example.com/x"}, "expected an ECR"),
        ({"repository": f"https://{URI}"}, "without a scheme"),
        ({"endpoint": "ep", "registry_id": CENTRAL}, "need --repository"),
        (
            {"repository": REPO, "registry_id": "444455556666", "registry_role_arn": ROLE},
            "is not in the registry's account 444455556666",
        ),
        ({"repository": REPO, "registry_id": "1111"}, "12-digit AWS account id"),
        # YAML: registry_id: 012345678901 (unquoted) is the number 12345678901.
        ({"repository": REPO, "registry_id": 12345678901}, "quote the account id"),
        ({"repository": REPO, "registry_region": "Europe"}, "AWS region"),
        ({"repository": REPO, "registry_role_arn": "soc2gate-registry"}, "IAM role ARN"),
    ],
)
def test_registry_options_refuse_what_cannot_be_right(values: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        build_config(parse_mapping(values, "config"))


def test_each_fleet_target_gets_its_own_registry() -> None:
    from soc2gate.config import expand_targets

    config = build_config(
        parse_mapping(
            {
                "targets": [
                    {"name": "central", "repository": URI},
                    {"name": "local", "repository": REPO},
                ]
            },
            "config",
        )
    )
    got = {name: (t.repository, t.registry_id) for name, t in expand_targets(config)}
    assert got == {"central": (REPO, CENTRAL), "local": (REPO, None)}


def test_a_run_wide_repository_uri_is_every_targets_registry() -> None:
    """As run-wide registry_id and registry_region are: a target naming only a repository
    reads it in that registry; a target with a URI of its own reads its own."""
    from soc2gate.config import expand_targets

    other = "444455556666.dkr.ecr.us-west-2.amazonaws.com/other"
    config = build_config(
        parse_mapping(
            {
                "repository": URI,
                "targets": [
                    {"name": "a"},
                    {"name": "b", "repository": "app"},
                    {"name": "c", "repository": other},
                ],
            },
            "config",
        )
    )
    got = {n: (t.repository, t.registry_id, t.registry_region) for n, t in expand_targets(config)}
    assert got == {
        "a": (REPO, CENTRAL, CENTRAL_REGION),
        "b": ("app", CENTRAL, CENTRAL_REGION),
        "c": ("other", "444455556666", "us-west-2"),
    }


# ---- the registry client ------------------------------------------------------------------

#: The minimal parameters of every ECR read the gate makes that takes a registryId.
_ECR_READS = {
    "DescribeRepositories": {"repositoryNames": [REPO]},
    "DescribeImages": {"repositoryName": REPO},
    "DescribeImageScanFindings": {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}},
    "BatchGetImage": {"repositoryName": REPO, "imageIds": [{"imageTag": TAG}]},
    "GetDownloadUrlForLayer": {"repositoryName": REPO, "layerDigest": DIGEST},
    "DescribeImageSigningStatus": {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}},
    "ListImageReferrers": {"repositoryName": REPO, "subjectId": {"imageDigest": DIGEST}},
}


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_every_ecr_read_that_takes_a_registry_id_is_listed_here(fake_credentials: None) -> None:
    model = boto3.client("ecr", region_name="us-east-1").meta.service_model
    takes = {
        op
        for op, prefix in OPERATION_SERVICE.items()
        if prefix == "ecr" and "registryId" in model.operation_model(op).input_shape.members
    }
    assert takes == set(_ECR_READS)


@pytest.mark.parametrize("operation", sorted(_ECR_READS))
def test_registry_client_names_the_registry_on_every_read(
    fake_credentials: None, operation: str
) -> None:
    clients = AwsClients(region="us-east-1", registry_id=CENTRAL, registry_region=CENTRAL_REGION)
    ecr = clients("ecr" + REGISTRY_SUFFIX)
    assert ecr.meta.region_name == CENTRAL_REGION
    method = ecr.meta.method_to_api_mapping
    name = next(m for m, op in method.items() if op == operation)
    params = _ECR_READS[operation]
    with Stubber(ecr) as stub:
        stub.add_response(name, {}, {**params, "registryId": CENTRAL})
        getattr(ecr, name)(**params)
        stub.assert_no_pending_responses()
    # The run's own client is another one and names no registry (ECR's default: the caller's).
    own = clients("ecr")
    assert own is not ecr and own.meta.region_name == "us-east-1"
    with Stubber(own) as stub:
        stub.add_response(name, {}, params)
        getattr(own, name)(**params)


def test_an_explicit_registry_id_is_not_overwritten(fake_credentials: None) -> None:
    ecr = AwsClients(region="us-east-1", registry_id=CENTRAL)("ecr" + REGISTRY_SUFFIX)
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_images", {}, {"repositoryName": REPO, "registryId": "444455556666"}
        )
        ecr.describe_images(repositoryName=REPO, registryId="444455556666")


# ---- registry-level answers about another registry (Stubber) -----------------------------


def _central_repository() -> dict[str, Any]:
    answer = ecr_repository()
    repo = answer["repositories"][0]
    repo["registryId"] = CENTRAL
    repo["repositoryArn"] = f"arn:aws:ecr:{CENTRAL_REGION}:{CENTRAL}:repository/{REPO}"
    repo["repositoryUri"] = URI
    return answer


def _central_batch() -> dict[str, Any]:
    batch = ecr_batch_scanning(scan_on_push=True, frequency="SCAN_ON_PUSH")
    batch["scanningConfigurations"][0]["repositoryArn"] = (
        f"arn:aws:ecr:{CENTRAL_REGION}:{CENTRAL}:repository/{REPO}"
    )
    return batch


#: The client the gate asks for when a registry is configured (a stubbed client of its own).
REG_ECR = "ecr" + REGISTRY_SUFFIX


@pytest.mark.parametrize(
    ("registry", "batch", "words"),
    [
        (
            ecr_registry_scanning("ENHANCED"),  # registryId: the caller's own
            None,
            f"GetRegistryScanningConfiguration answered for registry {CALLER}",
        ),
        (
            {k: v for k, v in ecr_registry_scanning("ENHANCED").items() if k != "registryId"},
            None,
            "answered for registry (none named)",
        ),
        (
            {**ecr_registry_scanning("BASIC"), "registryId": CENTRAL},
            ecr_batch_scanning(scan_on_push=True, frequency="SCAN_ON_PUSH"),  # the caller's repo
            f"BatchGetRepositoryScanningConfiguration answered for registry {CALLER}",
        ),
    ],
    ids=["caller-registry", "registry-unnamed", "caller-repository-of-the-same-name"],
)
def test_another_registrys_scanning_never_stands_in(
    registry: dict[str, Any], batch: dict[str, Any] | None, words: str
) -> None:
    aws = StubbedAws()
    stub_repository_config(
        aws, repo=_central_repository(), registry=registry, batch=batch, ecr=REG_ECR
    )
    result = run_one("ecr-repository-config", build_config({"repository": URI}), aws)
    assert result.status is Status.ERROR, result.reason
    assert words in result.reason
    assert f"--registry-role-arn with a role in {CENTRAL}" in result.reason


def test_the_registrys_own_scanning_is_judged() -> None:
    aws = StubbedAws()
    batch = _central_batch()
    stub_repository_config(
        aws,
        repo=_central_repository(),
        registry={**ecr_registry_scanning("BASIC"), "registryId": CENTRAL},
        batch=batch,
        ecr=REG_ECR,
    )
    result = run_one("ecr-repository-config", build_config({"repository": URI}), aws)
    assert result.status is Status.PASS, result.reason
    aws.assert_done()
    assert "ecr" not in aws.stubbers  # nothing read the caller's own registry


# ---- end to end on moto: the registry's own account and a same-named local repository -----


@pytest.fixture
def accounts(fake_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The caller's account and the central registry account, each with an ECR repository of
    the same name: the central one in eu-west-1, the caller's in both regions."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="seed")["Credentials"]
        central = boto3.client(
            "ecr",
            region_name=CENTRAL_REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        local = {r: boto3.client("ecr", region_name=r) for r in ("us-east-1", CENTRAL_REGION)}
        yield {"central": central, "local": local}


def _push(ecr: Any, tag: str) -> None:
    manifest = (
        '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"digest": "sha256:'
        + "0" * 64
        + '", "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"}, "layers": []}'
    )
    ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=tag)


def _gate(config: GateConfig, *only: str) -> dict[str, Any]:
    report = run_gate(replace(config, only=only), progress=None, environ={}, sleep=lambda s: None)
    return {r.check_id: r for r in report.results}


@pytest.mark.parametrize(
    ("central_scans", "local_scans", "expected"),
    [(True, False, Status.PASS), (False, True, Status.FAIL)],
    ids=["central-scans-local-does-not", "local-scans-central-does-not"],
)
def test_the_central_repository_is_judged_not_the_local_one(
    accounts: dict[str, Any], central_scans: bool, local_scans: bool, expected: Status
) -> None:
    accounts["central"].create_repository(
        repositoryName=REPO, imageScanningConfiguration={"scanOnPush": central_scans}
    )
    _push(accounts["central"], TAG)
    for ecr in accounts["local"].values():
        ecr.create_repository(
            repositoryName=REPO, imageScanningConfiguration={"scanOnPush": local_scans}
        )
    config = build_config(
        {
            "repository": URI,
            "registry_role_arn": ROLE,
            "require_tags": (TAG,),
            "region": "us-east-1",
        }
    )
    results = _gate(config, "ecr-repository-config", "ecr-image-tags")
    assert results["ecr-repository-config"].status is expected, results[
        "ecr-repository-config"
    ].reason
    # The tag exists only in the central repository: found there, so read there.
    assert results["ecr-image-tags"].status is Status.PASS, results["ecr-image-tags"].reason


def test_without_the_role_the_registry_scanning_is_an_error_and_images_still_read(
    accounts: dict[str, Any],
) -> None:
    """A repository policy lets the caller read a repository in another account (moto: a
    repository with that registryId in the caller's backend); the registry's scanning settings
    can only be read inside its account, so that part is ERROR naming the fix."""
    ecr = accounts["local"][CENTRAL_REGION]
    ecr.create_repository(
        repositoryName=REPO, registryId=CENTRAL, imageScanningConfiguration={"scanOnPush": True}
    )
    _push(ecr, TAG)
    config = build_config({"repository": URI, "require_tags": (TAG,), "region": "us-east-1"})
    results = _gate(config, "ecr-repository-config", "ecr-image-tags")
    config_result = results["ecr-repository-config"]
    assert config_result.status is Status.ERROR
    assert f"answered for registry {CALLER}" in config_result.reason
    assert "--registry-role-arn" in config_result.reason
    assert results["ecr-image-tags"].status is Status.PASS, results["ecr-image-tags"].reason


def test_a_missing_central_repository_names_the_registry(accounts: dict[str, Any]) -> None:
    accounts["local"][CENTRAL_REGION].create_repository(repositoryName=REPO)  # the caller's
    config = build_config({"repository": URI, "registry_role_arn": ROLE, "region": "us-east-1"})
    result = _gate(config, "ecr-repository-config")["ecr-repository-config"]
    assert result.status is Status.FAIL
    assert f"not found in registry {CENTRAL} in region {CENTRAL_REGION}" in result.reason


# ---- messages and policies ----------------------------------------------------------------


def test_a_model_in_another_ecr_registry_says_how_to_gate_it() -> None:
    gated = parse_image_uri(f"{CALLER}.dkr.ecr.us-east-1.amazonaws.com/{REPO}")
    assert gated is not None
    problem = _compare("variant AllTraffic", f"{URI}@{DIGEST}", Scanned(gated, TAG, DIGEST), "runs")
    assert problem is not None and f"pass --repository {URI}" in problem
    # Another repository of the same registry is a plain mismatch: no registry hint.
    same = f"{CALLER}.dkr.ecr.us-east-1.amazonaws.com/other@{DIGEST}"
    problem = _compare("variant AllTraffic", same, Scanned(gated, TAG, DIGEST), "runs")
    assert problem is not None and "--repository" not in problem


def _actions(document: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        actions = statement["Action"]
        resources = statement.get("Resource", "-")
        for action in [actions] if isinstance(actions, str) else actions:
            out.setdefault(action, set()).update(
                [resources] if isinstance(resources, str) else resources
            )
    return out


def test_iam_policy_with_the_registry_role() -> None:
    config = build_config(
        {"repository": URI, "registry_role_arn": ROLE, "scan_tag": TAG, "region": "us-east-1"}
    )
    gate = _actions(policy(config, CALLER))
    assert gate["sts:AssumeRole"] == {ROLE}
    assert not [a for a in gate if a.startswith(("ecr:", "inspector2:"))]
    registry = _actions(registry_policy(config, CALLER))
    arn = f"arn:aws:ecr:{CENTRAL_REGION}:{CENTRAL}:repository/{REPO}"
    assert registry["ecr:DescribeImageScanFindings"] == {arn}
    assert registry["ecr:GetRegistryScanningConfiguration"] == {"*"}
    assert "inspector2:ListCoverage" in registry


def test_iam_policy_without_the_role_is_a_repository_policy() -> None:
    config = build_config({"repository": URI, "scan_tag": TAG, "region": "us-east-1"})
    arn = f"arn:aws:ecr:{CENTRAL_REGION}:{CENTRAL}:repository/{REPO}"
    assert _actions(policy(config, CALLER))["ecr:DescribeImages"] == {arn}
    document = registry_policy(config, CALLER)
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{CALLER}:root"}
    assert set(statement["Action"]) == {
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "ecr:DescribeRepositories",
    }
    with pytest.raises(ConfigError, match="no target gates a repository in another registry"):
        registry_policy(build_config({"repository": REPO}), CALLER)


def test_custom_ecr_checks_about_the_repository_read_the_registry() -> None:
    """A custom check calling ECR with {repository} reads the gated registry too."""
    aws = StubbedAws()
    repo = _central_repository()
    registry = {**ecr_registry_scanning("BASIC"), "registryId": CENTRAL}
    stub_repository_config(aws, repo=repo, registry=registry, batch=_central_batch(), ecr=REG_ECR)
    aws.respond(REG_ECR, "describe_repositories", repo, {"repositoryNames": [REPO]})
    check = {
        "id": "repo-is-central",
        "title": "the repository lives in the central registry",
        "call": "ecr.describe_repositories",
        "params": {"repositoryNames": ["{repository}"]},
        "query": "repositories[0].registryId",
        "expect": {"equals": CENTRAL},
        "remediation": "gate the central repository",
    }
    result = _run_custom(aws, check)
    assert result.status is Status.PASS, result.reason
    assert "ecr" not in aws.stubbers


# ---- STS answers that are not AWS error documents -----------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code", "transient"),
    [
        (429, b"Too Many Requests", "TooManyRequestsException", True),
        (502, b"Bad Gateway", "InternalFailure", True),
        (403, b"<html>Forbidden</html>", "HTTP403", False),
    ],
)
def test_a_non_xml_sts_error_reads_as_its_http_status(
    fake_credentials: None, status: int, body: bytes, code: str, transient: bool
) -> None:
    """A load balancer's own error page in front of STS: an HTTP error, never a parser crash
    ("a bug in soc2gate"); 429 and 5xx are retried like AWS's own throttling."""
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ClientError

    from soc2gate.aws import _check_response_body, is_transient

    class Raw:
        def __init__(self) -> None:
            self.body = body

        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        config=__import__("botocore.config").config.Config(retries={"max_attempts": 1}),
    )
    sts.meta.events.register("before-parse", _check_response_body)
    sts.meta.events.register(
        "before-send",
        lambda **_: AWSResponse("https://sts", status, {"Content-Type": "text/plain"}, Raw()),
    )
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="soc2gate-registry")
    assert caught.value.response["Error"]["Code"] == code
    assert f"HTTP {status} without an AWS error document" in str(caught.value)
    assert is_transient(caught.value) is transient


# ---- the repository read must be the configured registry's (review findings) ---------------


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda repo: repo.pop("registryId"), "answered for registry (no registryId)"),
        (lambda repo: repo.update(registryId=CALLER), f"answered for registry {CALLER}"),
        (
            lambda repo: repo.update(repositoryArn=f"arn:aws:ecr:us-east-1:{CENTRAL}:repository/r"),
            "not a repository in eu-west-1",
        ),
    ],
    ids=["no-registry-id", "the-callers-registry", "another-region"],
)
def test_a_repository_that_is_not_the_configured_registrys_is_an_error(
    mutate: Any, words: str
) -> None:
    """Even if every later answer would pass: the caller's ENHANCED scan-everything registry
    must not vouch for a central repository whose own scanning is off."""
    aws = StubbedAws()
    repo = _central_repository()
    repo["repositories"][0]["imageScanningConfiguration"] = {"scanOnPush": False}
    mutate(repo["repositories"][0])
    aws.respond(REG_ECR, "describe_repositories", repo, {"repositoryNames": [REPO]})
    result = run_one("ecr-repository-config", build_config({"repository": URI}), aws)
    assert result.status is Status.ERROR, result.reason
    assert words in result.reason and "could not read" in result.reason


def test_a_single_account_run_is_not_told_to_use_a_registry_role() -> None:
    aws = StubbedAws()
    # The repository is the caller's; the registry answer names another account.
    registry = {**ecr_registry_scanning("BASIC"), "registryId": "444455556666"}
    stub_repository_config(aws, registry=registry)
    result = run_one("ecr-repository-config", GateConfig(repository=REPO), aws)
    assert result.status is Status.ERROR
    assert "answered for registry 444455556666" in result.reason
    assert "cannot tell whose scanning settings these are" in result.reason
    assert "--registry-role-arn" not in result.reason


def test_clients_without_a_registry_refuse_to_read_one(fake_credentials: None) -> None:
    with pytest.raises(ConfigError, match="built without a registry"):
        AwsClients(region="us-east-1")("ecr" + REGISTRY_SUFFIX)
    # A run handed such a factory for a central repository never reads the caller's instead.
    report = run_gate(
        build_config({"repository": URI, "region": "us-east-1"}),
        clients=AwsClients(region="us-east-1"),
        progress=None,
        environ={},
        sleep=lambda s: None,
    )
    (result,) = [r for r in report.results if r.check_id == "ecr-repository-config"]
    assert result.status is Status.ERROR
    assert result.reason.startswith("configuration error: these AWS clients were built without")


def _run_custom(aws: StubbedAws, check: dict[str, Any]) -> Any:
    """Run ecr-repository-config (the source of {repository}) and one custom check on the
    central repository; the custom check's result."""
    config = build_config(
        parse_mapping(
            {
                "repository": URI,
                "only": ["ecr-repository-config", check["id"]],
                "custom_checks": [check],
            },
            "config",
        )
    )
    report = run_gate(config, clients=aws, progress=None, environ={}, sleep=lambda s: None)
    return next(r for r in report.results if r.check_id == check["id"])


#: A custom Inspector check about the gated repository (a structure-valued parameter).
COVERAGE_CHECK = {
    "id": "image-is-covered",
    "title": "Inspector covers the repository",
    "call": "inspector2.list_coverage",
    "params": {
        "filterCriteria": {"ecrRepositoryName": [{"comparison": "EQUALS", "value": "{repository}"}]}
    },
    "query": "coveredResources",
    "expect": "not_empty",
    "remediation": "turn on enhanced scanning",
}


def test_custom_inspector_checks_about_the_image_read_the_registry() -> None:
    """Inspector shows an account only its own resources: a custom Inspector check about the
    gated repository reads with the registry's client, in the registry's region."""
    aws = StubbedAws()
    registry = {**ecr_registry_scanning("BASIC"), "registryId": CENTRAL}
    stub_repository_config(
        aws, repo=_central_repository(), registry=registry, batch=_central_batch(), ecr=REG_ECR
    )
    aws.respond(
        "inspector2" + REGISTRY_SUFFIX,
        "list_coverage",
        {"coveredResources": []},
        {
            "filterCriteria": {
                "ecrRepositoryName": [{"comparison": "EQUALS", "value": REPO}],
            }
        },
    )
    result = _run_custom(aws, COVERAGE_CHECK)
    # The registry's (stubbed) Inspector answered: nothing covered, a FAIL, not a silent pass.
    assert result.status is Status.FAIL, result.reason
    assert "inspector2" not in aws.stubbers
    aws.assert_done()


def test_iam_policy_gives_custom_registry_reads_to_the_role() -> None:
    config = build_config(
        parse_mapping(
            {
                "repository": URI,
                "registry_role_arn": ROLE,
                "custom_checks": [COVERAGE_CHECK],
            },
            "config",
        )
    )
    # A structure-valued parameter (filterCriteria) scopes to "*" (it used to crash).
    assert _actions(registry_policy(config, CALLER))["inspector2:ListCoverage"] == {"*"}
    assert "inspector2:ListCoverage" not in _actions(policy(config, CALLER))


# ---- partitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "region", "arn"),
    [
        (
            f"{CENTRAL}.dkr.ecr.cn-north-1.amazonaws.com.cn/{REPO}",
            "cn-north-1",
            f"arn:aws-cn:ecr:cn-north-1:{CENTRAL}:repository/{REPO}",
        ),
        (
            f"{CENTRAL}.dkr.ecr.us-gov-west-1.amazonaws.com/{REPO}",
            "us-gov-west-1",
            f"arn:aws-us-gov:ecr:us-gov-west-1:{CENTRAL}:repository/{REPO}",
        ),
    ],
)
def test_iam_policy_names_the_partition(uri: str, region: str, arn: str) -> None:
    config = build_config({"repository": uri, "scan_tag": TAG, "region": region})
    assert _actions(policy(config, CALLER))["ecr:DescribeImageScanFindings"] == {arn}
    (statement,) = registry_policy(config, CALLER)["Statement"]
    assert statement["Principal"] == {"AWS": f"{arn.split(':ecr:')[0]}:iam::{CALLER}:root"}


def test_a_registry_role_in_another_partition_is_refused() -> None:
    with pytest.raises(ConfigError, match="is in partition aws, but the registry's region"):
        build_config(
            {
                "repository": f"{CENTRAL}.dkr.ecr.cn-north-1.amazonaws.com.cn/{REPO}",
                "registry_role_arn": ROLE,
            }
        )
