"""ECR and Inspector answers shaped like the ones real AWS sends, through the gate's wire path.

Each answer is raw JSON bytes served by botocore's ``before-send`` event to clients made by
``soc2gate.aws.AwsClients``, so botocore's parser and the gate's own fast path for
DescribeImageScanFindings both run: a parsed dict would skip exactly the code that failed open.
The shapes imitate recorded answers (issue 10): an enhanced scan that says ACTIVE before its
findings land (aws/aws-cli#6759), a basic FAILED scan with ``imageScanFindings: null``, a clean
basic scan with ``findings: []`` and ``findingSeverityCounts: {}``, Inspector coverage records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from unit_fakes import ACCOUNT, DIGEST, OTHER_DIGEST, REGION, REPO, FakeClock

from soc2gate.aws import AwsClients
from soc2gate.config import GateConfig
from soc2gate.models import Status
from soc2gate.runner import run_gate

TAG = "soc2-dev-latest"
REPO_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPO}"
PUSHED = 1764150000.0
COMPLETED = 1764150300.0

Answer = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


class _Headers(dict[str, str]):
    pass


class WireAws:
    """The gate's own AwsClients, with every request answered from ``answers`` on the wire."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = dict(answers)
        self.calls: list[str] = []
        self._clients = AwsClients(region=REGION)

    def __call__(self, service: str) -> Any:
        client = self._clients(service)
        if not getattr(client, "_wire_hooked", False):
            client.meta.events.register("before-send", self._send)
            client._wire_hooked = True
        return client

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target or "")
        if target:
            operation = target.rsplit(".", 1)[-1]
        elif request.url.endswith("/coverage/list"):
            operation = "ListCoverage"
        else:  # pragma: no cover - a call the test did not expect
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        self.calls.append(operation)
        if operation not in self.answers:
            raise AssertionError(f"the gate called {operation}, which this test did not expect")
        answer = self.answers[operation]
        body = json.loads(request.body or b"{}")
        value = answer(body) if callable(answer) else answer
        status = int(value.get("__status__", 200))
        payload = {k: v for k, v in value.items() if k != "__status__"}
        raw = json.dumps(payload).encode()
        headers = _Headers(
            {
                "Content-Type": "application/x-amz-json-1.1",
                "Content-Length": str(len(raw)),
                "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000",
            }
        )
        if status >= 400:
            headers["x-amzn-ErrorType"] = str(payload.get("__type", ""))
        return AWSResponse(request.url, status, headers, _Raw(raw))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def images(tags_by_digest: Mapping[str, list[str]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        wanted = {i["imageTag"] for i in body["imageIds"]}
        details = [
            {
                "registryId": ACCOUNT,
                "repositoryName": REPO,
                "imageDigest": digest,
                "imageTags": tags,
                "imagePushedAt": PUSHED,
            }
            for digest, tags in tags_by_digest.items()
            if wanted & set(tags)
        ]
        return {"imageDetails": details}

    return answer


def scan(body: Any, status: str = "COMPLETE", description: str = "") -> dict[str, Any]:
    answer: dict[str, Any] = {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "imageId": {"imageDigest": DIGEST},
        "imageScanStatus": {"status": status, "description": description},
    }
    if body is not ...:
        answer["imageScanFindings"] = body
    return answer


def repositories(**extra: Any) -> dict[str, Any]:
    repo = {
        "repositoryArn": REPO_ARN,
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "repositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}",
        "createdAt": PUSHED - 86400,
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    }
    repo.update(extra)
    return {"repositories": [repo]}


def coverage(reason: str | None, scanned: bool = True, code: str = "ACTIVE") -> dict[str, Any]:
    if reason is None:
        return {"coveredResources": []}
    record: dict[str, Any] = {
        "accountId": ACCOUNT,
        "resourceId": f"{REPO_ARN}/{DIGEST}",
        "resourceType": "AWS_ECR_CONTAINER_IMAGE",
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": code, "reason": reason},
        "resourceMetadata": {"ecrRepository": {"name": REPO, "scanFrequency": "CONTINUOUS_SCAN"}},
    }
    if scanned:
        record["lastScannedAt"] = COMPLETED
    return {"coveredResources": [record]}


def run(answers: Mapping[str, Answer], **config: Any) -> Any:
    clock = FakeClock()
    settings = {
        "repository": REPO,
        "require_tags": (TAG,),
        "only": ("ecr-scan-findings",),
        "timeout": 60.0,
        "poll_min": 1.0,
        "poll_max": 5.0,
        **config,
    }
    aws = WireAws(answers)
    report = run_gate(
        GateConfig(**settings),
        clients=aws,
        sleep=clock.sleep,
        clock=clock,
        progress=None,
        environ={},
    )
    by_id = {r.check_id: r for r in report.results}
    return report, by_id, aws


BASE = {"DescribeImages": images({DIGEST: [TAG]}), "DescribeRepositories": repositories()}
CLEAN_BASIC = {"findings": [], "imageScanCompletedAt": COMPLETED, "findingSeverityCounts": {}}
NOT_POPULATED = {"findings": []}


# ---- hole 1: a scan whose findings have not landed is not a clean scan ----------------------


def test_a_clean_basic_scan_passes_without_asking_inspector() -> None:
    _report, result, aws = run({**BASE, "DescribeImageScanFindings": scan(CLEAN_BASIC)})
    assert result["ecr-scan-findings"].status is Status.PASS, result["ecr-scan-findings"].reason
    assert "ListCoverage" not in aws.calls
    assert "imageScanCompletedAt" in result["ecr-scan-findings"].evidence["scanReadBecause"]


@pytest.mark.parametrize("body", [NOT_POPULATED, {}], ids=["findings-only", "empty-object"])
@pytest.mark.parametrize(
    ("cover", "words"),
    [
        (coverage(None), "no coverage record"),
        (coverage("PENDING_INITIAL_SCAN", scanned=False), "PENDING_INITIAL_SCAN"),
        (coverage("SUCCESSFUL", scanned=False), "no lastScannedAt"),
    ],
    ids=["no-record", "pending-initial-scan", "successful-without-time"],
)
def test_enhanced_active_before_findings_land_waits_then_fails(body, cover, words) -> None:
    report, result, aws = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan(body, "ACTIVE", "Continuous scan is selected"),
            "ListCoverage": cover,
        }
    )
    scan_result = result["ecr-scan-findings"]
    assert scan_result.status is Status.FAIL, scan_result.reason
    assert "at the deadline" in scan_result.reason and words in scan_result.reason
    assert report.exit_code == 1
    assert aws.calls.count("DescribeImageScanFindings") > 1, "it must have waited and re-read"


def test_a_clean_enhanced_image_passes_at_once_on_inspector_coverage() -> None:
    _report, result, aws = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan(NOT_POPULATED, "ACTIVE", "Continuous scan"),
            "ListCoverage": coverage("SUCCESSFUL"),
        }
    )
    scan_result = result["ecr-scan-findings"]
    assert scan_result.status is Status.PASS, scan_result.reason
    assert aws.calls.count("DescribeImageScanFindings") == 1, "a clean image must not wait"
    assert "SUCCESSFUL" in scan_result.evidence["scanReadBecause"]


def test_enhanced_coverage_without_a_findings_list_could_not_be_read() -> None:
    _, result, _ = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan({}, "ACTIVE"),
            "ListCoverage": coverage("SUCCESSFUL"),
        }
    )
    assert result["ecr-scan-findings"].status is Status.ERROR
    assert "no findings list" in result["ecr-scan-findings"].reason


def test_inspector_not_covering_the_image_fails_naming_the_reason() -> None:
    _, result, _ = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan(NOT_POPULATED, "ACTIVE"),
            "ListCoverage": coverage("UNSUPPORTED_OS", scanned=False, code="INACTIVE"),
        }
    )
    assert result["ecr-scan-findings"].status is Status.FAIL
    assert "INACTIVE/UNSUPPORTED_OS" in result["ecr-scan-findings"].reason


def test_inspector_access_denied_is_an_error_naming_the_action() -> None:
    denied = {"__status__": 403, "__type": "AccessDeniedException", "message": "no"}
    _, result, _ = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan(NOT_POPULATED, "ACTIVE"),
            "ListCoverage": denied,
        }
    )
    assert result["ecr-scan-findings"].status is Status.ERROR
    assert "inspector2:ListCoverage" in result["ecr-scan-findings"].reason


def test_deployed_image_scanned_cannot_pass_on_an_unpopulated_scan() -> None:
    # It vouches only for a digest ecr-scan-findings passed; that check now waits, then fails.
    report, result, _ = run(
        {
            **BASE,
            "DescribeImageScanFindings": scan(NOT_POPULATED, "ACTIVE"),
            "ListCoverage": coverage(None),
        },
    )
    assert result["ecr-scan-findings"].status is Status.FAIL
    assert report.exit_code != 0


# ---- hole 2: the fast path is as strict as botocore's parser ----------------------------------


@pytest.mark.parametrize(
    "body",
    [[], False, 0, "", True, 1.5],
    ids=["list", "false", "zero", "empty-string", "true", "number"],
)
def test_mistyped_findings_body_is_an_error_not_no_findings(body) -> None:
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(body)})
    assert result["ecr-scan-findings"].status is Status.ERROR, result["ecr-scan-findings"].reason
    assert "imageScanFindings" in result["ecr-scan-findings"].reason


@pytest.mark.parametrize(
    "body",
    [
        {**CLEAN_BASIC, "findings": None},
        {**CLEAN_BASIC, "findings": {}},
        {**CLEAN_BASIC, "findings": "none"},
        {**CLEAN_BASIC, "findings": [None]},
        {**CLEAN_BASIC, "findings": [[]]},
        {**CLEAN_BASIC, "findingSeverityCounts": {"HIGH": "1"}},
        {**CLEAN_BASIC, "findingSeverityCounts": []},
        {**CLEAN_BASIC, "imageScanCompletedAt": {}},
        {"enhancedFindings": None, "imageScanCompletedAt": COMPLETED},
        {"enhancedFindings": [{"severity": 5}], "imageScanCompletedAt": COMPLETED},
    ],
)
def test_mistyped_values_inside_the_findings_are_errors(body) -> None:
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(body)})
    assert result["ecr-scan-findings"].status is Status.ERROR, result["ecr-scan-findings"].reason


def test_a_complete_scan_with_null_findings_body_is_an_error() -> None:
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(None)})
    assert result["ecr-scan-findings"].status is Status.ERROR


def test_failed_basic_scan_with_null_findings_fails_with_aws_description() -> None:
    # Recorded: FROM scratch image, basic scanning, imageScanFindings null on the wire.
    answer = scan(
        None,
        "FAILED",
        "UnsupportedImageError: The operating system and/or package manager are not supported.",
    )
    _, result, _ = run({**BASE, "DescribeImageScanFindings": answer})
    assert result["ecr-scan-findings"].status is Status.FAIL
    assert "UnsupportedImageError" in result["ecr-scan-findings"].reason


def test_missing_scan_status_is_an_error() -> None:
    answer = scan(CLEAN_BASIC)
    del answer["imageScanStatus"]
    _, result, _ = run({**BASE, "DescribeImageScanFindings": answer})
    assert result["ecr-scan-findings"].status is Status.ERROR


# ---- hole 7: a severity the gate cannot read always fails --------------------------------------


@pytest.mark.parametrize("severity", ["IMPORTANT", None, "", "unknown"])
@pytest.mark.parametrize("enhanced", [False, True])
def test_unknown_or_missing_severity_fails_even_with_untriaged_off(severity, enhanced) -> None:
    finding: dict[str, Any] = {"name": "CVE-2099-0001", "description": "x"}
    if enhanced:
        finding = {"title": "CVE-2099-0001 - openssl", "status": "ACTIVE"}
    if severity is not None:
        finding["severity"] = severity
    key = "enhancedFindings" if enhanced else "findings"
    body = {key: [finding], "imageScanCompletedAt": COMPLETED}
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(body)}, fail_on_untriaged=False)
    assert result["ecr-scan-findings"].status is Status.FAIL, result["ecr-scan-findings"].reason
    assert "UNKNOWN" in result["ecr-scan-findings"].reason


def test_an_unknown_name_in_the_severity_counts_fails() -> None:
    body = {**CLEAN_BASIC, "findingSeverityCounts": {"IMPORTANT": 2}}
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(body)}, fail_on_untriaged=False)
    assert result["ecr-scan-findings"].status is Status.FAIL


# ---- hole 3: every digest the required tags name is scanned -----------------------------------


def test_every_required_tags_digest_has_its_findings_evaluated() -> None:
    critical = {
        "findings": [{"name": "CVE-2099-9", "severity": "CRITICAL", "description": "x"}],
        "imageScanCompletedAt": COMPLETED,
        "findingSeverityCounts": {"CRITICAL": 1},
    }

    def findings(body: dict[str, Any]) -> dict[str, Any]:
        digest = body["imageId"]["imageDigest"]
        return scan(CLEAN_BASIC if digest == DIGEST else critical)

    answers = {
        **BASE,
        "DescribeImages": images(
            {DIGEST: [TAG, "soc2-dev-abc1234"], OTHER_DIGEST: ["soc2-latest"]}
        ),
        "DescribeImageScanFindings": findings,
    }
    _report, result, aws = run(
        answers,
        require_tags=(TAG, "soc2-dev-abc1234", "soc2-latest"),
        only=("ecr-image-tags", "ecr-scan-findings"),
    )
    assert result["ecr-image-tags"].status is Status.FAIL
    assert result["ecr-scan-findings"].status is Status.FAIL, result["ecr-scan-findings"].reason
    assert "CVE-2099-9" in result["ecr-scan-findings"].reason
    assert aws.calls.count("DescribeImageScanFindings") == 2
    assert result["ecr-scan-findings"].evidence["imageDigest"] == DIGEST


# ---- hole 6: immutability judged on the tags as pushed, with ECR's filter semantics ----------


def _immutability(filters: list[str], scan_tag: str | None = None) -> Any:
    answers = {
        "DescribeRepositories": repositories(
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[
                {"filterType": "WILDCARD", "filter": f} for f in filters
            ],
        ),
        "GetRegistryScanningConfiguration": {
            "registryId": ACCOUNT,
            "scanningConfiguration": {"scanType": "BASIC", "rules": []},
        },
        "BatchGetRepositoryScanningConfiguration": {
            "scanningConfigurations": [
                {
                    "repositoryArn": REPO_ARN,
                    "repositoryName": REPO,
                    "scanOnPush": True,
                    "scanFrequency": "SCAN_ON_PUSH",
                    "appliedScanFilters": [],
                }
            ],
            "failures": [],
        },
    }
    _, result, _ = run(
        answers,
        require_tags=("soc2-dev-{sha}",),
        scan_tag=scan_tag,
        commit_sha="abc1234def",
        require_immutable_tags=True,
        only=("ecr-repository-config",),
    )
    return result["ecr-repository-config"]


@pytest.mark.parametrize(
    ("filters", "scan_tag", "expected"),
    [
        (["soc2-dev-abc*"], None, Status.FAIL),  # matches the expanded {sha} tag
        (["soc2-dev-{sha}"], None, Status.PASS),  # the unexpanded text is never a pushed tag
        (["scan-*"], "scan-me", Status.FAIL),  # the gated scan tag stays mutable
        (["release-*"], "scan-me", Status.PASS),
        (["soc2-dev-abc1234de?"], None, Status.PASS),  # '?' is literal in ECR, not a wildcard
    ],
)
def test_tag_immutability_uses_expanded_tags_and_the_scan_tag(filters, scan_tag, expected) -> None:
    result = _immutability(filters, scan_tag)
    assert result.status is expected, result.reason


def test_exclusion_mutability_without_its_filters_is_an_error() -> None:
    answers = {
        "DescribeRepositories": repositories(imageTagMutability="IMMUTABLE_WITH_EXCLUSION"),
    }
    _, result, _ = run(answers, require_immutable_tags=True, only=("ecr-repository-config",))
    assert result["ecr-repository-config"].status is Status.ERROR


def test_registry_scanning_without_a_scan_type_is_an_error_not_basic() -> None:
    # Guessing BASIC would let scanOnPush pass a repository ENHANCED scanning ignores.
    answers = {
        "DescribeRepositories": repositories(),
        "GetRegistryScanningConfiguration": {"registryId": ACCOUNT, "scanningConfiguration": {}},
    }
    _, result, _ = run(answers, only=("ecr-repository-config",))
    assert result["ecr-repository-config"].status is Status.ERROR
    assert "scanType" in result["ecr-repository-config"].reason


# ---- found by the mutation fuzzer (tests/fuzz) ---------------------------------------------------


def test_severity_counts_of_every_page_count() -> None:
    # F1: AWS sends findingSeverityCounts on every page; a later page's count must not be lost.
    def findings(body: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = {**CLEAN_BASIC, "findingSeverityCounts": {}}
        answer = scan(page)
        if "nextToken" not in body:
            answer["nextToken"] = "page-2"
        else:
            page["findingSeverityCounts"] = {"CRITICAL": 1}
        return answer

    _, result, aws = run({**BASE, "DescribeImageScanFindings": findings})
    assert aws.calls.count("DescribeImageScanFindings") == 2
    assert result["ecr-scan-findings"].status is Status.FAIL, result["ecr-scan-findings"].reason


@pytest.mark.parametrize("value", ["fuzz", "not-a-date", "", "2026-13-45"])
def test_a_completion_time_that_is_not_a_time_is_an_error(value) -> None:
    # F2: the fast path must refuse what botocore's timestamp parser refuses.
    _, result, _ = run(
        {**BASE, "DescribeImageScanFindings": scan({**CLEAN_BASIC, "imageScanCompletedAt": value})}
    )
    assert result["ecr-scan-findings"].status is Status.ERROR, result["ecr-scan-findings"].reason
    assert "imageScanCompletedAt" in result["ecr-scan-findings"].reason


def test_an_iso_completion_time_is_read() -> None:
    body = {**CLEAN_BASIC, "imageScanCompletedAt": "2025-11-26T09:45:00Z"}
    _, result, _ = run({**BASE, "DescribeImageScanFindings": scan(body)})
    assert result["ecr-scan-findings"].status is Status.PASS, result["ecr-scan-findings"].reason


@pytest.mark.parametrize("where", ["ecr", "inspector"])
def test_a_scan_completed_before_the_push_is_not_a_scan_of_this_push(where) -> None:
    # F3: a completion dated before imagePushedAt (1970 here) proves nothing about this image.
    if where == "ecr":
        answers = {
            **BASE,
            "DescribeImageScanFindings": scan({**CLEAN_BASIC, "imageScanCompletedAt": 0}),
            "ListCoverage": coverage(None),
        }
    else:
        old = coverage("SUCCESSFUL")
        old["coveredResources"][0]["lastScannedAt"] = 0
        answers = {
            **BASE,
            "DescribeImageScanFindings": scan(NOT_POPULATED, "ACTIVE"),
            "ListCoverage": old,
        }
    _, result, _ = run(answers)
    assert result["ecr-scan-findings"].status is Status.FAIL, result["ecr-scan-findings"].reason
    assert "at the deadline" in result["ecr-scan-findings"].reason
