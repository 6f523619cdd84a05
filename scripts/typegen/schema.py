"""The CLI's two JSON Schemas, read into one small model every emitter shares.

api.schema.json holds the JSON-RPC methods (server, session and the two
client-implemented scopes) and their definitions; session-events.schema.json
holds the session events. Both name nearly every type in "definitions", so type
names come from the schema and match the official SDKs, which generate theirs
from the same files. Anonymous objects are named Parent + Field.

The model is deliberately small:
  Type   a reference to a shape: Prim, Ref, Array, Map, Nullable
  Struct, Enum, Union, Alias    named definitions
  Method, Event                 what the wire carries
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .overrides import MERGED_BOOL_UNIONS, patch_schemas

SCOPES = ("server", "session", "clientSession", "clientGlobal")


# ---------------------------------------------------------------- type refs
@dataclass(frozen=True)
class Prim:
    """string, integer, int32 (an integer both of whose bounds fit 32 bits),
    number, boolean, datetime (RFC 3339 string), any (opaque JSON), or event
    (a whole session event, which emitters type by hand)."""
    name: str


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Array:
    item: object


@dataclass(frozen=True)
class Map:
    value: object


@dataclass(frozen=True)
class Nullable:
    inner: object


# ---------------------------------------------------------------- definitions
@dataclass
class Field:
    json: str
    type: object
    required: bool
    doc: str = ""
    deprecated: bool = False
    experimental: bool = False
    const: object = None  # a fixed value, e.g. a union variant's discriminator


@dataclass
class Struct:
    name: str
    fields: list
    doc: str = ""
    experimental: bool = False
    deprecated: bool = False
    closed: bool = False  # additionalProperties: false, so no other key may appear


@dataclass
class Enum:
    name: str
    values: list
    value_docs: dict
    doc: str = ""
    experimental: bool = False
    deprecated: bool = False


@dataclass
class Union:
    """A tagged union: every variant is a struct with a constant `tag` property."""
    name: str
    tag: str
    variants: list  # (tag value, struct name)
    doc: str = ""
    experimental: bool = False
    deprecated: bool = False
    nullable: bool = False


@dataclass
class Alias:
    name: str
    type: object
    doc: str = ""
    experimental: bool = False
    deprecated: bool = False
    # For an untyped union (any): the JSON scalar kinds it admits besides
    # objects ("string", ...), which emitters may name as variant types.
    scalar_kinds: tuple = ()
    # For an untagged union of named objects and plain JSON kinds (no constant
    # property tells its variants apart): ("struct", name) or (kind, None) per
    # alternative, kind one of string, number, integer, boolean, array (of
    # strings). Emitters that type it tell the variants apart by shape.
    choices: tuple = ()
    # An object the schema keeps opaque (x-opaque-json, no properties).
    opaque_object: bool = False


@dataclass
class Method:
    name: str           # wire name, e.g. session.model.switchTo
    scope: str          # one of SCOPES
    path: list          # group path below the scope, e.g. ["model"]
    verb: str           # e.g. switchTo
    params: object      # Ref to a Struct, or None when it takes nothing but sessionId
    result: object      # a type; an empty Struct when the method returns nothing
    doc: str = ""
    experimental: bool = False
    internal: bool = False
    deprecated: bool = False
    params_optional: bool = False  # the params object may be left out
    notification: bool = False     # a JSON-RPC notification: no id, no reply


@dataclass
class Event:
    type: str
    data: str           # name of the data Struct
    doc: str = ""
    ephemeral: bool = False
    experimental: bool = False
    deprecated: bool = False


@dataclass
class Model:
    version: str
    defs: dict = field(default_factory=dict)      # name -> Struct | Enum | Union | Alias
    methods: list = field(default_factory=list)
    events: list = field(default_factory=list)
    envelope: list = field(default_factory=list)  # Fields shared by every event


# ---------------------------------------------------------------- reading
def pascal(text: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def _experimental(node) -> bool:
    return node.get("stability") == "experimental" or bool(node.get("x-experimental"))


def _doc(node) -> str:
    return " ".join((node.get("description") or "").split())


class _Reader:
    def __init__(self, model: Model):
        self.m = model
        self.raw: dict = {}
        self.reading: set = set()

    # definitions from both schemas share one namespace, like the official SDKs'
    # single rpc package. A name in both with different shapes keeps the API
    # schema's (the seven seen in 1.0.102 differ only in descriptions).
    def add_defs(self, defs: dict):
        for name, node in defs.items():
            self.raw.setdefault(name, node)

    def resolve_ref(self, ref: str) -> str:
        return ref.rsplit("/", 1)[-1]

    def type_of(self, node, hint: str):
        """The Type for a property schema; `hint` names anonymous objects."""
        if node is None or node is True or node == {}:
            return Prim("any")
        if "$ref" in node:
            return Ref(self.resolve_ref(node["$ref"]))
        if node.get("x-opaque-json") and "anyOf" not in node:
            return Prim("any")
        if "anyOf" in node or "oneOf" in node:
            alts = node.get("anyOf") or node.get("oneOf")
            # {"not": {}} matches nothing: like null, it marks the value optional.
            real = [a for a in alts if a.get("type") != "null" and a.get("not") != {}]
            nullable = len(real) < len(alts)
            if len(real) == 1:
                inner = self.type_of(real[0], hint)
                return Nullable(inner) if nullable else inner
            union = self.union_of(real, hint, node)
            if union is not None:
                return Nullable(union) if nullable else union
            return Prim("any")
        if "allOf" in node and len(node["allOf"]) == 1:
            return self.type_of(node["allOf"][0], hint)
        if "enum" in node:
            values = node["enum"]
            if all(isinstance(v, str) for v in values):
                name = node.get("title") or hint
                self.define(Enum(name, values, node.get("x-enumDescriptions") or {}, _doc(node),
                                 _experimental(node), bool(node.get("deprecated"))))
                return Ref(name)
            return Prim("any")
        if "const" in node:
            return Prim(_prim_name(node.get("type") or _json_type(node["const"])))
        t = node.get("type")
        if isinstance(t, list):
            real = [x for x in t if x != "null"]
            inner = self.type_of({**node, "type": real[0]}, hint) if len(real) == 1 else Prim("any")
            return Nullable(inner) if "null" in t else inner
        if t == "object":
            if "properties" in node:
                name = node.get("title") or hint
                self.define(self.struct(name, node))
                return Ref(name)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return Map(self.type_of(extra, hint + "Value"))
            return Map(Prim("any")) if extra is not False else Prim("any")
        if t == "array":
            return Array(self.type_of(node.get("items"), hint + "Item"))
        if t == "string" and node.get("format") == "date-time":
            return Prim("datetime")
        if t == "string" and isinstance(node.get("x-enumDescriptions"), dict) and node.get("title"):
            # An extensible enum: any string is valid, these are the known ones.
            self.define(Enum(node["title"], list(node["x-enumDescriptions"]), node["x-enumDescriptions"],
                             _doc(node), _experimental(node), bool(node.get("deprecated"))))
            return Ref(node["title"])
        if t == "integer" and _int32_bounded(node):
            return Prim("int32")
        if t in ("string", "integer", "number", "boolean"):
            return Prim(t)
        return Prim("any")

    def union_of(self, alts, hint, node):
        """A tagged union when every alternative is an object with one shared
        constant property; None otherwise (the caller falls back to any)."""
        shapes = []
        for alt in alts:
            if "$ref" in alt:
                name = self.resolve_ref(alt["$ref"])
                target = self.raw.get(name, {})
            elif alt.get("type") == "object" and alt.get("properties"):
                name, target = None, alt
            else:
                return None
            if target.get("type") != "object" or not target.get("properties"):
                return None
            shapes.append((name, target))
        candidates = None
        for _, target in shapes:
            consts = {k for k, v in target["properties"].items() if "const" in v}
            candidates = consts if candidates is None else candidates & consts
        if not candidates:
            return None
        tag = "type" if "type" in candidates else ("kind" if "kind" in candidates else sorted(candidates)[0])
        if (node.get("title") or hint) in MERGED_BOOL_UNIONS:
            return self.merged(shapes, tag, hint, node)
        variants = []
        for name, target in shapes:
            value = target["properties"][tag]["const"]
            if name is None:
                name = target.get("title") or hint + pascal(str(value))
                self.define(self.struct(name, target))
            else:
                self.ensure(name)
            variants.append((value, name))
        union_name = node.get("title") or hint
        self.define(Union(union_name, tag, variants, _doc(node), _experimental(node),
                          bool(node.get("deprecated"))))
        return Ref(union_name)

    def merged(self, shapes, tag, hint, node):
        """A union told apart by a boolean (queued: true | false), read as one
        object whose flag is that boolean (see MERGED_BOOL_UNIONS); a field is
        required only where every variant requires it."""
        name = node.get("title") or hint
        fields, seen = [], {}
        for i, (vname, target) in enumerate(shapes):
            part = self.struct(vname or f"{name}{i}", target)
            for f in part.fields:
                if f.json == tag:
                    f = Field(tag, Prim("boolean"), True, _doc(node))
                elif f.type == Prim("any") and (target["properties"][f.json] or {}).get("type") == "null":
                    f = None  # null in this variant: the others give the type
                if f is None:
                    continue
                if f.json in seen:
                    continue
                seen[f.json] = f
                fields.append(f)
        for f in fields:
            if f.json != tag and not all(f.json in set(t.get("required") or []) for _, t in shapes):
                f.required = False
        self.define(Struct(name, fields, _doc(node), _experimental(node), bool(node.get("deprecated"))))
        return Ref(name)

    def struct(self, name, node) -> Struct:
        required = set(node.get("required") or [])
        fields = []
        for prop, schema in (node.get("properties") or {}).items():
            schema = schema or {}
            ftype = self.type_of(schema, name + pascal(prop))
            is_required = prop in required
            if is_required and "$ref" in schema and re.search(r"\bnull\b", schema.get("description", ""), re.I):
                # Override: the schema marks some refs required whose description
                # says they may be null (agent.getCurrent's agent); the CLI sends
                # null there, so they are typed nullable, as the official SDKs do.
                ftype, is_required = Nullable(ftype), False
            fields.append(Field(
                json=prop,
                type=ftype,
                required=is_required,
                doc=_doc(schema),
                deprecated=bool(schema.get("deprecated")),
                experimental=_experimental(schema),
                const=schema.get("const"),
            ))
        return Struct(name, fields, _doc(node), _experimental(node), bool(node.get("deprecated")),
                      node.get("additionalProperties") is False)

    def define(self, d):
        if d.name not in self.m.defs:
            self.m.defs[d.name] = d

    def ensure(self, name: str):
        """Reads a named definition (once) into the model."""
        if name in self.m.defs or name not in self.raw:
            return
        if name in self.reading:
            return  # a union naming itself through a variant: the outer call defines it
        self.reading.add(name)
        node = self.raw[name]
        t = self.type_of({**node, "title": name}, name)
        if name not in self.m.defs:  # not an object, enum or union: an alias
            untyped = t == Prim("any")
            kinds = tuple(a["type"] for a in node.get("anyOf", [])
                          if a.get("type") in ("string", "number", "integer", "boolean")) if untyped else ()
            choices = self.choices(node.get("anyOf") or node.get("oneOf") or []) if untyped else ()
            opaque = untyped and node.get("type") == "object" and not node.get("properties")
            self.m.defs[name] = Alias(name, t, _doc(node), _experimental(node), bool(node.get("deprecated")),
                                      kinds, choices, opaque)
        self.reading.discard(name)

    def choices(self, alts) -> tuple:
        """The variants of an untagged union, or () when some alternative is
        neither a named object nor a plain JSON kind."""
        out = []
        for alt in alts:
            if alt.get("type") == "null":
                continue
            if "$ref" in alt:
                name = self.resolve_ref(alt["$ref"])
                target = self.raw.get(name, {})
                if target.get("type") != "object" or not target.get("properties"):
                    return ()
                self.ensure(name)
                out.append(("struct", name))
            elif alt.get("type") in ("string", "number", "integer", "boolean") and "const" not in alt \
                    and "enum" not in alt:
                out.append((alt["type"], None))
            elif alt.get("type") == "array" and (alt.get("items") or {}).get("type") == "string" \
                    and set(alt["items"]) <= {"type"}:
                out.append(("array", None))
            else:
                return ()
        return tuple(out) if len(out) > 1 else ()

    def close(self):
        """Reads every definition some Ref names, until none is missing."""
        while True:
            missing = {r for r in _refs(self.m) if r not in self.m.defs and r in self.raw}
            if not missing:
                return
            for name in sorted(missing):
                self.ensure(name)


# ---------------------------------------------------------------- walking the model
def type_refs(t, events: bool = False):
    """The definition names a type refers to; with events, a whole session
    event counts as a reference to "SessionEvent"."""
    if isinstance(t, Ref):
        yield t.name
    elif isinstance(t, Array):
        yield from type_refs(t.item, events)
    elif isinstance(t, Map):
        yield from type_refs(t.value, events)
    elif isinstance(t, Nullable):
        yield from type_refs(t.inner, events)
    elif events and t == Prim("event"):
        yield "SessionEvent"


def def_refs(d, events: bool = False):
    """The definition names a definition's body refers to."""
    if isinstance(d, Struct):
        for f in d.fields:
            yield from type_refs(f.type, events)
    elif isinstance(d, Alias):
        yield from type_refs(d.type, events)
        for kind, name in d.choices:
            if kind == "struct":
                yield name
    elif isinstance(d, Union):
        for _, v in d.variants:
            yield v


def reachable(model: "Model", roots, events: bool = False, also=None) -> set:
    """The definitions the roots (names) reach; also(name) may name more to follow."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in model.defs:
            continue
        seen.add(name)
        todo.extend(def_refs(model.defs[name], events))
        if also:
            todo.extend(also(name))
    return seen


class MethodGroup:
    """Methods under one group path below a scope (["mcp", "config"])."""

    def __init__(self, path):
        self.path = path
        self.methods = []
        self.children = {}  # key -> MethodGroup


def method_tree(methods) -> MethodGroup:
    """The methods as the wire groups them: session.mcp.config.list is in mcp -> config."""
    root = MethodGroup([])
    for m in methods:
        g = root
        for key in m.path:
            g = g.children.setdefault(key, MethodGroup(g.path + [key]))
        g.methods.append(m)
    return root


def _refs(model: Model):
    for d in list(model.defs.values()):
        yield from def_refs(d)
    for m in model.methods:
        for t in (m.params, m.result):
            if t is not None:
                yield from type_refs(t)


def _int32_bounded(node) -> bool:
    """Both bounds given and within int32, as the official generators type them."""
    lo, hi = node.get("minimum"), node.get("maximum")
    return isinstance(lo, int) and isinstance(hi, int) and lo >= -(2**31) and hi <= 2**31 - 1


def _prim_name(t):
    return t if t in ("string", "integer", "number", "boolean") else "any"


def _json_type(value):
    return {str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(value), "any")


def _methods(reader: _Reader, tree, scope, path):
    for key, node in tree.items():
        if not isinstance(node, dict):
            continue
        if "rpcMethod" in node:
            yield _method(reader, node, scope, path, key)
        else:
            yield from _methods(reader, node, scope, path + [key])


def _method(reader: _Reader, node, scope, path, verb) -> Method:
    name = node["rpcMethod"]
    # Untitled param and result shapes are named like the official SDKs name
    # them: Session<Group><Verb>Request/Result for session methods, no prefix otherwise.
    base = ("Session" if scope in ("session", "clientSession") else "") + pascal("_".join(path + [verb]))
    params = node.get("params")
    ptype, optional = None, False
    if params and "$ref" in params:
        # A named params definition keeps its name, even when it may be left out.
        pname = reader.resolve_ref(params["$ref"])
        target = reader.raw.get(pname, {})
        objects = [a for a in target.get("anyOf", []) if a.get("type") == "object"]
        if len(objects) == 1:
            target = objects[0]
        elif "properties" not in target and len([a for a in target.get("anyOf", [])
                                                 if a.get("type") != "null" and a.get("not") != {}]) > 1:
            # A union of params shapes (sessions.open: create, resume, ...).
            reader.ensure(pname)
            ptype, params = Ref(pname), None
            target = {}
        # A session method's sessionId is the session object's to fill; a
        # request the CLI sends the host (clientSession) keeps it for the handler.
        props = {k: v for k, v in (target.get("properties") or {}).items()
                 if not (k == "sessionId" and scope == "session")}
        if props:
            shape = {**target, "properties": props,
                     "required": [r for r in target.get("required") or [] if r in props]}
            reader.define(reader.struct(pname, shape))
            ptype = Ref(pname)
        params = None
    if params and "anyOf" in params:
        # {anyOf: [{not: {}}, {object}]}: params that may be left out entirely.
        objects = [a for a in params["anyOf"] if a.get("type") == "object"]
        if len(objects) == 1 and all(a is objects[0] or a.get("not") == {} or a.get("type") == "null"
                                     for a in params["anyOf"]):
            params, optional = {**objects[0], "title": base + "Request"}, True
    if params:
        props = dict(params.get("properties") or {})
        if scope == "session":
            props.pop("sessionId", None)
        if props or "anyOf" in params:
            hint = params.get("title") or base + "Request"
            shape = {**params, "title": hint}
            if "properties" in shape and scope == "session":
                shape["properties"] = props
                shape["required"] = [r for r in shape.get("required") or [] if r != "sessionId"]
            ptype = reader.type_of(shape, hint)
        else:
            optional = False
    result = node.get("result")
    if not result or result.get("type") == "null" or (
            result.get("type") == "object" and not result.get("properties") and "additionalProperties" not in result):
        # No result: an empty struct, so every method returns (*Result, error).
        rname = base + "Result"
        reader.define(Struct(rname, [], "Empty result of " + name + "."))
        rtype = Ref(rname)
    else:
        hint = result.get("title") or base + "Result"
        rtype = reader.type_of(result if "$ref" in result else {**result, "title": hint}, hint)
        if not isinstance(rtype, Ref):
            # An unnamed array, map or scalar result still gets a name to return.
            reader.define(Alias(hint, rtype, _doc(result)))
            rtype = Ref(hint)
    return Method(
        name=name, scope=scope, path=path, verb=verb, params=ptype, result=rtype,
        doc=_doc(node), experimental=_experimental(node), params_optional=optional,
        notification=bool(node.get("notification")),
        internal=node.get("visibility") == "internal", deprecated=bool(node.get("deprecated")),
    )


def load(schema_dir: Path) -> Model:
    """Reads api.schema.json and session-events.schema.json from schema_dir
    (the CLI package's schemas/ folder; its parent's name is the CLI version)."""
    schema_dir = Path(schema_dir)
    api = json.loads((schema_dir / "api.schema.json").read_text())
    events = json.loads((schema_dir / "session-events.schema.json").read_text())
    patch_schemas(api, events)
    model = Model(version=schema_dir.resolve().parent.name)
    reader = _Reader(model)
    reader.add_defs(api["definitions"])
    reader.add_defs(events["definitions"])
    # Methods that return events (eventLog.read, ...) name the event union; it
    # is the language's own SessionEvent type, not a generated union of envelopes.
    model.defs["SessionEvent"] = Alias("SessionEvent", Prim("event"), "A session event.")

    for scope in SCOPES:
        model.methods.extend(_methods(reader, api.get(scope) or {}, scope, []))

    edefs = events["definitions"]
    for alt in edefs["SessionEvent"]["anyOf"]:
        ename = reader.resolve_ref(alt["$ref"])
        props = edefs[ename]["properties"]
        data = props["data"]
        # Named after the event type, as the official SDKs do: the schema calls
        # session.start's data "StartData", the SDKs "SessionStartData".
        data_name = pascal(props["type"]["const"]) + "Data"
        target = reader.raw[reader.resolve_ref(data["$ref"])] if "$ref" in data else data
        reader.define(reader.struct(data_name, target))
        desc = re.sub(r'^Session event "[^"]*"\.\s*', "", _doc(alt) or _doc(edefs[ename]))
        model.events.append(Event(
            type=props["type"]["const"], data=data_name, doc=desc,
            ephemeral=props.get("ephemeral", {}).get("const") is True,
            experimental=_experimental(edefs[ename]), deprecated=bool(edefs[ename].get("deprecated")),
        ))
        if not model.envelope:
            env = reader.struct("SessionEventEnvelope", edefs[ename])
            model.envelope = [f for f in env.fields if f.json not in ("type", "data")]
    reader.close()
    return model


def find_schema_dir(start: Path | None = None) -> Path | None:
    """The unpacked CLI package's schemas/ folder under the test cache, if any."""
    import os
    roots = [os.environ.get("COPILOT_TEST_CACHE"), os.environ.get("XDG_CACHE_HOME"),
             str(Path(__file__).resolve().parents[2] / "target/copilot-cache"), str(Path.home() / ".cache")]
    for root in filter(None, roots):
        hits = sorted(Path(root).glob("copilot/pkg/*/*/schemas/api.schema.json"))
        if hits:
            return hits[-1].parent
    return None
