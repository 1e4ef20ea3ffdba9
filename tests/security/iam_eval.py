"""A small IAM policy evaluator for the least-privilege tests (examples/iam-policy.json and
the policy `soc2gate iam-policy` prints): the resource ARN a recorded call is evaluated
against, IAM's wildcards, and the Allow/Deny decision."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: The installed CLI of this environment.
SOC2GATE = str(Path(sys.executable).with_name("soc2gate"))


def printed_policy(args: Sequence[str], account: str, region: str) -> dict[str, Any]:
    """What ``soc2gate iam-policy ARGS --account ACCOUNT`` prints (run with AWS_REGION only)."""
    proc = subprocess.run(
        [SOC2GATE, "iam-policy", *args, "--account", account],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": region},
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def resource_arns(
    service: str, operation: str, params: Mapping[str, Any], region: str, account: str
) -> list[str]:
    """The resource ARN(s) IAM evaluates for this call, in ``account`` (the caller's) and
    ``region``; an ECR call naming a ``registryId`` acts on that registry's repository."""
    prefix = f"arn:aws:{service}:{region}:{account}"
    if service == "ecr":
        prefix = f"arn:aws:{service}:{region}:{params.get('registryId') or account}"
        names = params.get("repositoryNames") or (
            [params["repositoryName"]] if "repositoryName" in params else []
        )
        return [f"{prefix}:repository/{name}" for name in names] or ["*"]
    if service == "sagemaker":
        if "ModelCardName" in params:
            name = str(params["ModelCardName"]).split(":model-card/", 1)[-1]
            return [f"{prefix}:model-card/{name.lower()}"]
        package = str(params.get("ModelPackageName", ""))
        if package:
            # A name, or an ARN (moto's account): IAM evaluates the package's ARN.
            name = package.split(":model-package/", 1)[-1]
            return [f"{prefix}:model-package/{name.lower()}"]
        for key, kind in (
            ("EndpointName", "endpoint"),
            ("EndpointConfigName", "endpoint-config"),
            ("ModelName", "model"),
            ("InferenceComponentName", "inference-component"),
        ):
            if key in params:
                # SageMaker ARNs carry the name lower-cased.
                return [f"{prefix}:{kind}/{str(params[key]).lower()}"]
        if "ResourceArn" in params:
            head, _, name = str(params["ResourceArn"]).rpartition("/")
            return [f"{head}/{name.lower()}"]
        return ["*"]
    if service == "cloudwatch" and params.get("AlarmNames"):
        return [f"{prefix}:alarm:{name}" for name in params["AlarmNames"]]
    if service == "kms" and "KeyId" in params:
        # IAM authorizes on the key's ARN: an alias or id names a key of the caller's account.
        key = str(params["KeyId"])
        if key.startswith("arn:") and ":key/" in key:
            return [key]
        return [f"{prefix}:key/{key.rsplit('/', 1)[-1]}-target"]
    if service == "signer" and operation == "GetRevocationStatus":
        # A REST call: its parameters are in the query string. The profile without its version.
        version = str(params.get("profileVersionArn", ""))
        return [version.rsplit("/", 1)[0], str(params.get("jobArn", ""))]
    if service == "logs":
        group = f"{prefix}:log-group:{params['logGroupName']}"
        if "logStreamName" in params:
            return [f"{group}:log-stream:{params['logStreamName']}"]
        return [group]
    return ["*"]


def wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed(
    statements: Iterable[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, Sequence[str]] | None = None,
) -> bool:
    """IAM's decision for one action on one resource: an explicit Deny wins, else any Allow.

    ``context`` holds the request's multi-valued condition keys (``kms:ResourceAliases``: the
    aliases of the key acted on); the only conditions understood are ``StringEquals`` and
    ``ForAnyValue:StringEquals`` on them, and any other makes the evaluator refuse.
    """
    verdict = False
    for statement in statements:
        if "NotAction" in statement or "NotResource" in statement:
            raise AssertionError(f"extend this evaluator for {statement}")
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        if not any(wildcard(a, ignore_case=True).match(action) for a in actions):
            continue
        if resource != "*" and not any(wildcard(r).match(resource) for r in resources):
            continue
        if resource == "*" and "*" not in resources:
            continue
        if not _conditions_hold(statement.get("Condition", {}), context or {}):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Sequence[str]]
) -> bool:
    for operator, tests in conditions.items():
        if operator not in ("StringEquals", "ForAnyValue:StringEquals"):
            raise AssertionError(f"extend this evaluator for the condition {operator}")
        for key, wanted in tests.items():
            present = context.get(key, ())
            if operator == "StringEquals" and len(present) != 1:
                return False
            if not set(present) & set(as_list(wanted)):
                return False
    return True
