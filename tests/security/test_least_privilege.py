"""Least privilege, proven: examples/iam-policy.json grants exactly what the gate calls.

Every end-to-end scenario (soc2gate/demo/scenarios.py, with its call-count triggers and its own
flags) runs in-process through ``run_gate`` with the real client factory (``AwsClients``), whose
clients get a botocore ``before-call`` handler that records each operation and its parameters.
The MotoWorld server's own per-operation counter is the cross-check.

Then: each recorded call is allowed by the policy, action *and* resource (ARNs built with the
policy's account and region, SageMaker names lower-cased as SageMaker does, IAM wildcards), and
each action the policy grants is called in some scenario.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from soc2gate.aws import OPERATION_SERVICE, AwsClients
from soc2gate.cli import _flag_values, build_parser
from soc2gate.config import build_config
from soc2gate.demo.scenarios import GUIDE_ACCOUNT_ID, MODEL_PREFIX, REGION, SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.runner import run_gate

POLICY = Path(__file__).resolve().parents[2] / "examples" / "iam-policy.json"

#: Configurations beyond the scenarios' own flags that reach an operation no scenario reaches:
#: --model-name-contains is the only path to sagemaker:ListModels.
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "healthy+model-name-contains": ("healthy", ("--model-name-contains", MODEL_PREFIX)),
}

#: Granted actions of checks that are still being written: allowed to be absent from the
#: recording, and the test fails as soon as one is exercised, so the entry gets pruned.
#: (Pruned so far: logs:DescribeLogStreams and logs:GetLogEvents, exercised since
#: sagemaker-endpoint-status attaches log lines in endpoint-failed; ecr:BatchGetImage and
#: ecr:GetDownloadUrlForLayer, exercised since the root-user scenario enables ecr-image-user.)
NOT_YET_EXERCISED: dict[str, str] = {}


@dataclass
class Recording:
    #: (iam action, resource ARN) of every call the gate made.
    calls: set[tuple[str, str]] = field(default_factory=set)
    #: Operation names the MotoWorld server answered, by service.
    server: set[tuple[str, str]] = field(default_factory=set)
    #: Operation names botocore recorded, by service.
    client: set[tuple[str, str]] = field(default_factory=set)
    exit_code: int = -1


def _arn(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The resource ARN(s) IAM evaluates for this call, in the policy's account and region."""
    prefix = f"arn:aws:{service}:{REGION}:{GUIDE_ACCOUNT_ID}"
    if service == "ecr":
        names = params.get("repositoryNames") or (
            [params["repositoryName"]] if "repositoryName" in params else []
        )
        return [f"{prefix}:repository/{name}" for name in names] or ["*"]
    if service == "sagemaker":
        for key, kind in (
            ("EndpointName", "endpoint"),
            ("EndpointConfigName", "endpoint-config"),
            ("ModelName", "model"),
        ):
            if key in params:
                # SageMaker ARNs carry the name lower-cased.
                return [f"{prefix}:{kind}/{str(params[key]).lower()}"]
        return ["*"]
    if service == "logs":
        group = f"{prefix}:log-group:{params['logGroupName']}"
        if "logStreamName" in params:
            return [f"{group}:log-stream:{params['logStreamName']}"]
        return [group]
    return ["*"]


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements() -> list[dict[str, Any]]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    return list(policy["Statement"])


def granted_actions() -> set[str]:
    return {a for s in statements() if s["Effect"] == "Allow" for a in _as_list(s["Action"])}


def allowed(action: str, resource: str) -> bool:
    """IAM's decision for one action on one resource under the example policy."""
    verdict = False
    for statement in statements():
        if "NotAction" in statement or "NotResource" in statement or "Condition" in statement:
            raise AssertionError(f"extend this evaluator for {statement}")
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        if not any(_wildcard(a, ignore_case=True).match(action) for a in actions):
            continue
        if resource != "*" and not any(_wildcard(r).match(resource) for r in resources):
            continue
        if resource == "*" and "*" not in resources:
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def _record(world: MotoWorld, args: list[str], monkeypatch: pytest.MonkeyPatch) -> Recording:
    recording = Recording()
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    config = build_config({}, _flag_values(build_parser().parse_args(["run", *args])))
    factory = AwsClients(region=config.region)
    hooked: set[int] = set()

    def clients(service: str) -> Any:
        client = factory(service)
        if id(client) not in hooked:
            hooked.add(id(client))
            prefix = client.meta.service_model.signing_name

            def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
                # ``params`` is the serialized request: for these JSON-protocol services its
                # body is the API parameters exactly as AWS receives them.
                body = json.loads(params.get("body") or b"{}")
                recording.client.add((prefix, model.name))
                for resource in _arn(prefix, model.name, body):
                    recording.calls.add((f"{prefix}:{model.name}", resource))

            client.meta.events.register("before-call", before_call)
        return client

    report = run_gate(config, clients=clients, progress=None, environ=dict(world.env()))
    recording.exit_code = int(report.exit_code)
    recording.server = set(world.calls_by_service)
    return recording


RUNS = {name: (name, ()) for name in SCENARIOS} | VARIANTS


@pytest.fixture(scope="module")
def recordings() -> Iterator[dict[str, Recording]]:
    out: dict[str, Recording] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for label, (name, extra) in RUNS.items():
            scenario = SCENARIOS[name]
            with MotoWorld() as world:
                scenario.prepare(world)
                out[label] = _record(world, [*scenario.gate_args(world), *extra], monkeypatch)
    yield out


def test_every_scenario_reached_its_verdict(recordings: dict[str, Recording]) -> None:
    for label, (name, _extra) in RUNS.items():
        assert recordings[label].exit_code == SCENARIOS[name].expected_exit, label


def test_botocore_and_the_server_saw_the_same_operations(recordings: dict[str, Recording]) -> None:
    for label, recording in recordings.items():
        assert recording.client, f"{label}: nothing recorded"
        assert recording.client == recording.server, label


def test_every_call_is_allowed_by_the_policy(recordings: dict[str, Recording]) -> None:
    denied = sorted(
        (label, action, resource)
        for label, recording in recordings.items()
        for action, resource in recording.calls
        if not allowed(action, resource)
    )
    assert denied == [], "examples/iam-policy.json would deny:\n" + "\n".join(map(str, denied))
    called = {action for r in recordings.values() for action, _ in r.calls}
    unknown = {a for a in called if a.split(":", 1)[1] not in OPERATION_SERVICE}
    assert unknown == set(), f"add to aws.OPERATION_SERVICE: {unknown}"


def test_the_policy_grants_nothing_the_gate_never_calls(recordings: dict[str, Recording]) -> None:
    called = {action for r in recordings.values() for action, _ in r.calls}
    unused = {
        granted
        for granted in granted_actions()
        if not any(_wildcard(granted, ignore_case=True).match(a) for a in called)
    }
    assert unused - set(NOT_YET_EXERCISED) == set(), (
        f"granted but never called in any scenario: {sorted(unused)}"
    )
    exercised = set(NOT_YET_EXERCISED) - unused
    assert exercised == set(), f"now exercised, prune NOT_YET_EXERCISED: {sorted(exercised)}"


def test_the_policy_is_read_only() -> None:
    for action in granted_actions():
        verb = action.split(":", 1)[1]
        assert verb.startswith(("Describe", "Get", "List", "BatchGet")), action
        assert "*" not in verb, f"{action}: name actions, no wildcards"


def test_the_evaluator_denies_what_the_policy_does_not_grant() -> None:
    """The checks above are only as good as ``allowed``: it must say no."""
    repo = f"arn:aws:ecr:{REGION}:{GUIDE_ACCOUNT_ID}:repository/defender-image-analyzer-soc2"
    assert allowed("ecr:DescribeImages", repo)
    assert not allowed("ecr:PutImage", repo)
    assert not allowed("ecr:DescribeImages", repo.replace("soc2", "other"))
    assert not allowed("sagemaker:DescribeEndpoint", "*")
    assert not allowed(
        "sagemaker:DescribeEndpoint",
        f"arn:aws:sagemaker:{REGION}:{GUIDE_ACCOUNT_ID}:endpoint/defenderImageAnalyzerSOC2HardenedDev",
    ), "SageMaker ARNs are lower case; a mixed-case ARN must not match"
