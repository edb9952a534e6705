#!/usr/bin/env bash
# Installs what Wolfe needs beyond a Rust toolchain and Python 3, into
# places that need no root and nothing global:
#   - the wasm32-wasip2 Rust target that runbooks compile to;
#   - .tools/venv: componentize-py (builds Python runbooks), moto[server]
#     (the SQS-compatible server the tests use) and schemathesis (generated
#     requests against the API: host/tests/service_api/schemathesis.rs and
#     scripts/fuzz-api.sh);
#   - .tools/node: componentize-js and esbuild (build JavaScript runbooks),
#     pinned by scripts/js-tools/package-lock.json. Node.js itself comes from
#     the system (Debian's nodejs is installed when missing and we are root).
#   - studio/dist: Studio, the web UI, built by Vite from studio/ (pinned by
#     studio/package-lock.json); the wolfe binary embeds it, so it must be
#     built before wolfe is. Rebuilt only when studio/ or the OpenAPI
#     document changed.
# Also Debian's postgresql, prometheus and chromium packages, when missing
# and we are root: the tests start their own private servers and a headless
# browser from their binaries (installing them starts none).
# Safe to run repeatedly; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
COMPONENTIZE_PY_VERSION=0.25.1
SCHEMATHESIS_VERSION=4.32.5

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
if ! installed moto "$MOTO_VERSION" || ! installed componentize-py "$COMPONENTIZE_PY_VERSION" \
   || ! installed schemathesis "$SCHEMATHESIS_VERSION"; then
  echo "setup: installing componentize-py==$COMPONENTIZE_PY_VERSION, moto[server]==$MOTO_VERSION and schemathesis==$SCHEMATHESIS_VERSION into .tools/venv" >&2
  [ -x .tools/venv/bin/pip ] || python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION" "moto[server]==$MOTO_VERSION" \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi

# JavaScript toolchain. Node.js 18+ runs componentize-js and esbuild.
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ "$(node_major)" -lt 18 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Node.js and npm from Debian" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if ! command -v npm >/dev/null || [ "$(node_major)" -lt 18 ]; then
    echo "setup: Node.js 18 or newer and npm are needed for JavaScript runbooks; install them (e.g. apt-get install nodejs npm) and run this again" >&2
    exit 1
  fi
fi
if ! cmp -s scripts/js-tools/package-lock.json .tools/node/package-lock.json \
   || [ ! -e .tools/node/node_modules/.bin/componentize-js ] || [ ! -e .tools/node/node_modules/.bin/esbuild ]; then
  echo "setup: installing componentize-js and esbuild into .tools/node" >&2
  mkdir -p .tools/node
  cp scripts/js-tools/package.json scripts/js-tools/package-lock.json .tools/node/
  (cd .tools/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# Studio. Built again when any of its inputs is newer than the build.
if [ ! -e studio/node_modules/.package-lock.json ] \
   || [ studio/package-lock.json -nt studio/node_modules/.package-lock.json ]; then
  echo "setup: installing Studio's packages into studio/node_modules" >&2
  (cd studio && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -e studio/dist/index.html ] \
   || [ -n "$(find studio/src studio/index.html studio/public studio/vite.config.ts studio/package-lock.json docs/openapi.json -newer studio/dist/index.html -print -quit)" ]; then
  echo "setup: building Studio (studio/dist)" >&2
  (cd studio && npm run --silent build >/dev/null)
fi

# Debian packages the tests start private servers or tools from; installing
# them starts nothing. Tries the install on the current package lists first:
# apt-get update only when that fails.
debian_package() { # PACKAGE WHAT_NEEDS_IT PRESENT_CHECK...
  local package=$1 why=$2
  shift 2
  if "$@" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing $package from Debian ($why)" >&2
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
    if ! install 2>/dev/null; then
      apt-get update -qq >/dev/null
      install
    fi
  else
    echo "setup: $why need Debian's $package package (apt-get install --no-install-recommends $package); skipping it" >&2
  fi
}
# PostgreSQL binaries for the store's tests (host/tests/common/postgres.rs).
debian_package postgresql "the PostgreSQL tests" sh -c 'ls /usr/lib/postgresql/*/bin/initdb'
# promtool checks /metrics; a private prometheus scrapes a real wolfe serve.
debian_package prometheus "the metrics tests" command -v promtool
# `ip`, to bring up loopback in the private network namespace the
# generated-attack test runs its server in (host/tests/common/private_net.rs).
debian_package iproute2 "the generated-attack test" command -v ip
# Chromium, headless, for Studio's browser tests (host/tests/service_api/studio.rs).
debian_package chromium "Studio's browser tests" sh -c 'command -v chromium || test -x /usr/lib/chromium/chromium'
