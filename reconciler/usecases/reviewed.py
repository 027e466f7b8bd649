"""The reviewed plans an apply is checked against: files, or folders of them.

``reconciler github reviewed-plan --output-dir DIR`` writes one plan per pull request merged
since the last apply (``pr-<N>.json``) and what GitHub says of it (``pr-<N>.meta.json``: its
number and who merged it). The plans are untrusted (a pull request's code wrote them): each is
read bounded and through the one strict parser. The meta files name the reviewer in reports;
a meta file that is not what we expect is ignored, never trusted further.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import UserError
from reconciler.files import FileRefused, read_bounded
from reconciler.plan.document import PLAN_SIZE_LIMIT
from reconciler.plan.review import Reviewed, ReviewedPlan, parse_reviewed

__all__ = ["MAX_PLANS", "read_plan_file", "read_reviewed_plans"]

#: The most reviewed plans one apply reads (a folder holds one per merged pull request).
MAX_PLANS = 200
_META_LIMIT = 64 * 1024
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def read_reviewed_plans(paths: Sequence[Path]) -> tuple[Reviewed, ...]:
    """Every plan of ``paths`` (files, or folders of ``*.json`` plans), with its reviewer."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if not p.name.endswith(".meta.json"))
            files.extend(found)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise UserError(f"{path}: no such reviewed plan (a plan.json file or a folder)")
        if len(files) > MAX_PLANS:
            raise UserError(f"{path}: more than {MAX_PLANS} reviewed plans; expected one per PR")
    return tuple(Reviewed(plan=_read(p), label=_label(p)) for p in files)


def read_plan_file(path: Path, what: str) -> bytes:
    """A plan file's bytes: bounded (``PLAN_SIZE_LIMIT``), regular files only.

    ``what`` names the file in the error ("plan", "reviewed plan").
    """
    try:
        return read_bounded(path, limit=PLAN_SIZE_LIMIT)
    except FileRefused as exc:
        raise UserError(f"{path}: not a {what}: the file {exc.reason}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc.strerror})") from None


def _read(path: Path) -> ReviewedPlan:
    data = read_plan_file(path, "reviewed plan")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a reviewed plan: not UTF-8 text") from None
    return parse_reviewed(text, str(path))


def _label(path: Path) -> str:
    """``#12 (merged by alice)`` from the meta file beside the plan; else the file's name."""
    meta = path.with_name(path.name.removesuffix(".json") + ".meta.json")
    try:
        data = json.loads(read_bounded(meta, limit=_META_LIMIT))
    except (OSError, FileRefused, ValueError):
        return path.name
    number = data.get("number") if isinstance(data, dict) else None
    if type(number) is not int or not 0 < number < 10**10:
        return path.name
    merged_by = data.get("mergedBy")
    if isinstance(merged_by, str) and _LOGIN.fullmatch(merged_by):
        return f"#{number} (merged by {merged_by})"
    return f"#{number}"
