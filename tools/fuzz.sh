#!/usr/bin/env bash
# Builds the libFuzzer harness (Fuzz/, debug + ASan + libFuzzer) and runs fuzz targets.
#
#   tools/fuzz.sh [seconds-per-target] [targets...]     # default 60 s, every target
#   FUZZ_MERGE=1 tools/fuzz.sh 600 segment              # also merge new inputs into the corpus
#
# Each target runs on a scratch copy of Fuzz/corpus/<target>/ (the committed corpus does not
# grow unless FUZZ_MERGE=1); a crash is saved under Fuzz/crashes/<target>/ and replayed by the
# LambdaStoreFuzzTests replay test from then on. Prints one line per target and exits 1 when
# any target crashed. Fuzz/README.md has the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-60}
shift || true
ALL="segment payload index schema-history schema-json checkpoint manifest snapshot aggregate-state view-definition filter jsonl csv drift incidents parquet archive-manifest"
TARGETS=${*:-$ALL}

# --sanitize=fuzzer instruments only the root package (the harness); -Xswiftc/-Xcc put the
# coverage counters and comparison tracing into the engine's modules (dependencies) too.
FUZZ_FLAGS=(--sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer -Xcc -fsanitize=fuzzer-no-link)
BUILD_START=$(date +%s)
(cd Fuzz && swift build "${FUZZ_FLAGS[@]}" 2>&1 | grep -v "^/usr/bin/ld.gold: warning" | tail -1)
BIN=$(cd Fuzz && swift build "${FUZZ_FLAGS[@]}" --show-bin-path)/LambdaStoreFuzz
echo "build: $(( $(date +%s) - BUILD_START )) s"

SCRATCH=$(mktemp -d /tmp/lambdastore-fuzz.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
FAILED=0
printf '%-16s %8s %10s %12s %8s\n' target seconds execs/s corpus crashes
for t in $TARGETS; do
  [ -d "Fuzz/corpus/$t" ] || { echo "no corpus for target '$t' (Fuzz/corpus/$t)"; exit 2; }
  mkdir -p "$SCRATCH/$t" "Fuzz/crashes/$t"
  cp "Fuzz/corpus/$t"/* "$SCRATCH/$t/"
  before=$(ls "Fuzz/crashes/$t" | wc -l)
  start=$(date +%s)
  set +e
  FUZZ_TARGET=$t "$BIN" "$SCRATCH/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="Fuzz/crashes/$t/" >"$SCRATCH/$t.log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$SCRATCH/$t.log" | grep -o '[0-9]*$' || echo "?")
  files=$(ls "$SCRATCH/$t" | wc -l)
  kb=$(du -sk "$SCRATCH/$t" | cut -f1)
  crashes=$(( $(ls "Fuzz/crashes/$t" | wc -l) - before ))
  printf '%-16s %8s %10s %12s %8s\n' "$t" "$took" "${execs:-?}" "$files/${kb}K" "$crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    FAILED=1
    cp "$SCRATCH/$t.log" "Fuzz/crashes/$t.log"
    echo "  crash: see Fuzz/crashes/$t.log and Fuzz/crashes/$t/"
    grep -m1 -E "ERROR: AddressSanitizer|Fatal error|fatal error|deadly signal|SUMMARY" "$SCRATCH/$t.log" | sed 's/^/  /' || true
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    FUZZ_TARGET=$t "$BIN" -merge=1 "Fuzz/corpus/$t" "$SCRATCH/$t" >/dev/null 2>&1 || true
  fi
  rmdir "Fuzz/crashes/$t" 2>/dev/null || true
done
exit $FAILED
