"""The read-only lookups' answers (Atom, EnvironmentAtomAttachment, DeployedPackage) → values."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.boomi import wire
from reconciler.errors import ProtocolError

P, E = "proc-1", "env-1"


def page(*items: Any, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"@type": "QueryResult", "numberOfResults": len(items)}
    if items:
        body["result"] = list(items)
    if token:
        body["queryToken"] = token
    return body


def test_an_atom_gives_its_name_and_status_word() -> None:
    assert wire.parse_atom({"id": "a", "name": "Prod", "status": "offline "}) == ("Prod", "OFFLINE")
    assert wire.parse_atom({"id": "a", "status": "ONLINE"}) == (None, "ONLINE")


@pytest.mark.parametrize("body", [[], {"id": "a"}, {"status": "ON LINE\n::error::x"}])
def test_an_atom_without_a_readable_status_is_a_protocol_error(body: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.parse_atom(body)


def test_attachments_give_the_environment_ids_and_the_next_token() -> None:
    body = page({"atomId": "a", "environmentId": E}, {"environmentId": "bad id"}, token="T")
    assert wire.parse_attachments(body) == ([E], "T")
    assert wire.parse_attachments({"numberOfResults": 0}) == ([], None)


def test_only_an_active_deployment_of_that_process_counts() -> None:
    active = {"componentId": P, "environmentId": E, "active": True}
    assert wire.parse_deployed(page(active), P, E) == (True, None)
    assert wire.parse_deployed(page({**active, "active": "true"}), P, E)[0] is True
    # A platform that ignored a term of the query cannot turn "not deployed" into "deployed".
    assert wire.parse_deployed(page({**active, "componentId": "other"}), P, E)[0] is False
    assert wire.parse_deployed(page({**active, "environmentId": "env-2"}), P, E)[0] is False
    assert wire.parse_deployed(page({**active, "active": False}), P, E)[0] is False
    assert wire.parse_deployed(page(), P, E) == (False, None)


@pytest.mark.parametrize("body", [[], {"result": "x"}, {"result": [1]}, page(token="\n")])
def test_a_lookup_page_that_is_not_one_is_a_protocol_error(body: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.parse_deployed(body, P, E)
