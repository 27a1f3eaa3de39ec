import LambdaStoreCore

extension StreamLog {
    /// Creates a new stream directory with `schema` as version 1 (format-spec.md §2.1): the
    /// directory, the schema history written atomically, then the `streams/` entry synced.
    static func create(root: String, schema: Schema, fs: any FileSystem, options: LogOptions, pool: SegmentFilePool) throws(LambdaStoreError) -> StreamLog {
        let relDir = "streams/" + schema.stream
        let dir = Path.join(root, relDir)
        try fs.createDirectory(dir)
        let history = SchemaHistory(first: schema)
        try fs.writeFileAtomically(Path.join(dir, LogFormat.schemaFileName), history.encoded())
        try fs.syncDirectory(Path.join(root, "streams"))
        return StreamLog(name: schema.stream, dir: dir, relDir: relDir, fs: fs, options: options, history: history, segments: [], index: nil, pool: pool)
    }

    /// Opens an existing stream directory and recovers it (format-spec.md §2.6).
    ///
    /// Sealed segments: file header checked, batches taken from the index pair when it is
    /// intact and covers the whole file, else rebuilt by a full scan. The active (last)
    /// segment: scanned in full with every CRC checked; an incomplete last batch or trailing
    /// zeros are cut off and reported; its index pair is rewritten if it differs.
    /// - Returns: the stream, and a report when anything was cut or rebuilt.
    /// - Throws: `.corruption` naming the file and byte offset; `.notFound` when there is no
    ///   schema history; `.io`.
    static func open(root: String, name: String, fs: any FileSystem, options: LogOptions, pool: SegmentFilePool) throws(LambdaStoreError) -> (StreamLog, RecoveryReport?) {
        let relDir = "streams/" + name
        let dir = Path.join(root, relDir)
        var names = try fs.list(dir)
        if !options.readOnly {
            for n in names where n.hasSuffix(".tmp") { try fs.remove(Path.join(dir, n)) }   // an interrupted atomic write
            names = names.filter { !$0.hasSuffix(".tmp") }
        }
        let history: SchemaHistory
        do throws(LambdaStoreError) {
            history = try SchemaHistory(decoding: try fs.readFile(Path.join(dir, LogFormat.schemaFileName), limit: Limits.metadataBytesMax))
        } catch {
            throw error.at(path: relDir + "/" + LogFormat.schemaFileName)
        }
        guard history.latest.stream == name else {
            throw .corruption("schema history is for stream '\(history.latest.stream)'", path: relDir + "/" + LogFormat.schemaFileName, offset: 8)
        }
        var bases = names.compactMap { LogFormat.baseOffset(fromFileName: $0, suffix: LogFormat.segmentSuffix) }.sorted()
        // The archive (format-spec.md §8): history below the first raw segment lives there.
        let archive = try ArchiveManifest.load(fs: fs, root: root, stream: name)
        if let a = archive {
            // Raw segments wholly below the earliest replayable offset were dropped with their
            // history (a crash cut the drop short): finish it.
            let e = a.earliestReplayableOffset
            while bases.count > 1, bases[1] <= e {
                let stem = Path.join(dir, LogFormat.fileStem(baseOffset: bases[0]))
                if !options.readOnly {
                    for suffix in [LogFormat.indexSuffix, LogFormat.timeIndexSuffix, LogFormat.segmentSuffix] where fs.exists(stem + suffix) {
                        try fs.remove(stem + suffix)
                    }
                }
                bases.removeFirst()
            }
            if let b = bases.first {
                let boundary = b == a.endOffset || a.files.contains { f in f.rowGroups.contains { $0.firstOffset == b } }
                guard b >= e, b <= a.endOffset, boundary || b == e else {
                    throw .corruption("history gap: the archive holds offsets \(e)..<\(a.endOffset) but the first raw segment starts at \(b)",
                                      path: relDir + "/" + LogFormat.fileStem(baseOffset: b) + LogFormat.segmentSuffix, offset: 0)
                }
            }
        } else if let b = bases.first, b != 0 {
            throw .corruption("history gap: the first segment starts at offset \(b) and there is no archive holding the offsets below it",
                              path: relDir + "/" + LogFormat.fileStem(baseOffset: b) + LogFormat.segmentSuffix, offset: 0)
        }
        var report = RecoveryReport(stream: name)
        var segments: [SegmentState] = []
        var appender: IndexAppender?
        for (i, base) in bases.enumerated() {
            let isActive = i == bases.count - 1
            let file = LogFormat.fileStem(baseOffset: base) + LogFormat.segmentSuffix
            let rel = relDir + "/" + file
            if let prev = segments.last, prev.endOffset != base {
                throw .corruption("offset gap: \(prev.segment.name) ends at offset \(prev.endOffset), this segment starts at \(base)", path: rel, offset: 0)
            }
            let opener = SegmentOpener(fs: fs, options: options, path: Path.join(dir, file), rel: rel, name: file, base: base,
                                       maxSchemaVersion: history.latest.version, pool: pool)
            let st = isActive ? try opener.openActive(report: &report, appender: &appender) : try opener.openSealed(report: &report)
            segments.append(st)
        }
        // Recovery never goes backwards silently: the checkpoint proves how much was durable.
        let end = Swift.max(segments.last?.endOffset ?? 0, archive?.endOffset ?? 0)
        let checkpoint = try LogCheckpoint.load(fs: fs, directory: dir, relDir: relDir)
        if let c = checkpoint, c.durableEnd > end {
            let at = segments.last.map { ($0.segment.relPath, $0.size) } ?? (relDir, Int64(0))
            let message = "the log ends at offset \(end) (\(at.0) @ \(at.1)) but \(relDir)/\(LogCheckpoint.fileName) records \(c.durableEnd) durable events: acknowledged history is missing"
            if !options.readOnly {
                throw LambdaStoreError(.corruption, message + "; refusing to open for writing (`lambdastore repair` accepts the loss and moves any damage aside)", path: at.0, offset: at.1)
            }
            report.file = report.file ?? at.0
            report.reason = message
        }
        var archiveProblems: [String: LambdaStoreError] = [:]
        for f in archive?.files ?? [] {
            guard let schema = history.schema(version: f.schemaVersion) else {
                throw .corruption("archive file \(f.name) names schema version \(f.schemaVersion), the history has \(history.latest.version)",
                                  path: "archive/\(name)/\(ArchiveManifest.fileName)", offset: nil)
            }
            // The manifest's ranges plan runs without reading what they skip: they must be
            // the file's own (one tail read per file). A file that fails is not trusted: runs
            // never skip it by its ranges, and every read of it fails with this error (the
            // store still opens: appends, queries and other history work).
            do throws(LambdaStoreError) {
                try f.checkFooter(fs: fs, root: root, stream: name, schema: schema)
            } catch {
                archiveProblems[f.name] = error
            }
        }
        let log = StreamLog(name: name, dir: dir, relDir: relDir, fs: fs, options: options, history: history, segments: segments, index: appender,
                            pool: pool, checkpoint: checkpoint?.durableEnd ?? 0, archive: archive, archiveProblems: archiveProblems)
        // Everything up to the recovered end was fsynced by the active segment's recovery.
        if !options.readOnly, !segments.isEmpty { try log.recordCheckpoint(durableEnd: end) }
        let changed = report.file != nil || !report.rebuiltIndexes.isEmpty
        return (log, changed ? report : nil)
    }
}

/// Opens one segment file during recovery.
struct SegmentOpener {
    let fs: any FileSystem
    let options: LogOptions
    let path: String
    let rel: String
    let name: String
    let base: Int64
    let maxSchemaVersion: UInt32
    let pool: SegmentFilePool

    var indexNames: [String] {
        let stem = String(rel.dropLast(LogFormat.segmentSuffix.count))
        return [stem + LogFormat.indexSuffix, stem + LogFormat.timeIndexSuffix]
    }

    func checkVersions(_ entries: [IndexEntry]) throws(LambdaStoreError) {
        for e in entries where e.schemaVersion > maxSchemaVersion {
            throw .corruption("batch at offset \(e.baseOffset) names schema version \(e.schemaVersion), the history has \(maxSchemaVersion)", path: rel, offset: e.position + 20)
        }
    }

    func readHeader(_ h: any FileHandle) throws(LambdaStoreError) -> SegmentFileHeader {
        let bytes = try h.read(count: LogFormat.segmentHeaderSize, at: 0)
        let header: SegmentFileHeader
        do throws(LambdaStoreError) {
            header = try typed { try bytes.withUnsafeBytes { b throws(LambdaStoreError) in try SegmentFileHeader(decoding: b) } }
        } catch {
            throw error.at(path: rel, offset: 0)
        }
        guard header.baseOffset == base else {
            throw .corruption("segment header names base offset \(header.baseOffset), the file name \(base)", path: rel, offset: 8)
        }
        return header
    }

    /// A sealed segment: header, then the index pair if it is intact and covers the file.
    func openSealed(report: inout RecoveryReport) throws(LambdaStoreError) -> SegmentState {
        // Through the pool: a store may hold more sealed segments than descriptors.
        let h = PooledSegmentFile(path: path, pool: pool)
        let size = try h.size()
        let header = try readHeader(h)
        let seg = Segment(baseOffset: base, name: name, path: path, relPath: rel, handle: h, createdAt: header.createdAtMillis, formatVersion: header.formatVersion)
        if !options.verifyOnOpen {
            let loaded = IndexFiles.load(fs: fs, segmentPath: path, relSegment: rel, segmentBase: base, segmentSize: size)
            let (n, problem) = IndexFiles.consistentPrefix(loaded.entries, segmentBase: base, validEnd: size)
            let end = loaded.entries.last?.endPosition ?? Int64(LogFormat.segmentHeaderSize)
            if loaded.isIntact, problem == nil, n == loaded.entries.count, end == size, try headersAgree(loaded.entries, h) {
                try checkVersions(loaded.entries)
                return SegmentState(segment: seg, entries: loaded.entries, size: size)
            }
        }
        var scanner = try SegmentScanner(handle: h, path: rel, checkPayloads: true)
        let (entries, validEnd, tail) = try scanner.scanAll()
        guard tail == .clean else {
            throw .corruption("sealed segment ends with \(tail.reason ?? "a tail")", path: rel, offset: validEnd)
        }
        try checkVersions(entries)
        let loaded = IndexFiles.load(fs: fs, segmentPath: path, relSegment: rel, segmentBase: base, segmentSize: size)
        if !(loaded.isIntact && loaded.entries == entries) {
            if !options.readOnly { try IndexFiles.write(fs: fs, segmentPath: path, entries: entries, segmentBase: base) }
            report.rebuiltIndexes += indexNames
        }
        return SegmentState(segment: seg, entries: entries, size: validEnd)
    }

    /// Whether every index entry equals its batch header (offsets, counts, lengths, schema
    /// version, codec, event-time range): the index files are derived data under their own
    /// CRCs, and runs plan their reads by them without reading the batches they skip, so a
    /// forged entry (a time range that misses its batch) must not be trusted. One 56-byte read
    /// per batch; a disagreement rebuilds the index pair from a full scan.
    func headersAgree(_ entries: [IndexEntry], _ h: any FileHandle) throws(LambdaStoreError) -> Bool {
        var buf = [UInt8](repeating: 0, count: LogFormat.batchHeaderSize)
        for e in entries {
            let n = try typed { try buf.withUnsafeMutableBytes { try h.read(into: $0, at: e.position) } }
            guard n == LogFormat.batchHeaderSize else { return false }
            let header: BatchHeader
            do throws(LambdaStoreError) {
                header = try typed { try buf.withUnsafeBytes { b throws(LambdaStoreError) in try BatchHeader(decoding: b, at: e.position) } }
            } catch {
                return false
            }
            guard e.matches(header, at: e.position) else { return false }
        }
        return true
    }

    /// The active segment: full scan, tail cut, index pair reconciled.
    func openActive(report: inout RecoveryReport, appender: inout IndexAppender?) throws(LambdaStoreError) -> SegmentState {
        let h = try fs.open(path, mode: options.readOnly ? .read : .readWrite)
        var size = try h.size()
        // A file header cut short (or never written: zeros) means the crash hit a roll.
        let head = try h.read(count: LogFormat.segmentHeaderSize, at: 0)
        var window = FileWindow(handle: h, fileSize: size)
        let allZero = try window.isZero(from: 0)
        var magic = LogFormat.segmentMagic.littleEndian
        let magicPrefix = withUnsafeBytes(of: &magic) { m in head.prefix(4).elementsEqual(m.prefix(min(4, head.count))) }
        if head.count < LogFormat.segmentHeaderSize && !allZero && !magicPrefix {
            throw .corruption("\(size) unrecognized bytes where the segment header should be", path: rel, offset: 0)
        }
        if head.count < LogFormat.segmentHeaderSize || allZero {
            report.file = rel
            report.bytesTruncated = size
            report.reason = "incomplete segment file header (\(size) bytes)"
            let created = options.clock()
            if !options.readOnly {
                var w = ByteWriter(capacity: LogFormat.segmentHeaderSize)
                SegmentFileHeader(baseOffset: base, createdAtMillis: created).encode(into: &w)
                try h.truncate(to: 0)
                try h.write(w.bytes, at: 0)
                try h.sync()
                try IndexFiles.write(fs: fs, segmentPath: path, entries: [], segmentBase: base)
                appender = try IndexAppender.open(fs: fs, segmentPath: path, entryCount: 0)
            }
            let seg = Segment(baseOffset: base, name: name, path: path, relPath: rel, handle: h, createdAt: created, formatVersion: LogFormat.segmentFormatVersion)
            return SegmentState(segment: seg, entries: [], size: Int64(LogFormat.segmentHeaderSize))
        }
        var scanner = try SegmentScanner(handle: h, path: rel, checkPayloads: true)
        let (entries, validEnd, tail) = try scanner.scanAll()
        try checkVersions(entries)
        if tail != .clean {
            report.file = rel
            report.bytesTruncated = tail.bytes
            report.reason = tail.reason
            if !options.readOnly {
                try h.truncate(to: validEnd)
            }
        }
        // Everything before the valid end is made durable now: it may still sit in the page
        // cache from before a process crash, and later `sync` acknowledgements rely on it.
        if !options.readOnly { try h.sync() }
        size = validEnd
        let loaded = IndexFiles.load(fs: fs, segmentPath: path, relSegment: rel, segmentBase: base, segmentSize: try h.size())
        if !(loaded.isIntact && loaded.entries == entries) {
            // Lagging or running ahead after a crash is expected; anything else is damage.
            let k = min(loaded.entries.count, entries.count)
            let agrees = loaded.entries[0..<k] == entries[0..<k]
            if !loaded.isIntact || !agrees { report.rebuiltIndexes += indexNames }
            if !options.readOnly { try IndexFiles.write(fs: fs, segmentPath: path, entries: entries, segmentBase: base) }
        }
        if !options.readOnly { appender = try IndexAppender.open(fs: fs, segmentPath: path, entryCount: entries.count) }
        let seg = Segment(baseOffset: base, name: name, path: path, relPath: rel, handle: h, createdAt: scanner.header.createdAtMillis, formatVersion: scanner.header.formatVersion)
        return SegmentState(segment: seg, entries: entries, size: size)
    }
}
