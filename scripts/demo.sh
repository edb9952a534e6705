#!/usr/bin/env bash
# Wolfe's main job on this machine: builds wolfe and the example runbooks,
# starts `wolfe serve` on the embedded sled store (.wolfe/demo), creates a
# demo tenant, deploys the examples with an Alertmanager source and rules,
# posts a sample alert twice and shows the executions it fired — then keeps
# serving until Ctrl-C and prints how to post more.
#
#   WOLFE_DEMO_PORT   listen port (default 8080)
#   WOLFE_DEMO_EXIT=1 stop after showing the executions (for scripted runs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# The same packages and features as scripts/test.sh builds, so after the
# tests this compiles nothing again (fail points do nothing unless the
# FAILPOINTS variable names one).
cargo build --workspace --features wolfe/failpoints
wolfe="$CARGO_TARGET_DIR/debug/wolfe"
data=.wolfe/demo
port="${WOLFE_DEMO_PORT:-8080}"
rm -rf "$data"
mkdir -p "$data"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A stand-in for the service the runbook remediates: unhealthy, restartable.
python3 scripts/demo_agent.py > "$data/agent.port" 2> "$data/agent.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$data/agent.port" ] && break; sleep 0.1; done
agent="127.0.0.1:$(cat "$data/agent.port")"

export WOLFE_ADMIN_TOKEN
WOLFE_ADMIN_TOKEN=$(python3 -c 'import secrets; print("wolfe_" + secrets.token_hex(32))')
# The stand-ins listen on loopback, which runbooks may reach only because this
# configuration allows it (never by default).
WOLFE_OUTBOUND_ALLOW_CIDRS='["127.0.0.1/32"]' \
  "$wolfe" serve --data "$data" --listen "127.0.0.1:$port" > "$data/serve.out" 2> "$data/serve.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$data/serve.out" ] && break; sleep 0.1; done
[ -s "$data/serve.out" ] || { cat "$data/serve.log" >&2; exit 1; }
export WOLFE_SERVER="http://127.0.0.1:$port" WOLFE_TENANT=demo
echo "== wolfe serve is listening on $WOLFE_SERVER (store: $data)"

field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
WOLFE_TOKEN=$WOLFE_ADMIN_TOKEN "$wolfe" tenant create demo > /dev/null
admin=$(WOLFE_TOKEN=$WOLFE_ADMIN_TOKEN "$wolfe" token create --role admin | field '["token"]')
sender=$(WOLFE_TOKEN=$WOLFE_ADMIN_TOKEN "$wolfe" token create --role sender | field '["token"]')
export WOLFE_TOKEN=$admin

echo "== deploying the example runbooks to dev"
"$wolfe" deploy runbooks/rust/hello --env dev | field '["deployed"]'
"$wolfe" deploy runbooks/rust/flap-guard --env dev | field '["deployed"]'
"$wolfe" deploy runbooks/js/alert-enricher --env dev | field '["deployed"]'
"$wolfe" promote hello --from dev --to test --yes 2>/dev/null | field '["environment"]' > /dev/null
echo "== flap-guard's restart token, stored as an encrypted tenant secret (write-only)"
python3 -c 'import secrets; print("restart-" + secrets.token_hex(16))' | "$wolfe" secret set RESTART_TOKEN | field '["name"]'
echo "== source and rules"
"$wolfe" source apply examples/alertmanager/source.toml > /dev/null
"$wolfe" rule apply examples/alertmanager/rule-log-every-alert.toml > /dev/null
"$wolfe" rule apply examples/alertmanager/rule-restart-unhealthy.toml > /dev/null
"$wolfe" rule apply examples/alertmanager/rule-enrich-to-chat.toml > /dev/null
echo "source alertmanager; rules log-every-alert -> hello, restart-unhealthy -> flap-guard, enrich-to-chat -> alert-enricher (JavaScript)"

post_alert() {
  sed -e "s/INSTANCE/$agent/" -e "s/FINGERPRINT/$1/" examples/alertmanager/alert.json |
    curl -sS -X POST "$WOLFE_SERVER/v1/hooks/demo/alertmanager" \
      -H "Authorization: Bearer $sender" -H 'Content-Type: application/json' --data-binary @-
  echo
}
summary() {
  python3 -c '
import json, sys
for e in reversed(json.load(sys.stdin)["executions"]):
    out = e.get("output") or {}
    held = e.get("suppressed")
    what = out.get("action") or out.get("greeting") or out.get("text") or e.get("error") or (
        held and "%s: %s" % (held["reason"], held["detail"]))
    print("  %-18s %-10s %-10s %s" % (e["rule"], e["runbook"], e["status"], json.dumps(what)))
'
}
echo "== posting a ServiceDown alert twice: flap-guard restarts checkout once; the"
echo "   rule's policy folds the repeat into that run (suppressed: deduplicated)"
post_alert alert-1
sleep 1
post_alert alert-2
sleep 1
echo "== executions"
"$wolfe" exec list --limit 10 | summary
echo "== what the stand-in chat webhook received from alert-enricher:"
curl -sS "http://$agent/slack/last"
echo
echo "== one full execution record:"
id=$("$wolfe" exec list --runbook flap-guard --status succeeded --limit 1 | field '["executions"][0]["id"]')
"$wolfe" exec show "$id"
echo "== why automation is holding back (wolfe safety): the restart-unhealthy windows"
"$wolfe" safety | python3 -c '
import json, sys
for r in json.load(sys.stdin)["rules"]:
    for k in r["keys"]:
        print("  %-18s key %-10s runs in window %d, last run %s, budget %s" % (r["rule"], k["key"],
              k["runs_in_window"], (k["last_run"] or {}).get("at", "-"),
              "%d of %d keys" % (r["budget"]["keys_used"], r["budget"]["max_keys"]) if r["budget"] else "-"))
'

cat <<MSG

Wolfe keeps serving on $WOLFE_SERVER (Ctrl-C to stop).

Studio, the web UI: open $WOLFE_SERVER/ in a browser and sign in with the
demo tenant's admin token (API token field):

  $admin

Post more alerts:

  curl -X POST $WOLFE_SERVER/v1/hooks/demo/alertmanager \\
    -H 'Authorization: Bearer $sender' -H 'Content-Type: application/json' \\
    --data-binary @<(sed -e 's/INSTANCE/$agent/' -e 's/FINGERPRINT/alert-3/' examples/alertmanager/alert.json)

and read what happened:

  WOLFE_SERVER=$WOLFE_SERVER WOLFE_TENANT=demo WOLFE_TOKEN=$admin $wolfe exec list
MSG
[ "${WOLFE_DEMO_EXIT:-0}" = 1 ] && exit 0
wait "${pids[1]}"
