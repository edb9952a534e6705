"""Write Wolfe runbooks in Python.

A runbook is one function from the event (a dict, or any JSON value) to a
JSON-serialisable result, marked with ``@runbook``::

    from wolfe_sdk import runbook, http, kv, log

    @runbook
    def run(event):
        log.info(f"alert for {event['service']}")
        health = http.get("https://status.internal/health")
        return {"healthy": health.ok}

Returning ends the execution ``succeeded``; raising ends it ``failed`` with
the exception's message. ``print()`` goes to the execution log. Capabilities
(``http``, ``secrets``, ``kv``, ``log``) work only as far as the runbook's
manifest grants them; anything else raises ``Denied``.
"""

from . import connectors, events, http, kv, log, secrets
from .errors import CapabilityError, Denied, Failed, Invalid, Limited

__all__ = [
    "runbook",
    "connectors",
    "events",
    "http",
    "kv",
    "log",
    "secrets",
    "CapabilityError",
    "Denied",
    "Invalid",
    "Failed",
    "Limited",
]

_handler = None


def runbook(function):
    """Registers ``function(event) -> result`` as the runbook's entry point."""
    global _handler
    _handler = function
    return function


def _registered():
    if _handler is None:
        raise RuntimeError("no @runbook function was registered")
    return _handler
