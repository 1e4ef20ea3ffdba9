"""The real-shape fixtures are what the services' models say AWS sends, and the harness is honest.

Each fixture is checked against botocore's service model (every member it holds is modelled,
botocore's own parser reads it) and says what real answer it imitates. The harness must answer
every call the gate makes with a fixture, and fail loudly, naming the call, when it cannot.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.parsers
import botocore.session
import pytest

from realshape.wire import (
    GUIDE_BASIC,
    Answer,
    WireWorld,
    all_fixture_names,
    fixture,
    guide_config,
    run_gate_on,
)

_SESSION = botocore.session.get_session()


def _output_shape(operation: str) -> Any:
    service, name = operation.split(":")
    return _SESSION.get_service_model(service).operation_model(name).output_shape


def _unmodelled(value: Any, shape: Any, path: str) -> list[str]:
    """Members of ``value`` that ``shape`` does not define (typos, invented fields)."""
    out: list[str] = []
    if value is None:
        return out
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                out.append(f"{path}.{key}")
            else:
                out += _unmodelled(item, member, f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            out += _unmodelled(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            out += _unmodelled(item, shape.value, f"{path}{{{key}}}")
    return out


@pytest.mark.parametrize("name", all_fixture_names())
def test_fixture_is_a_modelled_wire_answer(name: str) -> None:
    doc = fixture(name)
    assert doc.get("imitates"), f"{name} must say which real answer it imitates"
    operation = doc["operation"]
    shape = _output_shape(operation)
    service = operation.split(":")[0]
    protocol = _SESSION.get_service_model(service).protocol
    if protocol == "smithy-rpc-v2-cbor":
        protocol = "json"  # CloudWatch: its model lists JSON among its protocols too
    bodies = doc.get("pages") or ([doc["response"]] if "response" in doc else [])
    if "error" in doc:
        assert doc["error"]["code"] and doc["error"]["message"]
        answer = Answer.from_doc(doc)
        body, headers = answer.render(protocol)
        parsed = botocore.parsers.create_parser(protocol).parse(
            {"status_code": answer.status, "headers": headers, "body": body}, shape
        )
        assert parsed["Error"]["Code"] == doc["error"]["code"].rsplit("#", 1)[-1]
        return
    assert bodies, f"{name} has no response"
    for body in bodies:
        assert not _unmodelled(body, shape, operation), _unmodelled(body, shape, operation)
        raw = json.dumps(body).encode()
        parsed = botocore.parsers.create_parser(protocol).parse(
            {"status_code": 200, "headers": {}, "body": raw}, shape
        )
        assert isinstance(parsed, dict)


def test_a_call_without_a_fixture_fails_the_test_naming_it() -> None:
    scenario = {op: spec for op, spec in GUIDE_BASIC.items() if op != "sagemaker:DescribeModel"}
    with pytest.raises(AssertionError, match=r"sagemaker:DescribeModel .*ModelName"):
        run_gate_on(WireWorld(scenario), guide_config())


def test_every_call_of_a_passing_run_is_answered_from_a_fixture() -> None:
    run = run_gate_on(WireWorld(GUIDE_BASIC), guide_config())
    assert run.exit_code == 0, run.table()
    assert {c.op for c in run.world.calls} >= {
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
    }
    # Both findings pages were read, through the nextToken of the first.
    pages = [c for c in run.world.calls if c.op == "ecr:DescribeImageScanFindings"]
    assert {bool(c.params.get("nextToken")) for c in pages} == {False, True}
