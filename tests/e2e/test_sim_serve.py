"""``reconciler sim serve`` as a script uses it: the env file to wait for, and a taken port."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

RECONCILER = shutil.which("reconciler") or str(Path(sys.executable).parent / "reconciler")
NAMES = ["BOOMI_API_URL", "BOOMI_ACCOUNT_ID", "BOOMI_USERNAME", "BOOMI_API_TOKEN"]


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the env file never appeared"
        time.sleep(0.05)


def test_env_file_appears_whole_once_listening_and_goes_when_it_stops(tmp_path: Path) -> None:
    env_file = tmp_path / "sim.env"
    env_file.write_text("BOOMI_API_URL=http://127.0.0.1:1/api/rest/v1\n")  # a stale one
    process = subprocess.Popen(
        [RECONCILER, "sim", "serve", "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in NAMES]
        wait_for(env_file, process)
        written = env_file.read_text().splitlines(keepends=True)
        # The stale file was removed first: what is there now is this simulator's, whole.
        assert written == printed
        assert [line.split("=", 1)[0] for line in written] == NAMES
        values = dict(line.strip().split("=", 1) for line in written)
        assert values["BOOMI_API_URL"] != "http://127.0.0.1:1/api/rest/v1"
        admin = values["BOOMI_API_URL"].removesuffix("/api/rest/v1") + "/_sim/stats"
        assert httpx.get(admin, timeout=10).status_code == 200  # listening when it appeared
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert not env_file.exists()  # nothing listens there any more


def test_a_taken_port_is_a_one_line_error_not_a_crash(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [RECONCILER, "sim", "serve", "--port", str(port), "--env-file", "sim.env"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another --port, or --port 0 for a free one"
    ]
    assert done.stdout == ""
    assert not (tmp_path / "sim.env").exists()
    assert not (tmp_path / "reconciler-crash.log").exists()


def test_an_env_file_that_cannot_be_written_stops_the_simulator_with_why(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    done = subprocess.run(
        [RECONCILER, "sim", "serve", "--env-file", "afile/sim.env"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "error: afile/sim.env: cannot write the env file (File exists: afile)"
    ]
    assert not (tmp_path / "reconciler-crash.log").exists()
