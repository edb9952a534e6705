"""Schemathesis hooks for Wolfe's API fuzzing (scripts/fuzz-api.sh and the CI
pass in host/tests/service_api/schemathesis.rs), loaded through
SCHEMATHESIS_HOOKS.

- `error_body`, a check: every 4xx and 5xx answer is the API's JSON error
  body, {"error": {"code": "...", "message": "..."}}, whatever the document
  declares for that status (and whether it declares it at all).
- WOLFE_FUZZ_OBJECTS, when set, is JSON naming real objects by the path
  segment before their parameter, e.g. {"tenants": ["acme"], "runbooks":
  ["hello"], "executions": ["0190..."]} (a parameter after another
  parameter, `{source}` in /v1/hooks/{tenant}/{source}, goes by its own
  name plus "s"). Every `tenant` path parameter is fixed to the first
  tenant; every other parameter with real objects gets one of them in half
  of the cases (chosen from the generated value, so a seed still reproduces
  a run), so requests reach real runbooks, rules and executions instead of
  only 404s for generated names.
- WOLFE_FUZZ_STATS, when set, names a file that gets the count of responses
  by status code when schemathesis exits: {"responses": N, "status": {...}}.
"""

import atexit
import collections
import json
import os
import zlib

import schemathesis

OBJECTS = json.loads(os.environ.get("WOLFE_FUZZ_OBJECTS") or "{}")
STATS = os.environ.get("WOLFE_FUZZ_STATS") or None


@schemathesis.check
def error_body(ctx, response, case):
    """Every error answer is the JSON error body with a string code and message."""
    if response.status_code < 400 or response.request.method == "HEAD":
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise AssertionError(
            f"{response.status_code} answered with Content-Type {content_type!r}, "
            f"not application/json: {response.content[:200]!r}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{response.status_code} body is not JSON ({e}): {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
    ):
        raise AssertionError(
            f'{response.status_code} body is not {{"error": {{"code", "message"}}}}: {response.content[:200]!r}'
        )
    return True


def _collection(path, parameter):
    """What a path parameter names: `runbooks` for {name} in .../runbooks/{name}."""
    if parameter == "tenant":
        return "tenants"
    segments = path.strip("/").split("/")
    at = segments.index("{%s}" % parameter) if "{%s}" % parameter in segments else -1
    if at > 0 and not segments[at - 1].startswith("{"):
        return segments[at - 1]
    return parameter + "s"


if OBJECTS:

    @schemathesis.hook
    def map_path_parameters(ctx, path_parameters):
        if not path_parameters or ctx.operation is None:
            return path_parameters
        for parameter, generated in list(path_parameters.items()):
            real = OBJECTS.get(_collection(ctx.operation.path, parameter)) or []
            if not real:
                continue
            if parameter == "tenant":
                path_parameters[parameter] = real[0]
                continue
            pick = zlib.crc32(repr(generated).encode())
            if pick % 2 == 0:
                path_parameters[parameter] = real[(pick // 2) % len(real)]
        return path_parameters


if STATS:
    _status = collections.Counter()

    @schemathesis.hook
    def after_call(ctx, case, response):
        _status[str(response.status_code)] += 1

    @atexit.register
    def _write_stats():
        with open(STATS, "w") as f:
            json.dump({"responses": sum(_status.values()), "status": dict(sorted(_status.items()))}, f)
