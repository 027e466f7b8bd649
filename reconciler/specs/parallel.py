"""Spread a pure, CPU-bound map over the machine's cores, with the serial result exactly.

An edge (it forks). ``ordered_map(func, items)`` returns ``[func(item) for item in items]``.
When the work is big enough and ``fork`` is safe (POSIX, no other thread alive), the items are
cut into chunks and the parent plus ``jobs - 1`` forked workers take chunks until none is
left, so a slow chunk never leaves a core idle. The chunks are tickets in a pipe filled before
the fork (a read of one ticket is atomic, and no lock is held that a killed worker could keep).
A worker sends each chunk's results as it finishes it; the parent computes too and takes them
in between its own chunks, so only the workers' share crosses a pipe.

Nothing here can change a result: a worker that dies, fails or cannot be started, or a result
that does not pickle, only means the parent computes those chunks itself. A failure in ``func``
is raised as the serial map would raise it: the first failing item's, with every chunk before
it computed. Workers ignore SIGINT; on Ctrl-C the parent stops them and re-raises. ``func``
and ``items`` reach the workers through the fork itself, never through pickle, so they may
hold anything.

Why not ``concurrent.futures.ProcessPoolExecutor`` (fork context): a version on it, with the
same guarantees (the parent computing in turns, two chunks queued per worker, chunks redone
here on any failure; it cannot cancel a future, since a pool that then breaks raises in
Python 3.11's manager thread), passed tests/specs/test_parallel.py but was measured slower on a
cold ``plan`` of 10,000 executions: medians of per-round ratios pool/this of 1.00, 1.17 and
1.11 wall (3 sessions, 9 + 9 + 7 rounds, in turns) and 1.07 CPU (children's user + sys).

``RECONCILER_JOBS`` sets the number of processes (1 turns this off); the default is the
number of CPUs this process may run on, at most ``MAX_JOBS``.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # multiprocessing is imported when a map forks, not by every command
    from multiprocessing.connection import Connection

T = TypeVar("T")
R = TypeVar("R")

MAX_JOBS = 8
JOBS_VARIABLE = "RECONCILER_JOBS"
CHUNKS_PER_JOB = 16  # at most 8 x 16 chunks: their tickets fit in a pipe's buffer


def default_jobs(environ: Mapping[str, str] | None = None) -> int:
    """How many processes to use: ``RECONCILER_JOBS``, else the usable CPUs (at most 8)."""
    given = (environ if environ is not None else os.environ).get(JOBS_VARIABLE, "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_JOBS, cpus))


def fork_is_safe() -> bool:
    """Whether forking cannot deadlock a child: a POSIX fork, and no other thread alive."""
    from multiprocessing import get_all_start_methods

    return "fork" in get_all_start_methods() and threading.active_count() == 1


def ordered_map(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    jobs: int | None = None,
    min_items: int = 64,
    meanwhile: Callable[[], object] | None = None,
) -> list[R]:
    """``[func(item) for item in items]``, computed by up to ``jobs`` processes.

    Serial when ``jobs`` is 1, when there are fewer than ``min_items`` items (forking costs
    more than it saves) or when forking is not safe here. ``meanwhile`` is called once, in
    this process, while the workers start on the items (before any item, when serial): other
    work of the caller's that can overlap the map.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(items) < max(2, min_items) or not fork_is_safe():
        if meanwhile is not None:
            meanwhile()
        return [func(item) for item in items]
    return _Fanout(func, items, jobs).run(meanwhile)


class _Fanout:
    """One parallel map: the chunks, their tickets, the workers and their pipes."""

    def __init__(self, func: Callable[[Any], Any], items: Sequence[Any], jobs: int) -> None:
        size = max(1, len(items) // (jobs * CHUNKS_PER_JOB))
        self.func = func
        self.items = items
        self.bounds = [(at, min(at + size, len(items))) for at in range(0, len(items), size)]
        from multiprocessing import get_context

        self.context = get_context("fork")
        self.jobs = min(jobs, len(self.bounds))
        self.done: dict[int, list[Any]] = {}
        self.workers: list[tuple[Any, Connection]] = []
        self.tickets = _tickets(len(self.bounds))

    def take(self) -> int | None:
        """The next chunk nobody has taken, or None when all are taken."""
        ticket = os.read(self.tickets, _TICKET.size)
        return _TICKET.unpack(ticket)[0] if len(ticket) == _TICKET.size else None

    def compute(self, index: int) -> list[Any]:
        """``func`` over the items of chunk ``index``."""
        start, stop = self.bounds[index]
        return [self.func(item) for item in self.items[start:stop]]

    def work(self, conn: Connection) -> None:
        """A worker's whole life: take chunks until none is left, sending each as it is done.

        A thread writes to the pipe, so a parent busy with its own chunk never stalls this
        one; an empty message says the worker is done.
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        sender = threading.Thread(target=_send_all, args=(outbox, conn), daemon=True)
        sender.start()
        try:
            while (index := self.take()) is not None:
                result = self.compute(index)
                outbox.put(pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL))
        except BaseException:  # noqa: S110 - the parent recomputes what never came
            pass
        outbox.put(b"")
        outbox.put(None)
        sender.join()

    def start(self) -> None:
        """Fork the workers with SIGINT blocked, so none can die of it before it ignores it."""
        for stream in (sys.stdout, sys.stderr):  # a child must not write the parent's buffer
            with suppress(Exception):
                stream.flush()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(self.jobs - 1):
                receive, send = self.context.Pipe(duplex=False)
                try:
                    process = self.context.Process(target=self.work, args=(send,), daemon=True)
                    process.start()
                except OSError:  # no more processes: the ones started (and the parent) suffice
                    receive.close()
                    send.close()
                    break
                send.close()
                self.workers.append((process, receive))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a Ctrl-C lands here, or later

    def collect(self, pipes: list[Connection], *, block: bool) -> None:
        """Take in what the workers have sent; ``block`` waits until every one has finished."""
        from multiprocessing.connection import Connection, wait

        while pipes:
            ready = wait(pipes, timeout=None if block else 0)
            if not ready:
                return
            for conn in ready:
                if not isinstance(conn, Connection):  # wait() returns what it was given
                    continue
                try:
                    payload = conn.recv_bytes()
                except (EOFError, OSError):  # a worker died: its missing chunks are redone
                    payload = b""
                if not payload:
                    pipes.remove(conn)
                    continue
                try:
                    index, chunk = pickle.loads(payload)  # noqa: S301 - our own child's bytes
                except Exception:  # noqa: S112 - a result that does not load is redone here
                    continue
                self.done[index] = chunk

    def run(self, meanwhile: Callable[[], object] | None = None) -> list[Any]:
        """Start the workers, compute alongside them, and put the chunks back in order."""
        try:
            self.start()
            pipes = [receive for _, receive in self.workers]
            if meanwhile is not None:
                meanwhile()
            while (index := self.take()) is not None:
                try:
                    self.done[index] = self.compute(index)
                except Exception:  # raised again below, in the serial map's order
                    break
                self.collect(pipes, block=False)
            self.collect(pipes, block=True)
            for process, _ in self.workers:
                process.join()
        except BaseException:
            for process, _ in self.workers:
                with suppress(Exception):
                    process.kill()
                    process.join()
            raise
        finally:
            os.close(self.tickets)
            for _, receive in self.workers:
                receive.close()
        out: list[Any] = []
        for index in range(len(self.bounds)):  # a missing chunk is computed (or fails) here
            chunk = self.done.get(index)
            out.extend(self.compute(index) if chunk is None else chunk)
        return out


_TICKET = struct.Struct("=I")


def _tickets(count: int) -> int:
    """A pipe holding the chunk numbers ``0 .. count - 1``, its writing end closed."""
    read, write = os.pipe()
    try:
        os.write(write, b"".join(_TICKET.pack(i) for i in range(count)))  # under a pipe's 64 KiB
    finally:
        os.close(write)
    return read


def _send_all(outbox: queue.SimpleQueue[bytes | None], conn: Connection) -> None:
    while (payload := outbox.get()) is not None:
        try:
            conn.send_bytes(payload)
        except OSError:  # the parent is gone or stopped listening: nothing left to do
            break
    conn.close()
