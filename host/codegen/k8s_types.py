"""Generate `sdk-ts/k8s_types.ts`: TypeScript types of the built-in Kubernetes kinds.

The source is the OpenAPI v2 schema (`api/openapi-spec/swagger.json`) that the Go module
`k8s.io/kubernetes` ships, at the version `tools/controlplane/go.mod` pins: read from the Go
module cache, downloaded into it with `go mod download` when absent.

    python -m host.codegen.k8s_types            # (re)write sdk-ts/k8s_types.ts
    python -m host.codegen.k8s_types --check    # exit 1 when the committed file is stale

The output is passed through `deno fmt` (with the SDK's deno.json), so the SDK's fmt gate
leaves it unchanged; `--check` compares that formatted text with the committed file.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from host.errors import WfhostError
from host.sandbox.deno import find_deno

REPO = Path(__file__).resolve().parent.parent.parent
GO_MOD = REPO / "tools" / "controlplane" / "go.mod"
OUTPUT = REPO / "sdk-ts" / "k8s_types.ts"
SDK_CONFIG = REPO / "sdk-ts" / "deno.json"
MODULE = "k8s.io/kubernetes"
SCHEMA_IN_MODULE = "api/openapi-spec/swagger.json"
COMMAND = "python -m host.codegen.k8s_types"

# The API versions whose kinds get types (plus everything those reference).
API_VERSIONS = (
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "storage.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "coordination.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
    "apiextensions.k8s.io/v1",
)

# The names this module defines itself; no generated name may take them.
OWN_NAMES = ("KubeObject", "KubeKinds", "KubeObjectOf")

# Definitions with no `type` whose description says what they hold: schema name -> TypeScript,
# `{Name}` standing for the generated name of the definition `Name` in the same package.
UNTYPED = {
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": "unknown",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": (
        "{JSONSchemaProps} | readonly {JSONSchemaProps}[]"
    ),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": "{JSONSchemaProps} | boolean",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray": (
        "{JSONSchemaProps} | readonly string[]"
    ),
}

# What a format adds to a description (the TypeScript type stays `string`).
FORMAT_NOTES = {
    "date-time": "On the wire: an RFC 3339 date-time string, e.g. `2024-01-02T15:04:05Z`.",
    "byte": "On the wire: a base64-encoded string.",
}

# What a definition's description lacks: schema name -> a last paragraph.
DEFINITION_NOTES = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": 'On the wire: a string such as `"500m"` or `"1Gi"`.',
}

_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_REF_PREFIX = "#/definitions/"

Schema = Mapping[str, Any]


class SchemaError(WfhostError):
    """The schema has a shape this generator does not translate (it fails rather than guess)."""


def pinned_version(go_mod: str) -> str:
    """The version of k8s.io/kubernetes that a go.mod requires."""
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(MODULE)}\s+(v\S+)", go_mod, re.MULTILINE)
    if found is None:
        raise SchemaError(f"{GO_MOD} requires no {MODULE}")
    return found.group(1)


def schema_path(version: str) -> Path:
    """swagger.json of k8s.io/kubernetes@version in the Go module cache, downloaded into it if absent."""
    cache = _go(["env", "GOMODCACHE"]).strip()
    path = Path(cache) / f"{MODULE}@{version}" / SCHEMA_IN_MODULE
    if not path.is_file():
        info = json.loads(_go(["mod", "download", "-json", f"{MODULE}@{version}"]))
        path = Path(info["Dir"]) / SCHEMA_IN_MODULE
    if not path.is_file():
        raise SchemaError(f"{MODULE}@{version} has no {SCHEMA_IN_MODULE}")
    return path


def _go(args: list[str]) -> str:
    try:
        proc = subprocess.run(
            ["go", *args], cwd=GO_MOD.parent, capture_output=True, text=True, timeout=600, check=False
        )
    except FileNotFoundError as exc:
        raise SchemaError(f"no `go` on PATH: it is needed to find the {MODULE} module's schema") from exc
    if proc.returncode != 0:
        raise SchemaError(f"go {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def type_names(definitions: Mapping[str, Schema]) -> dict[str, str]:
    """The TypeScript name of every definition of the schema (see the naming rule in the header)."""

    def base(key: str) -> str:
        parts = key.split(".")
        kind = parts[-1]
        return _capitalize(parts[-2]) + kind if _VERSION.fullmatch(parts[-2]) else kind

    def package(key: str) -> str:
        parts = key.split(".")
        return parts[-3] if _VERSION.fullmatch(parts[-2]) else parts[-2]

    by_base: dict[str, list[str]] = {}
    for key in definitions:
        by_base.setdefault(base(key), []).append(key)
    names: dict[str, str] = {}
    for name, keys in by_base.items():
        for key in keys:
            names[key] = name if len(keys) == 1 else _capitalize(package(key)) + name
    taken: dict[str, str] = {}
    for key, name in sorted(names.items()):
        if name in taken or name in OWN_NAMES:
            raise SchemaError(f"{key} and {taken.get(name, 'this module')} would both be named {name}")
        taken[name] = key
    return names


def _capitalize(word: str) -> str:
    return word[:1].upper() + word[1:]


def gvks(definition: Schema) -> list[tuple[str, str]]:
    """The (apiVersion, kind) pairs a definition is served as."""
    return [
        (f"{g['group']}/{g['version']}" if g["group"] else g["version"], g["kind"])
        for g in definition.get("x-kubernetes-group-version-kind", [])
    ]


def select(definitions: Mapping[str, Schema], api_versions: Iterable[str]) -> list[str]:
    """The kinds served at `api_versions` and every definition they reference, sorted."""
    wanted = set(api_versions)
    todo = [key for key, d in definitions.items() if any(av in wanted for av, _ in gvks(d))]
    seen: set[str] = set()
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        if key not in definitions:
            raise SchemaError(f"$ref to a missing definition {key}")
        seen.add(key)
        todo.extend(_refs(definitions[key]))
        if key in UNTYPED:
            package = key.rsplit(".", 1)[0]
            todo.extend(f"{package}.{n}" for n in re.findall(r"\{(\w+)\}", UNTYPED[key]))
    return sorted(seen)


def _refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            yield _ref_key(ref)
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _ref_key(ref: str) -> str:
    if not ref.startswith(_REF_PREFIX):
        raise SchemaError(f"unsupported $ref {ref}")
    return ref[len(_REF_PREFIX) :]


def ts_type(schema: Schema, names: Mapping[str, str], where: str) -> str:
    """The TypeScript type of a property's (or an items/additionalProperties) schema."""
    if "$ref" in schema:
        return names[_ref_key(schema["$ref"])]
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return "unknown"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return ts_type(schema["allOf"][0], names, where)
    kind = schema.get("type")
    if "enum" in schema and kind in ("string", "integer", "number", "boolean"):
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if kind == "string":
        return "number | string" if schema.get("format") == "int-or-string" else "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        item = ts_type(schema["items"], names, f"{where}[]")
        return f"readonly ({item})[]" if "|" in item else f"readonly {item}[]"
    if kind == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties", True)
        value = ts_type(extra, names, f"{where}{{}}") if isinstance(extra, dict) else "unknown"
        return f"{{ readonly [key: string]: {value} }}"
    if kind is None and not (set(schema) - {"description"}):
        return "unknown"
    raise SchemaError(f"{where}: no TypeScript translation for {json.dumps(schema)[:200]}")


def jsdoc(text: str, indent: str = "") -> list[str]:
    """A JSDoc comment of `text`'s lines (`*/` escaped)."""
    lines = [line.rstrip().replace("*/", "*\\/") for line in text.strip().split("\n")]
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


def first_paragraph(description: str) -> str:
    """The schema's description up to its first blank line (or, when that paragraph ends with a
    colon, up to the end of the paragraph it introduces: the list of a field's values, say)."""
    paragraphs = description.strip().split("\n\n")
    kept = [paragraphs[0].strip()]
    for paragraph in paragraphs[1:]:
        if not kept[-1].endswith(":"):
            break
        kept.append(paragraph.rstrip())
    return "\n\n".join(kept)


def _property_doc(schema: Schema) -> str:
    text = first_paragraph(schema.get("description", ""))
    note = FORMAT_NOTES.get(schema.get("format", ""))
    if note is not None:
        text = f"{text}\n\n{note}" if text else note
    return text


def render_definition(key: str, definition: Schema, names: Mapping[str, str]) -> list[str]:
    """One exported interface or type alias."""
    name = names[key]
    description = first_paragraph(definition.get("description", ""))
    served = gvks(definition)
    if not description:
        description = f"`{key}` (the schema describes it no further)."
    note = DEFINITION_NOTES.get(key) or FORMAT_NOTES.get(definition.get("format", ""))
    if note is not None:
        description = f"{description}\n\n{note}"
    out = jsdoc(description)
    if key in UNTYPED:
        package = key.rsplit(".", 1)[0]
        body = re.sub(r"\{(\w+)\}", lambda m: names[f"{package}.{m.group(1)}"], UNTYPED[key])
        return [*out, f"export type {name} = {body};"]
    properties: Mapping[str, Schema] | None = definition.get("properties")
    if properties is None:
        if definition.get("type") != "object":
            return [*out, f"export type {name} = {ts_type(definition, names, key)};"]
        extra = definition.get("additionalProperties", True)
        value = ts_type(extra, names, f"{key}{{}}") if isinstance(extra, dict) else "unknown"
        return [
            *out,
            f"export interface {name} {{",
            "  /** Any field: the schema fixes none. */",
            f"  readonly [key: string]: {value};",
            "}",
        ]
    required = set(definition.get("required", []))
    literal = dict(zip(("apiVersion", "kind"), served[0], strict=True)) if len(served) == 1 else {}
    lines = [*out, f"export interface {name} {{"]
    for prop, schema in properties.items():
        doc = _property_doc(schema) or f"The `{prop}` field (the schema describes it no further)."
        lines.extend(jsdoc(doc, "  "))
        key_text = prop if _IDENTIFIER.fullmatch(prop) else json.dumps(prop)
        if prop in literal:
            lines.append(f"  readonly {key_text}: {json.dumps(literal[prop])};")
            continue
        optional = "" if prop in required else "?"
        lines.append(f"  readonly {key_text}{optional}: {ts_type(schema, names, f'{key}.{prop}')};")
    lines.append("}")
    return lines


def kube_kinds(definitions: Mapping[str, Schema], selected: Sequence[str]) -> dict[str, str]:
    """`"apiVersion/Kind"` -> schema name, for every selected kind served as exactly one (non-List) kind."""
    kinds: dict[str, str] = {}
    for key in selected:
        served = gvks(definitions[key])
        if len(served) == 1 and not served[0][1].endswith("List"):
            kinds["/".join(served[0])] = key
    return dict(sorted(kinds.items()))


def _kind_entry(api_version_kind: str, name: str) -> list[str]:
    api_version, kind = api_version_kind.rsplit("/", 1)
    return [f"  /** A `{kind}` of `{api_version}`. */", f"  {json.dumps(api_version_kind)}: {name};"]


def header(version: str) -> list[str]:
    source = f"{MODULE}@{version} {SCHEMA_IN_MODULE}"
    api_versions = ", ".join(f"`{av}`" for av in API_VERSIONS)
    paragraphs = [
        "TypeScript types of the built-in Kubernetes kinds, generated from the OpenAPI v2 schema of"
        f" Kubernetes {version} (`{source}`).",
        f"The kinds of {api_versions} have types, and so has every definition they reference. Objects"
        " are typed as the API server sends them: every property is `readonly`, and optional unless"
        " the schema requires it; `apiVersion` and `kind` of a definition served as one kind are that"
        " kind's literal strings, and required. Quantities (`Quantity`), times (`V1Time`,"
        " `V1MicroTime`) and `format: byte` fields are strings, `IntOrString` is `number | string`,"
        " maps are index signatures, and arbitrary JSON is `unknown`. Descriptions are the schema's"
        " first paragraph (with the next one when the first ends in a colon).",
        "Names follow `@kubernetes/client-node`: a definition is named by its version, capitalized,"
        " then its own name (`io.k8s.api.apps.v1.Deployment` is `V1Deployment`); one without a version"
        " keeps its own name (`Quantity`). Definitions that would share a name anywhere in the schema"
        " are each prefixed with their capitalized package, the segment before the version (the"
        " `Event`s of core/v1 and events.k8s.io/v1 are `CoreV1Event` and `EventsV1Event`), so a name"
        " does not change when more API versions get types.",
        "{@linkcode\xa0KubeObjectOf} picks the type of an `apiVersion` and `kind`, {@linkcode\xa0KubeObject}"
        " for any other kind (a custom resource, say): its fields other than `apiVersion`, `kind` and"
        " `metadata` are `unknown` and, under `noPropertyAccessFromIndexSignature`, read with brackets"
        ' (`obj["spec"]`).',
    ]
    doc: list[str] = []
    for paragraph in paragraphs:
        # A no-break space holds `{@linkcode Name}` on one line.
        lines = textwrap.wrap(paragraph, 92, break_on_hyphens=False, break_long_words=False)
        doc.extend(["", *(line.replace("\xa0", " ") for line in lines)])
    return [
        f"// Code generated by host/codegen/k8s_types.py from {source}. DO NOT EDIT.",
        f"// Regenerate: `{COMMAND}` (it reads the version tools/controlplane/go.mod pins).",
        "",
        "/**",
        *(f" * {line}".rstrip() for line in doc[1:]),
        " *",
        " * @example Read a pod's limits and a deployment's conditions",
        " * ```ts",
        ' * import type { KubeObjectOf, V1Deployment, V1Pod } from "./k8s_types.ts";',
        " *",
        ' * // The first container\'s memory limit, e.g. `"512Mi"`.',
        " * function memoryLimit(pod: V1Pod): string | undefined {",
        ' *   return pod.spec?.containers[0]?.resources?.limits?.["memory"];',
        " * }",
        " *",
        " * // Whether the deployment says it is not available.",
        " * function unavailable(deployment: V1Deployment): boolean {",
        " *   const conditions = deployment.status?.conditions ?? [];",
        ' *   return conditions.some((c) => c.type === "Available" && c.status === "False");',
        " * }",
        " *",
        ' * const web: KubeObjectOf<"apps/v1", "Deployment"> = {',
        ' *   apiVersion: "apps/v1",',
        ' *   kind: "Deployment",',
        ' *   metadata: { name: "web", namespace: "shop" },',
        " *   spec: { selector: {}, template: {} },",
        ' *   status: { conditions: [{ type: "Available", status: "False" }] },',
        " * };",
        ' * const widget: KubeObjectOf<"example.com/v1", "Widget"> = {',
        ' *   apiVersion: "example.com/v1",',
        ' *   kind: "Widget",',
        ' *   metadata: { name: "w" },',
        " *   spec: { size: 3 },",
        " * };",
        ' * const spec: unknown = widget["spec"]; // a custom resource\'s fields are unknown',
        ' * const pod: V1Pod = { apiVersion: "v1", kind: "Pod" };',
        " * console.assert(unavailable(web) && memoryLimit(pod) === undefined && spec !== undefined);",
        " * ```",
        " *",
        " * @module",
        " */",
    ]


def render(schema: Schema, version: str) -> str:
    """The whole module, before `deno fmt`."""
    definitions: Mapping[str, Schema] = schema["definitions"]
    names = type_names(definitions)
    selected = select(definitions, API_VERSIONS)
    kinds = kube_kinds(definitions, selected)
    meta = names["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    lines = [
        *header(version),
        "",
        "/**",
        " * Any object the API server returns: a built-in kind or a custom resource. Fields other",
        " * than `apiVersion`, `kind` and `metadata` are `unknown`: read them with brackets",
        ' * (`obj["spec"]`) and narrow them before use.',
        " */",
        "export interface KubeObject {",
        '  /** The object\'s API version, e.g. `"apps/v1"` (`"v1"` for the core group). */',
        "  readonly apiVersion: string;",
        '  /** The object\'s kind, e.g. `"Deployment"`. */',
        "  readonly kind: string;",
        "  /** The object's metadata: name, namespace, labels, owners... */",
        f"  readonly metadata: {meta};",
        "  /** Any other field, e.g. `spec` and `status`. */",
        "  readonly [field: string]: unknown;",
        "}",
        "",
        "/**",
        ' * The type of each built-in kind, by `"apiVersion/Kind"` (the core group\'s apiVersion is',
        ' * `"v1"`): `KubeKinds["apps/v1/Deployment"]` is {@linkcode V1Deployment}. List kinds are',
        " * left out.",
        " */",
        "export interface KubeKinds {",
        *(line for k, key in kinds.items() for line in _kind_entry(k, names[key])),
        "}",
        "",
        "/**",
        " * The type of the object of an `apiVersion` and a `kind`: the generated type of a built-in",
        " * kind, else {@linkcode KubeObject}.",
        " *",
        " * @example",
        " * ```ts",
        ' * import type { KubeObjectOf } from "./k8s_types.ts";',
        " *",
        ' * const pod: KubeObjectOf<"v1", "Pod"> = { apiVersion: "v1", kind: "Pod" };',
        " * const phase: string | undefined = pod.status?.phase;",
        " * ```",
        " */",
        "export type KubeObjectOf<A extends string, K extends string> = `${A}/${K}` extends keyof KubeKinds",
        "  ? KubeKinds[`${A}/${K}`]",
        "  : KubeObject;",
    ]
    for key in sorted(selected, key=lambda k: names[k]):
        lines.append("")
        lines.extend(render_definition(key, definitions[key], names))
    return "\n".join(lines) + "\n"


def deno_fmt(text: str) -> str:
    """`text` as the SDK's `deno fmt` formats it."""
    proc = subprocess.run(
        [str(find_deno()), "fmt", f"--config={SDK_CONFIG}", "--ext=ts", "-"],
        input=text, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
        env={"NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1", "PATH": "/nonexistent"},
    )  # fmt: skip
    if proc.returncode != 0:
        raise SchemaError(f"deno fmt failed: {proc.stderr.strip()}")
    return proc.stdout


def generate(schema_file: Path | None = None) -> str:
    """The formatted contents of sdk-ts/k8s_types.ts."""
    version = pinned_version(GO_MOD.read_text(encoding="utf-8"))
    with (schema_file or schema_path(version)).open("rb") as f:  # 4.4 MB: json.load is quick enough
        schema = json.load(f)
    return deno_fmt(render(schema, version))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is not up to date")
    parser.add_argument("--schema", type=Path, help="swagger.json to read instead of the pinned module's")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the file to write or check")
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        text = generate(args.schema)
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    current = output.read_text(encoding="utf-8") if output.is_file() else ""
    if args.check:
        if current == text:
            return 0
        diff = list(
            difflib.unified_diff(
                current.splitlines(), text.splitlines(), "committed", "generated", lineterm=""
            )
        )
        changed = sum(1 for line in diff[2:] if line[:1] in "+-")
        print(f"{output} is stale ({changed} lines differ): run {COMMAND}", file=sys.stderr)
        print("\n".join(diff[:60]), file=sys.stderr)
        return 1
    if current != text:
        output.write_text(text, encoding="utf-8")
    print(f"wrote {output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
