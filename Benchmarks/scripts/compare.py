#!/usr/bin/env python3
"""Pairs LambdaStoreBench results with the peers measured in the same session and prints the
ratios (markdown), the targets and whether each is met.

    python3 Benchmarks/scripts/compare.py --ours OUT/lambdastore.jsonl --peers OUT/peers.jsonl

Both files hold one JSON object per line: ours from `LambdaStoreBench --json-out`, the peers'
from shared/peers/bench_common.py (`PEERS_RESULTS`). A ratio > 1 means LambdaStore is faster
(or smaller, for sizes).
"""
from __future__ import annotations

import argparse
import json
import sys


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    out.append(json.loads(line))
    except FileNotFoundError:
        print(f"(no file {path})", file=sys.stderr)
    return out


def fmt_rate(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M ev/s"
    return f"{v / 1e3:.1f} k ev/s"


def fmt_s(v):
    return "n/a" if v is None else (f"{v * 1e3:.0f} ms" if v < 1 else f"{v:.2f} s")


def fmt_us(v):
    return "n/a" if v is None else (f"{v / 1e3:.2f} ms" if v >= 1000 else f"{v:.2f} µs")


# (our id, peer name prefix, peer measure substring, what the ratio means)
PAIRS = [
    ("append.sync.10k", "rocksdb", "fillseq", "RocksDB fillseq, synced 10k batches (synthetic KV)"),
    ("append.sync.10k", "duckdb", "10k-row INSERTs", "DuckDB 10k-row Arrow INSERTs, 1 txn each"),
    ("append.sync.10k", "sqlite", "synchronous=FULL", "SQLite WAL synchronous=FULL, 10k-row txns"),
    ("append.sync.1k", "rocksdb", "fillseq", "RocksDB fillseq, synced 10k batches (ours: 1k batches)"),
    ("append.none.10k", "duckdb", "CREATE TABLE AS", "DuckDB bulk CREATE TABLE AS from Parquet (2 threads)"),
    ("read.decode", "duckdb", "scan only from native table", "DuckDB scan only, native table (2 threads vs our 1)"),
    ("speed.apply", "duckdb", "batch view from native table (1 thread)", "DuckDB view from native table, 1 thread"),
    ("batch.aggregate", "duckdb", "batch view from native table (2 threads)", "DuckDB view from native table, 2 threads (both in memory, no file written)"),
    ("batch.aggregate", "polars", "in-memory DataFrame", "Polars view from in-memory DataFrame, 2 threads"),
    ("batch.full", "duckdb", "batch view from native table (2 threads)", "DuckDB view from native table, 2 threads"),
    ("batch.full", "polars", "in-memory DataFrame", "Polars view from in-memory DataFrame, 2 threads"),
    ("batch.full", "duckdb", "batch view from parquet (2 threads)", "DuckDB view from Parquet, 2 threads"),
    ("replay.drill", "duckdb", "batch view from native table (2 threads)", "DuckDB view from native table, 2 threads"),
]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--peers", required=True)
    args = ap.parse_args(argv)
    ours = {r["id"]: r for r in load(args.ours) if "id" in r}
    peers = [r for r in load(args.peers) if "median_s" in r]

    print("| LambdaStore measurement | LambdaStore median (min–max) | Peer (same session) | Peer median (min–max) | Ratio |")
    print("|---|---|---|---|---|")
    for oid, pname, pmeasure, label in PAIRS:
        o = ours.get(oid)
        p = next((r for r in peers if r["peer"].startswith(pname) and pmeasure in r["measure"]), None)
        if not o or not p:
            continue
        prate = p.get("rows_per_s")
        pmin = p["rows"] / p["max_s"] if p.get("rows") else None
        pmax = p["rows"] / p["min_s"] if p.get("rows") else None
        ratio = f"{o['value'] / prate:.2f}×" if prate else "n/a"
        noisy = " (NOISY)" if p.get("foreign_cpu_share_max", 0) > 0.15 else ""
        print(f"| {o['title']} | {fmt_rate(o['value'])} ({fmt_rate(o.get('min'))} – {fmt_rate(o.get('max'))}) "
              f"| {label} | {fmt_rate(prate)} ({fmt_rate(pmin)} – {fmt_rate(pmax)}), {fmt_s(p['median_s'])}{noisy} "
              f"| {ratio} |")

    snap = ours.get("snapshot.bytes")
    if snap and snap.get("parquet_zstd_bytes"):
        pq = snap["parquet_zstd_bytes"]
        print(f"| Snapshot bytes of the view | {snap['value']:,.0f} B | Parquet (pyarrow, zstd) of the same rows "
              f"| {pq:,} B | {pq / snap['value']:.2f}× smaller |" if snap["value"] <= pq else
              f"| Snapshot bytes of the view | {snap['value']:,.0f} B | Parquet (pyarrow, zstd) of the same rows "
              f"| {pq:,} B | {snap['value'] / pq:.2f}× larger |")

    print()
    print("| Target | Measured (median) | Met |")
    print("|---|---|---|")
    for r in ours.values():
        if "target" not in r:
            continue
        unit = r["unit"]
        val = fmt_rate(r["value"]) if unit == "events/s" else fmt_us(r["value"]) if unit == "us" else f"{r['value']:,.0f} {unit}"
        print(f"| {r['title']}: {r['target']} | {val} | {'yes' if r['met'] else '**no**'} |")


if __name__ == "__main__":
    main()
