"""Issue 13, past one machine: `--target` runs part of a fleet, `list-targets` feeds a matrix."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from gate_e2e import SOC2GATE, run_cli
from junitparser import JUnitXml

from soc2gate.demo.scenarios import ENDPOINT, MODEL_NAME, REPOSITORY, SCENARIOS
from soc2gate.demo.world import MotoWorld


def fleet(world: MotoWorld, tmp_path: Path) -> Path:
    SCENARIOS["healthy"].prepare(world)
    world.create_endpoint_config("gpu-config", [(MODEL_NAME, "ml.g4dn.xlarge")])
    world.create_endpoint("gpu-endpoint", "gpu-config", status="InService")
    config = {
        "region": world.region,
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "poll_min": "0.05s",
        "poll_max": "0.2s",
        "timeout": "30s",
        "targets": [
            {"name": "dev", "endpoint": ENDPOINT, "repository": REPOSITORY},
            {
                "name": "gpu",
                "endpoint": "gpu-endpoint",
                "role_arn": "arn:aws:iam::210987654321:role/gate",
            },
            {"endpoint": ENDPOINT, "region": "eu-west-1"},  # unnamed: region/endpoint
        ],
    }
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def suites(junit: Path) -> set[str]:
    return {suite.name for suite in JUnitXml.fromfile(str(junit))}


def test_list_targets_prints_a_matrix(world: MotoWorld, tmp_path: Path) -> None:
    path = fleet(world, tmp_path)
    run = run_cli(world, ["list-targets", "--config", str(path)], tmp_path)
    assert run.code == 0, run.output
    names = json.loads(run.stdout)
    assert names == ["dev", "gpu", f"eu-west-1/{ENDPOINT}"]
    run = run_cli(world, ["list-targets", "--config", str(path), "--include"], tmp_path)
    assert json.loads(run.stdout)[1] == {
        "name": "gpu",
        "region": world.region,
        "account": "210987654321",
    }
    assert world.calls == {}  # listing calls nothing


def test_target_runs_only_the_named_targets(world: MotoWorld, tmp_path: Path) -> None:
    path = fleet(world, tmp_path)
    run = run_cli(world, ["run", "--config", str(path), "--target", "gpu"], tmp_path)
    assert run.code == 1, run.output  # gpu's instance type is not allowed
    assert suites(run.junit) == {"gpu"}
    run = run_cli(world, ["run", "--config", str(path), "--target", "dev"], tmp_path)
    assert run.code == 0, run.output
    assert suites(run.junit) == {"dev"}
    assert world.calls["AssumeRole"] == 1  # only the gpu run assumed its role


def test_the_action_input_selects_targets_too(world: MotoWorld, tmp_path: Path) -> None:
    path = fleet(world, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_", "INPUT_"))}
    env.update(world.env())
    env.update(
        {
            "INPUT_CONFIG": str(path),
            "INPUT_TARGET": "dev",
            "INPUT_JUNIT": str(tmp_path / "junit.xml"),
            "GITHUB_OUTPUT": str(tmp_path / "out"),
        }
    )
    proc = subprocess.run(
        [SOC2GATE, "action"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert suites(tmp_path / "junit.xml") == {"dev"}


def test_unknown_target_and_target_without_a_fleet_are_usage_errors(
    world: MotoWorld, tmp_path: Path
) -> None:
    path = fleet(world, tmp_path)
    run = run_cli(world, ["run", "--config", str(path), "--target", "gpv"], tmp_path)
    assert run.code == 2 and "no target is named 'gpv' (did you mean 'gpu'?)" in run.stderr
    run = run_cli(world, ["run", "--endpoint", ENDPOINT, "--target", "dev"], tmp_path)
    assert run.code == 2 and "--target needs a fleet" in run.stderr
    plain = tmp_path / "plain.yml"
    plain.write_text(yaml.safe_dump({"endpoint": ENDPOINT}))
    run = run_cli(world, ["list-targets", "--config", str(plain)], tmp_path)
    assert run.code == 2 and "has no targets" in run.stderr
    assert not world.calls
