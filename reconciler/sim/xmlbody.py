"""XML forms of the simulator's bodies (§4, §5.3, §6.4, §11, §12.2), and XML request parsing.

Owns rendering the JSON-shaped dicts of ``records`` as XML in namespace
``http://api.platform.boomi.com/`` with the ``bns:`` prefix (scalar fields as attributes where
the OAS marks them ``xml.attribute``, elements otherwise; ``["Long", n]`` as plain text), and
reading an ``<ExecutionRequest>`` XML body into the JSON-shaped dict the app already handles.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

NS = "http://api.platform.boomi.com/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

# Fields serialized as attributes, per object type (OAS ``xml.attribute: true``).
_ATTRIBUTES: dict[str, frozenset[str]] = {
    "ExecutionRequest": frozenset({"atomId", "processId", "processName", "recordUrl", "requestId"}),
    "DynamicProcessProperty": frozenset({"name", "value"}),
    "ProcessProperty": frozenset({"componentId"}),
    "ProcessPropertyValue": frozenset(
        {
            "key",
            "value",
            "label",
            "useDefault",
            "usesEncryption",
            "encryptedValueSet",
            "componentOverride",
            "validate",
        }
    ),
    "Atom": frozenset(
        {
            "cloudId",
            "cloudMoleculeId",
            "cloudMoleculeName",
            "cloudName",
            "cloudOwnerName",
            "createdBy",
            "currentVersion",
            "dateInstalled",
            "forceRestartTime",
            "hostName",
            "id",
            "instanceId",
            "isCloudAttachment",
            "name",
            "purgeHistoryDays",
            "purgeImmediate",
            "status",
            "type",
            "statusDetail",
        }
    ),
    "EnvironmentAtomAttachment": frozenset({"atomId", "environmentId", "id"}),
    "Environment": frozenset({"classification", "id", "name", "parentAccount"}),
}
# The XML type of a nested container, by field name.
_CHILD_TYPES = {
    "DynamicProcessProperties": "ExecutionRequestDynamicProcessProperties",
    "DynamicProcessProperty": "DynamicProcessProperty",
    "ProcessProperties": "ExecutionRequestProcessProperties",
    "ProcessProperty": "ProcessProperty",
    "ProcessPropertyValue": "ProcessPropertyValue",
    "cluster": "Nodes",
    "node": "NodeDetails",
}


def _scalar(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2 and value[0] == "Long":
        value = value[1]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(tag: str, xml_type: str, body: dict[str, Any], *, root: bool = False) -> str:
    attributes = _ATTRIBUTES.get(xml_type, frozenset())
    attrs = [f"xmlns:bns={quoteattr(NS)}", f"xmlns:xsi={quoteattr(XSI)}"] if root else []
    children: list[str] = []
    for name, value in body.items():
        if name == "@type":
            continue
        if name in attributes and not isinstance(value, dict | list):
            attrs.append(f"{name}={quoteattr(_scalar(value))}")
        elif isinstance(value, dict):
            children.append(_element(f"bns:{name}", _CHILD_TYPES.get(name, name), value))
        elif isinstance(value, list) and not (len(value) == 2 and value[0] == "Long"):
            for item in value:
                if isinstance(item, dict):
                    children.append(_element(f"bns:{name}", _CHILD_TYPES.get(name, name), item))
                else:
                    children.append(f"<bns:{name}>{escape(_scalar(item))}</bns:{name}>")
        else:
            children.append(f"<bns:{name}>{escape(_scalar(value))}</bns:{name}>")
    head = " ".join([tag, *attrs])
    if not children:
        return f"<{head}/>"
    return f"<{head}>{''.join(children)}</{tag}>"


def render(xml_type: str, body: dict[str, Any]) -> str:
    """A single object (``ExecutionRequest``, ``Atom``, ``ExecutionRecord``…) as a document."""
    return _DECL + _element(f"bns:{xml_type}", xml_type, body, root=True)


def render_list(root_type: str, body: dict[str, Any]) -> str:
    """A ``QueryResult`` or ``AsyncOperationResult``: attributes, typed ``result`` items."""
    attrs = [f"xmlns:bns={quoteattr(NS)}", f"xmlns:xsi={quoteattr(XSI)}"]
    for name in ("responseStatusCode", "numberOfResults"):
        if name in body:
            attrs.append(f"{name}={quoteattr(_scalar(body[name]))}")
    children = []
    for item in body.get("result", []):
        xml_type = str(item.get("@type", ""))
        inner = _element("bns:result", xml_type, item)
        # §6.4 / OAS XML examples: each result names its type with xsi:type.
        children.append(inner.replace("<bns:result", f'<bns:result xsi:type="bns:{xml_type}"', 1))
    if "queryToken" in body:
        children.append(f"<bns:queryToken>{escape(str(body['queryToken']))}</bns:queryToken>")
    head = " ".join([f"bns:{root_type}", *attrs])
    if not children:
        return f"{_DECL}<{head}/>"
    return f"{_DECL}<{head}>{''.join(children)}</bns:{root_type}>"


def render_error(message: str) -> str:
    """XML Error body (§12.2): ``<error><message>…</message></error>``."""
    return f"{_DECL}<error><message>{escape(message)}</message></error>"


def render_message(message: str) -> str:
    """The XML body of cancelExecution (§11): ``<response><message>…</message></response>``."""
    return f"{_DECL}<response><message>{escape(message)}</message></response>"


def parse_execution_request(text: str) -> dict[str, Any]:
    """An ``<ExecutionRequest>`` XML body as the JSON-shaped dict (§5.2 XML form).

    Raises:
        ValueError: not well-formed XML, or not an ExecutionRequest.
    """
    try:
        root = ET.fromstring(text)  # noqa: S314 - loopback simulator, inputs are test traffic
    except ET.ParseError as exc:
        raise ValueError(f"body is not well-formed XML ({exc})") from None
    if _local(root.tag) != "ExecutionRequest":
        raise ValueError(f"expected an ExecutionRequest element, got {_local(root.tag)}")
    body: dict[str, Any] = dict(root.attrib)
    for child in root:
        name = _local(child.tag)
        if name == "DynamicProcessProperties":
            body[name] = {
                "DynamicProcessProperty": [
                    dict(p.attrib) for p in child if _local(p.tag) == "DynamicProcessProperty"
                ]
            }
        elif name == "ProcessProperties":
            body[name] = {
                "ProcessProperty": [
                    {**p.attrib, "ProcessPropertyValue": [_flags(v.attrib) for v in p]}
                    for p in child
                    if _local(p.tag) == "ProcessProperty"
                ]
            }
    return body


_FLAGS = frozenset(
    {"useDefault", "usesEncryption", "encryptedValueSet", "componentOverride", "validate"}
)


def _flags(attributes: dict[str, str]) -> dict[str, Any]:
    """A ProcessPropertyValue's attributes, its boolean flags (``xsd:boolean``) as booleans.

    Anything but ``true``/``false``/``1``/``0`` is kept as text, for the JSON check to refuse.
    """
    booleans = {"true": True, "1": True, "false": False, "0": False}
    return {
        name: booleans.get(value.strip(), value) if name in _FLAGS else value
        for name, value in attributes.items()
    }


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
