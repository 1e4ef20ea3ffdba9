"""The package's layers read config -> checks -> registry -> runner -> cli, with no way back up.

Import cycles hide what depends on what (issue 12). This walks every import in the package,
module level and inside functions, and fails on an edge that points up the layers. The demo
package has layers of its own: the world's parts, then the world, then what is built on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "soc2gate"
#: Lower number = lower layer. A module may import its own layer or any lower one.
LAYERS = {
    "soc2gate.errors": 0,
    "soc2gate.exitcodes": 0,
    "soc2gate.durations": 0,
    "soc2gate.models": 0,
    "soc2gate.polling": 0,
    "soc2gate.report.text": 0,  # pure text helpers (clean, one_line), used by every layer
    "soc2gate.redaction": 0,  # masks the run's secret values in results
    "soc2gate.config": 1,
    "soc2gate.custom_spec": 1,
    "soc2gate.custom_reads": 1,
    "soc2gate.custom_fields": 1,
    "soc2gate.waivers": 1,
    "soc2gate.vex": 1,  # OpenVEX documents, applied by the scan check beside the waivers
    "soc2gate.aws": 1,
    "soc2gate.iam_actions": 1,  # the IAM dataset: imports nothing of the gate above errors
    "soc2gate.checks": 2,
    "soc2gate.registry": 3,
    "soc2gate.report": 4,
    "soc2gate.runner": 4,
    "soc2gate.docs": 6,  # documents the CLI's parser; nothing imports it
    "soc2gate.iam_policy": 5,
    "soc2gate.demo": 5,
    "soc2gate.cli": 6,
}
#: Inside soc2gate.demo. The world's parts never import world.py (moto_patches and server see
#: the world through a Protocol), and the world never imports the scenarios built on it.
DEMO_LAYERS = {
    "soc2gate.demo.faults": 0,
    "soc2gate.demo.images": 0,
    "soc2gate.demo.scans": 0,
    "soc2gate.demo.endpoints": 0,
    "soc2gate.demo.signatures": 0,
    "soc2gate.demo.attestations": 0,
    "soc2gate.demo.timeline": 0,
    "soc2gate.demo.moto_patches": 1,
    "soc2gate.demo.server": 1,
    "soc2gate.demo.world": 2,
    "soc2gate.demo.scenarios": 3,
    "soc2gate.demo.audit_period": 4,
    "soc2gate.demo.cli": 5,
}


def layer(module: str, layers: dict[str, int] = LAYERS) -> int | None:
    best = None
    for prefix, rank in layers.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, rank)
    return best[1] if best else None


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("soc2gate")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("layers", [LAYERS, DEMO_LAYERS], ids=["package", "demo"])
def test_no_import_points_up_the_layers(layers: dict[str, int]) -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        own = layer(here, layers)
        if own is None or here == "soc2gate":
            continue
        for target in imports(path):
            rank = layer(target, layers)
            if rank is not None and rank > own:
                upward.append(f"{here} (layer {own}) imports {target} (layer {rank})")
    assert not upward, "imports that point up the layers:\n" + "\n".join(sorted(set(upward)))
