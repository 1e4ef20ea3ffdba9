"""A central registry's permissions, proven: what ``iam-policy`` and ``iam-policy --registry``
print covers exactly the calls the gate makes, on each side of the account boundary.

The scenarios ``central-registry`` (a read role in the registry's account) and
``central-registry-no-role`` (a repository policy) run in-process through ``run_gate`` with the
client factory the CLI uses, against the MotoWorld server, with ``ecr-image-user`` on so every
ECR read is made. A botocore ``before-call`` handler records each call with the resource ARN
IAM evaluates and the identity that made it: the gate's own, or the registry role.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from security.iam_eval import allowed, as_list, printed_policy, resource_arns
from soc2gate.cli import _flag_values, build_parser, known_check_ids
from soc2gate.config import build_config
from soc2gate.demo.scenarios import (
    CENTRAL_REGISTRY_ACCOUNT,
    CENTRAL_REGISTRY_REGION,
    CENTRAL_REGISTRY_ROLE,
    REPOSITORY,
    SCENARIOS,
)
from soc2gate.demo.world import FAKE_CREDENTIAL, MotoWorld
from soc2gate.iam_policy import CALLER_ONLY
from soc2gate.runner import _clients_for, run_gate

EXTRA = ("--enable", "ecr-image-user")
CENTRAL_ARN = (
    f"arn:aws:ecr:{CENTRAL_REGISTRY_REGION}:{CENTRAL_REGISTRY_ACCOUNT}:repository/{REPOSITORY}"
)


@dataclass
class Run:
    exit_code: int
    #: (identity, iam action, resource): identity "gate" or "registry" (the registry role).
    calls: set[tuple[str, str, str]]
    gate_policy: dict[str, Any]
    registry_policy: dict[str, Any]


def _record(world: MotoWorld, args: list[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    parsed = build_parser().parse_args(["run", *args])
    config = build_config({}, _flag_values(parsed), known_check_ids())
    factory = _clients_for(config, "")
    hooked: set[int] = set()
    calls: set[tuple[str, str, str]] = set()

    def clients(service: str) -> Any:
        client = factory(service)
        if id(client) in hooked:
            return client
        hooked.add(id(client))
        prefix = client.meta.service_model.signing_name
        region = client.meta.region_name

        def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
            # Who signs this request: the world's own credentials are the gate's; anything
            # else came from AssumeRole, i.e. the registry role (moto: its account's).
            signer = client._request_signer._credentials.get_frozen_credentials()
            as_role = signer.access_key != FAKE_CREDENTIAL
            identity = "registry" if as_role else "gate"
            account = CENTRAL_REGISTRY_ACCOUNT if as_role else world.account_id
            body = json.loads(params.get("body") or b"{}")
            for resource in resource_arns(prefix, model.name, body, region, account):
                calls.add((identity, f"{prefix}:{model.name}", resource))

        client.meta.events.register("before-call", before_call)
        return client

    report = run_gate(config, clients=clients, progress=None, environ=dict(world.env()))
    return Run(
        int(report.exit_code),
        calls,
        _policy(world, args, ()),
        _policy(world, args, ("--registry",)),
    )


def _policy(world: MotoWorld, args: list[str], extra: tuple[str, ...]) -> dict[str, Any]:
    return printed_policy([*extra, *args], world.account_id, world.region)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Run]]:
    out = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("central-registry", "central-registry-enhanced", "central-registry-no-role"):
            scenario = SCENARIOS[name]
            with MotoWorld() as world:
                scenario.prepare(world)
                args = [*scenario.gate_args(world), *EXTRA]
                out[name] = _record(world, args, monkeypatch)
    yield out


def _granted(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in as_list(s["Action"])}


def test_the_runs_reach_their_verdicts(runs: dict[str, Run]) -> None:
    assert runs["central-registry"].exit_code == 0
    assert runs["central-registry-enhanced"].exit_code == 0
    assert runs["central-registry-no-role"].exit_code == 3


@pytest.mark.parametrize("name", ["central-registry", "central-registry-enhanced"])
def test_with_the_role_each_side_grants_exactly_its_calls(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    sides = {"gate": run.gate_policy, "registry": run.registry_policy}
    denied = sorted(c for c in run.calls if not allowed(sides[c[0]]["Statement"], c[1], c[2]))
    assert denied == [], denied
    registry_calls = {(a, r) for who, a, r in run.calls if who == "registry"}
    # Every registry read went through the role, to the central repository (or "*"); an
    # enhanced scan's Inspector coverage too.
    services = {"ecr", "inspector2"} if "enhanced" in name else {"ecr"}
    assert {a.split(":")[0] for a, _ in registry_calls} == services
    assert {r for _, r in registry_calls} <= {CENTRAL_ARN, "*"}
    assert not [c for c in run.calls if c[0] == "gate" and c[1].startswith("ecr:")]
    for who, policy in sides.items():
        called = {a for w, a, _ in run.calls if w == who}
        unused = _granted(policy) - called
        # The gate assumes the role through botocore's credential fetcher (not a gate client);
        # ListCoverage is for enhanced scans (central-registry scans BASIC); the shape reads
        # are for Model Registry and inference-component endpoints, the logs for a failed one.
        assert unused <= {
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
            "sts:AssumeRole",
            "inspector2:ListCoverage",
            "sagemaker:DescribeModelPackage",
            "sagemaker:ListInferenceComponents",
            "sagemaker:DescribeInferenceComponent",
        }, (who, unused)
    assert "sts:AssumeRole" in _granted(run.gate_policy)
    (assume,) = [
        s for s in run.gate_policy["Statement"] if "sts:AssumeRole" in as_list(s["Action"])
    ]
    assert assume["Resource"] == CENTRAL_REGISTRY_ROLE


def test_without_the_role_a_repository_policy_grants_the_reads(runs: dict[str, Run]) -> None:
    run = runs["central-registry-no-role"]
    assert {c[0] for c in run.calls} == {"gate"}
    denied = sorted(c for c in run.calls if not allowed(run.gate_policy["Statement"], c[1], c[2]))
    assert denied == [], denied
    cross = {a for _, a, r in run.calls if r == CENTRAL_ARN}
    # What reached the other account: each one the repository policy grants, and no more.
    (statement,) = run.registry_policy["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert set(as_list(statement["Action"])) == cross - CALLER_ONLY
    assert cross - CALLER_ONLY == {
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
