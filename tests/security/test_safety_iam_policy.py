"""``soc2gate iam-policy`` for the deployment safety checks (issue 21): the reads they add are
granted exactly when the checks (and their options) are on, and cover every call they make.

The strict scenario runs in-process with every call recorded (as in test_least_privilege.py);
the policy generated for the very same configuration must allow each recorded call, and grant
each of the safety reads only because a call needed it.
"""

from __future__ import annotations

from typing import Any

import pytest

from security.iam_eval import allowed, as_list
from security.test_least_privilege import _record
from soc2gate.cli import _flag_values, build_parser
from soc2gate.config import build_config
from soc2gate.demo.scenarios import GUIDE_ACCOUNT_ID, SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.iam_policy import policy

SAFETY_READS = {
    "cloudwatch:DescribeAlarms",
    "application-autoscaling:DescribeScalableTargets",
    "kms:DescribeKey",
    "sagemaker:DescribeModelCard",
}


def _policy(args: list[str]) -> dict[str, Any]:
    config = build_config({}, _flag_values(build_parser().parse_args(["run", *args])))
    return policy(config, account=GUIDE_ACCOUNT_ID)


def _actions(document: dict[str, Any]) -> set[str]:
    return {a for s in document["Statement"] for a in as_list(s["Action"])}


def test_the_strict_run_is_allowed_by_its_own_policy_which_grants_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = SCENARIOS["strict"]
    with MotoWorld() as world:
        scenario.prepare(world)
        args = scenario.gate_args(world)
        recording = _record(world, args, monkeypatch)
    assert recording.exit_code == 0
    document = _policy(args)
    denied = [c for c in recording.calls if not allowed(document["Statement"], *c)]
    assert denied == []
    called = {action for action, _ in recording.calls}
    assert called >= SAFETY_READS
    assert (_actions(document) & SAFETY_READS) - called == set()


def test_the_safety_reads_are_granted_only_when_their_checks_and_options_are_on() -> None:
    args = ["--region", "us-east-1", "--endpoint", "e"]
    assert _actions(_policy(args)) & SAFETY_READS == set()
    strict = _actions(_policy([*args, "--preset", "strict"]))
    # The guardrails read the alarms; the other reads need their option.
    assert strict & SAFETY_READS == {"cloudwatch:DescribeAlarms"}
    full = _actions(
        _policy(
            [*args, "--preset", "strict", "--allowed-kms-key", "alias/k",
             "--require-autoscaling", "--model-card", "card"]
        )
    )  # fmt: skip
    assert full & SAFETY_READS == SAFETY_READS
    skipped = _actions(
        _policy(
            [*args, "--preset", "strict", "--allowed-kms-key", "alias/k",
             "--skip", "sagemaker-endpoint-encryption", "--skip", "sagemaker-data-capture",
             "--skip", "sagemaker-deployment-guardrails"]
        )
    )  # fmt: skip
    assert skipped & SAFETY_READS == set()
    one = _actions(_policy([*args, "--enable", "sagemaker-model-card", "--model-card", "card"]))
    assert one & SAFETY_READS == {"sagemaker:DescribeModelCard"}
