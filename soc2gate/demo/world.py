"""``MotoWorld``: an in-process moto server seeded with ECR / SageMaker / CloudWatch Logs state.

This is what users of the demo see: a world is started as a context manager, seeded with the
guide's deployment (repositories, images and their scans, models, endpoint configs, endpoints,
inference components, endpoint logs), moved on while the gate runs (``on_call`` hooks at call
counts, ``run_timeline`` at times) and made to fail (``inject`` faults). The parts live beside
it, each one concern:

- ``faults``: ``Fault``, ``aws_error``, ``fail_calls``: the answers ``inject`` sends;
- ``images``: the schema2 images and OCI indexes ``push_image`` / ``push_index`` push;
- ``scans``: ``finding`` and ``ScanScript`` (what ``set_scan`` scripts) and their rendering in
  ECR's basic and enhanced shapes;
- ``endpoints``: the SageMaker endpoint and inference component states moto does not model
  (``set_endpoint``, ``update_endpoint``, ...; a mixin of ``MotoWorld``);
- ``signatures``: a stand-in AWS Signer (a deterministic demo root, Notation JWS envelopes) for
  ``push_signature``; ECR managed signing states are ``set_signing_status``;
- ``timeline``: the thread behind ``run_timeline``;
- ``server``: moto's server behind a WSGI wrapper that counts calls, runs hooks, injects faults
  and answers the APIs moto lacks;
- ``moto_patches``: process-wide patches of moto's ECR and SageMaker handlers.

Those modules never import this one. The public names they define are re-exported here
(``__all__``), so ``from soc2gate.demo.world import ...`` keeps working.

moto is imported only when a world starts (``MotoWorld.start``); importing this module does not
import it, so ``soc2gate.demo.scenarios`` can be listed without the ``demo`` extra.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import boto3

from soc2gate.demo import moto_patches
from soc2gate.demo.endpoints import EndpointStates, naive_utc
from soc2gate.demo.faults import Fault, ResponseFactory, aws_error, fail_calls
from soc2gate.demo.images import (
    DEFAULT_IMAGE_CREATED,
    BuiltImage,
    PushedImage,
    build_image,
    build_index,
)
from soc2gate.demo.scans import SCAN_STATUSES, ScanScript, finding, script_scan
from soc2gate.demo.server import SEED_HEADER, make_server
from soc2gate.demo.timeline import Timeline

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_IMAGE_CREATED",
    "DEFAULT_LOG_STREAM",
    "DEFAULT_REGION",
    "FAKE_CREDENTIAL",
    "SCAN_STATUSES",
    "SEED_HEADER",
    "Action",
    "BuiltImage",
    "Fault",
    "MotoWorld",
    "PushedImage",
    "ResponseFactory",
    "ScanScript",
    "Timeline",
    "aws_error",
    "build_image",
    "fail_calls",
    "finding",
    "variant",
]

DEFAULT_REGION = "us-east-1"
#: moto's default account id (moto.core.models.DEFAULT_ACCOUNT_ID).
DEFAULT_ACCOUNT_ID = "123456789012"
FAKE_CREDENTIAL = "testing"
#: Log stream SageMaker writes for the first instance of the ``AllTraffic`` variant.
DEFAULT_LOG_STREAM = "AllTraffic/i-0abc123def4567890"

#: Something done to the world: an ``on_call`` hook, a ``run_timeline`` step.
Action = Callable[["MotoWorld"], None]


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


def _mark_seeding(request: Any, **_: Any) -> None:
    """botocore ``before-sign``: a seeding call, neither counted nor faulted by the world."""
    request.headers[SEED_HEADER] = "1"


class MotoWorld(EndpointStates):
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
        #: Inference components (moto has none; see ``EndpointStates``).
        self._components: dict[str, dict[str, Any]] = {}
        #: LastDeploymentConfig per endpoint (moto has none; see ``EndpointStates``).
        self._deployment_configs: dict[str, dict[str, Any]] = {}
        self._seeders: dict[str, Any] = {}
        self._timelines: list[Timeline[MotoWorld]] = []
        #: ECR managed signing statuses and image referrers (moto has neither API), and what
        #: AWS Signer has revoked (signer-data GetRevocationStatus).
        self._signing: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._referrers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.revoked: set[str] = set()
        self._scratch: str | None = None
        #: Where the ECR helpers seed: the world's own account and region, or a central
        #: registry's (``use_registry``).
        self.registry_account = account_id
        self.registry_region = region
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
        moto_patches.activate(self)
        try:
            moto_patches.install()
            self._server = make_server(self)
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
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
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
        moto_patches.deactivate(self)

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

    def client(self, service: str, *, counted: bool = True, region: str | None = None) -> Any:
        """A boto3 client for this world (in ``region``, default the world's);
        ``counted=False`` clients bypass counting and hooks."""
        client = boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=FAKE_CREDENTIAL,
            aws_secret_access_key=FAKE_CREDENTIAL,
            aws_session_token=FAKE_CREDENTIAL,
        )
        if not counted:
            client.meta.events.register("before-sign", _mark_seeding)
        return client

    def _seeding_client(self, service: str) -> Any:
        """An uncounted client of ``service`` (made once): seeding, not the gate's calls."""
        with self._lock:
            if service not in self._seeders:
                self._seeders[service] = self.client(service, counted=False)
            return self._seeders[service]

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

    # ---- moto backends (SageMaker's: ``EndpointStates._sagemaker_backend``) -----------------

    def _ecr_backend(self) -> Any:
        from moto.ecr.models import ecr_backends

        return ecr_backends[self.registry_account][self.registry_region]

    def use_registry(self, account: str, region: str) -> None:
        """Seed ECR in a central registry: the ECR helpers from here on create repositories and
        push images in ``account``'s registry in ``region`` (moto keeps a backend per account;
        AssumeRole credentials belong to the role's account). ``image_uri`` names that registry.
        Its repositories grant reads to other accounts, as a repository policy would
        (``moto_patches``: a call naming its ``registryId`` reads that registry)."""
        sts = self.client("sts", counted=False)
        role = f"arn:aws:iam::{account}:role/soc2gate-demo-registry-admin"
        creds = sts.assume_role(RoleArn=role, RoleSessionName="soc2gate-demo-seed")["Credentials"]
        self.ecr = boto3.client(
            "ecr",
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        self.ecr.meta.events.register("before-sign", _mark_seeding)
        self.registry_account, self.registry_region = account, region

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
        index_bytes, digest = build_index(
            {platform: self.pushed(repo, child) for platform, child in platforms.items()}
        )
        self._put_manifest(repo, tags, index_bytes.decode(), digest)
        return digest

    def set_signing_status(
        self,
        repo: str,
        digest: str,
        profile_arn: str,
        status: str = "COMPLETE",
        *,
        failure_reason: str = "",
    ) -> None:
        """What DescribeImageSigningStatus answers for ``profile_arn`` (one entry per profile)."""
        entry: dict[str, Any] = {"signingProfileArn": profile_arn, "status": status}
        if status == "FAILED":
            entry["failureCode"] = "SIGNING_FAILED"
            entry["failureReason"] = failure_reason or "signing failed"
        with self._lock:
            entries = [
                e
                for e in self._signing.get((repo, digest), [])
                if e["signingProfileArn"] != profile_arn
            ]
            self._signing[(repo, digest)] = [*entries, entry]

    def signing_statuses(self, repo: str, digest: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._signing.get((repo, digest), [])]

    def push_signature(self, repo: str, digest: str, envelope: bytes) -> str:
        """Push a Notation signature manifest (one JWS layer) as a referrer of ``digest``;
        returns the signature manifest's digest."""
        from soc2gate.demo.signatures import SIGNATURE_ARTIFACT_TYPE, signature_manifest

        manifest = signature_manifest(digest, self._subject_size(repo, digest), envelope)
        return self._push_referrer(repo, digest, SIGNATURE_ARTIFACT_TYPE, manifest, envelope, {})

    def push_attestation(self, repo: str, digest: str, bundle: bytes) -> str:
        """Push a Sigstore bundle as a referrer of ``digest``, as actions/attest-build-provenance
        does with ``push-to-registry: true``; returns the referrer manifest's digest."""
        from soc2gate.demo.attestations import BUNDLE_MEDIA_TYPE, referrer_manifest

        manifest, _ = referrer_manifest(bundle, digest, self._subject_size(repo, digest))
        annotations = dict(json.loads(manifest).get("annotations") or {})
        return self._push_referrer(
            repo, digest, BUNDLE_MEDIA_TYPE, manifest.encode(), bundle, annotations
        )

    def _subject_size(self, repo: str, digest: str) -> int:
        subject = self._pushed.get((repo, digest))
        return len(subject.manifest_bytes) if subject is not None else 0

    def _push_referrer(
        self,
        repo: str,
        digest: str,
        artifact_type: str,
        manifest: bytes,
        blob: bytes,
        annotations: Mapping[str, str],
    ) -> str:
        """Put ``manifest`` (one layer: ``blob``) in ``repo`` and list it as a referrer of
        ``digest`` (ListImageReferrers); returns the manifest's digest."""
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        layer = "sha256:" + hashlib.sha256(blob).hexdigest()
        with self._lock:
            self.ecr.put_image(
                repositoryName=repo,
                imageManifest=manifest.decode(),
                imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
                imageDigest=manifest_digest,
            )
            self._ecr_backend().repositories[repo].layers[layer] = len(blob)
            self._blobs[layer] = blob
            self._referrers.setdefault((repo, digest), []).append(
                {
                    "digest": manifest_digest,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "artifactType": artifact_type,
                    "size": len(manifest),
                    "annotations": dict(annotations),
                    "artifactStatus": "ACTIVE",
                }
            )
        return manifest_digest

    def write_file(self, name: str, text: str) -> str:
        """Write ``text`` to ``name`` in this world's own scratch directory; its path (for a
        flag that takes a file, e.g. --sigstore-trusted-root)."""
        import tempfile

        with self._lock:
            if self._scratch is None:
                self._scratch = tempfile.mkdtemp(prefix="soc2gate-demo-")
            path = os.path.join(self._scratch, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def image_referrers(self, repo: str, digest: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._referrers.get((repo, digest), [])]

    def revoked_entities(self, asked: Sequence[str]) -> list[str]:
        """What GetRevocationStatus answers: the asked entities in ``revoked``."""
        with self._lock:
            return [a for a in asked if a in self.revoked]

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
        base = f"{self.registry_account}.dkr.ecr.{self.registry_region}.amazonaws.com/{repo}"
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
            self._scans[key] = script_scan(
                self._scans.get(key),
                status=status,
                description=description,
                findings=findings,
                enhanced=enhanced,
                page_size=page_size,
                populated=populated,
                coverage=coverage,
                completed_at=completed_at,
            )

    def set_pushed_at(self, repo: str, tag_or_digest: str, when: datetime) -> None:
        """Backdate an image's imagePushedAt (an image pushed long ago, e.g. a stale scan)."""
        digest = self.resolve_digest(repo, tag_or_digest)
        with self._lock:
            for image in self._ecr_backend().repositories[repo].images:
                if image.get_image_digest() == digest:
                    image.image_pushed_at = int(when.timestamp())

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
        isolated: bool = False,
        vpc: Mapping[str, Sequence[str]] | None = None,
        image_config: Mapping[str, Any] | None = None,
    ) -> str:
        """CreateModel with a PrimaryContainer (``image`` + ``env``) or ``containers``; the ARN.

        ``isolated`` sets EnableNetworkIsolation (moto ignores the parameter: it is written into
        its backend), ``vpc`` the VpcConfig, ``image_config`` the PrimaryContainer's ImageConfig.
        """
        kwargs: dict[str, Any] = {
            "ModelName": name,
            "ExecutionRoleArn": f"arn:aws:iam::{self.account_id}:role/SageMakerExecutionRole-soc2",
        }
        if vpc is not None:
            kwargs["VpcConfig"] = {k: list(v) for k, v in vpc.items()}
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
            if image_config is not None:
                kwargs["PrimaryContainer"]["ImageConfig"] = dict(image_config)
        arn = str(self.sagemaker.create_model(**kwargs)["ModelArn"])
        self._model_settings(name, created_at, isolated)
        return arn

    def _model_settings(self, name: str, created_at: datetime | None, isolated: bool) -> None:
        with self._lock:
            model = self._sagemaker_backend()._models[name]
            if created_at is not None:
                model.creation_time = naive_utc(created_at)
            model.enable_network_isolation = isolated

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
        isolated: bool = False,
        vpc: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """CreateModel whose PrimaryContainer names a model package (plus its own Environment);
        ``isolated`` and ``vpc`` as in ``create_model``."""
        container: dict[str, Any] = {"ModelPackageName": package_arn}
        if env is not None:
            container["Environment"] = dict(env)
        kwargs: dict[str, Any] = {}
        if vpc is not None:
            kwargs["VpcConfig"] = {k: list(v) for k, v in vpc.items()}
        arn = str(
            self.sagemaker.create_model(
                ModelName=name,
                ExecutionRoleArn=f"arn:aws:iam::{self.account_id}:role/SageMakerExecutionRole-soc2",
                PrimaryContainer=container,
                **kwargs,
            )["ModelArn"]
        )
        self._model_settings(name, created_at, isolated)
        return arn

    def create_endpoint_config(
        self,
        name: str,
        variants: Sequence[Mapping[str, Any] | tuple[str, str]],
        *,
        kms_key: str | None = None,
        data_capture: Mapping[str, Any] | None = None,
    ) -> str:
        """CreateEndpointConfig; variants are ``variant(...)`` dicts or (model, instance type);
        ``kms_key`` is its KmsKeyId, ``data_capture`` its DataCaptureConfig."""
        production = [variant(v[0], v[1]) if isinstance(v, tuple) else dict(v) for v in variants]
        kwargs: dict[str, Any] = {}
        if kms_key is not None:
            kwargs["KmsKeyId"] = kms_key
        if data_capture is not None:
            kwargs["DataCaptureConfig"] = dict(data_capture)
        resp = self.sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=production, **kwargs
        )
        return str(resp["EndpointConfigArn"])

    # ---- deployment safety: keys, alarms, auto scaling, model cards -------------------------

    def create_kms_key(self, alias: str) -> str:
        """A symmetric KMS key with ``alias`` (alias/...); its ARN."""
        kms = self._seeding_client("kms")
        arn = str(kms.create_key(Description=alias)["KeyMetadata"]["Arn"])
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
        return arn

    def put_endpoint_alarm(
        self,
        name: str,
        endpoint: str,
        variant: str | None = "AllTraffic",
        *,
        actions_enabled: bool = True,
        metric: str = "Invocation5XXErrors",
    ) -> None:
        """A CloudWatch metric alarm on the endpoint (and variant) SageMaker publishes."""
        dimensions = [{"Name": "EndpointName", "Value": endpoint}]
        if variant is not None:
            dimensions.append({"Name": "VariantName", "Value": variant})
        self._seeding_client("cloudwatch").put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName=metric,
            Dimensions=dimensions,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            ActionsEnabled=actions_enabled,
        )

    def delete_alarm(self, name: str) -> None:
        self._seeding_client("cloudwatch").delete_alarms(AlarmNames=[name])

    def register_scalable_target(
        self, endpoint: str, variant: str = "AllTraffic", *, minimum: int, maximum: int
    ) -> None:
        """An Application Auto Scaling target for the variant's DesiredInstanceCount."""
        self._seeding_client("application-autoscaling").register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/{endpoint}/variant/{variant}",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )

    def create_model_card(self, name: str, status: str, package_arn: str | None = None) -> str:
        """A model card (Content names ``package_arn`` in model_package_details); its ARN."""
        content: dict[str, Any] = {"model_overview": {"model_description": name}}
        if package_arn is not None:
            content["model_package_details"] = {"model_package_arn": package_arn}
        resp = self.sagemaker.create_model_card(
            ModelCardName=name, Content=json.dumps(content), ModelCardStatus=status
        )
        return str(resp["ModelCardArn"])

    def create_endpoint(self, name: str, config_name: str, status: str = "Creating") -> str:
        """CreateEndpoint, then force its status (moto makes endpoints InService at once)."""
        arn = str(
            self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)[
                "EndpointArn"
            ]
        )
        self.set_endpoint(name, status=status)
        return arn

    def deployed_image(self, repo: str, tag: str, digest: str | None = None) -> dict[str, Any]:
        """A ``DeployedImage``: the tag URI as specified, resolved to ``repo@digest``."""
        digest = digest or self.resolve_digest(repo, tag)
        return {
            "SpecifiedImage": self.image_uri(repo, tag=tag),
            "ResolvedImage": self.image_uri(repo, digest=digest),
            "ResolutionTime": datetime.now(timezone.utc),
        }

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
    ) -> Timeline[MotoWorld]:
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
