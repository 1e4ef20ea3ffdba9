"""Runs ``soc2gate.run_gate`` N+1 times in one small process and prints each run's wall time.

Used by measurement 3 (bench/measures.py): the gate's own work (AWS clients made afresh, every
check, the report) timed without interpreter start-up and imports, in a process whose heap is
the gate's, not the benchmark's (moto's server and its data would make every garbage collection
in the benchmark process slower than in a real gate). The first run warms the imports and is
not reported.

    python bench/gate_driver.py RUNS CONFIG.json     (CONFIG: soc2gate config keys, as YAML)
"""

import json
import sys
import time


def main() -> int:
    runs, path = int(sys.argv[1]), sys.argv[2]
    from soc2gate import run_gate
    from soc2gate.config import build_config, parse_mapping

    with open(path, encoding="utf-8") as handle:
        config = build_config(None, parse_mapping(json.load(handle), path))
    walls = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        report = run_gate(config, progress=None)
        walls.append(time.perf_counter() - start)
        if report.exit_code:
            print(
                json.dumps(
                    {"error": [(r.check_id, r.status.value, r.reason) for r in report.results]}
                )
            )
            return 1
    print(json.dumps({"walls": walls[1:]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
