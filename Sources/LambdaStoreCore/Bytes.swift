/// Appends little-endian values to a growable byte array (format-spec.md §1.1: every integer
/// on disk is little-endian, every float is its IEEE-754 bit pattern, little-endian).
///
/// `write*` appends, `set*(at:)` overwrites in place (the swift-nio `ByteBuffer` verbs).
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// An empty writer, optionally reserving `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        if capacity > 0 { bytes.reserveCapacity(capacity) }
    }

    /// The number of bytes written.
    @inlinable public var count: Int { bytes.count }

    /// Appends `value` as little-endian.
    @inlinable
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends the IEEE-754 bits of `value`, little-endian.
    @inlinable
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    /// Appends raw bytes.
    @inlinable
    public mutating func write(bytes other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }

    /// Appends raw bytes.
    @inlinable
    public mutating func write(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// Appends a u32 byte length followed by the UTF-8 bytes of `string`.
    @inlinable
    public mutating func writeString32(_ string: String) {
        var s = string
        s.withUTF8 { u in
            write(UInt32(u.count))
            bytes.append(contentsOf: u)
        }
    }

    /// Appends a u16 byte length followed by the UTF-8 bytes of `string`.
    @inlinable
    public mutating func writeString16(_ string: String) {
        var s = string
        s.withUTF8 { u in
            write(UInt16(truncatingIfNeeded: u.count))
            bytes.append(contentsOf: u.prefix(Int(UInt16.max)))
        }
    }

    /// Appends `count` zero bytes.
    @inlinable
    public mutating func writeZeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// Overwrites `value` at `offset` (which must already be written).
    @inlinable
    public mutating func set<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "set(at:) out of range")
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    /// CRC32C of `bytes[range]`.
    @inlinable
    public func crc32c(_ range: Range<Int>) -> UInt32 { CRC32C.checksum(bytes, range) }
}

/// Reads little-endian values from a byte buffer with every access bounds-checked.
///
/// `read*` consumes, `get*(at:)` peeks. Every failure is a ``LambdaStoreError`` with code
/// ``LambdaStoreError/Code/corruption`` naming what was being read and the absolute offset
/// (`base` + position), so callers can add the file path with ``LambdaStoreError/at(path:offset:)``.
/// Never traps on any input.
public struct ByteReader {
    /// The bytes being read.
    public let buffer: UnsafeRawBufferPointer
    /// The position of the next read, relative to `buffer`.
    public var position: Int
    /// Added to positions in error messages (the buffer's offset in its file).
    public let base: Int64

    /// A reader over `buffer`, whose first byte sits at `base` in its file.
    public init(_ buffer: UnsafeRawBufferPointer, base: Int64 = 0) {
        self.buffer = buffer
        self.position = 0
        self.base = base
    }

    /// Bytes not yet read.
    @inlinable public var remaining: Int { buffer.count - position }
    /// Whether everything was read.
    @inlinable public var isAtEnd: Bool { position >= buffer.count }

    @usableFromInline
    func short(_ what: String, need: Int) -> LambdaStoreError {
        LambdaStoreError(.corruption, "\(what): needs \(need) bytes, only \(max(0, remaining)) left", offset: base + Int64(position))
    }

    /// Reads a little-endian integer.
    @inlinable
    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String = "integer") throws(LambdaStoreError) -> T {
        let n = MemoryLayout<T>.size
        guard position >= 0, n <= remaining else { throw short(what(), need: n) }
        let v = buffer.loadUnaligned(fromByteOffset: position, as: T.self)
        position += n
        return T(littleEndian: v)
    }

    /// Reads an IEEE-754 double.
    @inlinable
    public mutating func readDouble(_ what: @autoclosure () -> String = "float64") throws(LambdaStoreError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads `count` raw bytes as a slice of the buffer (no copy).
    @inlinable
    public mutating func readSlice(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(LambdaStoreError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw short(what(), need: count) }
        let s = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)])
        position += count
        return s
    }

    /// Reads `count` bytes into a new array.
    @inlinable
    public mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(LambdaStoreError) -> [UInt8] {
        [UInt8](try readSlice(count, what()))
    }

    /// Reads a u32-length-prefixed UTF-8 string of at most `max` bytes.
    public mutating func readString32(max: Int, _ what: @autoclosure () -> String = "string") throws(LambdaStoreError) -> String {
        let at = position
        let n = Int(try read(UInt32.self, what() + " length"))
        guard n <= max else {
            throw LambdaStoreError(.corruption, "\(what()) length \(n) exceeds limit \(max)", offset: base + Int64(at))
        }
        return try decodeUTF8(try readSlice(n, what()), what(), at: at)
    }

    /// Reads a u16-length-prefixed UTF-8 string.
    public mutating func readString16(_ what: @autoclosure () -> String = "string") throws(LambdaStoreError) -> String {
        let at = position
        let n = Int(try read(UInt16.self, what() + " length"))
        return try decodeUTF8(try readSlice(n, what()), what(), at: at)
    }

    private func decodeUTF8(_ s: UnsafeRawBufferPointer, _ what: String, at: Int) throws(LambdaStoreError) -> String {
        guard let str = String(validating: s.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw LambdaStoreError(.corruption, "\(what) is not valid UTF-8", offset: base + Int64(at))
        }
        return str
    }

    /// Skips `count` bytes.
    @inlinable
    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(LambdaStoreError) {
        guard count >= 0, count <= remaining else { throw short(what(), need: count) }
        position += count
    }

    /// Peeks a little-endian integer at an absolute position in the buffer.
    @inlinable
    public func get<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= buffer.count else { return nil }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Throws a corruption error unless `value <= max`.
    @inlinable
    public func bound(_ value: Int, max: Int, _ what: @autoclosure () -> String) throws(LambdaStoreError) {
        guard value >= 0, value <= max else {
            throw LambdaStoreError(.corruption, "\(what()) \(value) out of bounds (max \(max))", offset: base + Int64(position))
        }
    }
}

extension Array {
    /// `init(unsafeUninitializedCapacity:initializingWith:)`, except that a capacity of zero
    /// gives `[]` without calling `body`. The standard initializer writes the count (0) into
    /// Swift's one shared empty-array storage for every zero-capacity call, so two threads
    /// building empty arrays at once race on it (Thread Sanitizer reports it; the parallel
    /// batch, snapshot and drift paths build empty columns for empty parts and windows).
    @inlinable package init<E: Error>(zeroSafeCapacity capacity: Int,
                                      initializingWith body: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws(E) -> Void) throws(E) {
        if capacity <= 0 {
            self = []
            return
        }
        var failure: E? = nil
        self.init(unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(E) { try body(&buffer, &count) } catch { failure = error; count = 0 }
        }
        if let failure { throw failure }
    }
}
