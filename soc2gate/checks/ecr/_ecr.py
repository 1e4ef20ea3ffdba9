"""Fetchers that turn ECR responses into typed values. Checks evaluate these; they don't parse."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from soc2gate.aws import error_code
from soc2gate.config import ECR_HOST, GateConfig
from soc2gate.errors import UnreadableAnswer

if TYPE_CHECKING:
    from soc2gate.checks.base import Check
    from soc2gate.models import CheckResult


def ecr_wildcard_match(text: str, pattern: str) -> bool:
    """ECR's filter semantics: ``*`` matches any run of characters (none included), every other
    character only itself, and the whole text must match. Used for tag-mutability exclusion
    filters and registry scanning rule filters, whose only wildcard is ``*`` (fnmatch would also
    give ``?`` and ``[...]`` meanings ECR does not have)."""
    if not pattern:
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


class RepositoryUnreadable(UnreadableAnswer):
    """A repository or scanning answer lacks a field the verdict needs (missing, null, mistyped)."""


def gated_image_unconfigured(config: GateConfig) -> str | None:
    """Why checks of the gated image (--scan-tag, else the first --require-tag) are skipped."""
    if not config.repository:
        return "not configured: no --repository given"
    if not (config.scan_tag or config.require_tags):
        return "not configured: no --scan-tag or --require-tag given"
    return None


@dataclass(frozen=True)
class Repository:
    name: str
    arn: str
    uri: str
    registry_id: str
    scan_on_push: bool
    encryption_type: str
    kms_key: str
    tag_mutability: str
    mutability_exclusions: tuple[str, ...]

    @property
    def region(self) -> str:
        """The region in ``arn`` ("" when the ARN is missing or malformed)."""
        return arn_part(self.arn, 3)


def arn_part(arn: Any, index: int) -> str:
    """Field ``index`` of an ARN (3 region, 4 account); "" when ``arn`` is not an ARN."""
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[index] if len(parts) > 5 else ""


@dataclass(frozen=True)
class ScanningConfig:
    """The repository's *effective* scanning: registry scan type, its rules, repo-level flag."""

    scan_type: str  # BASIC | ENHANCED
    frequency: str  # SCAN_ON_PUSH | CONTINUOUS_SCAN | MANUAL ("" when AWS did not say)
    scan_on_push: bool
    applied_filters: tuple[str, ...]
    registry_rules: tuple[tuple[str, tuple[str, ...]], ...]  # (frequency, filters)

    @property
    def matching_rules(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple(r for r in self.registry_rules if r[0] in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"))

    def effective(self, repository: str) -> tuple[bool, str]:
        """(is scanning on, why) in words a user can check in the console."""
        for frequency, filters in self.registry_rules:
            # Only the two frequencies that scan count; MANUAL, a missing or an unknown one
            # does not say the repository is scanned.
            if frequency not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
                continue
            for pattern in filters:
                if ecr_wildcard_match(repository, pattern):
                    return True, (
                        f"registry {self.scan_type} scanning rule {frequency} matches "
                        f"filter {pattern!r}"
                    )
        if self.frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
            return True, f"repository scan frequency is {self.frequency} ({self.scan_type})"
        if self.scan_type == "ENHANCED":
            extra = " (its scanOnPush=true is ignored under ENHANCED scanning)" * self.scan_on_push
            return False, f"no ENHANCED registry scanning rule matches the repository{extra}"
        if self.scan_on_push:
            return True, "repository scanOnPush is true (BASIC scanning)"
        return False, (
            "scanOnPush is false and no registry scanning rule (SCAN_ON_PUSH or CONTINUOUS_SCAN) "
            "matches the repository"
        )


#: The check that says whether the gated repository exists (and is set up as required).
REPOSITORY_CHECK = "ecr-repository-config"


def repository_missing(check: Check, exc: BaseException, repository: str) -> CheckResult | None:
    """The result of a check whose read of an image found no repository (``exc`` is
    RepositoryNotFoundException), or None for any other error (the caller raises it).

    Not evaluated: the missing repository is ecr-repository-config's FAIL, counted once there
    (the runner keeps ``blocked_by`` only when that check failed in this run; without it in
    the run this stays an ERROR of its own)."""
    from dataclasses import replace

    if error_code(exc) != "RepositoryNotFoundException":
        return None
    return replace(
        check.error(
            f"repository {repository!r} not found: no image to read (see {REPOSITORY_CHECK})"
        ),
        blocked_by=REPOSITORY_CHECK,
    )


def describe_repository(ecr: Any, name: str) -> Repository | None:
    """None when the repository does not exist; other errors propagate (fail closed)."""
    try:
        response = ecr.describe_repositories(repositoryNames=[name])
    except Exception as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return None
        raise
    repositories = response.get("repositories")
    if not isinstance(repositories, list) or not repositories:
        raise RuntimeError(f"DescribeRepositories answered without the repository {name!r}")
    repo = repositories[0]
    if not isinstance(repo, dict) or not isinstance(repo.get("repositoryName"), str):
        raise RepositoryUnreadable("DescribeRepositories answered without a repositoryName")
    encryption = repo.get("encryptionConfiguration")
    if encryption is None:
        # Repositories created before encryption settings existed report none; ECR documents
        # that they (and every repository without a setting) are encrypted with AES256.
        encryption = {"encryptionType": "AES256"}
    if not isinstance(encryption, dict) or not isinstance(encryption.get("encryptionType"), str):
        raise RepositoryUnreadable(
            "encryptionConfiguration has no encryptionType: cannot tell how the repository is "
            "encrypted"
        )
    mutability = repo.get("imageTagMutability", "MUTABLE")
    if not isinstance(mutability, str):
        raise RepositoryUnreadable("imageTagMutability is not a string")
    exclusions = repo.get("imageTagMutabilityExclusionFilters")
    if mutability.endswith("_WITH_EXCLUSION") and not isinstance(exclusions, list):
        raise RepositoryUnreadable(
            f"imageTagMutability is {mutability} but imageTagMutabilityExclusionFilters is "
            "missing: cannot tell which tags are excluded"
        )
    filters = []
    for f in exclusions or []:
        if not isinstance(f, dict) or not isinstance(f.get("filter"), str):
            raise RepositoryUnreadable("an imageTagMutabilityExclusionFilters entry has no filter")
        filters.append(f["filter"])
    scanning = repo.get("imageScanningConfiguration")
    return Repository(
        name=repo["repositoryName"],
        arn=str(repo.get("repositoryArn") or ""),
        uri=str(repo.get("repositoryUri") or ""),
        registry_id=str(repo.get("registryId") or ""),
        # Missing reads as off: it can only make the check stricter.
        scan_on_push=isinstance(scanning, dict) and scanning.get("scanOnPush") is True,
        encryption_type=encryption["encryptionType"],
        kms_key=str(encryption.get("kmsKey") or ""),
        tag_mutability=mutability,
        mutability_exclusions=tuple(filters),
    )


def registry_type(registry: Any) -> str:
    value = registry.get("scanType") if isinstance(registry, dict) else None
    return "none" if value is None else repr(value)[:40]


def registry_where(config: GateConfig, ecr: Any) -> str:
    """Where the gated repository was looked for: "region R" or "registry A in region R"."""
    region = str(getattr(getattr(ecr, "meta", None), "region_name", "") or config.region or "")
    where = f"region {region}" if region else "the default region"
    return f"registry {config.registry_id} in {where}" if config.registry_id else where


class ForeignRegistry(Exception):
    """A registry-level answer is about another registry than the gated repository's: ECR
    answers GetRegistryScanningConfiguration and BatchGetRepositoryScanningConfiguration for
    the caller's own account only (they take no registryId)."""

    def __init__(self, operation: str, read: str, repository: Repository) -> None:
        self.repository = repository
        super().__init__(
            f"{operation} answered for registry {read}, but repository {repository.name} is in "
            f"registry {repository.registry_id}"
        )

    def advice(self, config: GateConfig) -> str:
        """The whole message: what the answer was, and what to do given how the run reads."""
        owner = self.repository.registry_id
        if not config.registry_id:
            return (
                f"{self}: cannot tell whose scanning settings these are, so the repository's "
                "scanning is not verified"
            )
        if config.registry_role_arn:
            return (
                f"{self}, although the gate read it with --registry-role-arn "
                f"{config.registry_role_arn}: check that the role is in {owner}"
            )
        return (
            f"{self}: ECR answers it only for the calling account, so the scanning of a central "
            "or cross-account registry cannot be read from here; pass --registry-role-arn with a "
            f"role in {owner} that may call ecr:GetRegistryScanningConfiguration and "
            "ecr:BatchGetRepositoryScanningConfiguration (or skip ecr-repository-config and gate "
            "the registry from its own account)"
        )


class WrongRegistry(UnreadableAnswer):
    """DescribeRepositories answered about a repository that is not in the configured registry
    (or did not say which registry it is in)."""


def gated_repository(ctx: Any) -> Repository | None:
    """The gated repository as its registry describes it (once per run), or None when it does
    not exist. With --registry-id / --registry-region the answer must say it is in that
    registry and region: a repository of the same name anywhere else never stands in."""
    config: GateConfig = ctx.config
    name = config.repository or ""
    ecr = ctx.registry_client("ecr")
    repo: Repository | None = ctx.memo(("repository", name), lambda: describe_repository(ecr, name))
    if repo is None:
        return None
    region = repo.region
    wanted_region = config.registry_region or ""
    if config.registry_id and repo.registry_id != config.registry_id:
        read = repo.registry_id or "(no registryId)"
        raise WrongRegistry(
            f"DescribeRepositories answered for registry {read}, not the configured registry "
            f"{config.registry_id}: cannot tell that {name} is the gated repository"
        )
    if wanted_region and region != wanted_region:
        raise WrongRegistry(
            f"DescribeRepositories answered with repositoryArn {repo.arn or '(none)'}, not a "
            f"repository in {wanted_region}: cannot tell that {name} is the gated repository"
        )
    return repo


def scanning_config(ecr: Any, repository: Repository) -> ScanningConfig:
    """The registry's and the repository's scanning settings, read from the repository's own
    registry; ForeignRegistry when the answers are about another account's."""
    answer = ecr.get_registry_scanning_configuration()
    read_id = answer.get("registryId")
    if repository.registry_id and read_id != repository.registry_id:
        # A missing registryId cannot be told apart from another registry's answer.
        shown = read_id if isinstance(read_id, str) and read_id else "(none named)"
        raise ForeignRegistry("GetRegistryScanningConfiguration", shown, repository)
    registry = answer.get("scanningConfiguration")
    if not isinstance(registry, dict) or registry.get("scanType") not in ("BASIC", "ENHANCED"):
        # Without the scan type the repository's own flag cannot be read right: under ENHANCED
        # scanning scanOnPush is ignored, so guessing BASIC could pass an unscanned repository.
        raise RepositoryUnreadable(
            "GetRegistryScanningConfiguration answered without a scanningConfiguration.scanType "
            f"the gate knows (BASIC or ENHANCED; got {registry_type(registry)})"
        )
    rules = tuple(
        (
            str(rule.get("scanFrequency") or ""),
            tuple(
                str(f.get("filter") or "")
                for f in rule.get("repositoryFilters") or []
                if isinstance(f, dict)
            ),
        )
        for rule in registry.get("rules") or []
        if isinstance(rule, dict)
    )
    batch = ecr.batch_get_repository_scanning_configuration(repositoryNames=[repository.name])
    confs = batch.get("scanningConfigurations") or []
    repo_conf: dict[str, Any] = next(
        (c for c in confs if isinstance(c, dict) and c.get("repositoryName") == repository.name),
        next((c for c in confs if isinstance(c, dict)), {}),
    )
    other = arn_part(repo_conf.get("repositoryArn"), 4)
    if repository.registry_id and other and other != repository.registry_id:
        # The caller's own repository of the same name must never stand in for the gated one.
        raise ForeignRegistry("BatchGetRepositoryScanningConfiguration", other, repository)
    return ScanningConfig(
        scan_type=registry["scanType"],
        frequency=str(repo_conf.get("scanFrequency") or ""),
        # The repository flag and the batch answer are the same setting seen twice; either one
        # saying "on" is taken (moto, for one, leaves the batch answer at its default).
        scan_on_push=repository.scan_on_push or repo_conf.get("scanOnPush") is True,
        applied_filters=tuple(
            str(f.get("filter") or "")
            for f in repo_conf.get("appliedScanFilters") or []
            if isinstance(f, dict)
        ),
        registry_rules=rules,
    )


# ---- Amazon Inspector coverage ---------------------------------------------------------------


class CoverageUnreadable(UnreadableAnswer):
    """ListCoverage answered with a record the gate cannot read."""


@dataclass(frozen=True)
class Coverage:
    """Amazon Inspector's coverage record of one ECR image (ListCoverage)."""

    resource_id: str
    status_code: str  # ACTIVE | INACTIVE
    reason: str  # SUCCESSFUL, PENDING_INITIAL_SCAN, UNSUPPORTED_OS, ...
    last_scanned_at: str  # ISO time, "" when Inspector has not scanned it yet
    last_scanned: float | None = None  # the same in seconds since the epoch


def image_coverage(inspector: Any, repository_arn: str, digest: str) -> Coverage | None:
    """Inspector's coverage record for ``repository_arn``'s image ``digest``; None if none.

    Inspector names an image ``<repository ARN>/sha256:<hex>``. The filter is applied here again
    because a record for another resource must never stand in for this one.
    """
    resource_id = f"{repository_arn}/{digest}"
    paginator = inspector.get_paginator("list_coverage")
    pages = paginator.paginate(
        filterCriteria={
            "resourceId": [{"comparison": "EQUALS", "value": resource_id}],
            "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
        },
        PaginationConfig={"MaxItems": 1000},
    )
    for page in pages:
        resources = page.get("coveredResources")
        if not isinstance(resources, list):
            raise CoverageUnreadable("ListCoverage answered without coveredResources")
        for item in resources:
            if not isinstance(item, dict) or item.get("resourceId") != resource_id:
                continue
            status = item.get("scanStatus")
            if not isinstance(status, dict) or not all(
                isinstance(status.get(k), str) for k in ("statusCode", "reason")
            ):
                raise CoverageUnreadable(f"the coverage record of {resource_id} has no scanStatus")
            scanned: Any = item.get("lastScannedAt")
            return Coverage(
                resource_id=resource_id,
                status_code=status["statusCode"],
                reason=status["reason"],
                last_scanned_at=scanned.isoformat() if hasattr(scanned, "isoformat") else "",
                last_scanned=float(scanned.timestamp()) if hasattr(scanned, "timestamp") else None,
            )
    return None


@dataclass(frozen=True)
class ImageRef:
    tag: str
    digest: str
    pushed_at: str
    scan_status: str
    all_tags: tuple[str, ...]
    #: imagePushedAt in seconds since the epoch, None when AWS did not say.
    pushed: float | None = None


def describe_tags(ecr: Any, repository: str, tags: tuple[str, ...]) -> dict[str, ImageRef | None]:
    """Resolve each tag to its image; None for a tag that does not exist.

    DescribeImages fails the whole call with ImageNotFoundException when any requested tag is
    missing, so on that error each tag is asked for alone to find out which ones are missing.
    """
    if not tags:
        return {}
    try:
        details = ecr.describe_images(
            repositoryName=repository, imageIds=[{"imageTag": t} for t in tags]
        ).get("imageDetails")
        if not isinstance(details, list):
            raise RepositoryUnreadable("DescribeImages answered without imageDetails")
    except Exception as exc:
        if error_code(exc) != "ImageNotFoundException" or len(tags) == 1:
            if error_code(exc) == "ImageNotFoundException":
                return {tags[0]: None}
            raise
        out: dict[str, ImageRef | None] = {}
        for tag in tags:
            out.update(describe_tags(ecr, repository, (tag,)))
        return out
    found: dict[str, ImageRef | None] = dict.fromkeys(tags)
    for detail in details:
        if not isinstance(detail, dict):
            raise RepositoryUnreadable(
                "DescribeImages answered with an imageDetails entry that is not an object"
            )
        image_tags = tuple(t for t in detail.get("imageTags") or () if isinstance(t, str))
        pushed: Any = detail.get("imagePushedAt")
        digest = detail.get("imageDigest")
        if any(tag in image_tags for tag in tags) and not (
            isinstance(digest, str) and digest.startswith("sha256:")
        ):
            raise RepositoryUnreadable("DescribeImages answered without the image's imageDigest")
        if any(tag in image_tags for tag in tags) and not hasattr(pushed, "timestamp"):
            # A scan counts only when it completed after this push (ecr-scan-findings).
            raise RepositoryUnreadable("DescribeImages answered without the image's imagePushedAt")
        for tag in tags:
            if tag in image_tags:
                found[tag] = ImageRef(
                    tag=tag,
                    digest=str(digest),
                    pushed_at=pushed.isoformat() if hasattr(pushed, "isoformat") else str(pushed),
                    pushed=float(pushed.timestamp()) if hasattr(pushed, "timestamp") else None,
                    scan_status=str((detail.get("imageScanStatus") or {}).get("status", "")),
                    all_tags=image_tags,
                )
    return found


# ---- image references ------------------------------------------------------------------------

_ECR_HOST = re.compile(rf"^{ECR_HOST}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageUri:
    """``registry/repository[:tag][@digest]``, as SageMaker models and DeployedImages name it."""

    text: str
    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def registry_key(self) -> tuple[str, ...]:
        """What identifies the registry: (account, region) for ECR, else the host name."""
        match = _ECR_HOST.match(self.registry.lower())
        if match:
            return ("ecr", match["account"], match["region"])
        return ("host", self.registry.lower())

    @property
    def where(self) -> str:
        """The repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def same_repository(self, other: ImageUri) -> bool:
        return self.registry_key == other.registry_key and self.repository == other.repository


def parse_image_uri(text: str) -> ImageUri | None:
    """None when ``text`` has no registry host and repository (e.g. ``python:3``)."""
    value = text.strip()
    name, _, digest = value.partition("@")
    tag = ""
    # A tag follows the last ':' after the last '/' (an earlier ':' is the registry's port).
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
    registry, _, repository = name.partition("/")
    if not registry or not repository:
        return None
    if "." not in registry and ":" not in registry and registry != "localhost":
        return None
    return ImageUri(value, registry, repository, tag, digest.lower())


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits: enough to tell two images apart in one line."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}" if hex_part else digest


# ---- manifests and the config blob ------------------------------------------------------------

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
#: An image config is a few kilobytes; anything much larger is not one.
CONFIG_BLOB_LIMIT = 1024 * 1024


class ManifestError(Exception):
    """BatchGetImage answered, but not with a manifest this gate can read."""


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.body

    @property
    def config_digest(self) -> str:
        return str((self.body.get("config") or {}).get("digest", ""))

    @property
    def config_size(self) -> int:
        size = (self.body.get("config") or {}).get("size")
        return size if isinstance(size, int) else -1


def get_manifest(ecr: Any, repository: str, image_id: dict[str, str]) -> Manifest | None:
    """The manifest (or index) of one image; None when the image does not exist."""
    response = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[image_id],
        acceptedMediaTypes=[*IMAGE_MANIFEST_TYPES, *INDEX_TYPES],
    )
    images = response.get("images") or []
    if not images:
        failure: dict[str, Any] = next(iter(response.get("failures") or []), {})
        code = str(failure.get("failureCode", ""))
        if code == "ImageNotFound":
            return None
        reason = failure.get("failureReason") or "no image and no failure in the answer"
        raise ManifestError(f"BatchGetImage {code or 'failed'}: {reason}")
    image = images[0]
    try:
        body = json.loads(image.get("imageManifest") or "")
    except ValueError:
        raise ManifestError("BatchGetImage returned a manifest that is not JSON") from None
    if not isinstance(body, dict):
        raise ManifestError("BatchGetImage returned a manifest that is not a JSON object")
    media_type = str(image.get("imageManifestMediaType") or body.get("mediaType") or "")
    digest = str((image.get("imageId") or {}).get("imageDigest") or image_id.get("imageDigest", ""))
    return Manifest(digest=digest, media_type=media_type, body=body)


def platform_of(entry: dict[str, Any]) -> str:
    platform = entry.get("platform") or {}
    text = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
    return text + (f"/{platform['variant']}" if platform.get("variant") else "")


def pick_platform(index: Manifest, os: str = "linux", architecture: str = "amd64") -> str | None:
    """Digest of the index entry for ``os``/``architecture``, or None."""
    for entry in index.body.get("manifests") or []:
        platform = entry.get("platform") or {} if isinstance(entry, dict) else {}
        if platform.get("os") == os and platform.get("architecture") == architecture:
            return str(entry.get("digest", "")) or None
    return None


class BlobError(Exception):
    """The config blob could not be downloaded (scheme, size, HTTP or network error)."""


class DigestMismatch(BlobError):
    """What was downloaded is not the blob the manifest names."""


_LOOPBACK_NAMES = frozenset({"localhost"})


def _allowed_url(url: str) -> bool:
    # ECR hands out https (S3 pre-signed) URLs. Plain http is accepted only on loopback, for a
    # local ECR stand-in (moto); file:, ftp: and the rest never reach urllib.
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if not _allowed_url(newurl):
            raise BlobError(f"refusing a redirect to {_redacted_url(newurl)}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _redacted_url(url: str) -> str:
    # Pre-signed URLs carry a signature in the query string: never print it.
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def download_blob(
    url: str, digest: str, limit: int = CONFIG_BLOB_LIMIT, timeout: float = 30.0
) -> bytes:
    """GET a blob from a GetDownloadUrlForLayer URL; its sha256 must be ``digest``."""
    if not _SHA256.match(digest):
        raise BlobError(f"cannot verify a blob named {digest!r}: only sha256 digests are supported")
    if not _allowed_url(url):
        raise BlobError(f"refusing to download from {_redacted_url(url)} (https only)")
    opener = urllib.request.build_opener(_CheckedRedirects)
    request = urllib.request.Request(url, headers={"Accept": "*/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise BlobError(f"blob is {declared} bytes, over the {limit}-byte limit")
            data = response.read(limit + 1)
    except BlobError:
        raise
    except urllib.error.HTTPError as exc:
        raise BlobError(f"HTTP {exc.code} {exc.reason} from {_redacted_url(url)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = getattr(exc, "reason", None) or exc
        raise BlobError(f"{type(exc).__name__} from {_redacted_url(url)}: {why}") from None
    if len(data) > limit:
        raise BlobError(f"blob is over the {limit}-byte limit")
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise DigestMismatch(
            f"the downloaded config blob hashes to {actual}, not {digest}: it is not the "
            "image's config (tampered with or corrupted on the way)"
        )
    return data
