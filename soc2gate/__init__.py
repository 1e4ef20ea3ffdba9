"""soc2gate: a deployment gate for SOC 2 hardened containers on ECR and SageMaker.

Public API::

    from soc2gate import GateConfig, run_gate
    report = run_gate(GateConfig(region="us-east-1", repository="my-repo", endpoint="my-ep"))
    report.exit_code, [r.status for r in report.results]
"""

from __future__ import annotations

__version__ = "0.1.0"

from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Finding, GateReport, Severity, Status
from soc2gate.runner import run_gate

__all__ = [
    "CheckResult",
    "Finding",
    "GateConfig",
    "GateReport",
    "Severity",
    "Status",
    "__version__",
    "run_gate",
]
