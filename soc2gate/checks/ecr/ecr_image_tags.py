"""ecr-image-tags: every required tag exists in the repository, on the image the scan judged.

Tags are read after ecr-scan-findings finished (``depends_on``): a tag that moved while the
gate waited for the scan is read where it is now, and all of them must name the digest that
check judged. Without ecr-scan-findings in the run they must name one image.
"""

from __future__ import annotations

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    REPOSITORY_CHECK,
    describe_tags,
    repository_missing,
    short_digest,
)
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Status

SCAN_CHECK = "ecr-scan-findings"


class EcrImageTags(Check):
    id = "ecr-image-tags"
    title = "Required image tags are present"
    asserts = (
        "Every --require-tag exists in the repository ({sha}/{short_sha} expanded from the "
        "commit SHA) and they all name one image digest (tags that disagree fail, each tag's "
        "digest named), read after ecr-scan-findings: the digest that check judged for the "
        "gated tag (a tag that moved away from it during the run fails, named); each tag's "
        "digest is reported."
    )
    remediation = (
        "Push the missing tag (docker tag + docker push, or aws ecr put-image with the existing "
        "manifest) from the pipeline that built the image, and check the commit SHA it used; "
        "tags on different digests must all be re-pushed from the one build being deployed."
    )
    soc2 = ("CC8.1",)
    beyond = "no control checks that the tags a deployment relies on exist on the image"
    # Read once the scan is judged, so the tags are compared with the digest it judged.
    depends_on = (SCAN_CHECK,)
    defers_to = (REPOSITORY_CHECK,)

    def skip_reason(self, config: GateConfig) -> str | None:
        if not config.repository:
            return "not configured: no --repository given"
        if not config.require_tags:
            return "not configured: no --require-tag given"
        return None

    def run(self, ctx: CheckContext) -> CheckResult:
        repository = ctx.config.repository or ""
        tags = ctx.config.expanded_tags(ctx.environ)
        try:
            found = describe_tags(ctx.registry_client("ecr"), repository, tags)
        except Exception as exc:
            gone = repository_missing(self, exc, repository)
            if gone is None:
                raise
            return gone
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
        scanned = _scanned_digest(ctx)
        if scanned and digests[0] != scanned:
            gated = ctx.config.gated_tag(ctx.environ) or ""
            return self.failed(
                f"required tag(s) {', '.join(tags)} name {short_digest(digests[0])} now, but "
                f"{SCAN_CHECK} judged {short_digest(scanned)} (tag {gated}): the tags moved "
                "during the run, so the image they name is not the one the gate judged; re-run "
                "the gate once the pipeline stopped pushing",
                details=lines,
                evidence={"digests": evidence, "scannedDigest": scanned},
            )
        summary = f"all {len(tags)} required tag(s) present on {digests[0]}"
        if scanned:
            summary += f", the digest {SCAN_CHECK} judged"
        return self.passed(summary, details=lines, evidence={"digests": evidence})


def _scanned_digest(ctx: CheckContext) -> str:
    """The gated digest ecr-scan-findings judged; "" when it is not in the run or judged none
    (a tag it could not find: then this check says which tags are missing)."""
    scan = ctx.result_of(SCAN_CHECK)
    if scan is None or scan.status is Status.SKIPPED:
        return ""
    digest = scan.evidence.get("imageDigest")
    return digest if isinstance(digest, str) and digest.startswith("sha256:") else ""
