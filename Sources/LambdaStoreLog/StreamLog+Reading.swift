import LambdaStoreCore

/// Read buffers reused from one batch read to the next (the stored bytes and the decompressed
/// payload): one per reading loop, so a scan allocates per batch only the columns it hands out.
public struct ReadScratch: Sendable {
    var raw: [UInt8] = []
    var plain: [UInt8] = []
    /// Empty buffers; they grow to the largest batch read through them.
    public init() {}
}

extension StreamLog {
    /// Up to `limit` published batches whose records overlap `offsets`, in offset order.
    func entries(overlapping offsets: Range<Int64>, limit: Int = .max) -> [(Segment, IndexEntry)] {
        shared.withLock { s in
            var out: [(Segment, IndexEntry)] = []
            guard !offsets.isEmpty, !s.segments.isEmpty, offsets.lowerBound < s.endOffset else { return out }
            var si = s.segmentIndex(containing: offsets.lowerBound)
            var ei = s.segments[si].entryIndex(containing: offsets.lowerBound)
            while si < s.segments.count {
                let st = s.segments[si]
                while ei < st.entries.count {
                    let e = st.entries[ei]
                    if e.baseOffset >= offsets.upperBound || out.count >= limit { return out }
                    if e.endOffset > offsets.lowerBound { out.append((st.segment, e)) }
                    ei += 1
                }
                si += 1
                ei = 0
            }
            return out
        }
    }

    /// The batches holding the records at `offsets`, from the indexes (no payload is read).
    ///
    /// Offsets outside `startOffset..<endOffset` are ignored. The first and last batch may
    /// extend beyond `offsets`.
    /// - Complexity: O(log segments + log batches + k) for k batches returned.
    /// - Throws: never today (kept for index backends that read from disk).
    public func batchInfos(in offsets: Range<Int64>) throws(LambdaStoreError) -> [BatchInfo] {
        entries(overlapping: offsets).map { BatchInfo($0.1, segment: $0.0.name) }
    }

    /// The batches among `offsets` whose event-time range overlaps `eventTime` (both ends
    /// inclusive), from the time index (format-spec.md §2.5): no payload is read. Batches
    /// whose event times are all null never match. A returned batch holds at least one record
    /// in the range only as far as its min/max tell: callers filter records themselves.
    /// - Complexity: O(batches in the segments overlapping `offsets`); segments whose
    ///   event-time range misses `eventTime` are skipped whole.
    public func batchInfos(overlappingEventTime eventTime: ClosedRange<Int64>, in offsets: Range<Int64>) throws(LambdaStoreError) -> [BatchInfo] {
        shared.withLock { s in
            var out: [BatchInfo] = []
            guard !offsets.isEmpty, !s.segments.isEmpty else { return out }
            for si in s.segmentIndex(containing: offsets.lowerBound)..<s.segments.count {
                let st = s.segments[si]
                if st.segment.baseOffset >= offsets.upperBound { break }
                guard let lo = st.eventTimeMin, let hi = st.eventTimeMax, lo <= eventTime.upperBound, hi >= eventTime.lowerBound else { continue }
                for e in st.entries where e.endOffset > offsets.lowerBound && e.baseOffset < offsets.upperBound {
                    if let r = e.eventTimeRange, r.overlaps(eventTime) { out.append(BatchInfo(e, segment: st.segment.name)) }
                }
            }
            return out
        }
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
    /// §2.3.1) come back dictionary-encoded (``Column/dictionary``) instead of materialized: for
    /// scans whose every consumer handles that form (filters and view aggregation do).
    public func readBatch(_ info: BatchInfo, scratch: inout ReadScratch, keepDictionaries: Bool = false) throws(LambdaStoreError) -> ColumnBatch {
        let found: (Segment, IndexEntry, SchemaHistory)? = shared.withLock { s in
            guard !s.segments.isEmpty else { return nil }
            let st = s.segments[s.segmentIndex(containing: info.baseOffset)]
            guard st.segment.name == info.segment, !st.entries.isEmpty else { return nil }
            let e = st.entries[st.entryIndex(containing: info.baseOffset)]
            guard e.baseOffset == info.baseOffset, e.position == info.position else { return nil }
            return (st.segment, e, s.history)
        }
        guard let (seg, entry, history) = found else {
            throw LambdaStoreError(.notFound, "no batch at offset \(info.baseOffset) in \(info.segment) of stream '\(name)'")
        }
        return try decode(seg, entry, history: history, scratch: &scratch, keepDictionaries: keepDictionaries)
    }

    /// Calls `body` with every batch holding records at `offsets`, in offset order, decoded
    /// and projected onto the latest schema. Batches straddling either end of `offsets` are
    /// sliced to it; the ``BatchInfo`` passed then describes the slice (`baseOffset` and
    /// `count` of the records handed over; the other fields those of the stored batch).
    ///
    /// Only batches published when each chunk of the scan starts are visited, so a reader
    /// running during appends sees a consistent prefix. Batches are projected onto the latest
    /// schema as of their chunk (256 batches): a schema evolution during a long scan shows up
    /// from the next chunk on. Safe to call concurrently from several
    /// threads (on disjoint or overlapping ranges) and with the writer.
    ///
    /// With `keepDictionaries`, dictionary-coded string columns are handed over in that form
    /// (see ``readBatch(_:scratch:keepDictionaries:)``).
    /// - Throws: `.corruption` naming the segment and byte offset; whatever `body` throws.
    /// - Complexity: O(bytes read).
    public func forEachBatch(in offsets: Range<Int64>, keepDictionaries: Bool = false, _ body: (BatchInfo, ColumnBatch) throws(LambdaStoreError) -> Void) throws(LambdaStoreError) {
        var scratch = ReadScratch()
        var cursor = offsets.lowerBound
        while cursor < offsets.upperBound {
            let chunk = entries(overlapping: cursor..<offsets.upperBound, limit: 256)
            // Read after the chunk: the history only grows, so it knows every version named.
            let history = shared.withLock { $0.history }
            if chunk.isEmpty { return }
            for (seg, e) in chunk {
                var batch = try decode(seg, e, history: history, scratch: &scratch, keepDictionaries: keepDictionaries)
                var info = BatchInfo(e, segment: seg.name)
                let lo = Swift.max(offsets.lowerBound, e.baseOffset), hi = Swift.min(offsets.upperBound, e.endOffset)
                if lo != e.baseOffset || hi != e.endOffset {
                    batch = batch.slice(Int(lo - e.baseOffset)..<Int(hi - e.baseOffset))
                    info.baseOffset = lo
                    info.count = Int(hi - lo)
                }
                try body(info, batch)
                cursor = e.endOffset
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
        let infos = try batchInfos(overlappingEventTime: eventTime, in: offsets)
        let history = shared.withLock { $0.history }   // read after the infos: knows their versions
        for info in infos {
            guard let (seg, e) = entries(overlapping: info.offsets, limit: 1).first else { continue }
            try body(info, try decode(seg, e, history: history, scratch: &scratch))
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
