"""Run one command and write its wall time, CPU time and peak RSS as JSON: a small launcher.

    python -I -S bench/launch.py REPORT.json PROGRAM [ARG...]

Why a launcher: Linux carries a process's peak RSS across ``exec`` from the memory of the
process it was forked from, so a command forked directly by the harness (which holds
thousands of parsed records by then) reports at least the harness's own RSS: a 300 MB parent
makes ``python -c pass`` look like 313 MB. Forked from this small interpreter instead, the
floor of the figure is about 10 MB. The wall time is measured here too, around the command
alone, so the launcher's own start-up is in no figure. CPU time and peak RSS come from
``wait4``: the command's own and those of the children it reaped.

The command inherits stdin, stdout, stderr, the working folder and the environment; the
launcher exits with the command's exit status (128 + n for a signal).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    report, args = argv[0], argv[1:]
    started = time.perf_counter()
    pid = os.posix_spawnp(args[0], args, dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w", encoding="utf-8") as out:  # noqa: PTH123 - no pathlib import
        json.dump(
            {
                "code": code,
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,  # kilobytes on Linux
            },
            out,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
