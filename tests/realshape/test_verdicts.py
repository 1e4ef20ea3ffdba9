"""The verdict each real AWS answer must get, through the real gate (issue 10, layer 1).

Every test runs ``soc2gate.runner.run_gate`` with the gate's own ``AwsClients``; the answers are
real-shape wire bytes (``fixtures/``) handed to botocore by the before-send event, so the gate's
before-parse hook, its raw-JSON fast path for findings pages and botocore's parser all run. The
clock is fake: a state that is waited for reaches the deadline at once.

Tests written as the correct expectation that the gate does not meet yet are marked
``xfail(strict=True, reason="issue 10 hole N: ...")``; the engineer who fixes hole N removes the
marker (strict: the suite goes red when the fix lands and the marker stays). The tests of holes
1-8 carry a comment naming the hole: they failed on 68cfb8b and pass since the fixes landed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from realshape.wire import (
    DIGEST,
    GUIDE_BASIC,
    GUIDE_ENHANCED,
    MODEL_PREFIX,
    Run,
    Seq,
    WireWorld,
    fixture,
    guide_config,
    modified,
    run_gate_on,
    with_answers,
)

SCAN = "ecr-scan-findings"
REPO_CHECK = "ecr-repository-config"
TAGS_CHECK = "ecr-image-tags"
ENV_CHECK = "sagemaker-model-env"
CONFIG_CHECK = "sagemaker-endpoint-config"
STATUS_CHECK = "sagemaker-endpoint-status"
DEPLOYED_CHECK = "deployed-image-scanned"
DEADLINE = "at the deadline"


def run(scenario: dict[str, Any], **config: Any) -> Run:
    return run_gate_on(WireWorld(scenario), guide_config(**config))


def assert_passes(result: Run) -> None:
    assert result.exit_code == 0, "expected PASS (exit 0):\n" + result.table()


def assert_not_pass(result: Run, check_id: str, *statuses: str) -> None:
    """The run does not pass, ``check_id`` is not PASS (and is one of ``statuses`` if given)."""
    status = result.status(check_id)
    wanted = statuses or ("FAIL", "ERROR")
    assert result.exit_code != 0 and status in wanted, (
        f"expected {check_id} to be {'/'.join(wanted)} and the run not to pass, got {status} "
        f"(exit {result.exit_code}):\n" + result.table()
    )


def waits_then_fails(result: Run, check_id: str) -> None:
    """A state that must be waited for: FAIL at the deadline, not at once, never PASS."""
    assert_not_pass(result, check_id, "FAIL")
    assert DEADLINE in result.result(check_id).reason, result.table()


# ---- the compliant deployment ------------------------------------------------------------------


def test_guide_deployment_basic_scanning_passes() -> None:
    result = run(GUIDE_BASIC)
    assert_passes(result)
    assert result.status("ecr-image-user") == "SKIPPED"


def test_guide_deployment_enhanced_scanning_passes() -> None:
    assert_passes(run(GUIDE_ENHANCED))


def test_repository_of_2019_without_encryption_configuration_passes() -> None:
    # AWS documents AES256 as what a repository without encryptionConfiguration uses.
    scenario = with_answers(
        GUIDE_BASIC, DescribeRepositories="ecr/DescribeRepositories.guide-2019-no-encryption.json"
    )
    assert_passes(run(scenario))


def test_repository_not_found_fails() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeRepositories="ecr/DescribeRepositories.not-found.json"
    )
    assert_not_pass(run(scenario), REPO_CHECK, "FAIL")


def test_scan_on_push_sent_as_a_string_is_not_trusted() -> None:
    # Every source that could say "scanning is on" is off or mistyped: scanOnPush "true" (a
    # string) in both answers, the batch frequency MANUAL, no registry rule.
    def repo(response: dict[str, Any]) -> None:
        response["repositories"][0]["imageScanningConfiguration"]["scanOnPush"] = "true"

    def batch(response: dict[str, Any]) -> None:
        conf = response["scanningConfigurations"][0]
        conf["scanOnPush"], conf["scanFrequency"] = "true", "MANUAL"

    scenario = with_answers(
        GUIDE_BASIC,
        DescribeRepositories=modified("ecr/DescribeRepositories.guide.json", repo),
        BatchGetRepositoryScanningConfiguration=modified(
            "ecr/BatchGetRepositoryScanningConfiguration.scan-on-push.json", batch
        ),
    )
    assert_not_pass(run(scenario), REPO_CHECK, "FAIL", "ERROR")


@pytest.mark.parametrize("frequency", [None, "DAILY_SCAN"], ids=["missing", "unknown"])
def test_registry_rule_with_an_unknown_scan_frequency_is_not_scanning(
    frequency: str | None,
) -> None:
    # ENHANCED registry whose only rule has no scanFrequency (or one ECR does not define), and a
    # batch answer that says MANUAL: nothing says the repository is scanned.
    def rule(response: dict[str, Any]) -> None:
        first = response["scanningConfiguration"]["rules"][0]
        if frequency is None:
            del first["scanFrequency"]
        else:
            first["scanFrequency"] = frequency

    def batch(response: dict[str, Any]) -> None:
        response["scanningConfigurations"][0]["scanFrequency"] = "MANUAL"

    scenario = with_answers(
        GUIDE_ENHANCED,
        GetRegistryScanningConfiguration=modified(
            "ecr/GetRegistryScanningConfiguration.enhanced-continuous.json", rule
        ),
        BatchGetRepositoryScanningConfiguration=modified(
            "ecr/BatchGetRepositoryScanningConfiguration.continuous.json", batch
        ),
    )
    assert_not_pass(run(scenario), REPO_CHECK, "FAIL", "ERROR")


def test_unknown_registry_scan_type_does_not_make_scan_on_push_count() -> None:
    # The registry's scan type is one ECR does not define (a future type, or a proxy's answer):
    # whether the repository's scanOnPush means anything under it is unknown, and the batch
    # answer says MANUAL. The gate refuses a missing scanType for this very reason.
    def registry(response: dict[str, Any]) -> None:
        response["scanningConfiguration"]["scanType"] = "ENHANCED_V2"

    def batch(response: dict[str, Any]) -> None:
        response["scanningConfigurations"][0]["scanFrequency"] = "MANUAL"

    scenario = with_answers(
        GUIDE_BASIC,
        GetRegistryScanningConfiguration=modified(
            "ecr/GetRegistryScanningConfiguration.basic-no-rules.json", registry
        ),
        BatchGetRepositoryScanningConfiguration=modified(
            "ecr/BatchGetRepositoryScanningConfiguration.scan-on-push.json", batch
        ),
    )
    assert_not_pass(run(scenario), REPO_CHECK, "FAIL", "ERROR")


# ---- basic scanning ------------------------------------------------------------------------------


def test_basic_complete_with_no_findings_and_empty_counts_passes() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeImageScanFindings="ecr/DescribeImageScanFindings.basic-complete-empty.json",
    )
    result = run(scenario)
    assert_passes(result)
    assert "no findings" in result.result(SCAN).reason


@pytest.mark.parametrize(("fail_on", "passes"), [("HIGH", True), ("MEDIUM", False)])
def test_basic_medium_finding_against_the_threshold(fail_on: str, passes: bool) -> None:
    from soc2gate.models import Severity

    scenario = with_answers(
        GUIDE_BASIC, DescribeImageScanFindings="ecr/DescribeImageScanFindings.basic-medium.json"
    )
    result = run(scenario, fail_on=Severity[fail_on])
    if passes:
        assert_passes(result)
    else:
        assert_not_pass(result, SCAN, "FAIL")
        assert "CVE-2023-50495" in result.result(SCAN).reason


def test_high_finding_on_the_second_page_fails() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeImageScanFindings="ecr/DescribeImageScanFindings.basic-high-on-page-two.json",
    )
    result = run(scenario)
    assert_not_pass(result, SCAN, "FAIL")
    assert "CVE-2023-5363" in result.result(SCAN).reason


def test_failed_scan_with_null_findings_fails_at_once() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeImageScanFindings="ecr/DescribeImageScanFindings.basic-failed-null.json",
    )
    result = run(scenario)
    assert_not_pass(result, SCAN, "FAIL")
    assert DEADLINE not in result.result(SCAN).reason
    assert "UnsupportedImageError" in result.result(SCAN).reason


def test_scan_in_progress_is_waited_for_and_fails_at_the_deadline() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeImageScanFindings="ecr/DescribeImageScanFindings.in-progress.json"
    )
    waits_then_fails(run(scenario), SCAN)


def test_scan_in_progress_then_complete_passes() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeImageScanFindings=Seq(
            "ecr/DescribeImageScanFindings.in-progress.json",
            "ecr/DescribeImageScanFindings.in-progress.json",
            "ecr/DescribeImageScanFindings.basic-complete-empty.json",
        ),
    )
    assert_passes(run(scenario))


def test_scan_not_found_fails() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeImageScanFindings="ecr/DescribeImageScanFindings.scan-not-found.json"
    )
    result = run(scenario)
    assert_not_pass(result, SCAN, "FAIL")
    assert "no scan exists" in result.result(SCAN).reason


def test_scan_not_found_with_wait_for_scan_waits_then_fails() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeImageScanFindings="ecr/DescribeImageScanFindings.scan-not-found.json"
    )
    waits_then_fails(run(scenario, wait_for_scan=True), SCAN)


def _complete_with_findings_body(value: Any) -> dict[str, Any]:
    def edit(response: dict[str, Any]) -> None:
        response["imageScanFindings"] = value

    return modified("ecr/DescribeImageScanFindings.basic-complete-empty.json", edit)


# issue 10 hole 2: mistyped findings bodies null/[]/false/0/"" passed via the fast path (fixed;
# this is its regression test)
@pytest.mark.parametrize(
    "value", [None, [], False, 0, ""], ids=["null", "list", "false", "0", "empty-string"]
)
def test_complete_scan_with_a_mistyped_findings_body_is_not_a_pass(value: Any) -> None:
    # botocore's parser would refuse a list/false/0/"" where a structure belongs; the gate's
    # raw-JSON fast path for DescribeImageScanFindings skips it, so the check must refuse them
    # itself. null on a COMPLETE scan is "could not read the findings", not "no findings".
    scenario = with_answers(
        GUIDE_BASIC, DescribeImageScanFindings=_complete_with_findings_body(value)
    )
    assert_not_pass(run(scenario), SCAN, "ERROR", "FAIL")


# ---- enhanced scanning ---------------------------------------------------------------------------


def enhanced(findings: Any, coverage: Any | None = None) -> dict[str, Any]:
    scenario = with_answers(GUIDE_ENHANCED, DescribeImageScanFindings=findings)
    if coverage is not None:
        scenario["inspector2:ListCoverage"] = coverage
    return scenario


def test_enhanced_active_clean_scan_with_completion_and_coverage_passes() -> None:
    assert_passes(run(enhanced("ecr/DescribeImageScanFindings.enhanced-active-clean.json")))


def test_enhanced_active_findings_only_but_inspector_scanned_it_passes() -> None:
    # ListCoverage says ACTIVE / SUCCESSFUL with lastScannedAt: scanned, and clean.
    scenario = enhanced(
        "ecr/DescribeImageScanFindings.enhanced-active-findings-only.json",
        "inspector2/ListCoverage.ecr-image-successful.json",
    )
    assert_passes(run(scenario))


# issue 10 hole 1: enhanced scan not populated yet passes (fixed; this is its regression test)
@pytest.mark.parametrize(
    "coverage",
    ["inspector2/ListCoverage.pending-initial-scan.json", "inspector2/ListCoverage.empty.json"],
    ids=["pending-initial-scan", "not-covered-yet"],
)
def test_enhanced_active_findings_only_not_scanned_yet_waits_then_fails(coverage: str) -> None:
    # ACTIVE with imageScanFindings {"findings": []} and no completion time, no counts, no
    # enhancedFindings, while Inspector has not scanned the image: not "clean", "not yet".
    scenario = enhanced(
        "ecr/DescribeImageScanFindings.enhanced-active-findings-only.json", coverage
    )
    waits_then_fails(run(scenario), SCAN)


def test_enhanced_pending_waits_then_fails() -> None:
    scenario = enhanced(
        "ecr/DescribeImageScanFindings.enhanced-pending.json",
        "inspector2/ListCoverage.pending-initial-scan.json",
    )
    waits_then_fails(run(scenario), SCAN)


def test_enhanced_high_finding_fails() -> None:
    result = run(enhanced("ecr/DescribeImageScanFindings.enhanced-active-high.json"))
    assert_not_pass(result, SCAN, "FAIL")
    assert "CVE-2022-49043" in result.result(SCAN).reason


@pytest.mark.parametrize(("untriaged_fails", "passes"), [(True, False), (False, True)])
def test_enhanced_untriaged_finding_follows_fail_on_untriaged(
    untriaged_fails: bool, passes: bool
) -> None:
    scenario = enhanced("ecr/DescribeImageScanFindings.enhanced-medium-untriaged.json")
    result = run(scenario, fail_on_untriaged=untriaged_fails)
    if passes:
        assert_passes(result)
    else:
        assert_not_pass(result, SCAN, "FAIL")
        assert "UNTRIAGED" in result.result(SCAN).reason


def _untriaged_severity(value: Any) -> dict[str, Any]:
    def edit(response: dict[str, Any]) -> None:
        finding = response["imageScanFindings"]["enhancedFindings"][1]
        counts = response["imageScanFindings"]["findingSeverityCounts"]
        del counts["UNTRIAGED"]
        if value is None:
            del finding["severity"]
        else:
            finding["severity"] = value
            counts[value] = 1

    return modified("ecr/DescribeImageScanFindings.enhanced-medium-untriaged.json", edit)


# issue 10 hole 7: unknown/missing severities treated as UNDEFINED (fixed; regression test)
@pytest.mark.parametrize("severity", [None, "SEVERE"], ids=["missing", "unknown"])
def test_a_finding_whose_severity_cannot_be_read_fails_even_with_untriaged_allowed(
    severity: str | None,
) -> None:
    # --fail-on-untriaged false lets UNDEFINED/UNTRIAGED through; a severity the gate cannot
    # read is neither: it may be CRITICAL.
    scenario = enhanced(_untriaged_severity(severity))
    assert_not_pass(run(scenario, fail_on_untriaged=False), SCAN, "FAIL", "ERROR")


# ---- tags and repository ---------------------------------------------------------------------------


# issue 10 hole 3: only the first required tag gated (fixed; this is its regression test)
def test_a_required_tag_on_another_unscanned_vulnerable_build_is_not_a_pass() -> None:
    # soc2-latest was moved to a later build with CRITICAL findings; the gate scans the first
    # required tag's digest only and reports the tags "present on 2 digests".
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeImages="ecr/DescribeImages.tags-split.json",
        DescribeImageScanFindings=[
            "ecr/DescribeImageScanFindings.basic-two-pages-clean.json",
            "ecr/DescribeImageScanFindings.basic-critical-other-build.json",
        ],
    )
    result = run(scenario)
    assert result.exit_code != 0, result.table()
    assert {result.status(TAGS_CHECK), result.status(SCAN)} & {"FAIL", "ERROR"}, result.table()


# issue 10 hole 6: IMMUTABLE_WITH_EXCLUSION judged on unexpanded tags (fixed; regression test)
def test_exclusion_filter_matching_the_expanded_sha_tag_fails() -> None:
    # Filter soc2-dev-3f9c* leaves soc2-dev-<sha> mutable; compared with the template
    # 'soc2-dev-{sha}' it matches nothing.
    scenario = with_answers(
        GUIDE_BASIC, DescribeRepositories="ecr/DescribeRepositories.immutable-with-exclusion.json"
    )
    assert_not_pass(run(scenario), REPO_CHECK, "FAIL")


# ---- SageMaker ---------------------------------------------------------------------------------------


def test_endpoint_of_2018_without_deployed_images_cannot_be_verified() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeEndpoint="sagemaker/DescribeEndpoint.inservice-2018-no-deployed-images.json",
    )
    assert_not_pass(run(scenario), DEPLOYED_CHECK, "ERROR")


def test_failed_endpoint_with_leading_space_failure_reason_fails_quoting_it() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeEndpoint="sagemaker/DescribeEndpoint.failed-leading-space.json"
    )
    result = run(scenario)
    assert_not_pass(result, STATUS_CHECK, "FAIL")
    reason = result.result(STATUS_CHECK).reason
    assert "did not pass the ping health check" in reason
    assert DEADLINE not in reason
    details = "\n".join(result.result(STATUS_CHECK).details)
    assert "log group does not exist" in details, details


def test_endpoint_creating_forever_fails_at_the_deadline() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeEndpoint="sagemaker/DescribeEndpoint.creating.json"
    )
    waits_then_fails(run(scenario), STATUS_CHECK)


def test_endpoint_creating_then_in_service_passes() -> None:
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeEndpoint=Seq(
            "sagemaker/DescribeEndpoint.creating.json",
            "sagemaker/DescribeEndpoint.guide-inservice.json",
        ),
    )
    assert_passes(run(scenario))


def test_endpoint_not_found_fails_after_the_grace_period() -> None:
    scenario = with_answers(
        GUIDE_BASIC, DescribeEndpoint="sagemaker/DescribeEndpoint.not-found.json"
    )
    result = run(scenario)
    assert_not_pass(result, STATUS_CHECK, "FAIL")
    assert "not found" in result.result(STATUS_CHECK).reason


def test_in_service_after_a_failed_update_is_not_a_pass() -> None:
    # hole 8: InService with a FailureReason is an update that failed and was rolled back.
    scenario = with_answers(
        GUIDE_BASIC, DescribeEndpoint="sagemaker/DescribeEndpoint.inservice-failed-update.json"
    )
    assert_not_pass(run(scenario), STATUS_CHECK)


def test_in_service_with_an_unsettled_variant_waits_then_fails() -> None:
    # hole 8: CurrentInstanceCount 0 of 1, VariantStatus Creating.
    scenario = with_answers(
        GUIDE_BASIC, DescribeEndpoint="sagemaker/DescribeEndpoint.inservice-unsettled.json"
    )
    waits_then_fails(run(scenario), STATUS_CHECK)


def _update_to_gpu() -> dict[str, Any]:
    # Each check's first DescribeEndpoint sees Updating (old, compliant config named, no
    # PendingDeploymentSummary, as older answers lack it); later calls see the update settled
    # on a config with a GPU instance type and a model without the markers.
    return with_answers(
        GUIDE_BASIC,
        DescribeEndpoint=Seq(
            "sagemaker/DescribeEndpoint.updating-no-pending-summary.json",
            "sagemaker/DescribeEndpoint.gpu-inservice.json",
        ),
        DescribeEndpointConfig=[
            "sagemaker/DescribeEndpointConfig.guide.json",
            "sagemaker/DescribeEndpointConfig.gpu.json",
        ],
        DescribeModel=[
            "sagemaker/DescribeModel.guide.json",
            "sagemaker/DescribeModel.gpu-no-markers.json",
        ],
    )


def test_endpoint_updated_during_the_run_is_judged_on_the_config_that_serves() -> None:
    # hole 4: the config and model checks must judge what serves once the endpoint settles.
    result = run(_update_to_gpu())
    assert result.exit_code != 0, result.table()
    assert {result.status(CONFIG_CHECK), result.status(ENV_CHECK)} <= {"FAIL", "ERROR"}, (
        result.table()
    )


def _endpoint_on_old_model() -> Callable[[dict[str, Any]], None]:
    def edit(response: dict[str, Any]) -> None:
        response["ProductionVariants"][0]["ModelName"] = f"{MODEL_PREFIX}-dev-20261125141500"

    return edit


# issue 10 hole 5: --model-name-contains replaces endpoint models (fixed; this is its regression test)
def test_model_name_contains_does_not_hide_the_endpoints_own_model() -> None:
    # The newest model matching the text carries the markers; the endpoint serves an older one
    # that does not. Both must be judged.
    scenario = with_answers(
        GUIDE_BASIC,
        DescribeEndpointConfig=modified(
            "sagemaker/DescribeEndpointConfig.guide.json", _endpoint_on_old_model()
        ),
        DescribeModel=[
            "sagemaker/DescribeModel.guide.json",
            "sagemaker/DescribeModel.old-no-markers.json",
        ],
    )
    assert_not_pass(run(scenario, model_name_contains=MODEL_PREFIX), ENV_CHECK, "FAIL")


@pytest.mark.parametrize(("newest", "passes"), [("guide", True), ("old-no-markers", False)])
def test_model_name_contains_alone_judges_the_newest_matching_model(
    newest: str, passes: bool
) -> None:
    models = fixture("sagemaker/ListModels.guide.json")
    if newest != "guide":
        models["response"]["Models"].reverse()
        for i, model in enumerate(models["response"]["Models"]):
            model["CreationTime"] = 1795684722.0 + 1000 * (2 - i)
    scenario = with_answers(
        GUIDE_BASIC,
        ListModels=models,
        DescribeModel=[
            "sagemaker/DescribeModel.guide.json",
            "sagemaker/DescribeModel.old-no-markers.json",
        ],
    )
    result = run(scenario, endpoint=None, model_name_contains=MODEL_PREFIX)
    if passes:
        assert_passes(result)
    else:
        assert_not_pass(result, ENV_CHECK, "FAIL")


# ---- the gate's own response hooks run on these answers -------------------------------------------


def test_a_mistyped_describe_endpoint_is_refused_by_the_before_parse_hook() -> None:
    def edit(response: dict[str, Any]) -> None:
        response["ProductionVariants"] = "AllTraffic"

    scenario = with_answers(
        GUIDE_BASIC,
        DescribeEndpoint=modified("sagemaker/DescribeEndpoint.guide-inservice.json", edit),
    )
    result = run(scenario)
    assert_not_pass(result, STATUS_CHECK, "ERROR")
    assert "DescribeEndpoint" in result.result(STATUS_CHECK).reason


def test_the_gated_digest_is_the_one_the_fixtures_scan() -> None:
    result = run(GUIDE_BASIC)
    assert result.result(SCAN).evidence["imageDigest"] == DIGEST
