"""Fetchers that turn ECR responses into typed values. Checks evaluate these; they don't parse."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from soc2gate.aws import error_code


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
            if frequency == "MANUAL":
                continue
            for pattern in filters:
                if fnmatch.fnmatchcase(repository, pattern):
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


def describe_repository(ecr: Any, name: str) -> Repository | None:
    """None when the repository does not exist; other errors propagate (fail closed)."""
    try:
        response = ecr.describe_repositories(repositoryNames=[name])
    except Exception as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return None
        raise
    repo = response["repositories"][0]
    encryption = repo.get("encryptionConfiguration") or {}
    return Repository(
        name=repo["repositoryName"],
        arn=repo.get("repositoryArn", ""),
        uri=repo.get("repositoryUri", ""),
        registry_id=repo.get("registryId", ""),
        scan_on_push=bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush")),
        # AWS documents AES256 as the default when no encryption configuration is returned.
        encryption_type=encryption.get("encryptionType", "AES256"),
        kms_key=encryption.get("kmsKey", ""),
        tag_mutability=repo.get("imageTagMutability", "MUTABLE"),
        mutability_exclusions=tuple(
            f.get("filter", "") for f in repo.get("imageTagMutabilityExclusionFilters") or []
        ),
    )


def scanning_config(ecr: Any, repository: Repository) -> ScanningConfig:
    registry = ecr.get_registry_scanning_configuration().get("scanningConfiguration") or {}
    rules = tuple(
        (
            str(rule.get("scanFrequency", "")),
            tuple(str(f.get("filter", "")) for f in rule.get("repositoryFilters") or []),
        )
        for rule in registry.get("rules") or []
    )
    batch = ecr.batch_get_repository_scanning_configuration(repositoryNames=[repository.name])
    repo_conf: dict[str, Any] = next(iter(batch.get("scanningConfigurations") or []), {})
    return ScanningConfig(
        scan_type=str(registry.get("scanType", "BASIC")),
        frequency=str(repo_conf.get("scanFrequency", "")),
        # The repository flag and the batch answer are the same setting seen twice; either one
        # saying "on" is taken (moto, for one, leaves the batch answer at its default).
        scan_on_push=repository.scan_on_push or bool(repo_conf.get("scanOnPush")),
        applied_filters=tuple(
            str(f.get("filter", "")) for f in repo_conf.get("appliedScanFilters") or []
        ),
        registry_rules=rules,
    )


@dataclass(frozen=True)
class ImageRef:
    tag: str
    digest: str
    pushed_at: str
    scan_status: str
    all_tags: tuple[str, ...]


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
        )["imageDetails"]
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
        image_tags = tuple(detail.get("imageTags") or ())
        pushed = detail.get("imagePushedAt")
        for tag in tags:
            if tag in image_tags:
                found[tag] = ImageRef(
                    tag=tag,
                    digest=detail["imageDigest"],
                    pushed_at=pushed.isoformat() if hasattr(pushed, "isoformat") else str(pushed),
                    scan_status=str((detail.get("imageScanStatus") or {}).get("status", "")),
                    all_tags=image_tags,
                )
    return found
