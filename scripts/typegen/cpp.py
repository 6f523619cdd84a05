"""C++ emitter: include/copilot_types.hpp, the optional typed layer over copilot.hpp.

Header-only C++17 over nlohmann/json (Debian's nlohmann-json3-dev); copilot.hpp
itself keeps no dependency. Everything is in namespace copilot::types:

  structs     one per schema object, named as the schema names it (PascalCase, the
              names of the official SDKs); members keep the JSON names (camelCase,
              a C++ keyword or reserved name gets a trailing _). A required field is
              T, an optional or nullable one std::optional<T>; opaque JSON is
              nlohmann::json (null when absent).
  enums       a struct over StringEnum (the std::string `value`), one static constexpr
              std::string_view per known value (snake_case): a value newer than
              this file still decodes.
  unions      std::variant<XUnknown, variant structs...>; XUnknown keeps a variant
              this file does not describe (or that did not decode) as raw JSON.
  events      SessionEvent {type, envelope fields, data}, data a std::variant of
              RawEventData and every event's data struct; parse_event() never throws.
  RPC         one function per server- and session-scope method, in a namespace per
              wire group, snake_case: session.model.switchTo is
              copilot::types::rpc::session::model::switch_to(session, params).

Scalars: integer -> int64_t, int32 -> int32_t, number -> double, date-time -> the
RFC 3339 std::string. The JSON code is in codec::Codec<T> specializations whose
read/write are member templates, reached from nlohmann by one from_json/to_json
pair of ADL templates: a translation unit compiles the code only of the types it
uses, and no call resolves against thousands of overloads (hidden friends per
type made GCC quadratic: two minutes for an empty program). The RPC functions and
parse_event are templates for the same reason, values decode in place, and
parse_event returns a SessionEvent it constructs: a move, copy or assignment of the
event data variant instantiates that special member of every event struct and all
they reach (tens of seconds with GCC), so the header itself never asks for one.
"""
from __future__ import annotations

import json
import re

from .schema import Alias, Array, Enum, Map, Nullable, Prim, Ref, Struct, Union, def_refs

OUT = "include/copilot_types.hpp"
NS = "codec"  # the header's internal namespace, copilot::types::codec

CPP_KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false float for friend goto if import inline int long module mutable namespace new
noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct
switch template this thread_local throw true try typedef typeid typename union unsigned using
virtual void volatile wchar_t while xor xor_eq
""".split())
# Names a generated identifier must not take: namespaces the generated code names
# unqualified, and macros common platforms define (gnu++17's linux and unix, glibc's
# major and minor).
RESERVED = {"std", "nlohmann", "copilot", NS, "linux", "unix", "major", "minor",
            "errno", "assert", "NULL", "EOF", "stdin", "stdout", "stderr"}


def ident(text: str) -> str:
    """A C++ identifier for a JSON name: invalid characters become _, reserved names get _."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text) or "empty"
    if name[0].isdigit():
        name = "v" + name
    if name in CPP_KEYWORDS or name in RESERVED or name.startswith("__"):
        name += "_"
    return name


def snake(text: str) -> str:
    s = re.sub(r"(?i)github", lambda m: m.group(0)[0] + "ithub", text)  # one word
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return ident(s) if s else "empty"


def doc(text: str, indent: str = "", notes=()) -> list:
    parts = [t for t in [" ".join((text or "").split())] + list(notes) if t]
    if not parts:
        return []
    body = " ".join(parts).replace("*/", "* /")
    return [f"{indent}/** {body} */"]


def notes_of(d) -> list:
    out = []
    if getattr(d, "experimental", False):
        out.append("Experimental.")
    if getattr(d, "deprecated", False):
        out.append("Deprecated.")
    return out


def cstr(value) -> str:
    """A C++ string literal (JSON escapes are valid C++ escapes for these)."""
    return json.dumps(str(value), ensure_ascii=True)


class CppEmitter:
    def __init__(self, model):
        self.m = model
        self.unions = {n for n, d in model.defs.items() if isinstance(d, Union)}
        taken = set(model.defs)
        for extra in ("SessionEventData", "RawEventData", "DecodeError"):
            assert extra not in taken, f"schema defines {extra}, which the C++ header adds"
        self.unknown = {}  # union -> its unknown alternative's struct name
        for n in sorted(self.unions):
            u = n + "Unknown"
            while u in taken:
                u += "_"
            taken.add(u)
            self.unknown[n] = u
        self.order = self.topo_order()

    # ------------------------------------------------------------ types
    def resolve(self, t):
        seen = set()
        while isinstance(t, Ref) and isinstance(self.m.defs.get(t.name), Alias) and t.name not in seen:
            seen.add(t.name)
            t = self.m.defs[t.name].type
        return t

    def is_json(self, t) -> bool:
        """Opaque JSON: nlohmann::json, whose null already means absent."""
        t = self.resolve(t)
        if isinstance(t, Nullable):
            return self.is_json(t.inner)
        return t == Prim("any") or (isinstance(t, Ref) and t.name not in self.m.defs)

    def ctype(self, t) -> str:
        if isinstance(t, Nullable):
            return self.ctype(t.inner) if self.is_json(t.inner) else f"std::optional<{self.ctype(t.inner)}>"
        if isinstance(t, Prim):
            return {"string": "std::string", "integer": "std::int64_t", "int32": "std::int32_t",
                    "number": "double", "boolean": "bool", "datetime": "std::string",
                    "any": "nlohmann::json", "event": "SessionEvent"}[t.name]
        if isinstance(t, Array):
            return f"std::vector<{self.ctype(t.item)}>"
        if isinstance(t, Map):
            return f"std::map<std::string, {self.ctype(t.value)}>"
        if isinstance(t, Ref):
            return t.name if t.name in self.m.defs else "nlohmann::json"
        return "nlohmann::json"

    def field_type(self, f) -> str:
        t = f.type
        if self.is_json(t):
            return self.ctype(t.inner if isinstance(t, Nullable) else t)
        if isinstance(t, Nullable):
            return self.ctype(t)
        base = self.ctype(t)
        return base if f.required else f"std::optional<{base}>"

    def deps(self, name):
        """Definitions `name` needs declared first (a std::optional or std::variant
        member needs its type complete)."""
        if name == "SessionEvent":
            return [e.data for e in self.m.events]
        return list(def_refs(self.m.defs[name], events=True))

    def topo_order(self) -> list:
        order, done, active = [], set(), set()

        def visit(n):
            if n in done:
                return
            if n in active:
                raise SystemExit(f"cpp: definitions reach themselves through {n}; the C++ "
                                 "emitter needs a way to break the cycle")
            active.add(n)
            for dep in self.deps(n):
                if dep in self.m.defs:
                    visit(dep)
            active.discard(n)
            done.add(n)
            order.append(n)

        for n in sorted(self.m.defs):
            visit(n)
        return order

    # ------------------------------------------------------------ definitions
    def members(self, d: Struct):
        """(field, C++ name) of a struct's fields."""
        used, out = {d.name, "event_type"}, []
        for f in d.fields:
            name = ident(f.json)
            while name in used:
                name += "_"
            used.add(name)
            out.append((f, name))
        return out

    def struct(self, d: Struct, extra=()) -> list:
        lines = doc(d.doc, "", notes_of(d)) + [f"struct {d.name} {{"]
        for f, name in self.members(d):
            init = "{}"  # also spares `Request{"id"}` -Wmissing-field-initializers
            if f.const is not None and not isinstance(f.const, (dict, list)):
                init = "{" + (("true" if f.const else "false") if isinstance(f.const, bool)
                              else cstr(f.const) if isinstance(f.const, str) else json.dumps(f.const)) + "}"
            lines += doc(f.doc, "    ", notes_of(f))
            lines.append(f"    {self.field_type(f)} {name}{init};")
        lines += [f"    {e};" for e in extra]
        lines.append("};")
        return lines

    def struct_codec(self, d: Struct) -> list:
        members = self.members(d)
        v = " v" if members else ""
        lines = ["template <>", f"struct Codec<{d.name}> {{", "    template <class J>",
                 f"    static void read(const J& j, {d.name}&{v}) {{"]
        if members:
            lines.append("        if (!object(j)) return;")
            lines += [f"        get(j, {cstr(f.json)}, v.{n});" for f, n in members]
        else:
            lines.append("        object(j);")
        lines += ["    }", "    template <class J>", f"    static void write(J& j, const {d.name}&{v}) {{",
                  "        j = J::object();"]
        lines += [f"        {'put' if f.required else 'put_opt'}(j, {cstr(f.json)}, v.{n});" for f, n in members]
        lines += ["    }", "};"]
        return lines

    def enum(self, d: Enum) -> list:
        lines = doc(d.doc, "", notes_of(d))
        lines += [f"struct {d.name} : StringEnum {{", "    using StringEnum::StringEnum;"]
        used = {"value", d.name, "StringEnum"}
        for v in d.values:
            cname = snake(v)
            while cname in used:
                cname += "_"
            used.add(cname)
            lines += doc(str(d.value_docs.get(v, "")), "    ")
            lines.append(f"    static constexpr std::string_view {cname} = {cstr(v)};")
        lines.append("};")
        return lines

    def variants(self, d: Union) -> list:
        out = []
        for _, v in d.variants:
            if v not in out:
                out.append(v)
        return out

    def union(self, d: Union) -> list:
        unk = self.unknown[d.name]
        alts = ", ".join([unk] + self.variants(d))
        lines = [f"/** A {d.name} variant this header does not describe, or one that did not decode. */",
                 f"struct {unk} : UnknownVariant {{}};", ""]
        lines += doc(d.doc, "", notes_of(d) + [f"Chosen by {cstr(d.tag)}; {unk} for any other."])
        lines.append(f"using {d.name} = std::variant<{alts}>;")
        return lines

    def union_codec(self, d: Union) -> list:
        variants = self.variants(d)
        lines = ["template <>", f"struct Codec<{d.name}> {{", "    template <class J>",
                 f"    static void read(const J& j, {d.name}& v) {{",
                 f"        const J* t = tag(j, {cstr(d.tag)});",
                 "        if (!t) v.template emplace<0>().raw = j;"]
        for value, variant in d.variants:
            lit = ("true" if value else "false") if isinstance(value, bool) else cstr(value)
            lines.append(f"        else if (*t == {lit}) read_alternative<{variants.index(variant) + 1}>(j, v);")
        lines += ["        else v.template emplace<0>().raw = j;", "    }", "    template <class J>",
                  f"    static void write(J& j, const {d.name}& v) {{",
                  "        std::visit([&j](const auto& alternative) { codec::write(j, alternative); }, v);",
                  "    }", "};"]
        return lines

    def alias(self, d: Alias) -> list:
        return doc(d.doc, "", notes_of(d)) + [f"using {d.name} = {self.ctype(d.type)};"]

    def definition(self, name) -> list:
        if name == "SessionEvent":
            return self.session_event()
        d = self.m.defs[name]
        if isinstance(d, Struct):
            extra = ()
            if name in self.event_of:
                extra = (f"static constexpr std::string_view event_type = {cstr(self.event_of[name].type)}",)
            return self.struct(d, extra)
        if isinstance(d, Enum):
            return self.enum(d)
        if isinstance(d, Union):
            return self.union(d)
        return self.alias(d)

    def codecs(self) -> list:
        lines = []
        for name in self.order:
            d = self.m.defs.get(name)
            if isinstance(d, Struct):
                lines += self.struct_codec(d) + [""]
            elif isinstance(d, Union):
                lines += self.union_codec(d) + [""]
        return lines

    # ------------------------------------------------------------ events
    @property
    def event_of(self):
        return {e.data: e for e in self.m.events}

    def session_event(self) -> list:
        m = self.m
        alts = ",\n    ".join(["RawEventData"] + [e.data for e in m.events])
        lines = ["/** The data of an event type this header does not describe, or data that did not",
                 " *  match its type's schema: the JSON as received (null when there was none). */",
                 "struct RawEventData {", "    nlohmann::json data{};",
                 "    static constexpr std::string_view event_type = {};", "};", "",
                 "/** An event's typed data: the struct of its type (each has a static `event_type`),",
                 " *  or RawEventData. */",
                 f"using SessionEventData = std::variant<\n    {alts}>;", "",
                 "/** One session event, its data decoded to the struct of its type. Decoding one",
                 " *  (parse_event(), or from_json) never throws. */",
                 "struct SessionEvent {", "    /** The event type, e.g. \"assistant.message\". */",
                 "    std::string type{};"]
        for f in m.envelope:
            lines += doc(f.doc, "    ")
            lines.append(f"    {self.field_type(f)} {ident(f.json)}{{}};")
        lines += ["    /** Typed payload: std::get_if<AssistantMessageData>(&event.data) and so on. */",
                  "    SessionEventData data{};", "",
                  "    SessionEvent() = default;",
                  "    /** Decodes one event envelope, as parse_event(type, json) does. Returning a",
                  "     *  SessionEvent built so, parse_event() needs no move: compiling a move of the",
                  "     *  data variant (every event struct's) costs more than all the decoders. */",
                  "    template <class Json = nlohmann::json>",
                  "    explicit SessionEvent(std::string_view json, std::string_view fallback_type = {});",
                  "};"]
        return lines

    def events_codec(self) -> list:
        m = self.m
        index = {e.type: i + 1 for i, e in enumerate(m.events)}
        lines = ["template <class J, std::size_t I>",
                 "void decode_event_data(const J& j, SessionEventData& d) {",
                 "    codec::read(j, d.template emplace<I>());", "}", "",
                 "template <class J>",
                 "void decode_event(const J& j, SessionEvent& event) {",
                 "    using Decode = void (*)(const J&, SessionEventData&);",
                 "    struct Entry {", "        std::string_view type;", "        Decode decode;", "    };",
                 "    static constexpr Entry table[] = {"]
        lines += [f"        {{{cstr(t)}, &decode_event_data<J, {i}>}}," for t, i in sorted(index.items())]
        lines += ["    };",
                  "    // Member by member: assigning a whole SessionEvent would compile every",
                  "    // event struct's move assignment.",
                  "    event.type.clear();"]
        for f in m.envelope:
            lines.append(f"    event.{ident(f.json)} = {{}};")
        lines += ["    if (!j.is_object()) {",
                  "        event.data.template emplace<0>().data = j;",
                  "        return;",
                  "    }",
                  "    get_lenient(j, \"type\", event.type);"]
        for f in m.envelope:
            lines.append(f"    get_lenient(j, {cstr(f.json)}, event.{ident(f.json)});")
        lines += ["    auto data = j.find(\"data\");",
                  "    const Entry* end = table + sizeof table / sizeof table[0];",
                  "    const Entry* hit = std::lower_bound(table, end, std::string_view(event.type),",
                  "                                        [](const Entry& e, std::string_view t) { return e.type < t; });",
                  "    if (data != j.end() && hit != end && hit->type == event.type) {",
                  "        try {",
                  "            hit->decode(*data, event.data);",
                  "            return;",
                  "        } catch (const DecodeError&) {",
                  "        } catch (const nlohmann::json::exception&) {",
                  "        }",
                  "    }",
                  "    event.data.template emplace<0>().data = data != j.end() ? *data : J();",
                  "}", "",
                  "template <>",
                  "struct Codec<SessionEvent> {",
                  "    template <class J>",
                  "    static void read(const J& j, SessionEvent& v) {",
                  "        decode_event(j, v);",
                  "    }",
                  "    template <class J>",
                  "    static void write(J& j, const SessionEvent& v) {",
                  "        j = J::object();",
                  "        j[\"type\"] = v.type;"]
        for f in m.envelope:
            put = "put" if f.required else "put_opt"
            lines.append(f"        {put}(j, {cstr(f.json)}, v.{ident(f.json)});")
        lines += ["        std::visit([&j](const auto& data) { codec::write(j[\"data\"], data); }, v.data);",
                  "    }", "};", "",
                  "template <>",
                  "struct Codec<RawEventData> {",
                  "    template <class J>",
                  "    static void read(const J& j, RawEventData& v) {",
                  "        v.data = j;",
                  "    }",
                  "    template <class J>",
                  "    static void write(J& j, const RawEventData& v) {",
                  "        j = v.data;",
                  "    }",
                  "};"]
        return lines

    def events_api(self) -> list:
        m = self.m
        lines = ["template <class Json>",
                 "SessionEvent::SessionEvent(std::string_view json, std::string_view fallback_type) {",
                 "    try {",
                 "        Json j = Json::parse(json.begin(), json.end(), nullptr, false);",
                 "        if (!j.is_discarded()) {",
                 "            codec::decode_event(j, *this);",
                 "        }",
                 "        if (type.empty()) {",
                 "            type = std::string(fallback_type);",
                 "        }",
                 "    } catch (...) {",
                 "        // Out of memory or the like: keep what was decoded.",
                 "    }",
                 "}", "",
                 "/** Decodes one event envelope (the JSON an EventHandler gets). Never throws: data that",
                 " *  does not match its type's schema, or of a type this header does not know, is",
                 " *  RawEventData; text that is not JSON gives an event with only RawEventData (null).",
                 " *  (A template only so that a program that parses no events compiles no decoder.) */",
                 "template <int Lazy = 0>",
                 "SessionEvent parse_event(std::string_view json) {",
                 "    return SessionEvent(json);",
                 "}", "",
                 "/** parse_event() with the type an EventHandler is given, kept when the JSON lacks it. */",
                 "template <int Lazy = 0>",
                 "SessionEvent parse_event(std::string_view type, std::string_view json) {",
                 "    return SessionEvent(json, type);",
                 "}", "",
                 "/** A copilot::EventHandler that hands `handler` each event parsed, for",
                 " *  SessionConfig::on_event and Session::subscribe. */",
                 "template <int Lazy = 0>",
                 "::copilot::EventHandler event_handler(std::function<void(const SessionEvent&)> handler) {",
                 "    return [handler = std::move(handler)](std::string_view type, std::string_view json) {",
                 "        handler(SessionEvent(json, type));",
                 "    };",
                 "}", "",
                 "/** Every event type this header describes, in schema order. */",
                 f"inline constexpr std::array<std::string_view, {len(m.events)}> session_event_types = {{"]
        lines += [f"    {cstr(e.type)}," for e in m.events]
        lines += ["};", "",
                  "/** The event type of the struct `data` holds (its static `event_type`), \"\" for",
                  " *  RawEventData: std::visit's answer without compiling a visitor per event type. */",
                  "inline std::string_view event_type_of(const SessionEventData& data) {",
                  "    return data.index() == 0 ? std::string_view() : session_event_types[data.index() - 1];",
                  "}"]
        return lines

    # ------------------------------------------------------------ RPC
    def rpc_code(self) -> list:
        lines = []
        for scope in ("server", "session"):
            methods = sorted((m for m in self.m.methods if m.scope == scope), key=lambda m: (m.path, m.verb))
            by_ns = {}
            for m in methods:
                by_ns.setdefault(tuple(snake(p) for p in m.path), []).append(m)
            # A namespace and a function of one name in one namespace cannot both be.
            namespaces = {ns[:i] for ns in by_ns for i in range(1, len(ns) + 1)}
            for ns, group in by_ns.items():
                names = set()
                for m in group:
                    fn = snake(m.verb)
                    assert ns + (fn,) not in namespaces, f"{m.name}: function {fn} is also a namespace"
                    assert fn not in names, f"{m.name}: two functions {fn}"
                    names.add(fn)
            for ns, group in by_ns.items():
                path = "::".join(("rpc", scope) + ns)
                lines += [f"namespace {path} {{", ""]
                for m in group:
                    lines += self.rpc_function(m, scope) + [""]
                lines += [f"}}  // namespace {path}", ""]
        return lines

    def rpc_function(self, m, scope) -> list:
        notes = [f"({m.name})"] + notes_of(m)
        if m.internal:
            notes.append("The CLI marks it internal: it may change without notice.")
        if m.notification:
            notes.append("A notification: the CLI sends no reply.")
        lines = doc(m.doc, "", notes)
        result = self.ctype(m.result)
        owner, obj = ("Client", "client") if scope == "server" else ("Session", "session")
        args = f"{owner}& {obj}"
        if m.params is None:
            call = f"codec::call<{result}>({obj}, {cstr(m.name)})"
        else:
            ptype = self.ctype(m.params)
            if m.params_optional:
                args += f", const std::optional<{ptype}>& params = std::nullopt"
            else:
                args += f", const {ptype}& params"
            call = f"codec::call<{result}>({obj}, {cstr(m.name)}, params)"
        return lines + [f"template <class {owner} = ::copilot::{owner}>",
                        f"{result} {snake(m.verb)}({args}) {{", f"    return {call};", "}"]


PRELUDE = r"""/*
 * Typed events, types and JSON-RPC methods over copilot.hpp, on nlohmann/json.
 *
 * Generated by scripts/gen-types.py (scripts/typegen/cpp.py) from the Copilot CLI
 * {version} schemas. DO NOT EDIT.
 *
 * Optional: copilot.hpp does not include it and keeps no dependency; this header
 * needs <nlohmann/json.hpp> (3.x; Debian: nlohmann-json3-dev) and C++17.
 *
 * Naming, in namespace copilot::types:
 * - Types keep the schema's PascalCase names (those of the official SDKs); struct
 *   members keep the JSON names (camelCase; a C++ keyword gets a trailing _, e.g.
 *   `default_`). A required member is T, an optional or nullable one std::optional<T>;
 *   opaque JSON is nlohmann::json (null when absent); date-times are RFC 3339 strings;
 *   integers are int64_t (int32_t where the schema bounds them so), numbers double.
 * - Enums are structs over StringEnum, holding the `value` string, so a value newer
 *   than this header still decodes; the known values are static constexpr
 *   std::string_view members in snake_case: `if (mode == SessionMode::plan)`.
 * - Tagged unions are std::variant<XUnknown, variants...>; XUnknown keeps, in `raw`, a
 *   variant this header does not describe or one that did not decode.
 * - Events: parse_event(json) -> SessionEvent, whose `data` is a std::variant of
 *   RawEventData and every event type's data struct (AssistantMessageData, ...,
 *   each with a static `event_type`). event_handler(fn) adapts a handler of
 *   SessionEvent for SessionConfig::on_event and Session::subscribe.
 * - RPC: one function per server- and session-scope method, in nested namespaces
 *   after the wire name, all snake_case: session.model.switchTo is
 *   rpc::session::model::switch_to(session, ModelSwitchToRequest{...}), models.list
 *   is rpc::server::models::list(client). They call Session::call / Client::call,
 *   block like them and throw copilot::Error like them; a result that does not
 *   match its schema throws copilot::Error with COPILOT_ERR_INVALID_JSON. They are
 *   templates over the owner (copilot::Session or copilot::Client, or a stand-in
 *   with the same call(method, params_json)), so a program compiles the JSON code
 *   of the methods it calls only. The methods the host implements (clientSession,
 *   clientGlobal scopes) have their types only.
 *
 * Decoding is lenient: unknown members are ignored, a missing (or null) required
 * member keeps its default, unknown enum values and union variants are kept. A
 * member of the wrong JSON type throws copilot::types::DecodeError from from_json
 * (nlohmann::json::get<T>(), from_json_text<T>()); parse_event() catches it and
 * keeps that event's data raw.
 *
 * The JSON code is in codec::Codec<T> specializations of member templates, reached
 * from nlohmann by two ADL function templates (from_json, to_json): compiled only
 * for the types a program uses, with no overload set of thousands to resolve.
 * Compile time: including this header costs about 15 s of g++; decoding events
 * about 20 s more (the destructors and decoders of every event struct). Copying,
 * assigning or encoding a whole SessionEvent compiles every event struct's copy,
 * assignment or encoder too: inspect events in place where you can (event_handler
 * hands out a const SessionEvent&).
 */
#ifndef COPILOT_TYPES_HPP
#define COPILOT_TYPES_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "copilot.hpp"

namespace copilot {
namespace types {

/** The CLI version whose schemas this header was generated from. */
inline constexpr std::string_view schema_version = "{version}";

/** JSON of the wrong type for the member it fills ("content: expected string, got number"). */
class DecodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/** Base of the generated enums: the value as a string, compared with strings. */
struct StringEnum {
    std::string value;

    StringEnum() = default;
    StringEnum(std::string v) : value(std::move(v)) {}
    StringEnum(std::string_view v) : value(v) {}
    StringEnum(const char* v) : value(v) {}

    friend bool operator==(const StringEnum& a, const StringEnum& b) { return a.value == b.value; }
    friend bool operator!=(const StringEnum& a, const StringEnum& b) { return a.value != b.value; }
    friend bool operator<(const StringEnum& a, const StringEnum& b) { return a.value < b.value; }
    friend bool operator==(const StringEnum& a, std::string_view b) { return a.value == b; }
    friend bool operator!=(const StringEnum& a, std::string_view b) { return a.value != b; }
    friend bool operator==(std::string_view a, const StringEnum& b) { return a == b.value; }
    friend bool operator!=(std::string_view a, const StringEnum& b) { return a != b.value; }
    friend bool operator==(const StringEnum& a, const char* b) { return a.value == b; }
    friend bool operator!=(const StringEnum& a, const char* b) { return a.value != b; }
};

/** Base of each union's unknown alternative: the variant's JSON as received. */
struct UnknownVariant {
    nlohmann::json raw{};
};

namespace codec {

/** The JSON code of one generated type: static read(json, T&) and write(json&, const T&). */
template <class T, class = void>
struct Codec {};

}  // namespace codec

/** nlohmann::json's hooks (found by ADL): get<T>(), conversions, json(value). */
template <class J, class T>
auto from_json(const J& j, T& v) -> decltype(codec::Codec<T>::read(j, v)) {
    codec::Codec<T>::read(j, v);
}
template <class J, class T>
auto to_json(J& j, const T& v) -> decltype(codec::Codec<T>::write(j, v)) {
    codec::Codec<T>::write(j, v);
}

namespace codec {

[[noreturn]] inline void mismatch(const char* want, const nlohmann::json& j) {
    throw DecodeError(std::string("expected ") + want + ", got " + j.type_name());
}

/** True for an object; false for null (nothing to decode); throws otherwise. */
inline bool object(const nlohmann::json& j) {
    if (j.is_object()) return true;
    if (!j.is_null()) mismatch("object", j);
    return false;
}

// read: JSON into a value; null leaves it as it was (an optional becomes empty).
// write: a value into JSON. All declared first, so each finds the others.
inline void read(const nlohmann::json& j, std::string& v);
inline void read(const nlohmann::json& j, bool& v);
inline void read(const nlohmann::json& j, double& v);
inline void read(const nlohmann::json& j, std::int64_t& v);
inline void read(const nlohmann::json& j, std::int32_t& v);
inline void read(const nlohmann::json& j, nlohmann::json& v);
template <class T>
auto read(const nlohmann::json& j, T& v) -> decltype(Codec<T>::read(j, v));
template <class T>
void read(const nlohmann::json& j, std::optional<T>& v);
template <class T>
void read(const nlohmann::json& j, std::vector<T>& v);
template <class T>
void read(const nlohmann::json& j, std::map<std::string, T>& v);
inline void write(nlohmann::json& j, const std::string& v);
inline void write(nlohmann::json& j, bool v);
inline void write(nlohmann::json& j, double v);
inline void write(nlohmann::json& j, std::int64_t v);
inline void write(nlohmann::json& j, std::int32_t v);
inline void write(nlohmann::json& j, const nlohmann::json& v);
template <class T>
auto write(nlohmann::json& j, const T& v) -> decltype(Codec<T>::write(j, v));
template <class T>
void write(nlohmann::json& j, const std::optional<T>& v);
template <class T>
void write(nlohmann::json& j, const std::vector<T>& v);
template <class T>
void write(nlohmann::json& j, const std::map<std::string, T>& v);

inline void read(const nlohmann::json& j, std::string& v) {
    if (j.is_string()) v = j.get_ref<const std::string&>();
    else if (!j.is_null()) mismatch("string", j);
}
inline void read(const nlohmann::json& j, bool& v) {
    if (j.is_boolean()) v = j.get<bool>();
    else if (!j.is_null()) mismatch("boolean", j);
}
inline void read(const nlohmann::json& j, double& v) {
    if (j.is_number()) v = j.get<double>();
    else if (!j.is_null()) mismatch("number", j);
}
inline void read(const nlohmann::json& j, std::int64_t& v) {
    if (j.is_number_unsigned()) {
        auto u = j.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) mismatch("integer", j);
        v = static_cast<std::int64_t>(u);
    } else if (j.is_number_integer()) {
        v = j.get<std::int64_t>();
    } else if (j.is_number_float()) {
        double d = j.get<double>();
        if (!(std::trunc(d) == d && std::fabs(d) < 9.2e18)) mismatch("integer", j);
        v = static_cast<std::int64_t>(d);
    } else if (!j.is_null()) {
        mismatch("integer", j);
    }
}
inline void read(const nlohmann::json& j, std::int32_t& v) {
    std::int64_t wide = v;
    read(j, wide);
    if (wide < std::numeric_limits<std::int32_t>::min() || wide > std::numeric_limits<std::int32_t>::max()) {
        mismatch("32-bit integer", j);
    }
    v = static_cast<std::int32_t>(wide);
}
inline void read(const nlohmann::json& j, nlohmann::json& v) { v = j; }
template <class T>
auto read(const nlohmann::json& j, T& v) -> decltype(Codec<T>::read(j, v)) {
    Codec<T>::read(j, v);
}
// Values are decoded in place (emplace, a vector of n defaults): copying or moving
// the generated types instantiates far more code than default-constructing them.
template <class T>
void read(const nlohmann::json& j, std::optional<T>& v) {
    if (j.is_null()) {
        v.reset();
        return;
    }
    read(j, v.emplace());
}
template <class T>
void read(const nlohmann::json& j, std::vector<T>& v) {
    if (j.is_null()) return;
    if (!j.is_array()) mismatch("array", j);
    std::vector<T> out(j.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if constexpr (std::is_same<T, bool>::value) {
            bool item = false;
            read(j[i], item);
            out[i] = item;
        } else {
            read(j[i], out[i]);
        }
    }
    v = std::move(out);
}
template <class T>
void read(const nlohmann::json& j, std::map<std::string, T>& v) {
    if (!object(j)) return;
    v.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
        read(it.value(), v[it.key()]);
    }
}

inline void write(nlohmann::json& j, const std::string& v) { j = v; }
inline void write(nlohmann::json& j, bool v) { j = v; }
inline void write(nlohmann::json& j, double v) { j = v; }
inline void write(nlohmann::json& j, std::int64_t v) { j = v; }
inline void write(nlohmann::json& j, std::int32_t v) { j = v; }
inline void write(nlohmann::json& j, const nlohmann::json& v) { j = v; }
template <class T>
auto write(nlohmann::json& j, const T& v) -> decltype(Codec<T>::write(j, v)) {
    Codec<T>::write(j, v);
}
template <class T>
void write(nlohmann::json& j, const std::optional<T>& v) {
    if (v) write(j, *v);
    else j = nullptr;
}
template <class T>
void write(nlohmann::json& j, const std::vector<T>& v) {
    j = nlohmann::json::array();
    for (const auto& item : v) {
        write(j.emplace_back(), item);
    }
}
template <class T>
void write(nlohmann::json& j, const std::map<std::string, T>& v) {
    j = nlohmann::json::object();
    for (const auto& [key, item] : v) {
        write(j[key], item);
    }
}

/** Reads member `key`, if present, into `out`; a mismatch names the member. */
template <class T>
void get(const nlohmann::json& j, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    try {
        read(*it, out);
    } catch (const DecodeError& e) {
        throw DecodeError(std::string(key) + ": " + e.what());
    }
}

/** get(), keeping the default when the member does not decode. */
template <class T>
void get_lenient(const nlohmann::json& j, const char* key, T& out) {
    try {
        get(j, key, out);
    } catch (const DecodeError&) {
    }
}

/** Writes a required member (an empty optional as null). */
template <class T>
void put(nlohmann::json& j, const char* key, const T& v) {
    write(j[key], v);
}

/** Writes an optional member, left out when empty (or null). */
template <class T>
void put_opt(nlohmann::json& j, const char* key, const std::optional<T>& v) {
    if (v) write(j[key], *v);
}
inline void put_opt(nlohmann::json& j, const char* key, const nlohmann::json& v) {
    if (!v.is_null()) j[key] = v;
}

/** A union's tag: the member `key` of an object, else nullptr (the union keeps it raw). */
inline const nlohmann::json* tag(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

/** Decodes alternative I of a union; one that does not decode is kept raw (alternative 0). */
template <std::size_t I, class V>
void read_alternative(const nlohmann::json& j, V& v) {
    try {
        read(j, v.template emplace<I>());
    } catch (const DecodeError&) {
        v.template emplace<0>().raw = j;
    }
}

template <class T>
struct Codec<T, std::enable_if_t<std::is_base_of<StringEnum, T>::value>> {
    template <class J>
    static void read(const J& j, T& v) {
        codec::read(j, v.value);
    }
    template <class J>
    static void write(J& j, const T& v) {
        j = v.value;
    }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_base_of<UnknownVariant, T>::value>> {
    template <class J>
    static void read(const J& j, T& v) {
        v.raw = j;
    }
    template <class J>
    static void write(J& j, const T& v) {
        j = v.raw;
    }
};

/** JSON text of a value: dump(), with invalid UTF-8 as copilot::Error. */
inline std::string dump(const nlohmann::json& j) {
    try {
        return j.dump();
    } catch (const nlohmann::json::exception& e) {
        throw ::copilot::Error(COPILOT_ERR_INVALID_ARGUMENT, e.what());
    }
}

template <class R>
R result(const char* method, const std::string& text) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        throw ::copilot::Error(COPILOT_ERR_INVALID_JSON, std::string(method) + ": the result is not JSON");
    }
    R r{};
    try {
        read(j, r);
    } catch (const DecodeError& e) {
        throw ::copilot::Error(COPILOT_ERR_INVALID_JSON,
                               std::string(method) + ": the result does not match its schema: " + e.what());
    }
    return r;
}

template <class P>
std::string params_text(const P& params) {
    nlohmann::json j;
    write(j, params);
    return dump(j);
}
template <class P>
std::string params_text(const std::optional<P>& params) {
    return params ? params_text(*params) : std::string();
}

template <class R, class Owner>
R call(Owner& owner, const char* method) {
    return result<R>(method, owner.call(method));
}
template <class R, class Owner, class P>
R call(Owner& owner, const char* method, const P& params) {
    return result<R>(method, owner.call(method, params_text(params)));
}

}  // namespace codec

/** A value as JSON text, e.g. a ProviderConfig for a SessionConfig's JSON. */
template <class T>
std::string to_json_text(const T& value) {
    nlohmann::json j;
    codec::write(j, value);
    return codec::dump(j);
}

/** A value from JSON text; throws nlohmann::json::parse_error or DecodeError. */
template <class T>
T from_json_text(std::string_view text) {
    T value{};
    codec::read(nlohmann::json::parse(text.begin(), text.end()), value);
    return value;
}
"""


def emit(model) -> dict:
    em = CppEmitter(model)
    out = [PRELUDE.replace("{version}", model.version).rstrip("\n"), ""]
    for name in em.order:
        out += em.definition(name) + [""]
    out += ["namespace codec {", ""] + em.codecs() + em.events_codec()
    out += ["", "}  // namespace codec", ""] + em.events_api() + [""]
    out += em.rpc_code()
    out += ["}  // namespace types", "}  // namespace copilot", "", "#endif  // COPILOT_TYPES_HPP", ""]
    return {OUT: "\n".join(out)}
