"""Why a check did not pass, as one word, and what to do about that cause.

A check's ``remediation`` is written for its FAIL: what to change so the deployment passes. An
ERROR is a different problem (the gate could not look: a permission, the region, credentials),
an interruption is no problem of the deployment at all, and a check that was not evaluated is
fixed by fixing the check it depends on. The runner gives each result the "How to fix" of its
cause (``remediation_for``); every report prints that one.
"""

from __future__ import annotations

from soc2gate.models import CheckResult, Status

#: The cause a FAIL of each check stands for: the ``type`` readers show beside the message.
FAIL_CAUSE = {
    "ecr-repository-config": "RepositoryMisconfigured",
    "ecr-image-tags": "RequiredTagsWrong",
    "ecr-scan-findings": "FindingsAboveThreshold",
    "ecr-image-user": "ImageRunsAsRoot",
    "sagemaker-model-env": "MarkersMissing",
    "sagemaker-endpoint-config": "InstanceTypeNotAllowed",
    "sagemaker-endpoint-status": "EndpointNotInService",
    "deployed-image-scanned": "DeployedImageNotScanned",
}

#: Needles in the gate's own wording of an error (aws.describe_error, the runner), in order.
_ERROR_CAUSES = (
    ("interrupted", "Interrupted"),
    ("AccessDenied", "AccessDenied"),
    ("credentials", "Credentials"),
    ("could not read", "UnreadableAnswer"),
    ("cannot reach the AWS endpoint", "EndpointUnreachable"),
    ("kept failing after", "AwsUnavailable"),
    ("internal error", "InternalError"),
)

#: What to do about each ERROR cause. None: nothing to fix (an interrupt).
ERROR_REMEDIATION: dict[str, str | None] = {
    "Interrupted": None,
    "AccessDenied": (
        "Grant the IAM action named above to the role the gate runs as (examples/iam-policy.json "
        "lists every action it needs), then run the gate again."
    ),
    "Credentials": (
        "Give the gate valid AWS credentials (aws-actions/configure-aws-credentials, "
        "AWS_PROFILE, the instance or CodeBuild role) and check the session has not expired."
    ),
    "UnreadableAnswer": (
        "AWS answered in a shape the gate cannot read, so nothing was judged: run the gate "
        "again; if it persists, report it to soc2gate with this message."
    ),
    "EndpointUnreachable": (
        "Check --region (and AWS_ENDPOINT_URL, proxy, VPC endpoints): the gate could not reach "
        "AWS from this runner."
    ),
    "AwsUnavailable": (
        "AWS kept failing (throttling or an outage): run the gate again later, or raise "
        "--timeout so the retries have room."
    ),
    "InternalError": (
        "A bug in soc2gate: run the gate again and report it to soc2gate with this message."
    ),
}

#: An ERROR the gate has no word for: the reason names what was wrong.
GENERIC_ERROR_REMEDIATION = (
    "The gate could not verify this, so it is not passed: fix what the reason names (a "
    "permission, the region, a resource, an AWS state the gate does not know) and run it again."
)


def cause(result: CheckResult) -> str | None:
    """A word for why the check did not pass, or None when there is no meaningful one.

    ERROR causes come from the gate's own wording of the error (aws.describe_error, the
    runner); a FAIL's cause is what its check asserts, or Timeout for a wait that never ended.
    A check not evaluated because another failed has the cause NotEvaluated.
    """
    reason = result.reason
    if result.not_evaluated:
        return "NotEvaluated"
    if result.status in (Status.ERROR, Status.PENDING):
        for needle, word in _ERROR_CAUSES:
            if needle in reason:
                return word
        return None
    if result.status is Status.FAIL:
        if "at the deadline" in reason:
            return "Timeout"
        for check_id, needle, word in _FAIL_REFINED:
            if result.check_id == check_id and needle in reason:
                return word
        return FAIL_CAUSE.get(result.check_id)
    return None


#: FAILs of one check that stand for a different cause than its usual one (first match wins).
_FAIL_REFINED = (
    ("ecr-scan-findings", "finding(s)", "FindingsAboveThreshold"),
    ("ecr-scan-findings", "has expired", "WaiverExpired"),
    ("ecr-scan-findings", "no scan", "ScanMissing"),
    ("ecr-scan-findings", "ended", "ScanFailed"),
    ("ecr-scan-findings", "not found", "ImageNotFound"),
    ("sagemaker-endpoint-status", "not found", "EndpointNotFound"),
    ("sagemaker-endpoint-status", " is Failed", "EndpointFailed"),
    (
        "deployed-image-scanned",
        "does not serve the scanned image as deployed",
        "EndpointNotInService",
    ),
    ("ecr-image-user", "nothing of it serves", "EndpointNotInService"),
)


def interrupted(result: CheckResult) -> bool:
    return result.status is Status.ERROR and cause(result) == "Interrupted"


def blocked_text(result: CheckResult, upstream: CheckResult | None = None) -> str:
    """ "not evaluated: <check> failed" (or "could not be verified")."""
    word = "could not be verified" if upstream and upstream.status is Status.ERROR else "failed"
    return f"not evaluated: {result.blocked_by} {word}"


def remediation_for(result: CheckResult, check_remediation: str) -> str:
    """The "How to fix" for ``result``'s cause; ``check_remediation`` is the check's own.

    A FAIL keeps what the check set (its remediation, or a more specific one for the cause);
    an ERROR gets what to do about the error; an interruption none; a check that was not
    evaluated points at the check it depends on.
    """
    if result.status in (Status.PASS, Status.SKIPPED):
        return ""
    if result.not_evaluated:
        return f"Fix {result.blocked_by} first: this check is judged once that one passes."
    if result.status is Status.FAIL:
        if cause(result) == "Timeout":
            return (
                "The wait did not end before the deadline: find out why the state named above "
                "is slow to change, or raise --timeout if this deployment is just slow."
            )
        return result.remediation or check_remediation
    word = cause(result)
    if word is not None and word in ERROR_REMEDIATION:
        return ERROR_REMEDIATION[word] or ""
    if result.remediation and result.remediation != check_remediation:
        return result.remediation  # the check named a fix for this very error
    return GENERIC_ERROR_REMEDIATION
