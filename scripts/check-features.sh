#!/usr/bin/env bash
# Checks that every cargo feature of watchpost compiles alone, with no default features, and
# all together: features must be additive and independent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

features=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; m=json.load(sys.stdin); p=[p for p in m["packages"] if p["name"]=="watchpost"][0]; print(" ".join(sorted(k for k in p["features"] if k!="default")))')

check() {
    echo "--> cargo check -p watchpost $*"
    cargo check -q -p watchpost --lib "$@"
}

check --no-default-features
for f in $features; do
    check --no-default-features --features "$f"
done
check --all-features
echo "all $(( $(wc -w <<<"$features") + 2 )) feature combinations of watchpost compile"
