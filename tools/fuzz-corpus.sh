#!/usr/bin/env bash
# Builds the committed seed corpus of the fuzz targets (Fuzz/README.md) from REAL files:
# a store made by the `lambdastore` tool (schema apply ×2, JSONL + CSV ingest, two views,
# batch, a second ingest and batch so drift reports exist), copied per target into
# Fuzz/corpus/<target>/, plus the text inputs (schemas, views, filters, JSONL, CSV).
#
#   tools/fuzz-corpus.sh            # rewrites Fuzz/corpus/ (deterministic inputs; file
#                                   # bytes still differ by timestamps written into them)
# Needs python3 (generates the inputs, cuts segment payloads out for the `payload` target).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IN=$ROOT/Fuzz/inputs
OUT=$ROOT/Fuzz/corpus
swift build --product lambdastore >/dev/null
LS=$(swift build --product lambdastore --show-bin-path)/lambdastore
WORK=$(mktemp -d /tmp/lambdastore-fuzz-corpus.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
STORE=$WORK/store

# Deterministic generated inputs: 600 JSONL orders (with nulls, escapes, unicode, bad lines)
# and 300 CSV orders (quoted cells, embedded commas and quotes, a bad line).
python3 - "$WORK" <<'PY'
import json, random, sys
w = sys.argv[1]; r = random.Random(11)
base = 1767225600000
merchants = ["m%02d" % i for i in range(12)] + ["caf\u00e9", "quote\"d", "comma,co"]
with open(w + "/a.jsonl", "w") as f:
    for i in range(600):
        o = {"event_ts": base + i * 60000 + r.randrange(0, 59000), "merchant_id": r.choice(merchants),
             "amount_cents": r.randrange(-500, 100000)}
        if r.random() < .8: o["price"] = round(r.uniform(0, 999), 2)
        if r.random() < .7: o["status"] = r.choice(["completed", "refunded", None, "pending"])
        if r.random() < .5: o["gift"] = r.choice([True, False, None])
        if i % 97 == 5: f.write('{"event_ts": "2026-01-01T00:00:00Z", "merchant_id": "x", "amount_cents": 1}\n'); continue
        if i % 151 == 7: f.write('{"event_ts": 1, "merchant_id": 2}\n'); continue
        f.write(json.dumps(o) + "\n")
with open(w + "/b.jsonl", "w") as f:
    for i in range(300):
        o = {"event_ts": base + r.randrange(0, 600 * 60000), "merchant_id": r.choice(merchants),
             "amount_cents": r.randrange(0, 5000), "channel": r.choice(["web", "app", None])}
        f.write(json.dumps(o) + "\n")
def cell(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s
with open(w + "/c.csv", "w") as f:
    f.write("event_ts,merchant_id,amount_cents,price,status,gift\n")
    for i in range(300):
        row = [str(base + i * 120000), cell(r.choice(merchants)), str(r.randrange(0, 9000)),
               r.choice(["", "1.5", "2e3", "-0.25"]), r.choice(["", "completed", "refunded"]), r.choice(["", "true", "false"])]
        if i % 89 == 3: row[2] = "not-a-number"
        f.write(",".join(row) + ("\r\n" if i % 2 else "\n"))
PY

"$LS" schema apply --store "$STORE" "$IN/orders.v1.json" >/dev/null
"$LS" ingest --store "$STORE" --stream orders "$WORK/a.jsonl" >/dev/null 2>&1 || true
"$LS" ingest --store "$STORE" --stream orders "$WORK/c.csv" >/dev/null 2>&1 || true
"$LS" view create --store "$STORE" "$IN/revenue_hourly.view.json" >/dev/null
"$LS" batch --store "$STORE" >/dev/null
"$LS" schema apply --store "$STORE" "$IN/orders.v2.json" >/dev/null
"$LS" view create --store "$STORE" "$IN/by_status.view.json" >/dev/null
"$LS" ingest --store "$STORE" --stream orders "$WORK/b.jsonl" >/dev/null 2>&1 || true
"$LS" batch --store "$STORE" >/dev/null
"$LS" reconcile --store "$STORE" --view revenue_hourly >/dev/null 2>&1 || true

rm -rf "$OUT"
mkdir -p "$OUT"/{segment,payload,index,schema-history,schema-json,checkpoint,manifest,snapshot,aggregate-state,view-definition,filter,jsonl,csv,drift,incidents}
S=$STORE/streams/orders
cp "$S"/*.segment "$OUT/segment/"
cp "$S"/*.index "$S"/*.timeindex "$OUT/index/"
cp "$S/schema" "$OUT/schema-history/schema"
cp "$S/CHECKPOINT" "$OUT/checkpoint/CHECKPOINT"
cp "$IN"/orders.v*.json "$OUT/schema-json/"
for v in "$STORE"/views/*/; do
  n=$(basename "$v")
  cp "$v/MANIFEST" "$OUT/manifest/$n.MANIFEST"
  for f in "$v"/*.snapshot; do cp "$f" "$OUT/snapshot/$n.$(basename "$f")"; done
  [ -f "$v/DRIFT" ] && cp "$v/DRIFT" "$OUT/drift/$n.DRIFT"
  [ -f "$v/INCIDENTS" ] && cp "$v/INCIDENTS" "$OUT/incidents/$n.INCIDENTS"
done
cp "$IN"/*.view.json "$OUT/view-definition/"
head -n 120 "$WORK/a.jsonl" >"$OUT/jsonl/a.jsonl"; head -n 60 "$WORK/b.jsonl" >"$OUT/jsonl/b.jsonl"
head -n 100 "$WORK/c.csv" >"$OUT/csv/c.csv"

# Smaller seeds cut from the real files, so mutations reach deep code quickly.
python3 - "$OUT" "$IN" <<'PY'
import os, struct, sys, json, glob
out, inp = sys.argv[1], sys.argv[2]
# payload: <u8 selector><stored payload>, one per batch of each segment (format-spec §2.2.2).
# selector bits 0-1: codec, bits 2-3: dictionaries mode (FuzzTargets.payload), bit 4: version-1 schema.
for seg in sorted(glob.glob(out + "/segment/*.segment")):
    b = open(seg, "rb").read(); p = 32; i = 0
    while p + 56 <= len(b):
        codec = b[p + 4]; version = struct.unpack_from("<I", b, p + 20)[0]
        ulen, slen = struct.unpack_from("<II", b, p + 40)
        payload = b[p + 56:p + 56 + slen]
        sel = codec | (2 << 2) | (0x10 if version == 1 else 0)
        head = bytes([sel]) + (struct.pack("<I", ulen) if codec else b"")
        open("%s/payload/%s.b%03d" % (out, os.path.basename(seg), i), "wb").write(head + payload)
        p += 56 + slen; i += 1
# jsonl/csv: a few single lines too.
lines = open(out + "/jsonl/a.jsonl").read().splitlines()
for i in (0, 5, 7, 100):
    open("%s/jsonl/line%03d.jsonl" % (out, i), "w").write(lines[i] + "\n")
# drift/incidents: the JSON payloads as their own seeds are pointless (the container has a CRC
# the target repairs); the snapshot target takes whole files. filters: from the view files.
filters = [json.load(open(f))["filter"] for f in sorted(glob.glob(inp + "/*.view.json"))]
filters += ["price >= 1.5e2 and merchant_id in ('m01', 'caf\u00e9', 'x''y')", "not (\"status\" <> 'pending' or amount_cents < -5)",
            "event_ts > 1767225600000 and gift is not null", "TRUE", "channel not in ('web')", "gift = false or price != 2"]
for i, f in enumerate(filters):
    open("%s/filter/f%02d.txt" % (out, i), "w").write(f)
PY
# Aggregate states: the worked examples of format-spec.md §3b.2 (checked by the spec tests);
# the `snapshot` target also decodes every state stored in the real snapshots.
python3 - "$OUT" "$ROOT/format-spec.md" <<'PY'
import sys
out, spec = sys.argv[1], open(sys.argv[2]).read()
block = spec.split("Worked examples (hex, one state each):", 1)[1].split("```")[1]
for i, line in enumerate(l for l in block.splitlines() if ":" in l):
    open("%s/aggregate-state/spec%02d" % (out, i), "wb").write(bytes.fromhex(line.split(":", 1)[1].strip()))
PY
echo "corpus: $(du -sh "$OUT" | cut -f1) in $(find "$OUT" -type f | wc -l) files"
