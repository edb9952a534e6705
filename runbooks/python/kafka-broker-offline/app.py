"""Kafka broker offline: diagnose it through the cluster's admin API and
restart it only when that is safe; otherwise escalate with the reasons.

Safe means: it is the only broker down (restarting into a wider outage helps
nobody), it is not the controller, under-replicated partitions are below
the threshold, and it has not been restarted within the cooldown (kept in
kv, so repeated alerts cannot turn into a restart loop). The cooldown is
taken with compare-and-swap before restarting, so two alerts handled at the
same moment (on two hosts) restart the broker once."""

import time

from wolfe_sdk import CapabilityError, http, kv, log, runbook, secrets


@runbook
def run(event):
    cluster = event["cluster"]
    broker = int(event["broker_id"])
    api = event["admin_url"].rstrip("/") + f"/api/clusters/{cluster}"
    max_urp = int(event.get("max_under_replicated", 50))
    cooldown = int(event.get("restart_cooldown_secs", 3600))

    try:
        brokers = http.get(f"{api}/brokers", timeout_ms=3000).json()["brokers"]
    except CapabilityError as e:
        # Cannot see the cluster: never restart blind, hand it to a human.
        log.error(f"admin API unreachable: {e}")
        return {"cluster": cluster, "broker": broker, "action": "escalate", "reasons": [f"admin API unreachable: {e}"]}
    status = {int(b["id"]): b["status"] for b in brokers}
    if broker not in status:
        raise ValueError(f"broker {broker} is not in cluster {cluster}")
    if status[broker] == "online":
        log.info(f"broker {broker} is back online; nothing to do")
        return {"cluster": cluster, "broker": broker, "action": "none", "reasons": ["broker is online"]}

    diagnostics = http.get(f"{api}/brokers/{broker}/diagnostics", timeout_ms=3000).json()
    others_down = sorted(b for b, s in status.items() if s != "online" and b != broker)
    key = f"restarts/{cluster}/{broker}"
    stored = kv.get(key)
    last_restart = 0 if stored is None else int(stored)
    now = int(time.time())

    reasons = []
    if others_down:
        reasons.append(f"other brokers are down too: {others_down}")
    if diagnostics.get("controller"):
        reasons.append("broker is the controller")
    if diagnostics.get("under_replicated_partitions", 0) >= max_urp:
        reasons.append(f"{diagnostics['under_replicated_partitions']} under-replicated partitions (limit {max_urp})")
    if now - last_restart < cooldown:
        reasons.append(f"restarted {now - last_restart} s ago (cooldown {cooldown} s)")

    result = {"cluster": cluster, "broker": broker, "diagnostics": diagnostics, "reasons": reasons}
    if reasons:
        log.warn(f"not restarting broker {broker}: {'; '.join(reasons)}")
        return {**result, "action": "escalate"}

    # Take the cooldown: only if nobody else took it since we read it.
    if not kv.compare_and_swap(key, stored, str(now)):
        reason = "another execution is restarting this broker right now"
        log.warn(f"not restarting broker {broker}: {reason}")
        return {**result, "reasons": [reason], "action": "escalate"}

    headers = {}
    try:
        headers["Authorization"] = "Bearer " + secrets.get("KAFKA_ADMIN_TOKEN")
    except CapabilityError as e:
        log.warn(f"restarting without a token: {e}")
    restart = http.request("POST", f"{api}/brokers/{broker}/restart", headers=headers, timeout_ms=10000)
    if not restart.ok:
        # Give the cooldown back (unless someone took it meanwhile): the
        # broker was not restarted.
        kv.compare_and_swap(key, str(now), stored if stored is not None else "0")
        raise RuntimeError(f"restart of broker {broker} refused: HTTP {restart.status} {restart.text[:200]}")
    total = kv.increment(f"restarts-total/{cluster}/{broker}")
    log.info(f"restart of broker {broker} requested (restart {total} of this broker)")
    return {**result, "action": "restarted", "restarts_total": total}
