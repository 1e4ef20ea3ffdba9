"""deployed-image-scanned: what serves traffic is the image that passed the scan.

ecr-scan-findings judges the digest a *tag* points at when the gate runs. The endpoint runs the
digest SageMaker resolved when it deployed (``DeployedImages[].ResolvedImage``). The two differ
when the tag moved in between (a later push, a re-tag) or when a model names another
repository, and then the scan verdict says nothing about what is serving. This check ties them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    ImageUri,
    describe_tags,
    gated_image_unconfigured,
    gated_repository,
    parse_image_uri,
    short_digest,
)
from soc2gate.checks.sagemaker._sagemaker import (
    Endpoint,
    InferenceComponent,
    component_variants,
    describe_endpoint,
    describe_model,
    endpoint_components,
    endpoint_models,
    endpoint_unconfigured,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import (
    ENDPOINT_FAILED_FIX,
    endpoint_missing,
    judge_endpoint,
)
from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Status
from soc2gate.polling import ENDPOINT_STATUS, Verdict, WaitTable

STATUS_CHECK = "sagemaker-endpoint-status"
SCAN_CHECK = "ecr-scan-findings"


@dataclass(frozen=True)
class Scanned:
    """The image ecr-scan-findings passed."""

    repository: ImageUri  # the gated repository (no tag, no digest)
    tag: str
    digest: str


@dataclass(frozen=True)
class ModelImage:
    """One model container's Image, with the digest it names or its tag resolves to."""

    where: str  # "<model> PrimaryContainer"
    image: str
    digest: str  # "" when it could not be resolved
    note: str = ""  # why not, or how it was resolved


class DeployedImageScanned(Check):
    id = "deployed-image-scanned"
    title = "The endpoint runs the image that passed the scan"
    asserts = (
        "Every DeployedImages[].ResolvedImage of the endpoint, every inference component's "
        "Specification.Container.DeployedImage.ResolvedImage (components Creating/Updating "
        "are waited for, Failed fails), and every Image of the models behind its current "
        "config, its components and their Model Registry packages (tags resolved through ECR), "
        "is in the gated repository and has the digest ecr-scan-findings evaluated and passed."
    )
    remediation = (
        "Deploy by digest (repository@sha256:...) the image the gate scanned, or re-run the gate "
        "after the tag stopped moving; make the model's Image point at the gated repository. "
        "Update the endpoint with a new endpoint config so SageMaker resolves the image again."
    )
    soc2 = ("CC8.1", "CC7.1")
    beyond = "no control ties the image serving traffic to the digest that passed the scan"
    # Waiting on the endpoint check too: one poller of DescribeEndpoint per run, not two.
    depends_on = (SCAN_CHECK, STATUS_CHECK)

    def skip_reason(self, config: GateConfig) -> str | None:
        return endpoint_unconfigured(config) or gated_image_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        config = ctx.config
        repository = config.repository or ""
        scan = ctx.result_of(SCAN_CHECK)
        if scan is None or scan.status is not Status.PASS:
            return scan_not_passed(self, scan)
        digest = str(scan.evidence.get("imageDigest") or "")
        tag = str(scan.evidence.get("tag") or config.gated_tag(ctx.environ) or "")
        if not digest:
            return self.error(f"{SCAN_CHECK} passed but did not record the digest it evaluated")
        status = ctx.result_of(STATUS_CHECK)
        if status is not None and status.status not in (Status.PASS, Status.SKIPPED):
            return replace(
                self.error(
                    f"the endpoint is not InService ({STATUS_CHECK} is {status.status.value}): "
                    "no deployed image to verify"
                ),
                blocked_by=STATUS_CHECK,
            )

        name = config.endpoint or ""

        def fetch() -> Any:
            return describe_endpoint(ctx.clients("sagemaker"), name)

        # What sagemaker-endpoint-status saw when it passed (no second DescribeEndpoint); when
        # that check is not in the run, read (and wait) here.
        passed = status is not None and status.status is Status.PASS
        endpoint = ctx.memo(("endpoint-in-service", name), fetch) if passed else fetch()
        if endpoint is None:
            return endpoint_missing(self, ctx, name)
        verdict = ENDPOINT_STATUS.classify(endpoint.status)
        where = f"endpoint {endpoint.name} is {endpoint.status}"
        if not passed and verdict is Verdict.SUCCESS:
            # Without sagemaker-endpoint-status in the run, InService is not enough: a rolled
            # back update or a variant still rolling out is judged by the same rules here.
            judged = judge_endpoint(endpoint)
            if judged.status is Status.PENDING:
                return self.pending(judged.state, f"{judged.short}; DeployedImages settle then")
            if judged.status is not Status.PASS:
                return self.error(
                    f"{judged.short}: no deployed image to verify (see {STATUS_CHECK})"
                )
        if verdict is Verdict.FAILURE:
            # A failed, rolling-back or out-of-service endpoint never passes any check, whatever
            # its DeployedImages still name (they describe what it tried, or last, to serve).
            judged = judge_endpoint(endpoint)
            return replace(
                self.failed(
                    f"{judged.reason}: the endpoint does not serve the scanned image as "
                    f"deployed, so it is not approved (see {STATUS_CHECK})"
                ),
                remediation=ENDPOINT_FAILED_FIX,
            )
        if verdict is Verdict.WAIT:
            # DeployedImages is filled (or, during an update, replaced) once the endpoint is
            # InService: what it says before then is not what will serve.
            return self.pending(endpoint.status, f"{where}; DeployedImages settle when InService")
        if verdict is Verdict.UNKNOWN:
            return self.error(f"{where}, a state this gate does not know: cannot verify its images")
        # Variants without a model serve inference components: each component has its own
        # DeployedImage, and the variant none.
        reported = {variant for variant, _, _ in endpoint.deployed_images}
        lacking = verdict is Verdict.SUCCESS and any(v not in reported for v in endpoint.variants)
        ic_variants = component_variants(ctx, endpoint) if lacking else {}
        components: tuple[InferenceComponent, ...] = ()
        if ic_variants:
            # Every component listed on the endpoint serves there, whatever variant it names.
            components = endpoint_components(ctx, name)
            judged_components = _judge_components(self, endpoint, ic_variants, components)
            if judged_components is not None:
                return judged_components
        if not endpoint.deployed_images and not components:
            if verdict is Verdict.SUCCESS:
                return self.error(
                    f"{where} but reports no DeployedImages: cannot verify which image serves "
                    "traffic"
                )
            return self.error(
                f"{where} and reports no DeployedImages: nothing deployed to verify "
                "(see sagemaker-endpoint-status)"
            )
        unverified = [
            v
            for v in endpoint.variants
            if v not in reported and v.removeprefix("shadow ") not in ic_variants
        ]
        if unverified:
            return self.error(
                f"{where} but variant(s) {', '.join(unverified)} report no DeployedImages: "
                "cannot verify every image that serves traffic"
            )

        repo = gated_repository(ctx)
        if repo is None:
            return self.failed(f"repository {repository} not found: nothing to compare against")
        gated = parse_image_uri(repo.uri)
        if gated is None:
            return self.error(f"cannot parse the repository URI {repo.uri!r} from ECR")
        scanned = Scanned(repository=gated, tag=tag, digest=digest)
        models = list(endpoint_models(ctx, endpoint))
        for name_ in dict.fromkeys(c.model_name for c in components if c.model_name):
            if all(m.name != name_ for m in models):
                models.append(describe_model(ctx, name_))
        images = [
            resolve_model_image(ctx, scanned, f"{m.name} {c.where}", c.image)
            for m in models
            for c in m.containers
        ]
        return evaluate(self, endpoint, scanned, images, components)


#: InferenceComponentStatus: DeployedImage is what serves once the component is InService.
COMPONENT_STATUS = WaitTable(
    name="InferenceComponentStatus",
    success=frozenset({"InService"}),
    wait=frozenset({"Creating", "Updating"}),
    failure=frozenset({"Failed", "Deleting"}),
)


def _judge_components(
    check: Check,
    endpoint: Endpoint,
    ic_variants: dict[str, list[str]],
    components: Sequence[InferenceComponent],
) -> CheckResult | None:
    """None when every inference-component variant serves components InService with a
    ResolvedImage; else the wait, failure or error."""
    served = {c.variant for c in components}
    empty = [label for v, labels in ic_variants.items() if v not in served for label in labels]
    if empty:
        return check.error(
            f"endpoint config variant(s) {', '.join(empty)} name no model and serve no "
            f"inference component (ListInferenceComponents for {endpoint.name}): cannot verify "
            "what serves there"
        )
    for c in components:
        verdict = COMPONENT_STATUS.classify(c.status)
        where = f"inference component {c.name} (variant {c.variant}) is {c.status}"
        if verdict is Verdict.WAIT:
            return check.pending(c.status, f"{where}; its DeployedImage settles when InService")
        if verdict is Verdict.FAILURE:
            why = f": {c.failure_reason}" if c.failure_reason else ""
            return check.failed(f"{where}{why}: no image of it serves traffic as deployed")
        if verdict is Verdict.UNKNOWN:
            return check.error(f"{where}, a state this gate does not know: cannot verify its image")
        if c.failure_reason:
            # As an endpoint InService with a FailureReason: an update of the component failed
            # (and was rolled back), so it does not serve what was deployed.
            return check.failed(
                f"{where} with FailureReason: {c.failure_reason}: its last update failed, so it "
                "does not serve what was deployed"
            )
    missing = [c.name for c in components if not c.resolved_image]
    if missing:
        return check.error(
            f"inference component(s) {', '.join(missing)} report no "
            "Specification.Container.DeployedImage.ResolvedImage: cannot verify which image "
            "serves traffic"
        )
    return None


def scan_not_passed(check: Check, scan: CheckResult | None) -> CheckResult:
    """Without a passed scan there is nothing the deployed image may match."""
    if scan is None:
        return check.error(f"{SCAN_CHECK} is not part of this run: no scanned digest to compare")
    if scan.status is Status.FAIL:
        digest = scan.evidence.get("imageDigest")
        what = f" ({short_digest(str(digest))})" if digest else ""
        return replace(
            check.failed(
                f"the gated image{what} did not pass {SCAN_CHECK}, so no deployed image can be "
                f"approved: {scan.reason}"
            ),
            blocked_by=SCAN_CHECK,
        )
    if scan.status is Status.SKIPPED:
        return check.error(
            f"{SCAN_CHECK} was skipped ({scan.reason}): without a scanned digest the deployed "
            f"image cannot be verified; run {SCAN_CHECK} or skip this check too"
        )
    return replace(
        check.error(f"{SCAN_CHECK} was not evaluated ({scan.status.value}): {scan.reason}"),
        blocked_by=SCAN_CHECK,
    )


def resolve_model_image(ctx: CheckContext, scanned: Scanned, where: str, image: str) -> ModelImage:
    """A digest-form Image is taken as is; a tag in the gated repository is resolved in ECR."""
    uri = parse_image_uri(image) if image else None
    if uri is None or uri.digest or not uri.same_repository(scanned.repository):
        # Another repository is a mismatch whatever its tag points at: no need to ask ECR.
        return ModelImage(where, image, uri.digest if uri else "")
    tag = uri.tag or "latest"
    ref = describe_tags(ctx.registry_client("ecr"), uri.repository, (tag,))[tag]
    if ref is None:
        return ModelImage(where, image, "", f"tag {tag!r} not found in {uri.repository}")
    return ModelImage(where, image, ref.digest, f"tag {tag} resolved in ECR")


def evaluate(
    check: Check,
    endpoint: Endpoint,
    scanned: Scanned,
    model_images: Sequence[ModelImage],
    components: Sequence[InferenceComponent] = (),
) -> CheckResult:
    """Pure decision over the deployed images (of variants and of inference components), the
    model images and the scanned digest."""
    problems: list[str] = []
    details = [
        f"scanned: {scanned.repository.where}@{scanned.digest} (tag {scanned.tag}, passed "
        f"{SCAN_CHECK})"
    ]
    for c in components:
        label = f"inference component {c.name}"
        details.append(
            f"deployed {label}: {c.resolved_image or '(no ResolvedImage)'} from {c.specified_image}"
        )
        problem = _compare(label, c.resolved_image, scanned, "runs")
        if problem:
            problems.append(problem)
    for variant, specified, resolved in endpoint.deployed_images:
        label = f"variant {variant}"
        details.append(f"deployed {variant}: {resolved or '(no ResolvedImage)'} from {specified}")
        problem = _compare(label, resolved, scanned, "runs")
        if problem:
            problems.append(problem)
    for model_image in model_images:
        how = f" ({model_image.note})" if model_image.note else ""
        shown = model_image.digest or "unresolved"
        details.append(f"model {model_image.where}: {model_image.image} -> {shown}{how}")
        if not model_image.image:
            problems.append(f"model {model_image.where} names no Image to compare")
            continue
        problem = _compare(
            f"model {model_image.where}",
            model_image.image,
            scanned,
            "points at",
            resolved_digest=model_image.digest,
            unresolved=model_image.note,
        )
        if problem:
            problems.append(problem)
    evidence: dict[str, Any] = {
        "repositoryUri": scanned.repository.where,
        "scannedTag": scanned.tag,
        "scannedDigest": scanned.digest,
        "deployedImages": [
            {"variant": v, "specifiedImage": s, "resolvedImage": r}
            for v, s, r in endpoint.deployed_images
        ],
        "modelImages": [
            {"container": m.where, "image": m.image, "digest": m.digest} for m in model_images
        ],
        "inferenceComponents": [
            {
                "inferenceComponent": c.name,
                "variant": c.variant,
                "specifiedImage": c.specified_image,
                "resolvedImage": c.resolved_image,
            }
            for c in components
        ],
    }
    if problems:
        reason = "; ".join(problems[:3])
        if len(problems) > 3:
            reason += f" (+{len(problems) - 3} more)"
        return check.failed(reason, details=[*problems[3:], *details], evidence=evidence)
    count = len(endpoint.deployed_images) + len(components)
    what = (
        f"{len(components)} inference component(s) of endpoint {endpoint.name} run"
        if components
        else f"endpoint {endpoint.name} runs"
    )
    return check.passed(
        f"{what} {short_digest(scanned.digest)} from "
        f"{scanned.repository.repository} ({count} deployed image(s), {len(model_images)} "
        f"model image(s)), the digest {SCAN_CHECK} passed",
        details=details,
        evidence=evidence,
    )


def _compare(
    label: str,
    image: str,
    scanned: Scanned,
    verb: str,
    *,
    resolved_digest: str | None = None,
    unresolved: str = "",
) -> str | None:
    """The problem with one image, or None when it is the scanned one."""
    uri = parse_image_uri(image)
    if uri is None:
        return f"{label}: {image!r} is not a registry/repository image reference"
    if not uri.same_repository(scanned.repository):
        digest = uri.digest or resolved_digest or ""
        what = f"{short_digest(digest)} from " if digest else ""
        gated = scanned.repository
        # Name the registry only when it differs: the account or region is the news then.
        other = uri.repository if uri.registry_key == gated.registry_key else uri.where
        ours = gated.repository if uri.registry_key == gated.registry_key else gated.where
        hint = ""
        if uri.registry_key != gated.registry_key and uri.registry_key[0] == "ecr":
            # A central or cross-account registry: the gate can read it where it is.
            hint = f"; if that registry is where your images live, pass --repository {uri.where}"
        return (
            f"{label} {verb} {what}{other}, not the gated repository {ours} "
            f"(scanned {short_digest(scanned.digest)}){hint}"
        )
    digest = uri.digest or resolved_digest or ""
    if not digest:
        return f"{label}: cannot resolve {image}: {unresolved or 'no digest'}"
    if digest != scanned.digest:
        return (
            f"{label} {verb} {short_digest(digest)}, but {SCAN_CHECK} passed "
            f"{short_digest(scanned.digest)} (tag {scanned.tag}): the tag moved or another build "
            "was deployed"
        )
    return None
