import CLZ4
import CZstd

/// A block compression codec. The raw values are stored on disk (format-spec.md §1.3).
public enum Codec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Stored as is.
    case none = 0
    /// LZ4 block format (`LZ4_compress_fast`, acceleration ``lz4Acceleration``), no frame.
    case lz4 = 1
    /// Zstandard frame (`ZSTD_compress`), with the content size in the frame header.
    case zstd = 2

    /// `none`, `lz4` or `zstd`.
    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses `none`, `lz4`, `zstd`.
    public init?(name: String) {
        switch name.lowercased() {
        case "none": self = .none
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }

    /// LZ4's acceleration for every lz4 block written: 2 compresses a 540 KB record batch of
    /// the benchmark's orders about 18 % faster than 1 (the default) for 0.1 % more bytes
    /// (BENCHMARKS.md). Decoding does not depend on it.
    public static let lz4Acceleration: Int32 = 2

    /// Compresses `input` and appends the result to `output`; returns the number of bytes appended.
    /// - Parameter level: zstd level (ignored by the other codecs).
    /// - Complexity: O(n).
    @discardableResult
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int32 = 1) throws(LambdaStoreError) -> Int {
        switch self {
        case .none:
            output.append(contentsOf: input)
            return input.count
        case .lz4:
            guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else {
                throw LambdaStoreError(.limitExceeded, "lz4 input of \(input.count) bytes exceeds LZ4_MAX_INPUT_SIZE")
            }
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: bound))
            let written: Int32 = output.withUnsafeMutableBytes { out in
                LZ4_compress_fast(
                    input.baseAddress?.assumingMemoryBound(to: CChar.self),
                    out.baseAddress!.advanced(by: start).assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(bound), Codec.lz4Acceleration)
            }
            guard written > 0 || input.count == 0 else {
                output.removeLast(bound)
                throw LambdaStoreError(.io, "lz4 compression failed")
            }
            output.removeLast(bound - Int(written))
            return Int(written)
        case .zstd:
            let bound = ZSTD_compressBound(input.count)
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: bound))
            let written: Int = output.withUnsafeMutableBytes { out in
                ZSTD_compress(out.baseAddress!.advanced(by: start), bound, input.baseAddress, input.count, level)
            }
            if ZSTD_isError(written) != 0 {
                output.removeLast(bound)
                throw LambdaStoreError(.io, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
            }
            output.removeLast(bound - written)
            return written
        }
    }

    /// Decompresses `input` into `output`, which must be exactly the uncompressed size.
    ///
    /// Throws ``LambdaStoreError/Code/corruption`` when the data does not decode to exactly
    /// `output.count` bytes; never reads or writes outside the two buffers.
    /// - Complexity: O(n).
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(LambdaStoreError) {
        switch self {
        case .none:
            guard input.count == output.count else {
                throw LambdaStoreError(.corruption, "stored size \(input.count) != expected \(output.count)")
            }
            if input.count > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: input.count) }
        case .lz4:
            guard input.count <= Int(Int32.max), output.count <= Int(Int32.max) else {
                throw LambdaStoreError(.limitExceeded, "lz4 block too large")
            }
            if output.count == 0 && input.count <= 1 { return }
            guard let inBase = input.baseAddress, let outBase = output.baseAddress else {
                throw LambdaStoreError(.corruption, "lz4 block is empty")
            }
            let n = LZ4_decompress_safe(
                inBase.assumingMemoryBound(to: CChar.self), outBase.assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(output.count))
            guard n == Int32(output.count) else {
                throw LambdaStoreError(.corruption, "lz4 block does not decode to \(output.count) bytes (got \(n))")
            }
        case .zstd:
            guard let inBase = input.baseAddress else { throw LambdaStoreError(.corruption, "zstd frame is empty") }
            let n = ZSTD_decompress(output.baseAddress, output.count, inBase, input.count)
            if ZSTD_isError(n) != 0 {
                throw LambdaStoreError(.corruption, "zstd frame does not decode: \(String(cString: ZSTD_getErrorName(n)))")
            }
            guard n == output.count else {
                throw LambdaStoreError(.corruption, "zstd frame decodes to \(n) bytes, expected \(output.count)")
            }
        }
    }

    /// Convenience: decompress into a new array of `uncompressedSize` bytes (bounded by the caller).
    public func decompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int) throws(LambdaStoreError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: uncompressedSize)
        try typed { try out.withUnsafeMutableBytes { o in try decompress(input, into: o) } }
        return out
    }
}
