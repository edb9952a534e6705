#!/usr/bin/env bash
# Wolfe's main job, locally: builds wolfe and the example runbooks, then runs
# them against sample events with state in an embedded sled store:
#   1. hello echoes an alert;
#   2. flap-guard checks a (deliberately failing) local service agent four
#      times: it waits, restarts the service with a bearer token, waits again,
#      and escalates once its restart budget is spent. Its state lives in
#      sled under .wolfe/demo, so each run builds on the last.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -p wolfe
wolfe="$CARGO_TARGET_DIR/debug/wolfe"
data=.wolfe/demo
rm -rf "$data"
mkdir -p "$data"

summary() { python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("runbook","status","output","error","capability_calls","fuel_consumed","memory_peak_bytes","duration_ms")}, indent=2))'; }

echo "== wolfe run runbooks/rust/hello"
"$wolfe" run runbooks/rust/hello --event-file runbooks/rust/hello/event.json --data "$data" | summary

# A service agent whose health check fails and whose restart endpoint works.
python3 scripts/demo_agent.py > "$data/agent.port" &
agent=$!
trap 'kill $agent 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$data/agent.port" ] && break; sleep 0.1; done
port=$(cat "$data/agent.port")
cat > "$data/event.json" <<JSON
{"service": "checkout", "health_url": "http://127.0.0.1:$port/health",
 "restart_url": "http://127.0.0.1:$port/restart", "failures_before_restart": 2, "max_restarts": 1}
JSON
echo "RESTART_TOKEN=demo-token-not-for-production" > "$data/secrets.env"
for i in 1 2 3 4; do
  echo "== wolfe run runbooks/rust/flap-guard (alert $i)"
  "$wolfe" run runbooks/rust/flap-guard --event-file "$data/event.json" \
    --secrets-file "$data/secrets.env" --data "$data" | summary
done
echo "== done: try a hostile runbook next, e.g."
echo "$wolfe run tests/guests/rust/conformance --event '{\"case\":\"infinite_loop\"}'"
