"""Outbound HTTP through the host, allowed only for the URLs and methods in
the manifest's capabilities.http."""

import json as _json

from wit_world.imports import http as _http

from .errors import _call


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def ok(self):
        """True for 2xx statuses."""
        return 200 <= self.status < 300

    def header(self, name):
        """The first header with this name (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return _json.loads(self.body)


def request(method, url, headers=None, body=None, json=None, timeout_ms=None):
    """Sends a request; ``json`` serialises a body and sets Content-Type."""
    headers = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
    if json is not None:
        body = _json.dumps(json).encode()
        headers.append(("Content-Type", "application/json"))
    if isinstance(body, str):
        body = body.encode()
    req = _http.Request(
        method=method,
        url=url,
        headers=headers,
        body=body,
        timeout_ms=timeout_ms,
    )
    r = _call(_http.send, req)
    return Response(r.status, r.headers, r.body)


def get(url, **kwargs):
    return request("GET", url, **kwargs)


def post_json(url, value, **kwargs):
    return request("POST", url, json=value, **kwargs)
