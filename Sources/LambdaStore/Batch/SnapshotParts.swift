import Dispatch
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews
import Synchronization

/// How a windowed view's snapshot is split into part files by window start (format-spec.md
/// §6.2.1), so that an incremental run rewrites only the parts whose windows received events and
/// names the others again unchanged.
///
/// The split is a function of the cells alone (never of which runs produced them): a part holds
/// every cell whose window start `w` has `floor(w / span) = index`, and `span` is the smallest
/// `slide · 2^k` (k ≥ 0) that is at least one day and leaves at most ``partsMax`` parts between
/// the smallest and the largest window start. A full run and any sequence of incremental runs
/// over the same log therefore write the same parts, byte for byte.
enum SnapshotPartition {
    /// The most parts a generation has (the span doubles until the windows fit).
    static let partsMax: Int64 = 64
    /// The smallest span: one day.
    static let spanMin: Int64 = 86_400_000

    /// The span for window starts in `[minWindow, maxWindow]` of windows sliding by `slide`.
    static func span(minWindow: Int64, maxWindow: Int64, slide: Int64) -> Int64 {
        var s = max(1, slide)
        while s < spanMin && s <= Int64.max / 2 { s *= 2 }
        while s <= Int64.max / 2 && index(maxWindow, span: s) - index(minWindow, span: s) + 1 > partsMax { s *= 2 }
        return s
    }

    /// `floor(windowStart / span)`.
    static func index(_ windowStart: Int64, span: Int64) -> Int64 {
        let q = windowStart / span
        return (windowStart % span != 0 && windowStart < 0) ? q - 1 : q
    }

    /// The window starts part `index` may hold, clamped to `Int64`.
    static func windows(index: Int64, span: Int64) -> ClosedRange<Int64> {
        let lo = Int64(clamping: Int128(index) * Int128(span))
        let hi = Int64(clamping: (Int128(index) + 1) * Int128(span) - 1)
        return lo...max(lo, hi)
    }

    /// The slide of a windowed layout (its size for tumbling windows); nil without a window.
    static func slide(_ window: WindowKind) -> Int64? {
        switch window {
        case .none: nil
        case .tumbling(let size): size
        case .hopping(_, let slide): slide
        }
    }

    /// Metadata keys of a part file.
    static let spanKey = "partSpan", indexKey = "partIndex"

    /// The file name of part `sequence` written by generation `generation`:
    /// `<20-digit generation>-<4-digit sequence>.snapshot`.
    static func fileName(generation: UInt64, sequence: Int) -> String {
        let digits = String(sequence)
        return LogFormat.fileStem(baseOffset: Int64(clamping: generation)) + "-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + ".snapshot"
    }

    /// The generation a snapshot file name was written by: the leading decimal digits of
    /// `<generation>.snapshot` or `<generation>-<sequence>.snapshot`; nil for other names.
    static func generation(ofFileName name: String) -> UInt64? {
        guard name.hasSuffix(".snapshot") else { return nil }
        let stem = name.dropLast(".snapshot".count)
        let digits = stem.prefix { $0 >= "0" && $0 <= "9" }
        guard !digits.isEmpty, digits.count == stem.count || stem.dropFirst(digits.count).first == "-" else { return nil }
        return UInt64(digits)
    }
}

/// One file of a published snapshot.
struct SnapshotPart: Sendable {
    /// Its manifest entry (the file name inside the view directory, size, rows, CRC).
    let file: ManifestFile
    let reader: SnapshotReader
    /// The part index and the window starts it may hold; nil for an unpartitioned snapshot
    /// (a view without a window, or a file written before snapshots were split).
    let index: Int64?
    let windows: ClosedRange<Int64>?
    /// What a query pins the file by: the reader's own path (the string compaction checks).
    let pinKey: FilePins.Key

    init(file: ManifestFile, reader: SnapshotReader, index: Int64?, windows: ClosedRange<Int64>?) {
        self.file = file
        self.reader = reader
        self.index = index
        self.windows = windows
        pinKey = FilePins.Key(reader.path)
    }

    /// The file name inside the view directory.
    var name: String { file.name }
}

/// The live snapshot of a view: the files its manifest names, opened and checked against it.
///
/// The first file always names the horizon and maxEventTime the snapshot covers, as the
/// manifest does (an independent record: a manifest edited alone is caught). For a view
/// without a window it is the whole snapshot; for a windowed view it is a *head* with no rows,
/// followed by the parts by window range, which name no horizon so that a later generation can
/// list them again unchanged (format-spec.md §6.2.1).
///
/// Thread safety: immutable; the readers are thread-safe.
struct SnapshotSet: Sendable {
    /// The files holding rows, in manifest order (for a windowed view: by part index).
    let parts: [SnapshotPart]
    /// The head of a windowed view's snapshot (nil for an unpartitioned snapshot).
    let head: SnapshotPart?
    /// The span of the split (nil: one unpartitioned file).
    let span: Int64?
    /// The smallest and largest window start held (nil when no row has a window).
    let windowBounds: ClosedRange<Int64>?

    /// Rows over every part.
    var rowCount: Int64 { parts.reduce(0) { $0 + $1.reader.rowCount } }
    /// The fingerprint the files carry (the manifest's: checked at open); kept, since every
    /// query compares it.
    let fingerprint: String?

    init(parts: [SnapshotPart], head: SnapshotPart?, span: Int64?, windowBounds: ClosedRange<Int64>?) {
        self.parts = parts
        self.head = head
        self.span = span
        self.windowBounds = windowBounds
        fingerprint = (head ?? parts.first)?.reader.metadata["fingerprint"]
    }

    /// The parts that may hold a window starting in `range` (every part for nil), in order.
    /// - Complexity: O(log parts + parts returned): partitioned parts hold increasing, disjoint
    ///   window ranges (checked at open), so the first is found by binary search.
    func parts(overlapping range: Range<Int64>?) -> ArraySlice<SnapshotPart> {
        guard let range else { return parts[...] }
        if range.isEmpty { return [] }
        // An unpartitioned snapshot: one file (the only one, checked at open), any window.
        guard parts.first?.windows != nil else { return parts[...] }
        var lo = 0, hi = parts.count
        while lo < hi {
            let m = lo + (hi - lo) / 2
            if let w = parts[m].windows, w.upperBound < range.lowerBound { lo = m + 1 } else { hi = m }
        }
        var end = lo
        while end < parts.count, let w = parts[end].windows, w.lowerBound < range.upperBound { end += 1 }
        return parts[lo..<end]
    }

    /// Opens the files `manifest` names in `directory` and checks each against it: size and
    /// rows as listed, the manifest's fingerprint; the first file's horizon and maxEventTime;
    /// after a head (no rows), parts: one span, strictly increasing indexes, no horizon, and
    /// every row group's window starts inside its part (so a query that picks parts by window
    /// range never misses or doubles a cell). Nil when the manifest names no file.
    /// A file of `reusing` named again is not opened a second time: its reader (with its
    /// decoded row groups) is kept.
    /// - Throws: `.corruption` naming the file that disagrees; errors opening a file.
    static func open(fs: any FileSystem, directory: String, manifest: Manifest, reusing previous: SnapshotSet? = nil) throws(LambdaStoreError) -> SnapshotSet? {
        guard !manifest.files.isEmpty else { return nil }
        var open: [String: SnapshotReader] = [:]
        for p in (previous?.parts ?? []) + [previous?.head].compactMap({ $0 }) { open[p.name] = p.reader }
        var parts: [SnapshotPart] = []
        var head: SnapshotPart? = nil
        var span: Int64? = nil
        var lowest: Int64? = nil, highest: Int64? = nil
        for (position, file) in manifest.files.enumerated() {
            let path = Path.join(directory, file.name)
            let r: SnapshotReader
            // No descriptor is held per file: a view may have 65 of them.
            if let reused = open[file.name] { r = reused } else { r = try SnapshotReader.open(fs: fs, path: path, keepOpen: false) }
            func corrupt(_ why: String) -> LambdaStoreError { .corruption(why, path: path, offset: nil) }
            guard r.fileSize == file.bytes, r.rowCount == file.rows else {
                throw corrupt("snapshot has \(r.fileSize) bytes and \(r.rowCount) rows, disagreeing with the MANIFEST's \(file.bytes) bytes and \(file.rows) rows")
            }
            guard r.metadata["fingerprint"] == manifest.fingerprint else {
                throw corrupt("snapshot fingerprint \(r.metadata["fingerprint"] ?? "none") disagrees with the MANIFEST's \(manifest.fingerprint)")
            }
            if position == 0 {
                // The horizon and maxEventTime the snapshot covers must be the manifest's: a
                // mismatch would serve events in both parts (or in neither).
                let horizon = r.metadata["horizon"], maxEventTime = r.metadata["maxEventTime"]
                guard horizon == String(manifest.horizon), maxEventTime == manifest.maxEventTime.map({ String($0) }) else {
                    throw corrupt("snapshot metadata (horizon \(horizon ?? "none"), maxEventTime \(maxEventTime ?? "none"), fingerprint \(r.metadata["fingerprint"] ?? "none")) disagrees with the MANIFEST (horizon \(manifest.horizon), maxEventTime \(manifest.maxEventTime.map { String($0) } ?? "none"), fingerprint \(manifest.fingerprint))")
                }
                if r.metadata[SnapshotPartition.spanKey] != nil {
                    guard r.rowCount == 0, r.metadata[SnapshotPartition.indexKey] == nil else {
                        throw corrupt("a snapshot head (\(SnapshotPartition.spanKey) and a horizon) must hold no rows and no \(SnapshotPartition.indexKey)")
                    }
                    head = SnapshotPart(file: file, reader: r, index: nil, windows: nil)
                } else {
                    guard manifest.files.count == 1 else {
                        throw corrupt("an unpartitioned snapshot must be the only file of its MANIFEST, which lists \(manifest.files.count)")
                    }
                    parts.append(SnapshotPart(file: file, reader: r, index: nil, windows: nil))
                }
                continue
            }
            guard head != nil else { throw corrupt("a snapshot file follows an unpartitioned snapshot") }
            guard let spanText = r.metadata[SnapshotPartition.spanKey], let s = Int64(spanText), s > 0,
                  let indexText = r.metadata[SnapshotPartition.indexKey], let index = Int64(indexText) else {
                throw corrupt("snapshot part metadata \(SnapshotPartition.spanKey)=\(r.metadata[SnapshotPartition.spanKey] ?? "none"), \(SnapshotPartition.indexKey)=\(r.metadata[SnapshotPartition.indexKey] ?? "none") is not a positive span and an integer index")
            }
            guard r.metadata["horizon"] == nil, r.metadata["maxEventTime"] == nil else {
                throw corrupt("a snapshot part must not name a horizon or maxEventTime (the head does)")
            }
            if let span, span != s { throw corrupt("snapshot part has span \(s), the MANIFEST's first part \(span)") }
            span = s
            if let last = parts.last?.index, index <= last {
                throw corrupt("snapshot part index \(index) does not follow the previous part's \(last)")
            }
            let windows = SnapshotPartition.windows(index: index, span: s)
            guard r.columns.first?.name == SnapshotLayout.windowColumn else {
                throw corrupt("snapshot part has no \(SnapshotLayout.windowColumn) column first")
            }
            for g in r.rowGroups where g.rowCount > 0 {
                guard let stats = g.chunks.first?.statistics, stats.nullCount == 0, case .ints(let lo, let hi)? = stats.bounds,
                      windows.contains(lo), windows.contains(hi) else {
                    throw corrupt("row group \(g.index) of snapshot part \(index) holds window starts outside the part's [\(windows.lowerBound), \(windows.upperBound)] (or null ones)")
                }
                lowest = min(lowest ?? lo, lo)
                highest = max(highest ?? hi, hi)
            }
            parts.append(SnapshotPart(file: file, reader: r, index: index, windows: windows))
        }
        if let head {
            // The head names the span its parts were split by.
            guard let s = head.reader.metadata[SnapshotPartition.spanKey].flatMap({ Int64($0) }), s > 0, span == nil || span == s else {
                throw LambdaStoreError.corruption("snapshot head span \(head.reader.metadata[SnapshotPartition.spanKey] ?? "none") disagrees with its parts' \(span.map { String($0) } ?? "none")", path: Path.join(directory, head.name), offset: nil)
            }
            span = s
        }
        let bounds: ClosedRange<Int64>? = if let lowest, let highest { lowest...highest } else { nil }
        return SnapshotSet(parts: parts, head: head, span: span, windowBounds: bounds)
    }
}

extension SnapshotLayout {
    /// ``read(_:windowStartRange:keys:)`` over every part of `set` that may hold a window in
    /// `range`, in part order: the rows stay sorted by (window, key).
    func read(_ set: SnapshotSet, windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)]) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        var out: [(CellKey, [AggregateState])] = []
        for p in set.parts(overlapping: range) { out += try read(p.reader, windowStartRange: range, keys: keys) }
        return out
    }
}

extension Manifest {
    /// The `extra` key listing the snapshot files earlier generations named and this one no
    /// longer does, with the generation that stopped naming each (format-spec.md §6.3): what
    /// snapshot GC needs to keep whole generations.
    static let retiredKey = "retired"

    /// The ``retiredKey`` entries: file name → the first generation that no longer names it.
    /// Malformed entries are skipped (GC then falls back to the name's generation).
    var retiredFiles: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for entry in (extra[Self.retiredKey] ?? "").split(separator: ",") {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let g = UInt64(parts[1]) else { continue }
            out[String(parts[0])] = g
        }
        return out
    }
}

extension Store {
    /// The parts of `table` (sorted by window, then key) under `span`, or under the span of
    /// its own window range when nil: each part's index and columns, in index order.
    ///
    /// `carry` adds, to the part of each of its indexes, the rows of that previous part whose
    /// window is not in `recomputed` (an incremental run's windows not recomputed): the two are
    /// merged by window start at the column level (each window's rows come from one side,
    /// already in key order), never decoded into cells. The columns are built row by row from
    /// both sides, so their form does not depend on where a row came from, and the part is
    /// byte-identical to a full run's (the property tests). The previous part's leading row
    /// groups that the new part starts with unchanged (full-size groups, no recomputed window,
    /// every window before the first recomputed row) are not decoded at all: `copied` names
    /// how many, for ``SnapshotWriter/append(rowGroup:copiedFrom:)``, and `columns` holds the
    /// rows after them.
    /// `order` is `table.sortedCellIndices()` when the caller has it already.
    func snapshotParts(_ table: ViewTable, span given: Int64?, compiled: CompiledView,
                       carry: [Int64: SnapshotReader] = [:], recomputed: WindowSelection? = nil, order presorted: [Int]? = nil) throws(LambdaStoreError)
        -> (span: Int64, parts: [(index: Int64, copied: (reader: SnapshotReader, groups: Int)?, columns: [Column])]) {
        let slayout = try SnapshotLayout(layout: compiled.layout)
        guard let slide = SnapshotPartition.slide(compiled.layout.window) else {
            throw LambdaStoreError(.precondition, "view '\(compiled.definition.name)' has no window: its snapshot is not split into parts")
        }
        let order = presorted ?? table.sortedCellIndices()
        let first = order.first.map { table.cellWindowStartValue($0) } ?? 0
        let last = order.last.map { table.cellWindowStartValue($0) } ?? 0
        let span = given ?? SnapshotPartition.span(minWindow: first, maxWindow: last, slide: slide)
        let keyValues = slayout.keyValueColumns(table)
        var parts: [(index: Int64, columns: [Column])] = []
        var a = 0
        while a < order.count {
            let index = SnapshotPartition.index(table.cellWindowStartValue(order[a]), span: span)
            let end = SnapshotPartition.windows(index: index, span: span).upperBound
            // The first row past the part: window starts are sorted.
            var lo = a + 1, hi = order.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if table.cellWindowStartValue(order[mid]) <= end { lo = mid + 1 } else { hi = mid }
            }
            let rows = a == 0 && lo == order.count ? order : Array(order[a..<lo])
            parts.append((index, slayout.encode(table, order: rows, keyValues: keyValues)))
            a = lo
        }
        guard !carry.isEmpty else { return (span, parts.map { ($0.index, nil, $0.columns) }) }
        var merged: [(index: Int64, copied: (reader: SnapshotReader, groups: Int)?, columns: [Column])] = []
        let empty = slayout.encode(table, order: [], keyValues: keyValues)
        var byIndex: [Int64: [Column]] = [:]
        for p in parts { byIndex[p.index] = p.columns }
        let rowGroupRows = snapshotOptions(threads: 1).rowGroupRows
        for index in Set(byIndex.keys).union(carry.keys).sorted() {
            let new = byIndex[index] ?? empty
            guard let reader = carry[index] else { merged.append((index, nil, new)); continue }
            // The leading row groups the new part starts with, unchanged: full size (the
            // groups a full run would cut), every window kept and before the first new row.
            let firstNew = new.first?.ints.first
            var copied = 0
            for g in reader.rowGroups {
                guard g.rowCount == rowGroupRows, let stats = g.chunks.first?.statistics, stats.nullCount == 0,
                      case .ints(let lo, let hi)? = stats.bounds, lo <= hi,
                      recomputed?.intersects(lo...hi) != true, firstNew.map({ hi < $0 }) ?? true else { break }
                copied += 1
            }
            let old = try slayout.allColumns(of: reader, fromRowGroup: copied)
            let cols = try Self.mergeByWindow(old: old, keepOld: { !(recomputed?.contains($0) ?? false) }, new: new, path: reader.path)
            if copied > 0 || cols.first.map({ $0.count > 0 }) == true { merged.append((index, copied > 0 ? (reader, copied) : nil, cols)) }
        }
        return (span, merged)
    }

    /// The snapshot writer options of this store (codec, level, row-group size) with `threads`.
    func snapshotOptions(threads: Int) -> SnapshotOptions {
        SnapshotOptions(codec: options.snapshotCodec, zstdLevel: options.snapshotZstdLevel, rowGroupRows: options.snapshotRowGroupRows, threads: threads)
    }

    /// The rows of `old` whose window start `keepOld` accepts and every row of `new`, both
    /// sorted by (window, key), in window order; a window in both keeps only `new`'s rows
    /// (callers never keep a window `new` holds).
    static func mergeByWindow(old: [Column], keepOld: (Int64) -> Bool, new: [Column], path: String) throws(LambdaStoreError) -> [Column] {
        guard old.count == new.count, zip(old, new).allSatisfy({ $0.type == $1.type }), let ow = old.first?.ints, let nw = new.first?.ints,
              old[0].count == ow.count, new[0].count == nw.count, !old[0].hasNulls, !new[0].hasNulls else {
            throw LambdaStoreError.corruption("snapshot part columns \(old.map { "\($0.type)" }) cannot be merged with the recomputed ones \(new.map { "\($0.type)" })", path: path, offset: nil)
        }
        // The runs of rows to take, in output order: (from `new`?, rows).
        var runs: [(fromNew: Bool, rows: Range<Int>)] = []
        var i = 0, j = 0
        while i < ow.count || j < nw.count {
            if j >= nw.count || (i < ow.count && ow[i] <= nw[j]) {
                let w = ow[i]
                let start = i
                while i < ow.count && ow[i] == w { i += 1 }
                guard keepOld(w), j >= nw.count || nw[j] != w else { continue }
                if let last = runs.last, !last.fromNew, last.rows.upperBound == start { runs[runs.count - 1].rows = last.rows.lowerBound..<i } else { runs.append((false, start..<i)) }
            } else {
                let w = nw[j]
                let start = j
                while j < nw.count && nw[j] == w { j += 1 }
                if let last = runs.last, last.fromNew, last.rows.upperBound == start { runs[runs.count - 1].rows = last.rows.lowerBound..<j } else { runs.append((true, start..<j)) }
            }
        }
        // Column by column, each source held once (not copied per row).
        return (0..<new.count).map { c in
            let a = old[c], b = new[c]
            var col = Column(type: b.type, capacity: runs.reduce(0) { $0 + $1.rows.count })
            for run in runs {
                let src = run.fromNew ? b : a
                for r in run.rows { col.append(copyOf: src, row: r) }
            }
            return col
        }
    }

    /// The footer metadata of part `index` of a snapshot split by `span`: no horizon and no
    /// maxEventTime (the manifest holds them), so a part depends on its cells alone and a later
    /// generation can name it again.
    func partMetadata(view name: String, definition: ViewDefinition, compiled: CompiledView, span: Int64, index: Int64) -> [String: String] {
        ["view": name, "fingerprint": compiled.fingerprint, "definition": definition.canonicalForm,
         SnapshotPartition.spanKey: String(span), SnapshotPartition.indexKey: String(index)]
    }

    /// Writes the parts of `table` (``snapshotParts(_:span:compiled:carry:recomputed:order:)``) as files of generation
    /// `generation` in `directory`, each durably and atomically, on up to `batchParallelism`
    /// threads. Returns each part's index and manifest entry, in index order.
    /// Then writes the generation's head, `<generation>.snapshot`: no rows, the horizon, the
    /// table's maxEventTime and the span (it goes first in the manifest).
    /// `carry`, `recomputed` and `order` as for ``snapshotParts(_:span:compiled:carry:recomputed:order:)``.
    func writeSnapshotParts(_ table: ViewTable, span: Int64?, generation: UInt64, directory: String, view name: String,
                            definition: ViewDefinition, compiled: CompiledView, horizon: Int64,
                            carry: [Int64: SnapshotReader] = [:], recomputed: WindowSelection? = nil, order: [Int]? = nil) throws(LambdaStoreError) -> (head: ManifestFile, parts: [(index: Int64, file: ManifestFile)]) {
        let slayout = try SnapshotLayout(layout: compiled.layout)
        let (s, parts) = try snapshotParts(table, span: span, compiled: compiled, carry: carry, recomputed: recomputed, order: order)
        let workers = max(1, min(options.batchParallelism, parts.count))
        // One part alone compresses its columns on every thread; several parts go one per thread.
        let threads = parts.count == 1 ? options.batchParallelism : 1
        let opts = snapshotOptions(threads: threads)
        let results = Locked([Result<ManifestFile, LambdaStoreError>?](repeating: nil, count: parts.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < parts.count else { return }
                let fileName = SnapshotPartition.fileName(generation: generation, sequence: i)
                let r: Result<ManifestFile, LambdaStoreError>
                do throws(LambdaStoreError) {
                    let w = try SnapshotWriter(fs: fs, path: Path.join(directory, fileName), columns: slayout.columns, options: opts,
                                               metadata: partMetadata(view: name, definition: definition, compiled: compiled, span: s, index: parts[i].index))
                    if let (reader, groups) = parts[i].copied {
                        for g in 0..<groups { try w.append(rowGroup: g, copiedFrom: reader) }
                    }
                    try w.append(columns: parts[i].columns)
                    let info = try w.finish()
                    r = .success(ManifestFile(info))
                } catch {
                    r = .failure(error)
                }
                results.withLock { $0[i] = r }
            }
        }
        var out: [(index: Int64, file: ManifestFile)] = []
        for (i, r) in results.withLock({ $0 }).enumerated() {
            switch r {
            case .success(let f)?: out.append((parts[i].index, f))
            case .failure(let e)?: throw e
            case nil: throw LambdaStoreError(.precondition, "snapshot part \(i) of '\(name)' was not written")
            }
        }
        let (info, _) = try writeSnapshot(Self.head(of: table), path: Path.join(directory, Store.snapshotFileName(generation: generation)), view: name,
                                          definition: definition, compiled: compiled, horizon: horizon, partSpan: s)
        return (ManifestFile(info), out)
    }

    /// The head's table: no cell, `table`'s maxEventTime (the head names it with the horizon).
    static func head(of table: ViewTable) -> ViewTable {
        var head = ViewTable(layout: table.layout)
        head.maxEventTime = table.maxEventTime
        return head
    }

    /// The bytes of the head and every part ``writeSnapshotParts`` would write for `table`, in
    /// manifest order, built in memory (the replay drill compares them with the published files).
    func snapshotPartBytes(_ table: ViewTable, view name: String, definition: ViewDefinition, compiled: CompiledView, horizon: Int64) throws(LambdaStoreError) -> [[UInt8]] {
        let slayout = try SnapshotLayout(layout: compiled.layout)
        let (s, parts) = try snapshotParts(table, span: nil, compiled: compiled)
        let opts = snapshotOptions(threads: options.batchParallelism)
        var out: [[UInt8]] = [try snapshotBytes(Self.head(of: table), view: name, definition: definition, compiled: compiled, horizon: horizon, partSpan: s)]
        for p in parts {
            let w = try SnapshotWriter(columns: slayout.columns, options: opts,
                                       metadata: partMetadata(view: name, definition: definition, compiled: compiled, span: s, index: p.index))
            try w.append(columns: p.columns)
            out.append(try w.finishToBytes())
        }
        return out
    }

    /// The ``Manifest/retiredKey`` value of the generation after `previous`, whose files are
    /// `live`: the files `previous` named and `live` does not (retired by `generation`), plus
    /// the earlier retired files still on disk; nil when there are none.
    func retiredFiles(previous: Manifest, live: Set<String>, generation: UInt64, directory: String) -> String? {
        var retired = previous.retiredFiles.filter { !live.contains($0.key) && fs.exists(Path.join(directory, $0.key)) }
        for f in previous.files where !live.contains(f.name) { retired[f.name] = generation }
        guard !retired.isEmpty else { return nil }
        return retired.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }
}
