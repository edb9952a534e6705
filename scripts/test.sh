#!/usr/bin/env bash
# Runs every test: host unit tests and integration tests on real components
# (built from runbooks/ and tests/guests/ by the tests themselves), a real
# wasmtime, real HTTP servers on 127.0.0.1 and real sled directories.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# One target directory for the host, the tests and every guest.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# With the fail points the crash tests drive; demo.sh builds with the same
# features, so the two commands share one build.
cargo test --workspace --features wolfe/failpoints "$@"
