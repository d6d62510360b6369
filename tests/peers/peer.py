#!/usr/bin/env python3
"""Helper that drives the real Sentry peers our tests judge the SDK with.

Run it with the venv's python (<repo>/.venv/bin/python, made by scripts/setup-peers.sh):

  peer.py bugsink-serve --dir DIR [--stdin-control]
      Configure a fresh Bugsink in DIR (strict event validation, SQLite in DIR, no phone-home),
      create a team and a project, start `runserver` on a free 127.0.0.1 port, wait until it answers
      HTTP, print ONE JSON line {"dsn", "port", "project_id"} and keep serving until killed
      (SIGTERM/SIGINT). Server log: DIR/server.log.
      With --stdin-control it also reads commands from stdin, one per line, and answers each with
      one JSON line on stdout: `events` -> {"events": [...]} (as bugsink-events, without starting a
      new Python), `ping` -> {"pong": true}; at EOF on stdin it stops the server, so a server whose
      test process died without cleaning up goes away too.
      The migrated empty database is cached inside the venv (per Bugsink version) and copied, which
      cuts start-up from ~10 s to ~2 s; --no-template runs `bugsink-manage migrate` in DIR instead.
  peer.py bugsink-prepare
      Builds that cached database now (scripts/setup-peers.sh does), so tests start fast.
  peer.py bugsink-events --dir DIR
      JSON array of every stored event, oldest first.
  peer.py bugsink-log --dir DIR
      The server log (shows e.g. `ValidationError ... invalid_event_data` for rejected events).
  peer.py relay-normalize
      Reads one event JSON on stdin, prints {"normalized": <Relay's StoreNormalizer output>}.
  peer.py relay-pii-changes [--send-default-pii]
      Reads one event JSON on stdin and runs it through Relay's data scrubber
      (`pii_strip_event` with `convert_datascrubbing_config`: Sentry's default project settings,
      scrubData and scrubDefaults on, no extra sensitive fields, scrubIpAddresses on unless
      --send-default-pii). Prints {"changes": [{"path", "before", "after", "rules"}]}: every leaf
      Relay would still change, `path` dotted (pair lists such as headers by key), `before` and
      `after` the values, `rules` the `rem` entries Relay recorded there. Empty when nothing
      would change.
  peer.py trace-service --dsn DSN [--next URL]
      A small HTTP service instrumented with the real sentry-sdk (traces_sample_rate 1.0, no
      default integrations), on a free 127.0.0.1 port: prints ONE JSON line {"port"} and serves
      until stdin closes. `GET /call` continues the trace of the request's headers
      (`sentry_sdk.continue_trace`) in a transaction `GET /call`; with --next, calls URL inside an
      `http.client` span, sending `sentry-trace` and `baggage` from `sentry_sdk.get_traceparent()`
      and `get_baggage()`; flushes and answers 200 with {"trace_id", "span_id"} of the transaction.
  peer.py checkin-items
      Prints {"items": [...]}: the `check_in` payloads the real sentry-sdk makes for an
      `in_progress` check-in with a crontab monitor config and for the `ok` check-in closing it
      (duration 1.5 s), captured through a transport that keeps envelopes: the shape oracle.
  peer.py attachment-items
      Prints {"items": [...]}: the item headers of the envelope the real sentry-sdk makes for a
      message event with a scope attachment (bytes, filename `config.toml`, content type
      `text/plain`): the shape oracle for attachments.
  peer.py log-items
      Prints {"envelopes": [{"headers", "items": [{"headers", "payload"}]}]}: the envelopes the real
      sentry-sdk makes with `enable_logs=True` for `sentry_sdk.logger.info` with a template
      parameter and an attribute, inside a transaction (so it carries a trace and a span), with a
      user on the scope and `send_default_pii=True`: the shape oracle for structured logs.
  peer.py session-items
      Prints {"session", "sessions"}: the payload the real sentry-sdk sends for an application
      session with two handled errors ended normally, and the request-mode aggregate of a fine
      request and one with errors: the shape oracle for release health.
  peer.py parse-envelope
      Reads raw envelope bytes on stdin, parses them with the Python SDK's Envelope.deserialize and
      prints {"headers", "items": [{"headers", "raw_headers", "type", "payload_json", "payload_len",
      "payload_base64"}], "warnings": [...]}. `headers` is what the Python SDK made of an item's
      header (it adds an inferred `content_type`), `raw_headers` the header exactly as sent;
      `payload_json` is the payload parsed as JSON, or null when it is not JSON; `warnings` lists
      framing problems the Python SDK tolerates silently (e.g. a payload not followed by "\n").

Only 127.0.0.1 is ever contacted.
"""

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BIN_DIR = os.path.dirname(os.path.abspath(sys.executable))
CONF_FILE = "bugsink_conf.py"
LOG_FILE = "server.log"
STARTUP_TIMEOUT_S = 90.0


def fail(msg):
    print("peer.py: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def bugsink_script(name):
    """Command line for one of Bugsink's console scripts, run with this interpreter.

    Running the script file through sys.executable (instead of relying on its shebang) keeps working
    when the venv has been moved or its shebang lines point elsewhere.
    """
    path = os.path.join(BIN_DIR, name)
    if not os.path.exists(path):
        fail(f"{path} not found; run scripts/setup-peers.sh")
    return [sys.executable, path]


def bugsink_env(directory):
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
    env["PYTHONPATH"] = directory + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # Never let anything in Bugsink report to a real Sentry.
    env.pop("SENTRY_DSN", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django(directory):
    os.chdir(directory)  # the SQLite paths in the settings are relative to the working directory
    if directory not in sys.path:
        sys.path.insert(0, directory)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
    os.environ.pop("SENTRY_DSN", None)
    import django

    django.setup()


def write_conf(directory, port):
    conf = os.path.join(directory, CONF_FILE)
    if os.path.exists(conf):
        os.remove(conf)
    # `bugsink-create-conf --template=local --port=PORT`, run in this process (saves starting a
    # Python) with its chatter kept off our stdout.
    from bugsink.scripts import create_conf

    saved_argv, saved_cwd = sys.argv, os.getcwd()
    try:
        sys.argv = ["bugsink-create-conf", "--template=local", f"--port={port}"]
        os.chdir(directory)
        with contextlib.redirect_stdout(io.StringIO()):
            create_conf.main()
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    with open(conf, "r", encoding="utf-8") as f:
        text = f.read()
    marker = "BUGSINK = {"
    if text.count(marker) != 1:
        fail(f"unexpected {CONF_FILE} layout: no single '{marker}'")
    ingest_dir = os.path.join(directory, "ingestion")
    extra = (
        marker + "\n"
        '    "VALIDATE_ON_DIGEST": "strict",\n'
        '    "PHONEHOME": False,\n'
        f"    \"INGEST_STORE_BASE_DIR\": {json.dumps(ingest_dir)},\n"
    )
    text = text.replace(marker, extra)
    text = text.replace("http://localhost:", "http://127.0.0.1:")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)


def set_conf_port(directory, old_port, new_port):
    conf = os.path.join(directory, CONF_FILE)
    with open(conf, "r", encoding="utf-8") as f:
        text = f.read()
    text = text.replace(f"http://127.0.0.1:{old_port}", f"http://127.0.0.1:{new_port}")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)


def dsn_for(project, port):
    parts = urllib.parse.urlsplit(project.dsn)
    netloc = f"{parts.username}@127.0.0.1:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def wait_until_ready(proc, port, log_path, deadline):
    url = f"http://127.0.0.1:{port}/health/ready"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with opener.open(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def read_log_tail(log_path, n=4000):
    try:
        with open(log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def migrate(directory):
    """Runs `bugsink-manage migrate` in DIR (creates db.sqlite3 there)."""
    log_path = os.path.join(directory, "migrate.log")
    with open(log_path, "wb") as mlog:
        res = subprocess.run(
            bugsink_script("bugsink-manage") + ["migrate", "--no-input"],
            cwd=directory, env=bugsink_env(directory), stdout=mlog, stderr=subprocess.STDOUT,
        )
    if res.returncode != 0:
        fail("bugsink-manage migrate failed:\n" + read_log_tail(log_path))


def migrated_template():
    """Folder holding a freshly migrated, empty Bugsink database, made once per Bugsink version.

    `migrate` takes most of Bugsink's start-up time (~9 s of ~11 s on an idle machine, a minute on
    a busy one); copying its result takes milliseconds. The template lives inside the venv, keyed
    by Bugsink's version. One process builds it while the others wait on a file lock, in a scratch
    folder renamed into place, so nobody ever sees a half-made one. Returns None (migrate in place
    instead) when it cannot be made.
    """
    import fcntl
    from importlib.metadata import version

    cache_root = os.path.join(sys.prefix, "peers-cache")
    final = os.path.join(cache_root, f"bugsink-{version('bugsink')}-db")
    ready = os.path.join(final, "db.sqlite3")
    if os.path.isfile(ready):
        return final
    try:
        os.makedirs(cache_root, exist_ok=True)
        with open(os.path.join(cache_root, "build.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.isfile(ready):
                scratch = tempfile.mkdtemp(prefix="building-", dir=cache_root)
                try:
                    write_conf(scratch, 8000)
                    migrate(scratch)
                    os.rename(scratch, final)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
    except OSError as e:
        print(f"peer.py: cannot cache a migrated database ({e}); migrating in place", file=sys.stderr)
        return None
    return final if os.path.isfile(ready) else None


def cmd_bugsink_prepare(_args):
    if migrated_template() is None:
        fail("could not build the migrated Bugsink database template")
    print("peer.py: Bugsink database template ready")


def cmd_bugsink_serve(args):
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    os.makedirs(os.path.join(directory, "ingestion"), exist_ok=True)

    port = free_port()
    write_conf(directory, port)
    env = bugsink_env(directory)
    template = None if args.no_template else migrated_template()
    if template is None:
        migrate(directory)
    else:
        for name in os.listdir(template):
            if name.startswith("db.sqlite3"):
                shutil.copyfile(os.path.join(template, name), os.path.join(directory, name))

    setup_django(directory)
    from projects.models import Project
    from teams.models import Team

    team = Team.objects.create(name="sdk-tests")
    project = Project.objects.create(name="sdk-tests", team=team)

    log_path = os.path.join(directory, LOG_FILE)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    proc = None
    # The port is free when chosen but could be taken before runserver binds it: retry a few times.
    for attempt in range(3):
        if attempt:
            new_port = free_port()
            set_conf_port(directory, port, new_port)
            port = new_port
        log = open(log_path, "ab")
        proc = subprocess.Popen(
            bugsink_script("bugsink-manage") + ["runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        if wait_until_ready(proc, port, log_path, deadline):
            break
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            fail(f"Bugsink did not answer on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S}s:\n"
                 + read_log_tail(log_path))
        proc = None
    if proc is None:
        fail("Bugsink's runserver exited during start-up:\n" + read_log_tail(log_path))

    stopping = threading.Event()

    def stop(*_):
        stopping.set()
        if proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps({"dsn": dsn_for(project, port), "port": port, "project_id": project.id}) + "\n")
    sys.stdout.flush()

    if args.stdin_control:
        def control():
            try:
                for line in sys.stdin:
                    command = line.strip()
                    if command == "events":
                        try:
                            answer = {"events": stored_events()}
                        except Exception as e:  # report, keep serving
                            answer = {"error": f"{type(e).__name__}: {e}"}
                    elif command == "ping":
                        answer = {"pong": True}
                    else:
                        answer = {"error": f"unknown command {command!r}"}
                    sys.stdout.write(json.dumps(answer) + "\n")
                    sys.stdout.flush()
            except (OSError, ValueError):
                pass
            stop()

        threading.Thread(target=control, daemon=True).start()

    while True:
        try:
            rc = proc.wait(timeout=1)
            break
        except subprocess.TimeoutExpired:
            continue
    sys.exit(0 if stopping.is_set() else rc)


def stored_events():
    """Every stored event, oldest first (Django must be set up)."""
    from events.models import Event

    out = []
    for ev in Event.objects.select_related("issue").order_by("project_digest_order", "digested_at"):
        out.append({
            "event_id": ev.event_id.hex if hasattr(ev.event_id, "hex") else str(ev.event_id),
            "calculated_type": ev.calculated_type,
            "calculated_value": ev.calculated_value,
            "platform": ev.platform,
            "issue_id": str(ev.issue_id),
            "issue_digested_event_count": ev.issue.digested_event_count,
            "data": ev.get_parsed_data(),
        })
    return out


def cmd_bugsink_events(args):
    setup_django(os.path.abspath(args.dir))
    json.dump(stored_events(), sys.stdout)
    sys.stdout.write("\n")


def cmd_bugsink_log(args):
    path = os.path.join(os.path.abspath(args.dir), LOG_FILE)
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            sys.stdout.write(f.read())
    except FileNotFoundError:
        fail(f"no server log at {path}")


def cmd_relay_normalize(_args):
    from sentry_relay.processing import StoreNormalizer

    event = json.load(sys.stdin)
    normalized = StoreNormalizer(project_id=1).normalize_event(event)
    json.dump({"normalized": normalized}, sys.stdout)
    sys.stdout.write("\n")


def is_pair_list(value):
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in value
    )


def pii_changes(before, after, meta, path, out):
    """Appends to `out` every leaf where `after` (scrubbed) differs from `before` (the same event
    through Relay with no rules, so both have Relay's shape)."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            child_meta = meta.get(key, {}) if isinstance(meta, dict) else {}
            pii_changes(before.get(key), after.get(key), child_meta, path + [key], out)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = is_pair_list(before) and is_pair_list(after)
        for i, (b, a) in enumerate(zip(before, after)):
            child_meta = meta.get(str(i), {}) if isinstance(meta, dict) else {}
            if pairs:
                value_meta = child_meta.get("1", {}) if isinstance(child_meta, dict) else {}
                pii_changes(b[1], a[1], value_meta, path + [b[0]], out)
            else:
                pii_changes(b, a, child_meta, path + [str(i)], out)
        return
    rules = meta.get("", {}).get("rem", []) if isinstance(meta, dict) else []
    out.append({"path": ".".join(path), "before": before, "after": after, "rules": rules})


def cmd_relay_pii_changes(args):
    from sentry_relay.processing import convert_datascrubbing_config, pii_strip_event

    event = json.load(sys.stdin)
    config = convert_datascrubbing_config({
        "scrubData": True,
        "scrubDefaults": True,
        "sensitiveFields": [],
        "excludeFields": [],
        "scrubIpAddresses": not args.send_default_pii,
    })
    baseline = pii_strip_event({}, event)
    stripped = pii_strip_event(config, event)
    meta = stripped.pop("_meta", {})
    baseline.pop("_meta", None)
    changes = []
    pii_changes(baseline, stripped, meta, [], changes)
    json.dump({"changes": changes}, sys.stdout)
    sys.stdout.write("\n")


def framing_check(raw):
    """Our own strict pass over the framing: (warnings, item headers exactly as sent).

    The warnings are problems the Python SDK's reader silently tolerates.
    """
    warnings = []
    raw_headers = []
    f = io.BytesIO(raw)
    header = f.readline()
    if not header.endswith(b"\n"):
        return warnings, raw_headers
    index = 0
    while True:
        line = f.readline()
        if not line.rstrip():
            if line and f.read(1):
                warnings.append(f"empty line before item {index}")
            break
        try:
            headers = json.loads(line)
        except ValueError:
            warnings.append(f"item {index}: header is not JSON")
            break
        if not isinstance(headers, dict):
            warnings.append(f"item {index}: header is not a JSON object")
            break
        raw_headers.append(headers)
        length = headers.get("length")
        if length is None:
            warnings.append(f"item {index} ({headers.get('type')}): no length header")
            f.readline()
        else:
            payload = f.read(length)
            if len(payload) != length:
                warnings.append(f"item {index}: length {length} but only {len(payload)} bytes left")
                break
            after = f.read(1)
            if after not in (b"", b"\n"):
                warnings.append(f"item {index}: payload of length {length} is not followed by a newline")
                f.readline()
        index += 1
    return warnings, raw_headers


def cmd_parse_envelope(_args):
    from sentry_sdk.envelope import Envelope

    raw = sys.stdin.buffer.read()
    env = Envelope.deserialize(raw)
    warnings, raw_headers = framing_check(raw)
    items = []
    for index, item in enumerate(env.items):
        payload = item.payload
        data = payload.get_bytes()
        payload_json = payload.json
        if payload_json is None:
            try:
                payload_json = json.loads(data)
            except ValueError:
                payload_json = None
        items.append({
            "headers": item.headers,
            "raw_headers": raw_headers[index] if index < len(raw_headers) else None,
            "type": item.type,
            "payload_json": payload_json,
            "payload_len": len(data),
            "payload_base64": base64.b64encode(data).decode("ascii"),
        })
    json.dump({"headers": env.headers, "items": items, "warnings": warnings}, sys.stdout)
    sys.stdout.write("\n")


def cmd_trace_service(args):
    import http.server
    import threading
    import urllib.request

    import sentry_sdk

    # gzip rather than brotli, which the loopback sink does not decode.
    sentry_sdk.init(
        dsn=args.dsn,
        traces_sample_rate=1.0,
        default_integrations=False,
        _experiments={"transport_compression_algo": "gzip"},
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_GET(self):
            headers = {k.lower(): v for k, v in self.headers.items()}
            transaction = sentry_sdk.continue_trace(headers, op="http.server", name="GET /call")
            with sentry_sdk.start_transaction(transaction):
                if args.next:
                    with sentry_sdk.start_span(op="http.client", name="GET " + args.next):
                        outgoing = {
                            "sentry-trace": sentry_sdk.get_traceparent(),
                            "baggage": sentry_sdk.get_baggage(),
                        }
                        req = urllib.request.Request(args.next, headers=outgoing)
                        with urllib.request.urlopen(req, timeout=10) as resp:
                            resp.read()
            sentry_sdk.flush(timeout=10)
            body = json.dumps({
                "trace_id": transaction.trace_id,
                "span_id": transaction.span_id,
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    # The test closes stdin when it is done (or dies): then stop.
    sys.stdin.read()
    server.shutdown()
    sentry_sdk.flush(timeout=5)


def cmd_checkin_items(_args):
    import sentry_sdk
    from sentry_sdk.crons import capture_checkin
    from sentry_sdk.transport import Transport

    kept = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            kept.append(envelope)

    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Keep, release="app@1.0",
                    environment="production", default_integrations=False)
    config = {
        "schedule": {"type": "crontab", "value": "0 3 * * *"},
        "checkin_margin": 5,
        "max_runtime": 30,
        "timezone": "Europe/Vienna",
        "failure_issue_threshold": 2,
        "recovery_threshold": 3,
    }
    check_in_id = capture_checkin(monitor_slug="nightly-report", status="in_progress",
                                  monitor_config=config)
    capture_checkin(monitor_slug="nightly-report", check_in_id=check_in_id, status="ok",
                    duration=1.5)
    sentry_sdk.flush()
    items = [item.payload.json for env in kept for item in env.items if item.type == "check_in"]
    json.dump({"items": items}, sys.stdout)
    sys.stdout.write("\n")


def cmd_attachment_items(_args):
    import sentry_sdk
    from sentry_sdk.transport import Transport

    kept = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            kept.append(envelope)

    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Keep, default_integrations=False)
    scope = sentry_sdk.get_current_scope()
    scope.add_attachment(bytes=b"workers = 4\n", filename="config.toml", content_type="text/plain")
    sentry_sdk.capture_message("config rejected")
    sentry_sdk.flush()
    items = [item.headers for env in kept for item in env.items]
    json.dump({"items": items}, sys.stdout)
    sys.stdout.write("\n")


def cmd_log_items(_args):
    import sentry_sdk
    from sentry_sdk import logger as sentry_logger
    from sentry_sdk.transport import Transport

    kept = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            kept.append(envelope)

    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Keep, release="app@1.0",
                    environment="production", server_name="host-1", enable_logs=True,
                    send_default_pii=True, traces_sample_rate=1.0, default_integrations=False)
    sentry_sdk.set_user({"id": "42", "email": "ada@example.com", "username": "ada"})
    with sentry_sdk.start_transaction(name="job", op="task"):
        sentry_logger.info("user {name} signed in", name="ada",
                           attributes={"attempt": 3, "ratio": 0.5, "admin": True})
    sentry_sdk.flush()
    envelopes = [
        {"headers": env.headers,
         "items": [{"headers": item.headers, "payload": item.payload.json}
                   for item in env.items if item.type == "log"]}
        for env in kept
    ]
    json.dump({"envelopes": [e for e in envelopes if e["items"]]}, sys.stdout, default=str)
    sys.stdout.write("\n")


def cmd_session_items(_args):
    import sentry_sdk
    from sentry_sdk.transport import Transport

    kept = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            kept.append(envelope)

    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Keep, release="app@1.0",
                    environment="production", default_integrations=False)
    scope = sentry_sdk.get_isolation_scope()
    # An application session with handled errors, ended normally.
    scope.start_session(session_mode="application")
    for problem in ("first problem", "second problem"):
        try:
            raise ValueError(problem)
        except ValueError:
            sentry_sdk.capture_exception()
    scope.end_session()
    # Request sessions, one fine and one with an error, aggregated.
    for fails in (False, True):
        scope.start_session(session_mode="request")
        if fails:
            sentry_sdk.capture_message("a handled problem", level="error")
            try:
                raise ValueError("request problem")
            except ValueError:
                sentry_sdk.capture_exception()
        scope.end_session()
    sentry_sdk.flush()
    out = {}
    for env in kept:
        for item in env.items:
            if item.type in ("session", "sessions"):
                out[item.type] = item.payload.json
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("bugsink-serve")
    p.add_argument("--dir", required=True)
    p.add_argument("--stdin-control", action="store_true",
                   help="answer commands read from stdin; stop the server at EOF")
    p.add_argument("--no-template", action="store_true", help="migrate in DIR instead of copying a cached database")
    p.set_defaults(func=cmd_bugsink_serve)
    sub.add_parser("bugsink-prepare").set_defaults(func=cmd_bugsink_prepare)
    p = sub.add_parser("bugsink-events")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=cmd_bugsink_events)
    p = sub.add_parser("bugsink-log")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=cmd_bugsink_log)
    sub.add_parser("relay-normalize").set_defaults(func=cmd_relay_normalize)
    p = sub.add_parser("relay-pii-changes")
    p.add_argument("--send-default-pii", action="store_true",
                   help="the SDK sent personal data on purpose: do not scrub IP addresses")
    p.set_defaults(func=cmd_relay_pii_changes)
    sub.add_parser("parse-envelope").set_defaults(func=cmd_parse_envelope)
    sub.add_parser("checkin-items").set_defaults(func=cmd_checkin_items)
    sub.add_parser("attachment-items").set_defaults(func=cmd_attachment_items)
    sub.add_parser("log-items").set_defaults(func=cmd_log_items)
    sub.add_parser("session-items").set_defaults(func=cmd_session_items)
    p = sub.add_parser("trace-service")
    p.add_argument("--dsn", required=True)
    p.add_argument("--next", help="the URL `GET /call` calls, with the trace headers")
    p.set_defaults(func=cmd_trace_service)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
