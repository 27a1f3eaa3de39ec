import LambdaStoreCore

/// What ``EventLog/repair(root:fs:options:)`` did to one stream.
public struct LogRepairAction: Sendable, Equatable, CustomStringConvertible {
    /// The stream.
    public var stream: String
    /// The segment where the damage starts (relative to the store root).
    public var file: String
    /// The byte offset of the first damage in `file`.
    public var offset: Int64
    /// Why it was judged damaged.
    public var reason: String
    /// The stream's end offset after the repair: every record at or past it is gone from the
    /// log (its bytes are in the `.damaged` files).
    public var endOffsetAfter: Int64
    /// Files written or renamed aside (relative paths ending in `.damaged`).
    public var movedAside: [String]

    /// One line.
    public var description: String {
        "stream \(stream): \(file) @ \(offset): \(reason); log now ends at offset \(endOffsetAfter); moved aside: \(movedAside.joined(separator: ", "))"
    }
}

extension EventLog {
    /// Cuts each stream's log back to the last intact batch before its first damage, keeping
    /// every damaged byte aside (format-spec.md §2.7).
    ///
    /// For the first segment with a corrupt batch (or file header, or an offset gap, or a
    /// sealed segment that ends early): the bytes from the damaged batch to the end are copied
    /// to `<segment>.damaged` and the segment is truncated there (a damaged file header: the
    /// whole file is copied aside and the segment restarts empty with a fresh header from its
    /// file name, so offsets stay monotonic); every later segment is renamed to
    /// `<name>.segment.damaged`; the index files of all of them are removed (they are rebuilt
    /// on open). Offsets stay dense: the stream continues at the first lost offset. A torn
    /// tail of the active segment is not damage (open cuts it). Damaged schema histories
    /// cannot be repaired and make it throw.
    ///
    /// Takes the writer lock: the store must not be open.
    /// - Returns: one action per stream that was changed (empty when nothing was damaged).
    /// - Throws: `.locked`; `.corruption` for a damaged schema history; `.io`.
    /// - Complexity: O(total bytes).
    public static func repair(root: String, fs: any FileSystem = PosixFileSystem(), options: LogOptions = .init()) throws(LambdaStoreError) -> [LogRepairAction] {
        let lock = try fs.lock(Path.join(root, "LOCK"))
        defer { lock.unlock() }
        let streamsDir = Path.join(root, "streams")
        guard fs.isDirectory(streamsDir) else { return [] }
        var actions: [LogRepairAction] = []
        for name in try fs.list(streamsDir) where fs.isDirectory(Path.join(streamsDir, name)) {
            if let a = try repairStream(root: root, name: name, fs: fs, options: options) { actions.append(a) }
        }
        return actions
    }

    static func repairStream(root: String, name: String, fs: any FileSystem, options: LogOptions) throws(LambdaStoreError) -> LogRepairAction? {
        let relDir = "streams/" + name
        let dir = Path.join(root, relDir)
        let files = try fs.list(dir)
        if fs.exists(Path.join(dir, LogFormat.schemaFileName)) {
            do throws(LambdaStoreError) {
                _ = try SchemaHistory(decoding: try fs.readFile(Path.join(dir, LogFormat.schemaFileName), limit: Limits.metadataBytesMax))
            } catch {
                throw error.at(path: relDir + "/" + LogFormat.schemaFileName)
            }
        }
        let bases = files.compactMap { LogFormat.baseOffset(fromFileName: $0, suffix: LogFormat.segmentSuffix) }.sorted()
        var expected: Int64?
        var damage: (index: Int, position: Int64, reason: String, endOffset: Int64)?
        for (i, base) in bases.enumerated() {
            let file = LogFormat.fileStem(baseOffset: base) + LogFormat.segmentSuffix
            let rel = relDir + "/" + file
            if let e = expected, e != base {
                damage = (i, 0, "offset gap: the previous segment ends at \(e)", e)
                break
            }
            let h = try fs.open(Path.join(dir, file), mode: .read)
            defer { try? h.close() }
            var scanner: SegmentScanner
            do throws(LambdaStoreError) {
                scanner = try SegmentScanner(handle: h, path: rel, checkPayloads: true)
                guard scanner.header.baseOffset == base else {
                    throw LambdaStoreError.corruption("segment header names base offset \(scanner.header.baseOffset)", path: rel, offset: 8)
                }
            } catch {
                damage = (i, 0, error.message, base)
                break
            }
            do throws(LambdaStoreError) {
                let (_, validEnd, tail) = try scanner.scanAll()
                if tail != .clean && i != bases.count - 1 {
                    damage = (i, validEnd, "sealed segment ends with \(tail.reason ?? "a tail")", scanner.nextOffset)
                    break
                }
                expected = scanner.nextOffset
            } catch {
                damage = (i, error.offset ?? scanner.position, error.message, scanner.intactOffset)
                break
            }
        }
        // A log that ends below its checkpoint lost acknowledged history: repair accepts the
        // loss by lowering the checkpoint to what is kept (format-spec.md §2.9).
        let checkpoint = try LogCheckpoint.load(fs: fs, directory: dir, relDir: relDir)
        func lowerCheckpoint(to end: Int64) throws(LambdaStoreError) -> Int64? {
            guard let c = checkpoint, c.durableEnd > end else { return nil }
            try fs.writeFileAtomically(Path.join(dir, LogCheckpoint.fileName), LogCheckpoint(durableEnd: end, writtenAtMillis: options.clock()).encoded())
            return c.durableEnd
        }
        guard let damage else {
            let end = expected ?? 0
            guard let lost = try lowerCheckpoint(to: end) else { return nil }
            let last = bases.last.map { relDir + "/" + LogFormat.fileStem(baseOffset: $0) + LogFormat.segmentSuffix } ?? relDir
            return LogRepairAction(stream: name, file: last, offset: 0,
                                   reason: "the log ends at offset \(end) but the checkpoint recorded \(lost) durable events; the loss of offsets \(end)..<\(lost) is accepted",
                                   endOffsetAfter: end, movedAside: [])
        }

        var moved: [String] = []
        let aside = { (file: String) -> String in
            var candidate = file + LogFormat.damagedSuffix
            var n = 1
            while fs.exists(Path.join(dir, candidate)) {
                candidate = file + LogFormat.damagedSuffix + ".\(n)"
                n += 1
            }
            return candidate
        }
        let first = LogFormat.fileStem(baseOffset: bases[damage.index]) + LogFormat.segmentSuffix
        let isGap = damage.index > 0 && expected != bases[damage.index]
        if !isGap { try cutSegment(dir: dir, relDir: relDir, file: first, base: bases[damage.index], at: damage.position, options: options, fs: fs, aside: aside, moved: &moved) }
        // Later segments (and, after a gap, this one) aside; index files of every touched segment removed.
        for base in bases[damage.index...] {
            let stem = LogFormat.fileStem(baseOffset: base)
            for suffix in [LogFormat.indexSuffix, LogFormat.timeIndexSuffix] where fs.exists(Path.join(dir, stem + suffix)) {
                try fs.remove(Path.join(dir, stem + suffix))
            }
            if isGap || base != bases[damage.index] {
                let to = aside(stem + LogFormat.segmentSuffix)
                try fs.rename(Path.join(dir, stem + LogFormat.segmentSuffix), to: Path.join(dir, to))
                moved.append(relDir + "/" + to)
            }
        }
        try fs.syncDirectory(dir)
        _ = try lowerCheckpoint(to: damage.endOffset)
        return LogRepairAction(stream: name, file: relDir + "/" + first, offset: damage.position, reason: damage.reason,
                               endOffsetAfter: damage.endOffset, movedAside: moved)
    }

    /// Copies the bytes of `file` from `position` on to a `.damaged` file, durably, then cuts
    /// the segment there (a damaged file header: restarts it empty under its name).
    private static func cutSegment(dir: String, relDir: String, file: String, base: Int64, at position: Int64, options: LogOptions,
                                   fs: any FileSystem, aside: (String) -> String, moved: inout [String]) throws(LambdaStoreError) {
        let h = try fs.open(Path.join(dir, file), mode: .readWrite)
        defer { try? h.close() }
        let size = try h.size()
        let cut = position < Int64(LogFormat.segmentHeaderSize) ? 0 : position
        if cut < size {
            let copyName = aside(file)
            let c = try fs.open(Path.join(dir, copyName), mode: .truncate)
            var p = cut
            while p < size {
                let chunk = try h.read(count: Int(min(Int64(FileWindow.defaultChunk), size - p)), at: p)
                if chunk.isEmpty { break }
                try c.write(chunk, at: p - cut)
                p += Int64(chunk.count)
            }
            try c.sync()
            try c.close()
            try fs.syncDirectory(dir)
            moved.append(relDir + "/" + copyName)
        }
        try h.truncate(to: cut)
        if cut == 0 {
            var w = ByteWriter(capacity: LogFormat.segmentHeaderSize)
            SegmentFileHeader(baseOffset: base, createdAtMillis: options.clock()).encode(into: &w)
            try h.write(w.bytes, at: 0)
        }
        try h.sync()
    }
}
