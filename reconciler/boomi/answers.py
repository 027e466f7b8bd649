"""One exchange with the platform, bounded: send, read at most ``MAX_BODY`` bytes, classify.

An edge helper of ``client``. ``exchange`` streams an answer and stops reading at
``fields.MAX_BODY`` decoded bytes (a gzip bomb counts in full): a larger 2xx answer is a
``ProtocolError`` carrying its status, an error answer is cut there (its first words are all a
message needs); a 2xx body that cannot be decoded (a ``Content-Encoding`` it does not have) is
``Unreadable``, as a garbled one is. ``parsed`` turns any failure of a parser into a
``ProtocolError``, ``retry_after`` reads a ``Retry-After`` header without believing it, and
``exhausted`` says what the last of the attempts got.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from reconciler.boomi import fields
from reconciler.boomi.wire import Unreadable
from reconciler.errors import ProtocolError
from reconciler.net.retries import Retry

T = TypeVar("T")
_REBUILT = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def exchange(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; its answer with at most ``fields.MAX_BODY`` bytes of body, read."""
    request = http.build_request(method, url, **kwargs)
    response = await http.send(request, stream=True)
    status = response.status_code
    chunks: list[bytes] = []
    try:
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > fields.MAX_BODY:
                if status < 300:
                    raise ProtocolError(
                        f"the response body is larger than {fields.MAX_BODY // 2**20} MiB",
                        status_code=status,
                    )
                break
    except httpx.DecodingError:
        if status < 300:
            raise Unreadable(
                "the body cannot be decoded as its Content-Encoding header says",
                status_code=status,
            ) from None
        chunks = []  # an error answer: its status and reason say enough
    finally:
        await response.aclose()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _REBUILT]
    content = b"".join(chunks)[: fields.MAX_BODY]
    return httpx.Response(status, headers=headers, content=content, request=request)


def parsed(what: str, parse: Callable[[], T]) -> T:
    """``parse()``, any failure of it a ``ProtocolError``: the wire never crashes an apply.

    ``wire`` raises only ``ProtocolError`` (a property test holds it to that); should it ever
    fail otherwise, the answer is still one run's unreadable answer, not the apply's end.
    """
    try:
        return parse()
    except ProtocolError:
        raise
    except (ArithmeticError, LookupError, RecursionError, TypeError, ValueError) as exc:
        raise ProtocolError(f"{what}: unreadable answer ({type(exc).__name__})") from None


def retry_after(response: httpx.Response, cap: float) -> float | None:
    """The wait a ``Retry-After`` header asks, in seconds, within 0 and ``cap``; else None."""
    value = response.headers.get("retry-after", "")[:32]
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), cap) if math.isfinite(seconds) else None


def exhausted(message: str, last: Retry | None) -> str:
    """``message``, and what the last attempt got (the part after the method and path)."""
    if last is None:
        return message
    return f"{message}; the last one: {last.what.split(': ', 1)[-1]}"
