#!/usr/bin/env python3
"""Tests of check_layers.py on tiny workspaces written to a temporary directory: each rule
fails on a tree that breaks it, and what must not count (test code, comments, strings, a
parent naming its children) does not.

    python3 infra/scripts/test_check_layers.py
"""

import contextlib
import io
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_layers  # noqa: E402

ROOT_MANIFEST = """\
[workspace]
members = [
    "shared",
    "ledger",
    "verify",
]
"""

# A workspace that passes every rule; each test edits a copy of it.
CLEAN = {
    "Cargo.toml": ROOT_MANIFEST,
    "shared/Cargo.toml": '[package]\nname = "audit-shared"\n\n[dependencies]\n'
    "aws-sdk-dynamodb.workspace = true\naudit-ledger.workspace = true\n",
    "shared/src/lib.rs": """\
        //! The crate.
        pub mod domain;
        pub mod query;
        pub mod store;
        pub use store::Store;
        """,
    "shared/src/domain/mod.rs": """\
        mod parse;
        pub use self::parse::parse;
        pub struct Event;
        """,
    "shared/src/domain/parse.rs": """\
        use super::Event;
        pub fn parse() -> Event { Event }
        """,
    "shared/src/store/mod.rs": """\
        mod inner;
        pub use inner::Store;
        use crate::domain::{self, Event};
        pub fn put(_: Event) { let _ = domain::parse(); }
        """,
    "shared/src/store/inner.rs": """\
        pub struct Store;
        impl Store { pub fn new() -> Self { super::put(crate::domain::parse()); Store } }
        """,
    "shared/src/query/mod.rs": """\
        pub mod a;
        pub mod b;
        """,
    "shared/src/query/a.rs": "pub fn f() { let _ = crate::store::Store::new(); }\n",
    "shared/src/query/b.rs": "use crate::query::a;\npub fn g() { a::f() }\n",
    "ledger/Cargo.toml": '[package]\nname = "audit-ledger"\n\n[dependencies]\n'
    'sha2 = "0.10"\nutoipa = { workspace = true, optional = true }\n',
    "ledger/src/lib.rs": "pub fn leaf() {}\n",
    "verify/Cargo.toml": '[package]\nname = "audit-verify"\n\n[dependencies]\n'
    'audit-ledger.workspace = true\nhyper = "1"\n',
    "verify/src/main.rs": "fn main() { audit_ledger::leaf() }\n",
}


class Workspace:
    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        for path, text in files.items():
            if text is None:
                continue
            file = self.root / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(textwrap.dedent(text))

    def check(self):
        violations, _ = check_layers.check(self.root)
        return violations

    def close(self):
        self.dir.cleanup()


def rules(violations, rule):
    return [str(v) for v in violations if v.rule == rule]


class CheckLayersTest(unittest.TestCase):
    def run_files(self, files):
        ws = Workspace(files)
        self.addCleanup(ws.close)
        return ws.check()

    def test_a_clean_workspace_passes_and_exits_zero(self):
        ws = Workspace(CLEAN)
        self.addCleanup(ws.close)
        self.assertEqual([str(v) for v in ws.check()], [])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = check_layers.main(["check_layers.py", str(ws.root)])
        self.assertEqual(status, 0, out.getvalue())
        self.assertIn("file-modules", out.getvalue())

    def test_a_two_file_cycle_is_reported_with_both_edges(self):
        files = dict(CLEAN)
        files["shared/src/query/a.rs"] = "// a\npub fn f() {\n    crate::query::b::g()\n}\n"
        found = rules(self.run_files(files), "cycle")
        self.assertEqual(len(found), 2, found)
        self.assertTrue(found[0].startswith("shared/src/query/a.rs:3: [cycle]"), found)
        self.assertTrue(found[1].startswith("shared/src/query/b.rs:1: [cycle]"), found)
        self.assertIn("shared/src/query/a.rs, shared/src/query/b.rs", found[0])

    def test_a_cycle_through_super_paths_is_reported(self):
        files = dict(CLEAN)
        files["shared/src/query/a.rs"] = "use super::b::g;\npub fn f() { g() }\n"
        files["shared/src/query/b.rs"] = "pub fn g() {\n    super::a::f()\n}\n"
        found = rules(self.run_files(files), "cycle")
        self.assertEqual(
            [v.split(" [")[0] for v in found],
            ["shared/src/query/a.rs:1:", "shared/src/query/b.rs:2:"],
        )

    def test_an_upward_import_names_the_line_the_modules_and_their_layers(self):
        files = dict(CLEAN)
        files["shared/src/domain/parse.rs"] = (
            "use super::Event;\n\npub fn parse() -> Event {\n"
            "    let _ = crate::store::put;\n    Event\n}\n"
        )
        found = rules(self.run_files(files), "layer")
        rank = check_layers.RANK
        self.assertEqual(
            found,
            [
                f"shared/src/domain/parse.rs:4: [layer] `domain` (layer {rank['domain']}) "
                f"imports `store` (layer {rank['store']}, higher) through shared/src/store/mod.rs"
            ],
        )
        self.assertLess(rank["domain"], rank["store"])

    def test_a_module_without_a_layer_is_reported(self):
        files = dict(CLEAN)
        files["shared/src/lib.rs"] += "pub mod extra;\n"
        files["shared/src/extra.rs"] = "use crate::domain::Event;\n"
        found = rules(self.run_files(files), "layer")
        self.assertEqual(len(found), 1, found)
        self.assertIn("`extra` has no layer", found[0])

    def test_a_file_over_900_lines_is_reported_and_900_is_not(self):
        files = dict(CLEAN)
        files["tests/long.rs"] = "// x\n" * 901
        files["tests/exact.rs"] = "// x\n" * 900
        files["target/debug/build/generated.rs"] = "// x\n" * 2000
        found = rules(self.run_files(files), "size")
        self.assertEqual(found, ["tests/long.rs: [size] 901 lines, over 900: split it by concept"])

    def test_test_code_comments_strings_and_containment_are_not_dependencies(self):
        files = dict(CLEAN)
        # Everything below names the store from the domain (a layer above) or closes a
        # cycle with query::b; none of it may count.
        files["shared/src/domain/mod.rs"] = """\
            //! Not a dependency: [crate::store::Store], `use crate::store::put;`
            mod parse;
            #[cfg(test)]
            mod helpers;
            pub use self::parse::parse;
            /// See [`crate::store::put`]; also crate::store::put.
            pub struct Event;
            /* use crate::store::put; /* nested */ crate::store::put */
            pub const NOTE: &str = "use crate::store::put; crate::store::Store";
            pub const RAW: &str = r#"crate::store::put "quoted""#;
            pub const CHAR: char = '"';
            pub fn label<'a>(s: &'a str) -> &'a str { s }

            #[cfg(test)]
            mod tests {
                use crate::store::put;
                #[test]
                fn t() { put(super::Event); crate::query::a::f() }
            }

            #[cfg(test)]
            fn only_in_tests() { crate::store::put(Event) }
            """
        files["shared/src/domain/helpers.rs"] = "use crate::store::Store;\n"
        files["shared/src/query/a.rs"] = """\
            pub fn f() { let _ = crate::store::Store::new(); }
            #[cfg(test)]
            mod tests {
                use crate::query::b::g;
            }
            """
        violations = self.run_files(files)
        self.assertEqual([str(v) for v in violations], [])

    def test_a_parent_using_its_children_is_containment(self):
        modules, edges = self.graph(CLEAN)
        pairs = {(str(a), str(b)) for a, b in edges}
        # store/mod.rs re-exports and calls inner.rs: no edge; inner.rs uses its parent: an edge.
        self.assertNotIn(("shared/src/store/mod.rs", "shared/src/store/inner.rs"), pairs)
        self.assertIn(("shared/src/store/inner.rs", "shared/src/store/mod.rs"), pairs)
        self.assertNotIn(("shared/src/lib.rs", "shared/src/store/mod.rs"), pairs)
        self.assertIn(("shared/src/query/b.rs", "shared/src/query/a.rs"), pairs)
        # `use crate::domain::{self, Event}` resolves to the domain's file, `super::put` too.
        self.assertIn(("shared/src/store/mod.rs", "shared/src/domain/mod.rs"), pairs)

    def test_the_ledger_and_verifier_dependencies(self):
        files = dict(CLEAN)
        files["ledger/Cargo.toml"] = (
            '[package]\nname = "audit-ledger"\n\n[dependencies]\n'
            "aws-sdk-s3.workspace = true\nutoipa = \"6\"\n"
            "audit-shared.workspace = true\n\n[dev-dependencies]\naws-config = \"1\"\n"
        )
        files["verify/Cargo.toml"] = (
            '[package]\nname = "audit-verify"\n\n[dependencies]\n'
            'audit-shared.workspace = true\n\n[dependencies.aws-sdk-sts]\nversion = "1"\n'
        )
        found = rules(self.run_files(files), "crate")
        self.assertEqual(
            [v.split(":")[0] + ":" + v.split(":")[1] for v in found],
            [
                "ledger/Cargo.toml:7",
                "ledger/Cargo.toml:5",
                "ledger/Cargo.toml:6",
                "verify/Cargo.toml:5",
                "verify/Cargo.toml:7",
            ],
            found,
        )
        self.assertIn("`utoipa` is allowed only as an optional dependency", found[2])

    def test_a_missing_ledger_crate_fails(self):
        files = dict(CLEAN)
        files["Cargo.toml"] = ROOT_MANIFEST.replace('    "ledger",\n', "")
        found = rules(self.run_files(files), "crate")
        self.assertEqual(len(found), 1, found)
        self.assertIn("no workspace member is `audit-ledger`", found[0])

    def graph(self, files):
        ws = Workspace(files)
        self.addCleanup(ws.close)
        members = check_layers.read_toml(ws.root / "Cargo.toml")["workspace"]["members"]
        return check_layers.build_graph(ws.root, members)


if __name__ == "__main__":
    unittest.main()
