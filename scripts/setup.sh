#!/usr/bin/env bash
# Installs what Wolfe needs beyond a Rust toolchain and Python 3, into
# places that need no root and nothing global:
#   - the wasm32-wasip2 Rust target that runbooks compile to;
#   - .tools/venv: componentize-py (builds Python runbooks) and moto[server]
#     (the SQS-compatible server the tests use).
# Safe to run repeatedly; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
COMPONENTIZE_PY_VERSION=0.25.1

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust from https://rustup.rs" >&2
  exit 1
fi
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2" ]; then
  echo "setup: installing the wasm32-wasip2 Rust target" >&2
  rustup target add wasm32-wasip2
fi
if ! command -v python3 >/dev/null; then
  echo "setup: python3 not found; install Python 3.9 or newer" >&2
  exit 1
fi
# grep reads all of pip's output (no -q): exiting early could kill pip with
# SIGPIPE, which pipefail would report as "not installed".
installed() { .tools/venv/bin/pip show "$1" 2>/dev/null | grep "^Version: $2$" >/dev/null; }
if ! installed moto "$MOTO_VERSION" || ! installed componentize-py "$COMPONENTIZE_PY_VERSION"; then
  echo "setup: installing componentize-py==$COMPONENTIZE_PY_VERSION and moto[server]==$MOTO_VERSION into .tools/venv" >&2
  [ -x .tools/venv/bin/pip ] || python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION" "moto[server]==$MOTO_VERSION"
fi
