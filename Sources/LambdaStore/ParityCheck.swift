import LambdaStoreCore
import LambdaStoreViews

/// One cell where the speed path and the batch path disagree.
public struct ParityDifference: Sendable, Hashable {
    /// Window start (nil: no window).
    public var windowStart: Int64?
    /// Group values.
    public var key: [Value]
    /// The speed path's aggregate values (nil: the cell is absent there).
    public var speed: [Value]?
    /// The batch path's aggregate values (nil: absent).
    public var batch: [Value]?
    /// Whether events the speed path dropped as late fall in this cell (a difference by design).
    public var explainedByLateEvents: Bool
}

/// Runs a view's speed path and batch path over the same fixture events and returns every cell
/// where they differ — for users' own contract tests ("my view means the same thing in both
/// paths").
///
/// The speed path applies the batches one after another exactly as the speed layer does (late
/// events skipped); the batch path splits the events into `parts` contiguous pieces, aggregates
/// each on its own and merges the partial states, as the batch layer does. Both run the one
/// compiled plan, so every difference must be explained by late events.
///
/// ```swift
/// let diffs = try await ParityCheck.run(definition: view, schema: schema, batches: fixture)
/// #expect(diffs.filter { !$0.explainedByLateEvents }.isEmpty)
/// ```
public enum ParityCheck {
    /// Compares the two paths over `batches` (laid out under `schema`).
    /// - Throws: `.view` when the definition does not compile against the schema.
    /// - Complexity: O(events).
    ///
    /// Aggregates every batch twice: off the cooperative pool.
    public static func run(definition: ViewDefinition, schema: Schema, batches: [ColumnBatch], parts: Int = 3) async throws(LambdaStoreError) -> [ParityDifference] {
        try await Blocking.run { () throws(LambdaStoreError) -> [ParityDifference] in
            try runBlocking(definition: definition, schema: schema, batches: batches, parts: parts)
        }
    }

    /// ``run(definition:schema:batches:parts:)`` on the calling thread.
    static func runBlocking(definition: ViewDefinition, schema: Schema, batches: [ColumnBatch], parts: Int) throws(LambdaStoreError) -> [ParityDifference] {
        let view = try CompiledView(definition, schema: schema)
        var selection: [UInt8] = []
        func select(_ b: ColumnBatch) -> [UInt8]? {
            guard let f = view.filter else { return nil }
            f.evaluate(b, into: &selection)
            return selection
        }
        // Speed path, tracking the cells that had late events skipped.
        var speed = ViewTable(layout: view.layout)
        var lateCells = Set<CellKey>()
        for b in batches {
            // Apply the batch both ways from the same state: a cell whose states then differ
            // had late events skipped by the speed path.
            var touched = Set<CellKey>()
            var probe = speed
            _ = probe.apply(b, rows: nil, selection: select(b), policy: .includeAll, touched: &touched)
            _ = speed.apply(b, rows: nil, selection: select(b), policy: .dropLate)
            for c in touched where probe.state(of: c) != speed.state(of: c) { lateCells.insert(c) }
        }
        // Batch path: contiguous parts, merged.
        var merged = ViewTable(layout: view.layout)
        let k = max(1, min(parts, batches.count))
        let per = (batches.count + k - 1) / max(1, k)
        var i = 0
        while i < batches.count {
            var part = ViewTable(layout: view.layout)
            for b in batches[i..<min(batches.count, i + per)] {
                _ = part.apply(b, rows: nil, selection: select(b), policy: .includeAll)
            }
            merged.merge(part)
            i += per
        }
        let types = view.layout.groupBy.map(\.type)
        var out: [ParityDifference] = []
        let cells = Set(speed.cellKeys).union(merged.cellKeys)
        for c in cells.sorted() {
            let s = speed.state(of: c)?.map(\.result), b = merged.state(of: c)?.map(\.result)
            if s != b {
                out.append(ParityDifference(windowStart: c.windowStart, key: c.key.values(types: types), speed: s, batch: b,
                                            explainedByLateEvents: lateCells.contains(c)))
            }
        }
        return out
    }
}
