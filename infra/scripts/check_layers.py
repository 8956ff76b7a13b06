#!/usr/bin/env python3
"""The workspace's module layering, checked (`make layers`; issue 22).

Reads every Rust target of every workspace member (lib, bins, tests, benches, examples:
`shared/src/`, the `tests/` crate, `bench/`...) as a graph whose nodes are file-modules
(each `.rs` file; `mod.rs`, `lib.rs` and `main.rs` stand for their directory's module) and
whose edges are the references of non-test code: `use crate::a::b`, `crate::a::b::` paths in
expressions, `super::` and `self::` paths, each resolved to the deepest file-module that
exists. Comments, string literals and `#[cfg(test)]` items (`mod tests` blocks, test-only
module files) are not read. A module naming its own descendants is containment, not a
dependency, and is not an edge. Then it checks:

  cycle      no strongly connected component of more than one file-module;
  layer      no module of `audit-shared` imports a module of a higher layer (LAYERS below);
  crate      `audit-ledger` depends on no `aws-*` crate, no `utoipa` (unless optional) and
             not on `audit-shared`; `audit-verify` on no `aws-*` crate and not on
             `audit-shared`;
  size       no `.rs` file of the workspace over MAX_LINES lines (tests included).

Each violation is one line, `file:line: [rule] what`, then a summary; the exit status is 1
when there is any violation. Python 3.9+, standard library only.

    python3 infra/scripts/check_layers.py [WORKSPACE_ROOT]
"""

import os
import re
import sys
from collections import defaultdict
from pathlib import Path

# The layers of `audit-shared`'s top-level modules, lowest first. A module may use any
# module of a lower layer; a peer of its own layer only without a cycle (rule `cycle`);
# never one of a higher layer. The ledger is below everything: it is leaving for its own
# crate, `audit-ledger`, which cannot depend on `audit-shared` at all.
LAYERS = [
    ("ledger",),
    ("catalog", "limits"),
    ("domain",),
    ("clock", "keys", "ocsf", "ingest", "config", "format"),
    ("table", "store"),
    ("query",),
    ("api",),
    ("openapi", "metrics"),
]
LAYERED_CRATE = "audit-shared"
LEDGER_CRATE = "audit-ledger"
VERIFY_CRATE = "audit-verify"
MAX_LINES = 900
SKIP_DIRS = {"target", "node_modules"}

RANK = {module: rank for rank, names in enumerate(LAYERS) for module in names}


class Violation:
    def __init__(self, rule, file, line, message):
        self.rule, self.file, self.line, self.message = rule, file, line, message

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.rule}] {self.message}"


# ---------------------------------------------------------------------------------- TOML
# Just what Cargo manifests need here: section headers, `key = value` lines, strings,
# booleans, arrays (over several lines) and one-line inline tables.


def _toml_value(text):
    text = text.strip()
    if text.startswith('"') or text.startswith("'"):
        q = text[0]
        end = text.index(q, 1)
        return text[1:end]
    if text.startswith("["):
        return [a or b for a, b in re.findall(r'"([^"]*)"|\'([^\']*)\'', text)]
    if text.startswith("{"):
        table = {}
        for key, value in re.findall(
            r'([\w.-]+)\s*=\s*("[^"]*"|\'[^\']*\'|\[[^\]]*\]|[^,}]+)', text[1:-1]
        ):
            table[key] = _toml_value(value)
        return table
    if text in ("true", "false"):
        return text == "true"
    return text


def read_toml(path):
    """{section: {key: value}}; array tables (`[[bin]]`) are lists of such dicts."""
    doc = {"": {}}
    current = doc[""]
    lines = Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].split(" #")[0].strip() if not lines[i].strip().startswith("#") else ""
        i += 1
        if not line:
            continue
        m = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]$", line)
        if m:
            current = {}
            doc.setdefault(m.group(1), []).append(current)
            continue
        m = re.match(r"^\[\s*([^\]]+?)\s*\]$", line)
        if m:
            current = doc.setdefault(m.group(1), {})
            continue
        m = re.match(r'^("[^"]+"|[\w.-]+)\s*=\s*(.*)$', line)
        if not m:
            continue
        key, value = m.group(1).strip('"'), m.group(2)
        if value.startswith("[") and value.count("[") > value.count("]"):
            while i < len(lines) and value.count("[") > value.count("]"):
                value += " " + lines[i].split(" #")[0].strip()
                i += 1
        current[key] = _toml_value(value)
    return doc


def dependencies(manifest):
    """{crate name: optional} of a manifest's [dependencies] (and per-target ones)."""
    deps = {}
    for section, table in read_toml(manifest).items():
        if not isinstance(table, dict):
            continue
        if section == "dependencies" or re.match(r"^target\..*\.dependencies$", section):
            for key, value in table.items():
                name, _, field = key.partition(".")
                if isinstance(value, dict):
                    deps[value.get("package", name)] = value.get("optional") is True
                elif field == "optional":
                    deps[name] = value is True
                else:
                    deps.setdefault(name, False)
        elif section.startswith("dependencies."):
            name = section.split(".", 1)[1].strip('"')
            deps[table.get("package", name)] = table.get("optional") is True
    return deps


# ------------------------------------------------------------------------------- sources


def strip_rust(text):
    """The text with comments and string/char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        c = text[i]
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif c == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif c in "rbc" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.compile(r'(?:b|c)?r(#*)"').match(text, i)
            if m:
                close = '"' + m.group(1)
                j = text.find(close, m.end())
                j = n if j < 0 else j + len(close)
                out.append(blank(text[i:j]))
                i = j
            elif c in "bc" and i + 1 < n and text[i + 1] in "\"'":
                out.append(" ")
                i += 1
            else:
                m = re.compile(r"\w+").match(text, i)
                out.append(m.group(0))
                i = m.end()
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 3 if text.startswith("\\'", i + 1) else i + 2)
                j = n if j < 0 else j
                out.append(blank(text[i : j + 1]))
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                out.append("   ")
                i += 3
            else:  # a lifetime or a label
                out.append(c)
                i += 1
        elif c.isalnum() or c == "_":
            m = re.compile(r"\w+").match(text, i)
            out.append(m.group(0))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _item_end(code, i):
    """The end of the item starting at `i`: after its `;` or its `{...}` block."""
    depth, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == ";":
            return i + 1
        elif depth == 0 and c == "{":
            return _block_end(code, i)
        i += 1
    return n


def _block_end(code, i):
    """The end (exclusive) of the `{...}` block opening at `i`."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(code)


def _skip_attributes(code, i):
    while True:
        m = re.compile(r"\s*#\s*\[").match(code, i)
        if not m:
            return re.compile(r"\s*").match(code, i).end()
        depth, j = 0, m.end() - 1
        while j < len(code):
            if code[j] == "[":
                depth += 1
            elif code[j] == "]":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1


TEST_CFG = re.compile(r"#\s*\[\s*cfg\s*\(\s*(test|all\s*\([^\]]*\btest\b[^\]]*\))\s*\)\s*\]")
MOD_DECL = re.compile(r"(?<![\w$])mod\s+(?:r#)?(\w+)\s*([;{])")


def remove_tests(code):
    """`code` with `#[cfg(test)]` items and `mod tests {}` blocks blanked."""

    def blank(code, a, b):
        return code[:a] + re.sub(r"[^\n]", " ", code[a:b]) + code[b:]

    if re.match(r"\s*#\s*!\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]", code):
        return re.sub(r"[^\n]", " ", code)
    while True:
        m = TEST_CFG.search(code)
        if not m:
            break
        start = _skip_attributes(code, m.end())
        code = blank(code, m.start(), _item_end(code, start))
    for m in list(re.finditer(r"(?<![\w$])mod\s+tests\s*\{", code)):
        code = blank(code, m.start(), _block_end(code, m.end() - 1))
    return code


def line_of(code, pos):
    return code.count("\n", 0, pos) + 1


class Module:
    def __init__(self, file, path, crate, target):
        self.file = file  # Path, relative to the workspace root
        self.path = tuple(path)  # module path within its target
        self.crate = crate
        self.target = target
        self.code = ""


def module_dir(file, is_root):
    """Where a file-module's child modules live."""
    if is_root or file.name == "mod.rs":
        return file.parent
    return file.parent / file.stem


def inline_modules(code):
    """[(start, end, name)] of the inline `mod name { ... }` blocks of non-test code."""
    spans = []
    for m in MOD_DECL.finditer(code):
        if m.group(2) == "{":
            spans.append((m.end() - 1, _block_end(code, m.end() - 1), m.group(1)))
    return spans


def inline_path(spans, pos):
    return [name for start, end, name in spans if start < pos < end]


def load_target(root, crate, target, entry, modules):
    """Every file-module of the target whose root file is `entry`, following `mod x;`."""
    pending = [(entry, (), True)]
    while pending:
        file, path, is_root = pending.pop()
        if file in modules or not (root / file).is_file():
            continue
        module = Module(file, path, crate, target)
        module.code = remove_tests(strip_rust((root / file).read_text(encoding="utf-8")))
        modules[file] = module
        spans = inline_modules(module.code)
        for m in MOD_DECL.finditer(module.code):
            if m.group(2) != ";":
                continue
            inner = inline_path(spans, m.start())
            base = module_dir(file, is_root).joinpath(*inner)
            name = m.group(1)
            for child in (base / f"{name}.rs", base / name / "mod.rs"):
                if (root / child).is_file():
                    pending.append((child, path + tuple(inner) + (name,), False))
                    break


def targets_of(root, member):
    """[(target name, root file)] of a workspace member, from its manifest and Cargo's
    conventional places."""
    base = Path(member)
    manifest = read_toml(root / base / "Cargo.toml")
    name = manifest.get("package", {}).get("name", member)
    found = []

    def add(kind, path):
        path = base / path
        if (root / path).is_file() and all(p != path for _, p in found):
            found.append((f"{kind} {path}", path))

    lib = manifest.get("lib", {})
    add("lib", lib.get("path", "src/lib.rs"))
    add("bin", "src/main.rs")
    for kind, section, directory in (
        ("bin", "bin", "src/bin"),
        ("test", "test", "tests"),
        ("bench", "bench", "benches"),
        ("example", "example", "examples"),
    ):
        for table in manifest.get(section, []) if isinstance(manifest.get(section), list) else []:
            if "path" in table:
                add(kind, table["path"])
        folder = root / base / directory
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.suffix == ".rs":
                    add(kind, f"{directory}/{entry.name}")
                elif (entry / "main.rs").is_file():
                    add(kind, f"{directory}/{entry.name}/main.rs")
    return name, found


# ---------------------------------------------------------------------------- references

USE = re.compile(r"(?<![\w$])use\s+")
PATH = re.compile(r"(?<![\w$])(crate|self|super)((?:\s*::\s*(?:r#)?\w+)+)")
TOKEN = re.compile(r"::|[{},*;]|\w+")


def use_paths(code, start):
    """[(segments, position)] of the `use` tree at `start`; and where the tree ends."""
    end = code.find(";", start)
    end = len(code) if end < 0 else end
    tokens = [(m.group(0), m.start()) for m in TOKEN.finditer(code, start, end)]
    paths = []

    def tree(i, prefix):
        # one use tree from token i; returns the index after it
        segments = list(prefix)
        while i < len(tokens):
            tok, pos = tokens[i]
            if tok == "{":
                i += 1
                while i < len(tokens) and tokens[i][0] != "}":
                    if tokens[i][0] == ",":
                        i += 1
                        continue
                    i = tree(i, segments)
                return i + 1
            if tok == "*":
                paths.append((segments, pos))
                return i + 1
            if tok == "::":
                i += 1
                continue
            if tok in (",", "}"):
                return i
            if tok == "as":
                i += 2
                continue
            if tok == "self" and segments:
                paths.append((list(segments), pos))
                return i + 1
            segments = segments + [tok]
            nxt = tokens[i + 1][0] if i + 1 < len(tokens) else None
            if nxt != "::":
                paths.append((segments, pos))
            i += 1
        return i

    tree(0, [])
    return paths, end


def references(module):
    """[(absolute module path, line)] of every crate-relative path the module names."""
    code = module.code
    spans = inline_modules(code)
    found = []

    def resolve(segments, pos):
        current = list(module.path) + inline_path(spans, pos)
        head, rest = segments[0], segments[1:]
        if head == "crate":
            base = []
        elif head == "self":
            base = current
        elif head == "super":
            base = current[:-1]
        else:
            return
        while rest and rest[0] in ("super", "self"):
            base = base[:-1] if rest[0] == "super" else base
            rest = rest[1:]
        found.append((tuple(base + rest), line_of(code, pos)))

    blanked = list(code)
    for m in USE.finditer(code):
        before = code[: m.start()].rstrip()
        if before and before[-1] not in ";{}]" and not before.endswith(")"):
            if not re.search(r"(?<![\w$])pub\s*(\([^)]*\))?$", before):
                continue
        paths, end = use_paths(code, m.end())
        for segments, pos in paths:
            if segments:
                resolve(segments, pos)
        blanked[m.start() : end] = [" "] * (end - m.start())
    rest = "".join(blanked)
    rest = re.sub(r"pub\s*\(\s*in\s+[^)]*\)", lambda m: " " * len(m.group(0)), rest)
    for m in PATH.finditer(rest):
        tail = re.findall(r"(?:r#)?\w+", m.group(2))
        segments = [m.group(1)] + [s.replace("r#", "") for s in tail]
        resolve(segments, m.start(1))
    return found


def build_graph(root, members):
    """The file-modules of every target, and {(from file, to file): [lines]}."""
    modules = {}
    for member in members:
        crate, targets = targets_of(root, member)
        for target, entry in targets:
            load_target(root, crate, target, entry, modules)
    by_path = defaultdict(dict)  # target -> module path -> Module
    for module in modules.values():
        by_path[module.target][module.path] = module
    edges = defaultdict(list)
    for module in modules.values():
        known = by_path[module.target]
        for path, line in references(module):
            deepest = next(
                (known[path[:k]] for k in range(len(path), -1, -1) if path[:k] in known), None
            )
            if deepest is None or deepest is module:
                continue
            if deepest.path[: len(module.path)] == module.path:
                continue  # a descendant: containment
            edges[(module.file, deepest.file)].append(line)
    return modules, edges


# --------------------------------------------------------------------------------- rules


def strongly_connected(nodes, edges):
    """Tarjan's components (iterative), each a sorted list of nodes."""
    succ = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                components.append(sorted(component))
    return components


def check_cycles(modules, edges):
    violations, components = [], []
    for component in strongly_connected(modules.keys(), edges):
        if len(component) < 2:
            continue
        components.append(component)
        members = ", ".join(str(f) for f in component)
        inside = set(component)
        for (a, b), lines in sorted(edges.items()):
            if a in inside and b in inside:
                for line in sorted(set(lines)):
                    violations.append(
                        Violation(
                            "cycle",
                            a,
                            line,
                            f"{a} -> {b} closes a cycle of {len(component)} modules: {members}",
                        )
                    )
    return violations, components


def check_layers(modules, edges):
    violations = []
    unranked = set()
    for (a, b), lines in sorted(edges.items()):
        source, dest = modules[a], modules[b]
        if source.crate != LAYERED_CRATE or not source.target.startswith("lib "):
            continue
        if not source.path or not dest.path:
            continue
        top_a, top_b = source.path[0], dest.path[0]
        for top, file in ((top_a, a), (top_b, b)):
            if top not in RANK and top not in unranked:
                unranked.add(top)
                violations.append(
                    Violation("layer", file, 0, f"module `{top}` has no layer in LAYERS")
                )
        if top_a in RANK and top_b in RANK and RANK[top_a] < RANK[top_b]:
            for line in sorted(set(lines)):
                violations.append(
                    Violation(
                        "layer",
                        a,
                        line,
                        f"`{top_a}` (layer {RANK[top_a]}) imports `{top_b}` "
                        f"(layer {RANK[top_b]}, higher) through {b}",
                    )
                )
    return sorted(violations, key=lambda v: (str(v.file), v.line))


def check_crates(root, members):
    violations = []
    names = {}
    for member in members:
        manifest = read_toml(root / member / "Cargo.toml")
        names[manifest.get("package", {}).get("name")] = Path(member) / "Cargo.toml"

    def forbidden(crate, rules):
        manifest = names[crate]
        text = (root / manifest).read_text().splitlines()
        for dep, optional in sorted(dependencies(root / manifest).items()):
            if dep.startswith("aws-"):
                why = "it must depend on no `aws-*` crate"
            elif dep == LAYERED_CRATE:
                why = f"it must not depend on `{LAYERED_CRATE}`"
            elif dep == "utoipa" and "utoipa" in rules and not optional:
                why = "`utoipa` is allowed only as an optional dependency"
            else:
                continue
            key = re.compile(rf"\s*(\[[^\]]*\.)?\"?{re.escape(dep)}\b")
            line = next((i for i, l in enumerate(text, 1) if key.match(l)), 0)
            message = f"`{crate}` depends on `{dep}`: {why}"
            violations.append(Violation("crate", manifest, line, message))

    if LEDGER_CRATE in names:
        forbidden(LEDGER_CRATE, ("utoipa",))
    else:
        violations.append(
            Violation(
                "crate",
                "ledger/Cargo.toml",
                0,
                f"no workspace member is `{LEDGER_CRATE}` (the ledger's own crate): "
                "its dependencies cannot be checked",
            )
        )
    if VERIFY_CRATE in names:
        forbidden(VERIFY_CRATE, ())
    return violations


def rust_files(root):
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".rs"):
                yield Path(directory) / name


def check_sizes(root):
    violations, count = [], 0
    for path in rust_files(root):
        count += 1
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            violations.append(
                Violation(
                    "size",
                    path.relative_to(root),
                    0,
                    f"{lines} lines, over {MAX_LINES}: split it by concept",
                )
            )
    return violations, count


def check(root):
    """(violations, summary lines) of the workspace at `root`."""
    root = Path(root)
    members = read_toml(root / "Cargo.toml").get("workspace", {}).get("members", [])
    modules, edges = build_graph(root, members)
    cycles, components = check_cycles(modules, edges)
    layers = check_layers(modules, edges)
    crates = check_crates(root, members)
    sizes, files = check_sizes(root)

    def verdict(found, what):
        return f"FAIL ({len(found)} {what})" if found else "ok"

    refs = sum(len(set(lines)) for lines in edges.values())
    rows = [
        ("cycle", "no module cycle", verdict(components, "cycles")),
        ("layer", f"no upward import in {LAYERED_CRATE}", verdict(layers, "imports")),
        ("crate", f"{LEDGER_CRATE} and {VERIFY_CRATE} dependencies", verdict(crates, "problems")),
        ("size", f"no .rs file over {MAX_LINES} lines", verdict(sizes, "files")),
    ]
    summary = [
        f"layers: {len(members)} crates, {len(modules)} file-modules, {len(edges)} edges "
        f"({refs} references), {files} .rs files"
    ] + [f"  {rule + ':':7}{what:45}{result}" for rule, what, result in rows]
    return cycles + layers + crates + sizes, summary


def main(argv):
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2]
    violations, summary = check(root)
    for v in violations:
        print(v)
    print("\n".join(summary))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
