"""Redaction by value (issue 19, item 6): the model environment values a run read are masked in
every result, whatever printed them; trivial values and what the config states are not.

The rules are unit-tested on ``SecretValues``; the runs go through ``run_gate`` against the
MotoWorld server: a built-in check that prints a model's value, another fleet target's output,
the progress lines, and the required markers sagemaker-model-env names on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from unit_fakes import FakeClock

from soc2gate.config import GateConfig
from soc2gate.custom_spec import parse
from soc2gate.demo.world import MotoWorld, variant
from soc2gate.models import CheckResult, Finding, Severity, Status
from soc2gate.redaction import REDACTED, SecretValues, environment_values
from soc2gate.runner import run_gate

#: A database URL with its password (long: masked inside any text) and a short PIN.
DB_URL = "postgres://orders:Tr0ub4dor-and-3@db.internal:5432/orders"
PIN = "4921"
MARKERS = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}
ENV = {**MARKERS, "DATABASE_URL": DB_URL, "DB_PIN": PIN, "LOG_LEVEL": "20"}


def secrets(*answers: Any, public: tuple[str, ...] = ()) -> SecretValues:
    values = SecretValues(public=public)
    for answer in answers:
        values.add_answer(answer, MARKERS)
    return values


MODEL_ANSWER = {"ModelName": "m", "PrimaryContainer": {"Image": "img:1", "Environment": ENV}}


def test_environment_values_are_found_at_any_depth_and_markers_are_not() -> None:
    answer = {
        "InferenceSpecification": {"Containers": [{"Environment": {"A": "alpha-secret"}}]},
        "Function": {"environment": {"Variables": {"B": "beta-secret"}}},  # any case, nested
        "Tasks": [{"Environment": [{"name": "C", "value": "gamma-secret"}]}],
        "Tags": {"Environment": "prod"},  # a tag named Environment: its value counts too
        "Other": "not-a-secret",
    }
    found = environment_values(answer, MARKERS)
    assert {"alpha-secret", "beta-secret", "gamma-secret", "prod"} <= found
    assert "not-a-secret" not in found
    assert environment_values(MODEL_ANSWER, MARKERS) == {DB_URL, PIN, "20"}


def test_long_values_are_masked_inside_text_short_ones_only_as_a_whole_field() -> None:
    values = secrets(MODEL_ANSWER)
    assert values.text(f"could not connect to {DB_URL} (timeout)") == (
        f"could not connect to {REDACTED} (timeout)"
    )
    # A short value inside text is left: "20" or "4921" appear in counts and ids everywhere.
    assert values.text("4921 findings, LOG 20") == "4921 findings, LOG 20"
    assert values.text(PIN) == REDACTED
    assert values.value({"n": "20", "list": [PIN, "x"]}) == {"n": REDACTED, "list": [REDACTED, "x"]}


def test_json_and_repr_quotings_of_a_long_value_are_masked() -> None:
    tricky = 'pa"ss\\wörd-2024!'
    values = SecretValues()
    values.add([tricky])
    import json

    assert tricky not in values.text(json.dumps({"v": tricky}))
    assert json.dumps(tricky)[1:-1] not in values.text(json.dumps({"v": tricky}))
    assert repr(tricky)[1:-1] not in values.text(f"got {tricky!r}")


def test_markers_config_values_and_region_names_are_not_masked() -> None:
    answer = {
        "PrimaryContainer": {
            "Environment": {
                **MARKERS,
                "SAGEMAKER_REGION": "us-east-1",
                "ENDPOINT_NAME": "orders-endpoint",
            }
        }
    }
    values = secrets(answer, public=("orders-endpoint",))
    assert len(values) == 0
    text = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/orders-endpoint: true"
    assert values.text(text) == text


@pytest.mark.parametrize(
    "identifier",
    [
        "sha256:" + "3d" * 32,
        "arn:aws:sagemaker:us-east-1:123456789012:model/defender-dev",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/defender:soc2-latest",
        "public.ecr.aws/docker/library/python@sha256:" + "ab" * 32,
    ],
)
def test_identifiers_a_report_must_show_are_never_masked(identifier: str) -> None:
    """A deployer who puts the gated digest (or an ARN, an image) in an Environment value must
    not erase it from every report (review finding F4: imageDigest read [redacted])."""
    secrets = SecretValues()
    secrets.add_answer({"Environment": {"BUILD_REF": identifier, "DB_PASSWORD": "hunter2-long"}})
    text = f"judged {identifier}; password hunter2-long"
    assert secrets.text(text) == f"judged {identifier}; password {REDACTED}"


def test_a_marker_value_another_key_also_holds_is_masked() -> None:
    env = {**MARKERS, "SOC2_COMPLIANT": "shared-value-1", "API_KEY_ID": "shared-value-1"}
    values = secrets({"Environment": env})
    assert values.text("SOC2_COMPLIANT='shared-value-1'") == f"SOC2_COMPLIANT='{REDACTED}'"


def test_a_result_is_masked_everywhere_but_its_id_target_and_status() -> None:
    values = secrets(MODEL_ANSWER)
    part = CheckResult("c", Status.FAIL, f"part {DB_URL}", subject="m")
    result = CheckResult(
        check_id="c",
        status=Status.FAIL,
        reason=f"x {DB_URL}",
        title="t",
        details=(f"d {DB_URL}", PIN),
        evidence={"value": [DB_URL, {"k": PIN}], "n": 3},
        findings=(Finding(id="CVE-1", severity=Severity.HIGH, title=f"leak {DB_URL}"),),
        target="prod",
        calls=(("sagemaker:DescribeModel", f'{{"ModelName": "{DB_URL}"}}'),),
        transitions=((1.0, f"s {DB_URL}"),),
        parts=(part,),
    )
    masked = values.result(result)
    assert DB_URL not in repr(masked)
    assert PIN not in repr(masked.details) and PIN not in repr(masked.evidence)
    assert (masked.check_id, masked.target, masked.status) == ("c", "prod", Status.FAIL)
    assert masked.findings[0].severity is Severity.HIGH and masked.findings[0].id == "CVE-1"
    assert masked.evidence["n"] == 3
    assert masked.parts[0].reason == f"part {REDACTED}"
    assert masked.parts[0].status is Status.FAIL
    # Nothing read: nothing changes (the same object).
    assert SecretValues().result(result) is result


# ---- through run_gate against the MotoWorld server ------------------------------------------


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        yield w


def gate(world: MotoWorld, lines: list[str] | None = None, **values: Any) -> list[CheckResult]:
    clients: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in clients:
            clients[service] = world.client(service)
        return clients[service]

    clock = FakeClock()
    config = GateConfig(
        **{
            "region": world.region,
            "timeout": 60.0,
            "poll_min": 1.0,
            "poll_max": 1.0,
            "log_lines": 0,
            "endpoint_grace": 0.0,
            **values,
        }
    )
    report = run_gate(
        config,
        clients=factory,
        sleep=clock.sleep,
        clock=clock,
        progress=None if lines is None else lines.append,
        environ={},
    )
    return list(report.results)


def serve(world: MotoWorld, endpoint: str, model: str, env: dict[str, str]) -> str:
    world.create_model(model, env, image=f"img:{model}")
    world.create_endpoint_config(f"{endpoint}-cfg", [variant(model)])
    arn = world.create_endpoint(endpoint, f"{endpoint}-cfg", status="InService")
    world.set_endpoint(endpoint, config_name=f"{endpoint}-cfg")
    return arn


def test_a_failure_reason_quoting_the_model_environment_is_masked_in_results_and_progress(
    world: MotoWorld,
) -> None:
    """A container that crashes printing its connection string: SageMaker's FailureReason and
    the progress line quote it; the gate read the model for the log excerpt."""
    serve(world, "ep", "model-a", ENV)
    world.set_endpoint("ep", status="Creating")
    world.on_call(
        "DescribeEndpoint",
        2,
        lambda w: w.set_endpoint(
            "ep", status="Failed", failure_reason=f"container exited: cannot reach {DB_URL}"
        ),
    )
    lines: list[str] = []
    results = gate(world, lines, endpoint="ep", log_lines=5)
    status = next(r for r in results if r.check_id == "sagemaker-endpoint-status")
    assert status.status is Status.FAIL
    assert f"cannot reach {REDACTED}" in status.reason
    assert any("cannot reach [redacted]" in line for line in lines), lines
    assert not [line for line in lines if DB_URL in line]
    assert DB_URL not in repr(results)


def test_a_value_read_for_one_target_is_masked_in_another_targets_results(
    world: MotoWorld,
) -> None:
    serve(world, "ep-one", "model-one", ENV)
    arn = serve(world, "ep-two", "model-two", MARKERS)
    # The other target's endpoint carries the same connection string in a tag.
    world.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "db", "Value": DB_URL}])
    check = {
        "id": "endpoint-db-tag",
        "call": "sagemaker.list_tags",
        "params": {"ResourceArn": "{endpoint_arn}"},
        "query": "Tags[].Value",
        "expect": "not_empty",
    }
    results = gate(
        world,
        custom_checks=parse("custom_checks", [check]),
        targets=({"name": "one", "endpoint": "ep-one"}, {"name": "two", "endpoint": "ep-two"}),
    )
    by_name = {r.name: r for r in results}
    assert by_name["sagemaker-model-env [one]"].status is Status.PASS  # it read model-one
    tagged = by_name["endpoint-db-tag [two]"]
    assert tagged.status is Status.PASS
    assert f'Tags[].Value = ["{REDACTED}"]' in tagged.reason
    assert DB_URL not in repr(results)


def test_required_markers_stay_shown_by_sagemaker_model_env(world: MotoWorld) -> None:
    """sagemaker-model-env names a required marker's wrong value on purpose (not a secret); the
    other keys' values are still never shown."""
    serve(world, "ep", "model-a", {**ENV, "SECURITY_HARDENED": "not-hardened-yet"})
    results = gate(world, endpoint="ep")
    env = next(r for r in results if r.check_id == "sagemaker-model-env")
    assert env.status is Status.FAIL
    assert "SECURITY_HARDENED='not-hardened-yet', expected 'true'" in env.reason
    assert DB_URL not in repr(results)


def test_custom_check_quotes_the_environment_masked_whatever_the_query(world: MotoWorld) -> None:
    serve(world, "ep", "model-a", ENV)
    checks = [
        {
            "id": "container-star",
            "call": "sagemaker.describe_model",
            "params": {"ModelName": "{model}"},
            "query": "PrimaryContainer.*",
            "expect": {"equals": "nothing like it"},
        },
        {
            "id": "container-env",
            "call": "sagemaker.describe_model",
            "params": {"ModelName": "{model}"},
            "query": "PrimaryContainer.Environment",
            "expect": "not_empty",
        },
        {
            "id": "container-pin",
            "call": "sagemaker.describe_model",
            "params": {"ModelName": "{model}"},
            "query": "PrimaryContainer.Environment.DB_PIN",
            "expect": {"equals": "1234"},
        },
    ]
    results = {r.check_id: r for r in gate(world, endpoint="ep", custom_checks=parse("c", checks))}
    assert results["container-star"].status is Status.FAIL
    assert results["container-env"].status is Status.PASS
    pin = results["container-pin"]
    assert pin.status is Status.FAIL  # judged on the real value, shown masked
    assert f'PrimaryContainer.Environment.DB_PIN = "{REDACTED}", expected "1234"' in pin.reason
    for check_id in ("container-star", "container-env", "container-pin"):
        shown = repr(replace(results[check_id], calls=()))
        assert DB_URL not in shown and PIN not in shown, shown
    # The keys, and the required markers' values, are shown.
    assert '"DATABASE_URL":"[redacted]"' in results["container-env"].reason
    assert '"SOC2_COMPLIANT":"true"' in results["container-env"].reason
