"""The JUnit file as real readers see it (issue 11): every demo scenario, an all-error run, an
interrupted run and a fleet, read by junitparser (what the Python reporters and EnricoMi's
publish-unit-test-result-action build on) and by junit2html (the HTML report many pipelines
publish). Each reader must show what a user expects: counts, the check once by its id, the
message, and a dependent check that could not be judged as skipped "not evaluated", never as
a second failure, while the exit code stays the failure's."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from gate_e2e import SOC2GATE, run_cli, validate_junit
from junit2htmlreport.parser import Junit
from junitparser import Error, Failure, JUnitXml, Skipped

from soc2gate.demo.scenarios import ENDPOINT, MODEL_NAME, REPOSITORY, SCENARIOS
from soc2gate.demo.world import MotoWorld, aws_error, fail_calls
from soc2gate.registry import all_checks

IDS = [c.id for c in all_checks()]
OFF = "ecr-image-user"  # off by default: skipped in every scenario but root-user
#: Off by default too: run only by the --preset strict scenarios.
SAFETY = (
    "sagemaker-endpoint-encryption",
    "sagemaker-model-isolation",
    "sagemaker-endpoint-availability",
    "sagemaker-deployment-guardrails",
    "sagemaker-data-capture",
    "sagemaker-model-card",
)
SIGNED = "deployed-image-signed"  # off by default: skipped but in the signing scenarios
SCAN, STATUS = "ecr-scan-findings", "sagemaker-endpoint-status"
DEPENDENTS_OF_STATUS = (
    "sagemaker-model-env",
    "sagemaker-endpoint-config",
    "deployed-image-scanned",
)


@dataclass(frozen=True)
class Expect:
    """What a user expects the readers to show for one run."""

    code: int
    failures: dict[str, str]  # check id -> text its message contains
    errors: dict[str, str] = None  # type: ignore[assignment]
    not_evaluated: dict[str, str] = None  # type: ignore[assignment]  # check id -> upstream
    skipped: tuple[str, ...] = (OFF, *SAFETY, SIGNED)


def expect(code: int, failures: dict[str, str], **kw: object) -> Expect:
    kw.setdefault("errors", {})
    kw.setdefault("not_evaluated", {})
    return Expect(code, failures, **kw)  # type: ignore[arg-type]


SCENARIO_EXPECT = {
    "healthy": expect(0, {}),
    "endpoint-settling": expect(0, {}),
    "enhanced-paged": expect(0, {}),
    "enhanced-clean": expect(0, {}),
    "critical-finding": expect(1, {SCAN: "CVE-2024-5535"}, not_evaluated={"deployed-image-scanned": SCAN}),
    "enhanced-paged-high": expect(1, {SCAN: "CVE-2023-5363"}, not_evaluated={"deployed-image-scanned": SCAN}),
    "enhanced-findings-late": expect(1, {SCAN: "CVE-2023-5363"}, not_evaluated={"deployed-image-scanned": SCAN}),
    "scanning-off": expect(
        1,
        {"ecr-repository-config": "scanOnPush is false", SCAN: "no scan exists"},
        not_evaluated={"deployed-image-scanned": SCAN},
    ),
    "endpoint-failed": expect(
        1, {STATUS: "did not pass the ping health check"}, not_evaluated=dict.fromkeys(DEPENDENTS_OF_STATUS, STATUS)
    ),
    "endpoint-not-found": expect(
        1, {STATUS: "not found after waiting"}, not_evaluated=dict.fromkeys(DEPENDENTS_OF_STATUS, STATUS)
    ),
    "wrong-instance-type": expect(1, {"sagemaker-endpoint-config": "ml.g4dn.xlarge"}),
    "missing-tag": expect(1, {"ecr-image-tags": "soc2-latest"}),
    "missing-marker": expect(1, {"sagemaker-model-env": "SECURITY_HARDENED is missing"}),
    "tag-moved": expect(1, {"deployed-image-scanned": "sha256:3eecb5f25021"}),
    "foreign-image": expect(1, {"deployed-image-scanned": "not the gated repository"}),
    "root-user": expect(1, {OFF: "runs as root"}, skipped=(*SAFETY, SIGNED)),
    "model-registry": expect(0, {}),
    "model-registry-unapproved": expect(1, {"sagemaker-model-env": "PendingManualApproval, not Approved"}),
    "inference-components": expect(0, {}),
    "inference-component-tag-moved": expect(1, {"deployed-image-scanned": "sha256:3eecb5f25021"}),
    "graviton": expect(0, {}, skipped=(*SAFETY, SIGNED)),
    "graviton-root-user": expect(1, {OFF: "linux/arm64"}, skipped=(*SAFETY, SIGNED)),
    "stale-scan": expect(1, {SCAN: "longer ago than --max-scan-age 7d"}, not_evaluated={"deployed-image-scanned": SCAN}),
    "enhanced-exploitable": expect(1, {SCAN: "CVE-2023-48795"}, not_evaluated={"deployed-image-scanned": SCAN}),
    "enhanced-suppressed": expect(0, {}),
    "central-registry": expect(0, {}),
    "central-registry-enhanced": expect(0, {}),
    "central-registry-no-role": expect(3, {}, errors={"ecr-repository-config": "pass --registry-role-arn"}),
    "strict": expect(0, {}, skipped=(SIGNED,)),
    "no-rollback-alarm": expect(1, {"sagemaker-deployment-guardrails": "does not exist"}, skipped=(SIGNED,)),
    "capture-unencrypted": expect(
        1,
        {"sagemaker-data-capture": "without a KmsKeyId"},
        not_evaluated={"sagemaker-endpoint-encryption": "sagemaker-data-capture"},
        skipped=(SIGNED,),
    ),
    "single-instance": expect(1, {"sagemaker-endpoint-availability": "below --min-instances 2"}, skipped=(SIGNED,)),
    "signed": expect(0, {}, skipped=(OFF, *SAFETY)),
    "unsigned-deploy": expect(1, {"deployed-image-scanned": "sha256:3eecb5f25021", SIGNED: "sha256:3eecb5f25021 is not signed"}, skipped=(OFF, *SAFETY)),
    "wrong-signer": expect(1, {SIGNED: "which is not a trusted --signing-profile"}, skipped=(OFF, *SAFETY)),
    "attested": expect(0, {}, skipped=(OFF, *SAFETY)),
    "attested-other-commit": expect(1, {SIGNED: "built from commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678, not 3f9c2e7a"}, skipped=(OFF, *SAFETY)),
}  # fmt: skip


def test_every_scenario_is_covered() -> None:
    assert set(SCENARIO_EXPECT) == set(SCENARIOS)


def read_junitparser(path: Path, suite_name: str, want: Expect) -> None:
    suites = list(JUnitXml.fromfile(str(path)))
    suite = next(s for s in suites if s.name == suite_name)
    cases = list(suite)
    assert [c.name for c in cases] == IDS  # each check once, by its id
    assert {c.classname for c in cases} == {suite_name}
    not_evaluated = want.not_evaluated or {}
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
        len(IDS),
        len(want.failures),
        len(want.errors or {}),
        len(want.skipped) + len(not_evaluated),
    )
    for case in cases:
        outcome = case.result[0] if case.result else None
        if case.name in want.failures:
            assert isinstance(outcome, Failure), case.name
            assert want.failures[case.name] in (outcome.message or "") + (outcome.text or "")
        elif case.name in (want.errors or {}):
            assert isinstance(outcome, Error), case.name
            assert (want.errors or {})[case.name] in (outcome.message or "")
        elif case.name in not_evaluated:
            assert isinstance(outcome, Skipped), case.name
            assert outcome.message == f"not evaluated: {not_evaluated[case.name]} " + (
                "failed" if not_evaluated[case.name] in want.failures else "could not be verified"
            )
            assert (outcome.text or "").startswith(outcome.message)
        elif case.name in want.skipped:
            assert isinstance(outcome, Skipped) and outcome.message and outcome.text, case.name
        else:
            assert outcome is None, f"{case.name}: {outcome!r}"
            continue
        if isinstance(outcome, (Failure, Error)):
            # What the reader shows as the message is what the body starts with.
            assert (outcome.text or "").split("\n", 1)[0] == outcome.message
            assert outcome.type not in ("failure", "error", "FAIL", "ERROR")


def read_junit2html(path: Path, suite_name: str, want: Expect) -> None:
    report = Junit(filename=str(path))
    suite = next(s for s in report.suites if s.name == suite_name)
    cases = suite.all()
    assert [c.name for c in cases] == IDS
    assert {c.testclass.name for c in cases} == {suite_name}
    # junit2html shows errors as failures: one list of what went wrong.
    bad = {c.name: c for c in suite.failed()}
    assert set(bad) == set(want.failures) | set(want.errors or {})
    for name, text in {**want.failures, **(want.errors or {})}.items():
        assert text in (bad[name].failure_msg or "") + (bad[name].failure or ""), name
        assert (bad[name].failure or "").split("\n", 1)[0] == bad[name].failure_msg
    skipped = {c.name: c for c in suite.skipped()}
    assert set(skipped) == set(want.skipped) | set(want.not_evaluated or {})
    for name, upstream in (want.not_evaluated or {}).items():
        assert (skipped[name].skipped_msg or "").startswith(f"not evaluated: {upstream}")
    passed = {c.name for c in suite.passed()}
    assert passed == set(IDS) - set(bad) - set(skipped)
    html = report.html()
    for check_id in IDS:
        assert check_id in html


def check_readers(path: Path, want: Expect, suite_name: str = "soc2gate") -> None:
    validate_junit(path)
    read_junitparser(path, suite_name, want)
    read_junit2html(path, suite_name, want)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_readers_show_each_scenario(name: str, world: MotoWorld, tmp_path: Path) -> None:
    scenario, want = SCENARIOS[name], SCENARIO_EXPECT[name]
    scenario.prepare(world)
    args = ["run", *scenario.gate_args(world)]
    run = run_cli(world, args, tmp_path)
    assert run.code == want.code, run.output  # not evaluated never changes the exit code
    check_readers(run.junit, want)


#: Every read the checks of a healthy deployment make: denied, nothing can be judged.
DENIED = (
    "DescribeRepositories",
    "GetRegistryScanningConfiguration",
    "BatchGetRepositoryScanningConfiguration",
    "DescribeImages",
    "DescribeImageScanFindings",
    "DescribeEndpoint",
    "DescribeEndpointConfig",
    "DescribeModel",
    "ListModels",
)


def test_readers_show_an_all_error_run(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    for operation in DENIED:
        world.inject(operation, fail_calls(None, aws_error("AccessDeniedException", "not allowed")))
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 3, run.output
    errors = {
        check_id: "AccessDenied"
        for check_id in IDS
        if check_id not in (OFF, *SAFETY, SIGNED, *DEPENDENTS_OF_STATUS)
    }
    # The deployed image is not evaluated: the scan it depends on could not be verified; the
    # model environment and the endpoint config are not evaluated either: the endpoint could
    # not be verified, one cause counted once (issue 19, item 12).
    blocked = {"deployed-image-scanned": SCAN, **dict.fromkeys(DEPENDENTS_OF_STATUS[:2], STATUS)}
    want = expect(3, {}, errors=errors, not_evaluated=blocked)
    check_readers(run.junit, want)
    raw = run.junit.read_text()
    assert 'type="AccessDenied"' in raw and "Enable scanning" not in raw  # an error's own fix
    assert "Grant the IAM action named above" in raw


def test_readers_show_an_interrupted_run(world: MotoWorld, tmp_path: Path) -> None:
    SCENARIOS["healthy"].setup(world)  # no triggers: the endpoint stays Creating
    junit = tmp_path / "junit.xml"
    env = {"PATH": "/usr/bin:/bin", **world.env()}
    argv = [SOC2GATE, "run", *SCENARIOS["healthy"].gate_args(world), "--junit", str(junit)]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        while f"{STATUS}: Creating" not in lines.get(timeout=30):
            pass
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 143
    raw = junit.read_text()
    assert '<property name="soc2gate.exit_code" value="143" />' in raw
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    unfinished = {c.name: c.result[0] for c in suite if c.result and isinstance(c.result[0], Error)}
    assert STATUS in unfinished
    for outcome in unfinished.values():
        assert outcome.type == "Interrupted" and (outcome.message or "").startswith("interrupted")
        assert "How to fix" not in (outcome.text or "")  # an interrupt is nothing to fix
    want = expect(143, {}, errors=dict.fromkeys(unfinished, "interrupted"))
    check_readers(junit, want)


def test_readers_show_a_fleet(world: MotoWorld, tmp_path: Path) -> None:
    SCENARIOS["healthy"].prepare(world)
    world.create_endpoint_config("gpu-config", [(MODEL_NAME, "ml.g4dn.xlarge")])
    world.create_endpoint("gpu-endpoint", "gpu-config", status="InService")
    config = {
        "region": world.region,
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "instance_types": ["ml.c5.large"],
        "poll_min": "0.05s",
        "poll_max": "0.2s",
        "timeout": "30s",
        "targets": [
            {"name": "dev", "endpoint": ENDPOINT, "repository": REPOSITORY},
            {"name": "gpu", "endpoint": "gpu-endpoint"},
        ],
    }
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(config))
    run = run_cli(world, ["run", "--config", str(path)], tmp_path)
    assert run.code == 1, run.output
    unconfigured = ("ecr-repository-config", "ecr-image-tags", SCAN, "deployed-image-scanned")
    check_readers(
        run.junit,
        expect(
            1, {}, skipped=(OFF, *SAFETY, "ecr-image-tags", SCAN, "deployed-image-scanned", SIGNED)
        ),
        "dev",
    )
    check_readers(
        run.junit,
        expect(
            1,
            {"sagemaker-endpoint-config": "ml.g4dn.xlarge"},
            skipped=(OFF, *SAFETY, *unconfigured, SIGNED),
        ),
        "gpu",
    )
    assert [s.name for s in Junit(filename=str(run.junit)).suites] == ["dev", "gpu"]


# ---- readers that put annotations on files (issue 19, item 13) ---------------------------------


def mikepenz_annotation_path(junit: Path, workspace: Path) -> list[tuple[str, str, int]]:
    """(testcase, path, line) of each annotation mikepenz/action-junit-report makes for a
    failure or error, resolved as its src/testParser.ts does (v4/v5, Apache-2.0,
    github.com/mikepenz/action-junit-report): the testcase's, the failure's or the suite's
    ``file`` (and ``line``) if given, else the classname's last dot-separated part; then, unless
    both are known, the first workspace file matching ``**/<name>.*`` outside /build/ and
    /__pycache__/, else the name as it is."""
    import re
    import xml.etree.ElementTree as ET

    out = []
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            outcome = case.find("failure")
            outcome = outcome if outcome is not None else case.find("error")
            if outcome is None:
                continue
            file = case.get("file") or outcome.get("file") or suite.get("file")
            line = case.get("line") or outcome.get("line") or suite.get("line")
            name = file or (case.get("classname") or case.get("name") or "").split(".")[-1]
            number = int(line) if line and line.isdigit() else None
            if not (name and number):
                found = re.findall(rf" [^ ]*{re.escape(name)}.*?:\d+", outcome.text or "")
                number = int(found[-1].rsplit(":", 1)[1]) if found else 1
                normalized = re.sub(r"^\./", "", name)
                matches = [
                    p
                    for p in sorted(workspace.glob(f"**/{normalized}.*"))
                    if "/build/" not in str(p) and "/__pycache__/" not in str(p)
                ]
                name = str(matches[0].relative_to(workspace)) if matches else normalized
            out.append((case.get("name") or "", name, number))
    return out


@pytest.mark.parametrize("workflow", [True, False], ids=["github-workflow", "elsewhere"])
def test_annotating_readers_never_land_on_an_unrelated_workspace_file(
    workflow: bool, world: MotoWorld, tmp_path: Path
) -> None:
    """Before: the classname ("soc2gate", or a fleet target's name) was read as a file name and
    the workspace globbed for it: every annotation on soc2gate.yml:1, or on a file named like a
    target. Now each suite names its file: the workflow that ran the gate, else the report."""
    SCENARIOS["healthy"].prepare(world)
    world.create_endpoint_config("gpu-config", [(MODEL_NAME, "ml.g4dn.xlarge")])
    world.create_endpoint("gpu-endpoint", "gpu-config", status="InService")
    workspace = tmp_path / "workspace"
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "deploy.yml").write_text("on: push\n")
    config = {
        "region": world.region,
        "instance_types": ["ml.c5.large"],
        "poll_min": "0.05s",
        "poll_max": "0.2s",
        "timeout": "30s",
        "targets": [
            {"name": "dev", "endpoint": ENDPOINT},
            {"name": "gpu", "endpoint": "gpu-endpoint"},
        ],
    }
    (workspace / "soc2gate.yml").write_text(yaml.safe_dump(config))
    for decoy in ("dev.py", "gpu.tf", "scripts/soc2gate.sh"):
        (workspace / decoy).parent.mkdir(parents=True, exist_ok=True)
        (workspace / decoy).write_text("# not the gate's\n")
    env = {"GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/deploy.yml@refs/heads/main"}
    run = run_cli(
        world,
        ["run", "--config", str(workspace / "soc2gate.yml")],
        tmp_path,
        extra_env=env if workflow else None,
    )
    assert run.code == 1, run.output
    annotations = mikepenz_annotation_path(run.junit, workspace)
    assert annotations, "the gpu target's instance type fails"
    want = ".github/workflows/deploy.yml" if workflow else str(run.junit)
    assert {path for _case, path, _line in annotations} == {want}, annotations
