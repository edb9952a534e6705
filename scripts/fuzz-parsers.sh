#!/usr/bin/env bash
# Fuzzes the parsers: runs every cargo-fuzz target in fuzz/ (or those named)
# for N iterations each, without a sanitizer (stable toolchain), with a
# 1 s timeout per input, and prints a Markdown table of the figures.
#
#   scripts/fuzz-parsers.sh                 # 1,000,000 iterations per target
#   scripts/fuzz-parsers.sh -d -n 20000 -t 10  # the CI smoke run
#   scripts/fuzz-parsers.sh -t 10 manifest  # 10 s of one target
#
# -n N: at most N iterations per target; -t S: at most S seconds each.
# -d: build the targets in the dev profile (unoptimised): a clean build
# takes about 5 minutes here instead of about 20, the inputs run about ten
# times slower — right for a smoke run, not for the long one. The hang
# limit grows with it, from 1 s to 10 s per input (the same work).
#
# Needs cargo-fuzz: cargo install cargo-fuzz --locked --version 0.13.2
# Each target starts from its committed seeds (fuzz/corpus/TARGET, never
# written to) and keeps what it finds in fuzz/work/TARGET (git-ignored).
# A crash or hang leaves its input in fuzz/artifacts/TARGET/ and makes the
# script exit 1 after the table; reproduce it with
#   cd fuzz && cargo fuzz run -s none TARGET artifacts/TARGET/crash-…
# Each run is `TARGET -runs=N -timeout=1 work/TARGET corpus/TARGET`, the
# same as `cargo fuzz run -s none TARGET work/TARGET corpus/TARGET --
# -runs=N -timeout=1`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs=1000000
seconds=
profile=release
build_flags=()
hang_secs=1
while getopts "n:t:dh" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    t) seconds=$OPTARG ;;
    d) profile=debug build_flags=(--dev) hang_secs=10 ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

limit=(-runs="$runs")
[ -n "$seconds" ] && limit+=(-max_total_time="$seconds")

# One build for every target, outside the timings; the targets then run
# from that build (`cargo fuzz run` would rebuild when host/ changes).
cargo fuzz build -s none "${build_flags[@]}" >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')
bin="$target_dir/x86_64-unknown-linux-gnu/$profile"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0
rows=()
for target in "${targets[@]}"; do
  mkdir -p "work/$target" "artifacts/$target"
  log="$logs/$target.log"
  echo "== $target" >&2
  start=$(date +%s.%N)
  status=0
  "$bin/$target" "${limit[@]}" -timeout="$hang_secs" -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" "work/$target" "corpus/$target" \
    >"$log" 2>&1 || status=$?
  end=$(date +%s.%N)
  tail -n 3 "$log" >&2
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
  # libFuzzer stops at the first crash or hang: each is 0 or 1.
  crashes=0 hangs=0
  grep -q -E 'ERROR: libFuzzer: (deadly signal|out-of-memory|fuzz target exited)' "$log" && crashes=1
  grep -q 'ERROR: libFuzzer: timeout' "$log" && hangs=1
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ]; then
    crashes=1 # failed some other way: the log says how
  fi
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "!! $target failed (exit $status); its log:" >&2
    tail -n 40 "$log" >&2
  fi
  rows+=("$(awk -v t="$target" -v n="${executed:-0}" -v s="$start" -v e="$end" \
    -v cov="${coverage:-?}" -v c="$crashes" -v h="$hangs" '
    function commas(x,   s) {
      s = sprintf("%d", x)
      while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
      return s
    }
    BEGIN {
      secs = e - s
      printf "| %s | %s | %.1f s | %s | %s | %d | %d |", t, commas(n), secs, commas(secs > 0 ? n / secs : 0), cov, c, h
    }')")
done

echo
echo "| target | iterations | wall time | exec/s | edges covered | crashes | hangs > $hang_secs s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
exit "$failed"
