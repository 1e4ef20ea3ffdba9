"""Issue 11: a check not evaluated because its dependency failed counts once, "How to fix" by
cause, and a step summary that says what was gated, what blocks and what it waited for."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped
from unit_fakes import FakeClock, make_ctx

from soc2gate.checks.ecr.ecr_scan_findings import EcrScanFindings, scan_failure_remediation
from soc2gate.checks.ecr.ecr_scan_findings import evaluate as evaluate_scan
from soc2gate.checks.sagemaker.deployed_image_scanned import DeployedImageScanned
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import (
    ENDPOINT_MISSING_FIX,
    endpoint_missing,
)
from soc2gate.config import GateConfig
from soc2gate.exitcodes import ExitCode
from soc2gate.models import CheckResult, Finding, GateReport, Severity, Status
from soc2gate.report import console, github, junit
from soc2gate.report.causes import GENERIC_ERROR_REMEDIATION, remediation_for
from soc2gate.runner import _settle

SCAN, DEPLOYED, STATUS = "ecr-scan-findings", "deployed-image-scanned", "sagemaker-endpoint-status"
DIGEST = "sha256:" + "ab12" * 16
P, F, E, S = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED


def res(check_id: str, status: Status, reason: str = "", **kw: object) -> CheckResult:
    return CheckResult(check_id, status, reason or f"{check_id} {status.value}", **kw)  # type: ignore[arg-type]


def blocked(status: Status = F, upstream: str = SCAN) -> CheckResult:
    return res(DEPLOYED, status, f"{upstream} did not pass", blocked_by=upstream)


# ---- the runner keeps blocked_by only when the dependency really failed ----------------------


def settle(upstream: CheckResult | None, result: CheckResult) -> CheckResult:
    check = DeployedImageScanned()
    ctx = make_ctx(GateConfig(), aws=None, clock=FakeClock())
    if upstream is not None:
        ctx.finish(upstream)
    return _settle(check, ctx, result)


@pytest.mark.parametrize(
    ("upstream", "mine", "kept"),
    [
        (F, F, True),
        (E, E, True),
        (F, E, True),
        (P, F, False),  # the scan passed: this failure is this check's own
        (S, E, False),
        (None, E, False),  # the scan is not part of the run
        (F, P, False),  # never on a pass (it would hide nothing, but says something false)
    ],
)
def test_blocked_by_is_kept_only_when_the_dependency_failed(
    upstream: Status | None, mine: Status, kept: bool
) -> None:
    up = res(SCAN, upstream) if upstream is not None else None
    settled = settle(up, blocked(mine))
    assert settled.not_evaluated is kept
    assert settled.status is mine  # the status, and so the exit code, never changes


def test_blocked_by_must_name_a_dependency() -> None:
    # ecr-image-tags is not in deployed-image-scanned's depends_on: not a valid pointer.
    settled = settle(res("ecr-image-tags", F), blocked(upstream="ecr-image-tags"))
    assert not settled.not_evaluated


@pytest.mark.parametrize(
    ("statuses", "code"),
    [((F,), ExitCode.FAILED), ((E,), ExitCode.ERROR)],
)
def test_not_evaluated_never_changes_the_exit_code(statuses: tuple[Status], code: int) -> None:
    upstream = res(SCAN, statuses[0])
    for mine in (F, E):
        report = GateReport((res("ecr-image-tags", P), upstream, blocked(mine)))
        plain = GateReport(
            (res("ecr-image-tags", P), upstream, replace(blocked(mine), blocked_by=""))
        )
        assert report.exit_code == plain.exit_code
        assert report.exit_code != ExitCode.PASSED
    report = GateReport((res("ecr-image-tags", P), upstream, blocked(E)))
    assert report.exit_code == code or (statuses[0] is E and report.exit_code == ExitCode.ERROR)


def critical_report() -> GateReport:
    return GateReport(
        (
            res("ecr-image-tags", P),
            res(SCAN, F, f"1 finding at or above HIGH in repo@{DIGEST}", remediation="Rebuild."),
            res(STATUS, P),
            res(DEPLOYED, F, "the gated image did not pass ecr-scan-findings", blocked_by=SCAN),
        ),
        duration=12.0,
    )


def test_one_critical_cve_counts_once_in_every_report() -> None:
    report = critical_report()
    assert report.exit_code == ExitCode.FAILED

    root = ET.fromstring(junit.to_string(report).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "0", "1")
    assert root.get("failures") == "1"
    (case,) = [c for c in suite.iter("testcase") if c.get("name") == DEPLOYED]
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not evaluated: ecr-scan-findings failed"
    assert (skipped.text or "").startswith("not evaluated: ecr-scan-findings failed\n")

    assert github.outputs(report, "j.xml")["failed-checks"] == SCAN
    annotations = github.annotation_lines(report)
    assert len(annotations) == 1 and annotations[0].startswith(f"::error title={SCAN} (FAIL)::")

    text = console.render(report)
    assert "1 failed, 0 errors, 1 not evaluated, 0 skipped" in text
    assert re.search(
        r"^N/EVAL  deployed-image-scanned .*not evaluated: ecr-scan-findings failed", text, re.M
    )

    summary = github.summary(report, exit_code=1)
    assert "⏸️ NOT EVALUATED" in summary
    assert "1 failed, 1 not evaluated" in summary
    what_failed = summary.split("### What failed and how to fix it", 1)[1].split("###", 1)[0]
    assert "ecr\u2011scan\u2011findings" in what_failed and "deployed" not in what_failed


# ---- "How to fix" by cause -------------------------------------------------------------------


CHECK_FIX = EcrScanFindings.remediation


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (res(SCAN, F, "1 finding at or above HIGH"), CHECK_FIX),
        (
            res(SCAN, E, "AccessDenied calling ecr:DescribeImageScanFindings: grant it"),
            "Grant the IAM action named above",
        ),
        (res(SCAN, E, "no AWS credentials found: configure them"), "valid AWS credentials"),
        (res(SCAN, E, "cannot reach the AWS endpoint: x (check region)"), "Check --region"),
        (res(SCAN, E, "interrupted while scan IN_PROGRESS; the check did not finish"), ""),
        (res(SCAN, E, "unknown scan status 'WEIRD'"), GENERIC_ERROR_REMEDIATION),
        (res(SCAN, F, "still IN_PROGRESS at the deadline after 30m"), "raise --timeout"),
        (blocked(E), "Fix ecr-scan-findings first"),
        (res(SCAN, P, "fine"), ""),
    ],
    ids=[
        "fail",
        "access-denied",
        "credentials",
        "region",
        "interrupted",
        "unknown",
        "timeout",
        "blocked",
        "pass",
    ],
)
def test_how_to_fix_follows_the_cause(result: CheckResult, expected: str) -> None:
    fix = remediation_for(
        replace(result, remediation=CHECK_FIX if result.status in (F, E) else ""), CHECK_FIX
    )
    if expected:
        assert expected in fix
    else:
        assert fix == ""
    if result.status is E:
        assert "Rebuild" not in fix  # the FAIL's remedy is never an ERROR's


def test_unsupported_image_is_told_to_use_enhanced_scanning() -> None:
    fix = scan_failure_remediation(
        "FAILED",
        "UnsupportedImageError: The operating system and/or package manager are not supported.",
    )
    assert "enhanced scanning" in fix and "Rebuild" not in fix
    assert "enhanced scanning" in scan_failure_remediation("UNSUPPORTED_IMAGE", "")
    assert scan_failure_remediation("FAILED", "something else") != CHECK_FIX


def test_a_missing_endpoint_is_told_to_check_name_region_and_deploy_step() -> None:
    from soc2gate.checks.sagemaker.sagemaker_endpoint_status import SagemakerEndpointStatus

    clock = FakeClock()
    ctx = make_ctx(GateConfig(endpoint="ep", endpoint_grace=0.0), aws=None, clock=clock)
    result = endpoint_missing(SagemakerEndpointStatus(), ctx, "ep")
    assert result.status is F
    assert result.remediation == ENDPOINT_MISSING_FIX
    assert "FailureReason" not in result.remediation and "region" in result.remediation
    assert remediation_for(result, SagemakerEndpointStatus.remediation) == ENDPOINT_MISSING_FIX


def test_a_suppressed_finding_still_fails_and_says_how_to_waive_it() -> None:
    finding = Finding("CVE-2024-0001", Severity.CRITICAL, "openssl", "3.0.2", suppressed=True)
    result = evaluate_scan((finding,), None, GateConfig(), EcrScanFindings(), "repo@x", {}, 1)
    assert result.status is F
    assert "SUPPRESSED in Amazon Inspector" in result.reason
    assert "waivers file" in result.reason
    assert result.findings[0].blocks


# ---- the step summary ------------------------------------------------------------------------


def findings_result(status: Status, *verdicts: str) -> CheckResult:
    findings = tuple(
        Finding(
            f"CVE-2024-000{i}",
            Severity.MEDIUM if v != "blocks" else Severity.CRITICAL,
            "pkg",
            "1",
            verdict=v,
        )
        for i, v in enumerate(verdicts)
    )
    return res(
        SCAN, status, f"scan of repo@{DIGEST}", findings=findings, evidence={"imageDigest": DIGEST}
    )


@pytest.mark.parametrize(
    ("report", "code", "present", "absent"),
    [
        (
            GateReport((res(SCAN, P), res(STATUS, P))),
            0,
            ["### Passed"],
            ["What failed", "could not be verified and"],
        ),
        (
            GateReport(
                (
                    res(SCAN, E, "AccessDenied calling ecr:X"),
                    res(STATUS, E, "AccessDenied calling sagemaker:Y"),
                )
            ),
            3,
            ["### What could not be verified and what to do", "Grant the IAM action"],
            ["### What failed"],
        ),
        (
            GateReport(
                (
                    res(SCAN, P),
                    res(STATUS, E, "interrupted while Creating; the check did not finish"),
                ),
                interrupted=True,
            ),
            143,
            [
                "## soc2gate INTERRUPTED by SIGTERM (exit 143)",
                "### Interrupted before a verdict (exit 143)",
            ],
            ["### What failed", "How to fix"],
        ),
        (
            GateReport((res(SCAN, F, "bad"), res(STATUS, E, "AccessDenied calling sagemaker:Y"))),
            1,
            ["### What failed and how to fix it", "### What could not be verified and what to do"],
            [],
        ),
    ],
    ids=["passed", "all-error", "interrupted", "fail-and-error"],
)
def test_every_outcome_has_its_own_heading(
    report: GateReport, code: int, present: list[str], absent: list[str]
) -> None:
    settled = GateReport(
        tuple(replace(r, remediation=remediation_for(r, "Check fix.")) for r in report.results),
        interrupted=report.interrupted,
    )
    text = github.summary(settled, exit_code=code)
    for needle in present:
        assert needle in text, text
    for needle in absent:
        assert needle not in text, text


def test_below_threshold_findings_are_not_presented_as_the_problem() -> None:
    passed = GateReport((findings_result(P, "below HIGH", "below HIGH"),))
    text = github.summary(passed, exit_code=0)
    assert "block the release" not in text
    assert "Findings that do not block (2)" in text
    unrelated = GateReport((findings_result(P, "below HIGH"), res(STATUS, F, "endpoint Failed")))
    assert "block the release" not in github.summary(unrelated, exit_code=1)
    failing = GateReport((findings_result(F, "blocks", "below HIGH", "waived"),))
    text = github.summary(failing, exit_code=1)
    blocking = text.split("### Top findings: these block the release", 1)[1].split("<details>", 1)[
        0
    ]
    assert "CVE-2024-0000" in blocking and "CVE-2024-0001" not in blocking
    assert "| MEDIUM | CVE-2024-0002 | pkg | 1 | waived |" in text


def test_header_short_digests_and_unwrapped_check_ids() -> None:
    report = GateReport((findings_result(F, "blocks"),), duration=75.0)
    gated = {
        "repository": "my-repo", "tag": "soc2-dev-abc", "endpoint": "ep", "region": "eu-west-1",
        "commit": "0123456789abcdef0123", "started": "2026-01-01 10:00:00Z",
    }  # fmt: skip
    text = github.summary(report, exit_code=1, gated=gated)
    header = text.split("\n")[2]
    for needle in ("<code>my-repo</code>", "<code>soc2-dev-abc</code>", "<code>sha256:ab12ab12ab12</code>",
                   "**Endpoint** ep", "**Region** eu-west-1", "<code>0123456789ab</code>", "1m15s"):  # fmt: skip
        assert needle in header, header
    table = text.split("| --- | --- | --- |", 1)[1].split("\n\n", 1)[0]
    assert "repo@sha256:ab12ab12ab12 |" in table
    assert DIGEST not in table
    assert "<code>ecr\u2011scan\u2011findings</code>" in table
    assert f"`{DIGEST}`" in text.split("Digests in full", 1)[1]


def test_the_wait_is_drawn_as_a_mermaid_gantt() -> None:
    scan = replace(res(SCAN, P), transitions=((0.5, "IN_PROGRESS"), (42.25, "COMPLETE")))
    endpoint = replace(res(STATUS, F), transitions=((0.6, "Creating"), (300.0, "Failed: x; y # z")))
    text = github.summary(GateReport((scan, endpoint, res("ecr-image-tags", P))), exit_code=1)
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[0] == "gantt" and "    dateFormat x" in lines
    assert "    section ecr-scan-findings" in lines
    assert "    IN_PROGRESS : 500, 42250" in lines
    assert "    COMPLETE : milestone, 42250, 42250" in lines
    assert "    Creating : 600, 300000" in lines
    assert "    Failed x y  z : crit, milestone, 300000, 300000" in lines
    assert not any("ecr-image-tags" in line for line in lines)  # it never waited
    assert "```mermaid" not in github.summary(GateReport((res(SCAN, P),)), exit_code=0)


def test_the_runner_records_state_changes_with_their_times(clock: FakeClock) -> None:
    from unit_fakes import ENDPOINT, StubbedAws, sm_endpoint

    from soc2gate.runner import run_gate

    aws = StubbedAws()
    for state in ("Creating", "Creating", "Updating", "InService"):
        aws.respond(
            "sagemaker", "describe_endpoint", sm_endpoint(status=state), {"EndpointName": ENDPOINT}
        )
    config = GateConfig(
        endpoint=ENDPOINT, timeout=1800.0, poll_min=2.0, poll_max=2.0, only=(STATUS,)
    )
    report = run_gate(
        config, clients=aws, sleep=clock.sleep, clock=clock, environ={}, progress=None,
        cancel=threading.Event(),
    )  # fmt: skip
    (result,) = [r for r in report.results if r.check_id == STATUS]
    assert result.status is P
    states = [state for _t, state in result.transitions]
    assert states == ["Creating", "Updating", "InService"]
    times = [t for t, _s in result.transitions]
    assert times == sorted(times) and times[-1] > times[0] >= 0


def test_junit_skips_point_at_the_dependency_and_parse_in_junitparser(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    junit.write(critical_report(), str(path))
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 0, 1)
    outcomes = {c.name: type(c.result[0]).__name__ if c.result else "pass" for c in suite}
    assert outcomes == {
        "ecr-image-tags": "pass",
        SCAN: "Failure",
        STATUS: "pass",
        DEPLOYED: "Skipped",
    }
    case = next(c for c in suite if c.name == DEPLOYED)
    assert isinstance(case.result[0], Skipped) and not isinstance(case.result[0], Failure)
    assert case.result[0].message == "not evaluated: ecr-scan-findings failed"


# ---- through the check's real run (botocore Stubber) -----------------------------------------


def scan_run(aws, page: dict) -> CheckResult:  # type: ignore[no-untyped-def]
    from unit_fakes import DIGEST as IMAGE_DIGEST
    from unit_fakes import REPO, describe_images_params, ecr_images, scan_params

    aws.respond(
        "ecr", "describe_images", ecr_images({IMAGE_DIGEST: ["t"]}), describe_images_params("t")
    )
    aws.respond("ecr", "describe_image_scan_findings", page, scan_params())
    ctx = make_ctx(GateConfig(repository=REPO, require_tags=("t",)), aws)
    result = EcrScanFindings().run(ctx)
    aws.assert_done()
    return _settle(EcrScanFindings(), ctx, result)


def test_a_scan_that_failed_on_an_unsupported_image_says_use_enhanced_scanning(aws) -> None:  # type: ignore[no-untyped-def]
    from unit_fakes import ecr_scan_page

    page = ecr_scan_page(
        status="FAILED",
        description=" UnsupportedImageError: The operating system and/or package manager are "
        "not supported.",
        findings=[],
    )
    result = scan_run(aws, page)
    assert result.status is F
    assert "enhanced scanning" in result.remediation
    assert result.remediation != CHECK_FIX and "Rebuild" not in result.remediation
    assert "ended FAILED: UnsupportedImageError" in result.reason  # trimmed: no double space


def test_an_inspector_suppressed_finding_fails_and_is_named(aws) -> None:  # type: ignore[no-untyped-def]
    from unit_fakes import ecr_scan_page, enhanced_finding

    page = ecr_scan_page(
        findings=[],
        enhanced=[enhanced_finding("CVE-2024-9999", "CRITICAL", status="SUPPRESSED")],
        counts={"CRITICAL": 1},
    )
    result = scan_run(aws, page)
    assert result.status is F, result.reason
    assert "CVE-2024-9999" in result.reason and "SUPPRESSED in Amazon Inspector" in result.reason
    assert any("[SUPPRESSED in Amazon Inspector]" in d for d in result.details)
    assert result.findings[0].suppressed and result.findings[0].blocks


def test_a_report_never_hides_a_failure_behind_not_evaluated() -> None:
    # Built by hand (the Python API): the check it points at passed, or is not in the report.
    for upstream in (res(SCAN, P), None):
        results = (upstream,) if upstream else ()
        report = GateReport((*results, blocked(F)))
        assert report.not_evaluated == ()
        assert github.outputs(report, "j.xml")["failed-checks"] == DEPLOYED
        assert report.exit_code == ExitCode.FAILED
        root = ET.fromstring(junit.to_string(report).split("\n", 1)[1])
        assert root.get("failures") == "1"
