"""ecr-scan-findings: read by digest, every page, thresholds, unrated findings, scan states."""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import (
    DIGEST,
    REPO,
    FakeClock,
    StubbedAws,
    basic_finding,
    describe_images_params,
    ecr_batch_scanning,
    ecr_images,
    ecr_registry_scanning,
    ecr_repository,
    ecr_scan_page,
    enhanced_finding,
    make_ctx,
    run_one,
    scan_params,
    stub_repository_config,
)

from soc2gate.checks.ecr.ecr_scan_findings import EcrScanFindings
from soc2gate.config import GateConfig
from soc2gate.models import Severity, Status
from soc2gate.report.causes import cause

CHECK = EcrScanFindings()
TAG = "soc2-dev-latest"
CONFIG = GateConfig(repository=REPO, require_tags=(TAG,))
WHERE = f"{REPO}@{DIGEST} (tag {TAG})"


def stub_scan(aws: StubbedAws, *pages: dict, tag: str = TAG, tags: tuple[str, ...] = ()) -> None:
    """The gated tag (and ``tags``) resolve to DIGEST, then one DescribeImageScanFindings call
    per page."""
    asked = tuple(dict.fromkeys((tag, *tags)))
    aws.respond(
        "ecr", "describe_images", ecr_images({DIGEST: list(asked)}), describe_images_params(*asked)
    )
    for i, page in enumerate(pages):
        aws.respond(
            "ecr",
            "describe_image_scan_findings",
            page,
            scan_params(token=f"t{i + 1}" if i else None),
        )


def run(aws: StubbedAws, config: GateConfig = CONFIG, environ: dict | None = None):
    result = CHECK.run(make_ctx(config, aws, environ=environ))
    aws.assert_done()
    return result


def test_findings_are_read_by_digest_not_by_tag(aws: StubbedAws) -> None:
    # A tag can be moved to another image between the push and the gate; the digest cannot.
    aws.respond("ecr", "describe_images", ecr_images({DIGEST: [TAG]}), describe_images_params(TAG))
    aws.respond(
        "ecr",
        "describe_image_scan_findings",
        ecr_scan_page(findings=[]),
        {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}, "maxResults": 1000},
    )
    result = run(aws)
    assert result.status is Status.PASS, result.reason
    assert result.evidence["imageDigest"] == DIGEST
    assert aws.calls == ["DescribeImages", "DescribeImageScanFindings"]


# (case, config, environ, the tag whose digest is gated, the other tags resolved with it)
GATED_TAG_CASES = [
    (
        "first-required-tag",
        GateConfig(repository=REPO, require_tags=("a-tag", "b-tag")),
        {},
        "a-tag",
        ("b-tag",),
    ),
    (
        "scan-tag-wins",
        GateConfig(repository=REPO, require_tags=("a-tag",), scan_tag="b-tag"),
        {},
        "b-tag",
        ("a-tag",),
    ),
    (
        "scan-tag-short-sha",
        GateConfig(repository=REPO, scan_tag="soc2-dev-{short_sha}"),
        {"GITHUB_SHA": "abcdef0123456789"},
        "soc2-dev-abcdef0",
        (),
    ),
]


@pytest.mark.parametrize(
    ("config", "environ", "tag", "others"),
    [c[1:] for c in GATED_TAG_CASES],
    ids=[c[0] for c in GATED_TAG_CASES],
)
def test_gated_tag(aws: StubbedAws, config, environ, tag, others) -> None:
    stub_scan(aws, ecr_scan_page(findings=[]), tag=tag, tags=others)
    result = run(aws, config, environ)
    assert result.status is Status.PASS
    assert result.evidence["tag"] == tag


# (case, scanStatus, description, expected, words in the reason)
STATUS_CASES = [
    (
        "complete",
        "COMPLETE",
        "The scan was completed successfully.",
        Status.PASS,
        ["scan complete"],
    ),
    ("active", "ACTIVE", "Continuous scan is selected for image.", Status.PASS, ["scan complete"]),
    ("in-progress", "IN_PROGRESS", "", Status.PENDING, [f"scan IN_PROGRESS for {WHERE}"]),
    ("pending", "PENDING", "", Status.PENDING, [f"scan PENDING for {WHERE}"]),
    (
        "failed",
        "FAILED",
        "Unable to retrieve image manifest: request timed out",
        Status.FAIL,
        [f"scan of {WHERE} ended FAILED: Unable to retrieve image manifest: request timed out"],
    ),
    (
        "failed-no-description",
        "FAILED",
        "",
        Status.FAIL,
        ["ended FAILED: no description"],
    ),
    (
        "unsupported-image",
        "UNSUPPORTED_IMAGE",
        "UnsupportedImageError: The operating system and/or package manager are not supported.",
        Status.FAIL,
        ["ended UNSUPPORTED_IMAGE: UnsupportedImageError: The operating system"],
    ),
    (
        "eligibility-expired",
        "SCAN_ELIGIBILITY_EXPIRED",
        "The scan duration for this image has expired.",
        Status.FAIL,
        ["ended SCAN_ELIGIBILITY_EXPIRED: The scan duration for this image has expired."],
    ),
    (
        "findings-unavailable",
        "FINDINGS_UNAVAILABLE",
        "Findings are not available for this image.",
        Status.FAIL,
        ["ended FINDINGS_UNAVAILABLE: Findings are not available for this image."],
    ),
    (
        "limit-exceeded",
        "LIMIT_EXCEEDED",
        "The image has exceeded the scan limit of 1 scan per 24 hours.",
        Status.FAIL,
        ["ended LIMIT_EXCEEDED: The image has exceeded the scan limit"],
    ),
    (
        "image-archived",
        "IMAGE_ARCHIVED",
        "The image is archived and cannot be scanned.",
        Status.FAIL,
        ["ended IMAGE_ARCHIVED: The image is archived"],
    ),
    (
        "image-size-exceeded",
        "IMAGE_SIZE_EXCEEDED",
        "The image exceeds the maximum size that can be scanned.",
        Status.FAIL,
        ["ended IMAGE_SIZE_EXCEEDED: The image exceeds"],
    ),
    ("unknown", "Bogus", "", Status.ERROR, ["unknown scan status 'Bogus'", "known: ACTIVE"]),
]


@pytest.mark.parametrize(
    ("status", "description", "expected", "words"),
    [case[1:] for case in STATUS_CASES],
    ids=[case[0] for case in STATUS_CASES],
)
def test_scan_status_table(aws: StubbedAws, status, description, expected, words) -> None:
    stub_scan(aws, ecr_scan_page(status=status, description=description, findings=[]))
    result = run(aws)
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    if expected is Status.PENDING:
        assert result.state == status
    assert result.evidence["scanStatus"] == status


def test_table_covers_every_scan_status_aws_defines() -> None:
    model = botocore.session.get_session().get_service_model("ecr")
    aws_states = set(model.shape_for("ScanStatus").enum)
    assert aws_states == {case[1] for case in STATUS_CASES if case[1] != "Bogus"}


RANKED = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
# (case, --fail-on, severity of the one finding, expected): the full 5x5 grid.
THRESHOLD_CASES = [
    (f"fail-on-{fail_on}-finding-{found}", fail_on, found, Status.FAIL if j >= i else Status.PASS)
    for i, fail_on in enumerate(RANKED)
    for j, found in enumerate(RANKED)
]


@pytest.mark.parametrize(
    ("fail_on", "found", "expected"),
    [case[1:] for case in THRESHOLD_CASES],
    ids=[case[0] for case in THRESHOLD_CASES],
)
def test_fail_on_threshold(aws: StubbedAws, fail_on, found, expected) -> None:
    stub_scan(
        aws, ecr_scan_page(findings=[basic_finding("CVE-2024-0001", found)], counts={found: 1})
    )
    result = run(aws, GateConfig(repository=REPO, require_tags=(TAG,), fail_on=Severity[fail_on]))
    assert result.status is expected, result.reason
    if expected is Status.FAIL:
        assert f"1 finding(s) at or above {fail_on}" in result.reason
        assert f"CVE-2024-0001 {found} in openssl" in result.reason
    else:
        assert result.reason == f"scan complete, nothing at or above {fail_on}: {found} 1"


# (case, page, fail_on_untriaged, expected)
UNRATED_CASES = [
    (
        "basic-undefined-fails-by-default",
        ecr_scan_page(findings=[basic_finding("CVE-2024-7", "UNDEFINED")], counts={"UNDEFINED": 1}),
        True,
        Status.FAIL,
    ),
    (
        "basic-undefined-allowed",
        ecr_scan_page(findings=[basic_finding("CVE-2024-7", "UNDEFINED")], counts={"UNDEFINED": 1}),
        False,
        Status.PASS,
    ),
    (
        "enhanced-untriaged-fails-by-default",
        ecr_scan_page(
            "ACTIVE",
            enhanced=[enhanced_finding("CVE-2024-8", "UNTRIAGED")],
            counts={"UNTRIAGED": 1},
        ),
        True,
        Status.FAIL,
    ),
    (
        "enhanced-untriaged-allowed",
        ecr_scan_page(
            "ACTIVE",
            enhanced=[enhanced_finding("CVE-2024-8", "UNTRIAGED")],
            counts={"UNTRIAGED": 1},
        ),
        False,
        Status.PASS,
    ),
    (
        "untriaged-allowed-but-high-still-fails",
        ecr_scan_page(
            "ACTIVE",
            enhanced=[
                enhanced_finding("CVE-2024-8", "UNTRIAGED"),
                enhanced_finding("CVE-2024-9", "HIGH"),
            ],
        ),
        False,
        Status.FAIL,
    ),
]


@pytest.mark.parametrize(
    ("page", "fail_on_untriaged", "expected"),
    [case[1:] for case in UNRATED_CASES],
    ids=[case[0] for case in UNRATED_CASES],
)
def test_unrated_findings(aws: StubbedAws, page, fail_on_untriaged, expected) -> None:
    stub_scan(aws, page)
    config = GateConfig(repository=REPO, require_tags=(TAG,), fail_on_untriaged=fail_on_untriaged)
    result = run(aws, config)
    assert result.status is expected, result.reason
    if expected is Status.FAIL and fail_on_untriaged:
        assert "or unrated (UNDEFINED/UNTRIAGED)" in result.reason
    if expected is Status.FAIL and not fail_on_untriaged:
        assert "CVE-2024-9 HIGH" in result.reason
        assert "unrated" not in result.reason


# (case, pages, expected, words): the worst finding is only on the LAST page, and the
# severity counts (which AWS may send lagging) do not mention it.
PAGED_CASES = [
    (
        "basic-high-on-page-3",
        [
            ecr_scan_page(
                findings=[basic_finding("CVE-2024-1001", "MEDIUM")],
                counts={"MEDIUM": 1},
                next_token="t2",
            ),
            ecr_scan_page(
                findings=[basic_finding("CVE-2024-1002", "LOW")],
                counts={"MEDIUM": 1},
                next_token="t3",
            ),
            ecr_scan_page(
                findings=[basic_finding("CVE-2024-9999", "HIGH", "libxml2", "2.9.10")],
                counts={"MEDIUM": 1},
            ),
        ],
        Status.FAIL,
        ["1 finding(s) at or above HIGH", "CVE-2024-9999 HIGH in libxml2"],
    ),
    (
        "enhanced-critical-on-page-2",
        [
            ecr_scan_page(
                "ACTIVE",
                enhanced=[enhanced_finding("CVE-2024-2001", "LOW")],
                next_token="t2",
            ),
            ecr_scan_page(
                "ACTIVE",
                enhanced=[enhanced_finding("CVE-2024-2002", "CRITICAL", "glibc", "2.31")],
            ),
        ],
        Status.FAIL,
        ["CRITICAL 1", "CVE-2024-2002 CRITICAL in glibc"],
    ),
    (
        "clean-across-pages",
        [
            ecr_scan_page(findings=[basic_finding("CVE-1", "LOW")], next_token="t2"),
            ecr_scan_page(findings=[basic_finding("CVE-2", "LOW")]),
        ],
        Status.PASS,
        ["LOW 2"],
    ),
]


@pytest.mark.parametrize(
    ("pages", "expected", "words"),
    [case[1:] for case in PAGED_CASES],
    ids=[case[0] for case in PAGED_CASES],
)
def test_findings_are_counted_across_all_pages(aws: StubbedAws, pages, expected, words) -> None:
    stub_scan(aws, *pages)
    result = run(aws)  # run() asserts every page was asked for, each with its nextToken
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert result.details[0].startswith(f"counts ({len(pages)} page(s)):")


def test_repeated_next_token_is_an_error_not_an_endless_loop(
    aws: StubbedAws, clock: FakeClock
) -> None:
    aws.respond("ecr", "describe_images", ecr_images({DIGEST: [TAG]}))
    aws.respond("ecr", "describe_image_scan_findings", ecr_scan_page(findings=[], next_token="t"))
    aws.respond("ecr", "describe_image_scan_findings", ecr_scan_page(findings=[], next_token="t"))
    result = run_one(CHECK.id, CONFIG, aws, clock)
    assert result.status is Status.ERROR
    assert "same nextToken twice" in result.reason
    # An AWS answer that could not be read, not a bug in soc2gate (issue 19, item 11).
    assert result.reason.startswith("could not read the scan of")
    assert "internal error" not in result.reason and "RuntimeError" not in result.reason
    assert cause(result) == "UnreadableAnswer"


# (case, findings on the pages, findingSeverityCounts, expected, words)
COUNTS_CASES = [
    (
        "summary-larger-than-pages",
        [basic_finding("CVE-2024-1", "MEDIUM")],
        {"MEDIUM": 1, "HIGH": 3},
        Status.FAIL,
        "3 finding(s) at or above HIGH",
    ),
    (
        "pages-larger-than-summary",
        [basic_finding("CVE-2024-1", "HIGH"), basic_finding("CVE-2024-2", "HIGH")],
        {"HIGH": 1},
        Status.FAIL,
        "2 finding(s) at or above HIGH",
    ),
    (
        "summary-below-threshold",
        [basic_finding("CVE-2024-1", "LOW")],
        {"LOW": 1, "MEDIUM": 4},
        Status.PASS,
        "MEDIUM 4, LOW 1",
    ),
]


@pytest.mark.parametrize(
    ("findings", "counts", "expected", "words"),
    [case[1:] for case in COUNTS_CASES],
    ids=[case[0] for case in COUNTS_CASES],
)
def test_the_stricter_of_pages_and_severity_counts_wins(
    aws: StubbedAws, findings, counts, expected, words
) -> None:
    stub_scan(aws, ecr_scan_page(findings=findings, counts=counts))
    result = run(aws)
    assert result.status is expected, result.reason
    assert words in result.reason


def test_worst_findings_are_listed_with_id_package_and_severity(aws: StubbedAws) -> None:
    enhanced = [enhanced_finding(f"CVE-2024-10{i:02d}", "LOW", f"pkg{i}") for i in range(10)] + [
        enhanced_finding("CVE-2024-0002", "HIGH", "openssl", "3.0.1", fix="YES"),
        enhanced_finding("CVE-2024-0001", "CRITICAL", "glibc", "2.31", fix="NO"),
        enhanced_finding("CVE-2024-0003", "MEDIUM", "zlib", "1.2.11", status="CLOSED"),
    ]
    stub_scan(aws, ecr_scan_page("ACTIVE", enhanced=enhanced))
    config = GateConfig(repository=REPO, require_tags=(TAG,), max_findings_shown=4)
    result = run(aws, config)
    assert result.status is Status.FAIL
    assert result.reason.startswith("2 finding(s) at or above HIGH")
    assert "Worst: CVE-2024-0001 CRITICAL in glibc; CVE-2024-0002 HIGH in openssl" in result.reason
    assert [f.id for f in result.findings] == [
        "CVE-2024-0001",
        "CVE-2024-0002",
        "CVE-2024-1000",
        "CVE-2024-1001",
    ]
    assert result.details[2:4] == (
        "CRITICAL CVE-2024-0001 in glibc 2.31 (fix available: NO)",
        "HIGH CVE-2024-0002 in openssl 3.0.1 (fix available: YES)",
    )
    # A CLOSED enhanced finding is fixed: it is neither counted nor listed.
    assert "CVE-2024-0003" not in json.dumps(result.details)
    assert result.evidence["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 1, "LOW": 10}


def test_tag_not_found_fails(aws: StubbedAws) -> None:
    aws.fail("ecr", "describe_images", "ImageNotFoundException", "The image does not exist")
    result = run(aws)
    assert result.status is Status.FAIL
    assert f"tag '{TAG}' not found in {REPO}" in result.reason


NO_SCAN = "Image scan does not exist for the image"
SCANNING_OFF = (ecr_repository(scan_on_push=False), ecr_registry_scanning(), ecr_batch_scanning())
SCANNING_ON = (
    ecr_repository(scan_on_push=False),
    ecr_registry_scanning("ENHANCED", [("SCAN_ON_PUSH", ["*"])]),
    ecr_batch_scanning(frequency="SCAN_ON_PUSH"),
)

# (case, repository config responses or None when unreadable, expected words)
NO_SCAN_CASES = [
    (
        "scanning-off",
        SCANNING_OFF,
        f"no scan exists for {REPO}@{DIGEST} (tag {TAG}): scanOnPush is false and no registry "
        "scanning rule",
    ),
    (
        "scanning-on",
        SCANNING_ON,
        "scanning is on, so the scan was not started for this push or has expired",
    ),
    ("repository-unreadable", None, "the repository could not be read"),
]


@pytest.mark.parametrize(
    ("repo_config", "words"), [c[1:] for c in NO_SCAN_CASES], ids=[c[0] for c in NO_SCAN_CASES]
)
def test_scan_not_found_fails_explaining_the_scanning_setup(
    aws: StubbedAws, repo_config, words
) -> None:
    aws.respond("ecr", "describe_images", ecr_images({DIGEST: [TAG]}))
    aws.fail("ecr", "describe_image_scan_findings", "ScanNotFoundException", NO_SCAN)
    if repo_config is None:
        aws.fail("ecr", "describe_repositories", "RepositoryNotFoundException", "gone")
    else:
        stub_repository_config(aws, *repo_config)
    result = run(aws)
    assert result.status is Status.FAIL
    assert words in result.reason
    assert any(
        f"aws ecr start-image-scan --repository-name {REPO} --image-id imageDigest={DIGEST}" in d
        for d in result.details
    )
    assert any("--wait-for-scan true" in d for d in result.details)


def test_scan_not_found_is_pending_with_wait_for_scan(aws: StubbedAws) -> None:
    aws.respond("ecr", "describe_images", ecr_images({DIGEST: [TAG]}))
    aws.fail("ecr", "describe_image_scan_findings", "ScanNotFoundException", NO_SCAN)
    result = run(aws, GateConfig(repository=REPO, require_tags=(TAG,), wait_for_scan=True))
    assert (result.status, result.state) == (Status.PENDING, "NO_SCAN")
    assert DIGEST in result.reason
    assert aws.calls == ["DescribeImages", "DescribeImageScanFindings"]


# (case, error code, words in the ERROR)
ERROR_CASES = [
    (
        "access-denied",
        "AccessDeniedException",
        "AccessDenied calling ecr:DescribeImageScanFindings",
    ),
    (
        "server-error",
        "ServerException",
        "ecr:DescribeImageScanFindings failed with ServerException",
    ),
]


@pytest.mark.parametrize(
    ("code", "words"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_aws_errors_on_findings_are_errors(code, words, clock: FakeClock) -> None:
    def stub() -> StubbedAws:
        aws = StubbedAws()
        aws.respond("ecr", "describe_images", ecr_images({DIGEST: [TAG]}))
        aws.fail("ecr", "describe_image_scan_findings", code, "denied or broken")
        return aws

    with pytest.raises(ClientError):
        CHECK.run(make_ctx(CONFIG, stub()))
    result = run_one(CHECK.id, CONFIG, stub(), clock)
    assert result.status is Status.ERROR
    assert words in result.reason


def _push(ecr) -> str:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "e" * 64,
        },
        "layers": [],
    }
    response = ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag=TAG)
    return response["image"]["imageId"]["imageDigest"]


@mock_aws
@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [(Severity.HIGH, Status.FAIL), (Severity.CRITICAL, Status.PASS)],
    ids=["high-fails", "critical-threshold-passes"],
)
def test_moto_scan_findings(fail_on, expected) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    digest = _push(ecr)
    ecr.start_image_scan(repositoryName=REPO, imageId={"imageDigest": digest})
    config = GateConfig(repository=REPO, require_tags=(TAG,), fail_on=fail_on)
    result = CHECK.run(make_ctx(config, lambda s: boto3.client(s, region_name="us-east-1")))
    assert result.status is expected, result.reason
    assert result.evidence["imageDigest"] == digest
    assert "HIGH 1" in result.reason


@mock_aws
def test_moto_no_scan_fails() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": False})
    _push(ecr)
    result = CHECK.run(make_ctx(CONFIG, lambda s: boto3.client(s, region_name="us-east-1")))
    assert result.status is Status.FAIL
    assert "no scan exists" in result.reason
