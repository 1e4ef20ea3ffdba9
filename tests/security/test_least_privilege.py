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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from security.iam_eval import allowed as iam_allowed
from security.iam_eval import as_list, printed_policy, resource_arns, wildcard
from soc2gate.aws import ACTION_OF_OPERATION, OPERATION_SERVICE, AwsClients
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


def statements() -> list[dict[str, Any]]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    return list(policy["Statement"])


def granted_actions() -> set[str]:
    return {a for s in statements() if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def allowed(action: str, resource: str) -> bool:
    """IAM's decision for one action on one resource under the example policy."""
    return iam_allowed(statements(), action, resource)


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
            # CloudWatch signs as "monitoring"; its IAM actions are "cloudwatch:".
            signing = client.meta.service_model.signing_name
            prefix = {"monitoring": "cloudwatch"}.get(signing, signing)

            def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
                # ``params`` is the serialized request: for these JSON-protocol services its
                # body is the API parameters exactly as AWS receives them.
                body = json.loads(params.get("body") or b"{}")
                if not body and params.get("query_string"):  # a REST call's parameters
                    body = dict(params["query_string"])
                recording.client.add((signing, model.name))
                # The IAM action (ListImageReferrers is authorized by ecr:BatchGetImage).
                name = ACTION_OF_OPERATION.get(model.name, f"{prefix}:{model.name}")
                for resource in resource_arns(prefix, model.name, body, REGION, GUIDE_ACCOUNT_ID):
                    recording.calls.add((name, resource))

            client.meta.events.register("before-call", before_call)
        return client

    report = run_gate(config, clients=clients, progress=None, environ=dict(world.env()))
    recording.exit_code = int(report.exit_code)
    recording.server = set(world.calls_by_service)
    return recording


#: examples/iam-policy.json is the guide's single-account deployment; a central registry's
#: policies are generated per configuration and proven in test_registry_iam_policy.py.
OTHER_POLICY = {"central-registry", "central-registry-enhanced", "central-registry-no-role"}
RUNS = {name: (name, ()) for name in SCENARIOS if name not in OTHER_POLICY} | VARIANTS


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


def test_the_policy_grants_nothing_the_gate_never_calls(
    recordings: dict[str, Recording], evidence_recording: Recording
) -> None:
    called = {action for r in recordings.values() for action, _ in r.calls}
    called |= {action for action, _ in evidence_recording.calls}
    unused = {
        granted
        for granted in granted_actions()
        if not any(wildcard(granted, ignore_case=True).match(a) for a in called)
    }
    assert unused - set(NOT_YET_EXERCISED) == set(), (
        f"granted but never called in any scenario: {sorted(unused)}"
    )
    exercised = set(NOT_YET_EXERCISED) - unused
    assert exercised == set(), f"now exercised, prune NOT_YET_EXERCISED: {sorted(exercised)}"


def test_the_policy_is_read_only() -> None:
    """Read-only, but for the optional evidence statements (signing and upload, issue 13)."""
    reads = {
        a
        for s in statements()
        if not s.get("Sid", "").startswith(EVIDENCE_SID)
        for a in as_list(s["Action"])
    }
    for action in reads:
        verb = action.split(":", 1)[1]
        assert verb.startswith(("Describe", "Get", "List", "BatchGet")), action
        assert "*" not in verb, f"{action}: name actions, no wildcards"


# ---- the optional evidence statements (issue 13) ----------------------------------------------

#: Statements of examples/iam-policy.json needed only with --sign-kms-key / --evidence-s3.
EVIDENCE_SID = "OptionalEvidence"
EVIDENCE_ACTIONS = {
    "kms:GetPublicKey",
    "kms:Sign",
    "s3:GetBucketObjectLockConfiguration",
    "s3:PutObject",
    "s3:PutObjectRetention",
    "kms:GenerateDataKey",  # S3 calls it for the caller to encrypt with SSE-KMS
}
EVIDENCE_BUCKET = f"soc2gate-evidence-{GUIDE_ACCOUNT_ID}"
#: The policy's placeholder key ids, which the moto keys' ids are mapped onto.
SIGNING_KEY_ID = "0a1b2c3d-0000-4000-8000-5161676e6b65"
ENCRYPTION_KEY_ID = "0a1b2c3d-0000-4000-8000-656e63727970"


@pytest.fixture(scope="module")
def evidence_recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """A signed run that uploads with SSE-KMS and retention, its AWS calls recorded."""
    from datetime import datetime, timezone

    from soc2gate.report.evidence_store import EvidenceOutput

    tmp = tmp_path_factory.mktemp("evidence")
    recording = Recording()
    scenario = SCENARIOS["healthy"]
    with MotoWorld() as world, pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in world.env().items():
            monkeypatch.setenv(key, value)
        scenario.prepare(world)
        kms = world.client("kms", counted=False)
        signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        kms.create_alias(AliasName="alias/soc2gate-evidence", TargetKeyId=signing["KeyId"])
        data = kms.create_key()["KeyMetadata"]
        placeholder = {signing["KeyId"]: SIGNING_KEY_ID, data["KeyId"]: ENCRYPTION_KEY_ID}
        world.client("s3", counted=False).create_bucket(
            Bucket=EVIDENCE_BUCKET, ObjectLockEnabledForBucket=True
        )
        args = [
            *scenario.gate_args(world),
            "--evidence", str(tmp / "evidence.json"),
            "--sign-kms-key", "alias/soc2gate-evidence",
            "--evidence-s3", f"s3://{EVIDENCE_BUCKET}/soc2gate",
            "--evidence-kms-key", data["Arn"],
            "--evidence-retention", "400d",
        ]  # fmt: skip
        config = build_config({}, _flag_values(build_parser().parse_args(["run", *args])))

        def key_arn(key: str) -> str:
            if key.startswith("alias/"):
                key = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]
            key_id = placeholder[key.rsplit("/", 1)[-1]]
            return f"arn:aws:kms:{REGION}:{GUIDE_ACCOUNT_ID}:key/{key_id}"

        def before(params: dict[str, Any], model: Any, **_: Any) -> None:
            service = model.service_model.signing_name
            recording.client.add((service, model.name))
            if service == "kms":
                recording.calls.add((f"kms:{model.name}", key_arn(params["KeyId"])))
            elif model.name == "GetObjectLockConfiguration":
                bucket = f"arn:aws:s3:::{params['Bucket']}"
                recording.calls.add(("s3:GetBucketObjectLockConfiguration", bucket))
            elif model.name == "PutObject":
                obj = f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
                recording.calls.add(("s3:PutObject", obj))
                if params.get("ObjectLockRetainUntilDate"):
                    recording.calls.add(("s3:PutObjectRetention", obj))
                if params.get("SSEKMSKeyId"):
                    recording.calls.add(("kms:GenerateDataKey", key_arn(params["SSEKMSKeyId"])))
            else:
                recording.calls.add((f"{service}:{model.name}", "?"))

        factory = AwsClients(region=config.region)

        def clients(service: str, region: str | None) -> Any:
            client = factory(service)
            client.meta.events.register_first("before-parameter-build", before, unique_id="lp")
            return client

        report = run_gate(config, progress=None, environ=dict(world.env()))
        world.reset_calls()
        out = EvidenceOutput.prepare(config, dict(world.env()), clients=clients)
        assert out is not None
        now = datetime.now(timezone.utc)
        code = out.build(report, now, now, int(report.exit_code))
        out.write(str(tmp / "evidence.json"), code)
        recording.exit_code = out.upload(code, None, now)
        assert len(out.uploaded) == 1, out.uploaded
        recording.server = set(world.calls_by_service)
    yield recording


def test_the_evidence_run_signed_and_uploaded(evidence_recording: Recording) -> None:
    assert evidence_recording.exit_code == 0
    # The server counts JSON-protocol operations (KMS), not S3's REST ones.
    kms = {op for op in evidence_recording.client if op[0] == "kms"}
    assert kms == evidence_recording.server
    assert {a for a, _ in evidence_recording.calls} == EVIDENCE_ACTIONS


def test_every_evidence_call_is_allowed_by_the_policy(evidence_recording: Recording) -> None:
    denied = sorted(c for c in evidence_recording.calls if not allowed(*c))
    assert denied == [], "examples/iam-policy.json would deny:\n" + "\n".join(map(str, denied))
    assert not allowed("s3:PutObject", f"arn:aws:s3:::{EVIDENCE_BUCKET}/other/evidence.json")
    assert not allowed("s3:DeleteObject", f"arn:aws:s3:::{EVIDENCE_BUCKET}/soc2gate/x")
    assert not allowed(
        "kms:Sign", f"arn:aws:kms:{REGION}:{GUIDE_ACCOUNT_ID}:key/{ENCRYPTION_KEY_ID}"
    )


def test_iam_policy_grants_exactly_the_evidence_calls(evidence_recording: Recording) -> None:
    """``soc2gate iam-policy`` for the same evidence options allows each recorded call (with
    the signing key's aliases as KMS reports them: it is named by alias) and grants no other
    write."""
    args = [
        "--region", REGION, "--endpoint", "ep", "--log-lines", "0",
        "--evidence", "evidence.json",
        "--sign-kms-key", "alias/soc2gate-evidence",
        "--evidence-s3", f"s3://{EVIDENCE_BUCKET}/soc2gate",
        "--evidence-kms-key", f"arn:aws:kms:{REGION}:{GUIDE_ACCOUNT_ID}:key/{ENCRYPTION_KEY_ID}",
        "--evidence-retention", "400d",
    ]  # fmt: skip
    policy = printed_policy(args, GUIDE_ACCOUNT_ID, REGION)
    aliases = {SIGNING_KEY_ID: ["alias/soc2gate-evidence"], ENCRYPTION_KEY_ID: []}

    def context(resource: str) -> dict[str, list[str]]:
        key = resource.rsplit("key/", 1)[-1] if ":kms:" in resource else ""
        return {"kms:ResourceAliases": aliases[key]} if key else {}

    denied = sorted(
        (action, resource)
        for action, resource in evidence_recording.calls
        if not iam_allowed(policy["Statement"], action, resource, context(resource))
    )
    assert denied == [], f"iam-policy would deny: {denied}"
    written = {
        action
        for statement in policy["Statement"]
        if statement["Sid"].startswith("Soc2gateEvidence")
        for action in as_list(statement["Action"])
    }
    assert written == {action for action, _ in evidence_recording.calls} == EVIDENCE_ACTIONS
    # The alias condition holds for that key only, not for the account's other keys.
    data_key = f"arn:aws:kms:{REGION}:{GUIDE_ACCOUNT_ID}:key/{ENCRYPTION_KEY_ID}"
    assert not iam_allowed(policy["Statement"], "kms:Sign", data_key, context(data_key))


def test_only_the_optional_evidence_statements_write() -> None:
    optional = [s for s in statements() if s.get("Sid", "").startswith(EVIDENCE_SID)]
    assert {a for s in optional for a in as_list(s["Action"])} == EVIDENCE_ACTIONS
    for statement in optional:
        assert "*" not in json.dumps(statement["Resource"]).replace("/soc2gate/*", ""), statement


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
