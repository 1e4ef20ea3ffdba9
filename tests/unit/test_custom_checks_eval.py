"""Custom checks (issue 14): the verdict table (``evaluate``, pure) and runs through run_gate
against the MotoWorld server (pagination followed, placeholders, fan-out, waiting)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from unit_fakes import FakeClock, StubbedAws

from soc2gate.checks.custom import evaluate, plain
from soc2gate.config import GateConfig
from soc2gate.custom_spec import parse
from soc2gate.demo.world import MotoWorld, variant
from soc2gate.models import CheckResult, Status
from soc2gate.runner import run_gate

ANSWER = {
    "EndpointStatus": "InService",
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
    "Count": 2,
    "Flag": True,
    "Zero": 0,
    "Empty": "",
    "Types": ["ml.c5.large", "ml.c5.xlarge"],
    "NoItems": [],
    "Nested": {"Environment": {"DB_PASSWORD": "hunter2"}, "Other": "x"},
}


def spec(query: str | None, expect: Any, **extra: Any) -> Any:
    raw = {
        "id": "my-check",
        "call": "sagemaker.describe_endpoint",
        "params": {"EndpointName": "{endpoint}"},
        "expect": expect,
        **extra,
    }
    if query is not None:
        raw["query"] = query
    # evaluate() over made-up answers: their field names are not the operation's (the names
    # are checked at load, tests/unit/test_custom_fields.py).
    (parsed,) = parse("custom_checks", [raw], answer_fields=False)
    return parsed


TABLE = [
    # (query, expect, status, substring of the reason)
    ("KmsKeyId", "not_empty", Status.PASS, 'KmsKeyId = "arn:aws:kms'),
    ("Empty", "not_empty", Status.FAIL, 'Empty = "", expected not_empty'),
    ("Missing", "not_empty", Status.FAIL, "query 'Missing' found nothing"),
    ("NoItems", "not_empty", Status.FAIL, "found nothing"),
    ("Zero", "not_empty", Status.PASS, "Zero = 0"),
    ("[Empty, NoItems]", "not_empty", Status.FAIL, "expected not_empty"),  # ["", []]
    ("{a: Empty}", "not_empty", Status.FAIL, "expected not_empty"),
    ("[Empty, Zero]", "not_empty", Status.PASS, "expected not_empty"),
    ("EndpointStatus", {"equals": "InService"}, Status.PASS, 'expected "InService"'),
    ("EndpointStatus", {"equals": "Creating"}, Status.FAIL, 'EndpointStatus = "InService"'),
    ("Flag", {"equals": True}, Status.PASS, "Flag = true"),
    ("Count", {"equals": True}, Status.FAIL, "Count = 2"),  # 2 is not true
    ("Flag", {"equals": 1}, Status.FAIL, "Flag = true"),  # true is not 1
    ("Count", {"equals": "2"}, Status.FAIL, "Count = 2"),  # "2" is not 2
    ("Count", {"equals": 2.0}, Status.PASS, "Count = 2"),
    ("Missing", {"equals": "x"}, Status.FAIL, "found nothing"),
    ("EndpointStatus", {"in": ["InService", "Updating"]}, Status.PASS, "one of"),
    ("EndpointStatus", {"in": ["Failed"]}, Status.FAIL, 'one of ["Failed"]'),
    ("Types", {"all_in": ["ml.c5.large", "ml.c5.xlarge"]}, Status.PASS, "every one in"),
    ("Types", {"all_in": ["ml.c5.large"]}, Status.FAIL, '["ml.c5.xlarge"] not in'),
    ("NoItems", {"all_in": ["ml.c5.large"]}, Status.FAIL, "found nothing"),
    ("Missing", {"all_in": ["ml.c5.large"]}, Status.FAIL, "found nothing"),
    ("KmsKeyId", {"matches": "arn:aws:kms:.*"}, Status.PASS, "to match"),
    ("KmsKeyId", {"matches": "kms"}, Status.FAIL, "to match"),  # the whole value
    ("Count", {"matches": "2"}, Status.FAIL, "is not text"),
    ("Count", {"at_least": 2}, Status.PASS, "at_least 2"),
    ("Count", {"at_least": 3}, Status.FAIL, "at_least 3"),
    ("Count", {"at_most": 1}, Status.FAIL, "at_most 1"),
    ("Flag", {"at_least": 0}, Status.FAIL, "is not a number"),
    ("EndpointStatus", {"at_least": 0}, Status.FAIL, "is not a number"),
    (None, {"jmespath": "Count > `1` && Flag"}, Status.PASS, "is true"),
    (None, {"jmespath": "Count > `5`"}, Status.FAIL, "is false"),
    ("Count", {"jmespath": "Count > `5`"}, Status.FAIL, "is false; Count = 2"),
    (None, {"jmespath": "Missing == 'x'"}, Status.FAIL, "is false"),
    (None, {"jmespath": "KmsKeyId"}, Status.ERROR, "not true or false"),
    (None, {"jmespath": "contains(Missing, 'x')"}, Status.ERROR, "could not be evaluated"),
    # A query that finds nothing is a FAIL with a jmespath expect too (issue 19).
    ("Missing", {"jmespath": "Count > `1`"}, Status.FAIL, "query 'Missing' found nothing"),
    ("NoItems", {"jmespath": "length(NoItems) == `0`"}, Status.FAIL, "found nothing"),
    # A multiselect of nothing found nothing: it is not "not empty".
    ("[Missing, Other]", "not_empty", Status.FAIL, "query '[Missing, Other]' found nothing"),
    ("{a: Missing}", "not_empty", Status.FAIL, "found nothing"),
    ("[NoItems, Missing]", {"equals": [[], []]}, Status.FAIL, "found nothing"),
    ("abs(EndpointStatus)", "not_empty", Status.ERROR, "could not be evaluated"),
]


@pytest.mark.parametrize(
    ("query", "expect", "status", "reason"), TABLE, ids=[f"{t[0]}-{t[1]}" for t in TABLE]
)
def test_verdicts(query: str | None, expect: Any, status: Status, reason: str) -> None:
    outcome = evaluate(spec(query, expect), ANSWER)
    assert outcome.status is status, outcome
    assert reason in outcome.reason, outcome.reason


#: What Inspector answers a caller who cannot see the registry's findings (issue 19).
EMPTY_ANSWER = {"findings": [], "nextToken": None}


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        (None, {"jmespath": "length(findings[?severity=='CRITICAL']) == `0`"}),
        ("findings", {"jmespath": "length(findings) == `0`"}),
        ("length(findings)", {"equals": 0}),
        ("length(findings)", {"at_most": 0}),
        ("keys(@)", "not_empty"),
    ],
)
def test_an_empty_answer_is_never_passed(query: str | None, expect: Any) -> None:
    outcome = evaluate(spec(query, expect), EMPTY_ANSWER)
    assert outcome.status is Status.FAIL, outcome
    assert (
        "found nothing in the DescribeEndpoint answer: it is empty (findings: [], nextToken: "
        "null), which cannot be told from a read of the wrong account, region or resource"
    ) in outcome.reason


@pytest.mark.parametrize(
    ("answer", "empty"),
    [
        ({"countsByGroup": [], "totalCounts": 0}, True),  # a count of nothing
        ({"Grants": [], "Truncated": False}, True),
        ({"Summary": {"Users": 0, "Roles": 0}}, True),
        ({}, True),
        ({"Grants": [], "Truncated": False, "Owner": "me"}, False),
        ({"Flag": False, "Name": "x"}, False),
        ({"Count": 1}, False),
    ],
)
def test_an_answer_of_zeros_and_empties_holds_nothing(answer: dict[str, Any], empty: bool) -> None:
    outcome = evaluate(spec(None, {"jmespath": "`true`"}), answer)
    assert (outcome.status is Status.FAIL) is empty, outcome
    assert ("it is empty" in outcome.reason) is empty


def test_quoted_values_are_hidden_but_the_verdict_reads_the_answer() -> None:
    def hide(value: Any) -> Any:
        return "[redacted]" if value == "InService" else value

    outcome = evaluate(spec("EndpointStatus", {"equals": "InService"}), ANSWER, hide)
    assert outcome.status is Status.PASS
    assert outcome.reason == 'EndpointStatus = "[redacted]", expected "InService"'
    assert outcome.value == "[redacted]"


def test_a_query_that_finds_nothing_shows_what_was_there_without_secrets() -> None:
    outcome = evaluate(spec("Missing", "not_empty"), ANSWER)
    assert "it holds: Count, Empty, EndpointStatus, Flag" in outcome.reason
    assert '"Environment":"[hidden]"' in outcome.shown
    assert "hunter2" not in outcome.shown


def test_pending_when() -> None:
    waiting = spec("EndpointStatus", {"equals": "InService"}, wait={"pending_when": "Count > `1`"})
    outcome = evaluate(waiting, ANSWER)
    assert outcome.status is Status.PENDING and outcome.state == "pending_when"
    done = spec("EndpointStatus", {"equals": "InService"}, wait={"pending_when": "Zero > `1`"})
    assert evaluate(done, ANSWER).status is Status.PASS
    unclear = spec("EndpointStatus", {"equals": "InService"}, wait={"pending_when": "Count"})
    outcome = evaluate(unclear, ANSWER)
    assert outcome.status is Status.ERROR and "not true or false" in outcome.reason


def test_plain_turns_timestamps_into_text() -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.timezone.utc)
    assert plain({"At": when, "B": b"x"}) == {"At": "2026-11-27T09:30:00+00:00", "B": "x"}


# ---- through run_gate against the MotoWorld server ------------------------------------------

GOOD_ENV = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        w.create_model("model-a", GOOD_ENV, image="img:a")
        w.create_model("model-b", GOOD_ENV, image="img:b")
        w.create_endpoint_config(
            "cfg-ab",
            [variant("model-a", name="A"), variant("model-b", name="B")],
        )
        w.create_endpoint("ep", "cfg-ab", status="InService")
        w.set_endpoint("ep", config_name="cfg-ab")
        yield w


def gate(world: MotoWorld, checks: list[dict[str, Any]], **extra: Any) -> dict[str, CheckResult]:
    clients: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in clients:
            clients[service] = world.client(service)
        return clients[service]

    clock = FakeClock()
    values = {
        "region": world.region,
        "endpoint": "ep",
        "timeout": 60.0,
        "poll_min": 1.0,
        "poll_max": 1.0,
        "log_lines": 0,
        "custom_checks": parse("custom_checks", checks),
        **extra,
    }
    report = run_gate(
        GateConfig(**values),
        clients=factory,
        sleep=clock.sleep,
        clock=clock,
        progress=None,
        environ={},
    )
    return {r.check_id: r for r in report.results}


def test_model_fans_out_over_every_model_behind_the_endpoint(world: MotoWorld) -> None:
    results = gate(
        world,
        [
            {
                "id": "model-image",
                "call": "sagemaker.describe_model",
                "params": {"ModelName": "{model}"},
                "query": "PrimaryContainer.Image",
                "expect": {"equals": "img:a"},
            }
        ],
    )
    result = results["model-image"]
    assert result.status is Status.FAIL, result
    assert "1 of 2 model(s): model-b" in result.reason
    evaluations = result.evidence["evaluations"]
    assert [e["params"]["ModelName"] for e in evaluations] == ["model-a", "model-b"]
    assert [e["status"] for e in evaluations] == ["PASS", "FAIL"]
    assert any(op == "sagemaker:DescribeModel" for op, _ in result.calls)


def test_paginated_calls_are_followed_to_the_last_page(world: MotoWorld) -> None:
    results = gate(
        world,
        [
            {
                "id": "models-listed",
                "call": "sagemaker.list_models",
                "params": {"MaxResults": 1},
                "query": "Models[].ModelName",
                "expect": {"jmespath": "length(Models) == `2`"},
            }
        ],
    )
    result = results["models-listed"]
    assert result.status is Status.PASS, result
    assert world.calls["ListModels"] >= 2  # one page per model


def test_account_region_and_endpoint_arn_placeholders(world: MotoWorld) -> None:
    results = gate(
        world,
        [
            {
                "id": "arn-matches",
                "call": "sagemaker.describe_endpoint",
                "params": {"EndpointName": "{endpoint}"},
                "query": "EndpointArn",
                "expect": {"matches": "arn:aws:sagemaker:{region}:{account}:endpoint/.*"},
            },
            {
                "id": "tags-read",
                "call": "sagemaker.list_tags",
                "params": {"ResourceArn": "{endpoint_arn}"},
                "query": "Tags",
                "expect": {"equals": []},
            },
            {
                "id": "arn-built",
                "call": "sagemaker.list_tags",
                "params": {"ResourceArn": "arn:aws:sagemaker:{region}:{account}:endpoint/ep"},
                "query": "keys(@)",
                "expect": {"equals": ["Tags"]},
            },
        ],
    )
    # Placeholders fill params, not expectations: the regex is matched literally.
    assert results["arn-matches"].status is Status.FAIL
    # An empty list found is "found nothing": never a pass, even against equals [].
    assert results["tags-read"].status is Status.FAIL
    assert "found nothing" in results["tags-read"].reason
    # The ARN built from {region} and {account} named the endpoint, whose tags are none: an
    # empty answer is never passed, whatever the query makes of it (keys(@) is ["Tags"]).
    assert results["arn-built"].status is Status.FAIL, results["arn-built"]
    assert "ListTags answer: it is empty (Tags: [])" in results["arn-built"].reason
    (evaluation,) = results["arn-built"].evidence["evaluations"]
    assert (
        evaluation["params"]["ResourceArn"]
        == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    )


def test_waits_with_pending_when_then_fails_at_the_deadline(world: MotoWorld) -> None:
    world.set_endpoint("ep", status="Creating")
    results = gate(
        world,
        [
            {
                "id": "status-custom",
                "call": "sagemaker.describe_endpoint",
                "params": {"EndpointName": "ep"},
                "query": "EndpointStatus",
                "expect": {"equals": "InService"},
                "wait": {"pending_when": "EndpointStatus == 'Creating'"},
            }
        ],
        only=("status-custom",),
        timeout=10.0,
    )
    result = results["status-custom"]
    assert result.status is Status.FAIL
    assert "still pending_when at the deadline" in result.reason
    assert world.calls["DescribeEndpoint"] >= 3


def test_not_configured_is_skipped_never_passed(world: MotoWorld) -> None:
    results = gate(
        world,
        [
            {
                "id": "repo-read",
                "call": "ecr.describe_repositories",
                "params": {"repositoryNames": ["{repository}"]},
                "query": "repositories[0].imageTagMutability",
                "expect": {"equals": "IMMUTABLE"},
            }
        ],
    )
    assert results["repo-read"].status is Status.SKIPPED
    assert "{repository} needs --repository" in results["repo-read"].reason


def test_custom_checks_run_per_fleet_target(world: MotoWorld) -> None:
    check = {
        "id": "status-custom",
        "call": "sagemaker.describe_endpoint",
        "params": {"EndpointName": "{endpoint}"},
        "query": "EndpointStatus",
        "expect": {"equals": "InService"},
    }
    clients: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in clients:
            clients[service] = world.client(service)
        return clients[service]

    clock = FakeClock()
    config = GateConfig(
        region=world.region,
        timeout=60.0,
        poll_min=1.0,
        poll_max=1.0,
        log_lines=0,
        custom_checks=parse("custom_checks", [check]),
        targets=({"name": "one", "endpoint": "ep"}, {"name": "two", "endpoint": "missing"}),
        endpoint_grace=0.0,
    )
    report = run_gate(
        config, clients=factory, sleep=clock.sleep, clock=clock, progress=None, environ={}
    )
    by_name = {r.name: r for r in report.results}
    assert by_name["status-custom [one]"].status is Status.PASS
    assert by_name["status-custom [two]"].status is not Status.PASS


def test_more_pages_than_the_bound_is_an_error_never_a_pass(world: MotoWorld) -> None:
    from soc2gate.custom_spec import MAX_ITEMS

    ecr = world.client("ecr", counted=False)
    ecr.create_repository(repositoryName="many")
    for i in range(MAX_ITEMS + 1):
        ecr.put_image(
            repositoryName="many",
            imageManifest=f'{{"schemaVersion": 2, "config": {{"digest": "sha256:{i:064x}"}}}}',
            imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
            imageTag=f"t{i}",
        )
    results = gate(
        world,
        [
            {
                "id": "tags-listed",
                "call": "ecr.list_images",
                "params": {"repositoryName": "many"},
                "query": "imageIds[].imageTag",
                "expect": "not_empty",
            }
        ],
    )
    result = results["tags-listed"]
    assert result.status is Status.ERROR, result
    assert f"more than {MAX_ITEMS} items" in result.reason


def test_a_first_page_of_an_operation_botocore_cannot_page_is_never_judged() -> None:
    """signer ListProfilePermissions has a nextToken but no paginator: one page of several
    could pass an "every permission is ..." check that the next page fails."""
    aws = StubbedAws()
    aws.respond(
        "signer",
        "list_profile_permissions",
        {"permissions": [{"action": "signer:StartSigningJob", "principal": "a"}], "nextToken": "t"},
    )
    specs = parse(
        "custom_checks",
        [
            {
                "id": "signer-principals",
                "call": "signer.list_profile_permissions",
                "params": {"profileName": "release"},
                "query": "permissions[].principal",
                "expect": {"all_in": ["a"]},
            }
        ],
    )
    report = run_gate(
        GateConfig(region="us-east-1", custom_checks=specs),
        clients=aws,
        progress=None,
        environ={},
    )
    (result,) = [r for r in report.results if r.check_id == "signer-principals"]
    assert result.status is Status.ERROR, result
    assert "ListProfilePermissions answered one page of several (nextToken)" in result.reason
