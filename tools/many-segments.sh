#!/usr/bin/env bash
# By-hand check (issue 11, bounded resources): a store with N segments (default 100,000) works
# under `ulimit -n 1024`: verify, view create, batch, query and further ingest. The store is
# built in DIR by ManySegmentsExport (one segment per batch, without fsyncs, to be quick).
#
#   tools/many-segments.sh [N] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dir=${2:-$(mktemp -d /tmp/lambdastore-many.XXXXXX)}
swift build --build-tests >/dev/null
bin="$(swift build --show-bin-path)/lambdastore"
rm -rf "$dir"; mkdir -p "$dir"
LAMBDASTORE_MANY_SEGMENTS=$n LAMBDASTORE_MANY_SEGMENTS_DIR=$dir swift test --disable-xctest --skip-build --filter ManySegmentsExport | grep -E "exported|passed|failed"
echo "segments: $(ls "$dir/streams/orders" | grep -c '\.segment$')"
cat > "$dir.view.json" <<'JSON'
{"name":"v","stream":"orders","filter":"status = 'completed'","groupBy":["merchant"],"window":{"type":"tumbling","field":"ts","size":"1h"},
 "aggregates":[{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"}]}
JSON
(
  ulimit -n 1024
  echo "ulimit -n: $(ulimit -n)"
  time "$bin" verify --store "$dir" | tail -1
  "$bin" view create --store "$dir" "$dir.view.json"
  time "$bin" batch --store "$dir" --json
  "$bin" query --store "$dir" --view v --key m3 --from 1767225600000 --to 1767229200000 --format csv
  echo '{"ts":1767400000000,"merchant":"m1","status":"completed","amount":5}' | "$bin" ingest --store "$dir" --stream orders --json
  "$bin" status --store "$dir" --json | head -c 300; echo
)
