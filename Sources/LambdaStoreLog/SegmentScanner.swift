import Dispatch
import LambdaStoreCore

/// A read-ahead window over a file: serves small positional reads from one large buffer so a
/// scan of many small batches costs one `pread` per MiB, not two per batch.
struct FileWindow {
    let handle: any FileHandle
    let fileSize: Int64
    private var buffer: [UInt8] = []
    private var start: Int64 = 0
    private var filled = 0
    /// Bytes read at a time (one `pread`): 1 MiB for scans that read every byte; a scan of
    /// batch headers alone uses a few KiB, so payloads are not copied.
    let chunk: Int
    static let defaultChunk = 1 << 20

    init(handle: any FileHandle, fileSize: Int64, chunk: Int = FileWindow.defaultChunk) {
        self.handle = handle
        self.fileSize = fileSize
        self.chunk = max(chunk, 64)
    }

    /// Calls `body` with the `count` bytes at `position` (fewer when the file ends first).
    mutating func withBytes<R>(at position: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws(LambdaStoreError) -> R) throws(LambdaStoreError) -> R {
        let want = Int(max(0, min(Int64(count), fileSize - position)))
        if position < start || position + Int64(want) > start + Int64(filled) {
            let n = Int(min(Int64(max(want, chunk)), max(0, fileSize - position)))
            if buffer.count < n { buffer = [UInt8](repeating: 0, count: n) }
            var done = 0
            while done < n {
                let got = try typed { try buffer.withUnsafeMutableBytes { b in
                    try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: b[done..<n]), at: position + Int64(done))
                } }
                if got == 0 { break }
                done += got
            }
            start = position
            filled = done
        }
        let from = Int(position - start)
        let avail = max(0, min(want, filled - from))
        return try typed { try buffer.withUnsafeBytes { b throws(LambdaStoreError) -> R in
            try body(UnsafeRawBufferPointer(rebasing: b[from..<(from + avail)]))
        } }
    }

    /// The CRC32C of the `count` bytes at `position` (fewer when the file ends first), read
    /// through the window one chunk at a time: a payload larger than the window is neither
    /// read twice nor copied into a buffer of its own size.
    mutating func checksum(at position: Int64, count: Int) throws(LambdaStoreError) -> UInt32 {
        var crc: UInt32 = 0
        var p = position
        var left = Int(max(0, min(Int64(count), fileSize - position)))
        while left > 0 {
            // What the window already holds from `p`, else one chunk read at `p`.
            let held = p >= start && p < start + Int64(filled) ? Int(start + Int64(filled) - p) : 0
            let n = min(left, held > 0 ? held : chunk)
            let got = try withBytes(at: p, count: n) { b in
                crc = CRC32C.checksum(b, extending: crc)
                return b.count
            }
            if got == 0 { break }
            p += Int64(got)
            left -= got
        }
        return crc
    }

    /// Whether every byte in `[position, fileSize)` is zero.
    mutating func isZero(from position: Int64) throws(LambdaStoreError) -> Bool {
        var p = position
        var step = 64   // the common case, a batch marker, answers at the first byte
        while p < fileSize {
            let n = Int(min(Int64(step), fileSize - p))
            step = chunk
            let zero = try withBytes(at: p, count: n) { b in b.allSatisfy { $0 == 0 } }
            if !zero { return false }
            p += Int64(n)
        }
        return true
    }
}

/// How a segment file ends after its last complete, valid batch.
public enum SegmentTail: Sendable, Equatable {
    /// The file ends exactly after the last batch.
    case clean
    /// Only zero bytes follow (e.g. preallocated or never-written blocks).
    case trailingZeros(bytes: Int64)
    /// A batch header cut short by the end of the file.
    case incompleteHeader(bytes: Int64)
    /// A valid batch header whose payload runs past the end of the file.
    case incompletePayload(bytes: Int64)

    /// The bytes after the valid end (0 when clean).
    public var bytes: Int64 {
        switch self {
        case .clean: 0
        case .trailingZeros(let n), .incompleteHeader(let n), .incompletePayload(let n): n
        }
    }

    /// A one-line description for reports.
    public var reason: String? {
        switch self {
        case .clean: nil
        case .trailingZeros(let n): "\(n) trailing zero bytes"
        case .incompleteHeader(let n): "incomplete batch header (\(n) bytes)"
        case .incompletePayload(let n): "incomplete batch (\(n) bytes: header valid, payload cut short)"
        }
    }
}

/// One step of a segment scan.
enum ScanStep {
    /// A batch whose header is valid; `payloadOK` tells whether the payload CRC matched
    /// (always true when payloads are not checked).
    case batch(BatchHeader, position: Int64, payloadOK: Bool)
    /// The end of the valid part; `tail` says what follows.
    case end(SegmentTail)
    /// Bytes that are neither a valid batch nor a torn tail: corruption at the error's offset.
    case corrupt(LambdaStoreError)
}

/// Walks the batches of one segment file, applying the recovery rules of format-spec.md §2.6:
/// a header cut short, a valid header whose payload runs past end of file, and trailing zero
/// bytes are a *tail*; anything else that fails a check is corruption at a byte offset.
struct SegmentScanner {
    var window: FileWindow
    let path: String
    let header: SegmentFileHeader
    var position: Int64
    var nextOffset: Int64
    let checkPayloads: Bool
    /// Set while ``scanAll(parallelFrom:)`` walks the headers first: `next()` then leaves the
    /// payload checks to the caller.
    private var payloadsDeferred = false
    private(set) var finished = false
    /// The offset after the last batch that passed every check (header and payload).
    private(set) var intactOffset: Int64

    /// Opens a scan of `handle`, reading and checking the file header.
    /// - Throws: corruption of the file header (with `path`), or `.io`.
    init(handle: any FileHandle, path: String, checkPayloads: Bool) throws(LambdaStoreError) {
        let size = try handle.size()
        var w = FileWindow(handle: handle, fileSize: size)
        do throws(LambdaStoreError) {
            header = try w.withBytes(at: 0, count: LogFormat.segmentHeaderSize) { b throws(LambdaStoreError) in try SegmentFileHeader(decoding: b) }
        } catch {
            throw error.at(path: path, offset: 0)
        }
        window = w
        self.path = path
        position = Int64(LogFormat.segmentHeaderSize)
        nextOffset = header.baseOffset
        intactOffset = header.baseOffset
        self.checkPayloads = checkPayloads
    }

    var fileSize: Int64 { window.fileSize }

    /// The next step. After `.end` or `.corrupt` it keeps returning `.end(.clean)`.
    mutating func next() throws(LambdaStoreError) -> ScanStep {
        if finished { return .end(.clean) }
        let p = position
        let remaining = window.fileSize - p
        if remaining <= 0 { finished = true; return .end(.clean) }
        if try window.isZero(from: p) { finished = true; return .end(.trailingZeros(bytes: remaining)) }
        if remaining < Int64(LogFormat.batchHeaderSize) {
            // A torn header is a prefix of a header: its first bytes are the marker's.
            let looksTorn = try window.withBytes(at: p, count: Int(min(remaining, 4))) { b in
                var marker = LogFormat.batchMarker.littleEndian
                return withUnsafeBytes(of: &marker) { m in b.elementsEqual(m.prefix(b.count)) }
            }
            finished = true
            if looksTorn { return .end(.incompleteHeader(bytes: remaining)) }
            return .corrupt(.corruption("\(remaining) unrecognized bytes after the last batch", path: path, offset: p))
        }
        let h: BatchHeader
        do throws(LambdaStoreError) {
            h = try window.withBytes(at: p, count: LogFormat.batchHeaderSize) { b throws(LambdaStoreError) in try BatchHeader(decoding: b, at: p) }
        } catch {
            finished = true
            return .corrupt(error.at(path: path))
        }
        guard h.baseOffset == nextOffset else {
            finished = true
            return .corrupt(.corruption("batch base offset \(h.baseOffset), expected \(nextOffset)", path: path, offset: p + 8))
        }
        let end = p + Int64(h.totalLength)
        if end > window.fileSize {
            finished = true
            return .end(.incompletePayload(bytes: remaining))
        }
        var ok = true
        if checkPayloads && !payloadsDeferred {
            ok = try window.checksum(at: p + Int64(LogFormat.batchHeaderSize), count: h.storedLength) == h.payloadCRC
        }
        position = end
        nextOffset = h.baseOffset + Int64(h.recordCount)
        if ok && intactOffset == h.baseOffset { intactOffset = nextOffset }
        return .batch(h, position: p, payloadOK: ok)
    }

    /// Payload bytes from which ``scanAll(parallelFrom:)`` checks payload checksums on two
    /// threads (an active segment of tens of MiB is read and checked at every open).
    static let parallelCheckBytes: Int64 = 8 << 20

    /// Scans to the end, stopping at the first corruption (including a payload CRC mismatch).
    ///
    /// With payload checks on, at least `parallelFrom` bytes left and more than one core, the
    /// scan reads the batch headers first (a few KiB per read, no payload copied), then checks
    /// the payloads' CRC32Cs on two threads over two contiguous halves of the bytes. It returns
    /// and throws exactly what the one-pass scan does: the first failing batch by position
    /// wins, a payload mismatch before a damaged header included
    /// (`SegmentScannerTests.parallelScanEqualsSerialScan`).
    /// - Returns: the entries of every valid batch, the valid end, and the tail.
    /// - Throws: ``LambdaStoreError/Code/corruption`` naming `path` and the byte offset.
    mutating func scanAll(parallelFrom threshold: Int64 = SegmentScanner.parallelCheckBytes) throws(LambdaStoreError) -> (entries: [IndexEntry], validEnd: Int64, tail: SegmentTail) {
        guard checkPayloads, !finished, window.fileSize - position >= threshold, Platform.processorCount > 1 else { return try scanSerially() }
        // 1. Every header, with payload checks deferred.
        let full = window
        window = FileWindow(handle: full.handle, fileSize: full.fileSize, chunk: 4096)
        payloadsDeferred = true
        var entries: [IndexEntry] = []
        var crcs: [UInt32] = []
        var stop: Result<SegmentTail, LambdaStoreError>
        headers: while true {
            let step: ScanStep
            do throws(LambdaStoreError) { step = try next() } catch {
                // (A read failing at a header: the one-pass scan would have checked every
                // payload before it first, so it is reported after them, as a damaged header.)
                stop = .failure(error)
                break headers
            }
            switch step {
            case .batch(let h, let p, _):
                entries.append(IndexEntry(header: h, position: p))
                crcs.append(h.payloadCRC)
            case .end(let tail):
                stop = .success(tail)
                break headers
            case .corrupt(let e):
                stop = .failure(e)
                break headers
            }
        }
        payloadsDeferred = false
        window = full
        // 2. The payloads, in two contiguous halves by bytes; the first mismatch by position.
        let total = entries.reduce(Int64(0)) { $0 + Int64($1.storedLength) }
        var split = 0, acc: Int64 = 0
        while split < entries.count, acc * 2 < total { acc += Int64(entries[split].storedLength); split += 1 }
        let halves = [0..<split, split..<entries.count]
        // Per half, its first batch whose payload does not match (the CRC computed) or could
        // not be read.
        let found = Locked<[(index: Int, outcome: Result<UInt32, LambdaStoreError>)?]>(Array(repeating: nil, count: 2))
        let (handle, size, batches, stored) = (full.handle, full.fileSize, entries, crcs)
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            var w = FileWindow(handle: handle, fileSize: size)
            for i in halves[half] {
                let r: Result<UInt32, LambdaStoreError>
                do throws(LambdaStoreError) {
                    r = .success(try w.checksum(at: batches[i].position + Int64(LogFormat.batchHeaderSize), count: batches[i].storedLength))
                } catch {
                    r = .failure(error)
                }
                if case .success(let computed) = r, computed == stored[i] { continue }
                found.withLock { $0[half] = (i, r) }
                return
            }
        }
        if let (k, outcome) = found.withLock({ $0 }).compactMap({ $0 }).first {
            // Where the one-pass scan stops: a mismatch after moving past batch k, a failed
            // read at its start; batch k is not intact either way (what repair reads).
            let e = entries[k]
            intactOffset = e.baseOffset
            switch outcome {
            case .success(let computed):
                position = e.endPosition
                nextOffset = e.endOffset
                throw .checksumMismatch(stored: crcs[k], computed: computed, what: "batch payload", path: path, offset: e.position)
            case .failure(let error):
                position = e.position
                nextOffset = e.baseOffset
                throw error
            }
        }
        switch stop {
        case .success(let tail): return (entries, position, tail)
        case .failure(let e): throw e
        }
    }

    /// ``scanAll(parallelFrom:)`` in one pass.
    private mutating func scanSerially() throws(LambdaStoreError) -> (entries: [IndexEntry], validEnd: Int64, tail: SegmentTail) {
        var entries: [IndexEntry] = []
        while true {
            switch try next() {
            case .batch(let h, let p, let ok):
                guard ok else {
                    let computed = try window.checksum(at: p + Int64(LogFormat.batchHeaderSize), count: h.storedLength)
                    throw .checksumMismatch(stored: h.payloadCRC, computed: computed, what: "batch payload", path: path, offset: p)
                }
                entries.append(IndexEntry(header: h, position: p))
            case .end(let tail):
                return (entries, position, tail)
            case .corrupt(let e):
                throw e
            }
        }
    }
}
