"""sagemaker-data-capture: the endpoint records what it was asked and answered, encrypted, in
an allowed bucket.

Judged on the config the endpoint runs once InService and settled (see
``sagemaker_endpoint_status.endpoint_target``): its ``DataCaptureConfig`` is present with
EnableCapture on (absent: on, the API reference's default), InitialSamplingPercentage at or
above --min-capture-percent, DestinationS3Uri in a bucket of --capture-bucket (any bucket,
named, when none is given), and a KmsKeyId (one of --allowed-kms-key when given). No
DataCaptureConfig is "not set": capture is off, FAIL.
"""

from __future__ import annotations

from soc2gate.checks.base import CheckContext
from soc2gate.checks.sagemaker._safety import data_capture, key_problems
from soc2gate.checks.sagemaker._sagemaker import endpoint_config_answer
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.models import CheckResult


def bucket_of(uri: str) -> str:
    """The bucket of an s3:// URI ("" when it is not one)."""
    return uri[len("s3://") :].split("/", 1)[0] if uri.startswith("s3://") else ""


class SagemakerDataCapture(EndpointTargetCheck):
    id = "sagemaker-data-capture"
    title = "Requests and responses are captured, encrypted, in an allowed bucket"
    asserts = (
        "The endpoint config the endpoint runs once InService and settled has a "
        "DataCaptureConfig with capture on, InitialSamplingPercentage at or above "
        "--min-capture-percent, DestinationS3Uri in a --capture-bucket bucket (when given) and "
        "a KmsKeyId (one of --allowed-kms-key when given); no DataCaptureConfig is a failure; "
        "a DataCaptureConfig missing a required member is an error."
    )
    remediation = (
        "Create an endpoint config with --data-capture-config EnableCapture=true,"
        "InitialSamplingPercentage=<n>,DestinationS3Uri=s3://<allowed bucket>/...,KmsKeyId=<your "
        "key>,CaptureOptions=[{CaptureMode=Input},{CaptureMode=Output}] and update the endpoint "
        "to it."
    )
    soc2 = ("CC7.2", "C1.1")
    default_enabled = False
    strict = True
    beyond = (
        "no Security Hub control or AWS Config rule judges endpoint data capture: whether it "
        "is on, its sampling, its bucket or its encryption"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        config = ctx.config
        problems: list[str] = []
        lines: list[str] = []
        for name in target.config_names:
            capture = data_capture(endpoint_config_answer(ctx, name))
            if capture is None or not capture.enabled:
                problems.append(
                    f"endpoint config {name} captures no data ("
                    + ("no DataCaptureConfig" if capture is None else "EnableCapture false")
                    + "): what the model was asked and answered is not recorded"
                )
                continue
            lines.append(
                f"{name}: {capture.percent}% of {'+'.join(capture.modes) or 'nothing'} to "
                f"{capture.destination}, KmsKeyId {capture.kms_key or 'not set'}"
            )
            if capture.percent < config.min_capture_percent:
                problems.append(
                    f"endpoint config {name} captures {capture.percent}% of requests, below "
                    f"--min-capture-percent {config.min_capture_percent}"
                )
            bucket = bucket_of(capture.destination)
            if config.capture_buckets and bucket not in config.capture_buckets:
                problems.append(
                    f"endpoint config {name} captures data to {capture.destination}, not in "
                    f"--capture-bucket ({', '.join(config.capture_buckets)})"
                )
            if not capture.kms_key:
                problems.append(
                    f"endpoint config {name} captures data to {capture.destination} without a "
                    "KmsKeyId: encrypted with S3's default key, not yours"
                )
            else:
                problems += key_problems(
                    ctx,
                    f"endpoint config {name} DataCaptureConfig.KmsKeyId",
                    capture.kms_key,
                    config.allowed_kms_keys,
                )
        evidence = {
            "EndpointConfigNames": list(target.config_names),
            "capture": lines,
            "minCapturePercent": config.min_capture_percent,
        }
        if problems:
            return target.cap(
                self, self.failed("; ".join(problems), details=lines, evidence=evidence)
            )
        return target.cap(
            self,
            self.passed(
                f"data capture on, encrypted: {'; '.join(lines)}", details=lines, evidence=evidence
            ),
        )
