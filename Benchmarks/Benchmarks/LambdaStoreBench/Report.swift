import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A JSON value for the result lines (kept tiny: numbers, strings, booleans, arrays, objects).
indirect enum J {
    case num(Double)
    case int(Int64)
    case str(String)
    case bool(Bool)
    case arr([J])
    case obj([(String, J)])
    case null

    var text: String {
        switch self {
        case .num(let d):
            guard d.isFinite else { return "null" }
            if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        case .int(let i): return String(i)
        case .str(let s): return J.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .arr(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .obj(let o): return "{" + o.map { J.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        case .null: return "null"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// A target from the issues and whether a measurement meets it.
struct Target {
    var text: String
    var met: Bool
}

/// One measurement, printed as a JSON line and a row of the human table.
struct Measurement {
    /// Stable id (`append.sync.10k`), used by tools/bench.sh to pair with peers.
    var id: String
    var title: String
    /// The headline number and its unit (median).
    var value: Double
    var unit: String
    /// Min–max of the headline number over the timed runs (nil for single values).
    var range: (Double, Double)?
    var threads: Int = 1
    var runs: Int = 1
    var seconds: [Double] = []
    var events: Int? = nil
    var target: Target? = nil
    var cmd: String
    var notes: String = ""
    var foreignMax: Double? = nil
    var retries: Int = 0
    var extra: [(String, J)] = []

    var json: J {
        var o: [(String, J)] = [
            ("engine", .str("lambdastore")), ("id", .str(id)), ("title", .str(title)),
            ("value", .num(value)), ("unit", .str(unit)),
        ]
        if let r = range { o.append(("min", .num(r.0))); o.append(("max", .num(r.1))) }
        o.append(("threads", .int(Int64(threads))))
        o.append(("runs", .int(Int64(runs))))
        if !seconds.isEmpty {
            o.append(("times_s", .arr(seconds.map { .num(($0 * 1e6).rounded() / 1e6) })))
            o.append(("median_s", .num(Stats.median(seconds))))
        }
        if let e = events { o.append(("events", .int(Int64(e)))) }
        if let t = target { o.append(("target", .str(t.text))); o.append(("met", .bool(t.met))) }
        o.append(("cmd", .str(cmd)))
        if !notes.isEmpty { o.append(("notes", .str(notes))) }
        if let f = foreignMax { o.append(("foreign_cpu_share_max", .num((f * 1000).rounded() / 1000))); o.append(("retries", .int(Int64(retries)))) }
        o += extra
        return .obj(o)
    }
}

/// Collects measurements; prints each as a JSON line on stdout (and appends it to a file).
final class Report {
    let jsonPath: String?
    private(set) var items: [Measurement] = []
    let noiseLimit: Double

    init(jsonPath: String?, noiseLimit: Double) {
        self.jsonPath = jsonPath
        self.noiseLimit = noiseLimit
        if let p = jsonPath, let f = fopen(p, "w") { fclose(f) }
    }

    func add(_ m: Measurement) {
        items.append(m)
        let line = m.json.text
        out(line)
        if let p = jsonPath, let f = fopen(p, "a") {
            var l = line + "\n"
            l.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
        log("  -> \(m.title): \(format(m.value, m.unit))" + (m.range.map { " (\(format($0.0, m.unit)) – \(format($0.1, m.unit)))" } ?? "")
            + (m.target.map { $0.met ? "  [target met: \($0.text)]" : "  [target MISSED: \($0.text)]" } ?? ""))
    }

    /// The human table.
    func table() -> String {
        var rows = [["Measurement", "Threads", "Median", "Min–max", "Target", "Met", "Noise"]]
        for m in items {
            let noisy = (m.foreignMax ?? 0) > noiseLimit ? "NOISY \(pct(m.foreignMax ?? 0))" : ""
            rows.append([m.title, String(m.threads), format(m.value, m.unit),
                         m.range.map { "\(format($0.0, m.unit)) – \(format($0.1, m.unit))" } ?? "",
                         m.target?.text ?? "", m.target.map { $0.met ? "yes" : "NO" } ?? "", noisy])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for (k, r) in rows.enumerated() {
            out += "| " + r.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }.joined(separator: " | ") + " |\n"
            if k == 0 { out += "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|\n" }
        }
        return out
    }
}

/// Formats a number with its unit for people: 3 significant figures, M/k for rates.
func format(_ v: Double, _ unit: String) -> String {
    switch unit {
    case "events/s":
        if v >= 1e6 { return fixed(v / 1e6, 2) + " M ev/s" }
        if v >= 1e3 { return fixed(v / 1e3, 1) + " k ev/s" }
        return fixed(v, 0) + " ev/s"
    case "queries/s": return fixed(v / 1e3, 1) + " k q/s"
    case "s":
        if v < 1 { return fixed(v * 1e3, 1) + " ms" }
        return fixed(v, 2) + " s"
    case "us":
        if v >= 1000 { return fixed(v / 1000, 2) + " ms" }
        return fixed(v, v < 10 ? 2 : 1) + " µs"
    case "bytes":
        if v >= 1e6 { return fixed(v / 1e6, 2) + " MB" }
        return fixed(v, 0) + " B"
    case "bytes/cell", "bytes/event": return fixed(v, 1) + " " + unit.replacingOccurrences(of: "bytes", with: "B")
    case "ratio": return fixed(v, 3)
    default: return fixed(v, v == v.rounded() ? 0 : 3) + " " + unit
    }
}

func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "n/a" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    var s = String(r)
    if s.hasSuffix(".0") && digits == 0 { s.removeLast(2) }
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < digits { s += String(repeating: "0", count: digits - have) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    // Thousands separators for the integer part.
    let parts = s.split(separator: ".", maxSplits: 1)
    var intPart = String(parts[0])
    let neg = intPart.hasPrefix("-")
    if neg { intPart.removeFirst() }
    var grouped = ""
    for (i, ch) in intPart.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { grouped.append(",") }
        grouped.append(ch)
    }
    return (neg ? "-" : "") + String(grouped.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
}
