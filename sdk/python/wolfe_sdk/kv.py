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


def compare_and_swap(key, expected, new):
    """Sets ``key`` to ``new`` only if it holds exactly ``expected`` now
    (None: only if absent), atomically — also against executions of this
    runbook running at the same moment on other hosts. True when it was set.
    str values are encoded as UTF-8."""
    if isinstance(expected, str):
        expected = expected.encode()
    if isinstance(new, str):
        new = new.encode()
    return _call(_kv.compare_and_swap, key, None if expected is None else bytes(expected), bytes(new))


def increment(key, delta=1):
    """Adds ``delta`` to the counter under ``key`` (absent: 0) atomically and
    returns the new value. Counters are decimal text, so get_json reads one
    as a number."""
    return _call(_kv.increment, key, int(delta))


def get_json(key, default=None):
    """A JSON value stored with set_json, or ``default``."""
    raw = get(key)
    return default if raw is None else json.loads(raw)


def set_json(key, value):
    set(key, json.dumps(value).encode())
