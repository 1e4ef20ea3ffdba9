"""Issue 19, item 14: a check that fans out over {model} is counted the same way by every
report: the console table and verdict line, the JUnit file, the step summary and the
``failed-checks`` output (through the CLI against a moto server)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from faults.harness import parse_github_output
from gate_e2e import run_cli, validate_junit
from junitparser import Failure, JUnitXml

from soc2gate.demo.world import MotoWorld

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/models:1"
MODELS = ("model-alpha", "model-beta", "model-gamma")
ENDPOINT = "three-model-endpoint"


def _deploy(world: MotoWorld) -> None:
    """An InService endpoint whose config's three variants serve three models."""
    for model in MODELS:
        world.create_model(
            model, {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}, image=IMAGE
        )
    world.create_endpoint_config("three-models", [(model, "ml.c5.large") for model in MODELS])
    world.create_endpoint(ENDPOINT, "three-models", status="InService")
    world.set_endpoint(ENDPOINT, config_name="three-models")


def test_a_fan_out_check_counts_the_same_in_every_report(world: MotoWorld, tmp_path: Path) -> None:
    """Before: the console said 1 check failed where the JUnit file had 2 failing testcases."""
    _deploy(world)
    config = {
        "custom_checks": [
            {
                "id": "model-is-alpha",
                "title": "Only model-alpha may serve",
                "call": "sagemaker.describe_model",
                "params": {"ModelName": "{model}"},
                "query": "ModelName",
                "expect": {"equals": "model-alpha"},
                "soc2": ["CC8.1"],
                "remediation": "Serve model-alpha.",
            }
        ]
    }
    path = tmp_path / "soc2gate.yml"
    path.write_text(yaml.safe_dump(config))
    outputs, summary = tmp_path / "outputs.txt", tmp_path / "summary.md"
    args = [
        "run",
        "--region", world.region,
        "--endpoint", ENDPOINT,
        "--instance-type", "ml.c5.large",
        "--config", str(path),
        "--poll-min", "0.05s",
        "--poll-max", "0.1s",
    ]  # fmt: skip
    run = run_cli(
        world,
        args,
        tmp_path,
        extra_env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
    )
    assert run.code == 1, run.output
    validate_junit(run.junit)

    (suite,) = list(JUnitXml.fromfile(str(run.junit)))
    failing = sorted(c.name for c in suite if c.result and isinstance(c.result[0], Failure))
    assert failing == ["model-is-alpha [model-beta]", "model-is-alpha [model-gamma]"]
    passing = [c.name for c in suite if not c.result]

    verdict = run.stdout.rsplit("soc2gate FAILED (exit 1): ", 1)[1].split("\n", 1)[0]
    counted = dict(
        (w, int(n)) for n, w in re.findall(r"(\d+) (passed|failed|errors|skipped)", verdict)
    )
    assert counted["failed"] == len(failing) == suite.failures
    assert counted["passed"] == len(passing)
    assert (
        counted["passed"] + counted["failed"] + counted["errors"] + counted["skipped"]
        == suite.tests
    )
    for name in failing:
        assert f"FAIL    {name}" in run.stdout

    listed = parse_github_output(outputs.read_text())["failed-checks"].split(",")
    assert sorted(listed) == failing
    text = summary.read_text()
    assert f"{len(passing)} passed, {len(failing)} failed" in text
    for name in failing:
        assert re.sub(r"-", "\u2011", name.split(" ")[0]) in text
