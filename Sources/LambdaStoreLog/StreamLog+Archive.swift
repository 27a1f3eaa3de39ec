import LambdaStoreCore
import LambdaStoreParquet

/// A sealed segment as the lifecycle manager sees it.
public struct SealedSegment: Sendable, Equatable {
    /// The file name.
    public var name: String
    /// Offset of its first record.
    public var baseOffset: Int64
    /// One past its last record.
    public var endOffset: Int64
    /// File size.
    public var bytes: Int64
    /// An upper bound of its newest append: the creation time of the segment after it, epoch ms.
    public var newestAppendMillis: Int64
    /// Whether the archive manifest lists every record of it.
    public var isArchived: Bool
}

extension StreamLog {
    /// `<root>/archive/<stream>`.
    var archiveDir: String { Path.join(root, "archive", name) }

    /// The sealed segments (every raw segment but the active one), oldest first.
    public func sealedSegments() -> [SealedSegment] {
        shared.withLock { s in
            guard s.segments.count > 1 else { return [] }
            let archivedEnd = s.archive.endOffset
            return (0..<(s.segments.count - 1)).map { i in
                let st = s.segments[i]
                return SealedSegment(name: st.segment.name, baseOffset: st.segment.baseOffset, endOffset: st.endOffset, bytes: st.size,
                                     newestAppendMillis: s.segments[i + 1].segment.createdAt,
                                     isArchived: st.endOffset <= archivedEnd && st.segment.baseOffset >= s.archive.earliestReplayableOffset)
            }
        }
    }

    /// Bytes of the raw segments (with their index files counted as the segment's size only).
    public var rawBytes: Int64 { shared.withLock { s in s.segments.reduce(0) { $0 + $1.size } } }

    /// Copies the sealed segment at `base` into new archive files (one per run of batches of
    /// one schema version; row groups end at batch boundaries), each written to a temp file,
    /// fsynced and renamed, the directory fsynced; then reads every row group back and checks
    /// it. The files are not part of the archive until ``publishArchive(adding:now:)`` lists them.
    /// - Returns: the manifest entries of the files.
    /// - Throws: `.notFound` when no sealed segment starts at `base` or it is not next in line
    ///   (the archive must stay contiguous); `.corruption` from reading the segment; `.io`.
    public func writeArchiveFiles(segmentBase base: Int64, now: Int64, rowGroupRows: Int = 1 << 18,
                                  zstdLevel: Int32 = 3) throws(LambdaStoreError) -> [ArchivedFile] {
        guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
        let found: (SegmentState, Int64, SchemaHistory, Int64)? = shared.withLock { s in
            guard let i = s.segments.firstIndex(where: { $0.segment.baseOffset == base }), i + 1 < s.segments.count else { return nil }
            return (s.segments[i], s.segments[i + 1].segment.createdAt, s.history, s.archive.endOffset)
        }
        guard let (st, newest, history, archivedEnd) = found else {
            throw LambdaStoreError(.notFound, "stream '\(name)' has no sealed segment at offset \(base)")
        }
        guard archivedEnd == base else {
            throw LambdaStoreError(.precondition, "stream '\(name)': the archive ends at offset \(archivedEnd), segment \(st.segment.name) starts at \(base)")
        }
        try createArchiveDirectory()
        rawReaders.withLock { $0 += 1 }
        defer { rawReaders.withLock { $0 -= 1 } }
        var out: [ArchivedFile] = []
        var scratch = ReadScratch()
        var i = 0
        let entries = st.entries
        while i < entries.count {
            let version = entries[i].schemaVersion
            guard let schema = history.schema(version: version) else {
                throw .corruption("batch at offset \(entries[i].baseOffset) names schema version \(version), the history has \(history.latest.version)",
                                  path: st.segment.relPath, offset: entries[i].position)
            }
            var opts = ParquetWriterOptions()
            opts.rowGroupRows = ParquetLimits.rowGroupRowsMax   // row groups end at batch boundaries, below
            opts.zstdLevel = zstdLevel
            let first = entries[i].baseOffset
            var j = i
            var count: Int64 = 0
            while j < entries.count, entries[j].schemaVersion == version { count += Int64(entries[j].recordCount); j += 1 }
            var writer = try ParquetFileWriter(schema: schema, keyValueMetadata: [
                (ArchiveMetadataKey.stream, name), (ArchiveMetadataKey.schemaVersion, String(version)),
                (ArchiveMetadataKey.baseOffset, String(first)), (ArchiveMetadataKey.recordCount, String(count)),
                (ArchiveMetadataKey.eventTime, schema.eventTime),
            ], options: opts)
            var groups: [ArchiveRowGroup] = []
            var groupStart = first, groupRows = 0
            var groupMin: Int64? = nil, groupMax: Int64? = nil
            func closeGroup() throws(LambdaStoreError) {
                guard groupRows > 0 else { return }
                try writer.flushRowGroup()
                groups.append(ArchiveRowGroup(firstOffset: groupStart, rows: groupRows, minEventTime: groupMin, maxEventTime: groupMax, bytes: 0))
                groupStart += Int64(groupRows)
                groupRows = 0
                groupMin = nil
                groupMax = nil
            }
            for k in i..<j {
                let e = entries[k]
                let batch = try Self.decodeStored(st.segment, e, schema: schema, scratch: &scratch, keepDictionaries: true)
                try writer.append(batch, offsets: Array(e.baseOffset..<e.endOffset))
                if let r = batch.range(ofColumn: schema.eventTimeIndex) {
                    groupMin = Swift.min(groupMin ?? r.min, r.min)
                    groupMax = Swift.max(groupMax ?? r.max, r.max)
                }
                groupRows += e.recordCount
                if groupRows >= rowGroupRows { try closeGroup() }
            }
            try closeGroup()
            let bytes = try writer.finish()
            let fileName = ArchivedFile.fileName(firstOffset: first)
            let rel = "archive/\(name)/\(fileName)"
            // The row groups' sizes as the footer records them (the read-back below checks the
            // file on disk against this entry: footer, sizes, rows, offsets).
            let sizes = writer.rowGroupCompressedBytes
            guard sizes.count == groups.count else {
                throw LambdaStoreError(.precondition, "archive writer produced \(sizes.count) row groups, expected \(groups.count)", path: rel)
            }
            for g in groups.indices { groups[g].bytes = sizes[g] }
            let entry = ArchivedFile(name: fileName, schemaVersion: version, segment: base, bytes: Int64(bytes.count),
                                     crc32c: bytes.withUnsafeBytes { CRC32C.checksum($0) }, newestAppendMillis: newest,
                                     archivedAtMillis: now, rowGroups: groups)
            // Temp file, fsync, rename, fsync the directory.
            try fs.writeFileAtomically(Path.join(archiveDir, fileName), bytes)
            // Read back through the same checks as every later read.
            let reader = try ArchiveFileReader(fs: fs, root: root, stream: name, file: entry, schema: schema)
            for g in groups.indices { _ = try reader.readRowGroup(g, keepDictionaries: true) }
            out.append(entry)
            i = j
        }
        try fs.syncDirectory(archiveDir)
        return out
    }

    /// Creates `archive/<stream>/` and makes both directory entries durable (fsync of the store
    /// root and of `archive/`): the archive's files are only as durable as the directories
    /// holding them, and raw segments are deleted once the manifest lists their records.
    func createArchiveDirectory() throws(LambdaStoreError) {
        let parent = Path.join(root, "archive")
        try fs.createDirectory(parent)
        try fs.createDirectory(archiveDir)
        try fs.syncDirectory(root)
        try fs.syncDirectory(parent)
    }

    /// Publishes an archive manifest listing `files` after the current ones (write-temp, fsync,
    /// rename, fsync directory): from then on the archive holds their records.
    /// - Throws: `.precondition` when they do not continue the archive; `.io`.
    public func publishArchive(adding files: [ArchivedFile]) throws(LambdaStoreError) {
        guard !files.isEmpty else { return }
        try archiveMutation { m throws(LambdaStoreError) in
            var expected = m.endOffset
            for f in files {
                guard f.firstOffset == expected else {
                    throw LambdaStoreError(.precondition, "archive file \(f.name) starts at \(f.firstOffset), the archive ends at \(expected)")
                }
                expected = f.endOffset
            }
            m.files += files
        }
    }

    /// Writes a changed manifest, then installs it: archive changes take turns under their own
    /// lock (appends never wait for them), the new state is swapped in under the shared lock.
    func archiveMutation(_ change: (inout ArchiveManifest) throws(LambdaStoreError) -> Void) throws(LambdaStoreError) {
        try archiveWrites.withLock { _ throws(LambdaStoreError) in
            var m = shared.withLock { $0.archive }
            try change(&m)
            m.generation &+= 1
            try fs.createDirectory(Path.join(root, "archive"))
            try fs.createDirectory(archiveDir)
            try fs.writeFileAtomically(Path.join(archiveDir, ArchiveManifest.fileName), m.encoded())
            let installed = m
            shared.withLock { $0.archive = installed }
        }
    }

    /// Removes archived raw segments: first from what readers see (so new reads of their
    /// offsets go to the archive), then — once no raw read that could hold them is in flight —
    /// their index files and the segment files. Never the active segment, never a segment the
    /// archive does not hold.
    /// - Returns: the segments whose files were removed, and their bytes. Segments still being
    ///   read after `waitMillis` (nil: 10 s) stay on disk, listed in ``pendingSegmentRemovals``; every
    ///   later call (with any `bases`, empty included) removes them first.
    public func removeArchivedSegments(_ bases: Set<Int64>, waitMillis: Int? = nil) async throws(LambdaStoreError) -> (removed: [String], bytes: Int64) {
        guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
        let taken: [SegmentState] = shared.withLock { s in
            var out: [SegmentState] = []
            // Only a prefix of the raw segments: the raw part of history stays contiguous.
            while s.segments.count > 1, let first = s.segments.first, bases.contains(first.segment.baseOffset),
                  first.endOffset <= s.archive.endOffset, first.segment.baseOffset >= s.archive.earliestReplayableOffset {
                out.append(s.segments.removeFirst())
            }
            return out
        }
        return await unlink(taken, waitMillis: waitMillis ?? unlinkWaitMillis.withLock { $0 })
    }

    /// Segments taken out of the log whose files are still on disk, waiting for raw reads in
    /// flight to finish (see ``removeArchivedSegments(_:waitMillis:)``): relative paths.
    public var pendingSegmentRemovals: [String] { pendingUnlinks.withLock { $0.map(\.segment.relPath) } }

    /// Unlinks removed segments — those left pending by earlier calls first — once no raw read
    /// is in flight. What cannot be unlinked now (reads still in flight after `waitMillis`, a
    /// failed unlink) stays pending for the next call, never forgotten.
    func unlink(_ taken: [SegmentState], waitMillis: Int) async -> (removed: [String], bytes: Int64) {
        let all: [SegmentState] = pendingUnlinks.withLock { p in
            let a = p + taken
            p = []
            return a
        }
        guard !all.isEmpty else { return ([], 0) }
        var waited = 0
        while rawReaders.withLock({ $0 }) > 0 && waited < waitMillis {
            try? await Task.sleep(nanoseconds: 1_000_000)
            waited += 1
        }
        guard rawReaders.withLock({ $0 }) == 0 else {
            pendingUnlinks.withLock { $0 = all + $0 }
            return ([], 0)
        }
        var removed: [String] = []
        var bytes: Int64 = 0
        var left: [SegmentState] = []
        for st in all {
            guard left.isEmpty else { left.append(st); continue }
            let stem = String(st.segment.path.dropLast(LogFormat.segmentSuffix.count))
            do throws(LambdaStoreError) {
                for suffix in [LogFormat.indexSuffix, LogFormat.timeIndexSuffix] where fs.exists(stem + suffix) {
                    try fs.remove(stem + suffix)
                }
                try? st.segment.handle.close()
                if fs.exists(st.segment.path) { try fs.remove(st.segment.path) }
                removed.append(st.segment.relPath)
                bytes += st.size
            } catch {
                left.append(st)   // retried by the next call (the archive holds the records either way)
            }
        }
        if !left.isEmpty { pendingUnlinks.withLock { $0 = left + $0 } }
        try? fs.syncDirectory(dir)
        return (removed, bytes)
    }

    /// Drops the history below `offset`, which must be the first offset of an archive file or
    /// of a raw segment at or below the archive's end: the manifest is published with the new
    /// earliest replayable offset first (the commit point), then the archive files and raw
    /// segments below it are deleted. Callers keep base checkpoints of every view at `offset`
    /// before calling this.
    /// - Returns: the files removed (relative paths), their bytes, and the events dropped.
    public func dropHistory(below offset: Int64, now: Int64) async throws(LambdaStoreError) -> (removed: [String], bytes: Int64, events: Int64) {
        guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
        var droppedFiles: [ArchivedFile] = []
        var events: Int64 = 0
        try archiveMutation { m throws(LambdaStoreError) in
            guard offset > m.earliestReplayableOffset else { return }
            guard offset <= m.endOffset, offset == m.endOffset || m.files.contains(where: { $0.firstOffset == offset }) else {
                throw LambdaStoreError(.precondition, "history can only be dropped below an archived file boundary (offset \(offset) is not one)")
            }
            events = offset - m.earliestReplayableOffset
            droppedFiles = m.files.filter { $0.endOffset <= offset }
            m.files.removeAll { $0.endOffset <= offset }
            m.earliestReplayableOffset = offset
            m.droppedAtMillis = now
        }
        archiveCache.withLock { c in c.removeAll { e in droppedFiles.contains { $0.name == e.name } } }
        var removed: [String] = []
        var bytes: Int64 = 0
        for f in droppedFiles {
            let p = Path.join(archiveDir, f.name)
            if fs.exists(p) {
                try fs.remove(p)
                removed.append("archive/\(name)/\(f.name)")
                bytes += f.bytes
            }
        }
        try fs.syncDirectory(archiveDir)
        let taken: [SegmentState] = shared.withLock { s in
            var out: [SegmentState] = []
            while s.segments.count > 1, let first = s.segments.first, first.endOffset <= offset { out.append(s.segments.removeFirst()) }
            return out
        }
        let (raw, rawBytes) = await unlink(taken, waitMillis: unlinkWaitMillis.withLock { $0 })
        return (removed + raw, bytes + rawBytes, events)
    }

    /// Archive files in the archive directory that the manifest does not list (left by a run
    /// that crashed before its publish, or by a drop that crashed before deleting them), and
    /// temp files: removed.
    public func removeArchiveOrphans() throws(LambdaStoreError) -> (removed: [String], bytes: Int64) {
        guard fs.isDirectory(archiveDir) else { return ([], 0) }
        let listed = Set(shared.withLock { $0.archive.files.map(\.name) })
        var removed: [String] = []
        var bytes: Int64 = 0
        for n in try fs.list(archiveDir) where n != ArchiveManifest.fileName && !listed.contains(n) {
            let p = Path.join(archiveDir, n)
            if let h = try? fs.open(p, mode: .read) { bytes += (try? h.size()) ?? 0; try? h.close() }
            try fs.remove(p)
            removed.append("archive/\(name)/\(n)")
        }
        if !removed.isEmpty { try fs.syncDirectory(archiveDir) }
        return (removed, bytes)
    }

    /// Bytes of the archive files the manifest lists.
    public var archiveBytes: Int64 { shared.withLock { $0.archive.files.reduce(0) { $0 + $1.bytes } } }
}

/// The key-value metadata keys of archive files (format-spec.md §8.1).
public enum ArchiveMetadataKey {
    /// The stream name.
    public static let stream = "lambdastore.stream"
    /// The schema version of every row, decimal.
    public static let schemaVersion = "lambdastore.schema_version"
    /// The offset of the first row, decimal.
    public static let baseOffset = "lambdastore.base_offset"
    /// The number of rows, decimal.
    public static let recordCount = "lambdastore.record_count"
    /// The name of the stream's event-time field.
    public static let eventTime = "lambdastore.event_time"
}
