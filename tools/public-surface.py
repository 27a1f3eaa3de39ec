#!/usr/bin/env python3
"""The public surface of `import LambdaStore`, checked against a reviewed baseline.

    python3 tools/public-surface.py            # check (exit 1 on any difference)
    python3 tools/public-surface.py --update   # rewrite api/LambdaStore.txt after a review

Reads the symbol graph that `swift package generate-documentation --target LambdaStore`
extracts (run that first; the test command does) and the scoped `@_exported import` lines of
Sources/LambdaStore/LambdaStore.swift, and checks two things:

1. The surface (the module's own public symbols, the public extensions it adds to re-exported
   types, and the re-export list) equals `api/LambdaStore.txt`, so any change to what a user
   sees is a reviewed change to that file, never an accident (a helper made public, a module
   re-exported whole).
2. Every type that a public declaration names from one of our other modules (LambdaStoreCore,
   LambdaStoreViews, LambdaStoreLog, LambdaStoreColumnar, LambdaStoreParquet) is re-exported,
   or nested in a re-exported type: a user of `import LambdaStore` can name every type the API
   hands them.
"""
from __future__ import annotations

import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "api", "LambdaStore.txt")
FACADE = os.path.join(ROOT, "Sources", "LambdaStore", "LambdaStore.swift")
OUR_MODULES = ("LambdaStoreCore", "LambdaStoreViews", "LambdaStoreLog", "LambdaStoreColumnar", "LambdaStoreParquet")


def symbol_graphs() -> list[str]:
    found = sorted(glob.glob(os.path.join(ROOT, ".build", "*", "extracted-symbols", "*", "LambdaStore", "LambdaStore*.symbols.json")))
    if not found:
        sys.exit("public-surface: no symbol graph under .build/*/extracted-symbols; run "
                 "`swift package generate-documentation --target LambdaStore` first")
    return found


def reexports() -> list[tuple[str, str, str]]:
    out = []
    with open(FACADE, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"@_exported import (\w+) (\w+)\.(\w+)\s*$", line)
            if m:
                out.append((m.group(1), m.group(2), m.group(3)))
            elif line.startswith("@_exported import"):
                sys.exit(f"public-surface: {FACADE}: an unscoped re-export re-exports a whole module: {line.strip()}")
    return out


def main() -> int:
    update = "--update" in sys.argv[1:]
    lines = []
    exported = reexports()
    exported_names = {name for _, _, name in exported}
    for kind, module, name in exported:
        lines.append(f"reexport {kind} {module}.{name}")
    unnameable = set()
    for path in symbol_graphs():
        graph = json.load(open(path, encoding="utf-8"))
        for s in graph["symbols"]:
            if s.get("accessLevel") not in ("public", "open"):
                continue
            kind = s["kind"]["identifier"].removeprefix("swift.")
            title = ".".join(s["pathComponents"])
            decl = "".join(fr["spelling"] for fr in s.get("declarationFragments", []))
            decl = re.sub(r"\s+", " ", decl).strip()
            # Opaque parameters (`some Sequence<some Encodable & Sendable>`) render without
            # their constraints in the fragments; the graph lists them separately.
            constraints = [f"{c['lhs']} {':' if c.get('kind') == 'conformance' else '=='} {c['rhs']}"
                           for c in s.get("swiftGenerics", {}).get("constraints", [])]
            if constraints and " where " not in decl:
                decl += " where " + ", ".join(sorted(constraints))
            lines.append(f"{kind} {title} :: {decl}" if decl else f"{kind} {title}")
            for fr in s.get("declarationFragments", []):
                pid = fr.get("preciseIdentifier", "")
                if fr.get("kind") != "typeIdentifier" or not any(pid.startswith(f"s:{len(m)}{m}") for m in OUR_MODULES):
                    continue
                # A nested type (LambdaStoreError.Code) is nameable through its re-exported parent:
                # the fragment then follows "Parent." in the declaration.
                nested_in_exported = any(f"{p}.{fr['spelling']}" in decl for p in exported_names)
                if fr["spelling"] not in exported_names and not nested_in_exported:
                    unnameable.add(f"{fr['spelling']} ({pid}) in {title}")
    lines = sorted(set(lines))
    text = "\n".join(lines) + "\n"
    if unnameable:
        print("public-surface: public declarations name types that `import LambdaStore` does not re-export:")
        for u in sorted(unnameable):
            print("  " + u)
        return 1
    if update:
        os.makedirs(os.path.dirname(BASELINE), exist_ok=True)
        with open(BASELINE, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"public-surface: wrote {len(lines)} lines to {os.path.relpath(BASELINE, ROOT)}")
        return 0
    try:
        old = open(BASELINE, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        old = []
    added = sorted(set(lines) - set(old))
    removed = sorted(set(old) - set(lines))
    if added or removed:
        print(f"public-surface: the public surface differs from {os.path.relpath(BASELINE, ROOT)} "
              "(review, then run with --update):")
        for a in added:
            print("  + " + a)
        for r in removed:
            print("  - " + r)
        return 1
    reexported = sum(1 for l in lines if l.startswith("reexport "))
    print(f"public-surface: {len(lines) - reexported} public symbols and {reexported} re-exported types, as reviewed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
