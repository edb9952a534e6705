#!/usr/bin/env bash
# Installs what Wolfe needs beyond a Rust toolchain and Python 3, into
# places that need no root and nothing global:
#   - the wasm32-wasip2 Rust target that runbooks compile to;
#   - .tools/venv: moto[server], the SQS-compatible server the tests use.
# Safe to run repeatedly; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5

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
if [ ! -x .tools/venv/bin/moto_server ] || ! .tools/venv/bin/pip show moto 2>/dev/null | grep -q "^Version: $MOTO_VERSION$"; then
  echo "setup: installing moto[server]==$MOTO_VERSION into .tools/venv" >&2
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
