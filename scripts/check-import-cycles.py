#!/usr/bin/env python3
"""Reports import cycles between files of different folders in one Rust crate's src dir.

Usage: scripts/check-import-cycles.py <crate>/src [--include-tests] [--verbose]

Builds the graph of file-level references: every `use` tree, and every path written in code that
starts with `crate::`, `super::`, `self::`, a child module's name or a name a `use` brought in
(`store::record_change`). A path is resolved to the file that defines the item: through child
modules, then through the imports and re-exports of the module it lands in (`pub use x::Y`,
`pub use x::*`), so `crate::Store` points at the file that defines `Store`, not at lib.rs. A `mod`
declaration is containment, not a reference. Comments and string literals are ignored.

A cycle whose files all sit in one folder is allowed (the files of a folder belong together); a
cycle through files of different folders means the folders have no order a newcomer can learn, and
is reported with the lines that make each of its edges. A module file beside its folder of child
modules (`sqlite.rs` with `sqlite/`) counts as in that folder, like a `mod.rs`. Each root (lib.rs,
main.rs, bin/*.rs) is read as its own crate. Exits 1 if there is any cycle, 2 on bad usage.

Code gated by `#[cfg(test)]` (unit-test modules, test-only imports) is left out unless
`--include-tests`: a test reaching for a shared fixture (`crate::testing`) is not a layer of the
crate, and the fixture itself necessarily uses the store it fills. Method calls (`store.foo()`)
and macros defined elsewhere are not seen: this is a map of paths, not a type checker.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ITEM_KINDS = r"(?:struct|enum|fn|type|const|static|trait|union|mod)"


def blank(text, start, end):
    """The text with [start, end) replaced by spaces, newlines kept (so line numbers hold)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def strip_comments_and_strings(src):
    """Source with comments, string, byte-string, raw-string and char literals blanked out."""
    out = []
    i, n = 0, len(src)
    keep = lambda s: out.append(s)  # noqa: E731
    hide = lambda s: out.append(re.sub(r"[^\n]", " ", s))  # noqa: E731
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            hide(src[i:j])
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            hide(src[i:j])
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(src, i)) and (i == 0 or not re.match(r"\w", src[i - 1])):
            close = '"' + m.group(1)
            j = src.find(close, m.end())
            j = n if j < 0 else j + len(close)
            hide(src[i:j])
            i = j
        elif c == '"' or (src.startswith('b"', i) and (i == 0 or not re.match(r"\w", src[i - 1]))):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            hide(src[i : j + 1])
            i = j + 1
        elif c == "'":
            m = re.compile(r"'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'").match(src, i)
            if m:
                hide(m.group(0))
                i = m.end()
            else:  # a lifetime or a label
                keep(c)
                i += 1
        else:
            j = i + 1
            while j < n and src[j] not in "/'\"br":
                j += 1
            keep(src[i:j])
            i = j
    return "".join(out)


def item_end(code, start):
    """End of the item starting at `start`: after its `;` or its matching `}`."""
    depth, i, n = 0, start, len(code)
    while i < n:
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ";" and depth == 0:
            return i + 1
        elif c == "{" and depth == 0:
            braces = 1
            i += 1
            while i < n and braces:
                braces += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
            return i
        i += 1
    return n


TEST_ATTR = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTR = re.compile(r"\s*#\s*\[")


def skip_attributes(code, i):
    """Index after any further `#[...]` attributes from i."""
    while True:
        m = ATTR.match(code, i)
        if not m:
            return i
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"[": 1, "]": -1}.get(code[j], 0)
            j += 1
        i = j


def strip_test_code(code):
    """Code with every `#[cfg(test)]` item blanked; returns it and the names of `#[cfg(test)] mod x;`."""
    test_mods = set()
    while True:
        m = TEST_ATTR.search(code)
        if not m:
            return code, test_mods
        start = skip_attributes(code, m.end())
        end = item_end(code, start)
        decl = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", code[start:end])
        if decl:
            test_mods.add((start, decl.group(1)))
        code = blank(code, m.start(), end)


class Scope:
    """A module's text range inside a file (the whole file, or an inline `mod x { ... }`)."""

    def __init__(self, path, start, end):
        self.path, self.start, self.end = path, start, end


class Crate:
    def __init__(self, src_dir, root_file, include_tests):
        self.src = src_dir
        self.include_tests = include_tests
        self.module_file = {}  # module path (tuple) -> file (relative to src)
        self.children = defaultdict(set)  # module path -> child module names
        self.code = {}  # file -> cleaned code
        self.scopes = defaultdict(list)  # file -> [Scope], innermost found by position
        self.imports = defaultdict(list)  # module path -> [(bound name or None for glob, path, file, line)]
        self.uses = []  # (file, scope path, segments, line)
        self.folder = {}  # file -> the folder it belongs to
        self.load(root_file, ())

    def load(self, file, modpath):
        full = os.path.join(self.src, file)
        with open(full, encoding="utf-8") as f:
            code = strip_comments_and_strings(f.read())
        test_mods = set()
        if not self.include_tests:
            code, test_mods = strip_test_code(code)
        self.code[file] = code
        self.module_file[modpath] = file
        self.scopes[file].append(Scope(modpath, 0, len(code)))
        base = os.path.basename(file)
        own_dir = os.path.dirname(file)
        if base not in ("lib.rs", "main.rs", "mod.rs"):
            own_dir = os.path.join(own_dir, base[:-3])
        # a file belongs to the folder of its own children when it has any (`sqlite.rs` beside
        # `sqlite/`, like a `mod.rs`), else to the folder it sits in
        self.folder[file] = os.path.dirname(file) or "."
        stack = [(modpath, len(code))]
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*([;{])", code):
            while stack and m.start() >= stack[-1][1]:
                stack.pop()
            inner = stack[-1][0]
            name = m.group(1)
            child = inner + (name,)
            self.children[inner].add(name)
            if m.group(2) == "{":
                end = item_end(code, m.start())
                self.module_file[child] = file
                self.scopes[file].append(Scope(child, m.start(), end))
                stack.append((child, end))
                continue
            rel_dir = os.path.join(own_dir, *inner[len(modpath) :])
            for cand in (os.path.join(rel_dir, name + ".rs"), os.path.join(rel_dir, name, "mod.rs")):
                if os.path.exists(os.path.join(self.src, cand)):
                    self.folder[file] = os.path.normpath(own_dir)
                    self.load(os.path.normpath(cand), child)
                    break
        for name in {n for _, n in test_mods}:
            # a `#[cfg(test)] mod x;` file is test code: known as a module, not loaded
            self.children[modpath].add(name)
        self.collect_uses(file)

    def scope_at(self, file, pos):
        best = None
        for s in self.scopes[file]:
            if s.start <= pos < s.end and (best is None or s.start >= best.start):
                best = s
        return best.path

    def collect_uses(self, file):
        code = self.code[file]
        use_ranges = []
        for m in re.finditer(r"\buse\s+(?!<)", code):
            end = item_end(code, m.end())
            use_ranges.append((m.start(), end))
            scope = self.scope_at(file, m.start())
            line = code.count("\n", 0, m.start()) + 1
            for segs, bound in parse_use(code[m.end() : end].rstrip().rstrip(";")):
                self.imports[scope].append((bound, segs, file, line))
                self.uses.append((file, scope, segs, line))
        # paths written in code (not in use trees): crate::a::b, super::x, child::f, Imported::g
        path_re = re.compile(r"(?<![\w:])(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")
        for m in path_re.finditer(code):
            if any(a <= m.start() < b for a, b in use_ranges):
                continue
            segs = [s.strip() for s in m.group(1).split("::")]
            if segs[0] in ("Self", "std", "core", "alloc"):
                continue
            line = code.count("\n", 0, m.start()) + 1
            self.uses.append((file, self.scope_at(file, m.start()), segs, line))

    def defines(self, modpath, name):
        file = self.module_file.get(modpath)
        if file is None:
            return False
        code = self.code[file]
        pat = re.compile(r"\b" + ITEM_KINDS + r"\s+" + re.escape(name) + r"\b|macro_rules!\s*" + re.escape(name) + r"\b")
        return any(self.scope_at(file, m.start()) == modpath for m in pat.finditer(code))

    def start_module(self, scope, first):
        """The module a path's first segment names, or None for an outside crate."""
        if first == "crate":
            return ()
        if first == "self":
            return scope
        if first == "super":
            return scope[:-1]
        if first in self.children[scope]:
            return scope + (first,)
        return None

    def resolve(self, scope, segs, seen=frozenset()):
        """Module path where the item `segs` (seen from `scope`) is defined; None if outside."""
        segs = list(segs)
        cur = self.start_module(scope, segs[0])
        if cur is None:
            # a name a `use` brought into this scope (`use crate::store; store::f()`)
            return self.resolve_name(scope, segs[0], seen, segs[1:])
        rest = segs[1:]
        while rest and rest[0] == "super":
            cur, rest = cur[:-1], rest[1:]
        while rest:
            if rest[0] in self.children[cur]:
                cur = cur + (rest[0],)
                rest = rest[1:]
            else:
                return self.resolve_name(cur, rest[0], seen, rest[1:]) or cur
        return cur

    def resolve_name(self, modpath, name, seen, rest=()):
        """Where `name`, as seen in `modpath`, is defined: followed through imports and globs."""
        key = (modpath, name)
        if key in seen:
            return None
        seen = seen | {key}
        if self.defines(modpath, name) and name not in self.children[modpath]:
            return modpath
        for bound, segs, _, _ in self.imports[modpath]:
            if bound == name:
                target = self.resolve(modpath, list(segs) + list(rest), seen)
                if target is not None:
                    return target
        for bound, segs, _, _ in self.imports[modpath]:
            if bound is None:
                glob = self.resolve(modpath, segs, seen)
                if glob is None or self.module_file.get(glob) is None:
                    continue
                if name in self.children[glob]:
                    return glob + (name,)
                if self.defines(glob, name) or any(b == name for b, *_ in self.imports[glob]):
                    return self.resolve_name(glob, name, seen, rest)
        return None

    def file_of(self, modpath):
        while modpath not in self.module_file and modpath:
            modpath = modpath[:-1]
        return self.module_file.get(modpath)

    def edges(self):
        """{(from file, to file): [(line, written path)]}."""
        out = defaultdict(list)
        for file, scope, segs, line in self.uses:
            if segs == ["self"] or not segs:
                continue
            target = self.resolve(scope, segs)
            if target is None:
                continue
            to = self.file_of(target)
            if to is not None and to != file:
                out[(file, to)].append((line, "::".join(segs)))
        return out


def parse_use(text):
    """`a::{b, c::{self, D as E}, f::*}` -> [(segments, bound name, None for a glob)]."""
    text = re.sub(r"\s+as\s+", " as ", text.strip())
    text = re.sub(r"\s*(::|,|\{|\})\s*", r"\1", text)
    results = []

    def walk(prefix, s):
        s = s.strip()
        if not s:
            return
        if s.startswith("::"):
            s = s[2:]
        brace = s.find("{")
        if brace >= 0:
            head = s[:brace].rstrip(":")
            inner = s[brace + 1 : s.rfind("}")]
            base = prefix + [p for p in head.split("::") if p]
            parts, depth, cur = [], 0, ""
            for ch in inner:
                if ch == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                    continue
                depth += {"{": 1, "}": -1}.get(ch, 0)
                cur += ch
            parts.append(cur)
            for part in parts:
                walk(base, part)
            return
        alias = None
        if " as " in s:
            s, alias = s.split(" as ", 1)
        segs = prefix + [p for p in s.split("::") if p]
        if segs and segs[-1] == "*":
            results.append((segs[:-1], None))
            return
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        if not segs:
            return
        bound = alias if alias is not None else segs[-1]
        results.append((segs, bound))

    walk([], text)
    return results


def strongly_connected(nodes, succ):
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        # iterative Tarjan: deep module graphs must not hit Python's recursion limit
        work = [(v, iter(sorted(succ[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def shortest_path(succ, start, goal, allowed):
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(succ[v]):
                if w in allowed and w not in prev:
                    prev[w] = v
                    if w == goal:
                        path = [w]
                        while prev[path[-1]] is not None:
                            path.append(prev[path[-1]])
                        return path[::-1]
                    nxt.append(w)
        frontier = nxt
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="a crate's src directory, e.g. core/src")
    ap.add_argument("--include-tests", action="store_true", help="also follow #[cfg(test)] code")
    ap.add_argument("--verbose", action="store_true", help="print every file-level edge")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.src):
        print(f"check-import-cycles: {args.src} is not a directory", file=sys.stderr)
        return 2
    roots = [r for r in ("lib.rs", "main.rs") if os.path.exists(os.path.join(args.src, r))]
    bin_dir = os.path.join(args.src, "bin")
    if os.path.isdir(bin_dir):
        roots += [os.path.join("bin", f) for f in sorted(os.listdir(bin_dir)) if f.endswith(".rs")]
    if not roots:
        print(f"check-import-cycles: no lib.rs or main.rs in {args.src}", file=sys.stderr)
        return 2

    edges = defaultdict(list)
    files = set()
    folders = {}
    for root in roots:
        crate = Crate(args.src, root, args.include_tests)
        files |= set(crate.code)
        folders.update(crate.folder)
        for k, v in crate.edges().items():
            edges[k] += v
    folder = folders.get
    succ = defaultdict(set)
    for a, b in edges:
        succ[a].add(b)
    if args.verbose:
        for (a, b), refs in sorted(edges.items()):
            print(f"{a} -> {b}  ({', '.join(sorted({p for _, p in refs}))})")

    cycles = []
    for comp in strongly_connected(files, succ):
        members = set(comp)
        if len(members) < 2 or len({folder(f) for f in members}) < 2:
            continue
        seen = set()
        for a in sorted(members):
            for b in sorted(succ[a] & members):
                if folder(a) == folder(b):
                    continue
                back = shortest_path(succ, b, a, members)
                cycle = [a] + back
                key = frozenset(zip(cycle, cycle[1:]))
                if key in seen:
                    continue
                seen.add(key)
                cycles.append(cycle)

    for cycle in cycles:
        print("import cycle across folders: " + " -> ".join(cycle))
        for a, b in zip(cycle, cycle[1:]):
            refs = edges[(a, b)]
            line, path = refs[0]
            more = f" (+{len(refs) - 1} more)" if len(refs) > 1 else ""
            print(f"    {a}:{line} uses {path} -> {b}{more}")
    print(f"check-import-cycles: {len(files)} files, {len(edges)} file-level edges, {len(cycles)} cross-folder cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
