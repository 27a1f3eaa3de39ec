
/// Splits a byte stream, fed in chunks of any size, into physical lines numbered from 1.
///
/// A line ends at `\n`; a `\r` just before it (or at the very end of the input) is removed,
/// so `\r\n` files read the same as `\n` files. A lone `\r` elsewhere is ordinary data. The
/// last line needs no newline; an empty input has no lines, and a final newline does not
/// start another line. Empty lines are delivered too (the ``RecordParser`` skips blank lines),
/// so numbers always match the input's physical lines.
///
/// A line longer than `lineBytesMax` bytes (without its `\r\n`) is not buffered: its bytes are
/// dropped as they arrive and it is delivered as ``Event/overlong(_:)``, a rejection, so one
/// huge line cannot exhaust memory. Memory use is bounded by the chunk size plus
/// `lineBytesMax`.
///
/// ```swift
/// var splitter = LineSplitter()
/// for chunk in chunks { splitter.feed(chunk) { event in handle(event) } }
/// splitter.finish { event in handle(event) }
/// ```
///
/// Thread safety: a value type with internal buffers; use one per input.
public struct LineSplitter: Sendable {
    /// One line, or a rejection for a line that was too long.
    public enum Event {
        /// A line's bytes (without `\n` or a trailing `\r`) and its 1-based number. The bytes
        /// are valid only during the callback.
        case line(UnsafeRawBufferPointer, number: Int)
        /// A line beyond the limit, rejected with reason
        /// `line longer than 16777216 bytes (Limits.lineBytesMax)`.
        case overlong(RejectedLine)
    }

    /// The longest line accepted, in bytes.
    public let lineBytesMax: Int
    /// The number of lines delivered so far (the last line number).
    public private(set) var linesDelivered = 0
    /// The partial line carried over from earlier chunks.
    var pending: [UInt8] = []
    /// Whether the current line already went past the limit (its bytes are being dropped).
    var isDiscarding = false

    /// A splitter rejecting lines longer than `lineBytesMax` bytes (default
    /// ``Limits/lineBytesMax``).
    public init(lineBytesMax: Int = Limits.lineBytesMax) {
        precondition(lineBytesMax >= 0, "lineBytesMax must not be negative")
        self.lineBytesMax = lineBytesMax
    }

    /// Feeds the next chunk of input, calling `body` for every line it completes.
    ///
    /// Lines wholly inside `chunk` are delivered without copying; only a line that spans
    /// chunks is copied (once) into an internal buffer.
    /// - Throws: whatever `body` throws; the splitter then stops at that line.
    /// - Complexity: O(chunk bytes), a `memchr` scan.
    public mutating func feed<E: Error>(_ chunk: UnsafeRawBufferPointer, _ body: (Event) throws(E) -> Void) throws(E) {
        guard chunk.count > 0 else { return }
        let n = chunk.count
        var start = 0
        while start < n {
            guard let nl = Platform.firstIndex(of: 0x0A, in: chunk, from: start) else { break }
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<nl])
            start = nl + 1
            if isDiscarding {
                isDiscarding = false
                pending.removeAll(keepingCapacity: false)
                try deliverOverlong(body)
            } else if !pending.isEmpty {
                if pending.count + piece.count > lineBytesMax + 1 {
                    pending.removeAll(keepingCapacity: false)
                    try deliverOverlong(body)
                } else {
                    pending.append(contentsOf: piece)
                    let line = pending
                    pending.removeAll(keepingCapacity: true)
                    try deliver(copied: line, body)
                }
            } else {
                try deliver(piece, body)
            }
        }
        if start < n && !isDiscarding {
            let rest = n - start
            if pending.count + rest > lineBytesMax + 1 {
                pending.removeAll(keepingCapacity: false)
                isDiscarding = true
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<n]))
            }
        }
    }

    /// Ends the input: delivers the last line when it had no newline.
    /// - Throws: whatever `body` throws.
    public mutating func finish<E: Error>(_ body: (Event) throws(E) -> Void) throws(E) {
        if isDiscarding {
            isDiscarding = false
            pending.removeAll(keepingCapacity: false)
            try deliverOverlong(body)
        } else if !pending.isEmpty {
            let line = pending
            pending.removeAll(keepingCapacity: false)
            try deliver(copied: line, body)
        }
    }

    mutating func deliver<E: Error>(_ line: UnsafeRawBufferPointer, _ body: (Event) throws(E) -> Void) throws(E) {
        var line = line
        if let last = line.last, last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > lineBytesMax { try deliverOverlong(body); return }
        linesDelivered += 1
        try body(.line(line, number: linesDelivered))
    }

    /// Delivers a line held in an array (a line that spanned chunks).
    mutating func deliver<E: Error>(copied line: [UInt8], _ body: (Event) throws(E) -> Void) throws(E) {
        var failure: E? = nil
        line.withUnsafeBytes { b in
            do throws(E) { try deliver(b, body) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    mutating func deliverOverlong<E: Error>(_ body: (Event) throws(E) -> Void) throws(E) {
        linesDelivered += 1
        try body(.overlong(RejectedLine(line: linesDelivered, reason: "line longer than \(lineBytesMax) bytes (Limits.lineBytesMax)")))
    }
}
