#!/usr/bin/env python3
"""Offline license check: every crate in the dependency graph must carry a license expression
whose every alternative set is made of allowed licenses (a cargo-deny `licenses` check that
needs no network). Prints the offenders and exits 1 if there are any."""

import json
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause", "ISC",
    "Unicode-3.0", "Unicode-DFS-2016", "Zlib", "0BSD", "CC0-1.0", "MPL-2.0", "BSL-1.0", "Unlicense",
    "CDLA-Permissive-2.0",
}


def acceptable(expr: str) -> bool:
    """True when some OR-alternative of the SPDX expression is made only of allowed licenses."""
    expr = expr.replace("/", " OR ").replace("(", " ").replace(")", " ")
    for alternative in re.split(r"\s+OR\s+", expr):
        parts = [p.strip() for p in re.split(r"\s+AND\s+", alternative) if p.strip()]
        if parts and all(p in ALLOWED for p in parts):
            return True
    return False


def main() -> int:
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features"]))
    workspace = set(meta["workspace_members"])
    bad = []
    for pkg in meta["packages"]:
        if pkg["id"] in workspace:
            continue
        lic = pkg.get("license")
        if not lic:
            bad.append(f"{pkg['name']} {pkg['version']}: no license expression")
        elif not acceptable(lic):
            bad.append(f"{pkg['name']} {pkg['version']}: {lic}")
    total = len(meta["packages"]) - len(workspace)
    if bad:
        print("crates with licenses outside the allowed list:")
        print("\n".join("  " + b for b in bad))
        return 1
    print(f"licenses ok: {total} dependency crates, all under allowed licenses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
