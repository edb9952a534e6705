"""Host-side integrations the manifest declares under
``capabilities.connectors``. The tenant configures each one (kind, URL, which
secret holds its credentials) and the host adds the credentials: they never
enter the runbook."""

import json as _json

from wit_world.imports import connectors as _connectors

from .errors import _call


class Reply:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    @property
    def ok(self):
        """True for 2xx statuses."""
        return 200 <= self.status < 300

    def json(self):
        return _json.loads(self.body)


def call(connector, action, payload=""):
    """Calls a connector with a raw action and payload (see the WIT interface)."""
    r = _call(_connectors.call, connector, action, payload)
    return Reply(r.status, r.body)


def request(connector, method, path, body=None, json=None):
    """A request through an ``http`` connector: a method and a path under its base URL."""
    if json is not None:
        body = _json.dumps(json)
    return call(connector, f"{method} {path}", body or "")


def slack_post(connector, message):
    """Posts ``{"text": ...}`` (or with ``blocks``) through a ``slack`` connector."""
    return call(connector, "post", _json.dumps(message))


def pagerduty(connector, action, event):
    """Sends a PagerDuty Events v2 event: ``trigger``, ``acknowledge`` or
    ``resolve``. The host adds the routing key."""
    return call(connector, action, _json.dumps(event))
