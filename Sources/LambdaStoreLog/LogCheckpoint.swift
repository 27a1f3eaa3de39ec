import LambdaStoreCore

/// A stream's durable high-water mark (format-spec.md §2.9, `streams/<stream>/CHECKPOINT`):
/// every offset below ``durableEnd`` was on stable storage when the file was written, so
/// recovery that would end the log below it has lost acknowledged history.
///
/// Written atomically (temp, fsync, rename, fsync directory) when a segment is sealed, when the
/// log is closed, after recovery, and before a view publishes a horizon (so a published
/// horizon never exceeds it). It only ever grows, except by an explicit repair.
public struct LogCheckpoint: Sendable, Equatable {
    /// Every offset below this was durable.
    public var durableEnd: Int64
    /// When it was written, epoch ms.
    public var writtenAtMillis: Int64

    /// The file name in the stream directory.
    public static let fileName = "CHECKPOINT"
    /// The file's magic, `LSCP`.
    public static let magic: UInt32 = LogFormat.magic("LSCP")
    /// The file format version.
    public static let formatVersion: UInt16 = 1
    /// The file's size: magic, version, reserved, durable end, time, CRC32C.
    public static let size = 28

    /// Creates a checkpoint.
    public init(durableEnd: Int64, writtenAtMillis: Int64) {
        self.durableEnd = durableEnd
        self.writtenAtMillis = writtenAtMillis
    }

    /// The 28 bytes of the file.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.write(Self.magic)
        w.write(Self.formatVersion)
        w.write(UInt16(0))
        w.write(durableEnd)
        w.write(writtenAtMillis)
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum($0) }
        w.write(crc)
        return w.bytes
    }

    /// Decodes and checks the file's bytes.
    /// - Throws: `.corruption` naming `path` and the offset of the first bad field.
    public init(decoding bytes: [UInt8], path: String) throws(LambdaStoreError) {
        guard bytes.count == Self.size else {
            throw .corruption("checkpoint is \(bytes.count) bytes, expected \(Self.size)", path: path, offset: 0)
        }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt32.self).littleEndian }
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<24])) }
        guard stored == computed else {
            throw .corruption("checkpoint checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))", path: path, offset: 24)
        }
        let (magic, version, reserved, end, at) = bytes.withUnsafeBytes { b in
            (b.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian, b.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian,
             b.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian, b.loadUnaligned(fromByteOffset: 8, as: Int64.self).littleEndian,
             b.loadUnaligned(fromByteOffset: 16, as: Int64.self).littleEndian)
        }
        guard magic == Self.magic else { throw .corruption("not a checkpoint (bad magic)", path: path, offset: 0) }
        guard version == Self.formatVersion else { throw .corruption("checkpoint format version \(version) is not \(Self.formatVersion)", path: path, offset: 4) }
        guard reserved == 0 else { throw .corruption("checkpoint reserved field is \(reserved)", path: path, offset: 6) }
        guard end >= 0 else { throw .corruption("checkpoint durable end \(end) is negative", path: path, offset: 8) }
        durableEnd = end
        writtenAtMillis = at
    }

    /// Loads `dir/CHECKPOINT`, nil when there is none (a store from before checkpoints, or a
    /// stream that never sealed, closed or published).
    public static func load(fs: any FileSystem, directory dir: String, relDir: String) throws(LambdaStoreError) -> LogCheckpoint? {
        let path = Path.join(dir, fileName)
        guard fs.exists(path) else { return nil }
        return try LogCheckpoint(decoding: try fs.readFile(path, limit: size + 1), path: relDir + "/" + fileName)
    }
}

extension StreamLog {
    /// Records that every offset below `end` is durable (``LogCheckpoint``), when that moves
    /// the stream's checkpoint forward. The caller made them durable.
    func recordCheckpoint(durableEnd end: Int64) throws(LambdaStoreError) {
        guard !options.readOnly else { return }
        try checkpointLock.withLock { (recorded: inout Int64) throws(LambdaStoreError) in
            guard end > recorded else { return }
            try fs.writeFileAtomically(Path.join(dir, LogCheckpoint.fileName),
                                       LogCheckpoint(durableEnd: end, writtenAtMillis: options.clock()).encoded())
            recorded = end
        }
    }

    /// Makes every visible offset durable (an fdatasync when needed) and records it in the
    /// stream's checkpoint: a batch run calls this before publishing a horizon, so no view can
    /// prove more history than the log keeps after a crash.
    /// - Returns: the durable end recorded.
    /// - Throws: `.io` when the fdatasync or the checkpoint write fails.
    @discardableResult
    public func checkpointVisible() throws(LambdaStoreError) -> Int64 {
        let visible = visibleEndOffset
        if durableEndOffset < visible { try sync() }
        let durable = durableEndOffset
        try recordCheckpoint(durableEnd: durable)
        return durable
    }
}
