"""The spec language as pydantic models: the one source of truth for ``schemas/execution.v1.json``.

Pure. The models describe every field a spec document may hold, with the descriptions and
examples editors show on hover. ``generate_schema`` turns them into the published JSON Schema
(2020-12, kept to the draft-07-compatible subset, practices.md D3); a test fails when the
committed file differs from a fresh generation. User YAML is validated with that schema first
(for positions), then these models are built from the validated data, which must then succeed.
Every ``pattern`` of the schema comes with ``"not"`` a pattern matching a line break: a JSON
Schema pattern is an ECMA-262 regular expression, whose ``$`` is the end of the text, but
Python's ``re`` (and so the ``jsonschema`` package) also lets it match before a final line
break, and a name ending in one would pass there and fail the models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from reconciler.model.values import EXECUTION_NAME_PATTERN

API_VERSION = "reconciler/v1"
KINDS = ("Execution", "ExecutionSet")
SCHEMA_ID = "https://reconciler.dev/schemas/execution.v1.json"

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NAME_PATTERN = EXECUTION_NAME_PATTERN
NO_LINE_BREAK = {"pattern": "\\n"}  # as "not": what Python's $ lets through
VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
ALIAS_PATTERN = r"^[a-z][a-z0-9_.-]{0,62}$"
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$"
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"

#: How an error message describes each pattern ("expected ...").
PATTERN_WORDS = {
    GUID_PATTERN: "a GUID like 789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal "
    "digits)",
    NAME_PATTERN: "lower-case letters, digits and dashes, starting with a letter, at most 63 "
    "characters",
    VAR_PATTERN: "a letter or underscore followed by letters, digits or underscores",
    ALIAS_PATTERN: "lower-case letters, digits, dots, dashes and underscores, starting with a "
    "letter, at most 63 characters",
    LABEL_PATTERN: "letters, digits, dots, dashes, underscores and slashes, starting with a letter "
    "or digit, at most 63 characters",
    DURATION_PATTERN: "a number of seconds or a duration like 90s, 30m, 2h or 1h30m",
}

Guid = Annotated[
    str,
    StringConstraints(pattern=GUID_PATTERN),
    Field(examples=["789abcde-f012-3456-789a-bcdef0123456"]),
]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
VarName = Annotated[str, StringConstraints(pattern=VAR_PATTERN)]
AliasName = Annotated[str, StringConstraints(pattern=ALIAS_PATTERN)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_PATTERN)]
PropertyName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Value = Annotated[
    str | int | float | bool,
    WithJsonSchema(
        {
            "description": "A property value: a string (a Jinja2 template), or a number or "
            "boolean that is sent as text.",
            "type": ["string", "number", "boolean"],
        }
    ),
]
VarValue = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "A template variable: a scalar, a list or a mapping.",
            "type": ["string", "number", "boolean", "array", "object", "null"],
        }
    ),
]
MatrixValue = Annotated[
    str | int | float | bool,
    WithJsonSchema(
        {"description": "One value of a matrix axis.", "type": ["string", "number", "boolean"]}
    ),
]
Duration = Annotated[
    float | str,
    WithJsonSchema(
        {
            "description": "Seconds (a number) or a duration: 90s, 30m, 2h, 1h30m, 1d.",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
            "examples": [600, "30m", "2h"],
        }
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class Metadata(_Model):
    """Identity of one execution."""

    name: Name = Field(
        description="Unique name of the execution across the repository; the key in state, "
        "artifacts and logs. Lower-case letters, digits and dashes, starting with a letter, at "
        "most 63 characters.",
        examples=["orders-sync-eu"],
    )
    labels: dict[LabelKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict,
        description="Free-form key/value pairs for selecting executions "
        "(`--select label:team=orders`).",
        examples=[{"team": "orders", "tier": "critical"}],
    )
    description: Annotated[str, StringConstraints(max_length=1024)] = Field(
        default="", description="What the execution is for; shown in plans and reports."
    )


class SetMetadata(_Model):
    """Identity of an execution set; its labels and description apply to every execution."""

    name: Name = Field(
        description="Name of the set, used in messages. Lower-case letters, digits and dashes.",
        examples=["orders-regions"],
    )
    labels: dict[LabelKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict,
        description="Labels given to every execution of the set (an execution's own win).",
        examples=[{"team": "orders"}],
    )
    description: Annotated[str, StringConstraints(max_length=1024)] = Field(
        default="", description="Description given to executions that have none."
    )


class Retries(_Model):
    """Which final statuses are retried, and how many times."""

    count: int = Field(default=0, ge=0, le=10, description="Retries after the first attempt.")
    on: list[Literal["ERROR", "ABORTED", "DISCARDED", "COMPLETE_WARN"]] = Field(
        default=["ERROR", "ABORTED", "DISCARDED"],
        min_length=1,
        description="Final statuses that trigger a retry.",
        examples=[["ERROR", "ABORTED"]],
    )


EnvironmentName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
EnvironmentNames = Annotated[list[EnvironmentName], Field(min_length=1, max_length=16)]


class Promote(_Model):
    """Where a revision of the spec must succeed before it runs in the other environments."""

    after: (
        EnvironmentName | Annotated[list[EnvironmentName], Field(min_length=1, max_length=16)]
    ) = Field(
        description="An environment of reconciler.yaml, or a list of them in order. In any "
        "environment not named, a revision of this execution (its spec as written, the same "
        "in every environment) runs only after it succeeded in every named one; in a named "
        "one, only after it succeeded in those named before it. Read from the recorded "
        "state by plan and apply.",
        examples=["test", ["dev", "test"]],
    )


class Policy(_Model):
    """When the execution runs, how long it may take, and what happens when it fails."""

    run: Literal["onChange", "once", "always", "manual"] = Field(
        default="onChange",
        description="onChange: run once per change of the request (default); once: run once "
        "ever; always: run on every apply; manual: run only when selected by name.",
    )
    timeout: Duration | None = Field(
        default=None,
        description="How long one run is followed before apply leaves it to the next apply: "
        "seconds, or a duration like 30m or 2h. Default: apply.timeout in reconciler.yaml.",
    )
    retries: Retries | None = Field(default=None, description="Retries of failed runs.")
    warn_is_success: bool = Field(
        default=True,
        alias="warnIsSuccess",
        description="Whether COMPLETE_WARN counts as success (default true).",
    )
    promote: Promote | None = Field(
        default=None,
        description="A promotion rule: run a revision here only after it succeeded in the "
        "named environment(s), e.g. {after: test}.",
    )
    follow_upstream: bool = Field(
        default=True,
        alias="followUpstream",
        description="Whether this execution runs again, after them, when an execution it "
        "dependsOn has a new run (default true; with run: onChange only).",
    )


class PropertyGroup(_Model):
    """The values of one Process Property component (list form)."""

    component_id: Guid = Field(
        alias="componentId", description="Id of the Process Property component (a GUID)."
    )
    values: dict[PropertyName, Value] = Field(description="Property key to value.")


class RunFields(_Model):
    """The fields that describe a run; shared by Execution specs, set defaults and set items."""

    process_id: Guid | None = Field(
        default=None,
        alias="processId",
        description="Id of the process component to run (a GUID). Or use `process`.",
    )
    atom_id: Guid | None = Field(
        default=None,
        alias="atomId",
        description="Id of the runtime (Atom, Molecule or Cloud) to run it on (a GUID). Or use "
        "`runtime`.",
    )
    process: AliasName | None = Field(
        default=None,
        description="A process alias from `aliases.processes` in reconciler.yaml, instead of "
        "processId.",
        examples=["orders-sync"],
    )
    runtime: AliasName | None = Field(
        default=None,
        description="A runtime alias from `aliases.runtimes` in reconciler.yaml, instead of "
        "atomId.",
        examples=["prod-cloud"],
    )
    process_properties: list[PropertyGroup] | dict[Guid, dict[PropertyName, Value]] | None = Field(
        default=None,
        alias="processProperties",
        description="Process Property component values: a mapping of component id to key/value "
        "map, or a list of {componentId, values}. Values are Jinja2 templates.",
        examples=[{"456789ab-cdef-0123-4567-89abcdef0123": {"batchSize": "500"}}],
    )
    dynamic_properties: dict[PropertyName, Value] | None = Field(
        default=None,
        alias="dynamicProperties",
        description="Dynamic process properties: name to value. Values are Jinja2 templates. "
        "Names are case-sensitive.",
        examples=[{"DPP_RUN_DATE": "{{ vars.run_date }}"}],
    )
    vars: dict[VarName, VarValue] | None = Field(
        default=None,
        description="Template variables, available as vars.<name> in every template.",
        examples=[{"run_date": "2026-01-15"}],
    )
    depends_on: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] | None = (
        Field(
            default=None,
            alias="dependsOn",
            description="Names of executions that must end successfully before this one runs. "
            "May be templates (in sets: `extract-{{ matrix.region }}`).",
            examples=[["orders-extract"]],
        )
    )
    policy: Policy | None = Field(default=None, description="The run policy.")


class SetItem(RunFields):
    """One execution of a set: a (templated) name plus the run fields that differ from defaults."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="Name of the execution; a template that sees `matrix` and `vars`. The "
        "rendered name must be unique and match the name pattern.",
        examples=["orders-{{ matrix.region }}"],
    )
    labels: dict[LabelKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, description="Labels of this execution, over the set's labels."
    )
    description: Annotated[str, StringConstraints(max_length=1024)] = Field(
        default="", description="What the execution is for."
    )


class SetSpec(_Model):
    """Shared defaults, the executions, and an optional matrix."""

    defaults: RunFields = Field(
        default_factory=RunFields,
        description="Fields every execution starts from; maps (vars, properties, policy) are "
        "merged key by key, other fields are replaced.",
    )
    matrix: dict[VarName, Annotated[list[MatrixValue], Field(min_length=1)]] | None = Field(
        default=None,
        description="Axes of a matrix: each execution is expanded into one execution per "
        "combination of values, available as matrix.<axis>.",
        examples=[{"region": ["eu", "us"]}],
    )
    executions: Annotated[list[SetItem], Field(min_length=1)] = Field(
        description="The executions of the set."
    )


class ExecutionDocument(_Model):
    """One run definition: which process, on which runtime, with which values and policy."""

    api_version: Literal["reconciler/v1"] = Field(
        alias="apiVersion", description="Version of the spec format."
    )
    kind: Literal["Execution"] = Field(description="What this document describes.")
    metadata: Metadata = Field(description="Identity of the execution.")
    spec: RunFields = Field(description="The execution request, its variables and its policy.")


class ExecutionSetDocument(_Model):
    """Several executions sharing defaults, optionally expanded by a matrix."""

    api_version: Literal["reconciler/v1"] = Field(
        alias="apiVersion", description="Version of the spec format."
    )
    kind: Literal["ExecutionSet"] = Field(description="What this document describes.")
    metadata: SetMetadata = Field(description="Identity of the set.")
    spec: SetSpec = Field(description="Defaults, matrix and executions.")


class _Generator(GenerateJsonSchema):
    """pydantic's generator, trimmed to what editors and draft-07 validators understand."""

    def field_title_should_be_set(self, schema: Any) -> bool:  # noqa: ARG002 - pydantic API
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # ``None`` is how a model says "not given"; the YAML must leave the key out instead.
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if out.get("default") is None or out.get("default") == {}:
            out.pop("default", None)
        return out

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # pydantic writes a key pattern as patternProperties, which would let other keys through;
        # propertyNames + additionalProperties says "every key matches" (and is draft-07).
        out = super().dict_schema(schema)
        patterns = out.pop("patternProperties", None)
        if patterns:
            ((pattern, value),) = patterns.items()
            out["propertyNames"] = {"pattern": pattern}
            out["additionalProperties"] = value
        return out


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                _strip_titles(v)
                if k != "properties"
                else {p: _strip_titles(s) for p, s in v.items()}
            )
            for k, v in node.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def _no_line_breaks(node: Any) -> Any:
    """``node`` with ``"not": NO_LINE_BREAK`` beside every ``pattern`` (the module docstring)."""
    if isinstance(node, list):
        return [_no_line_breaks(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: (
            {name: _no_line_breaks(sub) for name, sub in value.items()}
            if key == "properties"
            else _no_line_breaks(value)
        )
        for key, value in node.items()
    }
    if isinstance(out.get("pattern"), str):
        out["not"] = dict(NO_LINE_BREAK)
    return out


def generate_schema() -> dict[str, Any]:
    """The published JSON Schema of spec documents, built from the models above."""
    _, definitions = models_json_schema(
        [(ExecutionDocument, "validation"), (ExecutionSetDocument, "validation")],
        ref_template="#/$defs/{model}",
        schema_generator=_Generator,
    )
    defs = _no_line_breaks(_strip_titles(definitions["$defs"]))
    branches = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"$ref": f"#/$defs/{kind}Document"},
        }
        for kind in KINDS
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "reconciler spec document (v1)",
        "description": "A reconciler spec: an Execution (one run definition) or an ExecutionSet "
        "(several executions sharing defaults, optionally expanded by a matrix). Property values "
        "are Jinja2 templates rendered at plan time. Reference: docs/specs.md.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"description": "Version of the spec format.", "const": API_VERSION},
            "kind": {"description": "What this document describes.", "enum": list(KINDS)},
        },
        "allOf": branches,
        "$defs": defs,
    }


def kind_schema(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """The schema one kind validates against: its definition, with the shared ``$defs``."""
    return {**schema["$defs"][f"{kind}Document"], "$defs": schema["$defs"]}
