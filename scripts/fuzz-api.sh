#!/usr/bin/env bash
# Generated attacks on a live `wolfe serve`, the longer run of the CI pass in
# host/tests/service_api/schemathesis.rs. Builds wolfe, starts `wolfe serve`
# on a fresh sled store on a free loopback port, creates tenant acme (hello
# deployed, a webhook source and rule, an event, executions, a secret, a
# connector, a silence) and tenant globex, then runs schemathesis
# (scripts/schemathesis/: config.toml, hooks.py) against the served OpenAPI
# document once per token: a forged token, another tenant's admin, each role
# of acme (sender, auditor, operator, author, admin), and the server admin
# token on acme and on generated tenant names. Prints per pass the operations
# tested, test cases, failures and 5xx responses; exits 1 when a pass failed.
#
#   EXAMPLES        test cases per operation and phase (default 200)
#   SEED            schemathesis seed (default 20261202)
#   PHASES          schemathesis phases (default examples,coverage,fuzzing,stateful)
#   CHECKS          schemathesis checks instead of config.toml's, e.g. `all`
#   WOLFE_FUZZ_DIR  where each pass's output and reports go (default .wolfe/fuzz-api)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${FUZZ_API_IN_PRIVATE_NET:-}" ]; then
  ./scripts/setup.sh
  # The same packages and features as scripts/test.sh and scripts/demo.sh.
  cargo build --workspace --features wolfe/failpoints
  # The rest runs in a network namespace of its own, with only loopback:
  # generated requests configure SQS sources and connectors with whatever
  # endpoints they like, and the server would reach for them. (Needs root.)
  exec unshare -n env FUZZ_API_IN_PRIVATE_NET=1 \
    bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
root=$PWD
wolfe="$CARGO_TARGET_DIR/debug/wolfe"
schemathesis="$root/.tools/venv/bin/schemathesis"
examples="${EXAMPLES:-200}"
seed="${SEED:-20261202}"
phases="${PHASES:-examples,coverage,fuzzing,stateful}"
checks=()
[ -z "${CHECKS:-}" ] || checks=(--checks "$CHECKS")
out="${WOLFE_FUZZ_DIR:-.wolfe/fuzz-api}"
rm -rf "$out"
mkdir -p "$out/data"
out="$(cd "$out" && pwd)"

server_pid=
cleanup() { [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }; }
trap cleanup EXIT

admin_token=$(python3 -c 'import secrets; print("wolfe_" + secrets.token_hex(32))')
WOLFE_ADMIN_TOKEN=$admin_token WOLFE_LOG=warn \
  "$wolfe" serve --data "$out/data" --listen 127.0.0.1:0 > "$out/serve.out" 2> "$out/serve.log" &
server_pid=$!
for _ in $(seq 300); do [ -s "$out/serve.out" ] && break; sleep 0.1; done
[ -s "$out/serve.out" ] || { cat "$out/serve.log" >&2; exit 1; }
base="http://$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["started"]["listening"])' < "$out/serve.out")"
echo "== wolfe serve on $base (store: $out/data)"

# call METHOD PATH TOKEN [JSON]: the response body; fails on a non-2xx answer.
call() {
  local args=(-sS -o "$out/response" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3")
  [ $# -lt 4 ] || args+=(-H 'Content-Type: application/json' --data-binary "$4")
  local status
  status=$(curl "${args[@]}" "$base$2")
  case "$status" in 2??) cat "$out/response" ;; *) echo "fuzz-api: $1 $2: $status $(cat "$out/response")" >&2; return 1 ;; esac
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
declare -A tokens
tenant() {
  call POST /v1/tenants "$admin_token" "{\"name\": \"$1\"}" > /dev/null
  for role in admin author operator auditor sender; do
    tokens[$1-$role]=$(call POST "/v1/tenants/$1/tokens" "$admin_token" "{\"role\": \"$role\"}" | field '["token"]')
  done
}
tenant acme
tenant globex

echo "== acme: hello in dev, source am, rule page, an alert, a manual run, a secret, a connector, a silence"
WOLFE_SERVER=$base WOLFE_TENANT=acme WOLFE_TOKEN=${tokens[acme-author]} \
  "$wolfe" deploy runbooks/rust/hello --env dev > /dev/null
call PUT /v1/tenants/acme/sources/am "${tokens[acme-author]}" \
  '{"auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint", "type_path": "labels.alertname"}' > /dev/null
call PUT /v1/tenants/acme/rules/page "${tokens[acme-author]}" \
  '{"source": "am", "runbook": "hello", "environment": "dev"}' > /dev/null
fired=$(call POST /v1/hooks/acme/am "${tokens[acme-sender]}" \
  '{"alerts": [{"fingerprint": "fp1", "labels": {"alertname": "DiskFull"}}]}' | field '["executions"][0]')
manual=$(call POST /v1/tenants/acme/runbooks/hello/run "${tokens[acme-operator]}" \
  '{"environment": "dev", "input": {"service": "checkout"}}' | field '["execution_id"]')
event=
for _ in $(seq 100); do
  record=$(call GET "/v1/tenants/acme/executions/$fired" "${tokens[acme-auditor]}")
  case "$(field '["status"]' <<< "$record")" in queued|running) sleep 0.1 ;; *) event=$(field '["event"]' <<< "$record"); break ;; esac
done
call PUT /v1/tenants/acme/secrets/CHAT_URL "${tokens[acme-admin]}" '{"value": "http://127.0.0.1:9/chat"}' > /dev/null
call PUT /v1/tenants/acme/connectors/chat "${tokens[acme-admin]}" '{"kind": "slack", "webhook_url_secret": "CHAT_URL"}' > /dev/null
call PUT /v1/tenants/acme/silences/maintenance "${tokens[acme-operator]}" \
  '{"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-01T01:00:00Z", "matchers": [{"path": "data.service", "op": "eq", "value": "checkout"}]}' > /dev/null
acme_objects=$(python3 -c 'import json, sys; print(json.dumps({
    "tenants": ["acme"], "runbooks": ["hello"], "environments": ["dev", "test", "prod"],
    "sources": ["am"], "rules": ["page"], "executions": sys.argv[1:3], "events": sys.argv[3:4],
    "secrets": ["CHAT_URL"], "connectors": ["chat"], "silences": ["maintenance"]}))' "$fired" "$manual" "$event")

# Tokens that may do least first, so the fixtures survive until the roles
# that may change them; the server admin token last.
passes=(
  "forged|wolfe_forged0123456789|$acme_objects"
  "other-tenant-admin|${tokens[globex-admin]}|$acme_objects"
  "sender|${tokens[acme-sender]}|$acme_objects"
  "auditor|${tokens[acme-auditor]}|$acme_objects"
  "operator|${tokens[acme-operator]}|$acme_objects"
  "author|${tokens[acme-author]}|$acme_objects"
  "admin|${tokens[acme-admin]}|$acme_objects"
  "server-admin|$admin_token|$acme_objects"
  "server-admin-any-tenant|$admin_token|{}"
)
echo "== schemathesis $("$schemathesis" --version | awk '{print $NF}'): $examples examples per operation and phase, seed $seed, phases $phases${CHECKS:+, checks $CHECKS}"
for pass in "${passes[@]}"; do
  IFS='|' read -r label token objects <<< "$pass"
  mkdir -p "$out/$label"
  started=$SECONDS
  (cd "$out/$label" &&
    WOLFE_FUZZ_TOKEN=$token WOLFE_FUZZ_OBJECTS=$objects WOLFE_FUZZ_STATS="$out/$label/stats.json" \
    SCHEMATHESIS_HOOKS="$root/scripts/schemathesis/hooks.py" \
    "$schemathesis" --config-file "$root/scripts/schemathesis/config.toml" run "$base/v1/openapi.json" \
      --max-examples "$examples" --seed "$seed" --phases "$phases" "${checks[@]}" --continue-on-failure --workers 1 --no-color \
      --report json --report-json-path "$out/$label/report.json" \
      > "$out/$label/output.txt" 2>&1) || true
  echo "$label: $((SECONDS - started)) s, output in $out/$label/output.txt"
done
kill -0 "$server_pid" 2>/dev/null || { echo "fuzz-api: wolfe serve died; see $out/serve.log" >&2; exit 1; }
call GET /healthz "$admin_token" > /dev/null

python3 - "$out" "${passes[@]%%|*}" <<'PY'
import json, os, sys
out, labels = sys.argv[1], sys.argv[2:]
rows, bad = [], 0
for label in labels:
    try:
        report = json.load(open(os.path.join(out, label, "report.json")))
    except (OSError, ValueError):
        report = {"operations": None, "test_cases": {}, "failures": [], "errors": [{"title": "no report", "count": 1}], "exit_code": -1}
    try:
        stats = json.load(open(os.path.join(out, label, "stats.json")))
    except (OSError, ValueError):
        stats = {"responses": 0, "status": {}}
    operations = (report.get("operations") or {}).get("tested", 0)
    cases = report["test_cases"].get("generated", 0)
    failures = sum(f["count"] for f in report["failures"])
    errors = sum(e["count"] for e in report["errors"])
    server_errors = sum(n for s, n in stats["status"].items() if s.startswith("5"))
    bad += failures + errors + server_errors + (report["exit_code"] != 0)
    rows.append((label, operations, cases, stats["responses"], failures, errors, server_errors))
head = ("token", "operations", "test cases", "responses", "failures", "errors", "5xx")
print()
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
for row in rows:
    print("| " + " | ".join(str(v) for v in row) + " |")
print()
if bad:
    print(f"fuzz-api: failures; see {out}/*/output.txt", file=sys.stderr)
    sys.exit(1)
print("fuzz-api: no failures")
PY
