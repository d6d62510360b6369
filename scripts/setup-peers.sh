#!/usr/bin/env bash
# Creates <repo>/.venv with the real Sentry peers the tests run against
# (Bugsink, Relay's normalizer, the Python SDK's envelope reader), pinned in
# tests/peers/requirements.txt. Idempotent: does nothing when the venv already
# holds exactly that requirement list (recorded by hash in a stamp file).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQS="$ROOT/tests/peers/requirements.txt"
STAMP="$VENV/.peers-stamp"
PYTHON_BIN="${PYTHON:-python3}"

hash_file() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$PYTHON_BIN" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

want="$(hash_file "$REQS")"
up_to_date() {
    [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]
}
# peer.py caches Bugsink's migrated empty database in the venv; building it here keeps the first
# test that starts a Bugsink fast (migrating takes ~10 s, longer on a busy machine).
template_ready() {
    compgen -G "$VENV/peers-cache/bugsink-*-db/db.sqlite3" >/dev/null
}
prepare_template() {
    echo "setup-peers: preparing Bugsink's database template"
    "$VENV/bin/python" "$ROOT/tests/peers/peer.py" bugsink-prepare
}
if up_to_date && template_ready; then
    echo "setup-peers: $VENV is up to date"
    exit 0
fi

# Several processes (parallel test binaries, a developer's shell) may get here at once: let one
# install while the others wait, then find the work done.
LOCK_DIR="$ROOT/.peers"
mkdir -p "$LOCK_DIR"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_DIR/setup-peers.lock"
    flock 9
else
    echo "setup-peers: warning: flock not found; not guarding against concurrent installs" >&2
fi
if up_to_date; then
    template_ready || prepare_template
    echo "setup-peers: $VENV is up to date"
    exit 0
fi

echo "setup-peers: installing peers into $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON_BIN" -m venv "$VENV"
fi
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQS"
# Fail here, not in the middle of a test, if an install is unusable.
"$VENV/bin/python" -c 'import sentry_sdk.envelope, sentry_relay.processing, bugsink'
test -x "$VENV/bin/bugsink-create-conf"
test -x "$VENV/bin/bugsink-manage"
rm -rf "$VENV/peers-cache" # made for the previous versions
prepare_template
echo "$want" >"$STAMP"
echo "setup-peers: done"
