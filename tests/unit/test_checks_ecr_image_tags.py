"""ecr-image-tags: required tags exist; {sha}/{short_sha} come from the flag or the CI environment."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import (
    DIGEST,
    OTHER_DIGEST,
    REPO,
    FakeClock,
    StubbedAws,
    describe_images_params,
    ecr_images,
    make_ctx,
    run_one,
)

from soc2gate.checks.ecr._ecr import short_digest
from soc2gate.checks.ecr.ecr_image_tags import EcrImageTags
from soc2gate.config import GateConfig
from soc2gate.errors import ConfigError
from soc2gate.models import Status
from soc2gate.runner import run_gate

CHECK = EcrImageTags()
SHA_FLAG = "0123456789abcdef0123456789abcdef01234567"
SHA_GH = "fedcba9876543210fedcba9876543210fedcba98"
SHA_CB = "1111111222222233333334444444555555566666"

# (case, require_tags, --commit-sha, environ, the tags DescribeImages must be asked for)
SHA_CASES = [
    ("literal", ("soc2-dev-latest", "soc2-latest"), None, {}, ["soc2-dev-latest", "soc2-latest"]),
    ("sha-from-flag", ("soc2-dev-{sha}",), SHA_FLAG, {}, [f"soc2-dev-{SHA_FLAG}"]),
    ("short-sha-from-flag", ("soc2-dev-{short_sha}",), SHA_FLAG, {}, ["soc2-dev-0123456"]),
    (
        "github-sha",
        ("soc2-dev-{sha}", "soc2-{short_sha}"),
        None,
        {"GITHUB_SHA": SHA_GH},
        [f"soc2-dev-{SHA_GH}", "soc2-fedcba9"],
    ),
    (
        "codebuild-source-version",
        ("soc2-dev-{short_sha}",),
        None,
        {"CODEBUILD_RESOLVED_SOURCE_VERSION": SHA_CB},
        ["soc2-dev-1111111"],
    ),
    (
        "flag-beats-environment",
        ("soc2-dev-{short_sha}",),
        SHA_FLAG,
        {"GITHUB_SHA": SHA_GH, "CODEBUILD_RESOLVED_SOURCE_VERSION": SHA_CB},
        ["soc2-dev-0123456"],
    ),
    (
        "github-beats-codebuild",
        ("soc2-dev-{short_sha}",),
        None,
        {"GITHUB_SHA": SHA_GH, "CODEBUILD_RESOLVED_SOURCE_VERSION": SHA_CB},
        ["soc2-dev-fedcba9"],
    ),
    (
        "blank-github-sha-falls-through",
        ("soc2-dev-{short_sha}",),
        None,
        {"GITHUB_SHA": "  ", "CODEBUILD_RESOLVED_SOURCE_VERSION": SHA_CB},
        ["soc2-dev-1111111"],
    ),
]


@pytest.mark.parametrize(
    ("require_tags", "commit_sha", "environ", "asked"),
    [case[1:] for case in SHA_CASES],
    ids=[case[0] for case in SHA_CASES],
)
def test_tags_are_expanded_and_all_present(
    aws: StubbedAws, require_tags, commit_sha, environ, asked
) -> None:
    config = GateConfig(repository=REPO, require_tags=require_tags, commit_sha=commit_sha)
    aws.respond(
        "ecr", "describe_images", ecr_images({DIGEST: asked}), describe_images_params(*asked)
    )
    result = CHECK.run(make_ctx(config, aws, environ=environ))
    assert result.status is Status.PASS, result.reason
    assert result.reason == f"all {len(asked)} required tag(s) present on {DIGEST}"
    assert result.evidence["digests"] == dict.fromkeys(asked, DIGEST)
    aws.assert_done()


def test_tags_on_different_digests_fail_naming_each_digest(aws: StubbedAws) -> None:
    # Issue 10 hole 3: this passed as "present on 2 digests", vouching for two builds at once.
    config = GateConfig(repository=REPO, require_tags=("soc2-dev-latest", "soc2-latest"))
    aws.respond(
        "ecr",
        "describe_images",
        ecr_images({DIGEST: ["soc2-dev-latest"], OTHER_DIGEST: ["soc2-latest"]}),
    )
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is Status.FAIL
    assert "required tags name 2 different images" in result.reason
    assert f"soc2-dev-latest -> {short_digest(DIGEST)}" in result.reason
    assert f"soc2-latest -> {short_digest(OTHER_DIGEST)}" in result.reason
    assert result.evidence["digests"] == {"soc2-dev-latest": DIGEST, "soc2-latest": OTHER_DIGEST}


# (case, required tags, tags that exist, expected reason)
MISSING_CASES = [
    ("one-missing-alone", ("soc2-dev-abc1234",), [], f"1 of 1 required tag(s) missing in {REPO}"),
    (
        "second-of-three-missing",
        ("soc2-dev-latest", "soc2-dev-abc1234", "soc2-latest"),
        ["soc2-dev-latest", "soc2-latest"],
        f"1 of 3 required tag(s) missing in {REPO}: soc2-dev-abc1234",
    ),
    (
        "all-missing",
        ("a1", "b2"),
        [],
        f"2 of 2 required tag(s) missing in {REPO}: a1, b2",
    ),
]


@pytest.mark.parametrize(
    ("required", "present", "reason"),
    [case[1:] for case in MISSING_CASES],
    ids=[case[0] for case in MISSING_CASES],
)
def test_missing_tags_are_named(aws: StubbedAws, required, present, reason) -> None:
    # DescribeImages fails the whole call if any tag is missing: then each tag is asked alone.
    not_found = "The image with imageId {imageDigest:'null', imageTag:'x'} does not exist"
    if len(required) > 1:
        aws.fail(
            "ecr",
            "describe_images",
            "ImageNotFoundException",
            not_found,
            expected=describe_images_params(*required),
        )
    for tag in required:
        if tag in present:
            aws.respond(
                "ecr", "describe_images", ecr_images({DIGEST: [tag]}), describe_images_params(tag)
            )
        else:
            aws.fail(
                "ecr",
                "describe_images",
                "ImageNotFoundException",
                not_found,
                expected=describe_images_params(tag),
            )
    config = GateConfig(repository=REPO, require_tags=required)
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is Status.FAIL
    assert result.reason.startswith(reason)
    for tag in required:
        assert (f"{tag}: MISSING" in result.details) is (tag not in present)
    aws.assert_done()


def test_sha_tag_without_any_sha_is_a_config_error(aws: StubbedAws, clock: FakeClock) -> None:
    config = GateConfig(repository=REPO, require_tags=("soc2-dev-{sha}",))
    with pytest.raises(ConfigError, match="needs a commit SHA"):
        CHECK.run(make_ctx(config, aws, environ={}))
    with pytest.raises(ConfigError, match="GITHUB_SHA"):
        run_gate(config, clients=aws, sleep=clock.sleep, clock=clock, progress=None, environ={})
    assert aws.calls == []


def test_aws_errors_are_errors(clock: FakeClock) -> None:
    config = GateConfig(repository=REPO, require_tags=("soc2-dev-latest",))
    code = "AccessDeniedException"
    with pytest.raises(ClientError):
        CHECK.run(make_ctx(config, StubbedAws().fail("ecr", "describe_images", code)))
    result = run_one(CHECK.id, config, StubbedAws().fail("ecr", "describe_images", code), clock)
    assert result.status is Status.ERROR
    assert "AccessDenied calling ecr:DescribeImages" in result.reason


def test_a_missing_repository_is_an_error_that_defers_to_the_repository_check() -> None:
    """Alone it is an ERROR; with ecr-repository-config failing in the run the runner keeps
    ``blocked_by`` so the one cause counts once (issue 19, item 12)."""
    config = GateConfig(repository=REPO, require_tags=("soc2-dev-latest",))
    aws = StubbedAws().fail("ecr", "describe_images", "RepositoryNotFoundException")
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is Status.ERROR
    assert result.blocked_by == "ecr-repository-config"
    assert f"repository {REPO!r} not found" in result.reason


def _push(ecr, tag: str, seed: str = "a") -> str:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + seed * 64,
        },
        "layers": [],
    }
    response = ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag=tag)
    return response["image"]["imageId"]["imageDigest"]


@mock_aws
@pytest.mark.parametrize(
    ("pushed", "expected"),
    [(("soc2-dev-latest", "soc2-dev-0123456"), Status.PASS), (("soc2-dev-latest",), Status.FAIL)],
    ids=["all-pushed", "sha-tag-not-pushed"],
)
def test_moto_tags(pushed, expected) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName=REPO)
    for tag in pushed:
        _push(ecr, tag)
    config = GateConfig(repository=REPO, require_tags=("soc2-dev-latest", "soc2-dev-{short_sha}"))
    ctx = make_ctx(
        config, lambda s: boto3.client(s, region_name="us-east-1"), environ={"GITHUB_SHA": SHA_FLAG}
    )
    result = CHECK.run(ctx)
    assert result.status is expected, result.reason
    if expected is Status.FAIL:
        assert result.reason.endswith(": soc2-dev-0123456")
