"""sagemaker-endpoint-encryption: the endpoint's storage and captured data are encrypted with
a KMS key of yours.

The config judged is the one the endpoint runs once InService and settled (see
``sagemaker_endpoint_status.endpoint_target``). Its ``KmsKeyId`` encrypts the ML storage
volumes of its instances; ``DataCaptureConfig.KmsKeyId`` the captured requests and responses
in S3. Without a key AWS encrypts with a key it owns: not one the account can audit, rotate or
revoke, so no key is a FAIL (an optional member AWS omits means "not set"). With
``--allowed-kms-key`` both must be one of those keys, compared by key ARN after kms:DescribeKey
(an alias and the key it names match) and Enabled.

AWS takes no KmsKeyId for serverless variants: they are named "not applicable", and a config
whose every variant is serverless (and captures nothing) is SKIPPED saying so, never passed.
The captured-data key is also judged by sagemaker-data-capture: when that check is in the run,
a missing or disallowed capture key counts once, as its failure (``defers_to``).
"""

from __future__ import annotations

from dataclasses import replace

from soc2gate.checks.base import CheckContext
from soc2gate.checks.sagemaker._safety import data_capture, key_problems
from soc2gate.checks.sagemaker._sagemaker import (
    describe_endpoint_config,
    endpoint_config_answer,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.models import CheckResult

CAPTURE_CHECK = "sagemaker-data-capture"


class SagemakerEndpointEncryption(EndpointTargetCheck):
    id = "sagemaker-endpoint-encryption"
    title = "Endpoint storage and captured data are encrypted with your KMS key"
    asserts = (
        "The endpoint config the endpoint runs once InService and settled has a KmsKeyId (the "
        "key of its instances' storage volumes) and, when it captures data, "
        "DataCaptureConfig.KmsKeyId; with --allowed-kms-key each is one of those keys (aliases "
        "resolved with kms:DescribeKey, so an alias and its key match) and Enabled; no key is a "
        "failure; serverless variants, which take no key, are named not applicable, and a "
        "config of only serverless variants is skipped as not applicable, never passed."
    )
    remediation = (
        "Create an endpoint config with --kms-key-id set to your KMS key (and KmsKeyId in "
        "--data-capture-config), allowed by --allowed-kms-key, and update the endpoint to it. "
        "Instance types with local NVMe storage take no KmsKeyId (AWS encrypts those volumes "
        "in hardware): skip this check for such an endpoint and record why."
    )
    soc2 = ("CC6.1", "C1.1")
    default_enabled = False
    strict = True
    defers_to = (CAPTURE_CHECK,)
    aws_config = (
        "sagemaker-endpoint-configuration-kms-key-configured",
        "sagemaker-endpoint-config-kms-key-required",
    )
    beyond = (
        "judges the config the endpoint runs at deploy time, resolves aliases against an "
        "allow-list of keys, judges the data-capture key, names serverless variants"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        allowed = ctx.config.allowed_kms_keys
        storage: list[str] = []
        capture: list[str] = []
        lines: list[str] = []
        keys: dict[str, str] = {}
        applicable = False
        for name in target.config_names:
            answer = endpoint_config_answer(ctx, name)
            variants = describe_endpoint_config(ctx, name)
            for v in variants:
                if v.serverless:
                    lines.append(f"{name}/{v.name}: serverless, KmsKeyId not applicable")
            kms = answer.text("KmsKeyId") or ""
            if any(not v.serverless for v in variants):
                applicable = True
                if not kms:
                    storage.append(
                        f"endpoint config {name} has no KmsKeyId: its instances' storage "
                        "volumes are encrypted with a key AWS owns, not yours"
                    )
                else:
                    keys[f"{name} KmsKeyId"] = kms
                    lines.append(f"{name}: KmsKeyId {kms}")
                    storage += key_problems(ctx, f"endpoint config {name} KmsKeyId", kms, allowed)
            found = data_capture(answer)
            if found is not None and found.enabled:
                applicable = True
                if not found.kms_key:
                    capture.append(
                        f"endpoint config {name} captures data to {found.destination} without "
                        "DataCaptureConfig.KmsKeyId: encrypted with S3's default key, not yours"
                    )
                else:
                    keys[f"{name} DataCaptureConfig.KmsKeyId"] = found.kms_key
                    lines.append(f"{name}: DataCaptureConfig.KmsKeyId {found.kms_key}")
                    capture += key_problems(
                        ctx, f"endpoint config {name} DataCaptureConfig.KmsKeyId",
                        found.kms_key, allowed,
                    )  # fmt: skip
        evidence = {"EndpointConfigNames": list(target.config_names), "kmsKeys": keys}
        if allowed:
            evidence["allowedKmsKeys"] = list(allowed)
        if not applicable:
            return self.skipped(
                f"not applicable: every variant of {', '.join(target.config_names)} is "
                "serverless (AWS takes no KmsKeyId for serverless variants) and it captures no data"
            )
        if storage or capture:
            result = self.failed("; ".join(storage + capture), details=lines, evidence=evidence)
            if capture and not storage:
                # The captured data's key is sagemaker-data-capture's to count: the runner
                # keeps this only when that check failed in this run (runner._settle).
                result = replace(result, blocked_by=CAPTURE_CHECK)
            return target.cap(self, result)
        what = "; ".join(f"{label} {key}" for label, key in keys.items()) or "no key"
        via = " (allowed keys)" if allowed else ""
        return target.cap(
            self,
            self.passed(
                f"encrypted with your KMS key{via}: {what}", details=lines, evidence=evidence
            ),
        )
