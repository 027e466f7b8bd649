"""The harness's peak RSS is the command's own, not inherited from the harness's memory."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.procs import run_timed


def test_a_small_command_forked_by_a_large_harness_reports_its_own_peak_rss(
    tmp_path: Path,
) -> None:
    ballast = bytearray(256 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touch every page so it is resident
        ballast[i] = 1
    timed = run_timed([sys.executable, "-c", "pass"], cwd=tmp_path)
    assert timed.code == 0
    # Forked straight from this process, Linux would report at least its 256 MB.
    assert 0 < timed.max_rss_mb < 100
    assert timed.cpu_seconds > 0
    del ballast


def test_exit_status_and_output_come_through(tmp_path: Path) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    timed = run_timed([sys.executable, "-c", code], cwd=tmp_path)
    assert (timed.code, timed.stdout, timed.stderr) == (3, "out\n", "err\n")
    assert run_timed(["sh", "-c", "kill -9 $$"], cwd=tmp_path).code == -9
