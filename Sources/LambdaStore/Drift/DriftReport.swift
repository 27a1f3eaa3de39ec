import LambdaStoreCore

/// The drift status of one publish (DESIGN.md "Drift").
public enum DriftStatus: String, Sendable, Hashable {
    /// Divergence rate at or below the warn threshold.
    case ok
    /// Divergence rate strictly above the warn threshold.
    case warn
    /// Divergence rate strictly above the critical threshold.
    case critical
}

/// One drift report: what the serving layer answered just before a batch publish, compared
/// cell by cell with the new batch truth (DESIGN.md "Drift"; persisted per format-spec.md §6).
///
/// Thread safety: a value type.
public struct DriftReport: Sendable, Hashable {
    /// Cells compared: closed at `toHorizon` and touched by a filter-passing event in
    /// `[fromHorizon, toHorizon)`.
    public var cellsCompared: Int64
    /// Cells where any aggregate differs.
    public var cellsDiffering: Int64
    /// `cellsDiffering / cellsCompared`, 0 when nothing was compared.
    public var divergenceRate: Double
    /// Per numeric aggregate: Σ|served − truth| / Σ|truth| over the compared cells (0 when Σ|truth| = 0).
    public var relativeError: [String: Double]
    /// Late events among offsets `[fromHorizon, toHorizon)` passing the filter, once per event.
    public var lateEvents: Int64
    /// The view fingerprint.
    public var fingerprint: String
    /// The previous horizon H0.
    public var fromHorizon: Int64
    /// The new horizon H1.
    public var toHorizon: Int64
    /// When the report was made, epoch ms.
    public var at: Int64
    /// The status against the view's thresholds.
    public var status: DriftStatus
    /// The window starts of the differing cells (nil start = no window), sorted, for reconcile:
    /// all of them, or only the first ones when the details were bounded (format-spec.md §6.4);
    /// ``differingWindowsComplete`` says which.
    public var differingWindows: [Int64?]
    /// How many windows hold differing cells: the length of the full list, which
    /// ``differingWindows`` may hold only a prefix of (JSON key `differingWindowsTotal`).
    public var differingWindowsTotal: Int64
    /// The view name.
    public var view: String

    /// Creates a report.
    public init(view: String, cellsCompared: Int64, cellsDiffering: Int64, relativeError: [String: Double], lateEvents: Int64, fingerprint: String, fromHorizon: Int64, toHorizon: Int64, at: Int64, thresholds: (warn: Double, critical: Double), differingWindows: [Int64?]) {
        self.view = view
        self.cellsCompared = cellsCompared
        self.cellsDiffering = cellsDiffering
        self.divergenceRate = cellsCompared == 0 ? 0 : Double(cellsDiffering) / Double(cellsCompared)
        self.relativeError = relativeError
        self.lateEvents = lateEvents
        self.fingerprint = fingerprint
        self.fromHorizon = fromHorizon
        self.toHorizon = toHorizon
        self.at = at
        self.differingWindows = differingWindows
        self.differingWindowsTotal = Int64(differingWindows.count)
        if divergenceRate > thresholds.critical {
            status = .critical
        } else if divergenceRate > thresholds.warn {
            status = .warn
        } else {
            status = .ok
        }
    }
}

extension DriftReport {
    /// Whether ``differingWindows`` lists every differing window. When not (the report's details
    /// were truncated or dropped to bound the drift file, or it was read back from a manifest
    /// summary), the list is a prefix and `reconcile` recomputes the whole view.
    public var differingWindowsComplete: Bool { Int64(differingWindows.count) >= differingWindowsTotal }

    /// The JSON keys every form carries: DESIGN.md "Drift" names them, plus `view` and
    /// `differingWindowsTotal`.
    private var countMembers: [JSONMember] {
        [
            JSONMember("view", .string(view)),
            JSONMember("cellsCompared", .int(cellsCompared)),
            JSONMember("cellsDiffering", .int(cellsDiffering)),
            JSONMember("divergenceRate", .double(divergenceRate)),
            JSONMember("relativeError", .object(relativeError.keys.sorted().map { JSONMember($0, .double(relativeError[$0] ?? 0)) })),
            JSONMember("lateEvents", .int(lateEvents)),
            JSONMember("fingerprint", .string(fingerprint)),
            JSONMember("fromHorizon", .int(fromHorizon)),
            JSONMember("toHorizon", .int(toHorizon)),
            JSONMember("at", .int(at)),
            JSONMember("status", .string(status.rawValue)),
        ]
    }

    /// The JSON form (DESIGN.md "Drift" names the keys), as in the `DRIFT` file and
    /// `drift --json`: the counts, `differingWindows` (possibly a prefix) and
    /// `differingWindowsTotal` (format-spec.md §6.4).
    public var json: JSONValue {
        .object(countMembers + [
            JSONMember("differingWindows", .array(differingWindows.map { .int($0) })),
            JSONMember("differingWindowsTotal", .int(differingWindowsTotal)),
        ])
    }

    /// Compact JSON text of ``json``.
    public var jsonString: String { json.serialized() }

    /// The bounded summary the manifest carries (format-spec.md §6.3): every key of ``json``
    /// except `differingWindows`, so its size does not grow with the drift. Read back, it is a
    /// report whose ``differingWindows`` is empty and incomplete (unless nothing differed).
    public var summaryJSON: JSONValue {
        .object(countMembers + [JSONMember("differingWindowsTotal", .int(differingWindowsTotal))])
    }

    /// Compact JSON text of ``summaryJSON``.
    public var summaryJSONString: String { summaryJSON.serialized() }

    /// Reads a JSON form back (as persisted in drift files and manifests): a full report, one
    /// whose `differingWindows` is a prefix, or a summary without it. A missing
    /// `differingWindowsTotal` (files written before it existed) means the list is complete.
    /// - Throws: `.corruption` naming the missing or bad key.
    public init(json v: JSONValue, path: String?) throws(LambdaStoreError) {
        func need<T>(_ key: String, _ f: (JSONValue) -> T?) throws(LambdaStoreError) -> T {
            guard let x = v[key], let t = f(x) else { throw LambdaStoreError.corruption("drift report: missing or bad '\(key)'", path: path, offset: nil) }
            return t
        }
        view = try need("view") { $0.stringValue }
        cellsCompared = try need("cellsCompared") { $0.int64Value }
        cellsDiffering = try need("cellsDiffering") { $0.int64Value }
        divergenceRate = try need("divergenceRate") { $0.doubleValue }
        var re: [String: Double] = [:]
        for m in try need("relativeError", { $0.objectValue }) { re[m.key] = m.value.doubleValue ?? 0 }
        relativeError = re
        lateEvents = try need("lateEvents") { $0.int64Value }
        fingerprint = try need("fingerprint") { $0.stringValue }
        fromHorizon = try need("fromHorizon") { $0.int64Value }
        toHorizon = try need("toHorizon") { $0.int64Value }
        at = try need("at") { $0.int64Value }
        status = try need("status") { $0.stringValue.flatMap(DriftStatus.init(rawValue:)) }
        var windows: [Int64?] = []
        if v["differingWindows"] != nil {
            let items = try need("differingWindows") { $0.arrayValue }
            windows.reserveCapacity(items.count)
            for item in items {
                if item.isNull {
                    windows.append(nil)
                } else if let w = item.int64Value {
                    windows.append(w)
                } else {
                    throw LambdaStoreError.corruption("drift report: bad 'differingWindows' element", path: path, offset: nil)
                }
            }
        }
        differingWindows = windows
        if v["differingWindowsTotal"] != nil {
            differingWindowsTotal = try need("differingWindowsTotal") { $0.int64Value }
            guard differingWindowsTotal >= Int64(windows.count) else {
                throw LambdaStoreError.corruption("drift report: 'differingWindowsTotal' \(differingWindowsTotal) is below the \(windows.count) windows listed", path: path, offset: nil)
            }
        } else if v["differingWindows"] != nil {
            differingWindowsTotal = Int64(windows.count)
        } else {
            throw LambdaStoreError.corruption("drift report: missing 'differingWindows' and 'differingWindowsTotal'", path: path, offset: nil)
        }
    }
}

/// Accumulates the comparison of served values against the batch truth, cell by cell.
///
/// Integer aggregates compare exactly; floating-point ones with a relative tolerance of 1e-9
/// (DESIGN.md "Drift"). A cell present on one side only has its missing side counted as 0.
package struct DriftAccumulator: Sendable {
    /// The aggregate names, in view order.
    package let names: [String]
    private var absError: [Double]
    private var absTruth: [Double]
    private var isNumeric: [Bool]
    /// Cells compared so far.
    package private(set) var compared: Int64 = 0
    /// Cells differing so far.
    package private(set) var differing: Int64 = 0
    /// The windows of differing cells.
    package private(set) var differingWindows: Set<Int64?> = []

    /// Relative tolerance for floating-point aggregates.
    package static let floatTolerance = 1e-9

    /// An accumulator for aggregates named `names`; `numeric[i]` says whether aggregate i has a
    /// numeric result (it then gets a `relativeError` entry).
    package init(names: [String], numeric: [Bool]) {
        self.names = names
        absError = Array(repeating: 0, count: names.count)
        absTruth = Array(repeating: 0, count: names.count)
        isNumeric = numeric
    }

    /// The numeric value of an aggregate result for error sums (nil/null counts as 0).
    package static func number(_ v: Value?) -> Double? {
        switch v {
        case .none, .null?: return 0
        case .int64(let x)?: return Double(x)
        case .timestamp(let x)?: return Double(x)
        case .float64(let x)?: return x
        case .bool(let b)?: return b ? 1 : 0
        case .string?: return nil
        }
    }

    /// Whether two results differ under the drift rules.
    static func differs(_ a: Value?, _ b: Value?) -> Bool {
        let a = a ?? .null, b = b ?? .null
        switch (a, b) {
        case (.float64(let x), .float64(let y)):
            if x == y || (x.isNaN && y.isNaN) { return false }
            let scale = Swift.max(abs(x), abs(y))
            return !(abs(x - y) <= floatTolerance * scale)
        case (.float64(let x), .null), (.null, .float64(let x)):
            return x != 0
        case (.int64(let x), .null), (.null, .int64(let x)):
            return x != 0
        default:
            return a != b
        }
    }

    /// Compares one cell. `served`/`truth` are the final aggregate values (nil = the cell is
    /// absent on that side).
    package mutating func compare(window: Int64?, served: [Value]?, truth: [Value]?) {
        compared += 1
        // A cell present on one side only differs (DESIGN.md "Drift").
        var differs = (served == nil) != (truth == nil)
        for i in 0..<names.count {
            let s = served?[i], t = truth?[i]
            if Self.differs(s, t) { differs = true }
            if isNumeric[i], let sv = Self.number(s), let tv = Self.number(t) {
                absError[i] += abs(sv - tv)
                absTruth[i] += abs(tv)
            }
        }
        if differs {
            differing += 1
            differingWindows.insert(window)
        }
    }

    /// ``compare(window:served:truth:)`` of a cell whose two sides hold the same states, so
    /// the same results: nothing differs and no error adds up, only the truth's magnitude of
    /// each numeric aggregate, `truthNumber(i)` (what ``number(_:)`` gives for its result).
    package mutating func compareSame(truthNumber: (Int) -> Double) {
        compared += 1
        for i in 0..<names.count where isNumeric[i] { absTruth[i] += abs(truthNumber(i)) }
    }

    /// Adds the comparisons of `other` (same aggregates), as if its cells had been compared
    /// after this one's.
    package mutating func merge(_ other: DriftAccumulator) {
        precondition(other.names == names, "merging drift accumulators of different aggregates")
        compared += other.compared
        differing += other.differing
        differingWindows.formUnion(other.differingWindows)
        for i in names.indices {
            absError[i] += other.absError[i]
            absTruth[i] += other.absTruth[i]
        }
    }

    /// `relativeError` per numeric aggregate.
    package var relativeError: [String: Double] {
        var out: [String: Double] = [:]
        for i in 0..<names.count where isNumeric[i] {
            out[names[i]] = absTruth[i] == 0 ? 0 : absError[i] / absTruth[i]
        }
        return out
    }
}
