#!/usr/bin/env bash
# The project's one test command: ./scripts/test.sh
#
# Steps, in order:
#   peers      scripts/setup-peers.sh (the real Sentry peers in .venv)   skip: SKIP_PEERS_SETUP=1
#   fmt        cargo fmt --all --check                                   skip: SKIP_FMT=1
#   clippy     cargo clippy --workspace --all-targets --all-features     skip: SKIP_CLIPPY=1
#              (all features: the benchmark with the official SDK is linted too)
#   doc        cargo doc --workspace --no-deps --features $FEATURES      skip: SKIP_DOC=1
#   features   scripts/check-features.sh (each watchpost feature alone)  skip: SKIP_FEATURES=1
#   licenses   scripts/check-licenses.py (offline license check)       skip: SKIP_LICENSES=1
#   doctests   cargo test --workspace --doc --features $FEATURES         skip: SKIP_DOCTESTS=1
#   tests      cargo nextest run --workspace --features $FEATURES        skip: SKIP_TESTS=1
#              (cargo test --workspace --features $FEATURES --tests when cargo-nextest is missing)
# $FEATURES is every feature of every workspace package except `tests/compare` and
# `tests/compare-logs`, the benchmark with the official SDK, which no test build compiles.
# SKIP_LINT=1 skips fmt, clippy and doc at once, for quick local iteration. Under CI (CI=true)
# nothing is skipped. Every step runs even when an earlier one failed (FAIL_FAST=1 stops at the
# first failure); the script exits non-zero if any step failed. Extra arguments are passed to the
# test runner (e.g. ./scripts/test.sh -E 'test(bugsink)' with nextest).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${CI:-}" == "true" ]]; then
    for var in SKIP_LINT SKIP_PEERS_SETUP SKIP_FMT SKIP_CLIPPY SKIP_DOC SKIP_FEATURES SKIP_LICENSES SKIP_DOCTESTS SKIP_TESTS FAIL_FAST; do
        if [[ -n "${!var:-}" ]]; then
            echo "test.sh: CI=true, ignoring $var=${!var}"
            unset "$var"
        fi
    done
fi

FEATURES=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(",".join(p["name"] + "/" + f for p in m["packages"] for f in sorted(p["features"])
               if f != "default" and not (p["name"] == "tests" and f.startswith("compare"))))')

failed=()
passed=()
skipped=()
started_all=$SECONDS

skip_requested() { # step name, env vars that skip it
    local name=$1 var
    shift
    for var in "$@"; do
        if [[ "${!var:-}" == "1" ]]; then
            echo
            echo "==> [$name] skipped ($var=1)"
            skipped+=("$name")
            return 0
        fi
    done
    return 1
}

step() { # step name, command...
    local name=$1 start=$SECONDS rc=0
    shift
    echo
    echo "================================================================"
    echo "==> [$name] $*"
    echo "================================================================"
    "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        echo "==> [$name] ok ($((SECONDS - start)) s)"
        passed+=("$name")
    else
        echo "==> [$name] FAILED with exit code $rc ($((SECONDS - start)) s)"
        failed+=("$name")
        if [[ "${FAIL_FAST:-}" == "1" ]]; then
            echo "test.sh: FAIL_FAST=1, stopping"
            exit 1
        fi
    fi
}

skip_requested peers SKIP_PEERS_SETUP || step peers ./scripts/setup-peers.sh

skip_requested fmt SKIP_LINT SKIP_FMT || step fmt cargo fmt --all --check

skip_requested clippy SKIP_LINT SKIP_CLIPPY ||
    step clippy cargo clippy --workspace --all-targets --all-features -- -D warnings

skip_requested doc SKIP_LINT SKIP_DOC ||
    step doc env RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --features "$FEATURES"

skip_requested features SKIP_LINT SKIP_FEATURES || step features ./scripts/check-features.sh

skip_requested licenses SKIP_LINT SKIP_LICENSES || step licenses python3 ./scripts/check-licenses.py

# Doctests run before the main test runner, so that the last summary printed is the full suite's.
skip_requested doctests SKIP_DOCTESTS ||
    step doctests cargo test --workspace --doc --features "$FEATURES"
if cargo nextest --version >/dev/null 2>&1; then
    skip_requested tests SKIP_TESTS ||
        step tests cargo nextest run --workspace --features "$FEATURES" --no-fail-fast "$@"
else
    echo
    echo "test.sh: cargo-nextest not found; using cargo test"
    skip_requested tests SKIP_TESTS ||
        step tests cargo test --workspace --features "$FEATURES" --tests --no-fail-fast "$@"
fi

echo
echo "================================================================"
echo "test.sh: $((SECONDS - started_all)) s;" \
    "passed: ${passed[*]:-none}; skipped: ${skipped[*]:-none}; failed: ${failed[*]:-none}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "test.sh: FAILED"
    exit 1
fi
echo "test.sh: OK"
