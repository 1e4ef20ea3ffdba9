"""The central registry's read role (--registry-role-arn): faults on its AssumeRole.

STS speaks the query protocol (XML errors), unlike the JSON services the gate reads. A bare
429 or an HTML 503 from something in front of STS is not an AWS error document: botocore's XML
parser would raise ResponseParserError, which nothing retries and which read as "a bug in
soc2gate". The gate reads such an answer as the HTTP error it is, so a transient one is ridden
out and a persistent one is an ERROR naming the call. Runs the installed CLI through the fault
proxy against the moto server, scenario ``central-registry``.
"""

from __future__ import annotations

from pathlib import Path

from faults.harness import run_cli
from faults.proxy import FaultProxy, query_error
from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

SCENARIO = SCENARIOS["central-registry"]


def _run(tmp_path: Path, arrange: dict[int, object] | None = None, always: object = None):
    with MotoWorld() as world:
        SCENARIO.prepare(world)
        with FaultProxy(world.endpoint_url) as proxy:
            for n, action in (arrange or {}).items():
                proxy.fail_nth("AssumeRole", n, action)
            if always is not None:
                proxy.always("AssumeRole", always)
            run = run_cli(
                ["run", *SCENARIO.gate_args(world)], tmp_path, endpoint_url=proxy.url, timeout=90
            )
            injected = {k: v for k, v in proxy.injected_ops.items() if k[0] == "AssumeRole"}
    return run, injected


def test_transient_assume_role_answers_are_ridden_out(tmp_path: Path) -> None:
    run, injected = _run(tmp_path, {1: "429", 2: "throttle", 3: "503", 4: "500"})
    assert sum(injected.values()) == 4, injected
    assert run.code == 0, run.output
    assert SCENARIO.expected_text in run.stdout
    assert "internal error" not in run.output


def test_a_role_the_gate_cannot_assume_is_an_error(tmp_path: Path) -> None:
    denied = query_error(
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole "
        "on resource: arn:aws:iam::111122223333:role/soc2gate-registry-read",
        403,
    )
    run, injected = _run(tmp_path, always=denied)
    assert injected, "AssumeRole was never called"
    # The ECR checks cannot read the registry (ERROR); the SageMaker ones pass on their own.
    assert run.code == 3, run.output
    assert "AccessDenied calling sts:AssumeRole" in run.stdout, run.stdout
    assert "internal error" not in run.output
