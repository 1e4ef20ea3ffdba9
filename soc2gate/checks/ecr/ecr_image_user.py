"""ecr-image-user: the gated image runs as a non-root user (the guide's "UID 1000").

The user is in the image's config blob, not in any ECR API field: the check reads the manifest
(BatchGetImage), asks ECR where the config blob is (GetDownloadUrlForLayer), downloads it and
verifies its sha256 before believing a byte of it. Off by default: it needs two more IAM
actions and an HTTPS download from S3.

Of a multi-platform index it reads the image SageMaker runs: --platform when given, else one
per architecture the endpoint's current (and pending) config runs on: Graviton instance types
(ml.c7g, ml.m6g, ...) are linux/arm64, the others and serverless linux/amd64; without an
endpoint, linux/amd64. A variant whose instance type cannot be read is an ERROR.

The image read is the one ecr-scan-findings judged (``depends_on``): its digest, read by
``imageDigest`` after that check finished, never the tag read again, which may have moved to
another build while the gate waited for the scan. Without ecr-scan-findings in the run, the
gated tag is read once and the result says so.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    CONFIG_BLOB_LIMIT,
    IMAGE_MANIFEST_TYPES,
    REPOSITORY_CHECK,
    BlobError,
    DigestMismatch,
    Manifest,
    ManifestError,
    download_blob,
    gated_image_unconfigured,
    get_manifest,
    pick_platform,
    platform_of,
    repository_missing,
    short_digest,
)
from soc2gate.checks.sagemaker._sagemaker import (
    current_config_names,
    describe_endpoint,
    describe_endpoint_config,
    variant_architecture,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import (
    ENDPOINT_FAILED_FIX,
    STATUS_CHECK,
    endpoint_missing,
)
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Status
from soc2gate.polling import ENDPOINT_STATUS, Verdict

#: What an image index is read for when neither --platform nor --endpoint says otherwise.
DEFAULT_PLATFORM = "linux/amd64"
SCAN_CHECK = "ecr-scan-findings"


class EcrImageUser(Check):
    id = "ecr-image-user"
    title = "Gated image runs as a non-root user"
    asserts = (
        "The image config of the digest ecr-scan-findings judged (the gated tag's when that "
        "check is not in the run), read from ECR and verified against its sha256 digest, "
        "sets User to a non-root user: not empty, root, 0 or 0:<group>. Of a multi-platform "
        "index, the platform read is --platform, else each one the endpoint's instance types "
        "run (Graviton ml.*g* types linux/arm64, others linux/amd64), else linux/amd64."
    )
    remediation = (
        "Add USER 1000 (or another non-root UID) to the final stage of the Dockerfile, rebuild "
        "and push the image, then deploy it; SageMaker runs the container as the image's User."
    )
    soc2 = ("CC6.1", "CC6.8")
    beyond = "no control reads the User an image runs as"
    default_enabled = False
    # Part of --preset strict: a container running as root is a hardening gap an auditor asks
    # about as much as network isolation.
    strict = True
    # Judges the digest the scan judged, read after it (never the tag read again).
    depends_on = (SCAN_CHECK,)
    defers_to = (REPOSITORY_CHECK, STATUS_CHECK)

    def skip_reason(self, config: GateConfig) -> str | None:
        return gated_image_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        image = self._image(ctx)
        if isinstance(image, CheckResult):
            return image
        wanted = self._platforms(ctx)
        if isinstance(wanted, CheckResult):
            return wanted
        platforms, source = wanted
        results = [self._check_platform(ctx, p, source, image) for p in platforms]
        if len(results) == 1:
            return results[0]
        # Several architectures serve traffic: each one's image must pass.
        evidence: dict[str, Any] = {
            "platforms": {p: r.evidence for p, r in zip(platforms, results, strict=True)}
        }
        for status in (Status.FAIL, Status.ERROR, Status.PENDING):
            bad = [r for r in results if r.status is status]
            if bad:
                reason = "; ".join(dict.fromkeys(r.reason for r in bad))
                if status is Status.PENDING:
                    return bad[0]
                if status is Status.FAIL:
                    return self.failed(reason, evidence=evidence)
                return self.error(reason, evidence=evidence)
        return self.passed(
            "; ".join(dict.fromkeys(r.reason for r in results)),
            details=[d for r in results for d in r.details],
            evidence=evidence,
        )

    def _image(self, ctx: CheckContext) -> dict[str, str] | CheckResult:
        """The image id to read: the digest ecr-scan-findings judged, or (without that check in
        the run) the gated tag."""
        tag = ctx.config.gated_tag(ctx.environ) or ""
        scan = ctx.result_of(SCAN_CHECK)
        if scan is None or scan.status is Status.SKIPPED:
            return {"imageTag": tag}
        digest = scan.evidence.get("imageDigest")
        if isinstance(digest, str) and digest.startswith("sha256:"):
            return {"imageDigest": digest}
        if scan.status is Status.PASS:
            return self.error(f"{SCAN_CHECK} passed but did not record the digest it judged")
        return replace(
            self.error(
                f"{SCAN_CHECK} judged no image of tag {tag!r} ({scan.status.value}: "
                f"{scan.reason}): there is no scanned image whose user to read"
            ),
            blocked_by=SCAN_CHECK,
        )

    def _platforms(self, ctx: CheckContext) -> tuple[list[str], str] | CheckResult:
        """The platforms to read and where they came from (--platform, the endpoint, default)."""
        config = ctx.config
        if config.platform:
            return [config.platform], "--platform"
        if not config.endpoint:
            return [DEFAULT_PLATFORM], "the default: no --platform or --endpoint"
        endpoint = describe_endpoint(ctx.clients("sagemaker"), config.endpoint)
        if endpoint is None:
            return endpoint_missing(self, ctx, config.endpoint)
        if ENDPOINT_STATUS.classify(endpoint.status) is Verdict.FAILURE:
            # Its config names what it tried to run, not what serves: a failed endpoint never
            # passes a check (not evaluated when sagemaker-endpoint-status failed in the run).
            return replace(
                self.failed(
                    f"endpoint {endpoint.name} is {endpoint.status}: nothing of it serves, so "
                    "the image it would run is not judged (see sagemaker-endpoint-status); pass "
                    "--platform to judge the image alone"
                ),
                blocked_by=STATUS_CHECK,
                remediation=ENDPOINT_FAILED_FIX,
            )
        names = current_config_names(endpoint)
        if not names:
            return self.error(
                f"DescribeEndpoint {config.endpoint!r} names no EndpointConfigName: cannot tell "
                "which instance types (and so which platform) run the image; pass --platform"
            )
        found: dict[str, list[str]] = {}
        for name in names:
            for v in describe_endpoint_config(ctx, name):
                label = f"{name}/{v.name}"
                try:
                    arch = variant_architecture(v)
                except ValueError as exc:
                    return self.error(f"{label}: {exc}; pass --platform")
                found.setdefault(f"linux/{arch}", []).append(label)
        source = ", ".join(f"{p} for {', '.join(labels)}" for p, labels in sorted(found.items()))
        return sorted(found), f"endpoint {config.endpoint}: {source}"

    def _check_platform(
        self, ctx: CheckContext, platform: str, source: str, image: dict[str, str]
    ) -> CheckResult:
        repository = ctx.config.repository or ""
        tag = ctx.config.gated_tag(ctx.environ) or ""
        ecr = ctx.registry_client("ecr")
        evidence: dict[str, Any] = {"tag": tag, "platform": platform, "platformSource": source}
        if "imageDigest" in image:
            evidence["judgedDigestOf"] = SCAN_CHECK
        else:
            evidence["judgedDigestOf"] = (
                f"the gated tag as it named an image when read ({SCAN_CHECK} is not in this run)"
            )
        try:
            try:
                manifest = get_manifest(ecr, repository, image)
            except Exception as exc:
                gone = repository_missing(self, exc, repository)
                if gone is None:
                    raise
                return gone
            if manifest is None:
                what = image.get("imageDigest") or f"tag {tag!r}"
                return self.failed(f"{what} not found in {repository}: no image to read")
            evidence["imageDigest"] = manifest.digest
            evidence["manifestMediaType"] = manifest.media_type
            where = f"{repository}:{tag} ({short_digest(manifest.digest)})"
            if manifest.is_index:
                child = _pick(manifest, platform)
                if child is None:
                    platforms = [platform_of(e) for e in manifest.body.get("manifests") or []]
                    return self.failed(
                        f"{where} is a multi-platform index without a {platform} image "
                        f"(platforms: {', '.join(platforms) or 'none'}): the image SageMaker "
                        f"runs cannot be identified ({platform} from {source})",
                        evidence=evidence,
                    )
                manifest = get_manifest(ecr, repository, {"imageDigest": child})
                if manifest is None:
                    return self.failed(
                        f"{where}: the index names {child} for {platform}, "
                        "which is not in the repository",
                        evidence=evidence,
                    )
                evidence["platformDigest"] = manifest.digest
                where = f"{platform} {short_digest(manifest.digest)} of {where}"
        except ManifestError as exc:
            return self.error(f"cannot read the manifest of {repository}:{tag}: {exc}")
        problem = _unreadable_manifest(manifest)
        if problem:
            return self.error(f"{where}: {problem}", evidence=evidence)

        config_digest = manifest.config_digest
        evidence["configDigest"] = config_digest
        if manifest.config_size > CONFIG_BLOB_LIMIT:
            return self.error(
                f"{where}: the config blob is {manifest.config_size} bytes, over the "
                f"{CONFIG_BLOB_LIMIT}-byte limit for an image config: not downloaded",
                evidence=evidence,
            )
        answer = ecr.get_download_url_for_layer(
            repositoryName=repository, layerDigest=config_digest
        )
        try:
            blob = download_blob(str(answer.get("downloadUrl", "")), config_digest)
        except DigestMismatch as exc:
            return self.failed(f"{where}: {exc}", evidence=evidence)
        except BlobError as exc:
            return self.error(
                f"{where}: could not download the config blob {config_digest}: {exc}",
                evidence=evidence,
            )
        try:
            config = json.loads(blob)
        except ValueError:
            return self.error(f"{where}: the config blob is not JSON", evidence=evidence)
        if not isinstance(config, dict):
            return self.error(f"{where}: the config blob is not a JSON object", evidence=evidence)
        user = (config.get("config") or {}).get("User") or ""
        if not isinstance(user, str):
            return self.error(f"{where}: config.User is not a string", evidence=evidence)
        return evaluate(self, user, where, evidence)


def _pick(index: Manifest, platform: str) -> str | None:
    """Digest of the index entry for ``os/architecture[/variant]``, or None."""
    os_name, architecture, *variant = platform.split("/")
    if not variant:
        return pick_platform(index, os_name, architecture)
    for entry in index.body.get("manifests") or []:
        if isinstance(entry, dict) and platform_of(entry) == platform:
            return str(entry.get("digest", "")) or None
    return None


def _unreadable_manifest(manifest: Manifest) -> str | None:
    if manifest.is_index:
        return "the platform entry is itself an index (nested indexes are not followed)"
    if manifest.body.get("schemaVersion") == 1:
        return "schema 1 manifest: it has no config blob; push the image with a v2 or OCI manifest"
    if manifest.media_type and manifest.media_type not in IMAGE_MANIFEST_TYPES:
        return f"unsupported manifest media type {manifest.media_type!r}"
    if not manifest.config_digest:
        return "the manifest names no config blob"
    return None


def root_user(user: str) -> str | None:
    """Why a config.User value runs the container as root, or None when it does not."""
    value = user.strip()
    if not value:
        return "User is empty, so the container runs as root (Docker's default)"
    name = value.split(":", 1)[0].strip()
    if name == "root":
        return f"User is {value!r}: root"
    if name.isdigit() and int(name) == 0:
        return f"User is {value!r}: UID 0 is root"
    if not name:
        return f"User is {value!r}: no user before the group, so root"
    return None


def evaluate(check: Check, user: str, where: str, evidence: dict[str, Any]) -> CheckResult:
    evidence = {**evidence, "User": user}
    why = root_user(user)
    if why:
        return check.failed(f"{where} runs as root: {why}", evidence=evidence)
    name = user.strip().split(":", 1)[0]
    details = []
    judged = str(evidence.get("judgedDigestOf", ""))
    if judged and judged != SCAN_CHECK:
        details.append(f"judged {judged}")
    if not name.isdigit():
        details.append(
            f"user {name!r} is a name: its UID comes from the image's /etc/passwd at run time "
            "and is not verified here; a numeric USER (e.g. 1000) can be"
        )
    return check.passed(
        f"{where} runs as user {user.strip()!r}, not root", details=details, evidence=evidence
    )
