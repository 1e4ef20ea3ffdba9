"""Fakes for the world *outside* soc2gate: AWS (botocore Stubber) and the clock.

Nothing here replaces soc2gate code. Canned responses go through botocore's Stubber, which
validates them against the real service model, so a response AWS could not send fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.session
from botocore.stub import Stubber

from soc2gate.checks.base import CheckContext
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult
from soc2gate.runner import run_gate

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPO = "defender-image-analyzer-soc2"
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
ENDPOINT = "defenderImageAnalyzerSOC2HardenedDev"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

# One botocore session for the whole run: service models are loaded once, not per client.
_SESSION = botocore.session.get_session()


class FakeClock:
    """A monotonic clock whose ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StubbedAws:
    """The ``clients`` callable the runner and checks take: one stubbed client per service."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        #: Operation names in call order (recorded even for calls answered with an error).
        self.calls: list[str] = []

    def __call__(self, service: str) -> Any:
        """``service`` may be ``"<service>@registry"``: the gated registry's own client, another
        stubbed client of that service with its own responses."""
        if service not in self._clients:
            client = _SESSION.create_client(
                service.split("@")[0],
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            stubber = Stubber(client)
            stubber.activate()
            client.meta.events.register("before-parameter-build.*.*", self._record)
            self._clients[service] = client
            self.stubbers[service] = stubber
        return self._clients[service]

    def _record(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(model.name)

    def respond(
        self,
        service: str,
        method: str,
        response: Mapping[str, Any],
        expected: Mapping[str, Any] | None = None,
    ) -> StubbedAws:
        self(service)
        self.stubbers[service].add_response(method, dict(response), expected)
        return self

    def fail(
        self,
        service: str,
        method: str,
        code: str,
        message: str = "",
        status: int = 400,
        expected: Mapping[str, Any] | None = None,
    ) -> StubbedAws:
        self(service)
        self.stubbers[service].add_client_error(
            method,
            service_error_code=code,
            service_message=message or code,
            http_status_code=status,
            expected_params=expected,
        )
        return self

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def make_ctx(
    config: GateConfig,
    aws: Any,
    clock: FakeClock | None = None,
    environ: Mapping[str, str] | None = None,
) -> CheckContext:
    clock = clock or FakeClock()
    return CheckContext(
        config=config, clients=aws, clock=clock, environ=dict(environ or {}), started=clock()
    )


def run_one(
    check_id: str,
    config: GateConfig,
    aws: Any,
    clock: FakeClock | None = None,
    environ: Mapping[str, str] | None = None,
) -> CheckResult:
    """Run the real gate with only ``check_id`` selected; return that check's result."""
    clock = clock or FakeClock()
    report = run_gate(
        replace(config, only=(check_id,)),
        clients=aws,
        sleep=clock.sleep,
        clock=clock,
        progress=None,
        environ=dict(environ or {}),
    )
    (result,) = [r for r in report.results if r.check_id == check_id]
    return result


# ---- ECR ---------------------------------------------------------------------------------


def ecr_repository(
    name: str = REPO,
    scan_on_push: bool = True,
    encryption: str = "AES256",
    mutability: str = "MUTABLE",
    exclusions: Sequence[str] = (),
) -> dict[str, Any]:
    enc: dict[str, Any] = {"encryptionType": encryption}
    if encryption.startswith("KMS"):
        enc["kmsKey"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd"
    repo: dict[str, Any] = {
        "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
        "registryId": ACCOUNT,
        "repositoryName": name,
        "repositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
        "createdAt": T0,
        "imageTagMutability": mutability,
        "imageScanningConfiguration": {"scanOnPush": scan_on_push},
        "encryptionConfiguration": enc,
    }
    if exclusions:
        repo["imageTagMutabilityExclusionFilters"] = [
            {"filterType": "WILDCARD", "filter": f} for f in exclusions
        ]
    return {"repositories": [repo]}


def ecr_registry_scanning(
    scan_type: str = "BASIC", rules: Iterable[tuple[str, Sequence[str]]] = ()
) -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "scanningConfiguration": {
            "scanType": scan_type,
            "rules": [
                {
                    "scanFrequency": frequency,
                    "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters],
                }
                for frequency, filters in rules
            ],
        },
    }


def ecr_batch_scanning(
    name: str = REPO, scan_on_push: bool = False, frequency: str = "MANUAL"
) -> dict[str, Any]:
    return {
        "scanningConfigurations": [
            {
                "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
                "repositoryName": name,
                "scanOnPush": scan_on_push,
                "scanFrequency": frequency,
                "appliedScanFilters": [],
            }
        ],
        "failures": [],
    }


def stub_repository_config(
    aws: StubbedAws,
    repo: Mapping[str, Any] | None = None,
    registry: Mapping[str, Any] | None = None,
    batch: Mapping[str, Any] | None = None,
    name: str = REPO,
    ecr: str = "ecr",
) -> None:
    """DescribeRepositories, GetRegistryScanningConfiguration, BatchGet...: the calls, in order
    (on ``ecr``: ``"ecr@registry"`` for a central registry)."""
    aws.respond(
        ecr,
        "describe_repositories",
        repo or ecr_repository(name),
        {"repositoryNames": [name]},
    )
    aws.respond(ecr, "get_registry_scanning_configuration", registry or ecr_registry_scanning())
    aws.respond(
        ecr,
        "batch_get_repository_scanning_configuration",
        batch or ecr_batch_scanning(name),
        {"repositoryNames": [name]},
    )


def ecr_images(
    tags_by_digest: Mapping[str, Sequence[str]], scan_status: str = "COMPLETE"
) -> dict[str, Any]:
    return {
        "imageDetails": [
            {
                "registryId": ACCOUNT,
                "repositoryName": REPO,
                "imageDigest": digest,
                "imageTags": list(tags),
                "imagePushedAt": T0,
                "imageScanStatus": {"status": scan_status, "description": "x"},
            }
            for digest, tags in tags_by_digest.items()
        ]
    }


def describe_images_params(*tags: str, repository: str = REPO) -> dict[str, Any]:
    return {"repositoryName": repository, "imageIds": [{"imageTag": t} for t in tags]}


def basic_finding(
    name: str, severity: str, package: str = "openssl", version: str = "3.0.1"
) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} in {package}",
        "uri": f"https://cve.example/{name}",
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
        ],
    }


def enhanced_finding(
    cve: str,
    severity: str,
    package: str = "openssl",
    version: str = "3.0.1",
    status: str = "ACTIVE",
    fix: str = "YES",
) -> dict[str, Any]:
    return {
        "awsAccountId": ACCOUNT,
        "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{cve.lower()}",
        "severity": severity,
        "status": status,
        "title": f"{cve} - {package}",
        "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": fix,
        "packageVulnerabilityDetails": {
            "vulnerabilityId": cve,
            "source": "NVD",
            "vulnerablePackages": [{"name": package, "version": version}],
        },
    }


def ecr_scan_page(
    status: str = "COMPLETE",
    description: str = "The scan was completed successfully.",
    findings: Sequence[Mapping[str, Any]] | None = None,
    enhanced: Sequence[Mapping[str, Any]] | None = None,
    counts: Mapping[str, int] | None = None,
    next_token: str | None = None,
    digest: str = DIGEST,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if status in ("COMPLETE", "ACTIVE"):
        body["imageScanCompletedAt"] = T0
        body["findingSeverityCounts"] = dict(counts or {})
        if findings is not None:
            body["findings"] = list(findings)
        if enhanced is not None:
            body["enhancedFindings"] = list(enhanced)
    page: dict[str, Any] = {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": status, "description": description},
    }
    if body:
        page["imageScanFindings"] = body
    if next_token:
        page["nextToken"] = next_token
    return page


def scan_params(digest: str = DIGEST, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "repositoryName": REPO,
        "imageId": {"imageDigest": digest},
        "maxResults": 1000,
    }
    if token:
        params["nextToken"] = token
    return params


# ---- SageMaker ---------------------------------------------------------------------------


def sm_endpoint(
    status: str = "InService",
    config: str = "cfg-1",
    failure: str | None = None,
    pending_config: str | None = None,
    name: str = ENDPOINT,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name.lower()}",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": T0,
        "LastModifiedTime": T0,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "CurrentWeight": 1.0,
                "DesiredWeight": 1.0,
                "CurrentInstanceCount": 1,
                "DesiredInstanceCount": 1,
            }
        ],
    }
    if failure is not None:
        out["FailureReason"] = failure
    if pending_config:
        out["PendingDeploymentSummary"] = {"EndpointConfigName": pending_config, "StartTime": T0}
    return out


def variant(
    name: str = "AllTraffic",
    model: str = "model-1",
    instance_type: str | None = "ml.c5.large",
    serverless: bool = False,
    pools: Sequence[str] = (),
) -> dict[str, Any]:
    out: dict[str, Any] = {"VariantName": name, "ModelName": model}
    if serverless:
        out["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    elif pools:
        out["InstancePools"] = [{"InstanceType": t, "Priority": i + 1} for i, t in enumerate(pools)]
    elif instance_type:
        out["InstanceType"] = instance_type
        out["InitialInstanceCount"] = 1
    return out


def sm_endpoint_config(
    name: str = "cfg-1",
    variants: Sequence[Mapping[str, Any]] = (),
    shadow: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EndpointConfigName": name,
        "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{name}",
        "ProductionVariants": [dict(v) for v in variants] or [variant()],
        "CreationTime": T0,
    }
    if shadow:
        out["ShadowProductionVariants"] = [dict(v) for v in shadow]
    return out


def sm_model(
    name: str = "model-1",
    primary_env: Mapping[str, str] | None = None,
    containers: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ModelName": name,
        "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name.lower()}",
        "CreationTime": T0,
        "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec",
    }
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}:soc2-dev-latest"
    if primary_env is not None:
        out["PrimaryContainer"] = {"Image": image, "Environment": dict(primary_env)}
    if containers is not None:
        out["Containers"] = [{"Image": image, "Environment": dict(env)} for env in containers]
    return out


def model_summary(name: str, created: datetime | timedelta) -> dict[str, Any]:
    when = T0 + created if isinstance(created, timedelta) else created
    return {
        "ModelName": name,
        "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name.lower()}",
        "CreationTime": when,
    }


GOOD_ENV = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}


def stub_endpoint_models(
    aws: StubbedAws,
    models: Mapping[str, Mapping[str, Any]],
    config: str = "cfg-1",
    endpoint: Mapping[str, Any] | None = None,
) -> None:
    """DescribeEndpoint -> DescribeEndpointConfig -> DescribeModel for each model, in order."""
    aws.respond(
        "sagemaker",
        "describe_endpoint",
        endpoint or sm_endpoint(config=config),
        {"EndpointName": ENDPOINT},
    )
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config(config, [variant(name=f"v{i}", model=m) for i, m in enumerate(models)]),
        {"EndpointConfigName": config},
    )
    for name, response in models.items():
        aws.respond("sagemaker", "describe_model", response, {"ModelName": name})
