"""The approach of the existing CI/CD scripts: one run at a time, a fixed poll interval.

What ``shared/reference/existing-boomi-tools.md`` found in every surveyed tool (Boomi Companion,
Automated-Test-Orchestrator, boomi-cicd-cli-py, ...): POST one ``ExecutionRequest``, poll
``GET /ExecutionRecord/async/{requestId}`` every ``interval`` seconds until the record shows a
final status, then start the next run. No concurrency, no backoff; a 503 is simply polled again.

    python bench/baseline.py REQUESTS.json --url URL --account ID --user U --token T \
        --interval 0.5 [--limit K]

``REQUESTS.json`` is a list of ``{"processId", "atomId", "dynamic": {...}}``. Prints one JSON
object: total wall time, per-run wall times, HTTP calls and statuses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

FINAL = frozenset({"COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"})


def run_one(
    http: httpx.Client, base: str, request: dict[str, Any], interval: float, calls: dict[str, int]
) -> dict[str, Any]:
    """Submit one run and poll it at a fixed interval until it is final."""
    body = {
        "@type": "ExecutionRequest",
        "processId": request["processId"],
        "atomId": request["atomId"],
        "DynamicProcessProperties": {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [
                {"@type": "", "name": k, "value": v} for k, v in request.get("dynamic", {}).items()
            ],
        },
    }
    started = time.perf_counter()
    while True:
        response = http.post(f"{base}/ExecutionRequest", json=body)
        calls[str(response.status_code)] = calls.get(str(response.status_code), 0) + 1
        if response.status_code == 200:
            break
        time.sleep(interval)  # 503 (rate limit) and friends: try again after the interval
    request_id = response.json()["requestId"]
    polls = 0
    status = None
    while status not in FINAL:
        time.sleep(interval)
        response = http.get(f"{base}/ExecutionRecord/async/{request_id}")
        polls += 1
        calls[str(response.status_code)] = calls.get(str(response.status_code), 0) + 1
        if response.status_code == 200:
            data = response.json()
            record = data["result"][0] if "result" in data else data
            status = record.get("status")
    return {
        "requestId": request_id,
        "status": status,
        "polls": polls,
        "seconds": time.perf_counter() - started,
    }


def run(
    requests: list[dict[str, Any]],
    *,
    url: str,
    account: str,
    user: str,
    token: str,
    interval: float,
) -> dict[str, Any]:
    """Run ``requests`` one after the other; return timings and call counts."""
    base = f"{url.rstrip('/')}/{account}"
    calls: dict[str, int] = {}
    runs = []
    started = time.perf_counter()
    with httpx.Client(
        auth=(user, token), headers={"Accept": "application/json"}, timeout=30
    ) as http:
        for request in requests:
            runs.append(run_one(http, base, request, interval, calls))
    return {
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "calls": sum(calls.values()),
        "statuses": calls,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests")
    parser.add_argument("--url", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    requests = json.loads(Path(args.requests).read_text(encoding="utf-8"))
    if args.limit:
        requests = requests[: args.limit]
    result = run(
        requests,
        url=args.url,
        account=args.account,
        user=args.user,
        token=args.token,
        interval=args.interval,
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
