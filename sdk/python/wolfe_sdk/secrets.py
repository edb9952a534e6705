"""Secrets the manifest declares under capabilities.secrets. The host
redacts their values from anything it records; do not log them anyway."""

from wit_world.imports import secrets as _secrets

from .errors import _call


def get(name):
    """The value of secret ``name``; raises Denied if undeclared."""
    return _call(_secrets.get, name)
