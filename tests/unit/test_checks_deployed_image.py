"""deployed-image-scanned: the endpoint runs the digest ecr-scan-findings passed, from the repo."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from unit_fakes import (
    ACCOUNT,
    DIGEST,
    ENDPOINT,
    GOOD_ENV,
    OTHER_DIGEST,
    REGION,
    REPO,
    FakeClock,
    StubbedAws,
    ecr_images,
    ecr_repository,
    ecr_scan_page,
    make_ctx,
    scan_params,
    sm_endpoint,
    sm_endpoint_config,
    variant,
)

from soc2gate.checks.ecr._ecr import parse_image_uri, short_digest
from soc2gate.checks.sagemaker._sagemaker import Endpoint
from soc2gate.checks.sagemaker.deployed_image_scanned import (
    DeployedImageScanned,
    ModelImage,
    Scanned,
    evaluate,
)
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Status
from soc2gate.runner import run_gate

CHECK = DeployedImageScanned()
TAG = "soc2-dev-latest"
CONFIG = GateConfig(repository=REPO, require_tags=(TAG,), endpoint=ENDPOINT)
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REPO_URI = f"{REGISTRY}/{REPO}"
THIRD_DIGEST = "sha256:" + "ef" * 32


def at(digest: str, uri: str = REPO_URI) -> str:
    return f"{uri}@{digest}"


SCANNED = Scanned(repository=parse_image_uri(REPO_URI), tag=TAG, digest=DIGEST)  # type: ignore[arg-type]


def endpoint(*deployed: tuple[str, str, str], status: str = "InService") -> Endpoint:
    return Endpoint(
        name=ENDPOINT,
        arn="arn",
        status=status,
        failure_reason="",
        config_name="cfg-1",
        pending_config_name="",
        creation_time="",
        last_modified_time="",
        deployed_images=tuple(deployed),
    )


def deployed(resolved: str, variant_name: str = "AllTraffic") -> tuple[str, str, str]:
    return (variant_name, f"{REPO_URI}:{TAG}", resolved)


def model(image: str, digest: str = DIGEST, note: str = "") -> ModelImage:
    return ModelImage("model-1 PrimaryContainer", image, digest, note)


# (case, deployed images, model images, expected status, words in the reason)
EVALUATE_CASES: list[tuple[str, list[Any], list[ModelImage], Status, list[str]]] = [
    (
        "same-digest",
        [deployed(at(DIGEST))],
        [model(f"{REPO_URI}:{TAG}", note="tag resolved in ECR")],
        Status.PASS,
        [f"runs {short_digest(DIGEST)} from {REPO}", "1 deployed image(s), 1 model image(s)"],
    ),
    (
        "model-by-digest",
        [deployed(at(DIGEST))],
        [model(at(DIGEST))],
        Status.PASS,
        ["the digest ecr-scan-findings passed"],
    ),
    (
        "fips-host-is-the-same-registry",
        [deployed(at(DIGEST, f"{ACCOUNT}.dkr.ecr-fips.{REGION}.amazonaws.com/{REPO}"))],
        [],
        Status.PASS,
        ["runs sha256:abababababab"],
    ),
    (
        "tag-moved-after-deploy",
        [deployed(at(OTHER_DIGEST))],
        [model(f"{REPO_URI}:{TAG}")],
        Status.FAIL,
        [
            f"variant AllTraffic runs {short_digest(OTHER_DIGEST)}",
            f"ecr-scan-findings passed {short_digest(DIGEST)} (tag {TAG})",
        ],
    ),
    (
        "model-tag-now-elsewhere",
        [deployed(at(DIGEST))],
        [model(f"{REPO_URI}:{TAG}", digest=OTHER_DIGEST)],
        Status.FAIL,
        [f"model model-1 PrimaryContainer points at {short_digest(OTHER_DIGEST)}"],
    ),
    (
        "model-digest-differs",
        [deployed(at(DIGEST))],
        [model(at(THIRD_DIGEST), digest=THIRD_DIGEST)],
        Status.FAIL,
        [f"points at {short_digest(THIRD_DIGEST)}"],
    ),
    (
        "other-repository-same-account",
        [deployed(at(DIGEST, f"{REGISTRY}/defender-image-analyzer"))],
        [],
        Status.FAIL,
        [f"runs sha256:abababababab from defender-image-analyzer, not the gated repository {REPO}"],
    ),
    (
        "same-name-other-account",
        [deployed(at(DIGEST, f"999999999999.dkr.ecr.{REGION}.amazonaws.com/{REPO}"))],
        [],
        Status.FAIL,
        [f"from 999999999999.dkr.ecr.{REGION}.amazonaws.com/{REPO}, not the gated repository"],
    ),
    (
        "same-name-other-region",
        [deployed(at(DIGEST, f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{REPO}"))],
        [],
        Status.FAIL,
        ["eu-west-1", "not the gated repository"],
    ),
    (
        "public-image",
        [deployed("public.ecr.aws/docker/library/python@" + DIGEST)],
        [],
        Status.FAIL,
        ["public.ecr.aws/docker/library/python, not the gated repository"],
    ),
    (
        "resolved-image-garbage",
        [deployed("not-an-image")],
        [],
        Status.FAIL,
        ["'not-an-image' is not a registry/repository image reference"],
    ),
    (
        "resolved-without-digest",
        [deployed(f"{REPO_URI}:{TAG}")],
        [],
        Status.FAIL,
        ["cannot resolve"],
    ),
    (
        "one-of-two-variants-bad",
        [deployed(at(DIGEST), "Blue"), deployed(at(OTHER_DIGEST), "Green")],
        [],
        Status.FAIL,
        ["variant Green runs sha256:cdcdcdcdcdcd"],
    ),
    (
        "model-without-image",
        [deployed(at(DIGEST))],
        [model("", digest="")],
        Status.FAIL,
        ["names no Image to compare"],
    ),
    (
        "model-tag-missing",
        [deployed(at(DIGEST))],
        [model(f"{REPO_URI}:gone", digest="", note="tag 'gone' not found in repo")],
        Status.FAIL,
        ["cannot resolve", "tag 'gone' not found"],
    ),
]


@pytest.mark.parametrize(
    ("images", "models", "expected", "words"),
    [case[1:] for case in EVALUATE_CASES],
    ids=[case[0] for case in EVALUATE_CASES],
)
def test_evaluate_table(images, models, expected, words) -> None:
    result = evaluate(CHECK, endpoint(*images), SCANNED, models)
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    # Both digests are in the details in full, for the audit trail.
    assert any(DIGEST in d for d in result.details)
    assert result.evidence["scannedDigest"] == DIGEST
    assert [i["resolvedImage"] for i in result.evidence["deployedImages"]] == [i[2] for i in images]


def test_many_problems_keep_the_reason_short_and_list_the_rest() -> None:
    images = [deployed(at(OTHER_DIGEST), f"v{i}") for i in range(5)]
    result = evaluate(CHECK, endpoint(*images), SCANNED, [])
    assert result.status is Status.FAIL
    assert result.reason.endswith("(+2 more)")
    assert sum("runs sha256:cdcdcdcdcdcd" in d for d in result.details) == 2


# ---- run(): the scan result it depends on --------------------------------------------------------


def scan_result(status: Status, digest: str | None = DIGEST, reason: str = "x") -> CheckResult:
    evidence = {"tag": TAG, "imageDigest": digest} if digest else {}
    return CheckResult("ecr-scan-findings", status, reason, evidence=evidence)


def ctx_with(aws: Any, scan: CheckResult | None, clock: FakeClock | None = None) -> Any:
    ctx = make_ctx(CONFIG, aws, clock)
    if scan is not None:
        ctx.finish(scan)
    return ctx


# (case, scan result, expected status, words)
SCAN_CASES = [
    (
        "scan-failed",
        scan_result(Status.FAIL, reason="1 finding(s) at or above HIGH"),
        Status.FAIL,
        ["(sha256:abababababab) did not pass ecr-scan-findings", "1 finding(s) at or above HIGH"],
    ),
    (
        "scan-error",
        scan_result(Status.ERROR, None, "AccessDenied calling ecr:DescribeImageScanFindings"),
        Status.ERROR,
        ["ecr-scan-findings was not evaluated (ERROR): AccessDenied"],
    ),
    (
        "scan-skipped",
        scan_result(Status.SKIPPED, None, "skipped by --skip"),
        Status.ERROR,
        ["was skipped (skipped by --skip)", "skip this check too"],
    ),
    ("scan-not-in-run", None, Status.ERROR, ["not part of this run"]),
    (
        "scan-passed-without-digest",
        scan_result(Status.PASS, None),
        Status.ERROR,
        ["did not record the digest"],
    ),
]


@pytest.mark.parametrize(
    ("scan", "expected", "words"),
    [case[1:] for case in SCAN_CASES],
    ids=[case[0] for case in SCAN_CASES],
)
def test_no_pass_without_a_passed_scan_and_no_aws_call(
    aws: StubbedAws, scan, expected, words
) -> None:
    result = CHECK.run(ctx_with(aws, scan))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert aws.calls == []


def endpoint_response(status: str = "InService", *resolved: str) -> dict[str, Any]:
    response = sm_endpoint(status=status)
    response["ProductionVariants"] = [
        {
            "VariantName": "AllTraffic",
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
            "DeployedImages": [
                {"SpecifiedImage": f"{REPO_URI}:{TAG}", "ResolvedImage": r} for r in resolved
            ],
        }
    ]
    return response


# (case, DescribeEndpoint response, expected status, state or words)
STATE_CASES = [
    ("creating-no-images", endpoint_response("Creating"), Status.PENDING, "Creating"),
    # During an update DeployedImages still names the old images: wait for the new ones.
    ("updating-old-images", endpoint_response("Updating", at(OTHER_DIGEST)), Status.PENDING, ""),
    (
        "in-service-no-images",
        endpoint_response("InService"),
        Status.ERROR,
        "reports no DeployedImages: cannot verify",
    ),
    (
        "failed-no-images",
        endpoint_response("Failed"),
        Status.FAIL,
        "is Failed (AWS gave no FailureReason): the endpoint does not serve the scanned image",
    ),
    # A failed endpoint never passes, even when DeployedImages still names the scanned digest
    # (issue 19, item 5: without sagemaker-endpoint-status in the run these passed).
    *(
        (
            f"{state.lower()}-scanned-digest",
            endpoint_response(state, at(DIGEST)),
            Status.FAIL,
            f"is {state}",
        )
        for state in ("Failed", "RollingBack", "OutOfService", "UpdateRollbackFailed", "Deleting")
    ),
    ("unknown-state", endpoint_response("Bogus"), Status.ERROR, "a state this gate does not know"),
]


@pytest.mark.parametrize(
    ("response", "expected", "words"),
    [case[1:] for case in STATE_CASES],
    ids=[case[0] for case in STATE_CASES],
)
def test_endpoint_states(aws: StubbedAws, response, expected, words) -> None:
    aws.respond("sagemaker", "describe_endpoint", response, {"EndpointName": ENDPOINT})
    if response["EndpointStatus"] == "InService":
        # A variant without DeployedImages may serve inference components: its config says.
        aws.respond(
            "sagemaker",
            "describe_endpoint_config",
            sm_endpoint_config("cfg-1", [variant(model="model-1")]),
            {"EndpointConfigName": "cfg-1"},
        )
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS)))
    assert result.status is expected, result.reason
    assert words in result.reason
    if expected is Status.PENDING:
        assert result.state == response["EndpointStatus"]
    aws.assert_done()


def test_missing_endpoint_waits_for_the_grace_period(aws: StubbedAws, clock: FakeClock) -> None:
    message = f'Could not find endpoint "{ENDPOINT}".'
    aws.fail("sagemaker", "describe_endpoint", "ValidationException", message)
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS), clock))
    assert result.status is Status.PENDING and result.state == "NotFound"


def stub_deployment(
    aws: StubbedAws, resolved: str, model_image: str, tag_digest: str | None = None
) -> None:
    """DescribeEndpoint, DescribeRepositories, DescribeEndpointConfig, DescribeModel[, Images]."""
    aws.respond(
        "sagemaker",
        "describe_endpoint",
        endpoint_response("InService", resolved),
        {"EndpointName": ENDPOINT},
    )
    aws.respond("ecr", "describe_repositories", ecr_repository(), {"repositoryNames": [REPO]})
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-1", [variant(model="model-1")]),
        {"EndpointConfigName": "cfg-1"},
    )
    aws.respond(
        "sagemaker",
        "describe_model",
        {
            "ModelName": "model-1",
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/model-1",
            "CreationTime": sm_endpoint()["CreationTime"],
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec",
            "PrimaryContainer": {"Image": model_image, "Environment": GOOD_ENV},
        },
        {"ModelName": "model-1"},
    )
    if tag_digest is not None:
        tag = model_image.rsplit(":", 1)[1]
        aws.respond(
            "ecr",
            "describe_images",
            ecr_images({tag_digest: [tag]}),
            {"repositoryName": REPO, "imageIds": [{"imageTag": tag}]},
        )


# (case, ResolvedImage, model Image, digest ECR resolves the model tag to, status, words)
RUN_CASES = [
    ("deployed-as-scanned", at(DIGEST), f"{REPO_URI}:{TAG}", DIGEST, Status.PASS, "runs sha256:"),
    ("model-by-digest", at(DIGEST), at(DIGEST), None, Status.PASS, "1 model image(s)"),
    (
        "endpoint-runs-older-digest",
        at(OTHER_DIGEST),
        f"{REPO_URI}:{TAG}",
        DIGEST,
        Status.FAIL,
        "runs sha256:cdcdcdcdcdcd, but ecr-scan-findings passed sha256:abababababab",
    ),
    (
        "foreign-model-is-not-resolved-in-ecr",
        at(DIGEST),
        f"{REGISTRY}/other-repo:latest",
        None,
        Status.FAIL,
        "points at other-repo, not the gated repository",
    ),
]


@pytest.mark.parametrize(
    ("resolved", "model_image", "tag_digest", "expected", "words"),
    [case[1:] for case in RUN_CASES],
    ids=[case[0] for case in RUN_CASES],
)
def test_run_compares_deployed_and_model_images(
    aws: StubbedAws, resolved, model_image, tag_digest, expected, words
) -> None:
    stub_deployment(aws, resolved, model_image, tag_digest)
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS)))
    assert result.status is expected, result.reason
    assert words in result.reason
    aws.assert_done()


def test_missing_repository_fails(aws: StubbedAws) -> None:
    aws.respond(
        "sagemaker",
        "describe_endpoint",
        endpoint_response("InService", at(DIGEST)),
        {"EndpointName": ENDPOINT},
    )
    aws.fail("ecr", "describe_repositories", "RepositoryNotFoundException")
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS)))
    assert result.status is Status.FAIL and "not found" in result.reason


# ---- through the runner: the dependency on ecr-scan-findings ----------------------------------


def test_runner_runs_it_after_the_scan_and_passes_on_the_scanned_digest(clock: FakeClock) -> None:
    aws = StubbedAws()
    aws.respond(
        "ecr",
        "describe_images",
        ecr_images({DIGEST: [TAG]}),
        {"repositoryName": REPO, "imageIds": [{"imageTag": TAG}]},
    )
    aws.respond(
        "ecr",
        "describe_image_scan_findings",
        ecr_scan_page(findings=[], counts={}),
        scan_params(),
    )
    stub_deployment(aws, at(DIGEST), at(DIGEST))
    report = run_gate(
        replace(CONFIG, only=("ecr-scan-findings", CHECK.id)),
        clients=aws,
        sleep=clock.sleep,
        clock=clock,
        progress=None,
        environ={},
    )
    by_id = {r.check_id: r for r in report.results}
    assert by_id["ecr-scan-findings"].status is Status.PASS, by_id["ecr-scan-findings"].reason
    assert by_id[CHECK.id].status is Status.PASS, by_id[CHECK.id].reason
    # The scan check's calls all come before this check's first call.
    assert aws.calls.index("DescribeEndpoint") > aws.calls.index("DescribeImageScanFindings")
    aws.assert_done()


def test_only_this_check_is_an_error_that_says_why(clock: FakeClock) -> None:
    report = run_gate(
        replace(CONFIG, only=(CHECK.id,)),
        clients=StubbedAws(),
        sleep=clock.sleep,
        clock=clock,
        progress=None,
        environ={},
    )
    (result,) = [r for r in report.results if r.check_id == CHECK.id]
    assert result.status is Status.ERROR
    assert "ecr-scan-findings was skipped (not selected (--only))" in result.reason
    assert report.exit_code == 3


# (case, config, skip reason)
SKIP_CASES = [
    ("no-endpoint", GateConfig(repository=REPO, require_tags=(TAG,)), "no --endpoint"),
    ("no-repository", GateConfig(endpoint=ENDPOINT), "no --repository"),
    ("no-tag", GateConfig(repository=REPO, endpoint=ENDPOINT), "no --scan-tag or --require-tag"),
    ("scan-tag-is-enough", GateConfig(repository=REPO, scan_tag=TAG, endpoint=ENDPOINT), None),
]


@pytest.mark.parametrize(
    ("config", "words"), [c[1:] for c in SKIP_CASES], ids=[c[0] for c in SKIP_CASES]
)
def test_skip_reason(config: GateConfig, words: str | None) -> None:
    reason = CHECK.skip_reason(config)
    if words is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith("not configured") and words in reason


# (case, text, registry, repository, tag, digest)
URI_CASES = [
    ("tag", f"{REPO_URI}:v1", REGISTRY, REPO, "v1", ""),
    ("digest", at(DIGEST), REGISTRY, REPO, "", DIGEST),
    ("tag-and-digest", f"{REPO_URI}:v1@{DIGEST}", REGISTRY, REPO, "v1", DIGEST),
    ("port-no-tag", "localhost:5000/team/app", "localhost:5000", "team/app", "", ""),
    ("port-and-tag", "localhost:5000/team/app:2", "localhost:5000", "team/app", "2", ""),
]


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [c[1:] for c in URI_CASES],
    ids=[c[0] for c in URI_CASES],
)
def test_parse_image_uri(text, registry, repository, tag, digest) -> None:
    uri = parse_image_uri(text)
    assert uri is not None
    assert (uri.registry, uri.repository, uri.tag, uri.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize("text", ["", "python:3", "img", "/repo"])
def test_parse_image_uri_refuses_references_without_a_registry(text: str) -> None:
    assert parse_image_uri(text) is None


def variant_images(name: str, *resolved: str) -> dict[str, Any]:
    return {
        "VariantName": name,
        "CurrentInstanceCount": 1,
        "DesiredInstanceCount": 1,
        "DeployedImages": [
            {"SpecifiedImage": f"{REPO_URI}:{TAG}", "ResolvedImage": r} for r in resolved
        ],
    }


def test_a_variant_without_deployed_images_is_not_a_pass(aws: StubbedAws) -> None:
    response = sm_endpoint()
    response["ProductionVariants"] = [variant_images("Blue", at(DIGEST)), variant_images("Green")]
    aws.respond("sagemaker", "describe_endpoint", response, {"EndpointName": ENDPOINT})
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config(
            "cfg-1", [variant("Blue", model="model-1"), variant("Green", model="model-2")]
        ),
        {"EndpointConfigName": "cfg-1"},
    )
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS)))
    assert result.status is Status.ERROR
    assert "variant(s) Green report no DeployedImages" in result.reason


def test_shadow_variants_run_images_too(aws: StubbedAws) -> None:
    response = endpoint_response("InService", at(DIGEST))
    response["ShadowProductionVariants"] = [variant_images("Canary", at(OTHER_DIGEST))]
    aws.respond("sagemaker", "describe_endpoint", response, {"EndpointName": ENDPOINT})
    aws.respond("ecr", "describe_repositories", ecr_repository(), {"repositoryNames": [REPO]})
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-1", [variant(model="model-1")]),
        {"EndpointConfigName": "cfg-1"},
    )
    aws.respond(
        "sagemaker",
        "describe_model",
        {
            "ModelName": "model-1",
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/model-1",
            "CreationTime": sm_endpoint()["CreationTime"],
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec",
            "PrimaryContainer": {"Image": at(DIGEST), "Environment": GOOD_ENV},
        },
        {"ModelName": "model-1"},
    )
    result = CHECK.run(ctx_with(aws, scan_result(Status.PASS)))
    assert result.status is Status.FAIL
    assert f"variant shadow Canary runs {short_digest(OTHER_DIGEST)}" in result.reason
    aws.assert_done()
