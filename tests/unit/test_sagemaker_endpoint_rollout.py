"""Issue 10, holes 4, 5 and 8: the endpoint's rollout decides which config is judged, and when.

Hole 4: sagemaker-model-env and sagemaker-endpoint-config judge the endpoint config the endpoint
runs once it is InService (waiting for sagemaker-endpoint-status, or polling themselves when it
is not in the run), never a config read while the endpoint was Creating/Updating, and never PASS
a config of an endpoint that did not reach InService.
Hole 5: --model-name-contains adds a model to the endpoint's models, it never replaces them.
Hole 8: InService with a FailureReason (a rolled-back update) fails; variants that are still
scaling or baking are waited for; an InService variant whose counts cannot be read is an ERROR.

Every AWS answer goes through botocore's Stubber, which validates it against the service model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import botocore.session
import pytest
from unit_fakes import (
    ENDPOINT,
    GOOD_ENV,
    FakeClock,
    StubbedAws,
    make_ctx,
    model_summary,
    run_one,
    sm_endpoint,
    sm_endpoint_config,
    sm_model,
    variant,
)

from soc2gate.checks.sagemaker.sagemaker_endpoint_config import SagemakerEndpointConfig
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import SagemakerEndpointStatus
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Status
from soc2gate.runner import run_gate

STATUS = "sagemaker-endpoint-status"
CONFIG_CHECK = "sagemaker-endpoint-config"
ENV_CHECK = "sagemaker-model-env"
# No CloudWatch excerpt here (tests/unit/test_logs.py covers it); one test below turns it on.
CONFIG = GateConfig(endpoint=ENDPOINT, timeout=600.0, poll_min=2.0, poll_max=6.0, log_lines=0)
GPU = "ml.g5.xlarge"
ROLLBACK = (
    " The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)
PREFIX = "defenderImageAnalyzerSOC2Hardened"
BAD_ENV = {"SOC2_COMPLIANT": "true"}  # SECURITY_HARDENED missing


def settled(
    name: str = "AllTraffic",
    current: int | None = 1,
    desired: int | None = 1,
    statuses: Sequence[str] = (),
) -> dict[str, Any]:
    """A ProductionVariantSummary as DescribeEndpoint reports it."""
    out: dict[str, Any] = {"VariantName": name, "CurrentWeight": 1.0, "DesiredWeight": 1.0}
    if current is not None:
        out["CurrentInstanceCount"] = current
    if desired is not None:
        out["DesiredInstanceCount"] = desired
    if statuses:
        out["VariantStatus"] = [
            {"Status": s, "StatusMessage": f"{s.lower()} now"} for s in statuses
        ]
    return out


def serverless(
    name: str = "AllTraffic", current: int | None = 2048, desired: int | None = 2048
) -> dict[str, Any]:
    out: dict[str, Any] = {"VariantName": name}
    if current is not None:
        out["CurrentServerlessConfig"] = {"MemorySizeInMB": current, "MaxConcurrency": 5}
    if desired is not None:
        out["DesiredServerlessConfig"] = {"MemorySizeInMB": desired, "MaxConcurrency": 5}
    return out


def answer(
    status: str = "InService",
    config: str = "cfg-a",
    *,
    pending: str | None = None,
    failure: str | None = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    shadow: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A DescribeEndpoint answer; InService variants are settled unless ``variants`` says."""
    out = sm_endpoint(status=status, config=config, failure=failure, pending_config=pending)
    out["ProductionVariants"] = [dict(v) for v in variants] if variants is not None else [settled()]
    if shadow:
        out["ShadowProductionVariants"] = [dict(v) for v in shadow]
    return out


def endpoints(aws: StubbedAws, *answers: Mapping[str, Any]) -> None:
    for a in answers:
        aws.respond("sagemaker", "describe_endpoint", a, {"EndpointName": ENDPOINT})


def endpoint_config(aws: StubbedAws, name: str, instance_type: str = "ml.c5.large") -> None:
    model = f"model-{name.rsplit('-', 1)[1]}"
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config(name, [variant(model=model, instance_type=instance_type)]),
        {"EndpointConfigName": name},
    )


def model(aws: StubbedAws, name: str, env: Mapping[str, str] = GOOD_ENV) -> None:
    aws.respond("sagemaker", "describe_model", sm_model(name, env), {"ModelName": name})


def gate(config: GateConfig, aws: StubbedAws, clock: FakeClock) -> dict[str, CheckResult]:
    report = run_gate(
        config, clients=aws, sleep=clock.sleep, clock=clock, progress=None, environ={}
    )
    return {r.check_id: r for r in report.results}


# ---- hole 4: the check alone (sagemaker-endpoint-status skipped) polls and judges InService --

# (case, cfg-a type, cfg-b type, expected, words): Updating on cfg-a, then InService on cfg-b.
# DescribeEndpoint during the update reports no PendingDeploymentSummary (as older SDK answers
# and moto do), so the config to judge is only known once the endpoint is InService.
ALONE_CASES = [
    ("update-to-disallowed", "ml.c5.large", GPU, Status.FAIL, [f"cfg-b/AllTraffic uses {GPU}"]),
    ("update-away-from-disallowed", GPU, "ml.c5.large", Status.PASS, ["all 1 variant(s)"]),
]


@pytest.mark.parametrize(
    ("type_a", "type_b", "expected", "words"),
    [c[1:] for c in ALONE_CASES],
    ids=[c[0] for c in ALONE_CASES],
)
def test_endpoint_config_alone_judges_the_config_in_service_after_an_update(
    clock: FakeClock, type_a, type_b, expected, words
) -> None:
    aws = StubbedAws()
    endpoints(aws, answer("Updating", "cfg-a"), answer("Updating", "cfg-a"), answer(config="cfg-b"))
    endpoint_config(aws, "cfg-b", type_b)
    result = run_one(CONFIG_CHECK, CONFIG, aws, clock)
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert "cfg-a" not in result.reason
    assert aws.calls == ["DescribeEndpoint"] * 3 + ["DescribeEndpointConfig"]
    assert len(clock.sleeps) == 2  # it waited while Updating
    aws.assert_done()


def test_model_env_alone_judges_the_model_in_service_after_an_update(clock: FakeClock) -> None:
    aws = StubbedAws()
    endpoints(aws, answer("Updating", "cfg-a"), answer(config="cfg-b"))
    endpoint_config(aws, "cfg-b")
    model(aws, "model-b", BAD_ENV)
    result = run_one(ENV_CHECK, CONFIG, aws, clock)
    assert result.status is Status.FAIL, result.reason
    assert "model-b PrimaryContainer: SECURITY_HARDENED is missing" in result.reason
    assert result.evidence["models"] == ["model-b"]
    aws.assert_done()


def test_a_known_target_config_that_is_bad_fails_while_still_updating(clock: FakeClock) -> None:
    # PendingDeploymentSummary names the config being deployed: a disallowed type there is a
    # FAIL whatever the update's outcome (it serves if the update succeeds; the deploy failed
    # otherwise). cfg-a, which is about to stop serving, is not judged.
    aws = StubbedAws()
    endpoints(aws, answer("Updating", "cfg-a", pending="cfg-b"))
    endpoint_config(aws, "cfg-b", GPU)
    result = run_one(CONFIG_CHECK, CONFIG, aws, clock)
    assert result.status is Status.FAIL, result.reason
    assert f"cfg-b/AllTraffic uses {GPU}" in result.reason
    assert clock.sleeps == []
    aws.assert_done()


def test_a_good_target_config_is_judged_again_once_in_service(clock: FakeClock) -> None:
    aws = StubbedAws()
    endpoints(aws, answer("Creating", "cfg-a"))
    endpoint_config(aws, "cfg-a")  # read while Creating (an early FAIL is possible), memoised
    endpoints(aws, answer("InService", "cfg-a"))
    ctx = make_ctx(CONFIG, aws, clock)
    check = SagemakerEndpointConfig()
    waiting = check.run(ctx)
    assert (waiting.status, waiting.state) == (Status.PENDING, "Creating"), waiting.reason
    assert "judged again once InService" in waiting.reason
    assert check.run(ctx).status is Status.PASS
    aws.assert_done()


# (case, endpoint answer, expected): never PASS a config of an endpoint that is not InService.
NOT_IN_SERVICE_CASES = [
    ("failed", answer("Failed", "cfg-a", failure=ROLLBACK), Status.ERROR),
    ("rolled-back", answer("InService", "cfg-a", failure=ROLLBACK), Status.ERROR),
    ("out-of-service", answer("OutOfService", "cfg-a"), Status.ERROR),
    ("unknown-state", answer("Bogus", "cfg-a"), Status.ERROR),
]


@pytest.mark.parametrize(
    ("response", "expected"),
    [c[1:] for c in NOT_IN_SERVICE_CASES],
    ids=[c[0] for c in NOT_IN_SERVICE_CASES],
)
@pytest.mark.parametrize("check_id", [CONFIG_CHECK, ENV_CHECK])
def test_a_good_config_of_an_endpoint_that_is_not_in_service_never_passes(
    clock: FakeClock, check_id, response, expected
) -> None:
    aws = StubbedAws()
    endpoints(aws, response)
    endpoint_config(aws, "cfg-a")
    if check_id == ENV_CHECK:
        model(aws, "model-a")
    result = run_one(check_id, CONFIG, aws, clock)
    assert result.status is expected, result.reason
    assert STATUS in result.reason
    aws.assert_done()


# ---- hole 4: with sagemaker-endpoint-status in the run, they wait for it ---------------------


@pytest.mark.parametrize(("type_b", "expected"), [("ml.c5.large", Status.PASS), (GPU, Status.FAIL)])
def test_dependents_judge_the_endpoint_status_saw_in_service(
    clock: FakeClock, type_b, expected
) -> None:
    aws = StubbedAws()
    endpoints(
        aws,
        answer("Updating", "cfg-a", pending="cfg-b"),
        answer("Updating", "cfg-a", pending="cfg-b"),
        answer("InService", "cfg-b"),
    )
    endpoint_config(aws, "cfg-b", type_b)
    model(aws, "model-b")
    results = gate(replace(CONFIG, only=(STATUS, CONFIG_CHECK, ENV_CHECK)), aws, clock)
    assert results[STATUS].status is Status.PASS, results[STATUS].reason
    assert results[CONFIG_CHECK].status is expected, results[CONFIG_CHECK].reason
    assert results[CONFIG_CHECK].evidence["EndpointConfigNames"] == ["cfg-b"]
    assert results[ENV_CHECK].status is Status.PASS, results[ENV_CHECK].reason
    assert results[ENV_CHECK].evidence["models"] == ["model-b"]
    # One DescribeEndpoint poller per run: the dependents reuse what the status check saw.
    assert aws.calls.count("DescribeEndpoint") == 3
    assert aws.calls[3:] == ["DescribeEndpointConfig", "DescribeModel"]
    aws.assert_done()


@pytest.mark.parametrize(
    ("type_a", "env_a", "config_expected", "env_expected"),
    [
        ("ml.c5.large", GOOD_ENV, Status.ERROR, Status.ERROR),
        (GPU, BAD_ENV, Status.FAIL, Status.FAIL),
    ],
    ids=["current-config-good", "current-config-bad"],
)
def test_dependents_of_a_rolled_back_update_point_at_the_status_check(
    clock: FakeClock, type_a, env_a, config_expected, env_expected
) -> None:
    aws = StubbedAws()
    rolled_back = answer("InService", "cfg-a", failure=ROLLBACK)
    # Two polls by the status check, then one read shared by both dependents.
    endpoints(aws, answer("Updating", "cfg-a", pending="cfg-b"), rolled_back, rolled_back)
    endpoint_config(aws, "cfg-a", type_a)
    model(aws, "model-a", env_a)
    results = gate(replace(CONFIG, only=(STATUS, CONFIG_CHECK, ENV_CHECK)), aws, clock)
    status = results[STATUS]
    assert status.status is Status.FAIL, status.reason
    assert "rolled back" in status.reason
    assert f"FailureReason: {ROLLBACK.strip()}" in status.reason
    for check_id, expected in ((CONFIG_CHECK, config_expected), (ENV_CHECK, env_expected)):
        result = results[check_id]
        assert result.status is expected, result.reason
        assert f"see {STATUS}" in result.reason
    assert aws.calls.count("DescribeEndpoint") == 3
    aws.assert_done()


def test_dependents_never_pass_when_the_status_check_timed_out(clock: FakeClock) -> None:
    aws = StubbedAws()
    # Polls every 5 s for 20 s: at 0, 5, 10, 15 and 20 s; then one read for the dependent.
    config = replace(CONFIG, timeout=20.0, poll_min=5.0, poll_max=5.0, only=(STATUS, CONFIG_CHECK))
    endpoints(aws, *[answer("Updating", "cfg-a", pending="cfg-b")] * 6)
    endpoint_config(aws, "cfg-a")
    endpoint_config(aws, "cfg-b")
    results = gate(config, aws, clock)
    assert results[STATUS].status is Status.FAIL
    assert results[STATUS].reason.startswith("still Updating at the deadline")
    result = results[CONFIG_CHECK]
    assert result.status is Status.ERROR, result.reason
    assert f"see {STATUS}" in result.reason
    assert result.evidence["EndpointConfigNames"] == ["cfg-a", "cfg-b"]
    aws.assert_done()


# ---- hole 5: --model-name-contains adds a model, never replaces the endpoint's ---------------


def _list_models(aws: StubbedAws, *names: str) -> None:
    """ListModels answering ``names``, the first the newest."""
    newest_first = [model_summary(n, timedelta(days=len(names) - i)) for i, n in enumerate(names)]
    aws.respond(
        "sagemaker",
        "list_models",
        {"Models": newest_first},
        {"NameContains": PREFIX, "SortBy": "CreationTime", "SortOrder": "Descending"},
    )


# (case, endpoint model env, newest-by-name model (name, env), expected, words, models checked)
FILTER_CASES = [
    (
        "endpoint-model-bad-newest-good",
        BAD_ENV,
        (f"{PREFIX}-new", GOOD_ENV),
        Status.FAIL,
        ["model-a PrimaryContainer: SECURITY_HARDENED is missing"],
        ["model-a", f"{PREFIX}-new"],
    ),
    (
        "endpoint-model-good-newest-bad",
        GOOD_ENV,
        (f"{PREFIX}-new", BAD_ENV),
        Status.FAIL,
        [f"{PREFIX}-new PrimaryContainer: SECURITY_HARDENED is missing"],
        ["model-a", f"{PREFIX}-new"],
    ),
    ("both-good", GOOD_ENV, (f"{PREFIX}-new", GOOD_ENV), Status.PASS, [], None),
]


@pytest.mark.parametrize(
    ("endpoint_env", "newest", "expected", "words", "checked"),
    [c[1:] for c in FILTER_CASES],
    ids=[c[0] for c in FILTER_CASES],
)
def test_name_filter_adds_a_model_to_the_endpoints_models(
    clock: FakeClock, endpoint_env, newest, expected, words, checked
) -> None:
    aws = StubbedAws()
    endpoints(aws, answer())
    endpoint_config(aws, "cfg-a")
    _list_models(aws, newest[0], f"{PREFIX}-old")
    model(aws, "model-a", endpoint_env)
    model(aws, newest[0], newest[1])
    config = replace(CONFIG, model_name_contains=PREFIX)
    result = run_one(ENV_CHECK, config, aws, clock)
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert result.evidence["models"] == (checked or ["model-a", newest[0]])
    assert any("model(s) behind endpoint config cfg-a" in d for d in result.details)
    assert any(f"newest of 2 model(s) matching {PREFIX!r}" in d for d in result.details)
    aws.assert_done()


def test_name_filter_naming_the_deployed_model_checks_it_once(clock: FakeClock) -> None:
    aws = StubbedAws()
    deployed = f"{PREFIX}-a"
    endpoints(aws, answer())
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-a", [variant(model=deployed)]),
        {"EndpointConfigName": "cfg-a"},
    )
    _list_models(aws, deployed)
    model(aws, deployed)
    result = run_one(ENV_CHECK, replace(CONFIG, model_name_contains=PREFIX), aws, clock)
    assert result.status is Status.PASS, result.reason
    assert result.evidence["models"] == [deployed]
    aws.assert_done()


def test_name_filter_matching_nothing_still_fails_with_an_endpoint(clock: FakeClock) -> None:
    aws = StubbedAws()
    endpoints(aws, answer())
    endpoint_config(aws, "cfg-a")
    aws.respond("sagemaker", "list_models", {"Models": []})
    result = run_one(ENV_CHECK, replace(CONFIG, model_name_contains=PREFIX), aws, clock)
    assert result.status is Status.FAIL
    assert f"no model name contains {PREFIX!r}" in result.reason


# ---- hole 8: InService is not "deployed as intended" until the variants settle ---------------

STATUS_CHECK = SagemakerEndpointStatus()

# (case, DescribeEndpoint answer, expected, PENDING state, words in the reason)
SETTLED_CASES = [
    ("settled", answer(), Status.PASS, "", [f"{ENDPOINT} is InService"]),
    (
        "rolled-back-update",
        answer(failure=ROLLBACK),
        Status.FAIL,
        "",
        ["update failed and was rolled back", f"FailureReason: {ROLLBACK.strip()}", "cfg-a"],
    ),
    (
        "blank-failure-reason",
        answer(failure="  "),
        Status.PASS,
        "",
        ["is InService"],
    ),
    (
        "scaling-from-zero",
        answer(variants=[settled(current=0, desired=1)]),
        Status.PENDING,
        "Scaling",
        ["variant AllTraffic has 0 of 1 instance(s)"],
    ),
    (
        "scaling-up",
        answer(variants=[settled(current=1, desired=3)]),
        Status.PENDING,
        "Scaling",
        ["1 of 3 instance(s)"],
    ),
    (
        "scaled-to-zero",
        answer(variants=[settled(current=0, desired=0)]),
        Status.FAIL,
        "",
        ["variant AllTraffic has DesiredInstanceCount 0: nothing serves"],
    ),
    ("scaling-in", answer(variants=[settled(current=3, desired=2)]), Status.PASS, "", []),
    *(
        (
            f"variant-{state.lower()}",
            answer(variants=[settled(statuses=[state])]),
            Status.PENDING,
            state,
            [f"variant AllTraffic is {state} ({state.lower()} now)"],
        )
        for state in ("Creating", "Updating", "Deleting", "ActivatingTraffic", "Baking")
    ),
    (
        "shadow-creating",
        answer(shadow=[settled("Canary", statuses=["Creating"])]),
        Status.PENDING,
        "Creating",
        ["variant shadow Canary is Creating"],
    ),
    (
        "second-variant-scaling",
        answer(variants=[settled("Blue"), settled("Green", current=0, desired=1)]),
        Status.PENDING,
        "Scaling",
        ["variant Green has 0 of 1"],
    ),
    (
        "unknown-variant-status",
        answer(variants=[settled(statuses=["Draining"])]),
        Status.ERROR,
        "",
        ["variant AllTraffic has unknown VariantStatus 'Draining'"],
    ),
    ("serverless-settled", answer(variants=[serverless()]), Status.PASS, "", ["is InService"]),
    (
        "serverless-changing",
        answer(variants=[serverless(current=2048, desired=4096)]),
        Status.PENDING,
        "Updating",
        ["serverless variant AllTraffic is changing its config"],
    ),
    (
        "serverless-without-current",
        answer(variants=[serverless(current=None)]),
        Status.ERROR,
        "",
        ["could not read", "CurrentServerlessConfig"],
    ),
    (
        "counts-missing",
        answer(variants=[settled(current=None, desired=None)]),
        Status.ERROR,
        "",
        ["could not read", "CurrentInstanceCount", "variant AllTraffic"],
    ),
    (
        "desired-missing",
        answer(variants=[settled(desired=None)]),
        Status.ERROR,
        "",
        ["could not read", "DesiredInstanceCount"],
    ),
    (
        "no-production-variants",
        {k: v for k, v in answer().items() if k != "ProductionVariants"},
        Status.ERROR,
        "",
        ["could not read", "reports no ProductionVariants"],
    ),
    (
        "in-service-with-a-pending-deployment",
        answer(pending="cfg-b"),
        Status.PENDING,
        "InService",
        ["still deploying endpoint config cfg-b"],
    ),
    (
        "failed-reason-trimmed",
        answer("Failed", failure=ROLLBACK),
        Status.FAIL,
        "",
        [f"is Failed: FailureReason: {ROLLBACK.strip()}"],
    ),
]


@pytest.mark.parametrize(
    ("response", "expected", "state", "words"),
    [c[1:] for c in SETTLED_CASES],
    ids=[c[0] for c in SETTLED_CASES],
)
def test_in_service_passes_only_when_settled(
    aws: StubbedAws, response, expected, state, words
) -> None:
    endpoints(aws, response)
    result = STATUS_CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    if expected is Status.PENDING:
        assert result.state == state
    assert "  " not in result.reason  # FailureReason's leading space is trimmed
    aws.assert_done()


def test_the_table_covers_every_variant_status_aws_defines() -> None:
    from soc2gate.checks.sagemaker.sagemaker_endpoint_status import VARIANT_STATUS

    model = botocore.session.get_session().get_service_model("sagemaker")
    assert set(model.shape_for("VariantStatus").enum) == VARIANT_STATUS.wait


def test_variants_that_never_settle_fail_at_the_deadline(clock: FakeClock) -> None:
    aws = StubbedAws()
    endpoints(aws, *[answer(variants=[settled(statuses=["Baking"])])] * 40)
    result = run_one(STATUS, replace(CONFIG, timeout=60.0), aws, clock)
    assert result.status is Status.FAIL
    assert result.reason.startswith("still Baking at the deadline after waiting")
    assert "variant AllTraffic is Baking" in result.reason


def test_variants_that_settle_pass_and_dependents_see_the_settled_endpoint(
    clock: FakeClock,
) -> None:
    aws = StubbedAws()
    endpoints(
        aws,
        answer(variants=[settled(current=0, desired=1)]),
        answer(variants=[settled(statuses=["Baking"])]),
        answer(),
    )
    endpoint_config(aws, "cfg-a")
    results = gate(replace(CONFIG, only=(STATUS, CONFIG_CHECK)), aws, clock)
    assert results[STATUS].status is Status.PASS, results[STATUS].reason
    assert results[CONFIG_CHECK].status is Status.PASS, results[CONFIG_CHECK].reason
    assert aws.calls == ["DescribeEndpoint"] * 3 + ["DescribeEndpointConfig"]
    aws.assert_done()


def test_a_rolled_back_update_attaches_the_endpoint_logs(aws: StubbedAws) -> None:
    endpoints(aws, answer(failure=ROLLBACK))
    endpoint_config(aws, "cfg-a")  # the model environments, to redact their values
    model(aws, "model-a")
    aws.fail("logs", "describe_log_streams", "AccessDeniedException", "no")
    result = STATUS_CHECK.run(make_ctx(replace(CONFIG, log_lines=50), aws))
    assert result.status is Status.FAIL
    assert result.details[-1].startswith("CloudWatch logs not attached: could not read")
    aws.assert_done()
