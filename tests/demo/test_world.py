"""MotoWorld and the scenario library, exercised with boto3 against the running moto server.

Responses are checked against the botocore service model twice: boto3 must parse them, and the
raw JSON bodies must pass botocore's ParamValidator against the operation's output shape (which
rejects unknown keys and wrong types).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import botocore.validate
import pytest

pytest.importorskip("moto")

from soc2gate.demo import scenarios
from soc2gate.demo.scenarios import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    FIRST_BUILD_DIGEST,
    FOREIGN_REPOSITORY,
    FOREIGN_TAG,
    GATED_DIGEST,
    MODEL_NAME,
    MODEL_PREFIX,
    OLDER_MODEL_NAME,
    REPOSITORY,
    SCENARIOS,
    TAG_DEV_LATEST,
    TAG_DEV_SHA,
    TAG_LATEST,
    Scenario,
)
from soc2gate.demo.world import (
    SCAN_STATUSES,
    MotoWorld,
    aws_error,
    build_image,
    fail_calls,
    finding,
    variant,
)

REPO = "defender-image-analyzer-soc2"


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        yield w


def capture_raw(client: Any, service: str, operation: str) -> list[dict[str, Any]]:
    """Collect the raw JSON bodies of every successful ``operation`` response."""
    bodies: list[dict[str, Any]] = []

    def grab(http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            bodies.append(json.loads(http_response.content or b"{}"))

    client.meta.events.register(f"after-call.{service}.{operation}", grab)
    return bodies


def assert_matches_model(client: Any, operation: str, body: dict[str, Any]) -> None:
    shape = client.meta.service_model.operation_model(operation).output_shape
    report = botocore.validate.ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


def _image(world: MotoWorld, tags: list[str] | None = None) -> str:
    world.create_repository(REPO)
    return world.push_image(REPO, tags or ["soc2-dev-latest", "soc2-latest"])


# ---- lifecycle ----------------------------------------------------------------------------------


def test_world_starts_on_a_free_port_and_sequential_worlds_do_not_share_state() -> None:
    with MotoWorld() as first:
        assert first.endpoint_url.startswith("http://127.0.0.1:")
        assert first.port > 0
        assert first.region == "us-east-1" and first.account_id == "123456789012"
        first.create_repository(REPO)
        first.on_call("DescribeRepositories", 1, lambda w: None)
        with pytest.raises(RuntimeError, match="another MotoWorld"):
            MotoWorld().start()
    with MotoWorld() as second:
        repos = second.client("ecr").describe_repositories()["repositories"]
        assert repos == []
        assert second.calls["DescribeRepositories"] == 1


def test_env_points_an_sdk_at_the_world(world: MotoWorld) -> None:
    env = world.env()
    assert env["AWS_ENDPOINT_URL"] == world.endpoint_url
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_importing_soc2gate_never_imports_moto() -> None:
    code = (
        "import sys, soc2gate, soc2gate.cli, soc2gate.demo, soc2gate.demo.scenarios; "
        "assert 'moto' not in sys.modules, sorted(m for m in sys.modules if 'moto' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- ECR: repository, images ------------------------------------------------------------------


def test_repository_and_scanning_configuration(world: MotoWorld) -> None:
    world.create_repository(REPO, scan_on_push=False, encryption="KMS", kms_key="arn:aws:kms:k")
    world.create_repository("other-repo", scan_on_push=True, tag_mutability="IMMUTABLE")
    ecr = world.client("ecr")
    repo = ecr.describe_repositories(repositoryNames=[REPO])["repositories"][0]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:k"}
    confs = ecr.batch_get_repository_scanning_configuration(repositoryNames=[REPO, "other-repo"])[
        "scanningConfigurations"
    ]
    by_name = {c["repositoryName"]: c for c in confs}
    assert by_name[REPO]["scanFrequency"] == "MANUAL" and not by_name[REPO]["scanOnPush"]
    assert by_name["other-repo"]["scanFrequency"] == "SCAN_ON_PUSH"

    rule = {
        "scanFrequency": "CONTINUOUS_SCAN",
        "repositoryFilters": [{"filter": "defender-*", "filterType": "WILDCARD"}],
    }
    world.set_registry_scanning("ENHANCED", [rule])
    reg = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    assert reg["scanType"] == "ENHANCED" and reg["rules"] == [rule]
    conf = ecr.batch_get_repository_scanning_configuration(repositoryNames=[REPO])
    applied = conf["scanningConfigurations"][0]
    assert applied["scanFrequency"] == "CONTINUOUS_SCAN"
    assert applied["appliedScanFilters"] == rule["repositoryFilters"]


def test_push_image_puts_all_tags_on_one_schema2_digest(world: MotoWorld) -> None:
    digest = _image(world, ["soc2-dev-latest", "soc2-dev-abc", "soc2-latest"])
    ecr = world.client("ecr")
    raw = capture_raw(ecr, "ecr", "DescribeImages")
    details = ecr.describe_images(repositoryName=REPO)["imageDetails"]
    assert len(details) == 1
    assert details[0]["imageDigest"] == digest
    assert sorted(details[0]["imageTags"]) == ["soc2-dev-abc", "soc2-dev-latest", "soc2-latest"]
    assert details[0]["imageSizeInBytes"] > 10_000_000
    assert_matches_model(ecr, "DescribeImages", raw[0])

    image = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "soc2-latest"}])
    manifest_text = image["images"][0]["imageManifest"]
    assert "sha256:" + hashlib.sha256(manifest_text.encode()).hexdigest() == digest
    manifest = json.loads(manifest_text)
    assert manifest["schemaVersion"] == 2 and len(manifest["layers"]) == 3
    assert manifest["config"]["digest"] == world.pushed(REPO, digest).config_digest


def test_config_blob_is_downloadable_like_ecr(world: MotoWorld) -> None:
    digest = _image(world)
    ecr = world.client("ecr")
    pushed = world.pushed(REPO, digest)
    url = ecr.get_download_url_for_layer(repositoryName=REPO, layerDigest=pushed.config_digest)[
        "downloadUrl"
    ]
    with urllib.request.urlopen(url, timeout=5) as resp:
        blob = resp.read()
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == pushed.config_digest
    assert json.loads(blob)["config"]["User"] == "1000"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ecr.get_download_url_for_layer(repositoryName=REPO, layerDigest="sha256:" + "0" * 64)
    assert err.value.response["Error"]["Code"] == "LayersNotFoundException"
    avail = ecr.batch_check_layer_availability(
        repositoryName=REPO, layerDigests=pushed.layer_digests
    )
    assert [la["layerAvailability"] for la in avail["layers"]] == ["AVAILABLE"] * 3


def test_moved_tag_resolves_to_the_new_image_and_the_old_one_stays(world: MotoWorld) -> None:
    old = _image(world, ["soc2-dev-latest"])
    new = world.push_image(REPO, ["soc2-dev-latest", "soc2-dev-new"], revision="new")
    assert old != new
    world.set_scan(REPO, old, findings=[finding("CVE-2024-5535", "CRITICAL")])
    world.set_scan(REPO, new, findings=[finding("CVE-2023-2650", "MEDIUM")])
    ecr = world.client("ecr")
    by_tag = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "soc2-dev-latest"}])
    assert [d["imageDigest"] for d in by_tag["imageDetails"]] == [new]
    untagged = ecr.list_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})
    assert untagged["imageIds"] == [{"imageDigest": old}]
    resp = ecr.describe_image_scan_findings(
        repositoryName=REPO, imageId={"imageTag": "soc2-dev-latest"}
    )
    assert resp["imageId"] == {"imageDigest": new, "imageTag": "soc2-dev-latest"}
    assert [f["name"] for f in resp["imageScanFindings"]["findings"]] == ["CVE-2023-2650"]


# ---- ECR: scan scripting ----------------------------------------------------------------------


def test_scan_goes_in_progress_to_complete_on_the_second_call(world: MotoWorld) -> None:
    digest = _image(world)
    world.set_scan(REPO, digest, status="IN_PROGRESS")
    findings = [finding("CVE-2023-2650", "MEDIUM"), finding("CVE-2016-2781", "LOW")]
    world.on_call(
        "DescribeImageScanFindings",
        2,
        lambda w: w.set_scan(REPO, digest, status="COMPLETE", findings=findings),
    )
    ecr = world.client("ecr")
    raw = capture_raw(ecr, "ecr", "DescribeImageScanFindings")
    image_id = {"imageTag": "soc2-dev-latest"}

    first = ecr.describe_image_scan_findings(repositoryName=REPO, imageId=image_id)
    assert first["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in first
    detail = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindingsSummary" not in detail

    second = ecr.describe_image_scan_findings(repositoryName=REPO, imageId=image_id)
    assert second["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully.",
    }
    body = second["imageScanFindings"]
    assert body["findingSeverityCounts"] == {"MEDIUM": 1, "LOW": 1}
    assert body["findings"][0] == {
        "name": "CVE-2023-2650",
        "description": findings[0]["description"],
        "uri": "https://nvd.nist.gov/vuln/detail/CVE-2023-2650",
        "severity": "MEDIUM",
        "attributes": [
            {"key": "package_version", "value": "3.0.2"},
            {"key": "package_name", "value": "openssl"},
            {"key": "CVSS3_SCORE", "value": "5.3"},
        ],
    }
    detail = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == {"MEDIUM": 1, "LOW": 1}
    assert (
        detail["imageScanFindingsSummary"]["imageScanCompletedAt"] == body["imageScanCompletedAt"]
    )
    for item in raw:
        assert_matches_model(ecr, "DescribeImageScanFindings", item)
    assert world.calls["DescribeImageScanFindings"] == 2


def test_basic_findings_page_with_next_token_and_paginator(world: MotoWorld) -> None:
    digest = _image(world)
    many = [finding(f"CVE-2023-{1000 + i}", "LOW" if i % 2 else "MEDIUM") for i in range(7)]
    world.set_scan(REPO, digest, findings=many, page_size=3)
    ecr = world.client("ecr")
    raw = capture_raw(ecr, "ecr", "DescribeImageScanFindings")
    kwargs: dict[str, Any] = {"repositoryName": REPO, "imageId": {"imageDigest": digest}}

    names: list[str] = []
    pages = 0
    token = None
    while True:
        resp = ecr.describe_image_scan_findings(
            **kwargs, maxResults=1000, **({"nextToken": token} if token else {})
        )
        pages += 1
        assert resp["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 4, "LOW": 3}
        names += [f["name"] for f in resp["imageScanFindings"]["findings"]]
        token = resp.get("nextToken")
        if not token:
            break
    assert pages == 3
    assert names == [f["id"] for f in many]

    two = ecr.describe_image_scan_findings(**kwargs, maxResults=2)
    assert len(two["imageScanFindings"]["findings"]) == 2

    paginator = ecr.get_paginator("describe_image_scan_findings")
    collected = [
        f["name"]
        for page in paginator.paginate(**kwargs)
        for f in page["imageScanFindings"]["findings"]
    ]
    assert collected == names
    for item in raw:
        assert_matches_model(ecr, "DescribeImageScanFindings", item)

    with pytest.raises(botocore.exceptions.ClientError) as err:
        ecr.describe_image_scan_findings(**kwargs, nextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_enhanced_findings_match_the_service_model(world: MotoWorld) -> None:
    digest = _image(world)
    items = [
        finding("CVE-2023-0465", "MEDIUM", fixed_in="3.0.9"),
        finding("CVE-2016-2781", "LOW", package="coreutils", fix_available="NO"),
        finding("CVE-2023-5363", "HIGH", fix_available="PARTIAL"),
        finding("CVE-2024-9999", "UNTRIAGED"),
    ]
    world.set_scan(REPO, digest, status="ACTIVE", findings=items, enhanced=True, page_size=3)
    ecr = world.client("ecr")
    raw = capture_raw(ecr, "ecr", "DescribeImageScanFindings")
    paginator = ecr.get_paginator("describe_image_scan_findings")
    pages = list(paginator.paginate(repositoryName=REPO, imageId={"imageDigest": digest}))
    assert len(pages) == 2
    got = [f for p in pages for f in p["imageScanFindings"]["enhancedFindings"]]
    assert [f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in got] == [
        "CVE-2023-0465",
        "CVE-2016-2781",
        "CVE-2023-5363",
        "CVE-2024-9999",
    ]
    first = got[0]
    assert first["awsAccountId"] == world.account_id
    assert first["findingArn"].startswith("arn:aws:inspector2:us-east-1:123456789012:finding/")
    assert first["status"] == "ACTIVE" and first["type"] == "PACKAGE_VULNERABILITY"
    assert first["fixAvailable"] == "YES" and first["exploitAvailable"] == "NO"
    assert first["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"] == "openssl"
    assert first["packageVulnerabilityDetails"]["vulnerablePackages"][0]["version"] == "3.0.2"
    assert first["packageVulnerabilityDetails"]["sourceUrl"].endswith("CVE-2023-0465")
    assert first["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"] == digest
    assert got[2]["fixAvailable"] == "PARTIAL"
    assert pages[0]["imageScanFindings"]["findingSeverityCounts"] == {
        "MEDIUM": 1,
        "LOW": 1,
        "HIGH": 1,
        "UNTRIAGED": 1,
    }
    assert pages[0]["imageScanStatus"]["status"] == "ACTIVE"
    for item in raw:
        assert_matches_model(ecr, "DescribeImageScanFindings", item)


@pytest.mark.parametrize("status", [s for s in SCAN_STATUSES if s not in ("COMPLETE", "ACTIVE")])
def test_every_unfinished_status_is_reported_without_findings(
    world: MotoWorld, status: str
) -> None:
    digest = _image(world)
    world.set_scan(REPO, digest, status=status, description=f"about {status}")
    ecr = world.client("ecr")
    resp = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})
    assert resp["imageScanStatus"] == {"status": status, "description": f"about {status}"}
    assert "imageScanFindings" not in resp and "nextToken" not in resp
    detail = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == status


def test_scan_not_found_has_the_real_error_shape(world: MotoWorld) -> None:
    digest = _image(world)
    world.set_scan_not_found(REPO, "soc2-dev-latest")
    ecr = world.client("ecr")
    with pytest.raises(ecr.exceptions.ScanNotFoundException) as err:
        ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})
    error = err.value.response["Error"]
    assert error["Code"] == "ScanNotFoundException"
    assert REPO in error["Message"] and "123456789012" in error["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    detail = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert "imageScanStatus" not in detail


def test_set_scan_rejects_unknown_status(world: MotoWorld) -> None:
    digest = _image(world)
    with pytest.raises(ValueError, match="unknown scan status"):
        world.set_scan(REPO, digest, status="DONE")


# ---- SageMaker --------------------------------------------------------------------------------


def test_endpoint_status_change_and_deployed_images(world: MotoWorld) -> None:
    _image(world, ["soc2-dev-abc"])
    image = world.image_uri(REPO, tag="soc2-dev-abc")
    world.create_model("m-1", {"SOC2_COMPLIANT": "true"}, image=image)
    world.create_endpoint_config("cfg-1", [variant("m-1", "ml.c5.large")])
    world.create_endpoint("ep-1", "cfg-1")
    sm = world.client("sagemaker")
    raw = capture_raw(sm, "sagemaker", "DescribeEndpoint")

    assert sm.describe_endpoint(EndpointName="ep-1")["EndpointStatus"] == "Creating"
    deployed = world.deployed_image(REPO, "soc2-dev-abc")
    world.set_endpoint("ep-1", status="InService", deployed_images=[deployed])
    resp = sm.describe_endpoint(EndpointName="ep-1")
    assert resp["EndpointStatus"] == "InService" and "FailureReason" not in resp
    images = resp["ProductionVariants"][0]["DeployedImages"]
    assert images[0]["SpecifiedImage"] == image
    assert images[0]["ResolvedImage"] == world.image_uri(
        REPO, digest=world.resolve_digest(REPO, "soc2-dev-abc")
    )
    assert "ResolutionTime" in images[0]

    world.set_endpoint("ep-1", status="Failed", failure_reason="image pull failed")
    resp = sm.describe_endpoint(EndpointName="ep-1")
    assert (resp["EndpointStatus"], resp["FailureReason"]) == ("Failed", "image pull failed")
    for item in raw:
        assert_matches_model(sm, "DescribeEndpoint", item)

    world.delete_endpoint("ep-1")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.describe_endpoint(EndpointName="ep-1")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find endpoint" in err.value.response["Error"]["Message"]


def test_set_endpoint_can_switch_config_and_serverless_variants(world: MotoWorld) -> None:
    world.create_model("m-a", {}, image="img:a")
    world.create_model(
        "m-b", {"SOC2_COMPLIANT": "true"}, containers=[{"Image": "img:b"}, {"Image": "img:c"}]
    )
    world.create_endpoint_config("cfg-a", [("m-a", "ml.c5.large")])
    world.create_endpoint_config(
        "cfg-b", [variant("m-b", serverless={"MemorySizeInMB": 2048, "MaxConcurrency": 5})]
    )
    world.create_endpoint("ep", "cfg-a", status="InService")
    world.set_endpoint("ep", status="Updating")
    world.set_endpoint("ep", status="InService", config_name="cfg-b")
    sm = world.client("sagemaker")
    raw_cfg = capture_raw(sm, "sagemaker", "DescribeEndpointConfig")
    raw_model = capture_raw(sm, "sagemaker", "DescribeModel")
    resp = sm.describe_endpoint(EndpointName="ep")
    assert resp["EndpointConfigName"] == "cfg-b"
    assert resp["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"] == 2048
    model = sm.describe_model(ModelName="m-b")
    assert [c["Environment"] for c in model["Containers"]] == [{"SOC2_COMPLIANT": "true"}] * 2
    cfg = sm.describe_endpoint_config(EndpointConfigName="cfg-a")
    assert cfg["ProductionVariants"][0]["InstanceType"] == "ml.c5.large"
    sm.describe_endpoint_config(EndpointConfigName="cfg-b")
    sm.describe_model(ModelName="m-a")
    for item in raw_cfg:
        assert_matches_model(sm, "DescribeEndpointConfig", item)
    for item in raw_model:
        assert_matches_model(sm, "DescribeModel", item)


def test_list_models_honours_name_contains_sort_and_paging(world: MotoWorld) -> None:
    SCENARIOS["healthy"].setup(world)
    world.create_model("unrelated-model", {}, image="img:x")
    sm = world.client("sagemaker")
    raw = capture_raw(sm, "sagemaker", "ListModels")
    resp = sm.list_models(NameContains=MODEL_PREFIX)
    assert [m["ModelName"] for m in resp["Models"]] == [MODEL_NAME, OLDER_MODEL_NAME]
    asc = sm.list_models(NameContains=MODEL_PREFIX, SortBy="CreationTime", SortOrder="Ascending")
    assert [m["ModelName"] for m in asc["Models"]] == [OLDER_MODEL_NAME, MODEL_NAME]
    first = sm.list_models(MaxResults=1)
    assert len(first["Models"]) == 1 and "NextToken" in first
    everything = [
        m["ModelName"] for p in sm.get_paginator("list_models").paginate() for m in p["Models"]
    ]
    assert sorted(everything) == sorted([MODEL_NAME, OLDER_MODEL_NAME, "unrelated-model"])
    configs = sm.list_endpoint_configs(NameContains=MODEL_PREFIX)["EndpointConfigs"]
    assert configs[0]["EndpointConfigName"] == ENDPOINT_CONFIG
    for item in raw:
        assert_matches_model(sm, "ListModels", item)


# ---- CloudWatch Logs --------------------------------------------------------------------------


def test_endpoint_logs_are_readable_like_the_guide_says(world: MotoWorld) -> None:
    group = world.put_endpoint_logs("ep-x", ["line one", "line two"])
    world.put_endpoint_logs("ep-x", ["line three"])
    logs = world.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/ep-x")
    assert [g["logGroupName"] for g in groups["logGroups"]] == [group]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["AllTraffic/i-0abc123def4567890"]
    events = logs.get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"])
    assert [e["message"] for e in events["events"]] == ["line one", "line two", "line three"]


# ---- hooks, counters, faults, timeline --------------------------------------------------------


def test_calls_are_counted_per_operation_and_seeding_is_not(world: MotoWorld) -> None:
    _image(world)
    assert world.calls == {}
    ecr = world.client("ecr")
    sm = world.client("sagemaker")

    def hammer() -> None:
        for _ in range(5):
            ecr.describe_images(repositoryName=REPO)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(botocore.exceptions.ClientError):
        sm.describe_endpoint(EndpointName="nope")
    world.client("sts").get_caller_identity()
    assert world.calls["DescribeImages"] == 30
    assert world.calls["DescribeEndpoint"] == 1
    assert world.calls["GetCallerIdentity"] == 1
    assert world.calls_by_service[("ecr", "DescribeImages")] == 30
    assert world.calls_by_service[("sts", "GetCallerIdentity")] == 1
    world.reset_calls()
    assert world.calls == {}


def test_on_call_runs_before_the_nth_answer_only(world: MotoWorld) -> None:
    _image(world)
    seen: list[int] = []
    world.on_call("DescribeRepositories", 3, lambda w: seen.append(w.calls["DescribeRepositories"]))
    ecr = world.client("ecr")
    for _ in range(5):
        ecr.describe_repositories()
    assert seen == [3]
    with pytest.raises(ValueError):
        world.on_call("DescribeRepositories", 0, lambda w: None)


def test_failing_hook_is_reported_on_exit() -> None:
    def boom(w: MotoWorld) -> None:
        raise RuntimeError("hook exploded")

    with pytest.raises(RuntimeError, match="hook exploded"), MotoWorld() as w:
        w.on_call("DescribeRepositories", 1, boom)
        w.client("ecr").describe_repositories()
    assert w.hook_errors


def test_injected_fault_answers_only_the_chosen_calls(world: MotoWorld) -> None:
    world.create_model("m", {}, image="img")
    world.create_endpoint_config("c", [("m", "ml.c5.large")])
    world.create_endpoint("ep", "c")
    world.inject(
        "DescribeEndpoint",
        fail_calls({2}, aws_error("AccessDeniedException", "no sagemaker:DescribeEndpoint")),
    )
    sm = world.client("sagemaker")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.describe_endpoint(EndpointName="ep")
    assert err.value.response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": "no sagemaker:DescribeEndpoint",
    }
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    world.clear_faults()
    world.inject("DescribeEndpoint", lambda n: aws_error("InternalFailure", "boom", status=500))
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.describe_endpoint(EndpointName="ep")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert world.calls["DescribeEndpoint"] > 3  # botocore retried the 500s


def test_timeline_runs_steps_in_order_with_an_injected_sleep(world: MotoWorld) -> None:
    slept: list[float] = []
    events: list[str] = []
    order: list[str] = []
    steps = [
        (2.0, "second", lambda w: order.append("b")),
        (0.5, "first", lambda w: order.append("a")),
        (5.0, "third", lambda w: order.append("c")),
    ]
    timeline = world.run_timeline(steps, on_event=events.append, sleep=slept.append)
    timeline.join(5)
    assert order == ["a", "b", "c"]
    assert events == ["first", "second", "third"]
    assert slept == [0.5, 1.5, 3.0]


def test_timeline_reraises_an_action_error_and_can_be_stopped(world: MotoWorld) -> None:
    def bad(w: MotoWorld) -> None:
        raise KeyError("nope")

    timeline = world.run_timeline([(0.0, "bad", bad)])
    with pytest.raises(KeyError):
        timeline.join(5)
    slow = world.run_timeline([(60.0, "never", lambda w: None)])
    slow.stop()
    slow.join(5)
    assert not slow.running and slow.done == []


# ---- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_setup_and_triggers_run(world: MotoWorld, name: str) -> None:
    scenario = SCENARIOS[name]
    assert scenario.name == name and scenario.summary and scenario.expected_text
    assert scenario.expected_exit in (0, 1, 3)
    scenario.prepare(world)
    # The registry the scenario pushed to: the world's own, or a central one.
    ecr = world.client("ecr", region=world.registry_region)
    registry = {"registryId": world.registry_account}
    sm = world.client("sagemaker")
    tags = ecr.describe_images(
        repositoryName=REPOSITORY, imageIds=[{"imageTag": TAG_DEV_LATEST}], **registry
    )
    digest = tags["imageDetails"][0]["imageDigest"]
    assert TAG_DEV_SHA in tags["imageDetails"][0]["imageTags"]
    model = sm.describe_model(ModelName=MODEL_NAME)
    package = model["PrimaryContainer"].get("ModelPackageName")
    if package:  # a Model Registry model: the image is the package's
        spec = sm.describe_model_package(ModelPackageName=package)["InferenceSpecification"]
        assert spec["Containers"][0]["Image"].endswith(f"/{REPOSITORY}:{TAG_DEV_SHA}")
    elif name == "foreign-image":
        assert model["PrimaryContainer"]["Image"].endswith(f"/{FOREIGN_REPOSITORY}:{FOREIGN_TAG}")
    else:
        assert model["PrimaryContainer"]["Image"].endswith(f"/{REPOSITORY}:{TAG_DEV_SHA}")

    # Drive the triggers the way a polling gate would.
    image_id = {"imageDigest": digest}
    statuses = []
    for _ in range(2):
        try:
            resp = ecr.describe_image_scan_findings(
                repositoryName=REPOSITORY, imageId=image_id, **registry
            )
            statuses.append(resp["imageScanStatus"]["status"])
        except ecr.exceptions.ScanNotFoundException:
            statuses.append("NOT_FOUND")
    endpoint = []
    for _ in range(4):
        try:
            endpoint.append(sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"])
        except botocore.exceptions.ClientError:
            endpoint.append("NOT_FOUND")
    if name == "scanning-off":
        assert statuses == ["NOT_FOUND", "NOT_FOUND"]
    elif name == "stale-scan":  # pushed and scanned weeks ago: complete from the start
        assert statuses == ["COMPLETE", "COMPLETE"]
    elif "enhanced" in name:
        assert statuses == ["PENDING", "ACTIVE"]
    else:
        assert statuses == ["IN_PROGRESS", "COMPLETE"]
    final = {"endpoint-failed": "Failed", "endpoint-not-found": "NOT_FOUND"}.get(name, "InService")
    assert endpoint[0] == ("NOT_FOUND" if final == "NOT_FOUND" else "Creating")
    assert endpoint[-1] == final
    if final == "InService":
        # What the endpoint runs: the gated digest, except where the scenario says otherwise.
        variant = sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"][0]
        if "DeployedImages" in variant:
            resolved = variant["DeployedImages"][0]["ResolvedImage"]
        else:  # an inference-component endpoint: each component reports its DeployedImage
            (component,) = world.inference_components().values()
            assert component["InferenceComponentStatus"] == "InService"
            resolved = component["Specification"]["Container"]["DeployedImage"]["ResolvedImage"]
        expected = world.image_uri(REPOSITORY, digest=digest)
        if name in ("tag-moved", "inference-component-tag-moved", "unsigned-deploy"):
            expected = world.image_uri(REPOSITORY, digest=FIRST_BUILD_DIGEST)
        elif name == "foreign-image":
            foreign = world.resolve_digest(FOREIGN_REPOSITORY, FOREIGN_TAG)
            expected = world.image_uri(FOREIGN_REPOSITORY, digest=foreign)
        assert resolved == expected
    world.check()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_demo_timeline_reaches_the_same_end(name: str) -> None:
    scenario = SCENARIOS[name]
    total = max(at for at, _, _ in scenario.timeline_demo)
    assert 5 <= total <= 20
    with MotoWorld() as world:
        scenario.setup(world)
        events: list[str] = []
        world.run_timeline(
            scenario.timeline_demo, on_event=events.append, sleep=lambda s: None
        ).join(5)
        assert len(events) == len(scenario.timeline_demo)
        sm = world.client("sagemaker")
        if name == "endpoint-not-found":
            assert world.calls == {}
        else:
            status = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]
            assert status == ("Failed" if name == "endpoint-failed" else "InService")


def test_gate_args_carry_the_guide_flags() -> None:
    healthy: Scenario = SCENARIOS["healthy"]

    class FakeWorld:
        region = "us-east-1"

    args = healthy.gate_args(FakeWorld())  # type: ignore[arg-type]
    joined = " ".join(args)
    for expected in (
        "--region us-east-1",
        f"--repository {REPOSITORY}",
        f"--require-tag {TAG_DEV_LATEST}",
        "--require-tag soc2-dev-{sha}",
        f"--require-tag {TAG_LATEST}",
        f"--commit-sha {scenarios.COMMIT_SHA}",
        "--fail-on HIGH",
        "--require-env SOC2_COMPLIANT=true",
        "--require-env SECURITY_HARDENED=true",
        f"--endpoint {ENDPOINT}",
        "--instance-type ml.c5.large",
        "--poll-min 0.05s --poll-max 0.2s --timeout 60s",
    ):
        assert expected in joined
    assert "--endpoint-grace" in SCENARIOS["endpoint-not-found"].gate_args(FakeWorld())  # type: ignore[arg-type]
    assert "--poll-min 1s" in " ".join(healthy.gate_args(FakeWorld(), demo=True))  # type: ignore[arg-type]
    assert {
        "healthy",
        "critical-finding",
        "endpoint-failed",
        "wrong-instance-type",
        "missing-tag",
        "scanning-off",
        "missing-marker",
        "enhanced-paged",
        "enhanced-paged-high",
        "endpoint-not-found",
        "tag-moved",
        "foreign-image",
        "root-user",
    } <= set(SCENARIOS)
    root = " ".join(SCENARIOS["root-user"].gate_args(FakeWorld()))  # type: ignore[arg-type]
    assert "--enable ecr-image-user" in root
    assert "--enable" not in joined


# ---- issue 6: images the gate can compare and read ----------------------------------------------


def test_build_image_gives_the_digest_push_image_pushes(world: MotoWorld) -> None:
    world.create_repository(REPO)
    digest = world.push_image(REPO, ["a-tag"], "0:0", revision="r1", created="2026-01-01T00:00:00Z")
    built = build_image("0:0", revision="r1", created="2026-01-01T00:00:00Z")
    assert built.digest == digest
    assert built.config_digest == world.pushed(REPO, digest).config_digest
    assert build_image("0:0", revision="r1").digest != digest  # created changes the image


def test_scenario_digests_are_the_ones_pushed(world: MotoWorld) -> None:
    SCENARIOS["healthy"].setup(world)
    assert world.resolve_digest(REPOSITORY, TAG_DEV_SHA) == GATED_DIGEST


def test_tag_moved_leaves_the_first_build_untagged_in_the_repository(world: MotoWorld) -> None:
    SCENARIOS["tag-moved"].setup(world)
    assert world.resolve_digest(REPOSITORY, TAG_DEV_LATEST) == GATED_DIGEST != FIRST_BUILD_DIGEST
    ecr = world.client("ecr")
    untagged = ecr.list_images(repositoryName=REPOSITORY, filter={"tagStatus": "UNTAGGED"})
    assert untagged["imageIds"] == [{"imageDigest": FIRST_BUILD_DIGEST}]


def test_root_user_scenario_pushes_an_empty_user(world: MotoWorld) -> None:
    SCENARIOS["root-user"].setup(world)
    digest = world.resolve_digest(REPOSITORY, TAG_DEV_LATEST)
    assert world.pushed(REPOSITORY, digest).config["config"]["User"] == ""


def test_push_index_serves_an_oci_index_by_tag(world: MotoWorld) -> None:
    world.create_repository(REPO)
    amd = world.push_image(REPO, ["amd"], "1000", revision="amd")
    arm = world.push_image(REPO, ["arm"], "0", revision="arm")
    index = world.push_index(REPO, ["multi"], {"linux/arm64": arm, "linux/amd64": amd})
    ecr = world.client("ecr")
    image = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "multi"}])["images"][0]
    assert image["imageId"]["imageDigest"] == index
    assert image["imageManifestMediaType"] == "application/vnd.oci.image.index.v1+json"
    assert "sha256:" + hashlib.sha256(image["imageManifest"].encode()).hexdigest() == index
    body = json.loads(image["imageManifest"])
    assert [(m["platform"]["architecture"], m["digest"]) for m in body["manifests"]] == [
        ("arm64", arm),
        ("amd64", amd),
    ]


def test_serve_blob_replaces_what_the_download_url_returns(world: MotoWorld) -> None:
    digest = _image(world)
    config_digest = world.pushed(REPO, digest).config_digest
    world.serve_blob(config_digest, b'{"config": {"User": "0"}}')
    url = world.client("ecr").get_download_url_for_layer(
        repositoryName=REPO, layerDigest=config_digest
    )["downloadUrl"]
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b'{"config": {"User": "0"}}'
