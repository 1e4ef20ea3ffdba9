"""ecr-image-user: manifest (BatchGetImage, Stubber), config blob from a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from unit_fakes import ACCOUNT, REPO, FakeClock, StubbedAws, make_ctx, run_one

from soc2gate.checks.ecr._ecr import (
    CONFIG_BLOB_LIMIT,
    DOCKER_MANIFEST,
    OCI_INDEX,
    BlobError,
    download_blob,
)
from soc2gate.checks.ecr.ecr_image_user import EcrImageUser, root_user
from soc2gate.config import GateConfig
from soc2gate.models import Status
from soc2gate.runner import select_checks

CHECK = EcrImageUser()
TAG = "soc2-dev-latest"
CONFIG = GateConfig(repository=REPO, require_tags=(TAG,), enable=(CHECK.id,))
ACCEPTED = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- a blob server ---------------------------------------------------------------------------


@dataclass
class BlobServer:
    """Serves ``routes[path] = (status, body, headers)`` on 127.0.0.1; records request paths."""

    url: str = ""
    routes: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def serve(self, path: str, body: bytes, status: int = 200, **headers: str) -> str:
        self.routes[path] = (status, body, headers)
        return self.url + path


@pytest.fixture
def blobs() -> Iterator[BlobServer]:
    state = BlobServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            status, body, headers = state.routes.get(self.path, (404, b"no such blob", {}))
            self.send_response(status)
            headers = {"Content-Length": str(len(body)), **headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---- canned ECR answers ----------------------------------------------------------------------


def image_config(user: str | None) -> bytes:
    config: dict[str, Any] = {"Env": ["PATH=/usr/bin"], "WorkingDir": "/opt/program"}
    if user is not None:
        config["User"] = user
    return json.dumps({"architecture": "amd64", "os": "linux", "config": config}).encode()


def manifest(config_digest: str, size: int, media_type: str = DOCKER_MANIFEST) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": size,
                "digest": config_digest,
            },
            "layers": [],
        }
    )


def index(*platforms: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": DOCKER_MANIFEST,
                    "digest": digest,
                    "size": 500,
                    "platform": {"os": os_name, "architecture": arch},
                }
                for os_name, arch, digest in platforms
            ],
        }
    )


def batch_get(
    text: str, media_type: str = DOCKER_MANIFEST, tag: str | None = TAG
) -> dict[str, Any]:
    image_id = {"imageDigest": sha(text.encode())}
    if tag:
        image_id["imageTag"] = tag
    return {
        "images": [
            {
                "registryId": ACCOUNT,
                "repositoryName": REPO,
                "imageId": image_id,
                "imageManifest": text,
                "imageManifestMediaType": media_type,
            }
        ],
        "failures": [],
    }


def by_tag() -> dict[str, Any]:
    return {"repositoryName": REPO, "imageIds": [{"imageTag": TAG}], "acceptedMediaTypes": ACCEPTED}


def by_digest(digest: str) -> dict[str, Any]:
    return {
        "repositoryName": REPO,
        "imageIds": [{"imageDigest": digest}],
        "acceptedMediaTypes": ACCEPTED,
    }


def stub_image(
    aws: StubbedAws, blobs: BlobServer, blob: bytes, served: bytes | None = None, **headers: str
) -> str:
    """BatchGetImage by tag, GetDownloadUrlForLayer; the server serves ``served`` (else blob)."""
    digest = sha(blob)
    aws.respond("ecr", "batch_get_image", batch_get(manifest(digest, len(blob))), by_tag())
    url = blobs.serve(f"/blobs/{digest}?X-Amz-Signature=s3cr3t", served or blob, **headers)
    aws.respond(
        "ecr",
        "get_download_url_for_layer",
        {"downloadUrl": url, "layerDigest": digest},
        {"repositoryName": REPO, "layerDigest": digest},
    )
    return digest


# ---- the user rule ----------------------------------------------------------------------------

# (user, is root)
USER_CASES = [
    ("", True),
    ("   ", True),
    ("root", True),
    ("0", True),
    ("00", True),
    ("0:0", True),
    ("0:1000", True),
    ("root:root", True),
    ("root:1000", True),
    (":1000", True),
    ("1000", False),
    ("1000:1000", False),
    ("1000:0", False),  # a non-root user in group 0 is not root
    ("app", False),
    ("rootless", False),
    ("65534", False),
]


@pytest.mark.parametrize(("user", "is_root"), USER_CASES, ids=[repr(u) for u, _ in USER_CASES])
def test_root_user_rule(user: str, is_root: bool) -> None:
    assert (root_user(user) is not None) is is_root


# ---- run() with Stubber and the blob server ---------------------------------------------------

# (case, config.User or None for absent, expected, words in the reason)
RUN_CASES = [
    ("uid-1000", "1000", Status.PASS, "runs as user '1000', not root"),
    ("uid-and-gid", "1000:1000", Status.PASS, "runs as user '1000:1000'"),
    ("empty-user", "", Status.FAIL, "runs as root: User is empty"),
    ("no-user-key", None, Status.FAIL, "runs as root: User is empty"),
    ("root-name", "root", Status.FAIL, "User is 'root': root"),
    ("uid-0-gid-0", "0:0", Status.FAIL, "UID 0 is root"),
]


@pytest.mark.parametrize(
    ("user", "expected", "words"), [c[1:] for c in RUN_CASES], ids=[c[0] for c in RUN_CASES]
)
def test_user_from_the_downloaded_config(
    aws: StubbedAws, blobs: BlobServer, user: str | None, expected: Status, words: str
) -> None:
    blob = image_config(user)
    config_digest = stub_image(aws, blobs, blob)
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is expected, result.reason
    assert words in result.reason
    assert result.evidence["configDigest"] == config_digest
    assert result.evidence["User"] == (user or "")
    assert aws.calls == ["BatchGetImage", "GetDownloadUrlForLayer"]
    assert len(blobs.seen) == 1
    aws.assert_done()


def test_a_named_user_passes_with_a_note_that_its_uid_is_not_checked(
    aws: StubbedAws, blobs: BlobServer
) -> None:
    stub_image(aws, blobs, image_config("app"))
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.PASS
    assert any("its UID comes from the image's /etc/passwd" in d for d in result.details)
    # Without ecr-scan-findings in the run the gated tag was read, and the result says so.
    assert result.details[0] == (
        "judged the gated tag as it named an image when read (ecr-scan-findings is not in this run)"
    )


def test_tampered_blob_fails_closed_and_never_reads_its_user(
    aws: StubbedAws, blobs: BlobServer
) -> None:
    # The server answers with a config saying User 1000, but it is not the blob the manifest
    # names (whose User is root): the hash check must refuse it.
    stub_image(aws, blobs, image_config("root"), served=image_config("1000"))
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.FAIL
    assert "hashes to sha256:" in result.reason and "not the image's config" in result.reason
    assert "User" not in result.evidence


def test_presigned_signature_is_never_printed(aws: StubbedAws, blobs: BlobServer) -> None:
    stub_image(aws, blobs, image_config("1000"), served=b"")  # empty body: a digest mismatch
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert "s3cr3t" not in result.reason
    blob = image_config("1000")
    blobs.routes.clear()
    aws2 = StubbedAws()
    stub_image(aws2, blobs, blob)
    blobs.routes.clear()  # now a 404
    result = CHECK.run(make_ctx(CONFIG, aws2))
    assert result.status is Status.ERROR
    assert "HTTP 404" in result.reason and "s3cr3t" not in result.reason


def test_oversized_config_is_not_downloaded(aws: StubbedAws, blobs: BlobServer) -> None:
    digest = "sha256:" + "1" * 64
    text = manifest(digest, CONFIG_BLOB_LIMIT + 1)
    aws.respond("ecr", "batch_get_image", batch_get(text), by_tag())
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.ERROR
    assert f"over the {CONFIG_BLOB_LIMIT}-byte limit" in result.reason
    assert blobs.seen == [] and "GetDownloadUrlForLayer" not in aws.calls


def test_a_server_sending_more_than_the_limit_is_cut_off(blobs: BlobServer) -> None:
    body = b"x" * 2048
    url = blobs.serve("/big", body)
    with pytest.raises(BlobError, match="over the 1000-byte limit"):
        download_blob(url, sha(body), limit=1000)
    # Without a Content-Length the read itself stops at the limit.
    url = blobs.serve("/big-chunked", body, **{"Content-Length": ""})
    with pytest.raises(BlobError, match="limit"):
        download_blob(url, sha(body), limit=1000)


# (case, URL, words)
URL_CASES = [
    ("file", "file:///etc/passwd", "refusing to download from file:///etc/passwd"),
    ("ftp", "ftp://example.com/blob", "https only"),
    ("plain-http-remote", "http://example.com/blob?X-Amz-Signature=abc", "https only"),
    ("no-host", "https:///blob", "https only"),
]


@pytest.mark.parametrize(
    ("url", "words"), [c[1:] for c in URL_CASES], ids=[c[0] for c in URL_CASES]
)
def test_only_https_or_loopback_http_is_fetched(url: str, words: str) -> None:
    with pytest.raises(BlobError, match=words) as err:
        download_blob(url, "sha256:" + "0" * 64)
    assert "X-Amz-Signature" not in str(err.value)


@pytest.mark.parametrize(
    "location", ["ftp://example.com/blob", "http://example.com/blob?X-Amz-Signature=abc"]
)
def test_redirects_off_https_are_refused(blobs: BlobServer, location: str) -> None:
    url = blobs.serve("/redirect", b"", status=302, Location=location)
    with pytest.raises(BlobError, match=r"refusing a redirect to [a-z]+://example\.com/blob$"):
        download_blob(url, "sha256:" + "0" * 64)


def test_a_redirect_to_loopback_http_is_followed(blobs: BlobServer) -> None:
    body = image_config("1000")
    target = blobs.serve("/real", body)
    url = blobs.serve("/redirect", b"", status=307, Location=target)
    assert download_blob(url, sha(body)) == body
    assert blobs.seen == ["/redirect", "/real"]


def test_non_sha256_config_digest_is_not_trusted() -> None:
    with pytest.raises(BlobError, match="only sha256"):
        download_blob("https://example.com/x", "sha512:" + "0" * 128)


# ---- manifests: index, not found, unreadable ---------------------------------------------------


def test_an_index_is_followed_to_its_linux_amd64_image(aws: StubbedAws, blobs: BlobServer) -> None:
    arm_digest, amd_digest = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    top = index(("linux", "arm64", arm_digest), ("linux", "amd64", amd_digest))
    aws.respond("ecr", "batch_get_image", batch_get(top, OCI_INDEX), by_tag())
    blob = image_config("1000")
    child = manifest(sha(blob), len(blob))
    response = batch_get(child, tag=None)
    response["images"][0]["imageId"]["imageDigest"] = amd_digest
    aws.respond("ecr", "batch_get_image", response, by_digest(amd_digest))
    url = blobs.serve("/config", blob)
    aws.respond(
        "ecr",
        "get_download_url_for_layer",
        {"downloadUrl": url, "layerDigest": sha(blob)},
        {"repositoryName": REPO, "layerDigest": sha(blob)},
    )
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.PASS, result.reason
    assert "linux/amd64 sha256:bbbbbbbbbbbb" in result.reason
    assert result.evidence["platformDigest"] == amd_digest
    assert result.evidence["manifestMediaType"] == OCI_INDEX
    aws.assert_done()


def test_an_index_without_linux_amd64_fails_naming_the_platforms(aws: StubbedAws) -> None:
    top = index(
        ("linux", "arm64", "sha256:" + "a" * 64), ("windows", "amd64", "sha256:" + "c" * 64)
    )
    aws.respond("ecr", "batch_get_image", batch_get(top, OCI_INDEX), by_tag())
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.FAIL
    assert "without a linux/amd64 image (platforms: linux/arm64, windows/amd64)" in result.reason


def test_missing_tag_fails(aws: StubbedAws) -> None:
    failure = {
        "imageId": {"imageTag": TAG},
        "failureCode": "ImageNotFound",
        "failureReason": "Requested image not found",
    }
    aws.respond("ecr", "batch_get_image", {"images": [], "failures": [failure]}, by_tag())
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.FAIL and f"tag {TAG!r} not found" in result.reason


def test_other_batch_get_image_failures_are_errors(aws: StubbedAws) -> None:
    failure = {"imageId": {"imageTag": TAG}, "failureCode": "KmsError", "failureReason": "kms"}
    aws.respond("ecr", "batch_get_image", {"images": [], "failures": [failure]}, by_tag())
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.ERROR and "BatchGetImage KmsError: kms" in result.reason


# (case, manifest text, media type, words)
UNREADABLE_CASES = [
    ("not-json", "{not json", DOCKER_MANIFEST, "not JSON"),
    (
        "schema-1",
        json.dumps({"schemaVersion": 1, "name": REPO, "fsLayers": []}),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "schema 1 manifest",
    ),
    ("no-config", json.dumps({"schemaVersion": 2, "layers": []}), DOCKER_MANIFEST, "no config"),
]


@pytest.mark.parametrize(
    ("text", "media_type", "words"),
    [c[1:] for c in UNREADABLE_CASES],
    ids=[c[0] for c in UNREADABLE_CASES],
)
def test_unreadable_manifests_are_errors(aws: StubbedAws, text, media_type, words) -> None:
    aws.respond("ecr", "batch_get_image", batch_get(text, media_type), by_tag())
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.ERROR
    assert words in result.reason


# ---- selection -----------------------------------------------------------------------------


def test_off_by_default_and_on_with_enable_or_only() -> None:
    assert CHECK.default_enabled is False

    def reason(config: GateConfig) -> str | None:
        return {check.id: why for check, why in select_checks(config)}[CHECK.id]

    assert (
        reason(replace(CONFIG, enable=()))
        == f"off by default: turn it on with --enable {CHECK.id} (or --preset strict)"
    )
    assert reason(CONFIG) is None
    assert reason(replace(CONFIG, enable=(), only=(CHECK.id,))) is None


def test_access_denied_on_the_download_url_names_the_iam_action(clock: FakeClock) -> None:
    aws = StubbedAws()
    blob = image_config("1000")
    aws.respond("ecr", "batch_get_image", batch_get(manifest(sha(blob), len(blob))), by_tag())
    aws.fail("ecr", "get_download_url_for_layer", "AccessDeniedException", "not authorized")
    result = run_one(CHECK.id, CONFIG, aws, clock)
    assert result.status is Status.ERROR
    assert "AccessDenied calling ecr:GetDownloadUrlForLayer" in result.reason
