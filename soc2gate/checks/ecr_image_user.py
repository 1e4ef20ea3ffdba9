"""ecr-image-user: the gated image runs as a non-root user (the guide's "UID 1000").

The user is in the image's config blob, not in any ECR API field: the check reads the manifest
(BatchGetImage), asks ECR where the config blob is (GetDownloadUrlForLayer), downloads it and
verifies its sha256 before believing a byte of it. Off by default: it needs two more IAM
actions and an HTTPS download from S3.
"""

from __future__ import annotations

import json
from typing import Any

from soc2gate.checks._ecr import (
    CONFIG_BLOB_LIMIT,
    IMAGE_MANIFEST_TYPES,
    BlobError,
    DigestMismatch,
    Manifest,
    ManifestError,
    download_blob,
    gated_image_unconfigured,
    get_manifest,
    pick_platform,
    platform_of,
    short_digest,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult

PLATFORM = ("linux", "amd64")


class EcrImageUser(Check):
    id = "ecr-image-user"
    title = "Gated image runs as a non-root user"
    asserts = (
        "The gated tag's image config (linux/amd64 of a multi-platform index), read from ECR and "
        "verified against its sha256 digest, sets User to a non-root user: not empty, root, 0 "
        "or 0:<group>."
    )
    remediation = (
        "Add USER 1000 (or another non-root UID) to the final stage of the Dockerfile, rebuild "
        "and push the image, then deploy it; SageMaker runs the container as the image's User."
    )
    soc2 = ("CC6.1", "CC6.8")
    default_enabled = False

    def skip_reason(self, config: GateConfig) -> str | None:
        return gated_image_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        repository = ctx.config.repository or ""
        tag = ctx.config.gated_tag(ctx.environ) or ""
        ecr = ctx.clients("ecr")
        evidence: dict[str, Any] = {"tag": tag}
        try:
            manifest = get_manifest(ecr, repository, {"imageTag": tag})
            if manifest is None:
                return self.failed(f"tag {tag!r} not found in {repository}: no image to read")
            evidence["imageDigest"] = manifest.digest
            evidence["manifestMediaType"] = manifest.media_type
            where = f"{repository}:{tag} ({short_digest(manifest.digest)})"
            if manifest.is_index:
                child = pick_platform(manifest, *PLATFORM)
                if child is None:
                    platforms = [platform_of(e) for e in manifest.body.get("manifests") or []]
                    return self.failed(
                        f"{where} is a multi-platform index without a {'/'.join(PLATFORM)} image "
                        f"(platforms: {', '.join(platforms) or 'none'}): the image SageMaker "
                        "runs cannot be identified",
                        evidence=evidence,
                    )
                manifest = get_manifest(ecr, repository, {"imageDigest": child})
                if manifest is None:
                    return self.failed(
                        f"{where}: the index names {child} for {'/'.join(PLATFORM)}, "
                        "which is not in the repository",
                        evidence=evidence,
                    )
                evidence["platformDigest"] = manifest.digest
                where += f", {'/'.join(PLATFORM)} {short_digest(manifest.digest)}"
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
    if not name.isdigit():
        details.append(
            f"user {name!r} is a name: its UID comes from the image's /etc/passwd at run time "
            "and is not verified here; a numeric USER (e.g. 1000) can be"
        )
    return check.passed(
        f"{where} runs as user {user.strip()!r}, not root", details=details, evidence=evidence
    )
