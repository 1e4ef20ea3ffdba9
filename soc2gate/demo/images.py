"""The container images the world pushes: schema2 manifests, config blobs and OCI indexes.

moto's ECR stores whatever manifest text it is given and serves no blobs. The gate's
ecr-image-user check reads the manifest (BatchGetImage), downloads the config blob it names
(GetDownloadUrlForLayer, then the URL) and verifies its sha256, so the world builds real,
digest-consistent images here, as the OCI image spec has them: the manifest's digest is the
sha256 of its bytes and names a config blob whose digest is the sha256 of its own bytes (the
world serves the blob, see ``soc2gate.demo.server``). ``build_image`` is deterministic (same
inputs, same digest), so scenarios can name a digest before any world exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The ``created`` time of images the world pushes (fixed, so digests are reproducible).
DEFAULT_IMAGE_CREATED = "2026-11-26T09:25:00Z"


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


def build_index(platforms: Mapping[str, PushedImage]) -> tuple[bytes, str]:
    """An OCI image index over pushed images keyed by ``os/architecture``: its bytes, digest."""
    entries = []
    for platform, pushed in platforms.items():
        os_name, _, architecture = platform.partition("/")
        entries.append(
            {
                "mediaType": pushed.manifest["mediaType"],
                "digest": pushed.digest,
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
    return index_bytes, "sha256:" + hashlib.sha256(index_bytes).hexdigest()
