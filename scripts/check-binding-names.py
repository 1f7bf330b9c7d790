#!/usr/bin/env python3
"""Checks that the Android and iOS sources use only what the generated bindings export.

No Android SDK or Swift compiler runs in CI, so a renamed core function, a record field that
moved, or a Swift argument label that changed would only be found on a developer's Mac or in
Android Studio. This script reads the generated Kotlin and Swift bindings (scripts/gen-bindings.sh
writes them to bindings/) and the app sources, and reports every use that the bindings do not
declare:

  Kotlin (android/core-logic, android/app)
    imports        `import app.gridbook.ffi.X`: X is declared by the bindings
    qualified      `T.X` on a binding type T (enum entry, sealed variant, companion function)
    members        `v.m` where `v` is declared with a binding type T: m is a method or field of T
    records        `T(name = …)`: every named argument is a field of the record (or variant)
  Swift (ios/Sources/GridbookKit, ios/App)
    qualified      `T.x` on a binding type T (enum case, static function)
    members        `v.m` / `v.m(label: …)` where `v` is declared (or assigned from a property
                   declared) with a binding type: m exists, and the labels are the method's
    calls          `f(label: …)` / `.m(label: …)` of a binding function or method that the app does
                   not declare itself: the labels are those of one of its declarations
    records        `T(label: …)`: the labels are the record's fields, in their order, with every
                   field that has no default

Prints one line per problem (file:line: what), then `suite: N passed, M failed` with one check per
kind above and platform, and exits 1 if anything failed.

  scripts/check-binding-names.py [--root DIR] [--bindings DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# ---- the bindings -----------------------------------------------------------------------------


@dataclass
class Func:
    name: str
    labels: list[str]
    # labels of parameters with a default value (optional at the call site)
    optional: set[str] = field(default_factory=set)


@dataclass
class Type:
    name: str
    kind: str  # record, enum, sealed, object, callback, error
    # record fields in order (name -> has default), enum cases / sealed variants, methods
    fields: list[tuple[str, bool]] = field(default_factory=list)
    cases: set[str] = field(default_factory=set)
    methods: dict[str, list[Func]] = field(default_factory=dict)
    # sealed variants' own fields (Kotlin `PlanItem.AppointmentItem(appointment = …)`)
    variant_fields: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)

    def members(self) -> set[str]:
        return {f for f, _ in self.fields} | self.cases | set(self.methods)


@dataclass
class Api:
    types: dict[str, Type] = field(default_factory=dict)
    functions: dict[str, list[Func]] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)  # other top-level names (type aliases, helpers)

    def declares(self, name: str) -> bool:
        return name in self.types or name in self.functions or name in self.other

    def method_names(self) -> dict[str, list[Func]]:
        out: dict[str, list[Func]] = {}
        for t in self.types.values():
            if t.kind in ("object", "callback"):
                for name, fs in t.methods.items():
                    out.setdefault(name, []).extend(fs)
        return out


def strip_comments(text: str) -> str:
    """Removes // and /* */ comments, keeping strings and line numbers."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            # blanks, not nothing: what follows keeps its column
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            if text.startswith('"""', i):
                k = text.find('"""', i + 3)
                j = n if k < 0 else k + 3
            else:
                while j < n and text[j] != '"' and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                j += 1
            out.append(text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_strings(text: str) -> str:
    """String literals emptied (their interpolations too), so names inside text are not checked."""
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)


def matching(text: str, start: int, open_: str = "(", close: str = ")") -> int:
    """Index of the bracket closing the one at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def split_top(args: str) -> list[str]:
    """Splits an argument list at its top-level commas."""
    parts, depth, cur = [], 0, []
    for ch in args:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def body_of(text: str, at: int) -> tuple[int, int]:
    """The span inside the braces of the declaration starting at `at`."""
    open_ = text.find("{", at)
    if open_ < 0:
        return at, at
    return open_ + 1, matching(text, open_, "{", "}")


def with_interfaces(api: Api, suffix: str) -> Api:
    """An object's methods are also declared on its interface (Kotlin) or protocol (Swift): merged in."""
    for t in list(api.types.values()):
        iface = api.types.get(t.name + suffix)
        if t.kind == "object" and iface:
            for k, v in iface.methods.items():
                t.methods.setdefault(k, v)
    return api


def skipped(name: str) -> bool:
    """The generator's own helpers, not the API."""
    return name.startswith(("FfiConverter", "Uniffi", "uniffi", "ffi_", "Ffi")) or name in ("RustBuffer", "RustBufferByReference")


KT_PARAM = re.compile(r"(?:va[lr]\s+)?`?(\w+)`?\s*:\s*[^=]+?(=\s*.+)?$", re.S)


def kt_params(params: str) -> list[tuple[str, bool]]:
    out = []
    for p in split_top(params):
        p = p.strip()
        if not p:
            continue
        m = KT_PARAM.match(p)
        if m:
            out.append((m.group(1), m.group(2) is not None))
    return out


def kt_funcs(body: str) -> dict[str, list[Func]]:
    out: dict[str, list[Func]] = {}
    for fm in re.finditer(r"\bfun\s+`?(\w+)`?\s*\(", body):
        start = fm.end() - 1
        params = kt_params(body[start + 1 : matching(body, start)])
        out.setdefault(fm.group(1), []).append(Func(fm.group(1), [p for p, _ in params], {p for p, d in params if d}))
    return out


KT_DECL = re.compile(
    r"^(?:@\w+(?:\([^)\n]*\))?\s*)*(?P<mods>(?:(?:public|open|data|enum|sealed|internal|private|suspend|abstract)\s+)*)"
    r"(?P<kind>class|interface|object|fun|typealias|val)\s+`?(?P<name>\w+)`?",
    re.M,
)


KT_FUN = re.compile(r"^[ \t]*(?:@\w+(?:\([^)\n]*\))?\s*)*(?P<mods>(?:(?:public|internal|private|suspend|inline)\s+)*)fun\s+`?(?P<name>\w+)`?\s*\(", re.M)


def spans_of(text: str, decl: re.Pattern[str]) -> list[tuple[int, int]]:
    """The bodies of every type declared at column 0, public or not."""
    out = []
    for m in decl.finditer(text):
        if m.group("kind") in ("class", "interface", "object", "struct", "enum", "protocol", "extension"):
            out.append(body_of(text, m.end()))
    return out


def inside(spans: list[tuple[int, int]], at: int) -> bool:
    return any(a <= at < b for a, b in spans)


def parse_kotlin(path: Path) -> Api:
    api = Api()
    text = strip_comments(path.read_text(encoding="utf-8"))
    types = spans_of(text, KT_DECL)
    for m in KT_FUN.finditer(text):
        name = m.group("name")
        if inside(types, m.start()) or "internal" in m.group("mods") or "private" in m.group("mods") or skipped(name):
            continue
        start = m.end() - 1
        params = kt_params(text[start + 1 : matching(text, start)])
        api.functions.setdefault(name, []).append(Func(name, [p for p, _ in params], {p for p, d in params if d}))
    for m in KT_DECL.finditer(text):
        mods, kind, name = m.group("mods"), m.group("kind"), m.group("name")
        if "internal" in mods or "private" in mods or skipped(name) or kind == "fun":
            continue
        if kind == "class" and "data" in mods:
            start = text.index("(", m.end())
            t = Type(name, "record", fields=kt_params(text[start + 1 : matching(text, start)]))
            t.methods["copy"] = []
            api.types[name] = t
        elif kind == "class" and "enum" in mods:
            b0, b1 = body_of(text, m.end())
            entries = text[b0:b1].split(";")[0]
            api.types[name] = Type(name, "enum", cases=set(re.findall(r"`?\b([A-Z][A-Z0-9_]*)\b`?", entries)))
        elif kind == "class" and "sealed" in mods:
            b0, b1 = body_of(text, m.end())
            body = text[b0:b1]
            t = Type(name, "error" if "Exception" in text[m.end() : b0] else "sealed")
            for vm in re.finditer(r"^\s{4}(?:data\s+)?(?:class|object)\s+`?(\w+)`?\s*(\()?", body, re.M):
                t.cases.add(vm.group(1))
                if vm.group(2):
                    vs = vm.end() - 1
                    t.variant_fields[vm.group(1)] = kt_params(body[vs + 1 : matching(body, vs)])
            api.types[name] = t
        elif kind == "class":
            b0, b1 = body_of(text, m.end())
            t = Type(name, "object", methods=kt_funcs(text[b0:b1]))
            api.types[name] = t
        elif kind == "interface":
            b0, b1 = body_of(text, m.end())
            api.types[name] = Type(name, "callback", methods=kt_funcs(text[b0:b1]))
        else:
            api.other.add(name)
    return with_interfaces(api, "Interface")


SW_PARAM = re.compile(r"^\s*(?:(\w+)\s+)?(\w+)\s*:\s*[^=]+?(=.+)?$", re.S)


def swift_params(params: str) -> list[tuple[str, bool]]:
    out = []
    for p in split_top(params):
        m = SW_PARAM.match(p.strip())
        if m:
            label = m.group(1) or m.group(2)
            out.append((label, m.group(3) is not None))
    return out


def swift_funcs(body: str) -> dict[str, list[Func]]:
    out: dict[str, list[Func]] = {}
    for fm in re.finditer(r"\b(?:(?:open|public|static|convenience|required|override)\s+)*(?:func\s+`?(\w+)`?|(?<![\w.])init)\s*\(", body):
        name = fm.group(1) or "init"
        start = fm.end() - 1
        params = swift_params(body[start + 1 : matching(body, start)])
        if name == "init" and any(p in ("unsafeFromRawPointer", "noPointer") for p, _ in params):
            continue
        out.setdefault(name, []).append(Func(name, [p for p, _ in params], {p for p, d in params if d}))
    return out


SW_DECL = re.compile(r"^(?P<mods>(?:(?:public|open|final)\s+)+)(?P<kind>struct|enum|class|protocol|func|typealias|let|var)\s+`?(?P<name>\w+)`?", re.M)


SW_TYPES = re.compile(r"^(?P<mods>(?:(?:public|open|final|fileprivate|private|internal)\s+)*)(?P<kind>struct|enum|class|protocol|extension)\s+`?(?P<name>\w+)`?", re.M)


def parse_swift(path: Path) -> Api:
    api = Api()
    text = strip_comments(path.read_text(encoding="utf-8"))
    types = spans_of(text, SW_TYPES)
    for m in SW_DECL.finditer(text):
        kind, name = m.group("kind"), m.group("name")
        if skipped(name) or (kind in ("func", "let", "var") and inside(types, m.start())):
            continue
        if kind == "func":
            start = text.index("(", m.end() - 1)
            params = swift_params(text[start + 1 : matching(text, start)])
            api.functions.setdefault(name, []).append(Func(name, [p for p, _ in params], {p for p, d in params if d}))
            continue
        if kind in ("typealias", "let", "var"):
            api.other.add(name)
            continue
        b0, b1 = body_of(text, m.end())
        body = text[b0:b1]
        if kind == "struct":
            t = Type(name, "record")
            im = re.search(r"\bpublic init\(", body)
            if im:
                start = im.end() - 1
                t.fields = swift_params(body[start + 1 : matching(body, start)])
            api.types[name] = t
        elif kind == "enum":
            t = Type(name, "enum")
            for cm in re.finditer(r"^[ \t]*case\s+`?(\w+)`?[ \t]*(\()?", body, re.M):
                t.cases.add(cm.group(1))
                if cm.group(2):
                    start = cm.end() - 1
                    t.variant_fields[cm.group(1)] = swift_params(body[start + 1 : matching(body, start)])
            if name.endswith("Error"):
                t.kind = "error"
            api.types[name] = t
        elif kind == "class":
            api.types[name] = Type(name, "object", methods=swift_funcs(body))
        elif kind == "protocol":
            api.types[name] = Type(name, "callback", methods=swift_funcs(body))
    return with_interfaces(api, "Protocol")


# ---- the app sources --------------------------------------------------------------------------


@dataclass
class Problem:
    check: str
    where: str
    what: str


@dataclass
class Source:
    path: Path
    text: str  # comments removed, string contents kept
    code: str  # comments removed, strings emptied

    def line(self, offset: int) -> int:
        return self.code.count("\n", 0, offset) + 1

    def at(self, root: Path, offset: int) -> str:
        try:
            rel = self.path.relative_to(root)
        except ValueError:
            rel = self.path
        return f"{rel}:{self.line(offset)}"


def load_sources(dirs: list[Path], suffix: str) -> list[Source]:
    out = []
    for d in dirs:
        if not d.exists():
            continue
        for p in sorted(d.rglob(f"*{suffix}")):
            if "GridbookFFI.swift" == p.name or "/build/" in str(p):
                continue
            text = strip_comments(p.read_text(encoding="utf-8"))
            out.append(Source(p, text, blank_strings(text)))
    return out


def extensions(sources: list[Source], lang: str) -> dict[str, set[str]]:
    """Members the app adds to binding types (`fun SyncStatus.light()`, `extension PlanItem { var section … }`)."""
    out: dict[str, set[str]] = {}
    for s in sources:
        if lang == "kotlin":
            for m in re.finditer(r"\b(?:fun|val|var)\s+(?:<[^>]*>\s*)?([A-Z]\w*)\.`?(\w+)`?", s.code):
                out.setdefault(m.group(1), set()).add(m.group(2))
        else:
            for m in re.finditer(r"\bextension\s+(\w+)[^{]*\{", s.code):
                body = s.code[m.end() : matching(s.code, m.end() - 1, "{", "}")]
                out.setdefault(m.group(1), set()).update(re.findall(r"\b(?:func|var|let|static\s+func|static\s+let)\s+`?(\w+)`?", body))
    return out


KOTLIN_BUILTINS = {
    "entries", "values", "valueOf", "name", "ordinal", "copy", "toString", "hashCode", "equals", "let", "also",
    "apply", "run", "takeIf", "takeUnless", "javaClass", "close", "destroy", "use", "message", "cause",
    "stackTrace", "localizedMessage", "component1", "component2", "component3", "component4",
}
SWIFT_BUILTINS = {"self", "init", "rawValue", "hashValue", "description", "debugDescription", "localizedDescription"}


def declared_names(sources: list[Source], lang: str) -> set[str]:
    """Functions, properties, classes and parameters the app declares itself."""
    names: set[str] = set()
    for s in sources:
        if lang == "kotlin":
            names |= set(re.findall(r"\b(?:fun|val|var|class|object|interface)\s+(?:<[^>]*>\s*)?(?:[\w.]+\.)?`?(\w+)`?", s.code))
        else:
            names |= set(re.findall(r"\b(?:func|let|var|class|struct|enum|protocol|case)\s+`?(\w+)`?", s.code))
    return names


def rebound(code: str, lang: str) -> set[str]:
    """Identifiers bound by a closure, a loop or a pattern: their type is not known from a
    declaration, so they are not checked."""
    names: set[str] = set()
    if lang == "kotlin":
        for m in re.finditer(r"\{\s*\(?([\w\s,]+?)\)?\s*->", code):
            names |= {n.strip() for n in m.group(1).split(",")}
        names |= set(re.findall(r"\bfor\s*\(\s*(\w+)\s+in\b", code))
        for m in re.finditer(r"\b(?:val|var)\s*\(([^)]*)\)", code):
            names |= {n.strip() for n in m.group(1).split(",")}
    else:
        for m in re.finditer(r"\{\s*(?:\[[^\]]*\]\s*)?\(?([\w\s,]+?)\)?\s+in\b", code):
            names |= {n.strip() for n in m.group(1).split(",")}
        names |= set(re.findall(r"\bfor\s+(?:case\s+)?(?:let\s+)?\(?(\w+)", code))
        names |= set(re.findall(r"\blet\s+(\w+)\s*[),]", code))  # case .x(let name), (let a, let b)
        for m in re.finditer(r"\b(?:let|var)\s*\(([^)]*)\)", code):
            names |= {n.strip() for n in m.group(1).split(",")}
    return {n for n in names if n}


def assigned(code: str, props: dict[str, str]) -> dict[str, set[str | None]]:
    """`let name = …` (or val / var) without a type: what each assignment gives the name, by the
    type of the property read (`env.store`), None when that is not known."""
    out: dict[str, set[str | None]] = {}
    for m in re.finditer(r"\b(?:let|val|var)\s+([^\n{]*)", code):
        for part in split_top(m.group(1)):
            pm = re.match(r"\s*(\w+)\s*=\s*(.*)$", part, re.S)
            if not pm or re.match(r"\s*\w+\s*:", part):
                continue
            rhs = pm.group(2).strip()
            # an instance's property (`env.store`), not a type's or an object's (`LocalContext.current`)
            prop = re.fullmatch(r"[a-z_]\w*(?:\.\w+)*\.(\w+)", rhs)
            out.setdefault(pm.group(1), set()).add(props.get(prop.group(1)) if prop else None)
    for m in re.finditer(r"\blet\s+\(([^)]*)\)\s*=\s*\(([^)]*)\)", code):
        for name, value in zip(m.group(1).split(","), split_top(m.group(2))):
            prop = value.strip().split(".")[-1]
            out.setdefault(name.strip(), set()).add(props.get(prop))
    return out


def declared_types(sources: list[Source], api: Api, lang: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Per file: identifier -> binding type (when that is all it is ever bound to there);
    across files: property name -> binding type."""
    decl = re.compile(r"\b(\w+)\s*:\s*([A-Z]\w*)\b(\??)(?![.<(\w])")
    props: dict[str, set[str]] = {}
    typed: dict[str, dict[str, set[str]]] = {}
    for s in sources:
        found: dict[str, set[str]] = {}
        for m in decl.finditer(s.code):
            found.setdefault(m.group(1), set()).add(m.group(2))
            if re.search(r"\b(?:val|var|let)\s+$", s.code[max(0, m.start() - 12) : m.start()]):
                props.setdefault(m.group(1), set()).add(m.group(2))
        typed[str(s.path)] = found
    known_props = {k: next(iter(v)) for k, v in props.items() if len(v) == 1 and next(iter(v)) in api.types}
    per_file: dict[str, dict[str, str]] = {}
    for s in sources:
        declared = typed[str(s.path)]
        again = rebound(s.code, lang)
        lets = assigned(s.code, known_props)
        out: dict[str, str] = {}
        for name in set(declared) | set(lets):
            kinds = set(declared.get(name, set())) | set(lets.get(name, set()))
            if name in again or len(kinds) != 1:
                continue
            t = next(iter(kinds))
            if t is not None and t in api.types:
                out[name] = t
        per_file[str(s.path)] = out
    return per_file, known_props


def call_args(code: str, open_paren: int) -> list[str]:
    return split_top(code[open_paren + 1 : matching(code, open_paren)])


def kotlin_named(args: list[str]) -> list[str] | None:
    """The names of `name = value` arguments; None when every argument is positional."""
    names = [m.group(1) for a in args if (m := re.match(r"\s*`?(\w+)`?\s*=(?!=)", a))]
    return names if names else None


def swift_labels(args: list[str]) -> list[str]:
    out = []
    for a in args:
        m = re.match(r"\s*(\w+)\s*:(?!:)", a)
        if m:
            out.append(m.group(1))
    return out


def labels_fit(labels: list[str], func: Func) -> bool:
    """Swift: the labels are the declaration's, in order, leaving out only defaulted ones."""
    it = iter(func.labels)
    for label in labels:
        for p in it:
            if p == label:
                break
            if p not in func.optional:
                return False
        else:
            return False
    rest = list(it)
    return all(p in func.optional for p in rest)


def record_labels_fit(labels: list[str], fields: list[tuple[str, bool]]) -> bool:
    return labels_fit(labels, Func("init", [f for f, _ in fields], {f for f, d in fields if d}))


def merged(*apis: Api) -> Api:
    """One API over several generated files: core's records and the FFI's objects make one API."""
    out = Api()
    for a in apis:
        out.types.update(a.types)
        for name, fs in a.functions.items():
            out.functions.setdefault(name, []).extend(fs)
        out.other |= a.other
    return out


def check_kotlin(root: Path, api: Api, sources: list[Source], packages: dict[str, Api]) -> dict[str, list[Problem]]:
    found: dict[str, list[Problem]] = {"imports": [], "qualified": [], "members": [], "records": []}
    seen = dict.fromkeys(found, 0)
    per_file, _ = declared_types(sources, api, "kotlin")
    added = extensions(sources, "kotlin")
    for s in sources:
        for m in re.finditer(r"^import\s+(app\.gridbook\.ffi(?:\.core)?)\.(\w+)", s.code, re.M):
            seen["imports"] += 1
            package, name = m.group(1), m.group(2)
            if not packages[package].declares(name):
                found["imports"].append(Problem("imports", s.at(root, m.start()), f"{package}.{name} is not in the bindings"))
        for name, t in api.types.items():
            for m in re.finditer(r"(?<![\w.])" + name + r"\.`?(\w+)`?", s.code):
                member = m.group(1)
                seen["qualified"] += 1
                if member in KOTLIN_BUILTINS or member in t.members() or member in added.get(name, ()) or member == "Companion":
                    continue
                found["qualified"].append(Problem("qualified", s.at(root, m.start()), f"{name}.{member} is not in the bindings"))
            for m in re.finditer(r"(?<![\w.])" + name + r"(?:\.(\w+))?\s*\(", s.code):
                variant = m.group(1)
                fields = t.fields if variant is None else t.variant_fields.get(variant)
                if t.kind not in ("record", "sealed", "error") or fields is None:
                    continue
                names = kotlin_named(call_args(s.code, m.end() - 1))
                seen["records"] += 1
                for n in names or []:
                    if n not in {f for f, _ in fields}:
                        what = name + (f".{variant}" if variant else "")
                        found["records"].append(Problem("records", s.at(root, m.start()), f"{what} has no field `{n}`"))
                if names is not None:
                    missing = [f for f, d in fields if not d and f not in names]
                    positional = [a for a in call_args(s.code, m.end() - 1) if not re.match(r"\s*`?\w+`?\s*=(?!=)", a)]
                    if missing and len(positional) < len(missing):
                        what = name + (f".{variant}" if variant else "")
                        found["records"].append(Problem("records", s.at(root, m.start()), f"{what}(…) leaves out {', '.join(missing)}"))
        for ident, tname in per_file[str(s.path)].items():
            t = api.types[tname]
            for m in re.finditer(r"(?<![\w.])" + re.escape(ident) + r"\??\.`?(\w+)`?", s.code):
                member = m.group(1)
                seen["members"] += 1
                if member in KOTLIN_BUILTINS or member in t.members() or member in added.get(tname, ()):
                    continue
                found["members"].append(Problem("members", s.at(root, m.start()), f"{ident}: {tname} has no member `{member}`"))
    return {k: (seen[k], v) for k, v in found.items()}


def check_swift(root: Path, api: Api, sources: list[Source]) -> dict[str, list[Problem]]:
    found: dict[str, list[Problem]] = {"qualified": [], "members": [], "calls": [], "records": []}
    seen = dict.fromkeys(found, 0)
    own = declared_names(sources, "swift")
    per_file, _ = declared_types(sources, api, "swift")
    added = extensions(sources, "swift")
    methods = api.method_names()
    for s in sources:
        # T.x on a binding type
        for name, t in api.types.items():
            for m in re.finditer(r"(?<![\w.])" + name + r"\.`?(\w+)`?", s.code):
                member = m.group(1)
                seen["qualified"] += 1
                if member in SWIFT_BUILTINS or member in t.members() or member in added.get(name, ()):
                    continue
                found["qualified"].append(Problem("qualified", s.at(root, m.start()), f"{name}.{member} is not in the bindings"))
            # T(label: …): records, and objects' initialisers
            for m in re.finditer(r"(?<![\w.])" + name + r"\s*\(", s.code):
                labels = swift_labels(call_args(s.code, m.end() - 1))
                if t.kind == "record":
                    seen["records"] += 1
                    if not record_labels_fit(labels, t.fields):
                        want = ", ".join(f + ("?" if d else "") for f, d in t.fields)
                        found["records"].append(
                            Problem("records", s.at(root, m.start()), f"{name}({', '.join(labels)}:) does not fit {name}({want})")
                        )
                elif t.kind == "object" and "init" in t.methods:
                    seen["calls"] += 1
                    if not any(labels_fit(labels, f) for f in t.methods["init"]):
                        found["calls"].append(Problem("calls", s.at(root, m.start()), f"{name}({', '.join(labels)}:) is not an initialiser"))
        # v.m / v.m(labels) on a variable of a binding type
        for ident, tname in per_file[str(s.path)].items():
            t = api.types[tname]
            for m in re.finditer(r"(?<![\w.])" + re.escape(ident) + r"\??\.`?(\w+)`?(\s*\()?", s.code):
                member = m.group(1)
                if member in SWIFT_BUILTINS:
                    continue
                seen["members"] += 1
                if member not in t.members() and member not in added.get(tname, ()):
                    found["members"].append(Problem("members", s.at(root, m.start()), f"{ident}: {tname} has no member `{member}`"))
                elif m.group(2) and member in t.methods:
                    labels = swift_labels(call_args(s.code, m.end() - 1))
                    if not any(labels_fit(labels, f) for f in t.methods[member]):
                        sig = " or ".join(f"{member}({', '.join(f.labels)})" for f in t.methods[member])
                        found["calls"].append(Problem("calls", s.at(root, m.start()), f"{ident}.{member}({', '.join(labels)}:) is not {sig}"))
        # binding functions and methods the app does not declare itself: the labels fit
        for m in re.finditer(r"(?:(\.)|(?<![\w.]))(\w+)\s*\(", s.code):
            name = m.group(2)
            decls = (methods.get(name) if m.group(1) else api.functions.get(name)) or []
            if not decls or name in own:
                continue
            labels = swift_labels(call_args(s.code, m.end() - 1))
            if m.group(1) and not labels:
                # `.connect(printer)` on a receiver of unknown type: a platform API with the same
                # name (a binding method always takes its arguments with labels)
                continue
            seen["calls"] += 1
            if not any(labels_fit(labels, f) for f in decls):
                sig = " or ".join(f"{name}({', '.join(f.labels)})" for f in decls)
                found["calls"].append(Problem("calls", s.at(root, m.start()), f"{name}({', '.join(labels)}:) is not {sig}"))
    return {k: (seen[k], v) for k, v in found.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--bindings", type=Path, default=None, help="default: ROOT/bindings")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    bindings = (args.bindings or root / "bindings").resolve()
    kt_file = bindings / "kotlin/app/gridbook/ffi/gridbook_ffi.kt"
    kt_core_file = bindings / "kotlin/app/gridbook/ffi/core/gridbook_core.kt"
    sw_file = bindings / "swift/GridbookFFI.swift"
    sw_core_file = bindings / "swift/GridbookCore.swift"
    # core's files may be absent (a library without core's records); then nothing may import them
    missing = [str(p) for p in (kt_file, sw_file) if not p.is_file()]
    if missing:
        print(f"check-binding-names: no bindings at {', '.join(missing)}: run scripts/gen-bindings.sh", file=sys.stderr)
        print("suite: 0 passed, 1 failed")
        return 1
    # core's records are their own Kotlin package (app.gridbook.ffi.core) and their own Swift file in
    # the one GridbookFFI module
    kt_ffi = parse_kotlin(kt_file)
    kt_core = parse_kotlin(kt_core_file) if kt_core_file.is_file() else Api()
    kt_api = merged(kt_ffi, kt_core)
    sw_api = merged(parse_swift(sw_file), *([parse_swift(sw_core_file)] if sw_core_file.is_file() else []))
    if any(a.types.get("GridbookStore") is None or not a.types["GridbookStore"].methods for a in (kt_api, sw_api)):
        print("check-binding-names: no GridbookStore with methods in the bindings: did the generator's layout change?", file=sys.stderr)
        print("suite: 0 passed, 1 failed")
        return 1
    kt_sources = load_sources([root / "android/core-logic/src/main/kotlin", root / "android/app/src/main/kotlin"], ".kt")
    sw_sources = load_sources([root / "ios/Sources/GridbookKit", root / "ios/App"], ".swift")
    results = {
        "android": check_kotlin(root, kt_api, kt_sources, {"app.gridbook.ffi": kt_ffi, "app.gridbook.ffi.core": kt_core}),
        "ios": check_swift(root, sw_api, sw_sources),
    }
    passed = failed = 0
    for platform, checks in results.items():
        for check, (uses, problems) in checks.items():
            if problems:
                failed += 1
                print(f"FAIL {platform} {check}: {len(problems)} of {uses} uses")
                for p in problems:
                    print(f"     {p.where}: {p.what}")
            elif uses == 0:
                # a check that found nothing to check has stopped seeing the sources
                failed += 1
                print(f"FAIL {platform} {check}: no uses found (did the sources or the bindings move?)")
            else:
                passed += 1
                print(f"ok   {platform} {check} ({uses} uses)")
    files = len(kt_sources) + len(sw_sources)
    print(f"binding names: {files} app files against {len(kt_api.types)} Kotlin and {len(sw_api.types)} Swift binding types")
    print(f"suite: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
