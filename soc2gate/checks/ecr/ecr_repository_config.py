"""ecr-repository-config: the repository exists, is scanned, encrypted, and (optionally) immutable."""

from __future__ import annotations

from collections.abc import Sequence

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    ForeignRegistry,
    Repository,
    ScanningConfig,
    ecr_wildcard_match,
    gated_repository,
    registry_where,
    scanning_config,
)
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult


class EcrRepositoryConfig(Check):
    id = "ecr-repository-config"
    title = "ECR repository is scanned, encrypted and configured"
    asserts = (
        "The repository exists; image scanning is effectively on (scanOnPush or a matching "
        "registry scanning rule); encryption type is allowed; tags are immutable if required: "
        "every required tag as expanded ({sha} filled in) and the gated --scan-tag, under ECR's "
        "exclusion-filter semantics (* only)."
    )
    remediation = (
        "Enable scanning (aws ecr put-registry-scanning-configuration with a rule that matches "
        "the repository, or put-image-scanning-configuration scanOnPush=true), use an allowed "
        "encryption type (set at creation: recreate the repository), and set "
        "imageTagMutability=IMMUTABLE if required."
    )
    soc2 = ("CC6.1", "CC7.1")
    security_hub = ("ECR.1", "ECR.2")
    aws_config = ("ecr-private-image-scanning-enabled", "ecr-private-tag-immutability-enabled")
    beyond = (
        "judges the registry scanning rules that apply to the gated repository and its "
        "encryption type at deploy time; tag immutability only with --require-immutable-tags"
    )

    def skip_reason(self, config: GateConfig) -> str | None:
        return None if config.repository else "not configured: no --repository given"

    def run(self, ctx: CheckContext) -> CheckResult:
        name = ctx.config.repository or ""
        ecr = ctx.registry_client("ecr")
        repo = gated_repository(ctx)
        if repo is None:
            return self.failed(
                f"repository {name!r} not found in {registry_where(ctx.config, ecr)}",
                details=[
                    "Check --repository, --region and the account the credentials are for "
                    "(--registry-id and --registry-region for a central registry)."
                ],
            )
        try:
            scanning = scanning_config(ecr, repo)
        except ForeignRegistry as exc:
            return self.error(exc.advice(ctx.config))
        config = ctx.config
        # The tags that must not move: the required tags as pushed ({sha} expanded), and the
        # tag whose scan gates the build.
        gated = config.gated_tag(ctx.environ)
        tags = tuple(
            dict.fromkeys((*config.expanded_tags(ctx.environ), *([gated] if gated else [])))
        )
        return evaluate(repo, scanning, config, self, tags)


def evaluate(
    repo: Repository,
    scanning: ScanningConfig,
    config: GateConfig,
    check: Check,
    tags: Sequence[str],
) -> CheckResult:
    """Pure decision from typed values."""
    problems: list[str] = []
    notes: list[str] = []
    if config.registry_id:
        # A central or cross-account registry: say which one was read.
        notes.append(f"in registry {repo.registry_id} ({repo.region or '?'})")
    scanning_on, why = scanning.effective(repo.name)
    (notes if scanning_on else problems).append(
        f"image scanning {'on' if scanning_on else 'OFF'}: {why}"
    )

    if repo.encryption_type in config.encryption:
        notes.append(f"encryption {repo.encryption_type} is allowed")
    else:
        problems.append(
            f"encryption {repo.encryption_type} is not allowed (allowed: {', '.join(config.encryption)})"
        )

    mutability = repo.tag_mutability
    if config.require_immutable_tags:
        exclusions = repo.mutability_exclusions
        if mutability == "IMMUTABLE":
            notes.append("tags are IMMUTABLE")
        elif mutability == "IMMUTABLE_WITH_EXCLUSION":
            mutable = [t for t in tags if any(ecr_wildcard_match(t, p) for p in exclusions)]
            msg = (
                f"tags are IMMUTABLE_WITH_EXCLUSION: tags matching {list(exclusions)} stay mutable"
            )
            if mutable or not tags:
                problems.append(msg + (f", including required tag(s) {mutable}" if mutable else ""))
            else:
                notes.append(msg + "; no required tag matches them")
        elif mutability == "MUTABLE_WITH_EXCLUSION":
            mutable = [t for t in tags if not any(ecr_wildcard_match(t, p) for p in exclusions)]
            msg = f"tags are MUTABLE_WITH_EXCLUSION: only tags matching {list(exclusions)} are immutable"
            if mutable or not tags:
                problems.append(
                    msg + (f"; required tag(s) {mutable} are mutable" if mutable else "")
                )
            else:
                notes.append(msg + "; every required tag matches them")
        else:
            problems.append(f"tags are {mutability}, IMMUTABLE is required")
    else:
        notes.append(f"tag mutability {mutability} (not required to be immutable)")

    evidence = {
        "repositoryArn": repo.arn,
        "repositoryUri": repo.uri,
        "scanType": scanning.scan_type,
        "scanFrequency": scanning.frequency,
        "scanOnPush": scanning.scan_on_push,
        "encryptionType": repo.encryption_type,
        "imageTagMutability": mutability,
    }
    if problems:
        return check.failed("; ".join(problems), details=problems + notes, evidence=evidence)
    return check.passed("; ".join(notes), details=notes, evidence=evidence)
