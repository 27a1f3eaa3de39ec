import LambdaStoreCore
import LambdaStoreViews

/// The speed contribution of one view since a batch horizon (DESIGN.md "Serving merge").
///
/// Events are applied with `ViewTable/LatePolicy/dropLate`: a late event is counted and not
/// applied. A generation is keyed by the batch horizon it starts at; the active (last)
/// generation takes new events, earlier ones are frozen while a batch that will cover them runs.
struct SpeedGeneration: Sendable {
    /// The first offset this generation covers.
    var fromHorizon: Int64
    /// The cells.
    var table: ViewTable
    /// Late events (once per event) applied-or-skipped in this generation.
    var lateEvents: Int64 = 0
}

/// The in-memory speed layer of one view: hash-indexed cells per generation.
///
/// Lateness decisions depend only on the order of events and on `maxEventTime`, which carries
/// over from one generation to the next, so a rebuilt speed layer (replay from the horizon with
/// `maxEventTime` seeded from the snapshot) makes the same decisions as the live one
/// (DESIGN.md "Speed recovery").
///
/// Thread safety: a value type, guarded by its view's lock (``ViewHandle``).
struct SpeedLayer: Sendable {
    /// Oldest first; the last one is active.
    private(set) var generations: [SpeedGeneration]
    /// Every offset below this has been applied.
    private(set) var appliedEnd: Int64
    /// Scratch selection buffer reused across batches.
    private var selection: [UInt8] = []

    /// An empty speed layer starting at `horizon` with `maxEventTime` seeded from the snapshot.
    init(layout: ViewLayout, horizon: Int64, maxEventTime: Int64?) {
        var t = ViewTable(layout: layout)
        t.maxEventTime = maxEventTime
        generations = [SpeedGeneration(fromHorizon: horizon, table: t)]
        appliedEnd = horizon
    }

    /// The current `maxEventTime` of the view.
    var maxEventTime: Int64? { generations.last?.table.maxEventTime }

    /// Late events held across the live generations.
    var lateEvents: Int64 { generations.reduce(0) { $0 + $1.lateEvents } }

    /// Cells held across generations.
    var cellCount: Int { generations.reduce(0) { $0 + $1.table.cellCount } }

    /// Approximate bytes held.
    var approximateBytes: Int { generations.reduce(0) { $0 + $1.table.approximateBytes } }

    /// Applies a batch appended at `baseOffset` (in offset order; rows already applied are
    /// skipped, so replays are idempotent).
    /// - Returns: false, applying nothing, when the batch starts past ``appliedEnd`` (a gap:
    ///   the layer would miss events, so its owner must rebuild it).
    @discardableResult
    mutating func apply(_ batch: ColumnBatch, baseOffset: Int64, view: CompiledView) -> Bool {
        let end = baseOffset + Int64(batch.count)
        guard baseOffset <= appliedEnd else { return false }
        guard end > appliedEnd else { return true }
        var rows: Range<Int>? = nil
        if baseOffset < appliedEnd { rows = Int(appliedEnd - baseOffset)..<batch.count }
        let sel: [UInt8]?
        if let f = view.filter {
            f.evaluate(batch, into: &selection)
            sel = selection
        } else {
            sel = nil
        }
        let i = generations.count - 1
        let stats = generations[i].table.apply(batch, rows: rows, selection: sel, policy: .dropLate)
        // Point queries must not walk a key's history: index the new cells (incremental).
        generations[i].table.indexAllCells()
        generations[i].lateEvents += Int64(stats.lateEvents)
        appliedEnd = end
        return true
    }

    /// Each generation's rows matching `range` and `keys` (``ViewTable/rows(windowStartRange:keyEquals:)``),
    /// oldest first. Each table is read in place: a copy of a generation would retain every
    /// array of its table, per query.
    func rows(windowStartRange range: Range<Int64>?, keyEquals keys: [(groupIndex: Int, value: Value)]) -> [[ViewRow]] {
        var out: [[ViewRow]] = []
        out.reserveCapacity(generations.count)
        for i in generations.indices { out.append(generations[i].table.rows(windowStartRange: range, keyEquals: keys)) }
        return out
    }

    /// The generations a batch taking `horizon` covers (those starting below it), after a
    /// ``rotate()``: what the speed layer serves for `[H0, horizon)`. They are frozen, so the
    /// copies share their tables without ever forcing a copy of them.
    func frozen(below horizon: Int64) -> [SpeedGeneration] {
        generations.filter { $0.fromHorizon < horizon }
    }

    /// Freezes the active generation and starts a new one at `appliedEnd` (a batch is about to
    /// take `appliedEnd` as its horizon).
    mutating func rotate() {
        guard let last = generations.last, last.fromHorizon < appliedEnd else { return }
        var t = ViewTable(layout: last.table.layout)
        t.maxEventTime = last.table.maxEventTime
        generations.append(SpeedGeneration(fromHorizon: appliedEnd, table: t))
    }

    /// Drops every generation that starts below `horizon` (a batch covering it was published).
    mutating func drop(below horizon: Int64) {
        let keep = generations.filter { $0.fromHorizon >= horizon }
        if keep.isEmpty {
            var t = ViewTable(layout: generations[0].table.layout)
            t.maxEventTime = maxEventTime
            generations = [SpeedGeneration(fromHorizon: max(horizon, appliedEnd), table: t)]
        } else {
            generations = keep
        }
    }
}
