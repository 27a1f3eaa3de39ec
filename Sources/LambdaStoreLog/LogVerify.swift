import LambdaStoreCore

/// What ``EventLog/verify(root:fs:)`` found. `verify` never repairs, truncates or rebuilds.
public struct LogVerifyReport: Sendable, Equatable {
    /// A file that fails a check, and where.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// Path relative to the store root.
        public var file: String
        /// Byte offset in `file` (nil when the problem is the file as a whole).
        public var offset: Int64?
        /// One line.
        public var message: String
        /// Whether the file is derived data (an index) that opening the store rebuilds.
        public var isDerived: Bool

        /// `file @ offset: message`.
        public var description: String { file + (offset.map { " @ \($0)" } ?? "") + ": " + message }
    }

    /// An active segment that ends in an incomplete batch or zeros: what a crash leaves, not
    /// corruption. Opening the store for writing cuts it.
    public struct Tail: Sendable, Equatable {
        /// The segment, relative to the store root.
        public var file: String
        /// Where the valid part ends.
        public var validBytes: Int64
        /// What follows the valid part.
        public var tail: SegmentTail
    }

    /// Streams checked.
    public var streams: [String] = []
    /// Files checked (schema histories, segments, index files).
    public var filesChecked = 0
    /// Batches whose header and payload were checked and decoded.
    public var batchesChecked = 0
    /// Records in those batches.
    public var recordsChecked: Int64 = 0
    /// Segment bytes read.
    public var bytesChecked: Int64 = 0
    /// Every corrupt file, with the offset of the first damage found in it.
    public var problems: [Problem] = []
    /// Incomplete tails (not errors).
    public var incompleteTails: [Tail] = []
    /// Remarks that are not errors: lagging or missing index files, files moved aside by repair.
    public var notes: [String] = []
    /// Each stream's end offset as the scan found it (absent when damage hid it).
    public var endOffsets: [String: Int64] = [:]

    /// Whether nothing is corrupt (incomplete tails and notes allowed).
    public var isClean: Bool { problems.isEmpty }
}

extension EventLog {
    /// Checks every checksum and structural rule of the log under `root` without writing
    /// anything (format-spec.md §2.6): each stream's schema history; each segment's file
    /// header, every batch header and payload CRC, that each payload decodes under its schema
    /// version, that offsets are dense across segments; each index pair against its segment.
    ///
    /// An incomplete tail of the active segment is reported in
    /// ``LogVerifyReport/incompleteTails``, not as a problem. Runs without the writer lock.
    /// - Complexity: O(total bytes).
    public static func verify(root: String, fs: any FileSystem = PosixFileSystem()) -> LogVerifyReport {
        var report = LogVerifyReport()
        let streamsDir = Path.join(root, "streams")
        guard fs.isDirectory(streamsDir) else {
            if !fs.isDirectory(root) {
                report.problems.append(.init(file: root, offset: nil, message: "no store directory", isDerived: false))
            } else {
                // A store directory that cannot be read is not a clean, empty store.
                do { _ = try fs.list(root) } catch {
                    report.problems.append(.init(file: root, offset: nil, message: "cannot read the store directory: \(error.message)", isDerived: false))
                }
            }
            return report
        }
        let names: [String]
        do { names = try fs.list(streamsDir) } catch {
            report.problems.append(.init(file: "streams", offset: nil, message: error.message, isDerived: false))
            return report
        }
        for name in names where fs.isDirectory(Path.join(streamsDir, name)) {
            verifyStream(root: root, name: name, fs: fs, into: &report)
        }
        return report
    }

    static func verifyStream(root: String, name: String, fs: any FileSystem, into report: inout LogVerifyReport) {
        report.streams.append(name)
        let relDir = "streams/" + name
        let dir = Path.join(root, relDir)
        let files: [String]
        do { files = try fs.list(dir) } catch {
            report.problems.append(.init(file: relDir, offset: nil, message: error.message, isDerived: false))
            return
        }
        var history: SchemaHistory?
        report.filesChecked += 1
        do throws(LambdaStoreError) {
            history = try SchemaHistory(decoding: try fs.readFile(Path.join(dir, LogFormat.schemaFileName), limit: Limits.metadataBytesMax))
        } catch {
            report.problems.append(.init(file: relDir + "/" + LogFormat.schemaFileName, offset: error.offset, message: error.message, isDerived: false))
        }
        for f in files where f.contains(LogFormat.damagedSuffix) { report.notes.append("\(relDir)/\(f): moved aside by repair") }
        let bases = files.compactMap { LogFormat.baseOffset(fromFileName: $0, suffix: LogFormat.segmentSuffix) }.sorted()
        var expected: Int64?
        for (i, base) in bases.enumerated() {
            let file = LogFormat.fileStem(baseOffset: base) + LogFormat.segmentSuffix
            let rel = relDir + "/" + file
            if let e = expected, e != base {
                report.problems.append(.init(file: rel, offset: 0, message: "offset gap: the previous segment ends at offset \(e), this one starts at \(base)", isDerived: false))
            }
            expected = verifySegment(path: Path.join(dir, file), rel: rel, base: base, isActive: i == bases.count - 1,
                                     history: history, fs: fs, into: &report)
        }
        // Where the raw history starts: at 0, or inside the archive (format-spec.md §8.2).
        // The archive files themselves are checked by the store's verify.
        let archive = try? ArchiveManifest.load(fs: fs, root: root, stream: name)
        if let first = bases.first {
            let rel = relDir + "/" + LogFormat.fileStem(baseOffset: first) + LogFormat.segmentSuffix
            if let a = archive {
                if first > a.endOffset {
                    report.problems.append(.init(file: rel, offset: 0, message: "history gap: the archive ends at offset \(a.endOffset), the first raw segment starts at \(first)", isDerived: false))
                } else if first < a.earliestReplayableOffset {
                    report.notes.append("\(rel): below the earliest replayable offset \(a.earliestReplayableOffset) (left by an interrupted history drop; the next open removes it)")
                }
            } else if first != 0 {
                report.problems.append(.init(file: rel, offset: 0, message: "history gap: the first segment starts at offset \(first) and no archive holds the offsets below it", isDerived: false))
            }
        }
        if bases.isEmpty { report.endOffsets[name] = archive?.endOffset ?? 0 } else if let expected { report.endOffsets[name] = Swift.max(expected, archive?.endOffset ?? 0) }
        if let history, history.latest.stream != name {
            report.problems.append(.init(file: relDir + "/" + LogFormat.schemaFileName, offset: 8,
                                         message: "schema history is for stream '\(history.latest.stream)'", isDerived: false))
        }
        // The checkpoint proves how much history was durable: a log that ends below it lost
        // acknowledged events (format-spec.md §2.9).
        report.filesChecked += fs.exists(Path.join(dir, LogCheckpoint.fileName)) ? 1 : 0
        do throws(LambdaStoreError) {
            if let c = try LogCheckpoint.load(fs: fs, directory: dir, relDir: relDir) {
                let end = report.endOffsets[name]
                if let end, c.durableEnd > end {
                    let last = bases.last.map { relDir + "/" + LogFormat.fileStem(baseOffset: $0) + LogFormat.segmentSuffix } ?? relDir
                    report.problems.append(.init(file: last, offset: nil,
                                                 message: "the log ends at offset \(end) but \(LogCheckpoint.fileName) records \(c.durableEnd) durable events: acknowledged history is missing",
                                                 isDerived: false))
                }
            }
        } catch {
            report.problems.append(.init(file: error.path ?? relDir + "/" + LogCheckpoint.fileName, offset: error.offset, message: error.message, isDerived: false))
        }
    }

    /// Checks one segment and its index pair; returns its end offset (nil when unknown).
    static func verifySegment(path: String, rel: String, base: Int64, isActive: Bool, history: SchemaHistory?,
                              fs: any FileSystem, into report: inout LogVerifyReport) -> Int64? {
        report.filesChecked += 1
        func problem(_ offset: Int64?, _ message: String) {
            report.problems.append(.init(file: rel, offset: offset, message: message, isDerived: false))
        }
        let h: any FileHandle
        do { h = try fs.open(path, mode: .read) } catch { problem(nil, error.message); return nil }
        defer { try? h.close() }
        var scanner: SegmentScanner
        do throws(LambdaStoreError) {
            scanner = try SegmentScanner(handle: h, path: rel, checkPayloads: true)
        } catch {
            // The active segment's file header cut short (or never written: zeros) is a crash
            // during a roll, as open treats it (format-spec.md §2.6): it holds no record, and
            // the next open rewrites it.
            if isActive, let size = try? h.size(), size <= 1 << 20, let bytes = try? h.read(count: Int(size), at: 0) {
                var magic = LogFormat.segmentMagic.littleEndian
                let prefix = bytes.prefix(4)
                let magicPrefix = withUnsafeBytes(of: &magic) { m in prefix.elementsEqual(m.prefix(prefix.count)) }
                if bytes.allSatisfy({ $0 == 0 }) || (bytes.count < LogFormat.segmentHeaderSize && magicPrefix) {
                    report.incompleteTails.append(.init(file: rel, validBytes: 0, tail: .incompleteHeader(bytes: size)))
                    return base
                }
            }
            problem(error.offset, error.message)
            return nil
        }
        if scanner.header.baseOffset != base { problem(8, "segment header names base offset \(scanner.header.baseOffset), the file name \(base)") }
        report.bytesChecked += scanner.fileSize
        var entries: [IndexEntry] = []
        var scratch = ReadScratch()
        var damaged = false
        let seg = Segment(baseOffset: base, name: Path.base(of: path), path: path, relPath: rel, handle: h, createdAt: scanner.header.createdAtMillis, formatVersion: scanner.header.formatVersion)
        walk: while true {
            let step: ScanStep
            do { step = try scanner.next() } catch { problem(nil, error.message); damaged = true; break walk }
            switch step {
            case .batch(let hd, let p, let ok):
                let e = IndexEntry(header: hd, position: p)
                entries.append(e)
                guard !damaged else { continue }
                if !ok {
                    let stored = (try? h.read(count: hd.storedLength, at: p + Int64(LogFormat.batchHeaderSize))) ?? []
                    problem(p, "batch payload checksum mismatch (stored \(hex32(hd.payloadCRC)), computed \(hex32(CRC32C.checksum(stored))))")
                    damaged = true
                    continue
                }
                guard let schema = history?.schema(version: hd.schemaVersion) else {
                    if history != nil { problem(p + 20, "batch names schema version \(hd.schemaVersion), the history has \(history?.latest.version ?? 0)"); damaged = true }
                    continue
                }
                do throws(LambdaStoreError) {
                    let b = try StreamLog.decodeStored(seg, e, schema: schema, scratch: &scratch)
                    report.batchesChecked += 1
                    report.recordsChecked += Int64(b.count)
                } catch {
                    problem(error.offset ?? p, error.message)
                    damaged = true
                }
            case .end(let tail):
                if tail != .clean {
                    if isActive {
                        report.incompleteTails.append(.init(file: rel, validBytes: scanner.position, tail: tail))
                    } else {
                        problem(scanner.position, "sealed segment ends with \(tail.reason ?? "a tail")")
                    }
                }
                break walk
            case .corrupt(let e):
                problem(e.offset, e.message)
                damaged = true
                break walk
            }
        }
        verifyIndexes(segmentPath: path, rel: rel, base: base, entries: entries, fileSize: scanner.fileSize,
                      complete: !damaged, isActive: isActive, fs: fs, into: &report)
        return damaged ? nil : scanner.nextOffset
    }

    /// Checks an index pair against the batches the scan found.
    static func verifyIndexes(segmentPath: String, rel: String, base: Int64, entries: [IndexEntry], fileSize: Int64, complete: Bool,
                              isActive: Bool = false, fs: any FileSystem, into report: inout LogVerifyReport) {
        let loaded = IndexFiles.load(fs: fs, segmentPath: segmentPath, relSegment: rel, segmentBase: base, segmentSize: fileSize)
        report.filesChecked += 2 - loaded.missing.count
        for m in loaded.missing { report.notes.append("\(m): missing (rebuilt on open)") }
        let stem = String(rel.dropLast(LogFormat.segmentSuffix.count))
        // The active segment's index pair is not fsynced before the segment is sealed: after a
        // crash its headers may be cut short like any unsynced tail. Open rewrites them.
        var cutShort: Set<String> = []
        if isActive {
            let pathStem = String(segmentPath.dropLast(LogFormat.segmentSuffix.count))
            for suffix in [LogFormat.indexSuffix, LogFormat.timeIndexSuffix] {
                guard let h = try? fs.open(pathStem + suffix, mode: .read) else { continue }
                if let size = try? h.size(), size < Int64(LogFormat.indexHeaderSize) {
                    cutShort.insert(stem + suffix)
                    report.notes.append("\(stem)\(suffix): header cut short (\(size) bytes; the active segment's index is synced when it is sealed; rebuilt on open)")
                }
                try? h.close()
            }
        }
        for d in loaded.damage where !cutShort.contains(d.file) {
            report.problems.append(.init(file: d.file, offset: d.offset, message: d.message, isDerived: true))
        }
        let (_, problem) = IndexFiles.consistentPrefix(loaded.entries, segmentBase: base, validEnd: .max)
        if let problem {
            report.problems.append(.init(file: stem + LogFormat.indexSuffix, offset: nil, message: problem, isDerived: true))
            return
        }
        for (i, e) in loaded.entries.enumerated() {
            if i < entries.count {
                if e != entries[i] {
                    report.problems.append(.init(file: stem + LogFormat.indexSuffix, offset: Int64(LogFormat.indexHeaderSize + i * LogFormat.indexEntrySize),
                                                 message: "entry \(i) does not match the batch at \(entries[i].position)", isDerived: true))
                    return
                }
            } else if complete {
                report.notes.append("\(stem)\(LogFormat.indexSuffix): \(loaded.entries.count - entries.count) entries past the segment's valid end (dropped on open)")
                return
            }
        }
        if loaded.missing.isEmpty, loaded.entries.count < entries.count {
            report.notes.append("\(stem)\(LogFormat.indexSuffix): lags its segment by \(entries.count - loaded.entries.count) batches (completed on open)")
        }
    }
}
