"""Run a command and report its own wall time, CPU and peak RSS as JSON (bench/harness.py).

Why a separate small process: Linux's ru_maxrss of a child counts the memory it had between fork
and exec, which for a child of the benchmark (moto's server, boto3 and the scenario data loaded)
is the benchmark's own RSS. Forked from this small process instead, the child's peak RSS is its
own. Timestamps are time.perf_counter() (CLOCK_MONOTONIC on Linux: comparable across processes).

    python -I -S bench/spawn.py RESULT.json CMD [ARGS...]
"""

import json
import os
import sys
import time


def main() -> int:
    result, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _pid, status, usage = os.wait4(pid, 0)
    end = time.perf_counter()
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as handle:
        json.dump(
            {
                "start": start,
                "end": end,
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
                "code": code,
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
