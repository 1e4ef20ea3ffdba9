"""sagemaker-endpoint-status: the endpoint is InService and settled, waiting while it settles.

InService alone is not "deployed as intended" (``judge_endpoint``):

- InService with a FailureReason is an update that failed and was rolled back: the endpoint
  still serves its previous config, the deploy did not happen. FAIL, quoting the trimmed
  FailureReason and naming the config that still serves.
- A PendingDeploymentSummary on an InService endpoint: a deployment is still going on. PENDING.
- A production or shadow variant whose VariantStatus lists a state (Creating, Updating,
  Deleting, ActivatingTraffic, Baking) is still rolling out: PENDING, so the runner FAILs it at
  the deadline. A VariantStatus this gate does not know is an ERROR naming it.
- An instance-based variant with CurrentInstanceCount below DesiredInstanceCount is scaling:
  PENDING. DesiredInstanceCount 0 means nothing serves (scaled to zero): FAIL. More instances
  than desired (scaling in) still serves the deployed config: accepted.
- A serverless variant (CurrentServerlessConfig / DesiredServerlessConfig instead of instance
  counts) whose current and desired configs differ is being updated: PENDING.
- Fields needed to tell are ERROR "could not read": no ProductionVariants at all, an
  instance-based variant without both instance counts, a serverless variant without both
  serverless configs. Wrong types anywhere in the answer, or a missing EndpointName /
  EndpointStatus, raise ``UnreadableResponse``, which the runner reports as ERROR.

Only a PASS is memoised under ``("endpoint-in-service", name)``: the dependents
(sagemaker-model-env, sagemaker-endpoint-config, deployed-image-scanned) judge that endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker import _logs
from soc2gate.checks.sagemaker._sagemaker import (
    Endpoint,
    VariantState,
    current_config_names,
    describe_endpoint,
    endpoint_models,
    endpoint_unconfigured,
)
from soc2gate.config import GateConfig
from soc2gate.durations import format_duration
from soc2gate.models import CheckResult, Status
from soc2gate.polling import ENDPOINT_STATUS, Verdict, WaitTable

STATUS_CHECK = "sagemaker-endpoint-status"

#: ProductionVariantStatus.Status: every state AWS defines means "still rolling out". A variant
#: with no VariantStatus entry is settled; a state not in this table is ERROR naming it.
VARIANT_STATUS = WaitTable(
    name="VariantStatus",
    success=frozenset(),
    wait=frozenset({"Creating", "Updating", "Deleting", "ActivatingTraffic", "Baking"}),
    failure=frozenset(),
)


class SagemakerEndpointStatus(Check):
    id = STATUS_CHECK
    title = "Endpoint is InService"
    asserts = (
        "The endpoint reaches InService with every variant settled; Creating/Updating/"
        "SystemUpdating, variants still scaling (CurrentInstanceCount below "
        "DesiredInstanceCount) or listing a VariantStatus (Creating, Updating, Deleting, "
        "ActivatingTraffic, Baking) and a pending deployment are waited for; Failed and other "
        "terminal states, and InService with a FailureReason (an update rolled back), fail at "
        "once with AWS's FailureReason; a variant scaled to zero fails; variant counts or "
        "configs that cannot be read are an error."
    )
    remediation = (
        "Read the FailureReason and the endpoint's CloudWatch log lines attached to this failure "
        "(/aws/sagemaker/Endpoints/<endpoint>, --log-lines): image pull errors need ECR "
        "permissions on the SageMaker execution role, health check failures need the container "
        "to answer /ping. A rolled-back update left the previous config serving: fix it and "
        "update the endpoint again."
    )
    soc2 = ("CC8.1", "A1.2")
    beyond = "no control waits for a rollout to settle or fails a rolled-back update"

    def skip_reason(self, config: GateConfig) -> str | None:
        return endpoint_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        name = ctx.config.endpoint or ""
        endpoint = describe_endpoint(ctx.clients("sagemaker"), name)
        if endpoint is None:
            return endpoint_missing(self, ctx, name)
        result = evaluate(self, endpoint)
        if result.status is Status.PASS:  # the dependents read this one
            ctx.memo(("endpoint-in-service", name), lambda: endpoint)
        failed = ENDPOINT_STATUS.classify(endpoint.status) is Verdict.FAILURE
        if (failed or rolled_back(endpoint)) and ctx.config.log_lines:
            lines = _logs.excerpt(
                ctx.clients("logs"), name, ctx.config.log_lines, _secrets(ctx, endpoint)
            )
            result = replace(result, details=(*result.details, *lines))
        return result


def _secrets(ctx: CheckContext, endpoint: Endpoint) -> set[str]:
    """Model environment values to redact from the log excerpt (best effort).

    The pattern rules in ``_logs.redact`` apply either way; this only adds the exact values
    (e.g. a password whose key name gives nothing away). Failing to read the models must not
    change the verdict, so any error here just means "no extra values".
    """
    try:
        models = endpoint_models(ctx, endpoint)
    except Exception:
        return set()
    environments = [c.environment for m in models for c in m.containers if c.environment]
    return _logs.model_secrets(environments, ctx.config.require_env)


def endpoint_missing(check: Check, ctx: CheckContext, name: str) -> CheckResult:
    """Pending within the grace period (the pipeline may not have created it yet), then FAIL."""
    grace = ctx.config.endpoint_grace
    if ctx.elapsed() < grace:
        return check.pending("NotFound", f"endpoint {name!r} not found yet")
    return replace(
        check.failed(
            f"endpoint {name!r} not found after waiting {format_duration(grace)} "
            f"(--endpoint-grace): check the name, region and that the deploy step created it"
        ),
        remediation=ENDPOINT_MISSING_FIX,
    )


#: A failed endpoint is fixed where sagemaker-endpoint-status says, not by redeploying a digest.
ENDPOINT_FAILED_FIX = (
    "The endpoint is not serving (Failed, RollingBack, OutOfService, UpdateRollbackFailed or "
    "Deleting): read its FailureReason (aws sagemaker describe-endpoint) and CloudWatch logs, "
    "fix the deployment and deploy the scanned digest again; run sagemaker-endpoint-status "
    "with this check to get the failure's log lines."
)


#: There is no FailureReason or log of an endpoint that does not exist: the fix is elsewhere.
ENDPOINT_MISSING_FIX = (
    "Check the endpoint name (--endpoint) and the region (--region / AWS_REGION) against the "
    "deploy step, and that the deploy step ran and created the endpoint (aws sagemaker "
    "list-endpoints --name-contains <name>); raise --endpoint-grace if it is created later."
)


def rolled_back(endpoint: Endpoint) -> bool:
    """InService with a FailureReason: the last update failed and SageMaker rolled it back."""
    return ENDPOINT_STATUS.classify(endpoint.status) is Verdict.SUCCESS and bool(
        endpoint.failure_reason
    )


@dataclass(frozen=True)
class Judgement:
    """What an endpoint's DescribeEndpoint answer says about the deployment.

    ``status`` is PASS (InService and settled), PENDING (``state`` names what is awaited),
    FAIL (the deployment failed or serves nothing) or ERROR (unknown state, or a field needed
    to tell could not be read). ``summary`` is the reason without AWS's FailureReason, for the
    checks that point at this one.
    """

    status: Status
    reason: str
    state: str = ""
    summary: str = ""

    @property
    def short(self) -> str:
        return self.summary or self.reason


def _variant_problem(variant: VariantState) -> tuple[Status, str, str] | None:
    """(status, state, reason) of one variant that is not settled, or None."""
    label = f"variant {variant.name}"
    for status, message in variant.statuses:
        what = f"{label} is {status}" + (f" ({message})" if message else "")
        verdict = VARIANT_STATUS.classify(status)
        if verdict is Verdict.WAIT:
            return Status.PENDING, status, what
        return (
            Status.ERROR,
            "",
            f"{label} has unknown VariantStatus {status!r} (known: {VARIANT_STATUS.known()})",
        )
    if variant.serverless:
        missing = [
            key
            for key, value in (
                ("CurrentServerlessConfig", variant.current_serverless),
                ("DesiredServerlessConfig", variant.desired_serverless),
            )
            if value is None
        ]
        if missing:
            return Status.ERROR, "", f"could not read {' and '.join(missing)} of serverless {label}"
        if variant.current_serverless != variant.desired_serverless:
            return (
                Status.PENDING,
                "Updating",
                f"serverless {label} is changing its config "
                f"({_serverless_text(variant.current_serverless)} -> "
                f"{_serverless_text(variant.desired_serverless)})",
            )
        return None
    current, desired = variant.current_instances, variant.desired_instances
    if current is None or desired is None:
        missing = [
            key
            for key, value in (("CurrentInstanceCount", current), ("DesiredInstanceCount", desired))
            if value is None
        ]
        return (
            Status.ERROR,
            "",
            f"could not read {' and '.join(missing)} of {label}: cannot tell whether it serves",
        )
    if desired == 0:
        return (
            Status.FAIL,
            "",
            f"{label} has DesiredInstanceCount 0: nothing serves (scaled to zero)",
        )
    if current < desired:
        return Status.PENDING, "Scaling", f"{label} has {current} of {desired} instance(s)"
    return None


def _serverless_text(config: tuple[tuple[str, Any], ...] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in config or ())


def judge_endpoint(endpoint: Endpoint) -> Judgement:
    """Pure decision over one DescribeEndpoint answer (see the module docstring)."""
    where = f"endpoint {endpoint.name} is {endpoint.status}"
    verdict = ENDPOINT_STATUS.classify(endpoint.status)
    if verdict is Verdict.WAIT:
        target = f" (deploying endpoint config {endpoint.pending_config_name})"
        return Judgement(
            Status.PENDING,
            where + (target if endpoint.pending_config_name else ""),
            endpoint.status,
        )
    if verdict is Verdict.FAILURE:
        reason = where
        if endpoint.failure_reason:
            reason += f": FailureReason: {endpoint.failure_reason}"
        elif endpoint.status == "Failed":
            reason += " (AWS gave no FailureReason)"
        return Judgement(Status.FAIL, reason, summary=where)
    if verdict is Verdict.UNKNOWN:
        unknown = f"endpoint {endpoint.name} has unknown status {endpoint.status!r}"
        return Judgement(
            Status.ERROR,
            f"{unknown} (known: {ENDPOINT_STATUS.known()}); not waiting on a state this gate "
            "does not know",
            summary=unknown,
        )
    # InService: settled only without a rolled-back update, a pending deployment or a variant
    # that is still rolling out.
    if endpoint.failure_reason:
        serving = f" and still serves {endpoint.config_name}" if endpoint.config_name else ""
        summary = f"{where} but its last update failed and was rolled back{serving}"
        return Judgement(
            Status.FAIL,
            f"{summary}: the deployment did not happen. FailureReason: {endpoint.failure_reason}",
            summary=summary,
        )
    if not endpoint.config_name:
        return Judgement(
            Status.ERROR,
            f"could not read EndpointConfigName: {where} but reports none, so what it serves "
            "cannot be told",
        )
    if endpoint.pending_config_name:
        return Judgement(
            Status.PENDING,
            f"{where} but still deploying endpoint config {endpoint.pending_config_name}",
            "InService",
        )
    if not endpoint.variant_states:
        return Judgement(
            Status.ERROR,
            f"could not read the variants: {where} but reports no ProductionVariants, so "
            "whether it serves cannot be told",
        )
    problems = [p for p in map(_variant_problem, endpoint.variant_states) if p is not None]
    for status in (Status.FAIL, Status.ERROR, Status.PENDING):
        found = [p for p in problems if p[0] is status]
        if found:
            others = [p[2] for p in problems if p[0] is not status]
            reason = f"{where} but " + "; ".join(p[2] for p in found + others)
            return Judgement(status, reason, found[0][1])
    count = len(endpoint.variant_states)
    return Judgement(Status.PASS, f"{where}, settled: {count} variant(s) on {endpoint.config_name}")


def variant_lines(endpoint: Endpoint) -> list[str]:
    lines = []
    for v in endpoint.variant_states or ():
        if v.serverless:
            lines.append(f"{v.name}: serverless {_serverless_text(v.current_serverless)}")
        else:
            lines.append(f"{v.name}: {v.current_instances}/{v.desired_instances} instance(s)")
        lines += [f"{v.name}: VariantStatus {s}" for s, _ in v.statuses]
    return lines


def evaluate(check: Check, endpoint: Endpoint) -> CheckResult:
    evidence = {
        "EndpointArn": endpoint.arn,
        "EndpointStatus": endpoint.status,
        "EndpointConfigName": endpoint.config_name,
        "PendingEndpointConfigName": endpoint.pending_config_name,
        "FailureReason": endpoint.failure_reason,
        "variants": variant_lines(endpoint),
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    }
    judged = judge_endpoint(endpoint)
    if judged.status is Status.PENDING:
        return check.pending(judged.state, judged.reason, evidence=evidence)
    if judged.status is Status.PASS:
        return check.passed(judged.reason, evidence=evidence)
    if judged.status is Status.FAIL:
        return check.failed(judged.reason, evidence=evidence)
    return check.error(judged.reason, evidence=evidence)


# ---- for the checks that judge what the endpoint runs ----------------------------------------


@dataclass(frozen=True)
class Target:
    """The endpoint config(s) a dependent check judges, and how far its verdict may go.

    ``ceiling`` is PASS when the endpoint is InService and settled (judge its config only);
    PENDING while it is rolling out and the config it is heading to is known (a bad config FAILs
    at once, a good one is judged again once InService); ERROR when the endpoint did not reach
    InService (a bad config still FAILs, a good one is an ERROR pointing at
    sagemaker-endpoint-status: it never passes).
    """

    endpoint: Endpoint
    config_names: tuple[str, ...]
    ceiling: Status
    note: str = ""
    state: str = ""

    def cap(self, check: Check, result: CheckResult) -> CheckResult:
        """The dependent's ``result`` over ``config_names``, held to the ceiling."""
        if self.ceiling is Status.PASS or result.status not in (Status.PASS, Status.FAIL):
            return result
        if result.status is Status.FAIL:
            if self.ceiling is Status.PENDING:
                return result
            return replace(result, reason=f"{result.reason} ({self.note})")
        if self.ceiling is Status.PENDING:
            return check.pending(
                self.state,
                f"{self.note}; so far {result.reason}, judged again once InService",
                details=result.details,
                evidence=result.evidence,
            )
        # Nothing wrong was found, but the endpoint never served it: not evaluated (the
        # runner keeps blocked_by only when sagemaker-endpoint-status did fail in this run).
        return replace(
            check.error(
                f"{result.reason}; not verified as deployed: {self.note}",
                details=result.details,
                evidence=result.evidence,
            ),
            blocked_by=STATUS_CHECK,
        )


def endpoint_target(check: Check, ctx: CheckContext) -> Target | CheckResult:
    """Which config(s) of ``--endpoint`` a dependent check judges (or its result, when none).

    With sagemaker-endpoint-status in the run (the check names it in ``depends_on``): when it
    passed, the endpoint it saw InService and settled (memoised: still one DescribeEndpoint
    poller per run); otherwise one more DescribeEndpoint read (shared by the dependents) gives
    the current and pending config, judged with an ERROR ceiling; when it is an ERROR (the
    endpoint could not be verified), nothing is judged: not evaluated. Without it (--skip/--only),
    the check polls DescribeEndpoint itself and judges by the same rules as the status check.
    """
    name = ctx.config.endpoint or ""

    def fetch() -> Endpoint | None:
        return describe_endpoint(ctx.clients("sagemaker"), name)

    status = ctx.result_of(STATUS_CHECK)
    if status is not None and status.status is Status.ERROR:
        # The endpoint could not be verified (a permission, an answer that could not be read, a
        # state the gate does not know): whatever stopped that check stops this one too, and
        # that cause counts once, as its ERROR. Nothing here is judged on a guess.
        return replace(
            check.error(
                f"not evaluated: {STATUS_CHECK} could not verify endpoint {name!r}: {status.reason}"
            ),
            blocked_by=STATUS_CHECK,
        )
    if status is not None and status.status is not Status.SKIPPED:
        if status.status is Status.PASS:
            endpoint = ctx.memo(("endpoint-in-service", name), fetch)
        else:  # failed, errored or timed out: judge what can be judged, never pass
            endpoint = ctx.memo(("endpoint-after-status", name), fetch)
        if endpoint is None:
            return replace(
                check.error(
                    f"endpoint {name!r} not found: nothing to judge (see {STATUS_CHECK}, "
                    f"{status.status.value})"
                ),
                blocked_by=STATUS_CHECK,
            )
        judged = judge_endpoint(endpoint)
        if status.status is Status.PASS and judged.status is Status.PASS:
            return Target(endpoint, (endpoint.config_name,), Status.PASS)
        summary = (
            judged.short
            if judged.status is not Status.PASS
            else f"endpoint {name} is InService now, but {STATUS_CHECK} is {status.status.value}"
        )
        return _not_deployed(check, endpoint, f"{summary}; see {STATUS_CHECK}")
    # Not part of the run: poll here, by the same rules.
    endpoint = fetch()
    if endpoint is None:
        return endpoint_missing(check, ctx, name)
    judged = judge_endpoint(endpoint)
    if judged.status is Status.PASS:
        return Target(endpoint, (endpoint.config_name,), Status.PASS)
    if judged.status is Status.PENDING:
        # Judge early only the config the endpoint is heading to: the pending one during an
        # update, the current one while Creating/SystemUpdating or settling on InService.
        # Updating without a PendingDeploymentSummary names only the config about to stop
        # serving: wait.
        heading = endpoint.pending_config_name or (
            endpoint.config_name if endpoint.status != "Updating" else ""
        )
        if not heading:
            return check.pending(
                judged.state, f"{judged.reason}; the endpoint config is judged once InService"
            )
        return Target(endpoint, (heading,), Status.PENDING, judged.reason, judged.state)
    return _not_deployed(check, endpoint, f"{judged.short}; see {STATUS_CHECK}")


class EndpointTargetCheck(Check):
    """A check of the config(s) ``--endpoint`` runs, judged once sagemaker-endpoint-status
    settled it (``endpoint_target``): skipped without --endpoint, not evaluated when the
    endpoint could not be verified. Subclasses write ``judge``."""

    depends_on = (STATUS_CHECK,)

    def skip_reason(self, config: GateConfig) -> str | None:
        return endpoint_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        target = endpoint_target(self, ctx)
        if isinstance(target, CheckResult):
            return target
        return self.judge(ctx, target)

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        """The verdict on ``target``, never above ``target.ceiling``."""
        raise NotImplementedError


def _not_deployed(check: Check, endpoint: Endpoint, note: str) -> Target | CheckResult:
    """An endpoint that did not reach InService and settle: its current and pending config are
    judged with an ERROR ceiling (a bad one FAILs, a good one is never passed)."""
    names = current_config_names(endpoint)
    if not names:
        return check.error(f"could not read EndpointConfigName: {note}")
    return Target(endpoint, names, Status.ERROR, note)
