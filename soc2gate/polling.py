"""Polling as data: which AWS states mean pass, wait or fail (botocore waiter acceptors, as tables).

A state missing from every set is *unknown*: the check reports ERROR naming it instead of
waiting for it forever, which is what botocore's waiters do with states they don't know.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    SUCCESS = "success"
    WAIT = "wait"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class WaitTable:
    """success / wait / failure states of one AWS status field."""

    name: str
    success: frozenset[str]
    wait: frozenset[str]
    failure: frozenset[str]

    def classify(self, state: str | None) -> Verdict:
        if state in self.success:
            return Verdict.SUCCESS
        if state in self.wait:
            return Verdict.WAIT
        if state in self.failure:
            return Verdict.FAILURE
        return Verdict.UNKNOWN

    def known(self) -> str:
        return ", ".join(sorted(self.success | self.wait | self.failure))


ENDPOINT_STATUS = WaitTable(
    name="EndpointStatus",
    success=frozenset({"InService"}),
    wait=frozenset({"Creating", "Updating", "SystemUpdating"}),
    failure=frozenset(
        {"Failed", "RollingBack", "UpdateRollbackFailed", "OutOfService", "Deleting"}
    ),
)

SCAN_STATUS = WaitTable(
    name="imageScanStatus",
    success=frozenset({"COMPLETE", "ACTIVE"}),
    wait=frozenset({"IN_PROGRESS", "PENDING"}),
    failure=frozenset(
        {
            "FAILED",
            "UNSUPPORTED_IMAGE",
            "SCAN_ELIGIBILITY_EXPIRED",
            "FINDINGS_UNAVAILABLE",
            "LIMIT_EXCEEDED",
            "IMAGE_ARCHIVED",
            "IMAGE_SIZE_EXCEEDED",
        }
    ),
)

#: ECR managed signing (DescribeImageSigningStatus signingStatuses[].status): signing runs after
#: the push, so IN_PROGRESS is a wait.
SIGNING_STATUS = WaitTable(
    name="signingStatus",
    success=frozenset({"COMPLETE"}),
    wait=frozenset({"IN_PROGRESS"}),
    failure=frozenset({"FAILED"}),
)
