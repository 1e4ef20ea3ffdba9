"""Issue 10 against the simulated account: MotoWorld endpoints update, roll back and settle like
SageMaker, and the gate (run in-process, over HTTP) judges the config that ends up serving.

State changes are driven by DescribeEndpoint call counts (``on_call``), never by time; the gate
gets a fake clock, so nothing sleeps for real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.validate
import pytest
from unit_fakes import FakeClock

from soc2gate.config import GateConfig
from soc2gate.demo.world import MotoWorld, variant
from soc2gate.models import CheckResult, Status
from soc2gate.runner import run_gate

EP = "ep-update"
GOOD = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}
ROLLBACK = " The primary container for production variant AllTraffic did not pass the ping check."
CHECKS = ("sagemaker-endpoint-status", "sagemaker-endpoint-config", "sagemaker-model-env")


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        w.create_model("model-a", GOOD, image="img:a")
        w.create_model("model-b", {"SOC2_COMPLIANT": "true"}, image="img:b")  # marker missing
        w.create_endpoint_config("cfg-a", [variant("model-a", "ml.c5.large", count=2)])
        w.create_endpoint_config("cfg-b", [variant("model-b", "ml.g4dn.xlarge")])
        w.create_endpoint_config(
            "cfg-serverless",
            [variant("model-a", serverless={"MemorySizeInMB": 2048, "MaxConcurrency": 5})],
        )
        w.create_endpoint(EP, "cfg-a", status="InService")
        yield w


def describe(world: MotoWorld) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parsed, raw JSON) of DescribeEndpoint; the raw body must match the service model."""
    client = world.client("sagemaker", counted=False)
    raw: list[dict[str, Any]] = []
    client.meta.events.register(
        "after-call.sagemaker.DescribeEndpoint",
        lambda http_response, **_: raw.append(json.loads(http_response.content)),
    )
    parsed = client.describe_endpoint(EndpointName=EP)
    shape = client.meta.service_model.operation_model("DescribeEndpoint").output_shape
    report = botocore.validate.ParamValidator().validate(raw[0], shape)
    assert not report.has_errors(), report.generate_report()
    return parsed, raw[0]


def gate(
    world: MotoWorld, clock: FakeClock, only: tuple[str, ...] = CHECKS
) -> dict[str, CheckResult]:
    clients: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in clients:
            clients[service] = world.client(service)
        return clients[service]

    config = GateConfig(
        region=world.region,
        endpoint=EP,
        timeout=120.0,
        poll_min=1.0,
        poll_max=1.0,
        log_lines=0,
        only=only,
    )
    report = run_gate(
        config, clients=factory, sleep=clock.sleep, clock=clock, progress=None, environ={}
    )
    return {r.check_id: r for r in report.results}


# ---- the world ----------------------------------------------------------------------------


def test_in_service_variants_are_settled_like_sagemaker_reports_them(world: MotoWorld) -> None:
    parsed, _ = describe(world)
    (pv,) = parsed["ProductionVariants"]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (2, 2)
    assert "VariantStatus" not in pv and "PendingDeploymentSummary" not in parsed
    world.set_endpoint(EP, config_name="cfg-serverless")
    (pv,) = describe(world)[0]["ProductionVariants"]
    assert pv["CurrentServerlessConfig"] == pv["DesiredServerlessConfig"]


def test_update_then_finish_moves_the_config_through_pending(world: MotoWorld) -> None:
    world.update_endpoint(EP, "cfg-b")
    parsed, raw = describe(world)
    assert (parsed["EndpointStatus"], parsed["EndpointConfigName"]) == ("Updating", "cfg-a")
    pending = parsed["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "cfg-b"
    assert pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    assert "StartTime" in raw["PendingDeploymentSummary"]
    world.finish_update(EP)
    parsed, _ = describe(world)
    assert (parsed["EndpointStatus"], parsed["EndpointConfigName"]) == ("InService", "cfg-b")
    assert "PendingDeploymentSummary" not in parsed and "FailureReason" not in parsed


def test_roll_back_keeps_the_old_config_and_sets_a_failure_reason(world: MotoWorld) -> None:
    world.update_endpoint(EP, "cfg-b")
    world.roll_back_update(EP, ROLLBACK)
    parsed, _ = describe(world)
    assert (parsed["EndpointStatus"], parsed["EndpointConfigName"]) == ("InService", "cfg-a")
    assert parsed["FailureReason"] == ROLLBACK
    assert "PendingDeploymentSummary" not in parsed
    with pytest.raises(ValueError, match="no update in progress"):
        world.finish_update(EP)


def test_variants_can_be_unsettled_and_settled_again(world: MotoWorld) -> None:
    world.set_variant(EP, current_instances=1, statuses=["Baking"])
    (pv,) = describe(world)[0]["ProductionVariants"]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (1, 2)
    assert [s["Status"] for s in pv["VariantStatus"]] == ["Baking"]
    world.set_variant(EP, current_instances=2, statuses=[])
    (pv,) = describe(world)[0]["ProductionVariants"]
    assert pv["CurrentInstanceCount"] == 2 and "VariantStatus" not in pv


# ---- the gate over HTTP ---------------------------------------------------------------------


def test_update_to_a_bad_config_is_judged_once_in_service(
    world: MotoWorld, clock: FakeClock
) -> None:
    world.update_endpoint(EP, "cfg-b")
    world.on_call("DescribeEndpoint", 3, lambda w: w.finish_update(EP))
    results = gate(world, clock)
    assert results["sagemaker-endpoint-status"].status is Status.PASS
    config = results["sagemaker-endpoint-config"]
    assert config.status is Status.FAIL and "cfg-b/AllTraffic uses ml.g4dn.xlarge" in config.reason
    env = results["sagemaker-model-env"]
    assert env.status is Status.FAIL and "model-b PrimaryContainer: SECURITY_HARDENED" in env.reason
    assert world.calls["DescribeEndpoint"] == 3  # one poller; the dependents reuse its answer


def test_rolled_back_update_never_passes(world: MotoWorld, clock: FakeClock) -> None:
    world.update_endpoint(EP, "cfg-b")
    world.on_call("DescribeEndpoint", 2, lambda w: w.roll_back_update(EP, ROLLBACK))
    results = gate(world, clock)
    status = results["sagemaker-endpoint-status"]
    assert status.status is Status.FAIL
    assert "rolled back and still serves cfg-a" in status.reason
    assert f"FailureReason: {ROLLBACK.strip()}" in status.reason
    for check_id in CHECKS[1:]:
        result = results[check_id]
        assert result.status is Status.ERROR, (check_id, result.reason)
        assert "see sagemaker-endpoint-status" in result.reason


@pytest.mark.parametrize("skip_status", [False, True], ids=["with-status-check", "alone"])
def test_variants_settling_are_waited_for(
    world: MotoWorld, clock: FakeClock, skip_status: bool
) -> None:
    world.set_variant(EP, current_instances=0)
    world.on_call("DescribeEndpoint", 2, lambda w: w.set_variant(EP, current_instances=2))
    world.on_call("DescribeEndpoint", 2, lambda w: w.set_variant(EP, statuses=["Baking"]))
    world.on_call("DescribeEndpoint", 3, lambda w: w.set_variant(EP, statuses=[]))
    only = ("sagemaker-endpoint-config",) if skip_status else CHECKS
    results = gate(world, clock, only)
    assert results["sagemaker-endpoint-config"].status is Status.PASS
    if not skip_status:
        assert results["sagemaker-endpoint-status"].status is Status.PASS
    assert world.calls["DescribeEndpoint"] == 3
    assert len(clock.sleeps) >= 2
