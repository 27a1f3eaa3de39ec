#!/usr/bin/env bash
# The kill -9 durability drill: appends that returned under `sync` durability must survive a
# process crash at any instant, and recovery must leave a clean, dense, intact log.
#
#   tools/crashloop.sh [iterations (default 50)] [store (default: a new temporary directory)]
#
# Each iteration starts `lambdastore debug append-loop` in the background with a random batch
# size (50–500 records), codec and segment size, kills it with SIGKILL after a random 20–500 ms,
# takes the last `acked N` line it printed, then runs `lambdastore debug check-loop` (which
# opens the store, so recovery runs, and checks every record against the generator) and
# `lambdastore verify`. A kill -9 rarely lands inside a write (copying a batch into the page
# cache takes microseconds), so in every other iteration whose last batch holds no acknowledged
# record, `lambdastore debug tear-tail` cuts that batch as a torn write would (or replaces it
# with zero bytes), and recovery must then cut exactly those bytes (TEAR=0 turns this off). The same store is kept across iterations, so each recovery runs on top
# of earlier crashes and each append-loop continues from the recovered end.
#
# Record values are a pure function of (seed, offset). Record values are compared from the end
# verified by the previous iteration on (earlier batches are checked for density and by
# `verify`'s checksums every time), and every record from offset 0 every 25 iterations and at
# the end. Environment: SEED (default random; reused from STORE.seed for an existing store),
# LAMBDASTORE (the binary; default: `swift build` and use the debug build), TEAR (default 1).
# Exit status: 0 when every iteration passed; 1 on the first failure, naming seed and iteration.
set -euo pipefail

iterations=${1:-50}
store=${2:-}
case $iterations in '' | *[!0-9]*) echo "usage: $0 [iterations] [store]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

if [ -z "${LAMBDASTORE:-}" ]; then
  swift build --product lambdastore >&2
  LAMBDASTORE="$(swift build --show-bin-path)/lambdastore"
fi
bin=$LAMBDASTORE

work=$(mktemp -d "${TMPDIR:-/tmp}/lambdastore-crashloop.XXXXXX")
[ -n "$store" ] || store="$work/store"
stream=drill
if [ -f "$store.seed" ]; then
  seed=$(cat "$store.seed")
  if [ -n "${SEED:-}" ] && [ "$SEED" != "$seed" ]; then
    echo "crashloop: $store was generated with seed $seed, not $SEED" >&2; exit 2
  fi
elif [ -d "$store" ]; then
  echo "crashloop: $store exists but has no $store.seed: use a new store" >&2; exit 2
else
  seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
  mkdir -p "$(dirname "$store")"
  echo "$seed" >"$store.seed"
fi

pid=""
cleanup() { if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

iteration=0
fail() {
  echo "crashloop: FAILED at iteration $iteration of $iterations (seed $seed, store $store, logs $work): $1" >&2
  exit 1
}

# The highest acknowledged offset so far (-1: none) and what the previous check verified.
acked=-1
verified=0
appends=0
natural_bytes=0
natural_cuts=0
torn_bytes=0
tears=0
kept_unacked=0
no_ack=0
tear=${TEAR:-1}
log="$work/iterations.log"
codecs=(lz4 zstd none)
segments=(262144 1048576 4194304)
started=$(date +%s)

# An existing store continues from where it is.
if [ -d "$store" ]; then
  "$bin" debug check-loop --store "$store" --stream "$stream" --seed "$seed" >"$work/check.0" 2>&1 \
    || fail "the existing store does not pass check-loop: $(tail -n1 "$work/check.0")"
  verified=$(sed -n 's/^check-loop ok: records=\([0-9]*\) .*/\1/p' "$work/check.0")
  acked=$((verified - 1))
fi

for ((iteration = 1; iteration <= iterations; iteration++)); do
  batch=$((50 + RANDOM % 451))
  codec=${codecs[RANDOM % 3]}
  segment=${segments[RANDOM % 3]}
  delay=$((20 + RANDOM % 481))
  out="$work/append.out"
  "$bin" debug append-loop --store "$store" --stream "$stream" --seed "$seed" --batch "$batch" \
    --codec "$codec" --segment-bytes "$segment" --durability sync >"$out" 2>"$work/append.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?
  pid=""
  [ "$status" -eq 137 ] || fail "append-loop was not killed but exited with status $status: $(tail -n1 "$work/append.err")"

  resume=$(sed -n 's/^resume \([0-9]*\)$/\1/p' "$out")
  if [ -n "$resume" ] && [ "$resume" -ne "$verified" ]; then
    fail "append-loop resumed at offset $resume, the previous check verified $verified records"
  fi
  # Only complete lines count; a cut line could only claim less than was acknowledged.
  last=$(grep -a -c '^acked [0-9]*$' "$out" || true)
  appends=$((appends + last))
  if [ "$last" -gt 0 ]; then
    ack=$(grep -a '^acked [0-9]*$' "$out" | tail -n1 | cut -d' ' -f2)
    [ "$ack" -gt "$acked" ] || fail "acked $ack is not past the previous acknowledgement $acked"
    acked=$ack
  else
    no_ack=$((no_ack + 1))
  fi

  expect=""
  if [ "$tear" != 0 ] && [ $((RANDOM % 2)) -eq 0 ]; then
    # Only what this run wrote past its last acknowledgement may be torn.
    known=$((acked > verified - 1 ? acked : verified - 1))
    "$bin" debug tear-tail --store "$store" --stream "$stream" --acked "$known" --seed "$((seed + iteration))" \
      >"$work/tear.out" 2>&1 || fail "tear-tail: $(tail -n1 "$work/tear.out")"
    expect=$(sed -n 's/^tore .* expect_truncated=\([0-9]*\)$/\1/p' "$work/tear.out")
  fi

  from=$verified
  if [ $((iteration % 25)) -eq 0 ] || [ "$iteration" -eq "$iterations" ]; then from=0; fi
  "$bin" debug check-loop --store "$store" --stream "$stream" --seed "$seed" --acked "$acked" --check-from "$from" \
    >"$work/check.out" 2>&1 || fail "check-loop (acked $acked, batch $batch, codec $codec, killed after $delay ms${expect:+, torn $expect bytes}): $(tail -n1 "$work/check.out")"
  line=$(grep '^check-loop ok:' "$work/check.out") || fail "check-loop printed no summary"
  records=$(echo "$line" | sed 's/.* records=\([0-9]*\) .*/\1/')
  [ "$records" -ge "$verified" ] || fail "$records records after recovery, the previous check verified $verified"
  verified=$records
  cut=$(echo "$line" | sed 's/.* bytes_truncated=\([0-9]*\).*/\1/')
  if [ -n "$expect" ]; then
    [ "$cut" -eq "$expect" ] || fail "tear-tail left $expect bytes to cut, recovery cut $cut"
    tears=$((tears + 1)); torn_bytes=$((torn_bytes + cut))
  elif [ "$cut" -gt 0 ]; then
    natural_cuts=$((natural_cuts + 1)); natural_bytes=$((natural_bytes + cut))
  fi
  if [ "$verified" -gt $((acked + 1)) ]; then kept_unacked=$((kept_unacked + 1)); fi
  echo "iteration $iteration: batch $batch codec $codec segment $segment killed after $delay ms, ${last} acks, acked $acked, records $verified, cut $cut${expect:+ (torn by the drill)}" >>"$log"
  "$bin" verify --store "$store" >"$work/verify.out" 2>&1 || fail "verify: $(tail -n1 "$work/verify.out")"
  if [ $((iteration % 10)) -eq 0 ]; then
    echo "crashloop: $iteration/$iterations, $verified records, acked through $acked" >&2
  fi
done

echo "crashloop: $iterations iterations in $(($(date +%s) - started)) s, seed $seed, store $store"
echo "  appends acknowledged: $appends; records acknowledged: $((acked + 1)); records in the store: $verified"
echo "  restarts that kept records past the last acknowledgement: $kept_unacked; kills before the first acknowledgement of their run: $no_ack"
echo "  recovery after a plain kill -9 cut $natural_bytes bytes in $natural_cuts of $iterations restarts"
echo "  recovery after a drill-torn tail cut $torn_bytes bytes in $tears restarts, each exactly what was torn"
echo "  failures: 0 (per-iteration log: $log)"
trap - EXIT
rm -f "$work/append.out" "$work/append.err" "$work/check.out" "$work/check.0" "$work/verify.out" "$work/tear.out"
