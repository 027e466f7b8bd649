"""``net.retries``: the one retry loop both API clients run (their own tests drive it over HTTP)."""

from __future__ import annotations

import asyncio
import random

import pytest

from reconciler.net.retries import Retry, retrying
from reconciler.retry import Backoff

BACKOFF = Backoff(base=1.0, cap=8.0, attempts=4)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - a reproducible jitter, not cryptography


class Recorder:
    """The seams of one loop: what it slept, what it announced, what it was given at the end."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.announced: list[tuple[str, float]] = []
        self.exhausted_with: list[Retry | None] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def before_wait(self, retry: Retry, delay: float) -> None:
        self.announced.append((retry.what, delay))

    def exhausted(self, last: Retry | None) -> Exception:
        self.exhausted_with.append(last)
        return RuntimeError(f"gave up: {last.what if last else 'no attempt'}")


def _run(outcomes: list[str | Retry], seams: Recorder, seed: int = 7) -> str:
    calls: list[tuple[int, bool]] = []

    async def attempt(number: int, last: bool) -> str | Retry:
        calls.append((number, last))
        return outcomes[number]

    result = asyncio.run(
        retrying(
            attempt,
            backoff=BACKOFF,
            rng=_rng(seed),
            sleep=seams.sleep,
            exhausted=seams.exhausted,
            before_wait=seams.before_wait,
        )
    )
    assert calls == [(n, n == BACKOFF.attempts - 1) for n in range(len(calls))]
    return result


def test_retries_until_a_result_with_the_backoffs_own_schedule() -> None:
    seams = Recorder()
    result = _run([Retry("a"), Retry("b"), "done", "unused"], seams)
    rng = _rng(7)
    expected = [BACKOFF.delay(0, rng), BACKOFF.delay(1, rng)]
    assert result == "done"
    assert seams.slept == expected
    assert seams.announced == [("a", expected[0]), ("b", expected[1])]
    assert seams.exhausted_with == []


def test_a_server_asked_wait_is_a_floor_not_a_replacement() -> None:
    seams = Recorder()
    _run([Retry("slow", at_least=30.0), Retry("quick", at_least=0.0), "done", "x"], seams)
    assert seams.slept[0] == 30.0
    assert seams.slept[1] == BACKOFF.delay(1, _rng_after_one_draw())


def _rng_after_one_draw() -> random.Random:
    rng = _rng(7)
    BACKOFF.delay(0, rng)
    return rng


def test_no_wait_after_the_last_attempt_and_the_last_retry_decides_the_error() -> None:
    seams = Recorder()
    last = Retry("GET /x: HTTP 503")
    with pytest.raises(RuntimeError, match="gave up: GET /x: HTTP 503"):
        _run([Retry("1"), Retry("2"), Retry("3"), last], seams)
    assert len(seams.slept) == BACKOFF.attempts - 1
    assert [what for what, _ in seams.announced] == ["1", "2", "3"]
    assert seams.exhausted_with == [last]


def test_an_attempt_that_raises_stops_the_loop_at_once() -> None:
    seams = Recorder()

    async def attempt(number: int, _last: bool) -> str | Retry:
        if number == 1:
            raise ValueError("ambiguous: never retried")
        return Retry("first")

    with pytest.raises(ValueError, match="ambiguous"):
        asyncio.run(
            retrying(
                attempt,
                backoff=BACKOFF,
                rng=_rng(1),
                sleep=seams.sleep,
                exhausted=seams.exhausted,
            )
        )
    assert len(seams.slept) == 1
    assert seams.exhausted_with == []
