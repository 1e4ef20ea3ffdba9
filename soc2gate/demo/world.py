"""``MotoWorld``: an in-process moto server seeded with ECR / SageMaker / CloudWatch Logs state.

The world starts moto's ``ThreadedMotoServer`` on a free local port, wraps its WSGI app to count
requests per operation, run call-count hooks and inject faults, and patches a few moto handlers
(process-wide, once) so that scan results, ``DeployedImages`` and list sorting behave like AWS.

moto is imported only when a world starts (``MotoWorld.start``); importing this module does not
import it, so ``soc2gate.demo.scenarios`` can be listed without the ``demo`` extra.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import boto3

DEFAULT_REGION = "us-east-1"
#: moto's default account id (moto.core.models.DEFAULT_ACCOUNT_ID).
DEFAULT_ACCOUNT_ID = "123456789012"
FAKE_CREDENTIAL = "testing"
#: Requests carrying this header (the world's own seeding clients) are neither counted nor hooked.
SEED_HEADER = "X-Soc2gate-World-Seed"
#: Log stream SageMaker writes for the first instance of the ``AllTraffic`` variant.
DEFAULT_LOG_STREAM = "AllTraffic/i-0abc123def4567890"

SCAN_STATUSES = (
    "IN_PROGRESS",
    "PENDING",
    "COMPLETE",
    "ACTIVE",
    "FAILED",
    "UNSUPPORTED_IMAGE",
    "SCAN_ELIGIBILITY_EXPIRED",
    "FINDINGS_UNAVAILABLE",
    "LIMIT_EXCEEDED",
    "IMAGE_ARCHIVED",
)
#: Statuses whose response carries ``imageScanFindings``.
_FINDINGS_STATUSES = ("COMPLETE", "ACTIVE")
# Illustrative status descriptions (only COMPLETE's is ECR's exact wording).
_DEFAULT_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
    "IN_PROGRESS": "Scan in progress.",
    "PENDING": "Scan pending.",
    "FAILED": "UnsupportedImageError: The operating system and/or package manager are not "
    "supported.",
    "UNSUPPORTED_IMAGE": "The operating system and/or package manager are not supported.",
    "SCAN_ELIGIBILITY_EXPIRED": "Image is no longer eligible for continuous scanning.",
    "FINDINGS_UNAVAILABLE": "Findings are not available for this image.",
    "LIMIT_EXCEEDED": "The scan quota for this image has been exceeded.",
    "IMAGE_ARCHIVED": "The image is archived and is not scanned.",
}
_DEFAULT_SCORES = {
    "CRITICAL": 9.1,
    "HIGH": 7.5,
    "MEDIUM": 5.3,
    "LOW": 3.3,
    "INFORMATIONAL": 0.0,
}
_BASIC_SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNDEFINED")

Action = Callable[["MotoWorld"], None]
#: Called with the 1-based number of the call; returns a ``Fault`` to answer with, or None.
ResponseFactory = Callable[[int], "Fault | None"]

_SERVICE_BY_TARGET_PREFIX = {
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "SageMaker": "sagemaker",
    "Logs_20140328": "logs",
}


# ---- plain data helpers -------------------------------------------------------------------------


def finding(
    id: str,
    severity: str,
    package: str = "openssl",
    version: str = "3.0.2",
    description: str | None = None,
    fix_available: str = "YES",
    *,
    fixed_in: str | None = None,
    score: float | None = None,
    exploit_available: str = "NO",
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """One vulnerability, rendered as a basic or an enhanced finding by ``MotoWorld.set_scan``.

    ``exploit_available`` and ``status`` (ACTIVE, SUPPRESSED by an Inspector suppression rule)
    appear in enhanced findings only, as in ECR."""
    sev = severity.upper()
    return {
        "id": id,
        "severity": sev,
        "package": package,
        "version": version,
        "description": description or f"{id}: vulnerability in {package} {version}.",
        "fix_available": fix_available,
        "fixed_in": fixed_in,
        "score": _DEFAULT_SCORES.get(sev, 0.0) if score is None else score,
        "exploit_available": exploit_available,
        "status": status,
    }


def variant(
    model_name: str,
    instance_type: str | None = "ml.c5.large",
    *,
    name: str = "AllTraffic",
    count: int = 1,
    weight: float = 1.0,
    serverless: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A ``ProductionVariant`` for CreateEndpointConfig: instance-backed, or serverless if given."""
    out: dict[str, Any] = {"VariantName": name, "ModelName": model_name}
    if serverless is not None:
        out["ServerlessConfig"] = dict(serverless)
    else:
        out.update(
            InstanceType=instance_type, InitialInstanceCount=count, InitialVariantWeight=weight
        )
    return out


@dataclass(frozen=True)
class Fault:
    """An HTTP answer that replaces moto's for one call."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def aws_error(
    code: str = "AccessDeniedException",
    message: str = "User is not authorized to perform this action",
    status: int = 400,
) -> Fault:
    """A JSON-protocol AWS error (``{"__type": code, "message": message}``)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Fault(
        status,
        body,
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
    )


def fail_calls(calls: Iterable[int] | None, fault: Fault) -> ResponseFactory:
    """A response factory answering the given call numbers (all if None) with ``fault``."""
    wanted = None if calls is None else frozenset(calls)

    def factory(n: int) -> Fault | None:
        return fault if wanted is None or n in wanted else None

    return factory


@dataclass
class ScanScript:
    """What DescribeImageScanFindings / DescribeImages report for one image."""

    status: str = "COMPLETE"
    description: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    enhanced: bool = False
    page_size: int = 100
    not_found: bool = False
    completed_at: datetime | None = None
    source_updated_at: datetime | None = None
    #: False: imageScanFindings is only ``{"findings": []}`` (no counts, no completion time),
    #: what real AWS answers for an enhanced scan before its findings land, and for some clean
    #: images (aws/aws-cli#6759).
    populated: bool = True
    #: Amazon Inspector's coverage reason for the image (ListCoverage), None for no record.
    coverage: str | None = None


@dataclass
class PushedImage:
    """The manifest and config blob the world pushed for one digest."""

    repository: str
    digest: str
    manifest: dict[str, Any]
    manifest_bytes: bytes
    config: dict[str, Any]
    config_bytes: bytes
    config_digest: str
    layer_digests: list[str]


#: The ``created`` time of images the world pushes (fixed, so digests are reproducible).
DEFAULT_IMAGE_CREATED = "2026-11-26T09:25:00Z"


@dataclass(frozen=True)
class BuiltImage:
    """An image's manifest and config blob, and their digests (see ``build_image``)."""

    manifest: dict[str, Any]
    manifest_bytes: bytes
    digest: str
    config: dict[str, Any]
    config_bytes: bytes
    config_digest: str


def build_image(
    user: str = "1000",
    *,
    revision: str,
    env: Mapping[str, str] | None = None,
    created: str = DEFAULT_IMAGE_CREATED,
) -> BuiltImage:
    """The schema2 image ``MotoWorld.push_image`` pushes: same inputs, same digest."""
    config: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "User": user,
            "Env": [f"{k}={v}" for k, v in (env or {}).items()]
            + ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["python", "-m", "serve"],
            "WorkingDir": "/opt/program",
            "Labels": {"org.opencontainers.image.revision": revision},
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "COPY /opt/program /opt/program"}],
    }
    layers: list[dict[str, Any]] = []
    for i, size in enumerate((29_536_921, 14_872_110, 3_219_004)):
        blob_digest = "sha256:" + hashlib.sha256(f"{revision}/layer/{i}".encode()).hexdigest()
        diff_id = "sha256:" + hashlib.sha256(f"{revision}/diff/{i}".encode()).hexdigest()
        config["rootfs"]["diff_ids"].append(diff_id)
        layers.append(
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": size,
                "digest": blob_digest,
            }
        )
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config_bytes),
            "digest": config_digest,
        },
        "layers": layers,
    }
    manifest_bytes = json.dumps(manifest, indent=3).encode()
    digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    return BuiltImage(manifest, manifest_bytes, digest, config, config_bytes, config_digest)


# ---- timeline ----------------------------------------------------------------------------------


class Timeline:
    """Runs ``(seconds, description, action)`` steps in a background thread (see ``run_timeline``)."""

    def __init__(
        self,
        world: MotoWorld,
        steps: Sequence[tuple[float, str, Action]],
        on_event: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.world = world
        self.steps = sorted(steps, key=lambda s: s[0])
        self.on_event = on_event
        self._sleep = sleep
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self.done: list[str] = []
        self._thread = threading.Thread(target=self._run, name="soc2gate-timeline", daemon=True)

    def start(self) -> Timeline:
        self._thread.start()
        return self

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is None:
            self._stop.wait(seconds)
        else:
            self._sleep(seconds)

    def _run(self) -> None:
        elapsed = 0.0
        for at, description, action in self.steps:
            self._wait(at - elapsed)
            elapsed = max(elapsed, at)
            if self._stop.is_set():
                return
            try:
                action(self.world)
            except BaseException as exc:  # reported via errors / join()
                self.errors.append(exc)
                return
            self.done.append(description)
            if self.on_event is not None:
                self.on_event(description)

    def stop(self) -> None:
        """Skip the remaining steps (a running action finishes)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread; re-raise the first action error."""
        self._thread.join(timeout)
        if self.errors:
            raise self.errors[0]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


# ---- the world ---------------------------------------------------------------------------------

_ACTIVE_LOCK = threading.Lock()
_ACTIVE: MotoWorld | None = None


def _active_world() -> MotoWorld | None:
    return _ACTIVE


def _utc(ts: datetime | None = None) -> datetime:
    return ts or datetime.now(timezone.utc)


def _naive_utc(ts: datetime | None = None) -> datetime:
    """moto stores naive UTC datetimes (moto.core.utils.utcnow)."""
    ts = _utc(ts)
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


class MotoWorld:
    """A running moto server plus seeding helpers. Use as a context manager."""

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.host = host
        self._port = port
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._lock = threading.RLock()
        #: Operations seen (e.g. ``calls["DescribeEndpoint"]``); seeding calls are not counted.
        self.calls: collections.Counter[str] = collections.Counter()
        #: The same, keyed by (service, operation).
        self.calls_by_service: collections.Counter[tuple[str, str]] = collections.Counter()
        #: Exceptions raised by ``on_call`` actions (re-raised by ``check`` / on exit).
        self.hook_errors: list[BaseException] = []
        self._hooks: dict[tuple[str, int], list[Action]] = collections.defaultdict(list)
        self._faults: dict[str, list[ResponseFactory]] = collections.defaultdict(list)
        self._scans: dict[tuple[str, str], ScanScript] = {}
        self._pushed: dict[tuple[str, str], PushedImage] = {}
        self._blobs: dict[str, bytes] = {}
        #: Inference components (moto has none): name -> DescribeInferenceComponent answer.
        self._components: dict[str, dict[str, Any]] = {}
        self._timelines: list[Timeline] = []
        self.ecr: Any = None
        self.sagemaker: Any = None
        self.logs: Any = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("MotoWorld is not started")
        return self._endpoint_url

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])

    def start(self) -> MotoWorld:
        """Start the server, reset moto's global state and create the seeding clients."""
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is not None:
                raise RuntimeError("another MotoWorld is running in this process")
            _ACTIVE = self
        try:
            _install_patches()
            self._server = _make_server(self)
            self._server.start()
            _host, port = self._server.get_host_and_port()
            self._endpoint_url = f"http://{self.host}:{port}"
            self._reset_moto()
            self.ecr = self.client("ecr", counted=False)
            self.sagemaker = self.client("sagemaker", counted=False)
            self.logs = self.client("logs", counted=False)
        except BaseException:
            self._release()
            raise
        return self

    def stop(self) -> None:
        """Stop timelines and the server and reset moto's global state."""
        for timeline in self._timelines:
            timeline.stop()
        try:
            if self._server is not None and self._endpoint_url is not None:
                self._reset_moto()
        finally:
            try:
                if self._server is not None:
                    self._server.stop()
            finally:
                self._server = None
                self._release()

    def _release(self) -> None:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is self:
                _ACTIVE = None

    def __enter__(self) -> MotoWorld:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.stop()
        if exc_type is None:
            self.check()

    def check(self) -> None:
        """Re-raise the first exception an ``on_call`` action raised."""
        if self.hook_errors:
            raise self.hook_errors[0]

    def _reset_moto(self) -> None:
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def client(self, service: str, *, counted: bool = True) -> Any:
        """A boto3 client for this world; ``counted=False`` clients bypass counting and hooks."""
        client = boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=FAKE_CREDENTIAL,
            aws_secret_access_key=FAKE_CREDENTIAL,
            aws_session_token=FAKE_CREDENTIAL,
        )
        if not counted:

            def mark(request: Any, **_: Any) -> None:
                request.headers[SEED_HEADER] = "1"

            client.meta.events.register("before-sign", mark)
        return client

    def env(self) -> dict[str, str]:
        """Environment variables pointing an AWS SDK / the gate at this world."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIAL,
            "AWS_SESSION_TOKEN": FAKE_CREDENTIAL,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    # ---- moto backends ---------------------------------------------------------------------

    def _ecr_backend(self) -> Any:
        from moto.ecr.models import ecr_backends

        return ecr_backends[self.account_id][self.region]

    def _sagemaker_backend(self) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[self.account_id][self.region]

    # ---- ECR -------------------------------------------------------------------------------

    def create_repository(
        self,
        name: str,
        scan_on_push: bool = True,
        encryption: str = "AES256",
        kms_key: str | None = None,
        tag_mutability: str = "MUTABLE",
    ) -> dict[str, Any]:
        """CreateRepository; returns the ``repository`` dict."""
        enc: dict[str, str] = {"encryptionType": encryption}
        if kms_key:
            enc["kmsKey"] = kms_key
        repo = self.ecr.create_repository(
            repositoryName=name,
            imageScanningConfiguration={"scanOnPush": scan_on_push},
            encryptionConfiguration=enc,
            imageTagMutability=tag_mutability,
        )["repository"]
        self._sync_scanning_config()
        return dict(repo)

    def set_registry_scanning(
        self, scan_type: str, rules: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """PutRegistryScanningConfiguration (``scan_type`` BASIC or ENHANCED)."""
        self.ecr.put_registry_scanning_configuration(
            scanType=scan_type, rules=[dict(r) for r in rules or []]
        )
        self._sync_scanning_config()

    def _sync_scanning_config(self) -> None:
        # moto reports scanOnPush False / MANUAL in BatchGetRepositoryScanningConfiguration
        # whatever the repository's imageScanningConfiguration says; fix that up.
        with self._lock:
            for repo in self._ecr_backend().repositories.values():
                on_push = bool((repo.image_scanning_configuration or {}).get("scanOnPush"))
                repo.scanning_config["scanOnPush"] = on_push
                if not repo.scanning_config.get("appliedScanFilters"):
                    repo.scanning_config["scanFrequency"] = "SCAN_ON_PUSH" if on_push else "MANUAL"

    def push_image(
        self,
        repo: str,
        tags: list[str],
        user: str = "1000",
        *,
        revision: str | None = None,
        env: Mapping[str, str] | None = None,
        created: str = DEFAULT_IMAGE_CREATED,
    ) -> str:
        """Push a schema2 image (config blob + layers) under all ``tags``; returns its digest.

        Tags already on another image move to this one; the other image stays, untagged if it
        lost its last tag (moto would delete it). ``revision`` varies the image content, and so
        does ``created`` (a rebuild of the same commit); ``build_image`` gives the same digest
        without a world.
        """
        revision = revision or hashlib.sha1("|".join(tags).encode()).hexdigest()
        built = build_image(user, revision=revision, env=env, created=created)
        config, config_bytes, config_digest = built.config, built.config_bytes, built.config_digest
        manifest, manifest_bytes, digest = built.manifest, built.manifest_bytes, built.digest
        layers = manifest["layers"]
        manifest_text = manifest_bytes.decode()

        backend = self._ecr_backend()
        with self._lock:
            repository = backend.repositories[repo]
            self._put_manifest(repo, tags, manifest_text, digest)
            repository.layers[config_digest] = len(config_bytes)
            for layer in layers:
                repository.layers[layer["digest"]] = layer["size"]
            self._blobs[config_digest] = config_bytes
            self._pushed[(repo, digest)] = PushedImage(
                repo,
                digest,
                manifest,
                manifest_bytes,
                config,
                config_bytes,
                config_digest,
                [lay["digest"] for lay in layers],
            )
        return digest

    def _put_manifest(
        self, repo: str, tags: Sequence[str], manifest_text: str, digest: str
    ) -> None:
        """PutImage under every tag, moving tags off other images (which stay, maybe untagged)."""
        repository = self._ecr_backend().repositories[repo]
        with self._lock:
            if not repository.is_tag_immutable():
                for image in repository.images:
                    if image.get_image_digest() == digest:
                        continue
                    for tag in tags:
                        if tag in image.image_tags:
                            image.image_tags.remove(tag)
                            image.image_tag = image.image_tags[-1] if image.image_tags else None
            existing = next((i for i in repository.images if i.get_image_digest() == digest), None)
            have = set(existing.image_tags) if existing is not None else set()
            pending = [t for t in tags if t not in have]
            if existing is None and not pending:
                self.ecr.put_image(
                    repositoryName=repo, imageManifest=manifest_text, imageDigest=digest
                )
            for tag in pending:
                self.ecr.put_image(
                    repositoryName=repo,
                    imageManifest=manifest_text,
                    imageTag=tag,
                    imageDigest=digest,
                )

    def push_index(self, repo: str, tags: list[str], platforms: Mapping[str, str]) -> str:
        """Push an OCI image index under ``tags``; returns its digest.

        ``platforms`` maps ``os/architecture`` (e.g. ``linux/arm64``) to the digest of an image
        already pushed here with ``push_image``.
        """
        entries = []
        for platform, child in platforms.items():
            os_name, _, architecture = platform.partition("/")
            pushed = self.pushed(repo, child)
            entries.append(
                {
                    "mediaType": pushed.manifest["mediaType"],
                    "digest": child,
                    "size": len(pushed.manifest_bytes),
                    "platform": {"os": os_name, "architecture": architecture},
                }
            )
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
        index_bytes = json.dumps(index, indent=3).encode()
        digest = "sha256:" + hashlib.sha256(index_bytes).hexdigest()
        self._put_manifest(repo, tags, index_bytes.decode(), digest)
        return digest

    def serve_blob(self, digest: str, data: bytes) -> None:
        """Answer downloads of blob ``digest`` with ``data`` (e.g. to tamper with a config)."""
        with self._lock:
            self._blobs[digest] = data

    def pushed(self, repo: str, digest: str) -> PushedImage:
        """The manifest / config blob pushed for ``digest`` (KeyError if not pushed here)."""
        return self._pushed[(repo, digest)]

    def untag(self, repo: str, tag: str) -> None:
        """Remove ``tag`` from whichever image has it; the image stays (untagged if last tag)."""
        with self._lock:
            for image in self._ecr_backend().repositories[repo].images:
                if tag in image.image_tags:
                    image.image_tags.remove(tag)
                    image.image_tag = image.image_tags[-1] if image.image_tags else None

    def image_uri(self, repo: str, tag: str | None = None, digest: str | None = None) -> str:
        """``<account>.dkr.ecr.<region>.amazonaws.com/<repo>`` plus ``:tag`` or ``@digest``."""
        base = f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{repo}"
        if digest:
            return f"{base}@{digest}"
        return f"{base}:{tag}" if tag else base

    def resolve_digest(self, repo: str, tag_or_digest: str) -> str:
        """The digest a tag currently points at (a digest is returned unchanged)."""
        if tag_or_digest.startswith("sha256:"):
            return tag_or_digest
        repository = self._ecr_backend().repositories[repo]
        for image in repository.images:
            if tag_or_digest in image.image_tags:
                return str(image.get_image_digest())
        raise KeyError(f"{repo}:{tag_or_digest} not found")

    def set_scan(
        self,
        repo: str,
        digest: str,
        status: str = "COMPLETE",
        description: str | None = None,
        findings: Sequence[Mapping[str, Any]] = (),
        enhanced: bool = False,
        page_size: int = 100,
        populated: bool = True,
        coverage: str | None = "auto",
        completed_at: datetime | None = None,
    ) -> None:
        """Script what DescribeImageScanFindings / DescribeImages say for this image (tag ok).

        ``coverage`` is what Amazon Inspector's ListCoverage reports for it: "auto" gives an
        enhanced scan SUCCESSFUL once it is ACTIVE/COMPLETE and PENDING_INITIAL_SCAN before,
        and a basic scan no record (Inspector does not cover basic scanning).
        """
        if status not in SCAN_STATUSES:
            raise ValueError(f"unknown scan status {status!r}")
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        key = (repo, self.resolve_digest(repo, digest))
        with self._lock:
            old = self._scans.get(key)
            now = _utc()
            completed = None
            if status in _FINDINGS_STATUSES:
                same = old is not None and old.status == status and old.completed_at is not None
                completed = old.completed_at if same and old is not None else now
                completed = _utc(completed_at) if completed_at is not None else completed
            self._scans[key] = ScanScript(
                status=status,
                description=description,
                findings=[dict(f) for f in findings],
                enhanced=enhanced,
                page_size=page_size,
                completed_at=completed,
                source_updated_at=(completed - timedelta(hours=3)) if completed else None,
                populated=populated,
                coverage=(
                    ("SUCCESSFUL" if status in _FINDINGS_STATUSES else "PENDING_INITIAL_SCAN")
                    if enhanced
                    else None
                )
                if coverage == "auto"
                else coverage,
            )

    def set_pushed_at(self, repo: str, tag_or_digest: str, when: datetime) -> None:
        """Backdate an image's imagePushedAt (an image pushed long ago, e.g. a stale scan)."""
        digest = self.resolve_digest(repo, tag_or_digest)
        with self._lock:
            for image in self._ecr_backend().repositories[repo].images:
                if image.get_image_digest() == digest:
                    image.image_pushed_at = int(_utc(when).timestamp())

    def set_scan_not_found(self, repo: str, digest: str) -> None:
        """DescribeImageScanFindings raises ScanNotFoundException for this image."""
        with self._lock:
            self._scans[(repo, self.resolve_digest(repo, digest))] = ScanScript(not_found=True)

    def clear_scan(self, repo: str, digest: str) -> None:
        """Forget the script: moto's own behaviour applies again."""
        with self._lock:
            self._scans.pop((repo, self.resolve_digest(repo, digest)), None)

    def scan_script(self, repo: str, digest: str) -> ScanScript | None:
        with self._lock:
            return self._scans.get((repo, digest))

    # ---- SageMaker -------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        env: Mapping[str, str],
        image: str | None = None,
        containers: Sequence[Mapping[str, Any]] | None = None,
        *,
        created_at: datetime | None = None,
    ) -> str:
        """CreateModel with a PrimaryContainer (``image`` + ``env``) or ``containers``; the ARN."""
        kwargs: dict[str, Any] = {
            "ModelName": name,
            "ExecutionRoleArn": f"arn:aws:iam::{self.account_id}:role/SageMakerExecutionRole-soc2",
        }
        if containers is not None:
            kwargs["Containers"] = [
                {"Environment": dict(env), **dict(c)} if "Environment" not in c else dict(c)
                for c in containers
            ]
        else:
            if image is None:
                raise ValueError("create_model needs image or containers")
            kwargs["PrimaryContainer"] = {
                "Image": image,
                "Mode": "SingleModel",
                "Environment": dict(env),
            }
        arn = str(self.sagemaker.create_model(**kwargs)["ModelArn"])
        if created_at is not None:
            with self._lock:
                self._sagemaker_backend()._models[name].creation_time = _naive_utc(created_at)
        return arn

    def create_model_package(
        self,
        group: str,
        image: str,
        env: Mapping[str, str] | None,
        approval: str = "Approved",
    ) -> str:
        """Register a model package version in ``group`` (created if new), as SageMaker
        Pipelines' RegisterModel step does; returns the version's ARN (group/N)."""
        groups = self.sagemaker.list_model_package_groups(NameContains=group)
        if not any(
            g["ModelPackageGroupName"] == group for g in groups["ModelPackageGroupSummaryList"]
        ):
            self.sagemaker.create_model_package_group(ModelPackageGroupName=group)
        container: dict[str, Any] = {"Image": image}
        if env is not None:
            container["Environment"] = dict(env)
        resp = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelApprovalStatus=approval,
        )
        return str(resp["ModelPackageArn"])

    def create_model_from_package(
        self,
        name: str,
        package_arn: str,
        env: Mapping[str, str] | None = None,
        *,
        created_at: datetime | None = None,
    ) -> str:
        """CreateModel whose PrimaryContainer names a model package (plus its own Environment)."""
        container: dict[str, Any] = {"ModelPackageName": package_arn}
        if env is not None:
            container["Environment"] = dict(env)
        arn = str(
            self.sagemaker.create_model(
                ModelName=name,
                ExecutionRoleArn=f"arn:aws:iam::{self.account_id}:role/SageMakerExecutionRole-soc2",
                PrimaryContainer=container,
            )["ModelArn"]
        )
        if created_at is not None:
            with self._lock:
                self._sagemaker_backend()._models[name].creation_time = _naive_utc(created_at)
        return arn

    def create_endpoint_config(
        self, name: str, variants: Sequence[Mapping[str, Any] | tuple[str, str]]
    ) -> str:
        """CreateEndpointConfig; variants are ``variant(...)`` dicts or (model, instance type)."""
        production = [variant(v[0], v[1]) if isinstance(v, tuple) else dict(v) for v in variants]
        resp = self.sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=production
        )
        return str(resp["EndpointConfigArn"])

    def create_endpoint(self, name: str, config_name: str, status: str = "Creating") -> str:
        """CreateEndpoint, then force its status (moto makes endpoints InService at once)."""
        arn = str(
            self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)[
                "EndpointArn"
            ]
        )
        self.set_endpoint(name, status=status)
        return arn

    def set_endpoint(
        self,
        name: str,
        status: str | None = None,
        failure_reason: str | None = None,
        config_name: str | None = None,
        deployed_images: Sequence[Mapping[str, Any]]
        | Mapping[str, Sequence[Mapping[str, Any]]]
        | None = None,
        *,
        pending_config_name: str | None = None,
    ) -> None:
        """Mutate the endpoint in moto's backend (status, FailureReason, config, DeployedImages).

        ``deployed_images`` is a list for every variant or a dict variant name -> list.
        ``config_name`` switches the endpoint to that config with settled variants
        (CurrentInstanceCount == DesiredInstanceCount == the config's InitialInstanceCount, or
        the serverless config as both current and desired), as SageMaker reports an InService
        endpoint. ``pending_config_name`` sets PendingDeploymentSummary ("" removes it); any
        status other than Updating removes it too, as SageMaker does once an update ends.
        """
        backend = self._sagemaker_backend()
        with self._lock:
            endpoint = backend.endpoints[name]
            if config_name is not None:
                config = backend.endpoint_configs[config_name]
                endpoint.endpoint_config_name = config_name
                endpoint.production_variants = endpoint._process_production_variants(
                    config.production_variants
                )
            if status is not None:
                endpoint.endpoint_status = status
                if failure_reason is None and status != "Failed":
                    endpoint.failure_reason = None
                if status != "Updating" and pending_config_name is None:
                    endpoint.pending_deployment_summary = None
            if failure_reason is not None:
                endpoint.failure_reason = failure_reason
            if pending_config_name is not None:
                endpoint.pending_deployment_summary = (
                    self._pending_summary(pending_config_name) if pending_config_name else None
                )
            if deployed_images is not None:
                for pv in endpoint.production_variants:
                    images = (
                        deployed_images.get(pv["VariantName"])
                        if isinstance(deployed_images, Mapping)
                        else deployed_images
                    )
                    if images is not None:
                        pv["DeployedImages"] = [dict(i) for i in images]
            endpoint.last_modified_time = _naive_utc()

    def _pending_summary(self, config_name: str) -> dict[str, Any]:
        """PendingDeploymentSummary for an update to ``config_name``: its variants starting."""
        config = self._sagemaker_backend().endpoint_configs[config_name]
        variants = []
        for pv in config.production_variants:
            variant: dict[str, Any] = {
                "VariantName": pv["VariantName"],
                "VariantStatus": [{"Status": "Creating", "StartTime": _utc()}],
            }
            if pv.get("InstanceType"):
                variant.update(
                    InstanceType=pv["InstanceType"],
                    CurrentInstanceCount=0,
                    DesiredInstanceCount=pv.get("InitialInstanceCount") or 1,
                )
            if pv.get("ServerlessConfig"):
                variant["DesiredServerlessConfig"] = dict(pv["ServerlessConfig"])
            variants.append(variant)
        return {
            "EndpointConfigName": config_name,
            "ProductionVariants": variants,
            "StartTime": _utc(),
        }

    def set_variant(
        self,
        name: str,
        variant: str = "AllTraffic",
        *,
        current_instances: int | None = None,
        desired_instances: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> None:
        """Make one production variant of an endpoint unsettled (or settled again).

        ``current_instances`` / ``desired_instances`` set CurrentInstanceCount /
        DesiredInstanceCount (an InService endpoint scaling); ``statuses`` sets VariantStatus
        (e.g. ``["Baking"]``; ``[]`` removes it: the variant is settled).
        """
        backend = self._sagemaker_backend()
        with self._lock:
            endpoint = backend.endpoints[name]
            (pv,) = [v for v in endpoint.production_variants if v["VariantName"] == variant]
            if current_instances is not None:
                pv["CurrentInstanceCount"] = current_instances
            if desired_instances is not None:
                pv["DesiredInstanceCount"] = desired_instances
            if statuses is not None:
                if statuses:
                    pv["VariantStatus"] = [
                        {"Status": s, "StatusMessage": f"{s} in progress", "StartTime": _utc()}
                        for s in statuses
                    ]
                else:
                    pv.pop("VariantStatus", None)
            endpoint.last_modified_time = _naive_utc()

    def update_endpoint(self, name: str, config_name: str) -> None:
        """UpdateEndpoint to ``config_name``: Updating, still on the old EndpointConfigName,
        with PendingDeploymentSummary naming the new one (what SageMaker reports meanwhile)."""
        self.set_endpoint(name, status="Updating", pending_config_name=config_name)

    def finish_update(
        self,
        name: str,
        deployed_images: Sequence[Mapping[str, Any]]
        | Mapping[str, Sequence[Mapping[str, Any]]]
        | None = None,
    ) -> None:
        """The update succeeded: InService on the pending config, variants settled."""
        with self._lock:
            endpoint = self._sagemaker_backend().endpoints[name]
            summary = getattr(endpoint, "pending_deployment_summary", None)
        if not summary:
            raise ValueError(f"endpoint {name} has no update in progress")
        self.set_endpoint(
            name,
            status="InService",
            config_name=summary["EndpointConfigName"],
            deployed_images=deployed_images,
        )

    def roll_back_update(self, name: str, failure_reason: str) -> None:
        """The update failed and was rolled back: InService on the old config, with a
        FailureReason (the deployment did not happen)."""
        self.set_endpoint(name, status="InService", failure_reason=failure_reason)

    def deployed_image(self, repo: str, tag: str, digest: str | None = None) -> dict[str, Any]:
        """A ``DeployedImage``: the tag URI as specified, resolved to ``repo@digest``."""
        digest = digest or self.resolve_digest(repo, tag)
        return {
            "SpecifiedImage": self.image_uri(repo, tag=tag),
            "ResolvedImage": self.image_uri(repo, digest=digest),
            "ResolutionTime": _utc(),
        }

    def create_inference_component(
        self,
        name: str,
        endpoint: str,
        variant: str = "AllTraffic",
        *,
        model_name: str | None = None,
        image: str | None = None,
        env: Mapping[str, str] | None = None,
        status: str = "Creating",
        copies: int = 1,
    ) -> str:
        """CreateInferenceComponent (moto has none): a component on ``endpoint``'s ``variant``
        serving ``model_name`` and/or a ``Container`` (``image`` + ``env``); returns its ARN.

        Shaped like DescribeInferenceComponent in the API reference; ``set_inference_component``
        moves it on (InService fills Container.DeployedImage, as SageMaker does)."""
        arn = (
            f"arn:aws:sagemaker:{self.region}:{self.account_id}:inference-component/{name.lower()}"
        )
        spec: dict[str, Any] = {
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 1.0,
                "MinMemoryRequiredInMb": 1024,
            }
        }
        if model_name is not None:
            spec["ModelName"] = model_name
        if image is not None:
            container: dict[str, Any] = {"DeployedImage": {"SpecifiedImage": image}}
            if env is not None:
                container["Environment"] = dict(env)
            spec["Container"] = container
        now = _utc()
        with self._lock:
            self._components[name] = {
                "InferenceComponentName": name,
                "InferenceComponentArn": arn,
                "EndpointName": endpoint,
                "EndpointArn": (
                    f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{endpoint.lower()}"
                ),
                "VariantName": variant,
                "Specification": spec,
                "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": 0},
                "CreationTime": now,
                "LastModifiedTime": now,
                "InferenceComponentStatus": status,
            }
        return arn

    def set_inference_component(
        self,
        name: str,
        *,
        status: str | None = None,
        deployed_image: Mapping[str, Any] | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Move an inference component on: its status, Container.DeployedImage (what SageMaker
        resolved), FailureReason. InService sets CurrentCopyCount to DesiredCopyCount."""
        with self._lock:
            component = self._components[name]
            if status is not None:
                component["InferenceComponentStatus"] = status
                runtime = component["RuntimeConfig"]
                if status == "InService":
                    runtime["CurrentCopyCount"] = runtime["DesiredCopyCount"]
            if deployed_image is not None:
                container = component["Specification"].setdefault("Container", {})
                container["DeployedImage"] = dict(deployed_image)
            if failure_reason is not None:
                component["FailureReason"] = failure_reason
            component["LastModifiedTime"] = _utc()

    def delete_inference_component(self, name: str) -> None:
        """DeleteInferenceComponent: gone at once (SageMaker passes through Deleting)."""
        with self._lock:
            del self._components[name]

    def inference_components(self) -> dict[str, dict[str, Any]]:
        """A copy of the inference components as DescribeInferenceComponent would answer."""
        with self._lock:
            return json.loads(json.dumps(self._components, default=lambda t: t.timestamp()))

    def delete_endpoint(self, name: str) -> None:
        """DeleteEndpoint."""
        self.sagemaker.delete_endpoint(EndpointName=name)

    # ---- CloudWatch Logs ---------------------------------------------------------------------

    def put_endpoint_logs(
        self, endpoint: str, lines: Sequence[str], stream: str = DEFAULT_LOG_STREAM
    ) -> str:
        """Append lines to ``/aws/sagemaker/Endpoints/<endpoint>``; returns the group name."""
        group = f"/aws/sagemaker/Endpoints/{endpoint}"
        existing = self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if not any(g["logGroupName"] == group for g in existing):
            self.logs.create_log_group(logGroupName=group)
        streams = self.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
        if not any(s["logStreamName"] == stream for s in streams["logStreams"]):
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        if lines:
            now = int(time.time() * 1000)
            self.logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
            )
        return group

    # ---- hooks, faults, timeline ------------------------------------------------------------

    def on_call(self, operation: str, n: int, action: Action) -> None:
        """Run ``action(world)`` right before the n-th (1-based) ``operation`` call is answered."""
        if n < 1:
            raise ValueError("n is 1-based")
        with self._lock:
            self._hooks[(operation, n)].append(action)

    def inject(self, operation: str, response_factory: ResponseFactory) -> None:
        """Answer ``operation`` calls with ``response_factory(n)`` when it returns a Fault."""
        with self._lock:
            self._faults[operation].append(response_factory)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.calls_by_service.clear()

    def run_timeline(
        self,
        steps: Sequence[tuple[float, str, Action]],
        on_event: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Timeline:
        """Start a background thread running each step's action at ``seconds`` from now.

        ``on_event(description)`` is called after each action. ``sleep`` defaults to an
        interruptible wait (``Timeline.stop``).
        """
        timeline = Timeline(self, steps, on_event, sleep).start()
        self._timelines.append(timeline)
        return timeline

    def _before_call(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            self.calls[operation] += 1
            self.calls_by_service[(service, operation)] += 1
            n = self.calls[operation]
            actions = list(self._hooks.get((operation, n), ()))
            factories = list(self._faults.get(operation, ()))
        for action in actions:
            try:
                action(self)
            except BaseException as exc:
                self.hook_errors.append(exc)
                print(
                    f"MotoWorld: on_call({operation}, {n}) action failed: {exc!r}", file=sys.stderr
                )
        for factory in factories:
            fault = factory(n)
            if fault is not None:
                return fault
        return None

    # ---- scan rendering (used by the moto patches) ------------------------------------------

    def _render_basic(self, f: Mapping[str, Any]) -> dict[str, Any]:
        sev = f["severity"] if f["severity"] in _BASIC_SEVERITIES else "UNDEFINED"
        attrs = [
            {"key": "package_version", "value": f["version"]},
            {"key": "package_name", "value": f["package"]},
        ]
        if f.get("score"):
            attrs.append({"key": "CVSS3_SCORE", "value": str(f["score"])})
        return {
            "name": f["id"],
            "description": f["description"],
            "uri": f"https://nvd.nist.gov/vuln/detail/{f['id']}",
            "severity": sev,
            "attributes": attrs,
        }

    def _render_enhanced(
        self, f: Mapping[str, Any], repo: str, digest: str, tags: list[str], pushed_at: datetime
    ) -> dict[str, Any]:
        key = hashlib.sha256(f"{repo}{digest}{f['id']}{f['package']}".encode()).hexdigest()
        observed = pushed_at
        package: dict[str, Any] = {
            "name": f["package"],
            "version": f["version"],
            "packageManager": "OS",
            "arch": "X86_64",
        }
        if f.get("fixed_in"):
            package["fixedInVersion"] = f["fixed_in"]
        score = float(f.get("score") or 0.0)
        vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
        text = (
            f"Upgrade {f['package']} to {f['fixed_in']} or later."
            if f.get("fixed_in")
            else "None Provided"
        )
        return {
            "awsAccountId": self.account_id,
            "description": f["description"],
            "findingArn": f"arn:aws:inspector2:{self.region}:{self.account_id}:finding/{key[:32]}",
            "firstObservedAt": observed,
            "lastObservedAt": _utc(),
            "updatedAt": _utc(),
            "packageVulnerabilityDetails": {
                "vulnerabilityId": f["id"],
                "vulnerablePackages": [package],
                "source": "NVD",
                "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{f['id']}",
                "vendorSeverity": f["severity"],
                "cvss": [
                    {"baseScore": score, "scoringVector": vector, "source": "NVD", "version": "3.1"}
                ],
                "referenceUrls": [f"https://www.cve.org/CVERecord?id={f['id']}"],
            },
            "remediation": {"recommendation": {"text": text}},
            "resources": [
                {
                    "details": {
                        "awsEcrContainerImage": {
                            "architecture": "amd64",
                            "imageHash": digest,
                            "imageTags": tags,
                            "platform": "UBUNTU_22_04",
                            "pushedAt": pushed_at,
                            "registry": self.account_id,
                            "repositoryName": repo,
                        }
                    },
                    "id": f"arn:aws:ecr:{self.region}:{self.account_id}:repository/{repo}/{digest}",
                    "type": "AWS_ECR_CONTAINER_IMAGE",
                }
            ],
            "score": score,
            "scoreDetails": {
                "cvss": {
                    "score": score,
                    "scoreSource": "NVD",
                    "scoringVector": vector,
                    "version": "3.1",
                    "adjustments": [],
                }
            },
            "severity": f["severity"],
            "status": f.get("status", "ACTIVE"),
            "title": f"{f['id']} - {f['package']}",
            "type": "PACKAGE_VULNERABILITY",
            "fixAvailable": f.get("fix_available", "YES"),
            "exploitAvailable": f.get("exploit_available", "NO"),
        }

    @staticmethod
    def _severity_counts(script: ScanScript) -> dict[str, int]:
        counts: collections.Counter[str] = collections.Counter()
        for f in script.findings:
            sev = f["severity"]
            if not script.enhanced and sev not in _BASIC_SEVERITIES:
                sev = "UNDEFINED"
            counts[sev] += 1
        return dict(counts)

    def _scan_status(self, script: ScanScript) -> dict[str, str]:
        return {
            "status": script.status,
            "description": script.description or _DEFAULT_DESCRIPTIONS.get(script.status, ""),
        }

    def _scan_summary(self, script: ScanScript) -> dict[str, Any] | None:
        if script.status not in _FINDINGS_STATUSES:
            return None
        if not script.populated:
            return {"findings": []}
        return {
            "imageScanCompletedAt": script.completed_at,
            "vulnerabilitySourceUpdatedAt": script.source_updated_at,
            "findingSeverityCounts": self._severity_counts(script),
        }


# ---- server -------------------------------------------------------------------------------------


def _operation_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of an AWS request, or None (moto-api, blob downloads...)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or path.startswith("/_soc2gate/"):
        return None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, op = target.rsplit(".", 1)
        return service or _SERVICE_BY_TARGET_PREFIX.get(prefix, prefix), op
    if "/operation/" in path:  # smithy rpc-v2-cbor
        return service, path.rsplit("/operation/", 1)[1].strip("/")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):  # query protocol
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return service, action[0]
    qs_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if qs_action:
        return service, qs_action[0]
    return None


class _WorldApp:
    """WSGI wrapper around moto's app: counts, hooks, faults and blob downloads."""

    def __init__(self, app: Any, world: MotoWorld) -> None:
        self.app = app
        self.world = world

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/coverage/list" and environ.get("REQUEST_METHOD") == "POST":
            return self._list_coverage(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target in ("SageMaker.ListInferenceComponents", "SageMaker.DescribeInferenceComponent"):
            return self._inference_components(target.rsplit(".", 1)[1], environ, start_response)
        if path.startswith("/_soc2gate/blobs/"):
            blob = self.world._blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"blob not found"]
            start_response(
                "200 OK",
                [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(blob)))],
            )
            return [blob]
        if not environ.get("HTTP_" + SEED_HEADER.upper().replace("-", "_")):
            op = _operation_of(environ)
            if op is not None:
                fault = self.world._before_call(*op)
                if fault is not None:
                    body = fault.body
                    headers = {"Content-Type": "application/x-amz-json-1.1", **fault.headers}
                    headers.setdefault("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
                    headers["Content-Length"] = str(len(body))
                    start_response(f"{fault.status} Injected", list(headers.items()))
                    return [body]
        return self.app(environ, start_response)

    def _inference_components(
        self, operation: str, environ: dict[str, Any], start_response: Any
    ) -> Any:
        """SageMaker ListInferenceComponents / DescribeInferenceComponent (moto has neither).

        JSON 1.1 like the real service: epoch-second timestamps; List filters by
        EndpointNameEquals / VariantNameEquals / StatusEquals and pages with NextToken;
        Describe of an unknown name is a ValidationException, as SageMaker answers.
        """
        seeded = environ.get("HTTP_" + SEED_HEADER.upper().replace("-", "_"))
        fault = None if seeded else self.world._before_call("sagemaker", operation)
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        components = self.world.inference_components()
        status, body = "200 OK", dict[str, Any]()
        if operation == "DescribeInferenceComponent":
            found = components.get(str(request.get("InferenceComponentName", "")))
            if found is None:
                status = "400 Bad Request"
                body = {
                    "__type": "ValidationException",
                    "message": "Could not find inference component "
                    f'"{request.get("InferenceComponentName")}".',
                }
            else:
                body = found
        else:
            summaries = []
            for c in sorted(components.values(), key=lambda c: c["CreationTime"], reverse=True):
                if request.get("EndpointNameEquals") not in (None, c["EndpointName"]):
                    continue
                if request.get("VariantNameEquals") not in (None, c["VariantName"]):
                    continue
                if request.get("StatusEquals") not in (None, c["InferenceComponentStatus"]):
                    continue
                summaries.append(
                    {
                        k: c[k]
                        for k in (
                            "CreationTime",
                            "InferenceComponentArn",
                            "InferenceComponentName",
                            "EndpointArn",
                            "EndpointName",
                            "VariantName",
                            "InferenceComponentStatus",
                            "LastModifiedTime",
                        )
                    }
                )
            start = _decode_token(request["NextToken"]) if request.get("NextToken") else 0
            size = int(request.get("MaxResults") or 10)
            body = {"InferenceComponents": summaries[start : start + size]}
            if start + size < len(summaries):
                body["NextToken"] = _encode_token(start + size)
        data = json.dumps(body).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(data))),
                ("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"),
            ],
        )
        return [data]

    def _list_coverage(self, environ: dict[str, Any], start_response: Any) -> Any:
        """inspector2 ListCoverage (moto has none): the world's scan scripts' coverage records.

        REST-JSON like the real service: epoch-second timestamps, filters by resourceId.
        """
        fault = self.world._before_call("inspector2", "ListCoverage")
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        criteria = request.get("filterCriteria") or {}
        wanted = [f.get("value", "") for f in criteria.get("resourceId") or []]
        records = []
        for resource_id in wanted:
            # arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>
            _, _, rest = resource_id.partition(":repository/")
            repo, _, digest = rest.rpartition("/")
            script = self.world.scan_script(repo, digest)
            if script is None or script.coverage is None:
                continue
            record: dict[str, Any] = {
                "accountId": self.world.account_id,
                "resourceId": resource_id,
                "resourceType": "AWS_ECR_CONTAINER_IMAGE",
                "scanType": "PACKAGE",
                "scanStatus": {"statusCode": "ACTIVE", "reason": script.coverage},
                "resourceMetadata": {
                    "ecrRepository": {"name": repo, "scanFrequency": "CONTINUOUS_SCAN"}
                },
            }
            if script.coverage == "SUCCESSFUL" and script.completed_at is not None:
                record["lastScannedAt"] = script.completed_at.timestamp()
            records.append(record)
        body = json.dumps({"coveredResources": records}).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"),
            ],
        )
        return [body]


def _make_server(world: MotoWorld) -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    class WorldServer(ThreadedMotoServer):
        # Same as ThreadedMotoServer._server_entry, with the app wrapped and request logs off.
        def _server_entry(self) -> None:
            app = _WorldApp(DomainDispatcherApplication(create_backend_app), world)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=QuietHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.05)

    return WorldServer(ip_address=world.host, port=world._port, verbose=False)


# ---- moto patches (process-wide, installed once, inert without an active world) ----------------

_PATCH_LOCK = threading.Lock()
_PATCHED = False


def _install_patches() -> None:
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        _patch_ecr()
        _patch_sagemaker()
        _PATCHED = True


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(token)
    return offset


def _patch_ecr() -> None:
    from moto.core.responses import ActionResult
    from moto.ecr.exceptions import InvalidParameterException, ScanNotFoundException
    from moto.ecr.responses import ECRResponse

    original_findings = ECRResponse.describe_image_scan_findings
    original_images = ECRResponse.describe_images

    def describe_image_scan_findings(self: Any) -> Any:
        world = _active_world()
        if world is None:
            return original_findings(self)
        registry_id = self._get_param("registryId")
        repository_name = self._get_param("repositoryName")
        image_id = self._get_param("imageId") or {}
        repo = self.ecr_backend._get_repository(repository_name, registry_id)
        image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
        digest = image.get_image_digest()
        script = world.scan_script(repository_name, digest)
        if script is None:
            return original_findings(self)
        if script.not_found:
            idigest = image_id.get("imageDigest") or "null"
            itag = image_id.get("imageTag") or "null"
            raise ScanNotFoundException(
                image_id=f"{{imageDigest:'{idigest}', imageTag:'{itag}'}}",
                repository_name=repository_name,
                registry_id=repo.registry_id,
            )
        resolved_id = {"imageDigest": digest}
        if image_id.get("imageTag"):
            resolved_id["imageTag"] = image_id["imageTag"]
        result: dict[str, Any] = {
            "registryId": repo.registry_id,
            "repositoryName": repository_name,
            "imageId": resolved_id,
            "imageScanStatus": world._scan_status(script),
        }
        summary = world._scan_summary(script)
        if summary is not None and not script.populated:
            result["imageScanFindings"] = summary
        elif summary is not None:
            token = self._get_param("nextToken")
            try:
                start = _decode_token(token) if token else 0
            except (ValueError, KeyError, TypeError):
                raise InvalidParameterException(
                    "Invalid parameter at 'nextToken' failed to satisfy constraint: "
                    "'Invalid pagination token'"
                ) from None
            max_results = self._get_param("maxResults")
            size = min(int(max_results), script.page_size) if max_results else script.page_size
            page = script.findings[start : start + size]
            if script.enhanced:
                pushed_at = datetime.fromtimestamp(image.image_pushed_at, timezone.utc)
                tags = list(image.image_tags)
                summary["enhancedFindings"] = [
                    world._render_enhanced(f, repository_name, digest, tags, pushed_at)
                    for f in page
                ]
            else:
                summary["findings"] = [world._render_basic(f) for f in page]
            result["imageScanFindings"] = summary
            if start + size < len(script.findings):
                result["nextToken"] = _encode_token(start + size)
        return ActionResult(result)

    def describe_images(self: Any) -> Any:
        response = original_images(self)
        world = _active_world()
        if world is None or not isinstance(response, ActionResult):
            return response
        out = []
        for image in response.result.get("imageDetails", []):  # type: ignore[attr-defined]
            digest = image.get_image_digest()
            detail: dict[str, Any] = {
                "registryId": image.registry_id,
                "repositoryName": image.repository_name,
                "imageDigest": digest,
                "imageSizeInBytes": image.image_size_in_bytes,
                "imagePushedAt": image.image_pushed_at,
                "imageManifestMediaType": image.image_manifest_media_type,
            }
            if getattr(image, "image_tags", None):
                detail["imageTags"] = list(image.image_tags)
            pushed = world._pushed.get((image.repository_name, digest))
            if pushed is not None:
                # moto reports the config blob's size; ECR reports the layers' total.
                detail["imageSizeInBytes"] = sum(lay["size"] for lay in pushed.manifest["layers"])
                detail["artifactMediaType"] = pushed.manifest["config"]["mediaType"]
            script = world.scan_script(image.repository_name, digest)
            if script is not None and not script.not_found:
                detail["imageScanStatus"] = world._scan_status(script)
                summary = world._scan_summary(script)
                if summary is not None:
                    detail["imageScanFindingsSummary"] = summary
            out.append(detail)
        return ActionResult({"imageDetails": out})

    def get_download_url_for_layer(self: Any) -> Any:
        world = _active_world()
        repository_name = self._get_param("repositoryName")
        digest = self._get_param("layerDigest")
        self.ecr_backend._get_repository(repository_name, self._get_param("registryId"))
        if world is None or digest not in world._blobs:
            # A moto.core ServiceException here would break moto's error serializer (it derives
            # the service from the exception's module), so answer with the JSON error directly.
            body = {
                "__type": "LayersNotFoundException",
                "message": f"The specified layers could not be found: {digest}",
            }
            return json.dumps(body), {"status": 400}
        return ActionResult(
            {"downloadUrl": f"{world.endpoint_url}/_soc2gate/blobs/{digest}", "layerDigest": digest}
        )

    ECRResponse.describe_image_scan_findings = describe_image_scan_findings  # type: ignore[method-assign]
    ECRResponse.describe_images = describe_images  # type: ignore[method-assign]
    ECRResponse.get_download_url_for_layer = get_download_url_for_layer  # type: ignore[method-assign]


def _patch_sagemaker() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    original_list_models = SageMakerResponse.list_models
    original_list_configs = SageMakerResponse.list_endpoint_configs
    original_list_endpoints = SageMakerResponse.list_endpoints

    def list_models(self: Any) -> Any:
        # moto ignores every ListModels parameter; AWS sorts by CreationTime, Descending.
        if _active_world() is None:
            return original_list_models(self)
        models = list(self.sagemaker_backend._models.values())
        contains = self._get_param("NameContains")
        if contains:
            models = [m for m in models if contains in m.model_name]
        before = self._get_param("CreationTimeBefore")
        after = self._get_param("CreationTimeAfter")
        if before:
            models = [m for m in models if m.creation_time < before]
        if after:
            models = [m for m in models if m.creation_time > after]
        reverse = (self._get_param("SortOrder") or "Descending") == "Descending"
        if self._get_param("SortBy") == "Name":
            models.sort(key=lambda m: m.model_name, reverse=reverse)
        else:
            models.sort(key=lambda m: m.creation_time, reverse=reverse)
        token = self._get_param("NextToken")
        start = _decode_token(token) if token else 0
        max_results = self._get_param("MaxResults")
        end = start + int(max_results) if max_results else len(models)
        result: dict[str, Any] = {
            "Models": [
                {"ModelName": m.model_name, "ModelArn": m.arn, "CreationTime": m.creation_time}
                for m in models[start:end]
            ]
        }
        if end < len(models):
            result["NextToken"] = _encode_token(end)
        return ActionResult(result)

    def descending_by_default(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # moto sorts ascending when SortOrder is absent; AWS defaults to Descending.
        def wrapper(self: Any) -> Any:
            if _active_world() is not None and isinstance(self.params, dict):
                self.params.setdefault("SortOrder", "Descending")
            return original(self)

        wrapper.__name__ = original.__name__
        return wrapper

    def drop_empty_structures(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # moto answers e.g. DataCaptureConfig: {} / VpcConfig: {} / PrimaryContainer: {} when
        # there is none; those shapes have required members, so AWS leaves the key out.
        def wrapper(self: Any) -> Any:
            response = original(self)
            result = getattr(response, "result", None)
            if _active_world() is not None and isinstance(result, dict):
                for key in [k for k, v in result.items() if v == {}]:
                    del result[key]
            return response

        wrapper.__name__ = original.__name__
        return wrapper

    from moto.sagemaker.models import FakeEndpointConfig

    original_validate = FakeEndpointConfig.validate_instance_type
    instance_types: set[str] = set()

    def validate_instance_type(self: Any, instance_type: str) -> None:
        # moto's list stops at 2019 (no Graviton ml.c7g, no ml.g5); AWS takes any type of the
        # service model's ProductionVariantInstanceType enum.
        if _active_world() is None:
            return original_validate(self, instance_type)
        if not instance_types:
            import botocore.session

            model = botocore.session.get_session().get_service_model("sagemaker")
            instance_types.update(model.shape_for("ProductionVariantInstanceType").enum)
        if instance_type not in instance_types:
            return original_validate(self, instance_type)
        return None

    FakeEndpointConfig.validate_instance_type = validate_instance_type  # type: ignore[method-assign]

    from moto.sagemaker.models import SageMakerModelBackend

    original_variants = SageMakerModelBackend.validate_production_variants

    def validate_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
        # AWS accepts a variant without ModelName: it hosts inference components. moto
        # raises KeyError (a 500) on it.
        if _active_world() is None:
            return original_variants(self, production_variants)
        return original_variants(self, [v for v in production_variants if "ModelName" in v])

    SageMakerModelBackend.validate_production_variants = validate_production_variants  # type: ignore[method-assign]
    for name in ("describe_endpoint", "describe_endpoint_config", "describe_model"):
        setattr(SageMakerResponse, name, drop_empty_structures(getattr(SageMakerResponse, name)))
    replacements = {
        "list_models": list_models,
        "list_endpoint_configs": descending_by_default(original_list_configs),
        "list_endpoints": descending_by_default(original_list_endpoints),
    }
    for name, function in replacements.items():
        setattr(SageMakerResponse, name, function)
