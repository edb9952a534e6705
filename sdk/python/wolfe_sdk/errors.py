"""Capability errors: what the host answered instead of a result."""


class CapabilityError(Exception):
    """A capability call did not succeed."""

    kind = "error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return f"{self.kind}: {self.message}"


class Denied(CapabilityError):
    """The manifest does not grant this call."""

    kind = "denied"


class Invalid(CapabilityError):
    """The request was malformed."""

    kind = "invalid"


class Failed(CapabilityError):
    """The call was allowed but did not work."""

    kind = "failed"


class Limited(CapabilityError):
    """A size, time or count limit was hit."""

    kind = "limited"


def _from_wit(err):
    """Maps componentize-py's ``Err(types.Error_*)`` to a CapabilityError."""
    from wit_world.imports import types

    value = getattr(err, "value", err)
    for wit_type, error in (
        (types.Error_Denied, Denied),
        (types.Error_Invalid, Invalid),
        (types.Error_Failed, Failed),
        (types.Error_Limited, Limited),
    ):
        if isinstance(value, wit_type):
            return error(value.value)
    return CapabilityError(str(value))


def _call(function, *args):
    """Calls a WIT import, raising CapabilityError instead of Err."""
    from componentize_py_types import Err

    try:
        return function(*args)
    except Err as err:
        raise _from_wit(err) from None
