"""The SARIF 2.1.0 report (--sarif): schema-valid, one rule per check and per vulnerability, one
result per failing check and blocking finding, stable fingerprints, a location on every result,
and GitHub's limits (25,000 results, 10 MB gzipped) kept by leaving out the lowest severities.

Every log built here is validated against the vendored OASIS schema (tests/schemas)."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from unit_fakes import DIGEST, OTHER_DIGEST, REPO

from soc2gate.cli import _with_sarif_location, sarif_location
from soc2gate.config import GateConfig, parse_mapping
from soc2gate.errors import ConfigError
from soc2gate.models import BLOCKS, CheckResult, Finding, GateReport, Severity, Status
from soc2gate.report import sarif

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "sarif-schema-2.1.0.json"
CONFIG = GateConfig(repository=REPO, require_tags=("t",), sarif="out.sarif")
LOCATION = "Dockerfile"


@cache
def validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _sampled(log: dict[str, Any], edge: int = 150) -> dict[str, Any]:
    """The log with only the first and last ``edge`` results and rules: jsonschema checks
    ``uniqueItems`` pairwise (quadratic), so a 25,000-result log is validated on a sample plus an
    exact uniqueness check of every result and rule here."""
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    for items in (run["results"], driver.get("rules", [])):
        assert len({json.dumps(i, sort_keys=True) for i in items}) == len(items)
    if len(run["results"]) + len(driver.get("rules", [])) <= 4 * edge:
        return log
    sample = json.loads(json.dumps(log))
    s_run = sample["runs"][0]
    s_driver = s_run["tool"]["driver"]
    s_run["results"] = s_run["results"][:edge] + s_run["results"][edge:][-edge:]
    s_driver["rules"] = s_driver["rules"][:edge] + s_driver["rules"][edge:][-edge:]
    kept = {r["id"] for r in s_driver["rules"]}
    # ruleIndex must still point at the rule of the same id: re-index the sampled results.
    order = {r["id"]: i for i, r in enumerate(s_driver["rules"])}
    for r in s_run["results"]:
        if "ruleIndex" in r:
            r["ruleIndex"] = order.get(r["ruleId"], 0) if r["ruleId"] in kept else 0
    return sample


def valid(log: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(validator().iter_errors(_sampled(log)), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    return log


def finding(
    vuln: str,
    severity: Severity = Severity.CRITICAL,
    package: str = "openssl",
    verdict: str = BLOCKS,
    digest: str = DIGEST,
    **kw: Any,
) -> Finding:
    return Finding(vuln, severity, package=package, version="3.0.2", verdict=verdict,
                   digest=digest, **kw)  # fmt: skip


def scan_result(*findings: Finding, status: Status = Status.FAIL, target: str = "") -> CheckResult:
    return CheckResult(
        "ecr-scan-findings",
        status,
        f"{sum(f.blocks for f in findings)} finding(s) at or above HIGH",
        title="Image scan has no findings at or above the threshold",
        remediation="Rebuild the image on patched base images.",
        findings=findings[:10],
        all_findings=findings,
        evidence={"imageDigest": DIGEST},
        target=target,
    )


def gate(*results: CheckResult) -> GateReport:
    return GateReport(results)


def build(
    report: GateReport, config: GateConfig = CONFIG, code: int = 1, **kw: Any
) -> dict[str, Any]:
    return valid(sarif.build(report, config, LOCATION, exit_code=code, **kw))


def results_of(log: dict[str, Any]) -> list[dict[str, Any]]:
    return log["runs"][0]["results"]


def rules_of(log: dict[str, Any]) -> list[dict[str, Any]]:
    return log["runs"][0]["tool"]["driver"]["rules"]


BLOCKING = finding("CVE-2024-5535", fixed_in="3.0.15", package_manager="OS")
BELOW = finding("CVE-2023-2650", Severity.MEDIUM, verdict="below HIGH")
VEXED = finding(
    "CVE-2023-5363",
    Severity.HIGH,
    verdict="VEX not_affected (vulnerable_code_not_in_execute_path) by psec, https://x/vex/1",
)
REPORT = gate(
    CheckResult("ecr-repository-config", Status.PASS, "ok", title="ECR repository"),
    scan_result(BLOCKING, VEXED, BELOW),
    CheckResult(
        "sagemaker-endpoint-status",
        Status.ERROR,
        "AccessDenied on sagemaker:DescribeEndpoint",
        title="Endpoint is InService",
        remediation="Grant sagemaker:DescribeEndpoint.",
    ),
    # Not evaluated: counted at the check it depends on, as every report counts it.
    CheckResult(
        "deployed-image-scanned",
        Status.ERROR,
        "blocked",
        title="The endpoint runs the image that passed the scan",
        blocked_by="sagemaker-endpoint-status",
    ),
)


def test_one_result_per_failing_check_and_blocking_finding_each_located_in_the_repository() -> None:
    log = build(REPORT)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    results = results_of(log)
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("ecr-scan-findings", "error"),
        ("sagemaker-endpoint-status", "error"),
        ("CVE-2024-5535", "error"),
    ]
    for result in results:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
        assert location["physicalLocation"]["region"]["startLine"] == 1
        assert rules_of(log)[result["ruleIndex"]]["id"] == result["ruleId"]
    props = results[2]["properties"]
    assert {k: props[k] for k in ("image", "digest", "package", "version", "fixedVersion")} == {
        "image": f"{REPO}@{DIGEST}",
        "digest": DIGEST,
        "package": "openssl",
        "version": "3.0.2",
        "fixedVersion": "3.0.15",
    }
    assert results[2]["message"]["text"].startswith(
        f"CRITICAL CVE-2024-5535 in openssl 3.0.2 of {REPO}@{DIGEST}: blocks the release"
    )
    assert "How to fix: Grant sagemaker:DescribeEndpoint." in results[1]["message"]["text"]


def test_one_rule_per_check_with_its_docs_and_remediation_and_one_per_vulnerability() -> None:
    log = build(REPORT)
    rules = {r["id"]: r for r in rules_of(log)}
    assert list(rules) == [
        "ecr-repository-config",
        "ecr-scan-findings",
        "sagemaker-endpoint-status",
        "deployed-image-scanned",
        "CVE-2024-5535",
    ]
    scan_rule = rules["ecr-scan-findings"]
    assert scan_rule["helpUri"].endswith("README.md#what-the-gate-replaces")
    assert scan_rule["help"]["text"] == "Rebuild the image on patched base images."
    cve = rules["CVE-2024-5535"]
    assert cve["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-5535"
    assert cve["properties"]["security-severity"] == "9.5"
    assert "security" in cve["properties"]["tags"]
    assert "openssl 3.0.15" in cve["help"]["text"]


def test_sarif_all_adds_the_findings_that_do_not_block_as_warnings() -> None:
    log = build(REPORT, replace(CONFIG, sarif_all=True))
    by_rule = {r["ruleId"]: r for r in results_of(log)}
    assert by_rule["CVE-2024-5535"]["level"] == "error"
    assert by_rule["CVE-2023-5363"]["level"] == "warning"
    assert by_rule["CVE-2023-2650"]["level"] == "warning"
    vexed = by_rule["CVE-2023-5363"]
    assert (
        "does not block: VEX not_affected (vulnerable_code_not_in_execute_path) by psec"
        in (vexed["message"]["text"])
    )
    assert vexed["properties"]["verdict"].startswith("VEX not_affected")
    assert log["runs"][0]["properties"]["sarifAll"] is True


def test_a_passing_run_has_no_results_and_says_its_exit_code() -> None:
    passing = gate(scan_result(BELOW, status=Status.PASS))
    log = build(passing, code=0)
    assert results_of(log) == []
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation == {"executionSuccessful": True, "exitCode": 0, "exitCodeDescription": "pass"}
    assert log["runs"][0]["properties"]["soc2gate.exit_code"] == 0
    # A run that could not be verified did not execute successfully, and says 3.
    (invocation,) = build(passing, code=3)["runs"][0]["invocations"]
    assert (invocation["executionSuccessful"], invocation["exitCode"]) == (False, 3)


def fingerprints(log: dict[str, Any]) -> dict[str, str]:
    return {
        r["message"]["text"][:40]: r["partialFingerprints"]["primaryLocationLineHash"]
        for r in results_of(log)
    }


def test_the_same_finding_on_the_same_digest_keeps_its_fingerprint_across_runs() -> None:
    first = results_of(build(REPORT))
    # Another run: other reasons and counts, other findings beside it, the same finding.
    again = gate(
        scan_result(finding("CVE-2030-0001"), BLOCKING),
        CheckResult("sagemaker-endpoint-status", Status.ERROR, "throttled this time"),
    )
    second = {r["ruleId"]: r["partialFingerprints"] for r in results_of(build(again))}
    for result in first:
        assert second[result["ruleId"]] == result["partialFingerprints"], result["ruleId"]
    # The same CVE on another digest, or in another package, is another alert.
    rebuilt = gate(scan_result(replace(BLOCKING, digest=OTHER_DIGEST)))
    other_pkg = gate(scan_result(replace(BLOCKING, package="libssl3")))
    hashes = {
        results_of(build(g))[-1]["partialFingerprints"]["primaryLocationLineHash"]
        for g in (gate(scan_result(BLOCKING)), rebuilt, other_pkg)
    }
    assert len(hashes) == 3
    for value in hashes:
        assert value.endswith(":1") and len(value) == 18  # upload-sarif's own shape


def test_fleet_targets_name_their_own_repository_and_keep_apart() -> None:
    config = GateConfig(
        targets=({"name": "eu", "repository": "repo-eu"}, {"name": "us", "repository": "repo-us"}),
        require_tags=("t",),
        sarif="out.sarif",
    )
    report = gate(scan_result(BLOCKING, target="eu"), scan_result(BLOCKING, target="us"))
    findings = [r for r in results_of(build(report, config)) if r["ruleId"] == "CVE-2024-5535"]
    assert [r["properties"]["image"] for r in findings] == [
        f"repo-eu@{DIGEST}",
        f"repo-us@{DIGEST}",
    ]
    assert findings[0]["partialFingerprints"] != findings[1]["partialFingerprints"]
    assert findings[0]["properties"]["target"] == "eu"


def test_a_vulnerability_id_that_is_a_check_id_gets_a_rule_of_its_own() -> None:
    odd = finding("ecr-scan-findings")
    log = build(gate(scan_result(odd)))
    assert [r["ruleId"] for r in results_of(log)] == [
        "ecr-scan-findings",
        "vulnerability/ecr-scan-findings",
    ]


# ---- GitHub's limits ------------------------------------------------------------------------


SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def many(n: int, *, blocking: bool = True) -> tuple[Finding, ...]:
    return tuple(
        finding(
            f"CVE-2099-{i:05d}",
            SEVERITIES[i % 4],
            package=f"pkg{i % 500}",
            verdict=BLOCKS if blocking else "below HIGH",
            title=f"CVE-2099-{i:05d}: a long enough description of vulnerability number {i}",
            fixed_in="9.9.9",
        )
        for i in range(n)
    )


def test_more_results_than_github_takes_are_trimmed_lowest_severity_first() -> None:
    findings = many(30_000)
    log = build(gate(scan_result(*findings)))
    results = results_of(log)
    assert len(results) == sarif.MAX_RESULTS
    kept = {r["ruleId"] for r in results}
    criticals = {f.id for f in findings if f.severity is Severity.CRITICAL}
    lows = {f.id for f in findings if f.severity is Severity.LOW}
    assert results[0]["ruleId"] == "ecr-scan-findings"  # the check's own result is kept first
    # 30,001 results (the check's and 7,500 of each severity): 5,001 lows left out, no other.
    assert criticals <= kept and all(
        f.id in kept for f in findings if f.severity is not Severity.LOW
    )
    assert len(lows & kept) == 7_500 - 5_001
    assert len(rules_of(log)) <= sarif.MAX_RULES
    trimmed = log["runs"][0]["properties"]["trimmed"]
    assert trimmed["resultsLeftOut"] == 30_001 - sarif.MAX_RESULTS
    assert "the lowest severities first" in trimmed["why"]
    (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"] == trimmed["why"]
    assert sarif.gzipped_size(log) <= sarif.MAX_GZIP_BYTES


def test_a_log_too_large_gzipped_is_trimmed_until_it_fits() -> None:
    findings = many(2_000)
    limit = 60_000
    log = build(gate(scan_result(*findings)), max_gzip_bytes=limit)
    assert sarif.gzipped_size(log) <= limit
    results = results_of(log)
    assert 0 < len(results) < 2_001
    severities = [r["properties"].get("severity") for r in results[1:]]
    order = [s.name for s in SEVERITIES]
    assert severities == sorted(severities, key=order.index)  # the lowest went first
    assert sarif.left_out(log) == 2_001 - len(results)


def test_ten_thousand_findings_stay_within_githubs_limits() -> None:
    log = build(gate(scan_result(*many(10_000))), replace(CONFIG, sarif_all=True))
    assert len(results_of(log)) == 10_001 and sarif.left_out(log) == 0
    assert sarif.gzipped_size(log) < 10_000_000


# ---- where the results point ----------------------------------------------------------------


def test_the_location_is_the_dockerfile_then_the_config_file_then_the_workflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"GITHUB_WORKFLOW_REF": "org/repo/.github/workflows/deploy.yml@refs/heads/main"}
    assert sarif_location(CONFIG, None, env) == ".github/workflows/deploy.yml"
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "soc2gate.yml").write_text("")
    assert sarif_location(CONFIG, "deploy/soc2gate.yml", env) == "deploy/soc2gate.yml"
    assert (
        sarif_location(CONFIG, str(tmp_path / "deploy/soc2gate.yml"), env) == "deploy/soc2gate.yml"
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert sarif_location(CONFIG, "deploy/soc2gate.yml", env) == "Dockerfile"
    given = replace(CONFIG, sarif_location="images/model/Dockerfile")
    assert sarif_location(given, None, env) == "images/model/Dockerfile"
    # GITHUB_WORKSPACE is the repository root when it is set.
    assert sarif_location(CONFIG, None, {**env, "GITHUB_WORKSPACE": str(tmp_path / "deploy")}) == (
        ".github/workflows/deploy.yml"
    )


def test_no_file_to_point_at_is_a_usage_error_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKFLOW_REF", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    with pytest.raises(ConfigError, match="pass --sarif-location PATH"):
        _with_sarif_location(CONFIG, None)
    assert _with_sarif_location(replace(CONFIG, sarif=None), None).sarif_location is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [("/abs/Dockerfile", "relative to the repository root"), ("../Dockerfile", "relative"),
     ("file:///x", "relative"), (".", "the path of a file")],
)  # fmt: skip
def test_sarif_location_must_be_a_file_of_the_repository(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_mapping({"sarif_location": value}, "config")
    assert parse_mapping({"sarif_location": "./docker/Dockerfile"}, "c") == {
        "sarif_location": "docker/Dockerfile"
    }
