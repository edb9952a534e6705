"""The smallest useful runbook, in Python: logs what it received and echoes it."""

from wolfe_sdk import log, runbook


@runbook
def run(event):
    keys = len(event) if isinstance(event, dict) else 0
    log.info(f"hello: event with {keys} top-level keys")
    return {"greeting": "hello from wolfe", "echo": event}
