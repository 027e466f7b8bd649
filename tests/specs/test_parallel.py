"""Loading in several processes gives exactly what one process gives, whatever goes wrong.

``reconciler.specs.parallel.ordered_map`` forks real workers here (never a stand-in): the results
are compared with the serial map, workers are made to die or fail, and the whole spec loader
is run both ways over a repository with valid specs, every invalid case and duplicates that
cross files.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import pytest

from reconciler.specs import parallel
from reconciler.specs.load import load_desired
from reconciler.specs.parallel import default_jobs, ordered_map
from tests.conftest import INVOICES, ORDERS, PROD_ATOM, ROOT, build_tree, spec

PARENT = os.getpid()
T = TypeVar("T", bound=Callable[..., None])


def forking(test: T) -> T:
    """Run ``test`` here when this process may fork, else alone in a fresh pytest.

    Inside the whole suite a simulator thread is alive, so ``ordered_map`` rightly refuses to
    fork and these tests would only see the serial path.
    """

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        if parallel.fork_is_safe():
            test(*args, **kwargs)
            return
        assert "RECONCILER_TEST_FRESH" not in os.environ, "no fork even in a fresh interpreter"
        node = f"{Path(__file__).relative_to(ROOT)}::{test.__name__}"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "--no-header", node],
            cwd=ROOT,
            env={**os.environ, "RECONCILER_TEST_FRESH": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "1 passed" in done.stdout, done.stdout[-2000:]

    return cast(T, wrapper)


def _square_with_pid(n: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough that every process gets chunks
    return n * n, os.getpid()


@forking
def test_the_result_is_the_serial_result_in_order() -> None:
    items = list(range(500))
    results = ordered_map(_square_with_pid, items, jobs=3, min_items=1)
    assert [value for value, _ in results] == [n * n for n in items]
    pids = {pid for _, pid in results}
    assert PARENT in pids
    assert len(pids) > 1  # the workers took part


def test_small_inputs_and_one_job_stay_in_this_process() -> None:
    few = ordered_map(_square_with_pid, list(range(10)), jobs=4, min_items=64)
    one = ordered_map(_square_with_pid, list(range(500)), jobs=1, min_items=1)
    assert {pid for _, pid in few + one} == {PARENT}
    assert ordered_map(_square_with_pid, [], jobs=4, min_items=0) == []


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel.fork_is_safe()
        results = ordered_map(_square_with_pid, list(range(300)), jobs=3, min_items=1)
    finally:
        stop.set()
        thread.join()
    assert {pid for _, pid in results} == {PARENT}


def _die_in_a_worker(n: int) -> int:
    time.sleep(0.002)
    if os.getpid() != PARENT and n % 7 == 3:
        os._exit(9)  # killed mid-map: no result, no goodbye
    return n + 1


@forking
def test_a_worker_that_dies_loses_nothing() -> None:
    items = list(range(400))
    assert ordered_map(_die_in_a_worker, items, jobs=3, min_items=1) == [n + 1 for n in items]


def _fail_in_a_worker(n: int) -> int:
    time.sleep(0.002)
    if os.getpid() != PARENT and n % 50 == 0:
        raise RuntimeError("only in a worker")
    return -n


@forking
def test_a_failure_in_a_worker_is_redone_by_the_parent() -> None:
    items = list(range(400))
    assert ordered_map(_fail_in_a_worker, items, jobs=2, min_items=1) == [-n for n in items]


def _fail_everywhere(n: int) -> int:
    time.sleep(0.001)
    if n in (50, 350):
        raise ValueError(f"bad item {n}")
    return n


@forking
def test_a_bug_raises_as_the_serial_map_would() -> None:
    for _ in range(3):  # whichever process meets which failure first
        with pytest.raises(ValueError, match=r"bad item 50$"):
            ordered_map(_fail_everywhere, list(range(400)), jobs=3, min_items=1)


@forking
def test_meanwhile_runs_once_in_this_process_while_workers_start() -> None:
    calls: list[int] = []
    results = ordered_map(
        _square_with_pid,
        list(range(300)),
        jobs=2,
        min_items=1,
        meanwhile=lambda: calls.append(os.getpid()),
    )
    assert calls == [PARENT]
    assert [value for value, _ in results] == [n * n for n in range(300)]
    serial_calls: list[int] = []
    ordered_map(abs, [1], jobs=1, meanwhile=lambda: serial_calls.append(1))
    assert serial_calls == [1]


def _closure(n: int) -> Callable[[], tuple[int, int]]:
    time.sleep(0.002)
    pid = os.getpid()
    return lambda: (n, pid)


@forking
def test_results_that_cannot_pickle_are_computed_here() -> None:
    results = [make() for make in ordered_map(_closure, list(range(300)), jobs=2, min_items=1)]
    assert [n for n, _ in results] == list(range(300))
    assert {pid for _, pid in results} == {PARENT}  # a worker's could not come back


@pytest.mark.parametrize(
    ("given", "expected"), [("3", 3), ("1", 1), ("0", None), ("many", None), ("", None)]
)
def test_jobs_come_from_the_environment(given: str, expected: int | None) -> None:
    jobs = default_jobs({"RECONCILER_JOBS": given})
    if expected is None:
        assert 1 <= jobs <= parallel.MAX_JOBS
        assert jobs == default_jobs({})
    else:
        assert jobs == expected


def _repository(root: Path) -> Path:
    """80 valid files, every invalid case, a duplicate across files, cross-file dependsOn."""
    files = {
        f"specs/team-{i % 4}/run-{i:03d}.yaml": spec(
            f"run-{i:03d}", ORDERS if i % 2 else INVOICES, PROD_ATOM, {"N": "{{ name | upper }}"}
        )
        for i in range(80)
    }
    files["specs/zz/dup.yaml"] = spec("run-007", ORDERS, PROD_ATOM)
    files["specs/zz/after.yaml"] = spec("after", ORDERS, PROD_ATOM).replace(
        "spec:\n", "spec:\n  dependsOn: [run-001, missing-one]\n"
    )
    build_tree(root, files)
    for case in (ROOT / "tests" / "cases" / "invalid").glob("*.yaml"):
        shutil.copy(case, root / "specs" / case.name)
    return root / "specs"


@forking
def test_loading_specs_in_parallel_gives_the_serial_result(tmp_path: Path) -> None:
    specs = _repository(tmp_path)
    assert parallel.fork_is_safe()
    serial = load_desired([specs], root=tmp_path, jobs=1)
    together = load_desired([specs], root=tmp_path, jobs=3)
    assert len(serial.runs) > 70
    assert any("duplicate execution name" in d.message for d in serial.diagnostics)
    assert any('unknown execution "missing-one"' in d.message for d in serial.diagnostics)
    assert together.files == serial.files == 91 >= 64  # enough files to fork
    assert [str(d) for d in together.diagnostics] == [str(d) for d in serial.diagnostics]
    assert together.runs == serial.runs


def test_ctrl_c_during_a_parallel_load_stops_every_process(tmp_path: Path) -> None:
    specs = _repository(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("platform: {accountId: acme-1}\n", encoding="utf-8")
    env = {**os.environ, "RECONCILER_JOBS": "3"}
    written = 0
    # The interrupt must land while the workers load: the process group is frozen (SIGSTOP)
    # once both workers exist, and interrupted only if they are still alive then. On a machine
    # fast enough to finish first, the load is made bigger and tried again: no race decides the
    # outcome, however fast or loaded the machine is.
    for more in (1500, 6000, 24000):
        for i in range(written, more):
            (specs / f"more-{i:05d}.yaml").write_text(
                spec(f"more-{i:05d}", ORDERS, PROD_ATOM, {"A": "{{ name }}"}), encoding="utf-8"
            )
        written = more
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "validate"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a terminal's Ctrl-C reaches the whole process group
        )
        while proc.poll() is None and len(_children(proc.pid)) < 2:  # wait for both workers
            time.sleep(0.005)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGSTOP)
        loading = proc.poll() is None and len(_children(proc.pid)) >= 2
        with contextlib.suppress(ProcessLookupError):
            if loading:
                os.killpg(proc.pid, signal.SIGINT)  # pending until the group runs again
            os.killpg(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
        if loading:
            break
    else:
        pytest.fail("the load finished before it could be interrupted, even at 24,000 files")
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "Aborted."
    assert "Traceback" not in err
    assert "Process " not in err  # no worker printed its own death
    leftover = subprocess.run(
        ["pgrep", "-a", "-g", str(proc.pid)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == ""


def _children(pid: int) -> list[str]:
    """The live (not zombie) children of ``pid``."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    live = []
    for child in found.stdout.split():
        try:
            stat = Path(f"/proc/{child}/stat").read_text(encoding="utf-8")
        except OSError:
            continue  # gone meanwhile
        if stat.rsplit(")", 1)[-1].split()[0] != "Z":
            live.append(child)
    return live


def test_the_command_line_plans_the_same_with_one_process_or_three(tmp_path: Path) -> None:
    files = {
        f"specs/run-{i:03d}.yaml": spec(
            f"run-{i:03d}", ORDERS, PROD_ATOM, {"N": "{{ name | upper }}-{{ vars.day }}"}
        )
        for i in range(90)
    }
    files["specs/matrix.yaml"] = MATRIX
    files["reconciler.yaml"] = "platform: {accountId: acme-1}\nvars: {day: monday}\n"
    build_tree(tmp_path, files)
    state = tmp_path / "state" / "default"  # a state for the parent to read meanwhile
    state.mkdir(parents=True)
    outputs = []
    for jobs in ("1", "3"):
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "plan", "--output", "json"],
            cwd=tmp_path,
            env={**os.environ, "RECONCILER_JOBS": jobs},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["summary"]["submit"] == 90 + 6
    assert '"N": "RUN-042-monday"' in outputs[0]


MATRIX = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata: {{name: grid}}
spec:
  defaults: {{processId: {INVOICES}, atomId: {PROD_ATOM}}}
  matrix: {{region: [eu, us], shard: [1, 2, 3]}}
  executions:
    - name: "grid-{{{{ matrix.region }}}}-{{{{ matrix.shard }}}}"
      dynamicProperties: {{R: "{{{{ matrix.region | upper }}}}", S: "{{{{ matrix.shard * 2 }}}}"}}
"""
