import Foundation
import LambdaStoreCore
import Testing

@testable import LambdaStoreParquet

/// Runs tools/parquet-interop.py: pyarrow and DuckDB must read our files exactly, and we must
/// read pyarrow's. Skipped (with a note) when python3 cannot import duckdb and pyarrow, unless
/// LAMBDASTORE_REQUIRE_INTEROP=1, when that is a failure.
@Suite(.serialized) struct ParquetInteropTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = packageRoot.appendingPathComponent("tools/parquet-interop.py").path

    /// Runs python3 with `arguments`; returns the exit status and the combined output.
    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Whether the interop check can run; records a failure when it cannot but is required.
    static func available() -> Bool {
        let ok = (try? python(["-c", "import duckdb, pyarrow"]).status) == 0
        if !ok {
            if ProcessInfo.processInfo.environment["LAMBDASTORE_REQUIRE_INTEROP"] == "1" {
                Issue.record("LAMBDASTORE_REQUIRE_INTEROP=1 but python3 cannot import duckdb and pyarrow (pip install duckdb==2.0.1 pyarrow==26.0.1)")
            } else {
                print("note: Parquet interop tests skipped: python3 cannot import duckdb and pyarrow")
            }
        }
        return ok
    }

    static func tempDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("lambdastore-parquet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// The table as the script's JSONL: a `__types__` line, then one object per row.
    static func jsonl(_ ref: RefTable) -> String {
        func quote(_ s: String) -> String { String(decoding: try! JSONEncoder().encode(s), as: UTF8.self) }
        var types = ref.schema.fields.map { "[\(quote($0.name)), \(quote("\($0.type)")), \($0.nullable)]" }
        types.append("[\"_offset\", \"int64\", false]")
        var out = "{\"__types__\": [\(types.joined(separator: ", "))]}\n"
        for i in 0..<ref.rows {
            var parts: [String] = []
            for (j, f) in ref.schema.fields.enumerated() {
                let v: String
                switch ref.columns[j][i] {
                case .null: v = "null"
                case .int64(let x), .timestamp(let x): v = String(x)
                case .float64(let d):
                    let h = String(d.bitPattern, radix: 16)
                    v = "\"0x" + String(repeating: "0", count: 16 - h.count) + h + "\""
                case .bool(let b): v = b ? "true" : "false"
                case .string(let s): v = quote(s)
                }
                parts.append("\(quote(f.name)): \(v)")
            }
            parts.append("\"_offset\": \(ref.offsets[i])")
            out += "{" + parts.joined(separator: ", ") + "}\n"
        }
        return out
    }

    /// Every type, nullable and not, nulls, NaN/-0.0/inf, extreme integers, empty and unicode
    /// strings, a dictionary fallback, several row groups and pages.
    static func interopTable() -> RefTable {
        var ref = randomTable(rows: 3_000, nullable: true, seed: 42, distinctStrings: 50)
        let n = ref.rows
        ref.schema.fields += [
            Field(name: "req_i", type: .int64), Field(name: "req_d", type: .float64), Field(name: "req_b", type: .bool),
            Field(name: "req_s", type: .string), Field(name: "ids", type: .string, nullable: true), Field(name: "one", type: .string),
        ]
        ref.columns.append((0..<n).map { .int64([Int64.min, Int64.max, 0, -1][$0 % 4] &+ Int64($0)) })
        ref.columns.append((0..<n).map { .float64([-0.0, .infinity, -.infinity, .nan, 1e-300, 3.25][$0 % 6]) })
        ref.columns.append((0..<n).map { .bool($0 % 7 == 0) })
        ref.columns.append((0..<n).map { .string($0 % 5 == 0 ? "" : "s\($0 % 9)") })
        ref.columns.append((0..<n).map { $0 % 3 == 0 ? .null : .string("unique-\($0)-" + String(repeating: "z", count: 1500 + $0 % 1000)) })   // > 1 MiB a chunk: falls back
        ref.columns.append((0..<n).map { _ in .string("only") })   // a one-entry dictionary (bit width 0)
        return ref
    }

    @Test func pyarrowAndDuckDBReadOurFiles() throws {
        guard Self.available() else { return }
        let dir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ref = Self.interopTable()
        for (name, options) in [("small-pages", smallOptions(rowGroupRows: 1_100, pageRows: 250)), ("defaults", ParquetWriterOptions())] {
            let bytes = try ref.write(options: options, batchRows: 512)
            let file = dir.appendingPathComponent("\(name).parquet"), expected = dir.appendingPathComponent("\(name).jsonl")
            try Data(bytes).write(to: file)
            try Self.jsonl(ref).write(to: expected, atomically: true, encoding: .utf8)
            let (status, output) = try Self.python([Self.script, file.path, expected.path])
            #expect(status == 0, "\(name): \(output)")
            print(output, terminator: "")
        }
    }

    @Test(arguments: ["1.0", "2.0"])
    func weReadPyarrowFiles(dataPageVersion: String) throws {
        guard Self.available() else { return }
        let dir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ref = Self.interopTable()
        let expected = dir.appendingPathComponent("in.jsonl"), file = dir.appendingPathComponent("pyarrow.parquet")
        try Self.jsonl(ref).write(to: expected, atomically: true, encoding: .utf8)
        let (status, output) = try Self.python([Self.script, "--write", expected.path, file.path, "--data-page-version", dataPageVersion])
        try #require(status == 0, "\(output)")
        let bytes = [UInt8](try Data(contentsOf: file))
        let r = try checkFile(bytes, equals: ref)
        #expect(r.rowGroups.count == 3)
        try checkFile(bytes, equals: ref, keepDictionaries: true)
        let d = r.describe()
        #expect(d.rowGroups[0].columns.contains { $0.pages.first?.kind == "DICTIONARY_PAGE" })
        #expect(d.rowGroups[0].columns.allSatisfy { $0.codec == "ZSTD" })
    }
}
