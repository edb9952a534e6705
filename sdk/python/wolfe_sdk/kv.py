"""The runbook's private key-value store (capabilities.kv = true)."""

import json

from wit_world.imports import kv as _kv

from .errors import _call


def get(key):
    """The bytes stored under ``key``, or None."""
    return _call(_kv.get, key)


def set(key, value):
    """Stores bytes (str is encoded as UTF-8)."""
    if isinstance(value, str):
        value = value.encode()
    _call(_kv.set, key, bytes(value))


def delete(key):
    _call(_kv.delete, key)


def get_json(key, default=None):
    """A JSON value stored with set_json, or ``default``."""
    raw = get(key)
    return default if raw is None else json.loads(raw)


def set_json(key, value):
    set(key, json.dumps(value).encode())
