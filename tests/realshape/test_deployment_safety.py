"""The deployment safety checks (issue 21) on real-shape answers, through the real gate.

``HARDENED`` is the guide's deployment made the way an auditor wants it: the model from an
Approved Model Registry package, network-isolated in the VPC pulling from ECR; an endpoint
config with a KMS key and encrypted data capture, two instances; a blue/green canary whose
rollback alarm watches the endpoint; an auto scaling target; an Approved model card naming the
package version. Every answer is a fixture modelled on a real one (``fixtures/``), served on the
wire (botocore parses it); CloudWatch, whose default protocol is CBOR, answers through botocore's
Stubber from its fixture instead. Each check gets a PASS, FAILs on the shapes that matter, and an
ERROR on an answer that lacks a member the verdict needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from realshape.wire import (
    GUIDE_BASIC,
    GUIDE_MODEL_PACKAGE,
    Run,
    WireClients,
    WireWorld,
    fixture,
    guide_config,
    modified,
    run_gate_on,
    with_answers,
)
from soc2gate.checks.sagemaker.sagemaker_deployment_guardrails import NO_ALARM_SENTENCE

ENCRYPTION = "sagemaker-endpoint-encryption"
ISOLATION = "sagemaker-model-isolation"
AVAILABILITY = "sagemaker-endpoint-availability"
GUARDRAILS = "sagemaker-deployment-guardrails"
CAPTURE = "sagemaker-data-capture"
CARD = "sagemaker-model-card"
SAFETY = (ENCRYPTION, ISOLATION, AVAILABILITY, GUARDRAILS, CAPTURE, CARD)

ENDPOINT = "sagemaker/DescribeEndpoint.bluegreen-canary-rollback.json"
CONFIG = "sagemaker/DescribeEndpointConfig.hardened.json"
MODEL = "sagemaker/DescribeModel.model-package.json"
ALARMS = "cloudwatch/DescribeAlarms.endpoint-5xx.json"
KEY_ALIAS = "alias/soc2gate-endpoint"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829")
CARD_NAME = "defenderImageAnalyzerSOC2Hardened-card"


def _isolated(model: dict[str, Any]) -> None:
    model["EnableNetworkIsolation"] = True
    model["VpcConfig"] = {"SecurityGroupIds": ["sg-0c3d4e5f60718293a"], "Subnets": list(SUBNETS)}


HARDENED: dict[str, Any] = with_answers(
    GUIDE_MODEL_PACKAGE,
    DescribeEndpoint=ENDPOINT,
    DescribeEndpointConfig=CONFIG,
    DescribeModel=[modified(MODEL, _isolated)],
    DescribeModelCard="sagemaker/DescribeModelCard.metadata-only.json",
    DescribeKey="kms/DescribeKey.endpoint-key.json",
    DescribeScalableTargets="application-autoscaling/DescribeScalableTargets.variant.json",
)


class SafetyClients(WireClients):
    """The wire world's clients; CloudWatch from botocore's Stubber (its answers validated
    against the service model), one DescribeAlarms answer per call."""

    def __init__(self, world: WireWorld, alarms: dict[str, Any]) -> None:
        super().__init__(world)
        client = botocore.session.get_session().create_client(
            "cloudwatch",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stubber = Stubber(client)
        for _ in range(3):  # one per poll of the check; unused answers are fine
            self.stubber.add_response("describe_alarms", _timestamps(alarms))
        self.stubber.activate()
        self.cloudwatch = client

    def __call__(self, service: str) -> Any:
        if service == "cloudwatch":
            return self.cloudwatch
        return super().__call__(service)


def _timestamps(value: Any, key: str = "") -> Any:
    """The fixture's epoch seconds as the datetimes botocore's parser would give."""
    from datetime import datetime, timezone

    if isinstance(value, dict):
        return {k: _timestamps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_timestamps(v) for v in value]
    if key.endswith("Timestamp") and isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return value


def alarms(edit: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    response = fixture(ALARMS)["response"]
    if edit is not None:
        edit(response["MetricAlarms"][0])
    return response


def run(
    scenario: dict[str, Any] | None = None,
    alarm_answer: dict[str, Any] | None = None,
    *,
    checks: tuple[str, ...] = SAFETY,
    **config: Any,
) -> Run:
    values: dict[str, Any] = {
        "only": ("sagemaker-endpoint-status", *checks),
        "allowed_kms_keys": (KEY_ALIAS,),
        "allowed_subnets": SUBNETS,
        "require_autoscaling": True,
        "capture_buckets": ("defender-soc2-data-capture",),
        "model_card": CARD_NAME,
    }
    values.update(config)
    world = WireWorld(scenario or HARDENED)
    clients = SafetyClients(world, alarm_answer if alarm_answer is not None else alarms())
    return run_gate_on(world, guide_config(**values), clients)


def reason(result: Run, check: str, status: str) -> str:
    got = result.result(check)
    assert got.status.value == status, f"{check}: {got.status.value}: {got.reason}"
    return str(got.reason)


def test_a_hardened_deployment_passes_every_safety_check() -> None:
    result = run()
    for check in SAFETY:
        reason(result, check, "PASS")
    assert result.exit_code == 0
    calls = {c.op: c.params for c in result.world.calls}
    # The model card is read without its content's key: metadata only.
    assert calls["sagemaker:DescribeModelCard"]["IncludedData"] == "MetadataOnly"
    assert calls["application-autoscaling:DescribeScalableTargets"]["ResourceIds"] == [
        "endpoint/defenderImageAnalyzerSOC2HardenedDev/variant/AllTraffic"
    ]
    assert "kms:DescribeKey" in calls
    assert "alias/soc2gate-endpoint" in reason(result, ENCRYPTION, "PASS")


# ---- sagemaker-endpoint-encryption -----------------------------------------------------------


def _config(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    return with_answers(HARDENED, DescribeEndpointConfig=modified(CONFIG, edit))


def test_encryption_fails_without_a_key_and_on_a_key_not_allowed() -> None:
    result = run(_config(lambda c: c.pop("KmsKeyId")), checks=(ENCRYPTION,))
    assert "has no KmsKeyId" in reason(result, ENCRYPTION, "FAIL")
    other = "arn:aws:kms:us-east-1:438465156498:key/00000000-0000-4000-8000-000000000000"

    def other_key(response: dict[str, Any]) -> None:
        response["KeyMetadata"].update(Arn=other, KeyId=other.rsplit("/", 1)[1])

    keys = [
        "kms/DescribeKey.endpoint-key.json",
        modified("kms/DescribeKey.endpoint-key.json", other_key),
    ]
    keys[1].pop("aliases")
    result = run(
        with_answers(HARDENED, DescribeKey=keys), checks=(ENCRYPTION,), allowed_kms_keys=(other,)
    )
    assert f"not one of --allowed-kms-key ({other})" in reason(result, ENCRYPTION, "FAIL")


def test_encryption_names_serverless_variants_not_applicable() -> None:
    def serverless(config: dict[str, Any]) -> None:
        variant = config["ProductionVariants"][0]
        for key in ("InitialInstanceCount", "InstanceType", "InitialVariantWeight"):
            variant.pop(key)
        variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
        config.pop("KmsKeyId")
        config.pop("DataCaptureConfig")

    result = run(_config(serverless), checks=(ENCRYPTION,))
    assert "not applicable" in reason(result, ENCRYPTION, "SKIPPED")


def test_encryption_is_an_error_when_data_capture_lacks_a_required_member() -> None:
    result = run(_config(lambda c: c["DataCaptureConfig"].pop("DestinationS3Uri")))
    for check in (ENCRYPTION, CAPTURE):
        assert "DataCaptureConfig.DestinationS3Uri is missing" in reason(result, check, "ERROR")


def test_a_capture_key_failure_counts_once_as_data_captures() -> None:
    result = run(_config(lambda c: c["DataCaptureConfig"].pop("KmsKeyId")))
    assert "without a KmsKeyId" in reason(result, CAPTURE, "FAIL")
    assert result.result(ENCRYPTION).blocked_by == CAPTURE
    # Alone, the encryption check counts it itself.
    alone = run(_config(lambda c: c["DataCaptureConfig"].pop("KmsKeyId")), checks=(ENCRYPTION,))
    assert alone.result(ENCRYPTION).blocked_by == ""


# ---- sagemaker-model-isolation ---------------------------------------------------------------


def test_isolation_fails_on_the_models_real_defaults() -> None:
    # The recorded shape: EnableNetworkIsolation false, no VpcConfig.
    result = run(with_answers(HARDENED, DescribeModel=[MODEL]), checks=(ISOLATION,))
    text = reason(result, ISOLATION, "FAIL")
    assert "EnableNetworkIsolation false" in text and "has no VpcConfig" in text


def test_isolation_fails_outside_the_allowed_subnets_and_on_a_vpc_registry() -> None:
    result = run(checks=(ISOLATION,), allowed_subnets=(SUBNETS[0],))
    assert f"subnet(s) {SUBNETS[1]}, not in --allowed-subnet" in reason(result, ISOLATION, "FAIL")

    def vpc_registry(model: dict[str, Any]) -> None:
        _isolated(model)
        model["PrimaryContainer"]["ImageConfig"] = {"RepositoryAccessMode": "Vpc"}

    scenario = with_answers(HARDENED, DescribeModel=[modified(MODEL, vpc_registry)])
    assert "RepositoryAccessMode Vpc" in reason(
        run(scenario, checks=(ISOLATION,)), ISOLATION, "FAIL"
    )
    allowed = run(scenario, checks=(ISOLATION,), allowed_repository_access=("Platform", "Vpc"))
    reason(allowed, ISOLATION, "PASS")


def test_isolation_is_an_error_on_a_vpc_config_without_subnets() -> None:
    def broken(model: dict[str, Any]) -> None:
        _isolated(model)
        del model["VpcConfig"]["Subnets"]

    result = run(
        with_answers(HARDENED, DescribeModel=[modified(MODEL, broken)]), checks=(ISOLATION,)
    )
    assert "VpcConfig.Subnets is missing" in reason(result, ISOLATION, "ERROR")


# ---- sagemaker-endpoint-availability ---------------------------------------------------------


def test_availability_fails_on_one_instance_and_on_a_scaling_minimum_below() -> None:
    # The guide's recorded shapes: one instance, configured and running.
    single = with_answers(
        HARDENED,
        DescribeEndpoint="sagemaker/DescribeEndpoint.guide-inservice.json",
        DescribeEndpointConfig="sagemaker/DescribeEndpointConfig.guide.json",
    )
    text = reason(run(single, checks=(AVAILABILITY,)), AVAILABILITY, "FAIL")
    assert "has CurrentInstanceCount 1, below --min-instances 2" in text
    assert "InitialInstanceCount 1" in text
    low = run(checks=(AVAILABILITY,), min_instances=3)
    assert "MinCapacity 2, below --min-instances 3" in reason(low, AVAILABILITY, "FAIL")


def test_availability_fails_without_a_scaling_target_and_errs_on_an_unreadable_one() -> None:
    targets = "application-autoscaling/DescribeScalableTargets.variant.json"
    none = with_answers(
        HARDENED, DescribeScalableTargets=modified(targets, lambda r: r.update(ScalableTargets=[]))
    )
    assert "no Application Auto Scaling target" in reason(
        run(none, checks=(AVAILABILITY,)), AVAILABILITY, "FAIL"
    )
    broken = with_answers(
        HARDENED,
        DescribeScalableTargets=modified(
            targets, lambda r: r["ScalableTargets"][0].pop("MinCapacity")
        ),
    )
    assert "MinCapacity is missing" in reason(
        run(broken, checks=(AVAILABILITY,)), AVAILABILITY, "ERROR"
    )


# ---- sagemaker-deployment-guardrails ---------------------------------------------------------


def test_guardrails_fail_without_a_deployment_config() -> None:
    scenario = with_answers(
        HARDENED, DescribeEndpoint=modified(ENDPOINT, lambda e: e.pop("LastDeploymentConfig"))
    )
    text = reason(run(scenario, checks=(GUARDRAILS,)), GUARDRAILS, "FAIL")
    assert "named no DeploymentConfig (no LastDeploymentConfig)" in text


def test_a_deleted_rollback_alarm_fails_quoting_aws() -> None:
    result = run(alarm_answer={"MetricAlarms": [], "CompositeAlarms": []}, checks=(GUARDRAILS,))
    text = reason(result, GUARDRAILS, "FAIL")
    assert "does not exist (cloudwatch:DescribeAlarms)" in text and NO_ALARM_SENTENCE in text


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda a: a["Dimensions"][0].update(Value="anotherEndpoint"), "does not watch endpoint"),
        (lambda a: a.update(ActionsEnabled=False), "has ActionsEnabled false"),
        (
            lambda a: a.update(StateValue="INSUFFICIENT_DATA", StateTransitionedTimestamp=1.6e9),
            "INSUFFICIENT_DATA for",
        ),
    ],
    ids=["other-endpoint", "actions-disabled", "stuck-insufficient-data"],
)
def test_guardrails_fail_on_an_alarm_that_would_not_roll_back(
    edit: Callable[[dict[str, Any]], Any], words: str
) -> None:
    assert words in reason(run(alarm_answer=alarms(edit), checks=(GUARDRAILS,)), GUARDRAILS, "FAIL")


def test_a_recent_insufficient_data_alarm_and_a_linear_rollout_pass() -> None:
    def recent(alarm: dict[str, Any]) -> None:
        alarm.update(StateValue="INSUFFICIENT_DATA", StateTransitionedTimestamp=time.time() - 60)

    def linear(endpoint: dict[str, Any]) -> None:
        routing = endpoint["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]
        routing["TrafficRoutingConfiguration"] = {
            "Type": "LINEAR",
            "WaitIntervalInSeconds": 300,
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        }

    scenario = with_answers(HARDENED, DescribeEndpoint=modified(ENDPOINT, linear))
    reason(run(scenario, alarms(recent), checks=(GUARDRAILS,)), GUARDRAILS, "PASS")


def test_guardrails_are_an_error_on_a_state_or_routing_type_aws_does_not_define() -> None:
    result = run(alarm_answer=alarms(lambda a: a.update(StateValue="PAUSED")), checks=(GUARDRAILS,))
    assert "StateValue is 'PAUSED'" in reason(result, GUARDRAILS, "ERROR")

    def unknown(endpoint: dict[str, Any]) -> None:
        policy = endpoint["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]
        policy["TrafficRoutingConfiguration"]["Type"] = "SHADOW"

    scenario = with_answers(HARDENED, DescribeEndpoint=modified(ENDPOINT, unknown))
    assert "Type is 'SHADOW'" in reason(run(scenario, checks=(GUARDRAILS,)), GUARDRAILS, "ERROR")


# ---- sagemaker-data-capture ------------------------------------------------------------------


def test_data_capture_fails_when_off_sampled_low_or_in_another_bucket() -> None:
    off = run(_config(lambda c: c.pop("DataCaptureConfig")), checks=(CAPTURE,))
    assert "captures no data (no DataCaptureConfig)" in reason(off, CAPTURE, "FAIL")
    low = run(_config(lambda c: c["DataCaptureConfig"].update(InitialSamplingPercentage=20)))
    assert "captures 20% of requests, below --min-capture-percent 100" in reason(
        low, CAPTURE, "FAIL"
    )
    elsewhere = run(checks=(CAPTURE,), capture_buckets=("audit-bucket",))
    assert "not in --capture-bucket (audit-bucket)" in reason(elsewhere, CAPTURE, "FAIL")


def test_data_capture_is_an_error_without_capture_options() -> None:
    result = run(_config(lambda c: c["DataCaptureConfig"].pop("CaptureOptions")), checks=(CAPTURE,))
    assert "CaptureOptions is missing" in reason(result, CAPTURE, "ERROR")


# ---- sagemaker-model-card --------------------------------------------------------------------

CARD_FIXTURE = "sagemaker/DescribeModelCard.metadata-only.json"


def _card(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    return with_answers(HARDENED, DescribeModelCard=modified(CARD_FIXTURE, edit))


def test_model_card_fails_unapproved_for_another_version_or_without_a_package() -> None:
    draft = run(_card(lambda c: c.update(ModelCardStatus="PendingReview")), checks=(CARD,))
    assert "is PendingReview, not Approved" in reason(draft, CARD, "FAIL")
    other = run(_card(lambda c: c.update(Content='{"model_package_details": {}}')), checks=(CARD,))
    assert "documents no model_package_details.model_package_arn" in reason(other, CARD, "FAIL")
    plain = with_answers(HARDENED, DescribeModel=GUIDE_BASIC["sagemaker:DescribeModel"])
    assert "runs no Model Registry package" in reason(run(plain, checks=(CARD,)), CARD, "FAIL")


def test_model_card_registered_with_the_version_is_judged_without_model_card() -> None:
    package = "sagemaker/DescribeModelPackage.guide-approved.json"
    scenario = with_answers(
        HARDENED,
        DescribeModelPackage=modified(
            package, lambda p: p.update(ModelCard={"ModelCardStatus": "Draft"})
        ),
    )
    result = run(scenario, checks=(CARD,), model_card=None)
    assert "has a model card that is Draft, not Approved" in reason(result, CARD, "FAIL")
    assert "sagemaker:DescribeModelCard" not in result.world.ops_called()


def test_model_card_is_an_error_without_a_status() -> None:
    result = run(_card(lambda c: c.pop("ModelCardStatus")), checks=(CARD,))
    assert "ModelCardStatus is missing" in reason(result, CARD, "ERROR")


def test_model_card_fails_an_inference_component_that_runs_its_own_container() -> None:
    """The endpoint serves two components: one deploys the packaged model (its card is
    Approved and names the version), the other an image with its own container. No card
    documents that one, so the check never passes on the other's card."""
    scenario = with_answers(
        HARDENED,
        DescribeEndpoint="sagemaker/DescribeEndpoint.inference-components-inservice.json",
        DescribeEndpointConfig="sagemaker/DescribeEndpointConfig.inference-components.json",
        ListInferenceComponents="sagemaker/ListInferenceComponents.guide-two-components.json",
        DescribeInferenceComponent=[
            "sagemaker/DescribeInferenceComponent.guide-model.json",
            "sagemaker/DescribeInferenceComponent.guide-image.json",
        ],
    )
    result = run(scenario, checks=(CARD,))
    assert "run a container of their own, not a Model Registry package" in reason(
        result, CARD, "FAIL"
    )
