"""Events for other rules to act on (capabilities.emit = true): a diagnostic
runbook hands its findings to a remediation runbook. Since WIT 0.1.2."""

import json

from wit_world.imports import events as _events

from .errors import _call


def emit(event_type, data):
    """Emits an event of ``event_type`` with ``data`` (any JSON value) from
    the source ``runbook:{name}``; returns its id. An execution resumed after
    a crash emits the same events under the same ids. Raises Limited past
    the chain's depth."""
    return _call(_events.emit, event_type, json.dumps(data))
