"""The component's export: decodes the event, calls the @runbook function,
encodes its result. Exceptions become the execution's failure message."""

import json
import traceback

import wit_world
from componentize_py_types import Err

import wolfe_sdk


class WitWorld(wit_world.WitWorld):
    def run(self, event: str) -> str:
        handler = wolfe_sdk._registered()
        try:
            result = handler(json.loads(event))
            return json.dumps(result)
        except Exception as exc:
            # The traceback goes to the log; the message is the error.
            traceback.print_exc()
            message = str(exc) or type(exc).__name__
            raise Err(f"{type(exc).__name__}: {message}")
