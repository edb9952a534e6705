"""Test guest: does what the event's `case` says, hostile cases included —
the Python twin of tests/guests/rust/conformance. Capability errors are
returned as data ({"error": "..."}) so tests see what the guest saw."""

import os
import sys
import time

from wolfe_sdk import CapabilityError, connectors, events, http, kv, log, runbook, secrets


class BrokerDown(Exception):
    pass


@runbook
def run(event):
    case = event.get("case", "echo")
    if case == "echo":
        return event
    if case == "entropy":
        started = time.monotonic_ns()
        return {
            "now_ns": str(time.time_ns()),
            "random": os.urandom(8).hex(),
            "elapsed_ns": str(time.monotonic_ns() - started),
        }
    if case == "log":
        log.debug("debug line")
        log.info("info line")
        log.warn("warn line")
        log.error("error line")
        print("stdout line")
        print("stderr line", file=sys.stderr)
        return {"logged": 6}
    if case == "http":
        headers = {}
        if event.get("bearer_secret"):
            headers["Authorization"] = "Bearer " + secrets.get(event["bearer_secret"])
        try:
            r = http.request(
                event.get("method", "GET"),
                event["url"],
                headers=headers,
                body=event.get("body"),
                timeout_ms=event.get("timeout_ms"),
            )
            return {"status": r.status, "body": r.text}
        except CapabilityError as e:
            return {"error": str(e)}
    if case == "connector":
        try:
            r = connectors.call(event["name"], event.get("action", ""), event.get("payload", ""))
            return {"status": r.status, "body": r.body}
        except CapabilityError as e:
            return {"error": str(e)}
    if case == "secret":
        try:
            return {"value": secrets.get(event["name"])}
        except CapabilityError as e:
            return {"error": str(e)}
    if case == "kv_roundtrip":
        key = event["key"]
        before = kv.get(key)
        kv.set(key, event["value"])
        after = kv.get(key)
        return {
            "before": before.decode() if before is not None else None,
            "after": after.decode() if after is not None else None,
        }
    if case == "kv_atomic":
        swaps = [
            kv.compare_and_swap("atomic", None, "a"),
            kv.compare_and_swap("atomic", None, "b"),
            kv.compare_and_swap("atomic", "a", "c"),
        ]
        value = kv.get("atomic").decode()
        counts = [kv.increment("hits", 2), kv.increment("hits", 3)]
        try:
            kv.increment("atomic", 1)
            not_a_counter = None
        except CapabilityError as e:
            not_a_counter = str(e)
        return {"swaps": swaps, "value": value, "counts": counts, "not_a_counter": not_a_counter}
    if case == "kv_counter":
        n = kv.get_json("counter", 0) + 1
        kv.set_json("counter", n)
        return {"counter": n}
    if case == "emit":
        ids = []
        for _ in range(event.get("times", 1)):
            try:
                ids.append(events.emit(event["emit_type"], event.get("emit_data")))
            except CapabilityError as e:
                return {"emitted": ids, "error": str(e)}
        time.sleep(event.get("ms", 0) / 1000)
        return {"emitted": ids}
    if case == "guest_error":
        raise BrokerDown(f"broker {event.get('broker')} is down")
    if case == "infinite_loop":
        x = 0
        while True:
            x += 1
    if case == "sleep_ms":
        time.sleep(event.get("ms", 10) / 1000)
        return {"slept_ms": event.get("ms", 10), "n": event.get("n")}
    if case == "memory_bomb":
        hoard = []
        while True:
            hoard.append(bytearray(1024 * 1024))
    if case == "big_output":
        return {"blob": "y" * (2 * 1024 * 1024)}
    if case == "panic":
        raise RuntimeError(f"deliberate panic: {event.get('why')}")
    raise ValueError(f"unknown case {case!r}")
