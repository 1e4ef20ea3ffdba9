"""soc2gate: a deployment gate for SOC 2 hardened containers on ECR and SageMaker.

Public API::

    from soc2gate import GateConfig, run_gate
    report = run_gate(GateConfig(region="us-east-1", repository="my-repo", endpoint="my-ep"))
    report.exit_code, [r.status for r in report.results]
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from soc2gate.config import GateConfig
    from soc2gate.models import CheckResult, Finding, GateReport, Severity, Status
    from soc2gate.runner import run_gate

# Imported on first use (PEP 562): `soc2gate --version` and every `import soc2gate.<module>`
# go through this file, and need none of these.
_LAZY = {
    "GateConfig": "soc2gate.config",
    "CheckResult": "soc2gate.models",
    "Finding": "soc2gate.models",
    "GateReport": "soc2gate.models",
    "Severity": "soc2gate.models",
    "Status": "soc2gate.models",
    "run_gate": "soc2gate.runner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'soc2gate' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
