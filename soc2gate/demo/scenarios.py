"""The scenario library: the guide's deployment in good and broken variants.

Each ``Scenario`` seeds a ``MotoWorld`` (``setup``), then moves it on either by wall-clock time
(``timeline_demo``, for ``soc2gate demo``) or by API call counts (``triggers``, for tests, so no
test depends on real time). ``gate_args`` gives the matching ``soc2gate run`` flags.

Names come from the SOC 2 SageMaker deployment monitoring guide (the page this project automates). CVE ids are real;
the severities are the ones the distro/NVD give them, used here as test data only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from soc2gate.checks.ecr._ecr import short_digest
from soc2gate.demo.signatures import DEMO_CHAIN, DEMO_ROOT_SHA256, sign_envelope
from soc2gate.demo.world import Action, MotoWorld, build_image, finding, variant

# ---- the guide's names --------------------------------------------------------------------------

REGION = "us-east-1"
REPOSITORY = "defender-image-analyzer-soc2"
#: Account id in the guide's repository URI; the world uses moto's 123456789012 instead.
GUIDE_ACCOUNT_ID = "438465156498"
ENDPOINT = "defenderImageAnalyzerSOC2HardenedDev"
MODEL_PREFIX = "defenderImageAnalyzerSOC2Hardened"
MODEL_NAME = f"{MODEL_PREFIX}-dev-20261126093000"
OLDER_MODEL_NAME = f"{MODEL_PREFIX}-dev-20261125141500"
ENDPOINT_CONFIG = f"{MODEL_PREFIX}-dev-config-20261126093000"
OLDER_ENDPOINT_CONFIG = f"{MODEL_PREFIX}-dev-config-20261125141500"
INSTANCE_TYPE = "ml.c5.large"
#: A Graviton (arm64) instance type: the endpoint runs the index's linux/arm64 image.
GRAVITON_INSTANCE_TYPE = "ml.c7g.xlarge"
GPU_INSTANCE_TYPE = "ml.g4dn.xlarge"
#: The commit being deployed (``--commit-sha``) and the one deployed before it.
COMMIT_SHA = "3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e"
OLDER_COMMIT_SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
TAG_DEV_LATEST = "soc2-dev-latest"
TAG_DEV_SHA_TEMPLATE = "soc2-dev-{sha}"
TAG_DEV_SHA = TAG_DEV_SHA_TEMPLATE.format(sha=COMMIT_SHA)
TAG_LATEST = "soc2-latest"
TAGS = (TAG_DEV_LATEST, TAG_DEV_SHA, TAG_LATEST)
CONTAINER_USER = "1000"
#: The unhardened image of the same service: a model pointing here is not the gated image.
FOREIGN_REPOSITORY = "defender-image-analyzer"
FOREIGN_TAG = "latest"
#: A rebuild of this commit pushed over the same tags after the endpoint had deployed the
#: first build (tag-moved): same layers, another config, another digest.
FIRST_BUILD_CREATED = "2026-11-26T09:12:00Z"
GATED_DIGEST = build_image(CONTAINER_USER, revision=COMMIT_SHA).digest
FIRST_BUILD_DIGEST = build_image(
    CONTAINER_USER, revision=COMMIT_SHA, created=FIRST_BUILD_CREATED
).digest
#: A secret in the model environment; the gate must never print it.
SECRET_ENV_KEY = "DB_PASSWORD"
SECRET_VALUE = "demo-Pa55w0rd-9c1f27e4"
MODEL_ENV = {
    "SOC2_COMPLIANT": "true",
    "SECURITY_HARDENED": "true",
    "MODEL_SERVER_WORKERS": "2",
    SECRET_ENV_KEY: SECRET_VALUE,
}
LOG_GROUP = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
#: The Model Registry group SageMaker Pipelines register the model's versions in.
MODEL_PACKAGE_GROUP = f"{MODEL_PREFIX}-packages"
MARKER_KEYS = ("SOC2_COMPLIANT", "SECURITY_HARDENED")
#: The inference component an inference-component endpoint serves MODEL_NAME through.
INFERENCE_COMPONENT = f"{MODEL_PREFIX}-dev-ic-20261126093000"
#: The central registry account (and region) MLOps teams push images to and deploy from.
CENTRAL_REGISTRY_ACCOUNT = "111122223333"
CENTRAL_REGISTRY_REGION = "eu-west-1"
#: The read role the registry account offers the gate (--registry-role-arn).
CENTRAL_REGISTRY_ROLE = f"arn:aws:iam::{CENTRAL_REGISTRY_ACCOUNT}:role/soc2gate-registry-read"
CENTRAL_REPOSITORY_URI = (
    f"{CENTRAL_REGISTRY_ACCOUNT}.dkr.ecr.{CENTRAL_REGISTRY_REGION}.amazonaws.com/{REPOSITORY}"
)
#: Deployment safety (``--preset strict``): the key, network, capture bucket, rollback alarm and
#: model card of a hardened deployment.
KMS_ALIAS = "alias/soc2gate-endpoint"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829")
SECURITY_GROUP = "sg-0c3d4e5f60718293a"
CAPTURE_BUCKET = "defender-soc2-data-capture"
ROLLBACK_ALARM = f"{ENDPOINT}-5xx-rollback"
MODEL_CARD = f"{MODEL_PREFIX}-card"
#: The AWS Signer profile the pipeline signs with (ECR managed signing and notation), and
#: another team's profile that is not trusted here.
#: The repository whose release workflow attests the image (GitHub artifact attestations).
ATTESTATION_REPOSITORY = "acme/defender-image-analyzer"
ATTESTATION_IDENTITY = (
    f"https://github.com/{ATTESTATION_REPOSITORY}/.github/workflows/release.yml@refs/heads/main"
)
#: In a scenario's args: the path of the demo Sigstore instance's trusted root, written into
#: the world's scratch directory when the args are made.
SIGSTORE_ROOT_ARG = "{sigstore-trusted-root}"
SIGNING_PROFILE = f"arn:aws:signer:{REGION}:123456789012:/signing-profiles/soc2_release"
SIGNING_PROFILE_VERSION = f"{SIGNING_PROFILE}/a1B2c3D4e5"
OTHER_SIGNING_PROFILE = f"arn:aws:signer:{REGION}:123456789012:/signing-profiles/sandbox_builds"
HEALTH_CHECK_FAILURE = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)

# ---- findings -----------------------------------------------------------------------------------

BASIC_FINDINGS = (
    finding("CVE-2023-2650", "MEDIUM", fixed_in="3.0.9"),
    finding("CVE-2024-0727", "MEDIUM", fixed_in="3.0.13"),
    finding("CVE-2023-50495", "MEDIUM", package="ncurses", version="6.3-2ubuntu0.1"),
    finding(
        "CVE-2016-2781", "LOW", package="coreutils", version="8.32-4.1ubuntu1", fix_available="NO"
    ),
    finding(
        "CVE-2022-27943",
        "LOW",
        package="gcc-12",
        version="12.3.0-1ubuntu1~22.04",
        fix_available="NO",
    ),
)
CRITICAL_CVE = "CVE-2024-5535"
CRITICAL_FINDING = finding(
    CRITICAL_CVE,
    "CRITICAL",
    description="SSL_select_next_proto buffer overread in OpenSSL (9.1).",
    fixed_in="3.0.15",
)
HIGH_CVE = "CVE-2023-5363"
HIGH_FINDING = finding(
    HIGH_CVE,
    "HIGH",
    description="Incorrect cipher key and IV length processing in OpenSSL 3.0 (7.5).",
    fixed_in="3.0.12",
)
#: MEDIUM (CVSS 5.9) with a public exploit (Terrapin): below --fail-on HIGH, but known exploited.
EXPLOITABLE_CVE = "CVE-2023-48795"
EXPLOITABLE_FINDING = finding(
    EXPLOITABLE_CVE,
    "MEDIUM",
    package="openssh-client",
    version="1:8.9p1-3ubuntu0.4",
    description="Terrapin: SSH prefix truncation attack on ChaCha20-Poly1305 / EtM (5.9).",
    fixed_in="1:8.9p1-3ubuntu0.6",
    score=5.9,
    exploit_available="YES",
)
#: The HIGH finding, suppressed by an Amazon Inspector suppression rule (risk accepted there).
SUPPRESSED_HIGH_FINDING = {**HIGH_FINDING, "status": "SUPPRESSED"}
#: Ten LOW/MEDIUM findings: three pages at ``ENHANCED_PAGE_SIZE``.
ENHANCED_FINDINGS = (
    *BASIC_FINDINGS,
    finding("CVE-2023-0465", "MEDIUM", fixed_in="3.0.9"),
    finding("CVE-2023-0466", "MEDIUM", fixed_in="3.0.9"),
    finding("CVE-2023-3446", "MEDIUM", fixed_in="3.0.10"),
    finding("CVE-2024-26462", "MEDIUM", package="krb5", version="1.19.2-2ubuntu0.3"),
    finding(
        "CVE-2023-29383", "LOW", package="shadow", version="1:4.8.1-2ubuntu2.1", fix_available="NO"
    ),
)
ENHANCED_PAGE_SIZE = 4
ENHANCED_RULES = (
    {
        "scanFrequency": "CONTINUOUS_SCAN",
        "repositoryFilters": [{"filter": "defender-image-analyzer-*", "filterType": "WILDCARD"}],
    },
)

# ---- log lines ----------------------------------------------------------------------------------

STARTUP_LOGS = (
    "Starting the inference server with 2 workers.",
    "[INFO] Starting gunicorn 22.0.0",
    "[INFO] Listening at: unix:/tmp/gunicorn.sock (12)",
    "[INFO] Using worker: sync",
    "[INFO] Booting worker with pid: 27",
    "[INFO] Booting worker with pid: 28",
)
HEALTHY_LOGS = (
    "[INFO] Model loaded from /opt/ml/model (uid=1000, gid=1000)",
    '169.254.178.2 - - "GET /ping HTTP/1.1" 200 1 "-" "AHC/2.0"',
    '169.254.178.2 - - "GET /ping HTTP/1.1" 200 1 "-" "AHC/2.0"',
)
FAILURE_LOGS = (
    f"[DEBUG] environment: SOC2_COMPLIANT=true {SECRET_ENV_KEY}={SECRET_VALUE}",
    f"[INFO] connecting to the feature store as svc-analyzer with {SECRET_VALUE}",
    "Traceback (most recent call last):",
    '  File "/opt/program/serve.py", line 41, in load_model',
    "PermissionError: [Errno 13] Permission denied: '/opt/ml/model/model.joblib'",
    "[ERROR] Worker (pid:27) exited with code 3",
    "[ERROR] Worker (pid:28) exited with code 3",
    "[ERROR] Shutting down: Master",
    "[ERROR] Reason: Worker failed to boot.",
)

Trigger = tuple[str, int, Action]
Step = tuple[float, str, Action]


# ---- the scenario type --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One deployment outcome the gate must judge."""

    name: str
    summary: str
    expected_exit: int
    expected_text: str
    setup: Callable[[MotoWorld], None]
    timeline_demo: tuple[Step, ...]
    triggers: tuple[Trigger, ...]
    test_args: tuple[str, ...] = ()
    demo_args: tuple[str, ...] = ()

    def gate_args(self, world: MotoWorld, *, demo: bool = False) -> list[str]:
        """``soc2gate run`` flags for this scenario (fast polling unless ``demo``).

        The AWS endpoint is not a flag: run the gate with ``world.env()`` (AWS_ENDPOINT_URL).
        """
        args = [
            "--region", world.region,
            "--repository", REPOSITORY,
            "--require-tag", TAG_DEV_LATEST,
            "--require-tag", TAG_DEV_SHA_TEMPLATE,
            "--require-tag", TAG_LATEST,
            "--commit-sha", COMMIT_SHA,
            "--fail-on", "HIGH",
            "--require-env", "SOC2_COMPLIANT=true",
            "--require-env", "SECURITY_HARDENED=true",
            "--endpoint", ENDPOINT,
            "--instance-type", INSTANCE_TYPE,
        ]  # fmt: skip
        if demo:
            args += ["--poll-min", "1s", "--poll-max", "2s", "--timeout", "60s", *self.demo_args]
        else:
            args += [
                "--poll-min", "0.05s", "--poll-max", "0.2s", "--timeout", "60s", *self.test_args
            ]  # fmt: skip
        if SIGSTORE_ROOT_ARG in args:
            from soc2gate.demo.attestations import DEMO_SIGSTORE

            root = world.write_file("sigstore-trusted-root.json", DEMO_SIGSTORE.trusted_root_json())
            args = [root if a == SIGSTORE_ROOT_ARG else a for a in args]
        return args

    def install_triggers(self, world: MotoWorld) -> None:
        """Register ``triggers`` on the world (call-count driven state changes)."""
        for operation, n, action in self.triggers:
            world.on_call(operation, n, action)

    def prepare(self, world: MotoWorld) -> None:
        """``setup`` then ``install_triggers``: the usual start of a test."""
        self.setup(world)
        self.install_triggers(world)


# ---- building blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    scan_on_push: bool = True
    enhanced: bool = False
    tags: tuple[str, ...] = TAGS
    findings: tuple[dict[str, Any], ...] = BASIC_FINDINGS
    page_size: int = 100
    scan_missing: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(MODEL_ENV))
    instance_type: str = INSTANCE_TYPE
    endpoint: str = "in-service"  # in-service | settling | failed | absent
    user: str = CONTAINER_USER  # config.User of the gated image
    #: What the endpoint runs: gated | first-build | foreign | platform (the linux/amd64 image
    #: of the gated multi-platform index, as SageMaker may resolve an index tag).
    deployed: str = "gated"
    #: Enhanced only. "at-once": the findings land with ACTIVE; "clean-unpopulated": ACTIVE
    #: with only ``{"findings": []}`` and Inspector coverage SUCCESSFUL (a clean image);
    #: "late": ACTIVE with ``{"findings": []}`` while Inspector still says
    #: PENDING_INITIAL_SCAN, the findings landing a little later (real AWS, issue 10 hole 1).
    landing: str = "at-once"
    #: The deployed model: "image" (PrimaryContainer Image + Environment) or a Model Registry
    #: package version (PrimaryContainer ModelPackageName; the markers in the package's
    #: container, the other variables in the model's own): "package" Approved,
    #: "package-pending" PendingManualApproval.
    #: "components": the endpoint config's variant names no model and hosts the inference
    #: component INFERENCE_COMPONENT, which serves MODEL_NAME.
    model: str = "image"
    #: Days since the gated image was pushed and scanned (0: just now); basic scans never rerun.
    scan_age_days: int = 0
    #: Not None: the build is multi-platform, its linux/arm64 image running as this User.
    arm64_user: str | None = None
    #: "central": the images live in the central registry (CENTRAL_REGISTRY_ACCOUNT, in
    #: CENTRAL_REGISTRY_REGION); the endpoint in the world's own account deploys them.
    registry: str = "local"
    #: Deployment safety settings: "" (none, as today), "strict" (all of them: KMS keys,
    #: isolation in a VPC, two instances with auto scaling, blue/green with a rollback alarm,
    #: encrypted data capture, an Approved model card), or "strict" less one:
    #: "no-rollback-alarm" (the alarm the deployment config names was deleted),
    #: "capture-unencrypted" (DataCaptureConfig without KmsKeyId), "single-instance".
    safety: str = ""
    #: ECR managed signing + notation signature of the gated image: "" none, "trusted" by
    #: SIGNING_PROFILE (IN_PROGRESS first, then COMPLETE), "other" by OTHER_SIGNING_PROFILE.
    signing: str = ""
    #: A GitHub artifact attestation (Sigstore bundle, SLSA provenance) of the gated image,
    #: pushed as its referrer by the build: "" none, "trusted" by ATTESTATION_IDENTITY for
    #: COMMIT_SHA, "other-commit" the same workflow building OLDER_COMMIT_SHA, "private" a
    #: bundle with a timestamp and no transparency-log entry (GitHub's private repositories).
    attestation: str = ""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _gated_digest(world: MotoWorld) -> str:
    return world.resolve_digest(REPOSITORY, TAG_DEV_SHA)


def _setup(spec: _Spec) -> Callable[[MotoWorld], None]:
    def setup(world: MotoWorld) -> None:
        if spec.registry == "central":
            world.use_registry(CENTRAL_REGISTRY_ACCOUNT, CENTRAL_REGISTRY_REGION)
        if spec.enhanced:
            world.set_registry_scanning("ENHANCED", ENHANCED_RULES)
        world.create_repository(REPOSITORY, scan_on_push=spec.scan_on_push, encryption="AES256")

        # Yesterday's build: still in the repository, scanned, behind the older model.
        old_tag = TAG_DEV_SHA_TEMPLATE.format(sha=OLDER_COMMIT_SHA)
        old_digest = world.push_image(
            REPOSITORY, [old_tag], CONTAINER_USER, revision=OLDER_COMMIT_SHA
        )
        if not spec.scan_missing:
            world.set_scan(
                REPOSITORY,
                old_digest,
                "ACTIVE" if spec.enhanced else "COMPLETE",
                findings=BASIC_FINDINGS[:2],
                enhanced=spec.enhanced,
            )

        if spec.deployed == "first-build":
            # The first build of this commit; the endpoint deploys it (see _in_service), then
            # the rebuild below moves every tag away from it.
            world.push_image(
                REPOSITORY,
                list(spec.tags),
                CONTAINER_USER,
                revision=COMMIT_SHA,
                created=FIRST_BUILD_CREATED,
            )

        # This commit's build, just pushed: its scan has not finished.
        digest = world.push_image(REPOSITORY, list(spec.tags), spec.user, revision=COMMIT_SHA)
        if spec.scan_age_days:
            # Pushed and scanned weeks ago, never rescanned: the scan is already complete.
            pushed = _now() - timedelta(days=spec.scan_age_days, hours=1)
            world.set_pushed_at(REPOSITORY, digest, pushed)
        if spec.arm64_user is not None:
            # A multi-platform build: the tags move to an index of linux/amd64 and linux/arm64.
            arm64 = world.push_image(
                REPOSITORY, [], spec.arm64_user, revision=f"{COMMIT_SHA}/arm64"
            )
            digest = world.push_index(
                REPOSITORY, list(spec.tags), {"linux/amd64": digest, "linux/arm64": arm64}
            )
        if spec.signing == "trusted":
            # Managed signing runs after the push: IN_PROGRESS until _signed.
            world.set_signing_status(REPOSITORY, digest, _profile(spec), "IN_PROGRESS")
        elif spec.signing == "other":
            # Another profile's rule signed it long ago: nothing for the trusted one to wait on.
            _signed(spec)(world)
        if spec.attestation:
            _attest(world, spec.attestation, digest)
        if spec.scan_missing:
            world.set_scan_not_found(REPOSITORY, old_digest)
            world.set_scan_not_found(REPOSITORY, digest)
        elif spec.scan_age_days:
            _scan_done(spec)(world)
        else:
            world.set_scan(
                REPOSITORY,
                digest,
                "PENDING" if spec.enhanced else "IN_PROGRESS",
                enhanced=spec.enhanced,
            )

        world.create_model(
            OLDER_MODEL_NAME,
            MODEL_ENV,
            image=world.image_uri(REPOSITORY, tag=old_tag),
            created_at=_now() - timedelta(hours=19),
        )
        image = world.image_uri(REPOSITORY, tag=TAG_DEV_SHA)
        if spec.deployed == "foreign":
            world.create_repository(FOREIGN_REPOSITORY, scan_on_push=False)
            world.push_image(FOREIGN_REPOSITORY, [FOREIGN_TAG], "", revision=OLDER_COMMIT_SHA)
            image = world.image_uri(FOREIGN_REPOSITORY, tag=FOREIGN_TAG)
        hardened: dict[str, Any] = (
            {"isolated": True, "vpc": {"Subnets": SUBNETS, "SecurityGroupIds": [SECURITY_GROUP]}}
            if spec.safety
            else {}
        )
        if spec.model in ("image", "components"):
            world.create_model(
                MODEL_NAME,
                spec.env,
                image=image,
                created_at=_now() - timedelta(minutes=2),
                **hardened,
            )
        else:
            markers = {k: v for k, v in spec.env.items() if k in MARKER_KEYS}
            package = world.create_model_package(
                MODEL_PACKAGE_GROUP,
                image,
                markers,
                approval="Approved" if spec.model == "package" else "PendingManualApproval",
            )
            world.create_model_from_package(
                MODEL_NAME,
                package,
                {k: v for k, v in spec.env.items() if k not in MARKER_KEYS},
                created_at=_now() - timedelta(minutes=2),
                **hardened,
            )
            if spec.safety:
                world.create_model_card(MODEL_CARD, "Approved", package)
        world.create_endpoint_config(
            OLDER_ENDPOINT_CONFIG, [variant(OLDER_MODEL_NAME, INSTANCE_TYPE)]
        )
        if spec.model == "components":
            # The variant names no model: it hosts inference components (instance type from it).
            hosting = variant(MODEL_NAME, spec.instance_type)
            del hosting["ModelName"]
            world.create_endpoint_config(ENDPOINT_CONFIG, [hosting])
        elif spec.safety:
            _create_hardened_config(world, spec)
        else:
            world.create_endpoint_config(ENDPOINT_CONFIG, [variant(MODEL_NAME, spec.instance_type)])
        if spec.endpoint != "absent":
            world.create_endpoint(ENDPOINT, ENDPOINT_CONFIG, status="Creating")
            if spec.safety:
                _guard_endpoint(world, spec)
            if spec.model == "components":
                world.create_inference_component(
                    INFERENCE_COMPONENT, ENDPOINT, model_name=MODEL_NAME, image=image
                )

    return setup


def _create_hardened_config(world: MotoWorld, spec: _Spec) -> None:
    """The endpoint config of a hardened deployment: two instances, its storage and captured
    data encrypted with the account's key (less what ``spec.safety`` leaves out)."""
    world.create_kms_key(KMS_ALIAS)
    count = 1 if spec.safety == "single-instance" else 2
    capture: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{CAPTURE_BUCKET}/{ENDPOINT}",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    if spec.safety != "capture-unencrypted":
        capture["KmsKeyId"] = KMS_ALIAS
    world.create_endpoint_config(
        ENDPOINT_CONFIG,
        [variant(MODEL_NAME, spec.instance_type, count=count)],
        kms_key=KMS_ALIAS,
        data_capture=capture,
    )


def _guard_endpoint(world: MotoWorld, spec: _Spec) -> None:
    """Blue/green canary with a rollback alarm on the endpoint, and auto scaling."""
    count = 1 if spec.safety == "single-instance" else 2
    world.register_scalable_target(ENDPOINT, minimum=count, maximum=4)
    world.put_endpoint_alarm(ROLLBACK_ALARM, ENDPOINT)
    world.set_deployment_config(
        ENDPOINT,
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 600,
                },
                "TerminationWaitInSeconds": 600,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ROLLBACK_ALARM}]},
        },
    )
    if spec.safety == "no-rollback-alarm":
        world.delete_alarm(ROLLBACK_ALARM)


def _profile(spec: _Spec) -> str:
    return SIGNING_PROFILE if spec.signing == "trusted" else OTHER_SIGNING_PROFILE


def _signed(spec: _Spec) -> Action:
    """ECR managed signing finishes: COMPLETE, and its Notation signature is a referrer."""

    def action(world: MotoWorld) -> None:
        digest = _gated_digest(world)
        profile = _profile(spec)
        world.set_signing_status(REPOSITORY, digest, profile, "COMPLETE")
        version = f"{profile}/a1B2c3D4e5"
        world.push_signature(REPOSITORY, digest, sign_envelope(DEMO_CHAIN, digest, version))

    return action


def _attest(world: MotoWorld, kind: str, digest: str) -> None:
    """The build job's actions/attest-build-provenance with push-to-registry: true."""
    from soc2gate.demo.attestations import DEMO_SIGSTORE

    image = f"{world.account_id}.dkr.ecr.{world.region}.amazonaws.com/{REPOSITORY}"
    commit = OLDER_COMMIT_SHA if kind == "other-commit" else COMMIT_SHA
    bundle = DEMO_SIGSTORE.attest(
        digest,
        subject_name=image,
        repository=ATTESTATION_REPOSITORY,
        commit=commit,
        corrupt="no-tlog" if kind == "private" else None,
    )
    world.push_attestation(REPOSITORY, digest, bundle)


def _scan_done(spec: _Spec) -> Action:
    def action(world: MotoWorld) -> None:
        if spec.scan_missing:
            return
        if spec.landing in ("late", "clean-unpopulated"):
            world.set_scan(
                REPOSITORY,
                _gated_digest(world),
                "ACTIVE",
                enhanced=True,
                populated=False,
                coverage="PENDING_INITIAL_SCAN" if spec.landing == "late" else "SUCCESSFUL",
            )
            return
        world.set_scan(
            REPOSITORY,
            _gated_digest(world),
            "ACTIVE" if spec.enhanced else "COMPLETE",
            findings=spec.findings,
            enhanced=spec.enhanced,
            page_size=spec.page_size,
            completed_at=_now() - timedelta(days=spec.scan_age_days)
            if spec.scan_age_days
            else None,
        )

    return action


def _findings_land(spec: _Spec) -> Action:
    """The findings of a "late" enhanced scan arrive: the scan as it should have read."""
    return _scan_done(replace(spec, landing="at-once"))


def _container_starting(world: MotoWorld) -> None:
    world.put_endpoint_logs(ENDPOINT, STARTUP_LOGS)


def _in_service(spec: _Spec) -> Action:
    """InService, with DeployedImages naming what SageMaker resolved at deploy time."""

    def action(world: MotoWorld) -> None:
        world.put_endpoint_logs(ENDPOINT, HEALTHY_LOGS)
        if spec.deployed == "foreign":
            deployed = world.deployed_image(FOREIGN_REPOSITORY, FOREIGN_TAG)
        elif spec.deployed == "first-build":
            deployed = world.deployed_image(REPOSITORY, TAG_DEV_SHA, digest=FIRST_BUILD_DIGEST)
        elif spec.deployed == "platform":
            index = world.resolve_digest(REPOSITORY, TAG_DEV_SHA)
            (image,) = world.ecr.batch_get_image(
                repositoryName=REPOSITORY, imageIds=[{"imageDigest": index}]
            )["images"]
            amd64 = next(
                m["digest"]
                for m in json.loads(image["imageManifest"])["manifests"]
                if m.get("platform", {}).get("architecture") == "amd64"
            )
            deployed = world.deployed_image(REPOSITORY, TAG_DEV_SHA, digest=amd64)
        else:
            deployed = world.deployed_image(REPOSITORY, TAG_DEV_SHA)
        if spec.model == "components":
            # The variant reports no DeployedImages: each component reports its own.
            world.set_endpoint(ENDPOINT, status="InService")
            world.set_inference_component(
                INFERENCE_COMPONENT, status="InService", deployed_image=deployed
            )
            return
        world.set_endpoint(ENDPOINT, status="InService", deployed_images=[deployed])

    return action


def _baking(world: MotoWorld) -> None:
    """InService, but the new variant is still baking (traffic shifting is being watched)."""
    world.set_variant(ENDPOINT, statuses=["Baking"])


def _settled(world: MotoWorld) -> None:
    world.set_variant(ENDPOINT, statuses=[])


def _failed(world: MotoWorld) -> None:
    world.put_endpoint_logs(ENDPOINT, FAILURE_LOGS)
    world.set_endpoint(ENDPOINT, status="Failed", failure_reason=HEALTH_CHECK_FAILURE)


def _both(*actions: Action) -> Action:
    def action(world: MotoWorld) -> None:
        for a in actions:
            a(world)

    return action


def _nothing(world: MotoWorld) -> None:
    return None


def _timeline(spec: _Spec) -> tuple[Step, ...]:
    """The guide's 15 minutes compressed to ~13 seconds (about one second a minute)."""
    what = "enhanced scan ACTIVE" if spec.enhanced else "basic scan COMPLETE"
    if spec.scan_missing:
        scan_step: Step = (2.0, "min 5: no scan ran for the pushed image", _nothing)
    else:
        worst = max((f["severity"] for f in spec.findings), key=_rank, default="none")
        scan_step = (
            2.0,
            f"min 5: {what}: {len(spec.findings)} finding(s), worst {worst}",
            _scan_done(spec),
        )
    if spec.scan_age_days:
        scan_step = (
            2.0,
            f"min 5: the image's basic scan COMPLETE since {spec.scan_age_days} days ago, "
            "never rescanned",
            _scan_done(spec),
        )
    if spec.landing == "clean-unpopulated":
        scan_step = (
            2.0,
            "min 5: enhanced scan ACTIVE, findings [] with no completion time; Inspector "
            "coverage SUCCESSFUL (scanned, nothing found)",
            _scan_done(spec),
        )
    steps: list[Step] = [
        (0.5, "min 3: image pushed to ECR, vulnerability scan running", _nothing),
        scan_step,
    ]
    if spec.signing == "trusted":
        steps.append((3.0, "min 5: ECR managed signing COMPLETE", _signed(spec)))
    if spec.landing == "late":
        steps[1] = (
            2.0,
            "min 5: enhanced scan ACTIVE, findings [] but Inspector says PENDING_INITIAL_SCAN",
            _scan_done(spec),
        )
        worst = max((f["severity"] for f in spec.findings), key=_rank, default="none")
        steps.append(
            (
                4.0,
                f"min 6: the findings land: {len(spec.findings)}, worst {worst}",
                _findings_land(spec),
            )
        )
    if spec.endpoint == "absent":
        steps.append((7.0, "min 7: deploy step skipped: endpoint never created", _nothing))
        return tuple(steps)
    steps.append(
        (
            5.0,
            f"min 7: {spec.instance_type} instance provisioned, model container starting",
            _container_starting,
        )
    )
    if spec.endpoint == "failed":
        steps.append((11.0, "min 12: container failed the /ping health check: Failed", _failed))
    elif spec.endpoint == "settling":
        steps.append(
            (
                11.0,
                "min 12: endpoint InService, variant AllTraffic still Baking",
                _both(_in_service(spec), _baking),
            )
        )
        steps.append((13.0, "min 15: baking done: variant AllTraffic settled", _settled))
    else:
        steps.append((13.0, "min 15: health checks pass: endpoint InService", _in_service(spec)))
    return tuple(steps)


def _triggers(spec: _Spec) -> tuple[Trigger, ...]:
    # The scan finishes on the 2nd DescribeImageScanFindings, the endpoint settles on the 4th
    # DescribeEndpoint (several checks read the endpoint in the first round).
    out: list[Trigger] = [("DescribeImageScanFindings", 2, _scan_done(spec))]
    if spec.signing == "trusted":
        out.append(("DescribeImageSigningStatus", 2, _signed(spec)))
    if spec.landing == "late":
        out.append(("DescribeImageScanFindings", 4, _findings_land(spec)))
    if spec.endpoint == "in-service":
        out.append(("DescribeEndpoint", 4, _both(_container_starting, _in_service(spec))))
    elif spec.endpoint == "settling":
        out.append(("DescribeEndpoint", 4, _both(_container_starting, _in_service(spec), _baking)))
        out.append(("DescribeEndpoint", 6, _settled))
    elif spec.endpoint == "failed":
        out.append(("DescribeEndpoint", 4, _both(_container_starting, _failed)))
    return tuple(out)


_SEVERITY_RANK = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def _rank(severity: str) -> int:
    return _SEVERITY_RANK.get(severity, 5)


def _scenario(
    name: str,
    summary: str,
    expected_exit: int,
    expected_text: str,
    spec: _Spec,
    *,
    test_args: Sequence[str] = (),
    demo_args: Sequence[str] = (),
) -> Scenario:
    return Scenario(
        name=name,
        summary=summary,
        expected_exit=expected_exit,
        expected_text=expected_text,
        setup=_setup(spec),
        timeline_demo=_timeline(spec),
        triggers=_triggers(spec),
        test_args=tuple(test_args),
        demo_args=tuple(demo_args),
    )


_HEALTHY = _Spec()
_CENTRAL_NO_ROLE_ARGS = (
    "--registry-id", CENTRAL_REGISTRY_ACCOUNT, "--registry-region", CENTRAL_REGISTRY_REGION
)  # fmt: skip
_CENTRAL_ARGS = (
    "--repository",
    CENTRAL_REPOSITORY_URI,
    "--registry-role-arn",
    CENTRAL_REGISTRY_ROLE,
)
#: A clean image in a central registry that scans with Inspector (coverage proves the scan).
_CENTRAL_ENHANCED = replace(
    _HEALTHY, registry="central", enhanced=True, findings=(), landing="clean-unpopulated"
)
_GRAVITON_ARGS = ("--enable", "ecr-image-user", "--instance-type", GRAVITON_INSTANCE_TYPE)
_STRICT = replace(_HEALTHY, model="package", safety="strict")
#: --preset strict with the hardened deployment's allow-lists.
STRICT_ARGS = (
    "--preset", "strict",
    "--allowed-kms-key", KMS_ALIAS,
    "--allowed-subnet", SUBNETS[0], "--allowed-subnet", SUBNETS[1],
    "--allowed-security-group", SECURITY_GROUP,
    "--require-autoscaling",
    "--capture-bucket", CAPTURE_BUCKET,
    "--model-card", MODEL_CARD,
    "--require-model-approval",
)  # fmt: skip
#: deployed-image-signed, trusting SIGNING_PROFILE under the demo's AWS Signer root.
_SIGNED_ARGS = (
    "--enable", "deployed-image-signed",
    "--signing-profile", SIGNING_PROFILE,
    "--signer-root-sha256", DEMO_ROOT_SHA256,
)  # fmt: skip

#: deployed-image-signed with GitHub artifact attestations only: the release workflow of
#: ATTESTATION_REPOSITORY, under the demo Sigstore instance's trusted root (written to a file).
_ATTESTED_ARGS = (
    "--enable", "deployed-image-signed",
    "--attestation-identity", ATTESTATION_IDENTITY,
    "--attestation-repository", ATTESTATION_REPOSITORY,
    "--sigstore-trusted-root", SIGSTORE_ROOT_ARG,
)  # fmt: skip

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _scenario(
            "healthy",
            "scan finishes with LOW/MEDIUM only, endpoint goes Creating -> InService: passes",
            0,
            "is InService",
            _HEALTHY,
        ),
        _scenario(
            "critical-finding",
            f"scan finishes with {CRITICAL_CVE} (CRITICAL, openssl): fails",
            1,
            CRITICAL_CVE,
            replace(_HEALTHY, findings=(*BASIC_FINDINGS, CRITICAL_FINDING)),
        ),
        _scenario(
            "endpoint-settling",
            "endpoint goes Creating -> InService with its variant still Baking, then settles: "
            "the gate waits for the variant and passes",
            0,
            "is InService, settled",
            replace(_HEALTHY, endpoint="settling"),
        ),
        _scenario(
            "endpoint-failed",
            "endpoint goes Creating -> Failed: container fails the ping health check",
            1,
            "did not pass the ping health check",
            replace(_HEALTHY, endpoint="failed"),
        ),
        _scenario(
            "wrong-instance-type",
            f"endpoint config uses {GPU_INSTANCE_TYPE} instead of {INSTANCE_TYPE}: fails",
            1,
            GPU_INSTANCE_TYPE,
            replace(_HEALTHY, instance_type=GPU_INSTANCE_TYPE),
        ),
        _scenario(
            "missing-tag",
            f"image pushed without the {TAG_LATEST} tag: fails",
            1,
            TAG_LATEST,
            replace(_HEALTHY, tags=(TAG_DEV_LATEST, TAG_DEV_SHA)),
        ),
        _scenario(
            "scanning-off",
            "scanOnPush false and no registry scanning rule, so no scan exists: fails",
            1,
            "scanOnPush is false",
            replace(_HEALTHY, scan_on_push=False, scan_missing=True),
        ),
        _scenario(
            "missing-marker",
            "model environment lacks SECURITY_HARDENED: fails",
            1,
            "SECURITY_HARDENED is missing",
            replace(_HEALTHY, env={k: v for k, v in MODEL_ENV.items() if k != "SECURITY_HARDENED"}),
        ),
        _scenario(
            "enhanced-paged",
            "enhanced scanning, 10 LOW/MEDIUM findings over 3 pages: passes",
            0,
            "nothing at or above HIGH",
            replace(
                _HEALTHY,
                enhanced=True,
                findings=ENHANCED_FINDINGS,
                page_size=ENHANCED_PAGE_SIZE,
            ),
        ),
        _scenario(
            "enhanced-paged-high",
            f"enhanced scanning, 3 pages, {HIGH_CVE} (HIGH) only on the last page: fails",
            1,
            HIGH_CVE,
            replace(
                _HEALTHY,
                enhanced=True,
                findings=(*ENHANCED_FINDINGS, HIGH_FINDING),
                page_size=ENHANCED_PAGE_SIZE,
            ),
        ),
        _scenario(
            "enhanced-clean",
            "enhanced scanning, clean image: ECR says ACTIVE with findings [] and no completion "
            "time; Amazon Inspector's coverage record (SUCCESSFUL, lastScannedAt) proves it was "
            "scanned: passes without waiting",
            0,
            "Amazon Inspector coverage ACTIVE/SUCCESSFUL",
            replace(_HEALTHY, enhanced=True, findings=(), landing="clean-unpopulated"),
        ),
        _scenario(
            "enhanced-findings-late",
            f"enhanced scanning says ACTIVE before its findings land (Inspector: "
            f"PENDING_INITIAL_SCAN); the gate waits, then {HIGH_CVE} (HIGH) lands: fails",
            1,
            HIGH_CVE,
            replace(
                _HEALTHY,
                enhanced=True,
                findings=(*ENHANCED_FINDINGS[:3], HIGH_FINDING),
                landing="late",
            ),
        ),
        _scenario(
            "endpoint-not-found",
            "the deploy step never creates the endpoint: fails after --endpoint-grace",
            1,
            "not found after waiting",
            replace(_HEALTHY, endpoint="absent"),
            test_args=("--endpoint-grace", "0.5s"),
            demo_args=("--endpoint-grace", "8s"),
        ),
        _scenario(
            "tag-moved",
            "a rebuild moved the tags after the endpoint deployed the first build, so the "
            "endpoint runs a digest the scan did not pass: fails",
            1,
            short_digest(FIRST_BUILD_DIGEST),
            replace(_HEALTHY, deployed="first-build"),
        ),
        _scenario(
            "foreign-image",
            f"the model and the endpoint run {FOREIGN_REPOSITORY}, not the gated repository: fails",
            1,
            "not the gated repository",
            replace(_HEALTHY, deployed="foreign"),
        ),
        _scenario(
            "model-registry",
            "the model deploys an Approved Model Registry package version (ModelPackageName): "
            "markers from the package's container merged with the model's own Environment, "
            "image from the package, --require-model-approval: passes",
            0,
            "model package Approved",
            replace(_HEALTHY, model="package"),
            test_args=("--require-model-approval",),
            demo_args=("--require-model-approval",),
        ),
        _scenario(
            "model-registry-unapproved",
            "the model deploys a Model Registry package version still PendingManualApproval, "
            "with --require-model-approval: fails",
            1,
            "PendingManualApproval, not Approved",
            replace(_HEALTHY, model="package-pending"),
            test_args=("--require-model-approval",),
            demo_args=("--require-model-approval",),
        ),
        _scenario(
            "inference-components",
            "the endpoint's variant names no model and hosts an inference component serving "
            "the model: markers, image and deployed image read per component: passes",
            0,
            "inference component(s) of endpoint",
            replace(_HEALTHY, model="components"),
        ),
        _scenario(
            "inference-component-tag-moved",
            "an inference component runs the first build of this commit, which the scan did not "
            "pass (the tags moved to a rebuild): fails",
            1,
            short_digest(FIRST_BUILD_DIGEST),
            replace(_HEALTHY, model="components", deployed="first-build"),
        ),
        _scenario(
            "graviton",
            f"the endpoint runs on {GRAVITON_INSTANCE_TYPE} (arm64) and the image is a "
            "multi-platform index; ecr-image-user reads its linux/arm64 image, which runs as "
            "UID 1000: passes",
            0,
            "linux/arm64",
            replace(_HEALTHY, instance_type=GRAVITON_INSTANCE_TYPE, arm64_user=CONTAINER_USER),
            test_args=_GRAVITON_ARGS,
            demo_args=_GRAVITON_ARGS,
        ),
        _scenario(
            "graviton-root-user",
            f"the endpoint runs on {GRAVITON_INSTANCE_TYPE} (arm64); the index's linux/amd64 "
            "image runs as UID 1000 but its linux/arm64 image has an empty User (root): fails",
            1,
            "runs as root",
            replace(_HEALTHY, instance_type=GRAVITON_INSTANCE_TYPE, arm64_user=""),
            test_args=_GRAVITON_ARGS,
            demo_args=_GRAVITON_ARGS,
        ),
        _scenario(
            "central-registry",
            f"the image lives in a central registry ({CENTRAL_REGISTRY_ACCOUNT}, "
            f"{CENTRAL_REGISTRY_REGION}) and the endpoint deploys it from there; the gate reads "
            "that registry with a read role in its account: passes",
            0,
            f"in registry {CENTRAL_REGISTRY_ACCOUNT} ({CENTRAL_REGISTRY_REGION})",
            replace(_HEALTHY, registry="central"),
            test_args=_CENTRAL_ARGS,
            demo_args=_CENTRAL_ARGS,
        ),
        _scenario(
            "central-registry-enhanced",
            "the central registry scans with Amazon Inspector (enhanced); the image is clean, so "
            "ECR gives no completion time and Inspector's coverage record, read with the "
            "registry's role, proves the scan ran: passes",
            0,
            "Amazon Inspector coverage ACTIVE/SUCCESSFUL",
            _CENTRAL_ENHANCED,
            test_args=_CENTRAL_ARGS,
            demo_args=_CENTRAL_ARGS,
        ),
        _scenario(
            "central-registry-no-role",
            "the same central registry read without a role (its repository policy lets this "
            "account read the images): the registry's scanning settings cannot be read from "
            "here, so ecr-repository-config is ERROR naming --registry-role-arn",
            3,
            "pass --registry-role-arn",
            replace(_HEALTHY, registry="central"),
            test_args=_CENTRAL_NO_ROLE_ARGS,
            demo_args=_CENTRAL_NO_ROLE_ARGS,
        ),
        _scenario(
            "root-user",
            "the image's config has an empty User (runs as root), with --enable ecr-image-user: "
            "fails",
            1,
            "runs as root",
            replace(_HEALTHY, user=""),
            test_args=("--enable", "ecr-image-user"),
            demo_args=("--enable", "ecr-image-user"),
        ),
        _scenario(
            "stale-scan",
            "the image was pushed and basic-scanned 30 days ago and never rescanned, with "
            "--max-scan-age 7d: fails, saying how to rescan",
            1,
            "longer ago than --max-scan-age 7d",
            replace(_HEALTHY, scan_age_days=30),
            test_args=("--max-scan-age", "7d"),
            demo_args=("--max-scan-age", "7d"),
        ),
        _scenario(
            "enhanced-exploitable",
            f"enhanced scanning finds {EXPLOITABLE_CVE} (MEDIUM, exploitAvailable YES), below "
            "--fail-on HIGH, with --fail-on-exploitable MEDIUM: fails",
            1,
            EXPLOITABLE_CVE,
            replace(_HEALTHY, enhanced=True, findings=(*ENHANCED_FINDINGS, EXPLOITABLE_FINDING)),
            test_args=("--fail-on-exploitable", "MEDIUM"),
            demo_args=("--fail-on-exploitable", "MEDIUM"),
        ),
        _scenario(
            "enhanced-suppressed",
            f"enhanced scanning finds {HIGH_CVE} (HIGH), SUPPRESSED by an Amazon Inspector "
            "suppression rule, with --honour-inspector-suppressions true: passes, the "
            "suppression recorded",
            0,
            "SUPPRESSED in Inspector",
            replace(
                _HEALTHY,
                enhanced=True,
                findings=(*ENHANCED_FINDINGS[:3], SUPPRESSED_HIGH_FINDING),
            ),
            test_args=("--honour-inspector-suppressions", "true"),
            demo_args=("--honour-inspector-suppressions", "true"),
        ),
        _scenario(
            "strict",
            "a hardened deployment under --preset strict: storage and captured data encrypted "
            "with the account's KMS key, the model network-isolated in the VPC, two instances "
            "with auto scaling, a blue/green canary with a rollback alarm on the endpoint, and "
            "an Approved model card naming the package: passes",
            0,
            "14 passed, 0 failed",
            _STRICT,
            test_args=STRICT_ARGS,
            demo_args=STRICT_ARGS,
        ),
        _scenario(
            "no-rollback-alarm",
            "the same under --preset strict, but the rollback alarm the deployment config names "
            "was deleted, so auto-rollback could never trip: fails",
            1,
            f"rollback alarm {ROLLBACK_ALARM} does not exist",
            replace(_STRICT, safety="no-rollback-alarm"),
            test_args=STRICT_ARGS,
            demo_args=STRICT_ARGS,
        ),
        _scenario(
            "capture-unencrypted",
            "the same under --preset strict, but data capture writes requests and responses to "
            "S3 without a KMS key: fails",
            1,
            "without a KmsKeyId",
            replace(_STRICT, safety="capture-unencrypted"),
            test_args=STRICT_ARGS,
            demo_args=STRICT_ARGS,
        ),
        _scenario(
            "single-instance",
            "the same under --preset strict, but the endpoint runs one instance, so losing it "
            "stops the service: fails",
            1,
            "below --min-instances 2",
            replace(_STRICT, safety="single-instance"),
            test_args=STRICT_ARGS,
            demo_args=STRICT_ARGS,
        ),
        _scenario(
            "signed",
            "ECR managed signing signs the pushed image with the trusted AWS Signer profile "
            "(IN_PROGRESS, then COMPLETE); its Notation signature verifies to the pinned root, "
            "with --enable deployed-image-signed: passes",
            0,
            "signed by a trusted profile",
            replace(_HEALTHY, signing="trusted"),
            test_args=_SIGNED_ARGS,
            demo_args=_SIGNED_ARGS,
        ),
        _scenario(
            "unsigned-deploy",
            "the gated image is signed, but the endpoint serves an unsigned rebuild of the same "
            "commit: fails, naming the unsigned digest",
            1,
            f"{short_digest(FIRST_BUILD_DIGEST)} is not signed by a trusted profile",
            replace(_HEALTHY, signing="trusted", deployed="first-build"),
            test_args=_SIGNED_ARGS,
            demo_args=_SIGNED_ARGS,
        ),
        _scenario(
            "wrong-signer",
            "the image is signed, but by another team's AWS Signer profile "
            f"({OTHER_SIGNING_PROFILE.rsplit('/', 1)[1]}), not the trusted one: fails",
            1,
            "which is not a trusted --signing-profile",
            replace(_HEALTHY, signing="other"),
            test_args=_SIGNED_ARGS,
            demo_args=_SIGNED_ARGS,
        ),
        _scenario(
            "attested",
            "the build attests the image with GitHub artifact attestations (a SLSA provenance "
            "signed through Sigstore, pushed as its referrer); it verifies offline against the "
            "pinned trusted root, names the trusted release workflow, this repository and this "
            "commit: passes",
            0,
            "1 digest(s) serving traffic signed by a trusted signer",
            replace(_HEALTHY, attestation="trusted"),
            test_args=_ATTESTED_ARGS,
            demo_args=_ATTESTED_ARGS,
        ),
        _scenario(
            "attested-other-commit",
            "the image serving traffic is attested by the trusted workflow, but as built from "
            "an older commit, not the one being deployed: fails, naming both commits",
            1,
            f"built from commit {OLDER_COMMIT_SHA}, not {COMMIT_SHA}",
            replace(_HEALTHY, attestation="other-commit"),
            test_args=_ATTESTED_ARGS,
            demo_args=_ATTESTED_ARGS,
        ),
    )
}
