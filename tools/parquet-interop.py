#!/usr/bin/env python3
"""Checks LambdaStore's Parquet files against pyarrow and DuckDB, and writes reference files.

    parquet-interop.py FILE.parquet EXPECTED.jsonl
        Reads FILE with pyarrow.parquet.read_table and with DuckDB
        (SELECT * FROM read_parquet(...)) and checks that both return exactly the rows of
        EXPECTED, in order, with the expected types: pyarrow's Parquet schema must show
        TIMESTAMP(isAdjustedToUTC=true, MILLIS) for timestamp columns, STRING for string
        columns, INT64 / DOUBLE / BOOLEAN otherwise, OPTIONAL exactly for nullable columns.
        Exits 0 when all agree, 1 with one line per difference otherwise.

    parquet-interop.py --write EXPECTED.jsonl OUT.parquet [--data-page-version 1.0|2.0]
        Writes EXPECTED's rows with pyarrow (use_dictionary=True, compression='zstd'), so
        LambdaStore's reader can be checked against another writer.

EXPECTED.jsonl: the first line is {"__types__": [[name, type, nullable], ...]} with type one of
int64, float64, bool, string, timestamp; each further line is one row, an object from column
name to value: int64 and timestamp (UTC epoch milliseconds) as JSON integers, float64 as the
"0x%016x" hex of its IEEE-754 bits (so NaN payloads, infinities and -0.0 are exact), bool,
string, or null.

pyarrow's doubles are compared bit for bit; DuckDB's too, except that any NaN matches a NaN
(DuckDB does not promise to keep NaN payloads).
"""

import json
import math
import struct
import sys


def fail(messages):
    for m in messages[:50]:
        print("parquet-interop: " + m, file=sys.stderr)
    if len(messages) > 50:
        print("parquet-interop: ... and %d more" % (len(messages) - 50), file=sys.stderr)
    sys.exit(1)


def load_expected(path):
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    if not lines:
        fail(["%s is empty (no __types__ line)" % path])
    header = json.loads(lines[0])
    if "__types__" not in header:
        fail(["the first line of %s is not a __types__ line" % path])
    types = [(n, t, bool(nl)) for n, t, nl in header["__types__"]]
    rows = [json.loads(l) for l in lines[1:]]
    return types, rows


def double_from_hex(h):
    return struct.unpack("<d", struct.pack("<Q", int(h, 16)))[0]


def double_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def expected_value(t, v):
    if v is None:
        return None
    if t == "float64":
        return double_bits(double_from_hex(v))
    return v


def same(t, expected, got, nan_is_nan=False):
    if expected is None or got is None:
        return expected is None and got is None
    if t == "float64":
        if not isinstance(got, float):
            return False
        if nan_is_nan and math.isnan(got):
            return math.isnan(struct.unpack("<d", struct.pack("<Q", expected))[0])
        return double_bits(got) == expected
    if t == "bool":
        return isinstance(got, bool) and got == expected
    return got == expected and type(got) is type(expected)


def check(parquet_path, jsonl_path):
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    types, rows = load_expected(jsonl_path)
    problems = []

    # The Parquet schema as pyarrow sees it.
    pf = pq.ParquetFile(parquet_path)
    schema = pf.schema
    names = [schema.column(i).name for i in range(len(schema))]
    if names != [n for n, _, _ in types]:
        fail(["columns %s, expected %s" % (names, [n for n, _, _ in types])])
    for i, (name, t, nullable) in enumerate(types):
        col = schema.column(i)
        logical = str(col.logical_type)
        want_physical = {"int64": "INT64", "timestamp": "INT64", "float64": "DOUBLE", "bool": "BOOLEAN", "string": "BYTE_ARRAY"}[t]
        if col.physical_type != want_physical:
            problems.append("column %s: physical type %s, expected %s" % (name, col.physical_type, want_physical))
        if t == "timestamp" and not ("Timestamp" in logical and "isAdjustedToUTC=true" in logical and "milliseconds" in logical):
            problems.append("column %s: logical type %s, expected Timestamp(isAdjustedToUTC=true, milliseconds)" % (name, logical))
        if t == "string" and logical != "String":
            problems.append("column %s: logical type %s, expected String" % (name, logical))
        if t in ("int64", "float64", "bool") and logical not in ("None", "Int(bitWidth=64, isSigned=true)"):
            problems.append("column %s: logical type %s, expected none" % (name, logical))
        if col.max_definition_level != (1 if nullable else 0) or col.max_repetition_level != 0:
            problems.append("column %s: definition/repetition levels %d/%d, expected %s" % (name, col.max_definition_level, col.max_repetition_level, "OPTIONAL" if nullable else "REQUIRED"))
    arrow_schema = pf.schema_arrow
    want_arrow = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("ms", tz="UTC")}
    for i, (name, t, nullable) in enumerate(types):
        f = arrow_schema.field(i)
        if f.type != want_arrow[t] and not (t == "string" and f.type == pa.large_string()):
            problems.append("column %s: pyarrow type %s, expected %s" % (name, f.type, want_arrow[t]))
        if f.nullable != nullable:
            problems.append("column %s: pyarrow nullable=%s, expected %s" % (name, f.nullable, nullable))

    # pyarrow's values.
    table = pq.read_table(parquet_path)
    if table.num_rows != len(rows):
        problems.append("pyarrow read %d rows, expected %d" % (table.num_rows, len(rows)))
    else:
        for name, t, _ in types:
            col = table.column(name)
            if t == "timestamp":
                col = col.cast(pa.int64())
            got = col.to_pylist()
            bad = 0
            for r, (g, row) in enumerate(zip(got, rows)):
                e = expected_value(t, row.get(name))
                if not same(t, e, g):
                    bad += 1
                    if bad <= 3:
                        problems.append("pyarrow: row %d column %s: got %r, expected %r" % (r, name, g, row.get(name)))
            if bad > 3:
                problems.append("pyarrow: column %s: %d rows differ" % (name, bad))

    # DuckDB's values and types.
    con = duckdb.connect()
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet_path]).fetchall()
    want_duck = {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "string": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE"}
    for (name, t, _), d in zip(types, described):
        if d[0] != name or d[1] != want_duck[t]:
            problems.append("duckdb: column %s has type %s, expected %s %s" % (d[0], d[1], name, want_duck[t]))
    select = ", ".join(('epoch_ms("%s")' % n) if t == "timestamp" else ('"%s"' % n) for n, t, _ in types)
    got_rows = con.execute("SELECT %s FROM read_parquet(?)" % select, [parquet_path]).fetchall()
    if len(got_rows) != len(rows):
        problems.append("duckdb read %d rows, expected %d" % (len(got_rows), len(rows)))
    else:
        bad = 0
        for r, (g, row) in enumerate(zip(got_rows, rows)):
            for j, (name, t, _) in enumerate(types):
                e = expected_value(t, row.get(name))
                if not same(t, e, g[j], nan_is_nan=True):
                    bad += 1
                    if bad <= 5:
                        problems.append("duckdb: row %d column %s: got %r, expected %r" % (r, name, g[j], row.get(name)))
        if bad > 5:
            problems.append("duckdb: %d values differ" % bad)
    if problems:
        fail(problems)
    print("parquet-interop: %s: %d rows, %d columns agree with pyarrow %s and duckdb %s" % (parquet_path, len(rows), len(types), pa.__version__, duckdb.__version__))


def write(jsonl_path, out_path, data_page_version):
    import pyarrow as pa
    import pyarrow.parquet as pq

    types, rows = load_expected(jsonl_path)
    arrow_type = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("ms", tz="UTC")}
    arrays, fields = [], []
    for name, t, nullable in types:
        values = [row.get(name) for row in rows]
        if t == "float64":
            values = [None if v is None else double_from_hex(v) for v in values]
        if t == "timestamp":
            arr = pa.array(values, type=pa.int64()).cast(arrow_type[t])
        else:
            arr = pa.array(values, type=arrow_type[t])
        arrays.append(arr)
        fields.append(pa.field(name, arrow_type[t], nullable=nullable))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(table, out_path, use_dictionary=True, compression="zstd", data_page_version=data_page_version, row_group_size=max(1, len(rows) // 3 + 1))


def main(argv):
    if len(argv) >= 3 and argv[0] == "--write":
        version = "1.0"
        if len(argv) >= 5 and argv[3] == "--data-page-version":
            version = argv[4]
        write(argv[1], argv[2], version)
    elif len(argv) == 2:
        check(argv[0], argv[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
