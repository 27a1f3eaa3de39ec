#!/usr/bin/env bash
# The kill -9 drill beyond ingest: a store killed at any instant of a batch run (full,
# incremental, targeted), a reconcile, a view version swap or a compaction serves either the
# state before the operation or the state after it, per view, never a mix; verifies clean; has
# no unavailable view; lost no acknowledged event; and the same operation run again completes
# with the "after" answer.
#
#   tools/killloop.sh [kills-per-operation (default 20)]
#
# One base store is prepared: schema `orders`, views `rev` (tumbling 1h, filter, 10m lateness)
# and `mix` (hopping 1h/15m, count_distinct), EVENTS events ingested with `sync` durability in
# five parts (1/2, then four eighths; LATE percent of the events 1–3 h late), a full batch after
# each of the first four, so drift reports flag windows, old snapshot generations wait for
# `compact`, and the last eighth sits in the speed layer. The
# "before" answer of each view is `query --view V --format csv` (sorted) on the base store.
# For each operation the "after" answer comes from running it to completion on a copy
# (`cp -a`), which also measures its duration D (the median of three runs). Each kill then
# copies the base store, starts the operation, sends SIGKILL after a delay drawn uniformly from
# [0, D] ms, and checks:
#   `verify` exits 0; `status --json` lists no unavailable view, the stream still holds every
#   acknowledged event, and each view's last drift report ends at its horizon (a publish never
#   lacks its report; not checked for the view swap, whose new version has none); each view's
#   answer equals its before- or its after-answer;
#   running the operation again exits 0, each answer equals the after-answer, `verify` exits 0.
# Ingest itself is drilled by tools/crashloop.sh (the same kills-per-operation; INGEST=0 skips it).
#
# Environment: LAMBDASTORE (the binary; default: `swift build` and use the debug build),
# SEED (default random), EVENTS (default 20000), LATE (percent of late events, default 2),
# OPS (a space-separated subset of: batch incremental targeted reconcile view-swap compact),
# KEEP=1 keeps the work directory. Exit status: 0 when every kill passed; 1 on the first
# failure, which names the seed, the operation, the kill and the delay, and keeps the store.
set -euo pipefail

kills=${1:-20}
case $kills in '' | *[!0-9]*) echo "usage: $0 [kills-per-operation]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
repo=$PWD

if [ -z "${LAMBDASTORE:-}" ]; then
  swift build --product lambdastore >&2
  LAMBDASTORE="$(swift build --show-bin-path)/lambdastore"
fi
bin=$LAMBDASTORE
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
events=${EVENTS:-20000}
late=${LATE:-2}
ops=${OPS:-batch incremental targeted reconcile view-swap compact}
views=(mix rev)
work=$(mktemp -d "${TMPDIR:-/tmp}/lambdastore-killloop.XXXXXX")

pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ] && [ -z "${failed:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
failed=""
op="prepare"; k=0; delay=0
fail() {
  failed=1
  echo "killloop: FAILED (seed $seed, operation $op, kill $k of $kills, delay $delay ms, store $work/kill, logs $work): $1" >&2
  exit 1
}
ms() { echo $(($(date +%s%N) / 1000000)); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# --- the base store --------------------------------------------------------------------------
base=1767225600000
cat >"$work/schema.json" <<'EOF'
{"stream":"orders","eventTime":"event_ts","fields":[{"name":"event_ts","type":"timestamp"},{"name":"merchant_id","type":"string"},{"name":"status","type":"string"},{"name":"amount_cents","type":"int64"}]}
EOF
cat >"$work/rev.json" <<'EOF'
{"name":"rev","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"},{"name":"top","fn":"max","field":"amount_cents"}]}
EOF
cat >"$work/mix.json" <<'EOF'
{"name":"mix","stream":"orders","groupBy":["status"],"window":{"type":"hopping","field":"event_ts","size":"1h","slide":"15m"},"allowedLateness":"5m","aggregates":[{"name":"n","fn":"count"},{"name":"avg_amount","fn":"avg","field":"amount_cents"},{"name":"merchants","fn":"count_distinct","field":"merchant_id"}]}
EOF
# The changed definition of `rev` that the view-swap operation builds and swaps in.
cat >"$work/rev2.json" <<'EOF'
{"name":"rev","stream":"orders","filter":"status != 'pending'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"20m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"},{"name":"low","fn":"min","field":"amount_cents"}]}
EOF
# Event i: about base + i s (up to 30 s early), LATE percent of them 1–3 h early.
generate() {
  awk -v seed="$seed" -v from="$1" -v to="$2" -v late="$late" -v base="$base" 'BEGIN {
    srand(seed + from)
    split("m01 m02 m03 m04 m05 m06 m07 m08 m09 m10 m11 m12", m, " ")
    split("completed completed completed pending refunded", st, " ")
    for (i = from; i < to; i++) {
      ts = base + 1000 * i - int(rand() * 30000)
      if (rand() * 100 < late) ts -= 3600000 + int(rand() * 7200000)
      printf "{\"event_ts\":%.0f,\"merchant_id\":\"%s\",\"status\":\"%s\",\"amount_cents\":%d}\n", ts, m[1 + int(rand() * 12)], st[1 + int(rand() * 5)], 100 + int(rand() * 99900)
    }
  }'
}
run() { "$bin" "$@" >"$work/out" 2>"$work/err" || fail "lambdastore $*: $(tail -n1 "$work/err")"; }
s="$work/base"
run schema apply "$work/schema.json" --store "$s"
run view create "$work/rev.json" --store "$s"
run view create "$work/mix.json" --store "$s"
# Half, then three eighths in three published parts (old snapshot generations for compact to
# collect), then the last eighth left to the speed layer.
cuts=(0 $((events / 2)) $((events * 5 / 8)) $((events * 6 / 8)) $((events * 7 / 8)) "$events")
for i in 0 1 2 3 4; do
  generate "${cuts[i]}" "${cuts[i + 1]}" | run ingest --stream orders --durability sync --store "$s" -
  if [ "$i" -lt 4 ]; then run batch --store "$s"; fi
done
# Targeted: the windows starting in the second and third eighths of the history.
t1=$((base + events * 1000 / 8 / 3600000 * 3600000)); t2=$((base + events * 3000 / 8 / 3600000 * 3600000 + 3600000))

answers() { # answers STORE PREFIX: PREFIX.VIEW.csv for each view (sorted)
  for v in "${views[@]}"; do
    "$bin" query --view "$v" --format csv --store "$1" 2>"$work/err" | LC_ALL=C sort >"$2.$v.csv" \
      || fail "query --view $v: $(tail -n1 "$work/err")"
  done
}
check_store() { # check_store STORE: verify, status (no unavailable view, every event kept)
  "$bin" verify --store "$1" >"$work/verify.out" 2>&1 || fail "verify: $(grep -v '^ok' "$work/verify.out" | head -n3 | tr '\n' ' ')"
  "$bin" status --json --store "$1" >"$work/status.json" 2>"$work/err" || fail "status: $(tail -n1 "$work/err")"
  grep -q '"unavailable":\[\]' "$work/status.json" || fail "unavailable view: $(grep -o '"unavailable":.*' "$work/status.json" | head -c 600)"
  end=$(grep -o '"endOffset":[0-9]*' "$work/status.json" | head -n1 | cut -d: -f2)
  [ "$end" = "$events" ] || fail "the stream holds $end events, $events were acknowledged"
  # No publish is served without its drift report: each view's last drift report ends at its
  # horizon (not for a new view version, which has no report of its own yet).
  if [ "$op" != view-swap ]; then
    tr '{' '\n' <"$work/status.json" | grep -o '"horizon":[0-9]*' | cut -d: -f2 >"$work/horizons"
    tr '{' '\n' <"$work/status.json" | grep -o '"toHorizon":[0-9]*' | cut -d: -f2 >"$work/drift-horizons"
    [ -s "$work/horizons" ] && cmp -s "$work/horizons" "$work/drift-horizons" \
      || fail "a view's last drift report does not end at its horizon: horizons $(tr '\n' ' ' <"$work/horizons"), last drift reports to $(tr '\n' ' ' <"$work/drift-horizons")"
  fi
}
answers "$s" "$work/before"
check_store "$s"

command_for() {
  case $1 in
    batch) echo "batch" ;;
    incremental) echo "batch --incremental" ;;
    targeted) echo "batch --from $t1 --to $t2" ;;
    reconcile) echo "reconcile --view rev" ;;
    view-swap) echo "view create $work/rev2.json" ;;
    compact) echo "compact" ;;
    *) echo "killloop: unknown operation $1" >&2; exit 2 ;;
  esac
}

echo "killloop: seed $seed, $events events ($late% late), $kills kills per operation, binary $bin" >&2
summary="$work/summary"
: >"$summary"
total_kills=0
started=$(date +%s)
for op in $ops; do
  read -r -a cmd <<<"$(command_for "$op")"
  k=0; delay=0
  # The after-state: the operation run to completion on a copy.
  # Its duration: the median of three runs (the machine may be shared).
  for i in 1 2 3; do
    rm -rf "$work/after"; cp -a "$s" "$work/after"
    t0=$(ms)
    run "${cmd[@]}" --store "$work/after"
    echo $(($(ms) - t0))
  done >"$work/durations"
  duration=$(sort -n "$work/durations" | sed -n 2p)
  answers "$work/after" "$work/after"
  check_store "$work/after"
  changed=0
  for v in "${views[@]}"; do cmp -s "$work/before.$v.csv" "$work/after.$v.csv" || changed=$((changed + 1)); done
  killed=0 finished=0 saw_before=0 saw_after=0 saw_same=0 temps=0 t_op=$(date +%s)
  for ((k = 1; k <= kills; k++)); do
    rm -rf "$work/kill"; cp -a "$s" "$work/kill"
    delay=$(((RANDOM * 32768 + RANDOM) % (duration + 1)))
    "$bin" "${cmd[@]}" --store "$work/kill" >"$work/op.out" 2>"$work/op.err" &
    pid=$!
    sleep_ms "$delay"
    kill -9 "$pid" 2>/dev/null || true
    status=0
    wait "$pid" 2>/dev/null || status=$?
    pid=""
    case $status in
      137) killed=$((killed + 1)) ;;
      0) finished=$((finished + 1)) ;;
      *) fail "the operation exited with status $status before the kill: $(tail -n1 "$work/op.err")" ;;
    esac
    if [ -n "$(find "$work/kill/views" -name '*.tmp' | head -n1)" ]; then temps=$((temps + 1)); fi
    check_store "$work/kill"
    answers "$work/kill" "$work/now"
    for v in "${views[@]}"; do
      if cmp -s "$work/before.$v.csv" "$work/after.$v.csv"; then
        cmp -s "$work/now.$v.csv" "$work/before.$v.csv" && saw_same=$((saw_same + 1))
      fi
      if cmp -s "$work/before.$v.csv" "$work/after.$v.csv" && cmp -s "$work/now.$v.csv" "$work/before.$v.csv"; then :
      elif cmp -s "$work/now.$v.csv" "$work/before.$v.csv"; then saw_before=$((saw_before + 1))
      elif cmp -s "$work/now.$v.csv" "$work/after.$v.csv"; then saw_after=$((saw_after + 1))
      else
        cp "$work/now.$v.csv" "$work/wrong.$v.csv"
        fail "view $v serves neither the before- nor the after-answer: diff before $(diff "$work/before.$v.csv" "$work/now.$v.csv" | grep -c '^[<>]') lines, diff after $(diff "$work/after.$v.csv" "$work/now.$v.csv" | grep -c '^[<>]') lines (kept as $work/wrong.$v.csv)"
      fi
    done
    # The operation again, to completion.
    run "${cmd[@]}" --store "$work/kill"
    answers "$work/kill" "$work/again"
    for v in "${views[@]}"; do
      cmp -s "$work/again.$v.csv" "$work/after.$v.csv" || fail "after running the operation again, view $v does not serve the after-answer"
    done
    check_store "$work/kill"
  done
  total_kills=$((total_kills + kills))
  line="$op: kills $kills ($killed mid-operation, $finished after it had exited), command \`lambdastore ${cmd[*]}\` ($duration ms; changes $changed of ${#views[@]} views), acknowledged events $events (kept after every kill), lost 0, wrong answers 0; answers seen (per view) before/after/unchanged-by-the-operation: $saw_before/$saw_after/$saw_same; kills leaving a *.tmp: $temps; $(($(date +%s) - t_op)) s"
  echo "$line" | tee -a "$summary"
done

if [ "${INGEST:-1}" != 0 ]; then
  op=ingest
  LAMBDASTORE=$bin "$repo/tools/crashloop.sh" "$kills" "$work/ingest-store" >"$work/crashloop.out" 2>"$work/crashloop.err" \
    || { failed=1; echo "killloop: ingest (tools/crashloop.sh) failed: $(tail -n2 "$work/crashloop.err")" >&2; exit 1; }
  appends=$(sed -n 's/.*appends acknowledged: \([0-9]*\); records acknowledged: \([0-9]*\);.*/\1 \2/p' "$work/crashloop.out")
  line="ingest: kills $kills, command \`lambdastore debug append-loop\` via tools/crashloop.sh, acknowledged appends/records ${appends% *}/${appends#* }, lost 0, wrong answers 0 (every record checked against the generator)"
  echo "$line" | tee -a "$summary"
  total_kills=$((total_kills + kills))
fi
echo "killloop: $total_kills kills in $(($(date +%s) - started)) s, seed $seed, failures 0"
