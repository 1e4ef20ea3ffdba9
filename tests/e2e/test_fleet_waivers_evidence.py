"""Issue 6 parts 2, 3 and 6 through the installed CLI: waivers, the evidence record, fleets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from gate_e2e import run_cli, validate_junit
from junitparser import JUnitXml

from soc2gate.demo.scenarios import (
    CRITICAL_CVE,
    ENDPOINT,
    MODEL_NAME,
    REPOSITORY,
    SCENARIOS,
    SECRET_VALUE,
)
from soc2gate.demo.world import MotoWorld
from soc2gate.registry import all_checks

TODAY = dt.datetime.now(dt.timezone.utc).date()
SCHEMA = Path(__file__).resolve().parents[2] / "soc2gate" / "schemas" / "evidence.schema.json"


def write_waivers(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    path = tmp_path / "waivers.yml"
    path.write_text(yaml.safe_dump({"waivers": entries}))
    return path


def critical_run(world: MotoWorld, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    scenario = SCENARIOS["critical-finding"]
    scenario.prepare(world)
    args = [*scenario.gate_args(world), "--only", "ecr-scan-findings", *extra]
    return run_cli(world, ["run", *args], tmp_path)


# ---- waivers --------------------------------------------------------------------------------


def test_a_valid_waiver_turns_the_critical_finding_into_a_listed_waiver(
    world: MotoWorld, tmp_path: Path
) -> None:
    reason = "openssl NPN is not reachable from our inference server"
    waivers = write_waivers(
        tmp_path,
        [{"id": CRITICAL_CVE, "package": "openssl", "reason": reason, "expires": str(TODAY)}],
    )
    summary = tmp_path / "summary.md"
    run = critical_run(world, tmp_path, "--waivers", str(waivers), "--summary", str(summary))
    assert run.code == 0, run.output
    assert "(1 waived)" in run.stdout
    junit = run.junit.read_text()
    assert f"WAIVED CRITICAL {CRITICAL_CVE} in openssl" in junit and reason in junit
    assert CRITICAL_CVE in summary.read_text()


def test_an_expired_waiver_fails_the_gate_and_names_the_entry(
    world: MotoWorld, tmp_path: Path
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    waivers = write_waivers(
        tmp_path,
        [{"id": CRITICAL_CVE, "reason": "accepted until the fix", "expires": str(yesterday)}],
    )
    run = critical_run(world, tmp_path, "--waivers", str(waivers))
    assert run.code == 1
    assert f"waiver #1 ({CRITICAL_CVE}, expires {yesterday.isoformat()}) has expired" in run.stdout
    assert "1 finding(s) at or above HIGH" in run.stdout  # an expired waiver waives nothing


def test_a_waiver_that_matches_nothing_is_warned_about(world: MotoWorld, tmp_path: Path) -> None:
    waivers = write_waivers(
        tmp_path,
        [
            {"id": CRITICAL_CVE, "reason": "r", "expires": str(TODAY)},
            {"id": "CVE-1999-0001", "reason": "stale", "expires": str(TODAY)},
        ],
    )
    run = critical_run(world, tmp_path, "--waivers", str(waivers))
    assert run.code == 0, run.output
    assert "warning: waiver #2 (CVE-1999-0001" in run.junit.read_text()


def test_a_waiver_for_another_package_does_not_waive(world: MotoWorld, tmp_path: Path) -> None:
    waivers = write_waivers(
        tmp_path, [{"id": CRITICAL_CVE, "package": "libssl3", "reason": "r", "expires": str(TODAY)}]
    )
    assert critical_run(world, tmp_path, "--waivers", str(waivers)).code == 1


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"id": CRITICAL_CVE, "expires": "2030-01-01"}, "reason is required"),
        ({"id": CRITICAL_CVE, "reason": "r"}, "expires is required"),
        ({"id": CRITICAL_CVE, "reason": "r", "expires": "soon"}, "expires must be a date"),
        ({"id": CRITICAL_CVE, "reason": "r", "expires": "2030-01-01", "owner": "x"}, "unknown key"),
    ],
)
def test_a_waiver_without_reason_or_expiry_is_a_usage_error(
    world: MotoWorld, tmp_path: Path, entry: dict[str, object], problem: str
) -> None:
    run = critical_run(world, tmp_path, "--waivers", str(write_waivers(tmp_path, [entry])))
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and "entry #1" in lines[0]


def test_fail_only_fixable_ignores_enhanced_findings_without_a_fix(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["enhanced-paged-high"]
    scenario.prepare(world)
    base = [*scenario.gate_args(world), "--only", "ecr-scan-findings"]
    assert run_cli(world, ["run", *base], tmp_path).code == 1
    # Same scan, but only findings with a fix count: the HIGH one has fixAvailable YES, so the
    # verdict must stay FAIL; the flag must never hide a fixable finding.
    world.reset_calls()
    run = run_cli(world, ["run", *base, "--fail-only-fixable", "true"], tmp_path)
    assert run.code == 1, run.output


# ---- evidence record ------------------------------------------------------------------------


def test_evidence_record_validates_verifies_and_is_deterministic(
    world: MotoWorld, tmp_path: Path
) -> None:
    import jsonschema

    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)  # the first run sees the scan finish and the endpoint settle
    args = scenario.gate_args(world)
    env = {
        "GITHUB_RUN_ID": "4242",
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    documents = []
    path = tmp_path / "evidence.json"
    for _ in (1, 2):
        run = run_cli(world, ["run", *args, "--evidence", str(path)], tmp_path, extra_env=env)
        assert run.code == 0, run.output
        documents.append(json.loads(path.read_text()))
        verify = run_cli(world, ["verify-evidence", str(path)], tmp_path)
        assert verify.code == 0 and "is intact" in verify.stdout

    schema = json.loads(SCHEMA.read_text())
    for document in documents:
        jsonschema.validate(document, schema)
    first, second = documents
    assert first["run"]["ci"]["url"] == "https://github.com/acme/models/actions/runs/4242"
    assert first["run"]["commit_sha"] == args[args.index("--commit-sha") + 1]
    by_id = {c["id"]: c for c in first["checks"]}
    assert by_id["ecr-scan-findings"]["soc2_criteria"][0] == "CC7.1"
    operations = {op["operation"] for op in by_id["ecr-scan-findings"]["aws_operations"]}
    assert {"ecr:DescribeImages", "ecr:DescribeImageScanFindings"} <= operations
    assert "sagemaker:DescribeEndpoint" in {
        op["operation"] for op in by_id["sagemaker-endpoint-status"]["aws_operations"]
    }
    # The same input gives the same document, apart from times.
    strip = lambda d: {k: v for k, v in d.items() if k not in ("timing", "sha256")}  # noqa: E731
    assert strip(first) == strip(second)
    text = json.dumps(first)
    assert SECRET_VALUE not in text and "testing" not in json.dumps(first["config"])


def test_a_modified_evidence_record_fails_verification(world: MotoWorld, tmp_path: Path) -> None:
    run = critical_run(world, tmp_path, "--evidence", str(tmp_path / "e.json"))
    assert run.code == 1
    document = json.loads((tmp_path / "e.json").read_text())
    document["checks"][0]["status"] = "PASS"  # someone "fixes" the record
    (tmp_path / "e.json").write_text(json.dumps(document))
    verify = run_cli(world, ["verify-evidence", str(tmp_path / "e.json")], tmp_path)
    assert verify.code == 1 and "was modified" in verify.stderr


# ---- fleets ---------------------------------------------------------------------------------


def test_fleet_gives_each_target_its_own_testcases(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    world.create_endpoint_config("gpu-config", [(MODEL_NAME, "ml.g4dn.xlarge")])
    world.create_endpoint("gpu-endpoint", "gpu-config", status="InService")
    config = {
        "region": world.region,
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "instance_types": ["ml.c5.large"],
        "poll_min": "0.05s",
        "poll_max": "0.2s",
        "timeout": "30s",
        "concurrency": 3,
        "targets": [
            {"name": "dev", "endpoint": ENDPOINT, "repository": REPOSITORY},
            {
                "name": "gpu",
                "endpoint": "gpu-endpoint",
                "role_arn": "arn:aws:iam::123456789012:role/gate",
            },
        ],
    }
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(config))
    run = run_cli(world, ["run", "--config", str(path)], tmp_path)
    assert run.code == 1, run.output
    validate_junit(run.junit)
    # One suite per target: the case is the check id, the suite (and classname) the target.
    cases = {
        f"{c.name} [{suite.name}]": c for suite in JUnitXml.fromfile(str(run.junit)) for c in suite
    }
    assert {c.classname for c in cases.values()} == {"dev", "gpu"}
    assert len(cases) == 2 * len(all_checks())
    assert "sagemaker-endpoint-config [gpu]" in cases and "sagemaker-endpoint-config [dev]" in cases
    failed = sorted(n for n, c in cases.items() if c.result and c.result[0]._tag == "failure")
    assert failed == ["sagemaker-endpoint-config [gpu]"]
    assert "ml.g4dn.xlarge" in run.stdout
    assert world.calls["AssumeRole"] == 1  # only the target with a role assumes it


def test_fleet_rejects_run_level_keys_per_target(world: MotoWorld, tmp_path: Path) -> None:
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump({"targets": [{"endpoint": "a", "timeout": "1m"}]}))
    run = run_cli(world, ["run", "--config", str(path)], tmp_path)
    assert run.code == 2
    assert "timeout applies to the whole run" in run.stderr
