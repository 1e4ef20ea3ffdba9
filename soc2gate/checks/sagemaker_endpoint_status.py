"""sagemaker-endpoint-status: the endpoint is InService, waiting while it settles."""

from __future__ import annotations

from dataclasses import replace

from soc2gate.checks import _logs
from soc2gate.checks._sagemaker import (
    Endpoint,
    describe_endpoint,
    endpoint_models,
    endpoint_unconfigured,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.durations import format_duration
from soc2gate.models import CheckResult, Status
from soc2gate.polling import ENDPOINT_STATUS, Verdict


class SagemakerEndpointStatus(Check):
    id = "sagemaker-endpoint-status"
    title = "Endpoint is InService"
    asserts = (
        "The endpoint reaches InService; Creating/Updating/SystemUpdating are waited for, "
        "Failed and other terminal states fail at once with AWS's FailureReason."
    )
    remediation = (
        "Read the FailureReason and the endpoint's CloudWatch log lines attached to this failure "
        "(/aws/sagemaker/Endpoints/<endpoint>, --log-lines): image pull errors need ECR "
        "permissions on the SageMaker execution role, health check failures need the container "
        "to answer /ping."
    )
    soc2 = ("CC8.1", "A1.2")

    def skip_reason(self, config: GateConfig) -> str | None:
        return endpoint_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        name = ctx.config.endpoint or ""
        endpoint = describe_endpoint(ctx.clients("sagemaker"), name)
        if endpoint is None:
            return endpoint_missing(self, ctx, name)
        result = evaluate(self, endpoint)
        if result.status is Status.PASS:  # deployed-image-scanned reads this one
            ctx.memo(("endpoint-in-service", name), lambda: endpoint)
        if ENDPOINT_STATUS.classify(endpoint.status) is Verdict.FAILURE and ctx.config.log_lines:
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
    environments = [c.environment for m in models for c in m.containers]
    return _logs.model_secrets(environments, ctx.config.require_env)


def endpoint_missing(check: Check, ctx: CheckContext, name: str) -> CheckResult:
    """Pending within the grace period (the pipeline may not have created it yet), then FAIL."""
    grace = ctx.config.endpoint_grace
    if ctx.elapsed() < grace:
        return check.pending("NotFound", f"endpoint {name!r} not found yet")
    return check.failed(
        f"endpoint {name!r} not found after waiting {format_duration(grace)} "
        f"(--endpoint-grace): check the name, region and that the deploy step created it"
    )


def evaluate(check: Check, endpoint: Endpoint) -> CheckResult:
    evidence = {
        "EndpointArn": endpoint.arn,
        "EndpointStatus": endpoint.status,
        "EndpointConfigName": endpoint.config_name,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    }
    verdict = ENDPOINT_STATUS.classify(endpoint.status)
    if verdict is Verdict.SUCCESS:
        return check.passed(f"endpoint {endpoint.name} is InService", evidence=evidence)
    if verdict is Verdict.WAIT:
        return check.pending(
            endpoint.status, f"endpoint {endpoint.name} is {endpoint.status}", evidence=evidence
        )
    if verdict is Verdict.FAILURE:
        reason = f"endpoint {endpoint.name} is {endpoint.status}"
        if endpoint.failure_reason:
            reason += f": FailureReason: {endpoint.failure_reason}"
        elif endpoint.status == "Failed":
            reason += " (AWS gave no FailureReason)"
        return check.failed(reason, evidence=evidence)
    return check.error(
        f"endpoint {endpoint.name} has unknown status {endpoint.status!r} "
        f"(known: {ENDPOINT_STATUS.known()}); not waiting on a state this gate does not know",
        evidence=evidence,
    )
