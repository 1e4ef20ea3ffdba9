"""``soc2gate iam-policy --config FILE`` is least privilege, proven against recorded calls.

Like test_least_privilege.py does for examples/iam-policy.json: scenarios run in-process through
``run_gate`` with the real client factory and the custom checks pack (examples/custom-checks.yml)
against the MotoWorld server, a botocore ``before-call`` handler records every operation with the
resource ARN IAM would evaluate, and the installed CLI prints the policy for the same flags.
Every recorded call must be allowed by that policy (action and resource), and across the runs
every action a policy grants must have been called.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from security.iam_eval import SOC2GATE, as_list, printed_policy, resource_arns
from security.iam_eval import allowed as iam_allowed
from soc2gate.aws import AwsClients
from soc2gate.cli import _flag_values, build_parser, known_check_ids
from soc2gate.config import build_config, load_yaml
from soc2gate.demo.scenarios import MODEL_PREFIX, SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.runner import run_gate

PACK = Path(__file__).resolve().parents[2] / "examples" / "custom-checks.yml"
RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "healthy": ("healthy", ()),
    "endpoint-failed": ("endpoint-failed", ()),
    "healthy+model-name-contains": ("healthy", ("--model-name-contains", MODEL_PREFIX)),
    "enhanced-clean": ("enhanced-clean", ()),  # inspector2:ListCoverage
    "root-user": ("root-user", ()),  # --enable ecr-image-user
}


def allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        # What the generator prints: Allow statements with an id, nothing else.
        assert statement["Effect"] == "Allow" and set(statement) == {
            "Sid",
            "Effect",
            "Action",
            "Resource",
        }
    return iam_allowed(policy["Statement"], action, resource)


def _record(
    world: MotoWorld, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> set[tuple[str, str]]:
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    parsed = build_parser().parse_args(["run", *args])
    config = build_config(load_yaml(str(PACK)), _flag_values(parsed), known_check_ids())
    factory = AwsClients(region=config.region)
    hooked: set[int] = set()
    calls: set[tuple[str, str]] = set()

    def clients(service: str) -> Any:
        client = factory(service)
        if id(client) not in hooked:
            hooked.add(id(client))
            prefix = client.meta.service_model.signing_name

            def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
                body = json.loads(params.get("body") or b"{}")
                for resource in resource_arns(
                    prefix, model.name, body, world.region, world.account_id
                ):
                    calls.add((f"{prefix}:{model.name}", resource))

            client.meta.events.register("before-call", before_call)
        return client

    run_gate(config, clients=clients, progress=None, environ=dict(world.env()))
    return calls


def _policy(world: MotoWorld, args: list[str]) -> dict[str, Any]:
    return printed_policy(["--config", str(PACK), *args], world.account_id, world.region)


@pytest.fixture(scope="module")
def recordings() -> Iterator[dict[str, tuple[set[tuple[str, str]], dict[str, Any]]]]:
    out = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for label, (name, extra) in RUNS.items():
            scenario = SCENARIOS[name]
            with MotoWorld() as world:
                scenario.prepare(world)
                args = [*scenario.gate_args(world), *extra]
                out[label] = (_record(world, args, monkeypatch), _policy(world, args))
    yield out


def test_every_recorded_call_is_allowed_by_the_generated_policy(
    recordings: dict[str, tuple[set[tuple[str, str]], dict[str, Any]]],
) -> None:
    denied = sorted(
        (label, action, resource)
        for label, (calls, policy) in recordings.items()
        for action, resource in calls
        if action != "sts:GetCallerIdentity"  # needs no permission
        and not allowed(policy, action, resource)
    )
    assert denied == [], "the generated policy would deny:\n" + "\n".join(map(str, denied))
    called = {action for calls, _ in recordings.values() for action, _ in calls}
    assert "sagemaker:ListTags" in called  # the pack's tag check ran


SHAPE_DEPENDENT = {
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
}


def test_the_generated_policy_grants_only_actions_the_gate_calls(
    recordings: dict[str, tuple[set[tuple[str, str]], dict[str, Any]]],
) -> None:
    called = {action for calls, _ in recordings.values() for action, _ in calls}
    granted = {
        action
        for _, policy in recordings.values()
        for statement in policy["Statement"]
        for action in as_list(statement["Action"])
    }
    # Granted for every endpoint because the config cannot tell the deployment's shape: these
    # are called only for Model Registry models and inference-component endpoints, which
    # tests/e2e/test_deployment_shapes_e2e.py runs (and test_least_privilege proves).
    unused = granted - called - SHAPE_DEPENDENT
    assert unused == set(), f"granted, never called: {sorted(unused)}"
    for action in granted:
        assert action.split(":", 1)[1].startswith(("Describe", "List", "Get", "BatchGet"))


def test_skipped_checks_grant_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            SOC2GATE,
            "iam-policy",
            "--config",
            str(PACK),
            "--region",
            "us-east-1",
            "--endpoint",
            "ep",
            "--only",
            "endpoint-required-tags",
            "--log-lines",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    granted = sorted(a for s in policy["Statement"] for a in as_list(s["Action"]))
    # The tag check, and the check its {endpoint_arn} comes from.
    assert set(granted) - SHAPE_DEPENDENT == {
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
        "sagemaker:ListTags",
    }
    resources = {a: s["Resource"] for s in policy["Statement"] for a in as_list(s["Action"])}
    assert resources["sagemaker:ListTags"] == "arn:aws:sagemaker:us-east-1:*:endpoint/ep"


def test_a_bad_config_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "custom_checks:\n  - id: x-y\n    call: sagemaker.delete_model\n"
        "    params: {ModelName: m}\n    query: a\n    expect: not_empty\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [SOC2GATE, "iam-policy", "--config", str(bad), "--endpoint", "ep"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "custom_checks[0] (x-y) call: sagemaker.delete_model (DeleteModel) is not read-only" in (
        proc.stderr
    )
