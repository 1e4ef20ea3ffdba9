"""Custom checks (issue 14) through the installed CLI against the MotoWorld server over HTTP.

The examples pack (examples/custom-checks.yml) passes on a compliant deployment and fails, each
check with its own clear message, on a non-compliant one; its results reach JUnit and the
evidence record; bad custom check configs exit 2 naming the check before any AWS call.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_e2e import CliRun, run_cli, validate_junit

from soc2gate.demo.world import MotoWorld, aws_error, fail_calls, variant

PACK = Path(__file__).resolve().parents[2] / "examples" / "custom-checks.yml"
ENDPOINT = "soc2CustomEndpoint"
MODEL = "soc2CustomModel-1"
CONFIG = "soc2CustomConfig-1"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
ENV = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
PACK_IDS = (
    "endpoint-config-kms",
    "model-network-isolation",
    "model-vpc-config",
    "endpoint-data-capture",
    "endpoint-required-tags",
)
#: What each pack check says on the non-compliant deployment.
FAILURES = {
    "endpoint-config-kms": "query 'KmsKeyId' found nothing in the DescribeEndpointConfig answer",
    "model-network-isolation": "EnableNetworkIsolation = false, expected true",
    "model-vpc-config": "query 'VpcConfig.Subnets' found nothing in the DescribeModel answer",
    "endpoint-data-capture": "query 'DataCaptureConfig.EnableCapture' found nothing",
    "endpoint-required-tags": "contains(Tags[].Key, 'owner') && contains(Tags[].Key, "
    "'data-classification') is false; Tags[].Key = [\"owner\"]",
}


def deploy(world: MotoWorld, *, compliant: bool, env: dict[str, str] | None = None) -> None:
    """An InService endpoint with one model, compliant with the pack or not."""
    sm = world.sagemaker
    model: dict[str, object] = {
        "ModelName": MODEL,
        "ExecutionRoleArn": f"arn:aws:iam::{world.account_id}:role/SageMakerExecutionRole-soc2",
        "PrimaryContainer": {"Image": IMAGE, "Mode": "SingleModel", "Environment": env or ENV},
    }
    config: dict[str, object] = {
        "EndpointConfigName": CONFIG,
        "ProductionVariants": [variant(MODEL)],
    }
    if compliant:
        model["EnableNetworkIsolation"] = True
        model["VpcConfig"] = {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]}
        config["KmsKeyId"] = KMS_KEY
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://soc2-capture/endpoint",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    sm.create_model(**model)
    if compliant:
        # moto's CreateModel drops EnableNetworkIsolation (always False); set it in the
        # simulated account as SageMaker would have stored it.
        world._sagemaker_backend()._models[MODEL].enable_network_isolation = True
    sm.create_endpoint_config(**config)
    arn = world.create_endpoint(ENDPOINT, CONFIG, status="InService")
    world.set_endpoint(ENDPOINT, config_name=CONFIG)
    tags = [{"Key": "owner", "Value": "ml-platform"}]
    if compliant:
        tags.append({"Key": "data-classification", "Value": "confidential"})
    sm.add_tags(ResourceArn=arn, Tags=tags)


def gate(world: MotoWorld, tmp_path: Path, config: Path, *extra: str) -> CliRun:
    evidence = tmp_path / "evidence.json"
    args = ["run", "--region", world.region, "--endpoint", ENDPOINT, "--config", str(config)]
    args += ["--poll-min", "0.05s", "--poll-max", "0.1s", "--evidence", str(evidence), *extra]
    run = run_cli(world, args, tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    return run


_RANK = {"pass": 0, "skipped": 1, "error": 2, "failure": 3}


def junit_cases(run: CliRun) -> dict[str, tuple[str, str]]:
    """testcase name -> (outcome: pass/failure/error/skipped, message), as JUnit has them."""
    out = {}
    for element in ET.parse(run.junit).getroot().iter("testcase"):
        outcome, message = "pass", ""
        for tag in ("failure", "error", "skipped"):
            found = element.find(tag)
            if found is not None:
                outcome, message = tag, found.get("message") or ""
        out[element.get("name") or ""] = (outcome, message)
    return out


def cases(run: CliRun) -> dict[str, tuple[str, str]]:
    """check id -> the worst of its testcases: a {model} check has one per model
    (``<id> [<model>]``), each judged on its own."""
    out: dict[str, tuple[str, str]] = {}
    for name, (outcome, message) in junit_cases(run).items():
        check = name.split(" [", 1)[0]
        if check not in out or _RANK[outcome] > _RANK[out[check][0]]:
            out[check] = (outcome, message)
    return out


def evidence_of(tmp_path: Path) -> dict[str, Any]:
    record = json.loads((tmp_path / "evidence.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in record["checks"]}


def test_pack_passes_on_a_compliant_deployment(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    run = gate(world, tmp_path, PACK)
    assert run.code == 0, run.output
    validate_junit(run.junit)
    results = cases(run)
    for check_id in PACK_IDS:
        assert results[check_id][0] == "pass", (check_id, results[check_id], run.output)
    # A {model} check fans out: one testcase per model behind the endpoint, named after it.
    per_model = [n for n in junit_cases(run) if n.startswith("model-network-isolation [")]
    assert per_model and all(n.endswith("]") for n in per_model), junit_cases(run)
    document = json.loads((tmp_path / "evidence.json").read_text(encoding="utf-8"))
    schema = Path(__file__).resolve().parents[2] / "soc2gate" / "schemas" / "evidence.schema.json"
    jsonschema.validate(document, json.loads(schema.read_text(encoding="utf-8")))
    record = evidence_of(tmp_path)
    # Operations are named by their IAM prefix (SageMaker's endpoint prefix is api.sagemaker).
    assert [op["operation"] for op in record["endpoint-required-tags"]["aws_operations"]] == [
        "sagemaker:ListTags"
    ]
    kms = record["endpoint-config-kms"]
    assert kms["status"] == "PASS"
    assert kms["evidence"]["call"] == "sagemaker.describe_endpoint_config"
    assert kms["evidence"]["expectation"] == "not_empty"
    assert kms["evidence"]["soc2_criteria"] == ["CC6.1"]
    (evaluation,) = kms["evidence"]["evaluations"]
    assert evaluation == {
        "params": {"EndpointConfigName": CONFIG},
        "value": KMS_KEY,
        "status": "PASS",
    }
    operations = [op["operation"] for op in kms["aws_operations"]]
    assert "sagemaker:DescribeEndpointConfig" in operations
    isolation = record["model-network-isolation"]["evidence"]["evaluations"]
    assert isolation == [{"params": {"ModelName": MODEL}, "value": True, "status": "PASS"}]


def test_pack_fails_each_check_on_a_non_compliant_deployment(
    world: MotoWorld, tmp_path: Path
) -> None:
    deploy(world, compliant=False)
    run = gate(world, tmp_path, PACK)
    assert run.code == 1, run.output
    validate_junit(run.junit)
    results = cases(run)
    assert results["sagemaker-endpoint-status"][0] == "pass"
    for check_id, message in FAILURES.items():
        outcome, text = results[check_id]
        assert outcome == "failure", (check_id, outcome, text)
        assert message in text, (check_id, text)
    # The answer is quoted for a query that found nothing; a model environment never is.
    assert "[hidden]" in run.stdout or "Environment" not in run.stdout
    assert 'SECURITY_HARDENED":"true' not in run.stdout


def test_only_a_custom_check_runs_the_check_its_placeholder_comes_from(
    world: MotoWorld, tmp_path: Path
) -> None:
    deploy(world, compliant=True)
    run = gate(world, tmp_path, PACK, "--only", "model-network-isolation")
    assert run.code == 0, run.output
    results = cases(run)
    assert results["model-network-isolation"][0] == "pass"
    assert results["sagemaker-endpoint-status"][0] == "pass"
    assert results["endpoint-config-kms"][0] == "skipped"
    assert results["sagemaker-model-env"][0] == "skipped"


def test_skip_by_id_and_not_evaluated_when_the_source_check_did_not_run(
    world: MotoWorld, tmp_path: Path
) -> None:
    deploy(world, compliant=True)
    run = gate(
        world,
        tmp_path,
        PACK,
        "--skip",
        "endpoint-required-tags",
        "--skip",
        "sagemaker-endpoint-status",
    )
    results = cases(run)
    assert results["endpoint-required-tags"][0] == "skipped"
    outcome, message = results["endpoint-config-kms"]
    assert outcome == "error", message
    assert "comes from sagemaker-endpoint-status, which did not run" in message
    assert run.code == 3, run.output


def test_not_evaluated_when_the_endpoint_failed(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    world.set_endpoint(ENDPOINT, status="Failed", failure_reason="ping health check failed")
    run = gate(world, tmp_path, PACK, "--log-lines", "0")
    assert run.code == 1, run.output
    results = cases(run)
    assert results["sagemaker-endpoint-status"][0] == "failure"
    for check_id in PACK_IDS:
        outcome, message = results[check_id]
        assert outcome != "pass", (check_id, message)
    assert "PASS    endpoint-config-kms" not in run.stdout


WAIT_CONFIG = f"""
custom_checks:
  - id: endpoint-in-service-custom
    call: sagemaker.describe_endpoint
    params: {{EndpointName: {ENDPOINT}}}
    query: EndpointStatus
    expect: {{equals: InService}}
    wait: {{pending_when: "EndpointStatus == 'Creating'"}}
"""


def test_pending_when_waits_under_the_deadline(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    world.set_endpoint(ENDPOINT, status="Creating")
    world.on_call("DescribeEndpoint", 3, lambda w: w.set_endpoint(ENDPOINT, status="InService"))
    config = tmp_path / "wait.yml"
    config.write_text(WAIT_CONFIG, encoding="utf-8")
    run = gate(world, tmp_path, config, "--only", "endpoint-in-service-custom")
    assert run.code == 0, run.output
    assert "pending_when" in run.stderr
    assert world.calls["DescribeEndpoint"] >= 3


def test_pending_when_still_true_at_the_deadline_fails(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    world.set_endpoint(ENDPOINT, status="Creating")
    config = tmp_path / "wait.yml"
    config.write_text(WAIT_CONFIG, encoding="utf-8")
    run = gate(world, tmp_path, config, "--only", "endpoint-in-service-custom", "--timeout", "1s")
    assert run.code == 1, run.output
    outcome, message = cases(run)["endpoint-in-service-custom"]
    assert outcome == "failure"
    assert "still pending_when at the deadline" in message


BAD = {
    "write-operation": (
        "call: sagemaker.delete_endpoint\n    params: {EndpointName: x}\n"
        "    query: a\n    expect: not_empty",
        "custom_checks[0] (my-check) call: sagemaker.delete_endpoint (DeleteEndpoint) is not "
        "read-only",
    ),
    "bad-query": (
        "call: sagemaker.describe_endpoint\n    params: {EndpointName: x}\n"
        "    query: 'Production[[0'\n    expect: not_empty",
        "custom_checks[0] (my-check) query: invalid JMESPath",
    ),
    "unknown-placeholder": (
        "call: sagemaker.describe_endpoint\n    params: {EndpointName: '{endpoint_nam}'}\n"
        "    query: a\n    expect: not_empty",
        "custom_checks[0] (my-check) params: unknown placeholder {endpoint_nam}",
    ),
    "unknown-param": (
        "call: sagemaker.describe_endpoint\n    params: {Name: x}\n    query: a\n"
        "    expect: not_empty",
        "DescribeEndpoint has no parameter 'Name'",
    ),
    # A read by name that returns a secret (issue 19): refused by the allow-list.
    "returns-a-secret": (
        "call: glue.get_connection\n    params: {Name: db}\n    query: a\n    expect: not_empty",
        "custom_checks[0] (my-check) call: glue.get_connection (GetConnection) is refused: it "
        "returns the connection's password",
    ),
    "creates-state": (
        "call: cognito-identity.get_id\n    params: {IdentityPoolId: 'us-east-1:x'}\n"
        "    query: a\n    expect: not_empty",
        "call: cognito-identity.get_id (GetId) is refused: it creates an identity",
    ),
    "clashes-with-built-in": (
        "call: sagemaker.describe_endpoint\n    params: {EndpointName: x}\n"
        "    query: EndpointStatus\n    expect: not_empty",
        "custom_checks[0] (ecr-image-tags).id: clashes with the built-in check",
    ),
    "misspelt-field": (
        'call: ecr.describe_repositories\n    params: {repositoryNames: ["{repository}"]}\n'
        "    expect: {jmespath: \"repositories[0].imageTagMutabilty != 'MUTABLE'\"}",
        "Repository has no field 'imageTagMutabilty' (did you mean 'imageTagMutability'?)",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_custom_check_exits_2_before_any_aws_call(
    world: MotoWorld, tmp_path: Path, name: str
) -> None:
    body, message = BAD[name]
    check_id = "ecr-image-tags" if name == "clashes-with-built-in" else "my-check"
    config = tmp_path / "bad.yml"
    config.write_text(f"custom_checks:\n  - id: {check_id}\n    {body}\n", encoding="utf-8")
    run = gate(world, tmp_path, config)
    assert run.code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert sum(world.calls.values()) == 0


def test_list_checks_with_config_shows_the_custom_checks(world: MotoWorld, tmp_path: Path) -> None:
    run = run_cli(world, ["list-checks", "--config", str(PACK)], tmp_path)
    assert run.code == 0, run.output
    assert "ecr-scan-findings" in run.stdout
    for check_id in PACK_IDS:
        assert f"{check_id} (custom)" in run.stdout
    assert "sagemaker.describe_model(ModelName={model})" in run.stdout


def test_access_denied_names_the_iam_action(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    world.inject("ListTags", fail_calls(None, aws_error()))
    run = gate(world, tmp_path, PACK, "--only", "endpoint-required-tags")
    assert run.code == 3, run.output
    outcome, message = cases(run)["endpoint-required-tags"]
    assert outcome == "error"
    assert "AccessDenied calling sagemaker:ListTags: grant sagemaker:ListTags" in message


def test_transient_errors_are_retried(world: MotoWorld, tmp_path: Path) -> None:
    deploy(world, compliant=True)
    world.inject("ListTags", fail_calls([1], aws_error("ThrottlingException", "Rate exceeded")))
    run = gate(world, tmp_path, PACK, "--only", "endpoint-required-tags")
    assert run.code == 0, run.output
    assert world.calls["ListTags"] >= 2


ECR_CHECKS = """
custom_checks:
  - id: gated-image-pushed-by-this-commit
    call: ecr.describe_images
    params:
      repositoryName: "{repository}"
      imageIds: [{imageDigest: "{gated_digest}"}]
    query: imageDetails[0].imageTags
    expect: {jmespath: "contains(imageDetails[0].imageTags, 'soc2-dev-3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e')"}
  - id: commit-tag-is-gated-tag-digest
    call: ecr.describe_images
    params:
      repositoryName: "{repository}"
      imageIds: [{imageTag: "soc2-dev-{commit_sha}"}, {imageDigest: "{gated_digest}"}]
    query: imageDetails[].imageDigest
    expect: {all_in: ["%s"]}
"""


def test_ecr_placeholders_from_the_healthy_scenario(world: MotoWorld, tmp_path: Path) -> None:
    from soc2gate.demo.scenarios import GATED_DIGEST, SCENARIOS

    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    config = tmp_path / "ecr.yml"
    config.write_text(ECR_CHECKS.replace("%s", GATED_DIGEST), encoding="utf-8")
    run = run_cli(world, ["run", *scenario.gate_args(world), "--config", str(config)], tmp_path)
    assert run.code == 0, run.output
    results = cases(run)
    assert results["gated-image-pushed-by-this-commit"][0] == "pass"
    assert results["commit-tag-is-gated-tag-digest"][0] == "pass"
    assert results["ecr-scan-findings"][0] == "pass"


def test_a_read_of_the_gated_tag_is_refused_for_the_gated_digest(
    world: MotoWorld, tmp_path: Path
) -> None:
    """{gated_tag} in an imageTag re-read the tag when the custom check ran: after the scan
    passed digest A, a push of an unscanned root image B that took the tag made the check judge
    B, and the run exited 0 (review finding F3). Now the config is refused (exit 2) before any
    AWS call, pointing at {gated_digest}."""
    config = tmp_path / "tag.yml"
    config.write_text(
        """
custom_checks:
  - id: gated-image-facts
    call: ecr.describe_images
    params: {repositoryName: "{repository}", imageIds: [{imageTag: "{gated_tag}"}]}
    query: imageDetails[0].imageDigest
    expect: {matches: "sha256:[0-9a-f]{64}"}
""",
        encoding="utf-8",
    )
    run = run_cli(
        world,
        ["run", "--region", world.region, "--repository", "r", "--config", str(config)],
        tmp_path,
    )
    assert run.code == 2, run.output
    assert (
        "imageIds[0].imageTag reads the image {gated_tag} names when this check runs" in run.stderr
    )
    assert 'imageDigest: "{gated_digest}"' in run.stderr
    assert sum(world.calls.values()) == 0


# ---- issue 19: nothing forged, nothing hidden ------------------------------------------------

#: Zero findings, counted two ways, about the gated image: read from the deploying account,
#: which cannot see a central registry's Inspector findings, ListFindings answers [].
ZERO_FINDINGS = """
custom_checks:
  - id: no-critical-findings
    call: inspector2.list_findings
    params:
      filterCriteria: {ecrImageHash: [{comparison: EQUALS, value: "{gated_digest}"}]}
    expect: {jmespath: "length(findings[?severity=='CRITICAL']) == `0`"}
  - id: no-findings-counted
    call: inspector2.list_findings
    params:
      filterCriteria: {ecrImageHash: [{comparison: EQUALS, value: "{gated_digest}"}]}
    query: length(findings)
    expect: {equals: 0}
"""


def test_an_empty_answer_from_a_central_registry_without_its_role_is_not_passed(
    world: MotoWorld, tmp_path: Path
) -> None:
    from soc2gate.demo.scenarios import SCENARIOS

    scenario = SCENARIOS["central-registry-no-role"]
    scenario.prepare(world)
    config = tmp_path / "findings.yml"
    config.write_text(ZERO_FINDINGS, encoding="utf-8")
    run = run_cli(world, ["run", *scenario.gate_args(world), "--config", str(config)], tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    results = cases(run)
    assert results["ecr-scan-findings"][0] == "pass", results  # {gated_digest} resolved
    for check_id in ("no-critical-findings", "no-findings-counted"):
        outcome, message = results[check_id]
        assert outcome == "failure", (check_id, outcome, message)
        assert "found nothing in the ListFindings answer: it is empty" in message, message
    assert "PASS    no-critical-findings" not in run.stdout
    assert run.code != 0


#: A model whose environment holds a database password, in a URL and alone (short).
DB_URL = "postgres://orders:Tr0ub4dor-and-3@db.internal:5432/orders"
DB_PASS = "hunter2"
SECRET_ENV = {**ENV, "DATABASE_URL": DB_URL, "DB_PASS": DB_PASS}
CONTAINER_CHECKS = """
custom_checks:
  - id: container-star
    call: sagemaker.describe_model
    params: {ModelName: "{model}"}
    query: PrimaryContainer.*
    expect: not_empty
  - id: container-whole
    call: sagemaker.describe_model
    params: {ModelName: "{model}"}
    query: PrimaryContainer
    expect: {jmespath: "PrimaryContainer.Mode == 'SingleModel'"}
  - id: container-star-fails
    call: sagemaker.describe_model
    params: {ModelName: "{model}"}
    query: PrimaryContainer.*
    expect: {equals: "something else"}
"""


def test_model_environment_values_are_masked_in_every_report_whatever_the_query(
    world: MotoWorld, tmp_path: Path
) -> None:
    deploy(world, compliant=True, env=SECRET_ENV)
    config = tmp_path / "container.yml"
    config.write_text(CONTAINER_CHECKS, encoding="utf-8")
    summary = tmp_path / "summary.md"
    run = gate(world, tmp_path, config, "--summary", str(summary))
    assert run.code == 1, run.output
    results = cases(run)
    assert results["container-star"][0] == "pass"
    assert results["container-whole"][0] == "pass"
    assert results["container-star-fails"][0] == "failure"
    assert results["sagemaker-model-env"][0] == "pass"
    reports = {
        "console": run.stdout,
        "progress": run.stderr,
        "junit": run.junit.read_text(encoding="utf-8"),
        "summary": summary.read_text(encoding="utf-8"),
        "evidence": (tmp_path / "evidence.json").read_text(encoding="utf-8"),
    }
    for name, text in reports.items():
        assert DB_URL not in text and "Tr0ub4dor" not in text, name
        assert DB_PASS not in text, name
    # Masked where it was, not dropped: the keys and the required markers are still shown.
    assert '"DATABASE_URL":"[redacted]"' in run.stdout
    assert '"DB_PASS":"[redacted]"' in run.stdout
    assert '"SOC2_COMPLIANT":"true"' in run.stdout
    evaluations = evidence_of(tmp_path)["container-whole"]["evidence"]["evaluations"]
    assert evaluations[0]["value"]["Environment"]["DATABASE_URL"] == "[redacted]"
    assert evaluations[0]["value"]["Environment"]["SOC2_COMPLIANT"] == "true"
