"""ecr-image-tags: every required tag exists in the repository."""

from __future__ import annotations

from soc2gate.checks._ecr import describe_tags, short_digest
from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult


class EcrImageTags(Check):
    id = "ecr-image-tags"
    title = "Required image tags are present"
    asserts = (
        "Every --require-tag exists in the repository ({sha}/{short_sha} expanded from the "
        "commit SHA) and they all name one image digest (tags that disagree fail, each tag's "
        "digest named); each tag's digest is reported."
    )
    remediation = (
        "Push the missing tag (docker tag + docker push, or aws ecr put-image with the existing "
        "manifest) from the pipeline that built the image, and check the commit SHA it used; "
        "tags on different digests must all be re-pushed from the one build being deployed."
    )
    soc2 = ("CC8.1",)

    def skip_reason(self, config: GateConfig) -> str | None:
        if not config.repository:
            return "not configured: no --repository given"
        if not config.require_tags:
            return "not configured: no --require-tag given"
        return None

    def run(self, ctx: CheckContext) -> CheckResult:
        repository = ctx.config.repository or ""
        tags = ctx.config.expanded_tags(ctx.environ)
        found = describe_tags(ctx.registry_client("ecr"), repository, tags)
        lines = [
            f"{tag}: {ref.digest} (pushed {ref.pushed_at})" if ref else f"{tag}: MISSING"
            for tag, ref in found.items()
        ]
        evidence = {tag: (ref.digest if ref else None) for tag, ref in found.items()}
        missing = [tag for tag, ref in found.items() if ref is None]
        if missing:
            return self.failed(
                f"{len(missing)} of {len(tags)} required tag(s) missing in {repository}: "
                + ", ".join(missing),
                details=lines,
                evidence={"digests": evidence},
            )
        digests = sorted({ref.digest for ref in found.values() if ref})
        if len(digests) > 1:
            # The gate vouches for one build: tags that name different images mean a tag was
            # left behind by an earlier push (or moved by a later one).
            named = "; ".join(
                f"{tag} -> {short_digest(ref.digest)}" for tag, ref in found.items() if ref
            )
            return self.failed(
                f"required tags name {len(digests)} different images in {repository}: {named}; "
                "push every required tag from the same build",
                details=lines,
                evidence={"digests": evidence},
            )
        summary = f"all {len(tags)} required tag(s) present on {digests[0]}"
        return self.passed(summary, details=lines, evidence={"digests": evidence})
