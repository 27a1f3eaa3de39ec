import LambdaStoreCore

/// Read buffers reused from one batch read to the next (the stored bytes and the decompressed
/// payload): one per reading loop, so a scan allocates per batch only the columns it hands out.
public struct ReadScratch: Sendable {
    var raw: [UInt8] = []
    var plain: [UInt8] = []
    /// The archive row group decoded last (scans read a row group's records in several calls).
    var rowGroup: (file: String, index: Int, keep: Bool, version: UInt32, fields: Set<String>?, batch: ColumnBatch)? = nil
    /// Empty buffers; they grow to the largest batch read through them.
    public init() {}
}

/// One stored piece of history: a batch of a raw segment, or a row group of an archive file.
enum HistoryPiece: Sendable {
    case raw(Segment, IndexEntry)
    case archived(ArchivedFile, Int)

    var baseOffset: Int64 {
        switch self {
        case .raw(_, let e): e.baseOffset
        case .archived(let f, let g): f.rowGroups[g].firstOffset
        }
    }

    var endOffset: Int64 {
        switch self {
        case .raw(_, let e): e.endOffset
        case .archived(let f, let g): f.rowGroups[g].endOffset
        }
    }

    var info: BatchInfo {
        switch self {
        case .raw(let seg, let e): return BatchInfo(e, segment: seg.name)
        case .archived(let f, let g):
            let r = f.rowGroups[g]
            return BatchInfo(baseOffset: r.firstOffset, count: r.rows, minEventTime: r.minEventTime, maxEventTime: r.maxEventTime,
                             schemaVersion: f.schemaVersion, codec: .zstd, segment: f.name, position: Int64(g),
                             storedBytes: Int(clamping: r.bytes), uncompressedBytes: 0)
        }
    }
}

extension StreamShared {
    /// The first offset held by a raw segment (the end when there is none).
    var rawStart: Int64 { segments.first?.segment.baseOffset ?? endOffset }

    /// Up to `limit` pieces of history overlapping `offsets`, in offset order: archive row groups
    /// below the first raw segment, raw batches from it on (raw is preferred where both exist).
    func pieces(overlapping offsets: Range<Int64>, limit: Int = .max, eventTime: ClosedRange<Int64>? = nil) -> [HistoryPiece] {
        var out: [HistoryPiece] = []
        guard !offsets.isEmpty, offsets.lowerBound < endOffset else { return out }
        let raw0 = rawStart
        // The archive below the raw segments.
        if offsets.lowerBound < raw0, !archive.files.isEmpty {
            var lo = 0, hi = archive.files.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if archive.files[mid].endOffset <= offsets.lowerBound { lo = mid + 1 } else { hi = mid }
            }
            var fi = lo
            while fi < archive.files.count {
                var f = archive.files[fi]
                if archiveProblems[f.name] != nil {
                    // Untrusted ranges: claim every instant, so no planner skips the file (its
                    // read then reports the problem).
                    for i in f.rowGroups.indices {
                        f.rowGroups[i].minEventTime = .min
                        f.rowGroups[i].maxEventTime = .max
                    }
                }
                if f.firstOffset >= Swift.min(offsets.upperBound, raw0) || out.count >= limit { break }
                for (g, r) in f.rowGroups.enumerated() where r.endOffset > offsets.lowerBound && r.firstOffset < Swift.min(offsets.upperBound, raw0) {
                    if out.count >= limit { return out }
                    // A file whose footer disagreed with the manifest is never skipped by its
                    // (untrusted) ranges: the read reports the problem instead.
                    if let t = eventTime, archiveProblems[f.name] == nil {
                        guard let a = r.minEventTime, let b = r.maxEventTime, a <= t.upperBound, b >= t.lowerBound else { continue }
                    }
                    out.append(.archived(f, g))
                }
                fi += 1
            }
        }
        guard offsets.upperBound > raw0, !segments.isEmpty, out.count < limit else { return out }
        let from = Swift.max(offsets.lowerBound, raw0)
        var si = segmentIndex(containing: from)
        var ei = segments[si].entryIndex(containing: from)
        while si < segments.count {
            let st = segments[si]
            if let t = eventTime, ei == 0 {
                guard let a = st.eventTimeMin, let b = st.eventTimeMax, a <= t.upperBound, b >= t.lowerBound else {
                    if st.segment.baseOffset >= offsets.upperBound { return out }
                    si += 1
                    continue
                }
            }
            while ei < st.entries.count {
                let e = st.entries[ei]
                if e.baseOffset >= offsets.upperBound || out.count >= limit { return out }
                if e.endOffset > from {
                    if let t = eventTime {
                        if let r = e.eventTimeRange, r.overlaps(t) { out.append(.raw(st.segment, e)) }
                    } else {
                        out.append(.raw(st.segment, e))
                    }
                }
                ei += 1
            }
            si += 1
            ei = 0
        }
        return out
    }
}

extension StreamLog {
    /// Up to `limit` published raw batches whose records overlap `offsets`, in offset order.
    func entries(overlapping offsets: Range<Int64>, limit: Int = .max) -> [(Segment, IndexEntry)] {
        shared.withLock { s in
            s.pieces(overlapping: Swift.max(offsets.lowerBound, s.rawStart)..<Swift.max(offsets.upperBound, s.rawStart), limit: limit).compactMap {
                if case .raw(let seg, let e) = $0 { (seg, e) } else { nil }
            }
        }
    }

    /// The batches holding the records at `offsets`, from the indexes and the archive manifest
    /// (no payload is read): raw batches, and below the first raw segment archive row groups
    /// (``BatchInfo/segment`` then names the `.parquet` file and ``BatchInfo/position`` the row
    /// group). Both are read by ``readBatch(_:scratch:keepDictionaries:)``.
    ///
    /// Offsets outside `earliestReplayableOffset..<endOffset` are ignored. The first and last
    /// batch may extend beyond `offsets`.
    /// - Complexity: O(log segments + log batches + k) for k batches returned.
    /// - Throws: never today (kept for index backends that read from disk).
    public func batchInfos(in offsets: Range<Int64>) throws(LambdaStoreError) -> [BatchInfo] {
        shared.withLock { $0.pieces(overlapping: offsets) }.map(\.info)
    }

    /// The batches among `offsets` whose event-time range overlaps `eventTime` (both ends
    /// inclusive), from the time index and the archive manifest's row-group ranges
    /// (format-spec.md §2.5, §8.2): no payload is read. Batches whose event times are all null
    /// never match. A returned batch holds at least one record in the range only as far as its
    /// min/max tell: callers filter records themselves.
    /// - Complexity: O(batches in the segments overlapping `offsets`); segments whose
    ///   event-time range misses `eventTime` are skipped whole.
    public func batchInfos(overlappingEventTime eventTime: ClosedRange<Int64>, in offsets: Range<Int64>) throws(LambdaStoreError) -> [BatchInfo] {
        shared.withLock { $0.pieces(overlapping: offsets, eventTime: eventTime) }.map(\.info)
    }

    /// Reads, checks and decodes one batch, projected onto ``latestSchema``.
    ///
    /// The batch header is checked against `info` and its CRC, the payload against its CRC,
    /// then decompressed and decoded (format-spec.md §2.2–§2.3).
    /// - Throws: `.notFound` when `info` names no stored batch; `.corruption` naming the
    ///   segment and byte offset; `.io`.
    /// - Complexity: O(batch bytes).
    public func readBatch(_ info: BatchInfo) throws(LambdaStoreError) -> ColumnBatch {
        var scratch = ReadScratch()
        return try readBatch(info, scratch: &scratch)
    }

    /// ``readBatch(_:)`` through caller-owned buffers: the form for reading many batches.
    ///
    /// With `keepDictionaries`, string columns stored in dictionary form (format-spec.md
    /// §2.3.1, and dictionary-encoded Parquet chunks) come back dictionary-encoded
    /// (``Column/dictionary``) instead of materialized: for scans whose every consumer handles
    /// that form (filters and view aggregation do).
    ///
    /// A raw batch whose segment retention removed after `info` was taken is read from the
    /// archive copy of the same records.
    ///
    /// With `fields`, a scan that reads only those fields (by name; the event time is always
    /// read) lets archive row groups skip the other columns: they come back as placeholders of
    /// the right type and length holding zeros and empty strings. Raw batches always hold
    /// every field.
    public func readBatch(_ info: BatchInfo, scratch: inout ReadScratch, keepDictionaries: Bool = false, fields: Set<String>? = nil) throws(LambdaStoreError) -> ColumnBatch {
        if info.segment.hasSuffix(".parquet") {
            let f: ArchivedFile? = shared.withLock { s in s.archive.files.first { $0.name == info.segment } }
            guard let f, info.position >= 0, info.position < Int64(f.rowGroups.count),
                  f.rowGroups[Int(info.position)].firstOffset == info.baseOffset else {
                throw LambdaStoreError(.notFound, "no row group \(info.position) at offset \(info.baseOffset) in archive file \(info.segment) of stream '\(name)'")
            }
            return try read(.archived(f, Int(info.position)), scratch: &scratch, keepDictionaries: keepDictionaries, fields: fields)
        }
        let found: HistoryPiece? = shared.withLock { s in
            guard !s.segments.isEmpty, info.baseOffset >= s.rawStart else { return nil }
            let st = s.segments[s.segmentIndex(containing: info.baseOffset)]
            guard st.segment.name == info.segment, !st.entries.isEmpty else { return nil }
            let e = st.entries[st.entryIndex(containing: info.baseOffset)]
            guard e.baseOffset == info.baseOffset, e.position == info.position else { return nil }
            rawReaders.withLock { $0 += 1 }
            return .raw(st.segment, e)
        }
        if let found {
            defer { rawReaders.withLock { $0 -= 1 } }
            return try read(found, scratch: &scratch, keepDictionaries: keepDictionaries)
        }
        // Removed by retention meanwhile: the archive holds the same records.
        let range = info.baseOffset..<(info.baseOffset + Int64(info.count))
        let archived: HistoryPiece? = shared.withLock { s in
            guard let f = s.archive.file(containing: info.baseOffset),
                  let g = f.rowGroups.firstIndex(where: { $0.firstOffset <= range.lowerBound && $0.endOffset >= range.upperBound }) else { return nil }
            return .archived(f, g)
        }
        guard let archived else {
            throw LambdaStoreError(.notFound, "no batch at offset \(info.baseOffset) in \(info.segment) of stream '\(name)'")
        }
        let b = try read(archived, scratch: &scratch, keepDictionaries: keepDictionaries, fields: fields)
        let lo = Int(range.lowerBound - archived.baseOffset)
        return b.slice(lo..<(lo + info.count))
    }

    /// Reads one piece, projected onto the latest schema. Raw pieces must be counted in
    /// `rawReaders` by the caller.
    func read(_ piece: HistoryPiece, scratch: inout ReadScratch, keepDictionaries: Bool, fields: Set<String>? = nil) throws(LambdaStoreError) -> ColumnBatch {
        let history = shared.withLock { $0.history }
        switch piece {
        case .raw(let seg, let e):
            return try decode(seg, e, history: history, scratch: &scratch, keepDictionaries: keepDictionaries)
        case .archived(let f, let g):
            if let problem = shared.withLock({ $0.archiveProblems[f.name] }) { throw problem }
            if let c = scratch.rowGroup, c.file == f.name, c.index == g, c.keep == keepDictionaries, c.version == history.latest.version, c.fields == fields {
                return c.batch
            }
            let reader = try archiveReader(f, history: history)
            let b = try reader.readRowGroup(g, keepDictionaries: keepDictionaries, fields: fields).projected(from: reader.schema, to: history.latest)
            scratch.rowGroup = (f.name, g, keepDictionaries, history.latest.version, fields, b)
            return b
        }
    }

    /// The checked reader of an archive file, from a small cache of whole files.
    func archiveReader(_ f: ArchivedFile, history: SchemaHistory) throws(LambdaStoreError) -> ArchiveFileReader {
        if let r = archiveCache.withLock({ c in c.first { $0.name == f.name }?.reader }), r.file == f { return r }
        guard let schema = history.schema(version: f.schemaVersion) else {
            throw LambdaStoreError.corruption("archive file names schema version \(f.schemaVersion), the history has \(history.latest.version)",
                                              path: "archive/\(name)/\(f.name)", offset: nil)
        }
        let r = try ArchiveFileReader(fs: fs, root: root, stream: name, file: f, schema: schema)
        archiveCache.withLock { c in
            c.removeAll { $0.name == f.name }
            c.append((f.name, r))
            if c.count > 3 { c.removeFirst() }
        }
        return r
    }

    /// Calls `body` with every batch holding records at `offsets`, in offset order, decoded
    /// and projected onto the latest schema: raw batches, and archive row groups for the
    /// history below the first raw segment. Pieces straddling either end of `offsets` are
    /// sliced to it; the ``BatchInfo`` passed then describes the slice (`baseOffset` and
    /// `count` of the records handed over; the other fields those of the stored piece).
    ///
    /// Only pieces published when each chunk of the scan starts are visited, so a reader
    /// running during appends sees a consistent prefix. Batches are projected onto the latest
    /// schema as of their chunk (256 pieces): a schema evolution during a long scan shows up
    /// from the next chunk on. Safe to call concurrently from several
    /// threads (on disjoint or overlapping ranges), with the writer and with retention.
    ///
    /// With `keepDictionaries`, dictionary-coded string columns are handed over in that form
    /// (see ``readBatch(_:scratch:keepDictionaries:)``).
    /// - Throws: `.corruption` naming the file and byte offset; whatever `body` throws.
    /// - Complexity: O(bytes read).
    public func forEachBatch(in offsets: Range<Int64>, keepDictionaries: Bool = false, _ body: (BatchInfo, ColumnBatch) throws(LambdaStoreError) -> Void) throws(LambdaStoreError) {
        var scratch = ReadScratch()
        var cursor = offsets.lowerBound
        while cursor < offsets.upperBound {
            // Counted as a raw reader for the whole chunk: retention unlinks no segment of it.
            let chunk = shared.withLock { s in
                let c = s.pieces(overlapping: cursor..<offsets.upperBound, limit: 256)
                rawReaders.withLock { $0 += 1 }
                return c
            }
            defer { rawReaders.withLock { $0 -= 1 } }
            if chunk.isEmpty { return }
            for piece in chunk {
                var batch = try read(piece, scratch: &scratch, keepDictionaries: keepDictionaries)
                var info = piece.info
                let lo = Swift.max(cursor, piece.baseOffset), hi = Swift.min(offsets.upperBound, piece.endOffset)
                guard lo < hi else { continue }
                if lo != piece.baseOffset || hi != piece.endOffset {
                    batch = batch.slice(Int(lo - piece.baseOffset)..<Int(hi - piece.baseOffset))
                    info.baseOffset = lo
                    info.count = Int(hi - lo)
                }
                try body(info, batch)
                cursor = hi
            }
        }
    }

    /// Calls `body` with every batch among `offsets` whose event-time range overlaps
    /// `eventTime` (see ``batchInfos(overlappingEventTime:in:)``), whole (not sliced), in
    /// offset order. Records are not filtered by event time.
    /// - Throws: `.corruption`; whatever `body` throws.
    /// - Complexity: O(batches in range) index work plus the bytes of the matching batches.
    public func forEachBatch(overlappingEventTime eventTime: ClosedRange<Int64>, in offsets: Range<Int64>,
                             _ body: (BatchInfo, ColumnBatch) throws(LambdaStoreError) -> Void) throws(LambdaStoreError) {
        var scratch = ReadScratch()
        for info in try batchInfos(overlappingEventTime: eventTime, in: offsets) {
            try body(info, try readBatch(info, scratch: &scratch))
        }
    }

    /// pread, check, decompress, decode, project.
    func decode(_ seg: Segment, _ e: IndexEntry, history: SchemaHistory, scratch: inout ReadScratch, keepDictionaries: Bool = false) throws(LambdaStoreError) -> ColumnBatch {
        guard let schema = history.schema(version: e.schemaVersion) else {
            throw .corruption("batch names schema version \(e.schemaVersion), the history has \(history.latest.version)", path: seg.relPath, offset: e.position + 20)
        }
        return try Self.decodeStored(seg, e, schema: schema, scratch: &scratch, keepDictionaries: keepDictionaries).projected(from: schema, to: history.latest)
    }

    /// pread, check against the entry and both CRCs, decompress, decode (no projection).
    static func decodeStored(_ seg: Segment, _ e: IndexEntry, schema: Schema, scratch: inout ReadScratch, keepDictionaries: Bool = false) throws(LambdaStoreError) -> ColumnBatch {
        let hs = LogFormat.batchHeaderSize
        let total = hs + e.storedLength
        if scratch.raw.count < total { scratch.raw = [UInt8](repeating: 0, count: total) }
        var done = 0
        while done < total {
            let n = try typed { try scratch.raw.withUnsafeMutableBytes { b in
                try seg.handle.read(into: UnsafeMutableRawBufferPointer(rebasing: b[done..<total]), at: e.position + Int64(done))
            } }
            if n == 0 { break }
            done += n
        }
        guard done == total else {
            throw .corruption("batch at offset \(e.baseOffset) is cut short: \(done) of \(total) bytes", path: seg.relPath, offset: e.position)
        }
        let plainCount = e.uncompressedLength
        if e.codec != .none, scratch.plain.count < plainCount { scratch.plain = [UInt8](repeating: 0, count: plainCount) }
        let batch: ColumnBatch
        do throws(LambdaStoreError) { batch = try typed { try scratch.raw.withUnsafeBytes { raw throws(LambdaStoreError) -> ColumnBatch in
            let header = try BatchHeader(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<hs]), at: e.position)
            guard e.matches(header, at: e.position) else {
                throw .corruption("batch header does not match its index entry (offset \(header.baseOffset), \(header.recordCount) records)", path: nil, offset: e.position)
            }
            let stored = UnsafeRawBufferPointer(rebasing: raw[hs..<total])
            let crc = CRC32C.checksum(stored)
            guard crc == header.payloadCRC else {
                throw .checksumMismatch(stored: header.payloadCRC, computed: crc, what: "batch payload", path: nil, offset: e.position)
            }
            do throws(LambdaStoreError) {
                let dictionaries = seg.dictionaries(keep: keepDictionaries)
                let decoded: ColumnBatch
                if header.codec == .none {
                    decoded = try ColumnBatch(decodingPayload: stored, schema: schema, dictionaries: dictionaries)
                } else {
                    decoded = try typed { try scratch.plain.withUnsafeMutableBytes { p throws(LambdaStoreError) -> ColumnBatch in
                        let out = UnsafeMutableRawBufferPointer(rebasing: p[0..<plainCount])
                        try header.codec.decompress(stored, into: out)
                        return try ColumnBatch(decodingPayload: UnsafeRawBufferPointer(out), schema: schema, dictionaries: dictionaries)
                    } }
                }
                // The header's claims are what the offsets and the time index rely on: a header
                // that lies about them (under a valid CRC) is corruption, never a wrong answer.
                guard decoded.count == header.recordCount, decoded.columns.allSatisfy({ $0.count == header.recordCount }) else {
                    throw LambdaStoreError(.corruption, "the header claims \(header.recordCount) records, the payload holds \(decoded.count)")
                }
                let times = decoded.range(ofColumn: schema.eventTimeIndex).map { $0.min...$0.max }
                guard times == header.eventTimeRange else {
                    throw LambdaStoreError(.corruption, "the header's event-time range \(header.eventTimeRange.map { "\($0)" } ?? "none") differs from the payload's \(times.map { "\($0)" } ?? "none")")
                }
                return decoded
            } catch {
                throw .corruption("payload of the batch at offset \(e.baseOffset): \(error.message)", path: nil, offset: e.position)
            }
        } } } catch {
            throw error.at(path: seg.relPath)
        }
        return batch
    }
}
