@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

/// Renders query rows as a table, JSON Lines or CSV. Columns: `window_start`, `window_end`
/// (epoch ms), each group-by field, each aggregate, `source`.
struct QueryOutput {
    let result: QueryResult

    var header: [String] { ["window_start", "window_end"] + result.groupBy + result.aggregates + ["source"] }

    func cells(_ row: QueryRow) -> [Value] {
        [row.windowStart.map { .int64($0) } ?? .null, row.windowEnd.map { .int64($0) } ?? .null]
            + row.key + row.values + [.string(row.source.rawValue)]
    }

    func rowObject(_ row: QueryRow) -> JSONValue {
        .object(zip(header, cells(row)).map { JSONMember($0, JSONValue($1)) })
    }

    func jsonLines() -> [String] { result.rows.map { rowObject($0).serialized() } }

    func jsonObject(view: String) -> JSONValue {
        (["view": .string(view), "fingerprint": .string(result.fingerprint), "horizon": .int(result.horizon),
              "rows": .array(result.rows.map(rowObject))] as JSONValue)
    }

    static func text(_ v: Value) -> String {
        switch v {
        case .null: ""
        case .float64(let d): d.isFinite ? String(d) : (d.isNaN ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"))
        default: v.description
        }
    }

    static func csvField(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
        }
        return s
    }

    func csv() -> String {
        var out = header.map(Self.csvField).joined(separator: ",") + "\n"
        for row in result.rows { out += cells(row).map { Self.csvField(Self.text($0)) }.joined(separator: ",") + "\n" }
        return out
    }

    func table() -> String {
        let rows = [header] + result.rows.map { cells($0).map { v in v.isNull ? "null" : Self.text(v) } }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for (n, r) in rows.enumerated() {
            out += r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        out += "(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"); fingerprint \(result.fingerprint), batch horizon \(result.horizon))\n"
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
