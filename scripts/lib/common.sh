# Shared by scripts/run and scripts/test: where things are built and how tools get installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# A build cache outside the clone survives fresh clones (CI clones afresh every time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/taskstream-target}"
export PATH="$HOME/.cargo/bin:$PATH"
TANSU_VERSION=0.6.0

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[1;33m!!! %s\033[0m\n' "$*" >&2; }

# The Kafka-compatible broker used locally and in tests (see docs/kafka-local.md).
ensure_tansu() {
    if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
        return
    fi
    say "installing Tansu $TANSU_VERSION (a Kafka-compatible broker; about 12 minutes, once per machine)"
    cargo install tansu --locked --version "$TANSU_VERSION" --no-default-features --features libsql
}

# The test runner: one process per test, timeouts, slow-test reports (.config/nextest.toml).
ensure_nextest() {
    if cargo nextest --version >/dev/null 2>&1; then
        return
    fi
    say "installing cargo-nextest (once per machine)"
    cargo install cargo-nextest --locked
}

# The dependency checker: licences, bans, sources and advisories (deny.toml).
ensure_cargo_deny() {
    if cargo deny --version >/dev/null 2>&1; then
        return
    fi
    say "installing cargo-deny (once per machine)"
    cargo install cargo-deny --locked
}

# The libFuzzer driver of fuzz/ (scripts/fuzz).
ensure_cargo_fuzz() {
    if cargo fuzz --version >/dev/null 2>&1; then
        return
    fi
    say "installing cargo-fuzz (once per machine)"
    cargo install cargo-fuzz --locked
}

# cargo-deny's checks of the dependency tree. Licences, bans and sources need nothing from the
# network. Advisories need the RustSec database, which is a git repository on GitHub: where it
# cannot be fetched (these machines reach package registries only) they are skipped, loudly.
check_dependencies() {
    cargo deny check --hide-inclusion-graph licenses bans sources
    local fetch_log
    if fetch_log="$(timeout 300 cargo deny fetch db 2>&1)"; then
        cargo deny check --hide-inclusion-graph advisories
    else
        warn "##################################################################"
        warn "ADVISORIES SKIPPED: the RustSec advisory database could not be fetched:"
        warn "  $(printf '%s\n' "$fetch_log" | grep -m1 'fatal:' || printf '%s\n' "$fetch_log" | tail -n1)"
        warn "Licences, bans and sources were checked; known vulnerabilities were NOT."
        warn "##################################################################"
    fi
}

# Prints suites, passed, failed, skipped, time and the slowest tests from nextest's JUnit
# reports in DIR; TOTAL is the wall time of the whole run in seconds.
summarise_junit() {
    local dir="$1" total="$2"
    python3 - "$dir" "$total" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
directory, total = sys.argv[1], int(sys.argv[2])
rows, slow, failed_names = [], [], []
for path in sorted(glob.glob(os.path.join(directory, "*.xml"))):
    suite = os.path.basename(path)[:-4]
    cases = ET.parse(path).getroot().iter("testcase")
    passed = failed = skipped = 0
    seconds = 0.0
    for case in cases:
        t = float(case.get("time", 0) or 0)
        seconds += t
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failed_names.append(f"{suite}: {name}")
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
        if t >= 20:
            slow.append((t, suite, name))
    rows.append((suite, passed, failed, skipped, seconds))
print()
print("==> summary")
print(f"{'suite':<60} {'passed':>6} {'failed':>6} {'skipped':>7} {'test-s':>8}")
for suite, p, f, s, t in rows:
    print(f"{suite[:60]:<60} {p:>6} {f:>6} {s:>7} {t:>8.1f}")
for name in failed_names:
    print(f"FAILED  {name}")
if slow:
    print("slow tests (>= 20 s):")
    for t, suite, name in sorted(slow, reverse=True):
        print(f"  {t:7.1f} s  {name}  [{suite[:40]}]")
print(f"total wall time {total // 60} min {total % 60} s")
PY
}

# The browser tests' tools: Debian's chromium and playwright-core + axe-core from npm
# (tests/console/package-lock.json). Returns 1, saying why, when they cannot be had.
ensure_console_tools() {
    if ! command -v chromium >/dev/null 2>&1; then
        warn "chromium is missing (apt-get install -y chromium)"
        return 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "node and npm are missing"
        return 1
    fi
    local dir="$ROOT/tests/console"
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        say "installing the browser tests' npm packages (tests/console)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
        touch "$dir/node_modules"
    fi
}

# A virtualenv with the independent Kafka client the tests drive (confluent-kafka, jsonschema)
# and the API fuzzer scripts/fuzz-api runs (schemathesis, pinned: its checks and report format
# change between releases).
VENV="${TASKSTREAM_VENV:-$HOME/.cache/taskstream-venv}"
SCHEMATHESIS_VERSION=4.32.5
ensure_test_python() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import confluent_kafka, jsonschema' 2>/dev/null &&
        [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" = "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
        return
    fi
    say "preparing $VENV (confluent-kafka, jsonschema, schemathesis $SCHEMATHESIS_VERSION)"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check confluent-kafka jsonschema "schemathesis==$SCHEMATHESIS_VERSION"
}

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts a Tansu broker on PORT with its store in DIR, indexes its record headers (unless
# TANSU_INDEX_HEADERS=0, for the benchmark's before); prints its pid.
start_tansu() {
    local port="$1" dir="$2"
    mkdir -p "$dir"
    (cd "$dir" && exec tansu broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine "sqlite://broker.db" >"$dir/broker.log" 2>&1) &
    local pid=$!
    local ready=
    for _ in $(seq 1 100); do
        if grep -q "ready in" "$dir/broker.log" 2>/dev/null; then
            ready=1
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$dir/broker.log" >&2
            return 1
        fi
        sleep 0.1
    done
    [ -n "$ready" ] || warn "Tansu did not report ready within 10 s; see $dir/broker.log"
    if [ "${TANSU_INDEX_HEADERS:-1}" != 0 ] && ! index_tansu_headers "$dir/broker.db"; then
        kill "$pid" 2>/dev/null || true
        return 1
    fi
    echo "$pid"
}

# Tansu 0.6.0's SQLite engine keeps record headers in a table `header` with no index
# (tansu-storage/src/ddl/040-header.sql) and looks up each fetched record's headers by
# (topition, offset_id) (sql/header_fetch.sql): without an index every fetched record scans
# every header row the broker holds, so consumers slow down as the backlog grows, to a
# stall at tens of thousands of records with headers (BENCHMARKS.md, "The broker under a
# backlog"). Tansu creates its tables when it starts (create table if not exists), so the
# index goes on after; it is kept across restarts. Waits up to 60 s for the table and for
# the database's write lock (building the index over a large existing store takes a while).
index_tansu_headers() { # path of broker.db
    python3 - "$1" <<'PY'
import pathlib, sqlite3, sys, time
path = sys.argv[1]
deadline = time.monotonic() + 60
error = "the table header does not exist yet"
while time.monotonic() < deadline:
    try:
        # mode=rw: never create the file before Tansu does.
        db = sqlite3.connect(pathlib.Path(path).absolute().as_uri() + "?mode=rw", uri=True, timeout=max(deadline - time.monotonic(), 0.1))
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'header'").fetchone():
                db.execute("CREATE INDEX IF NOT EXISTS header_topition_offset_id ON header (topition, offset_id)")
                db.commit()
                sys.exit(0)
        finally:
            db.close()
    except sqlite3.Error as e:
        error = str(e)
    time.sleep(0.1)
sys.exit(f"could not index the Tansu broker's record headers in {path} within 60 s ({error}); "
         "without the index its consumers slow down as the backlog grows")
PY
}

# Bearer tokens of N users (default 64) for the wrk create script, comma-separated: creates
# spread over users so no one user's rate limit or quota count shapes a throughput figure.
bench_tokens() { # binary [count] [user prefix]
    local bin="$1" count="${2:-64}" prefix="${3:-wrk}"
    for u in $(seq 1 "$count"); do "$bin" token --user "$prefix-$u"; done | paste -sd,
}

# Writes a JUnit report FILE holding one test case CASE of suite SUITE that took SECS seconds:
# passed when STATUS is 0, else failed with the last 60 lines of the text file OUTPUT. For the
# suites that are not nextest's (the chaos run), so that summarise_junit counts them too.
junit_case() {
    python3 - "$@" <<'PY'
import re, sys
from xml.sax.saxutils import escape, quoteattr
path, suite, case, secs, status, output = sys.argv[1:7]
try:
    with open(output, errors="replace") as f:
        tail = "".join(f.readlines()[-60:])
except OSError as error:
    tail = f"(no output: {error})"
# XML cannot hold terminal colours or other control characters.
tail = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", re.sub(r"\x1b\[[0-9;]*m", "", tail))
failed = status != "0"
body = f'<failure message={quoteattr(f"exit status {status}")}>{escape(tail)}</failure>' if failed else ""
with open(path, "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    f.write(f'<testsuites><testsuite name={quoteattr(suite)} tests="1" failures="{int(failed)}">')
    f.write(f'<testcase classname={quoteattr(suite)} name={quoteattr(case)} time="{secs}">{body}</testcase>')
    f.write("</testsuite></testsuites>\n")
PY
}
