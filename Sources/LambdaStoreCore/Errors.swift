/// The single error type of LambdaStore: a code, a one-line message, and where it happened.
///
/// Four kinds of failure are kept apart (see `STYLE.md`): a torn tail is a *recovery result*,
/// not an error; damage mid-file is ``Code/corruption`` with its file and byte offset; API misuse
/// and bad input are ``Code/invalidArgument`` and friends; internal invariants are assertions.
///
/// `description` is always one line, e.g.
/// `corruption: streams/orders/00000000000000001024.segment @ 5120: checksum mismatch (stored 0x1a2b3c4d, computed 0x99887766)`.
public struct LambdaStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, in categories a caller can switch on.
    public enum Code: String, Sendable, Equatable {
        /// Stored bytes fail a checksum, a magic number, or a structural bound.
        case corruption
        /// The operating system refused an operation (carries `errno`).
        case io
        /// A caller passed an argument that cannot be accepted (bad name, bad option).
        case invalidArgument = "invalid argument"
        /// A schema change, or a record, that does not fit the stream's schema.
        case schema
        /// A view definition or filter that does not parse or type-check.
        case view
        /// A stream, view, file or record that does not exist.
        case notFound = "not found"
        /// Something that must be unique already exists.
        case alreadyExists = "already exists"
        /// Another process holds the store's writer lock.
        case locked
        /// A file format version or feature this build does not understand.
        case unsupported
        /// A length or count beyond one of the ``Limits``.
        case limitExceeded = "limit exceeded"
        /// A state the operation cannot run in (e.g. store opened read-only).
        case precondition
    }

    /// The category.
    public var code: Code
    /// A human-readable reason, one line, without the file/offset prefix.
    public var message: String
    /// The file involved, relative to the store root where possible.
    public var path: String?
    /// The byte offset in `path` where the problem was found.
    public var offset: Int64?
    /// `errno` for ``Code/io`` errors.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    /// `code: path @ offset: message`, one line.
    public var description: String {
        var s = code.rawValue + ": "
        if let path {
            s += path
            if let offset { s += " @ \(offset)" }
            s += ": "
        }
        s += message
        if let errno { s += " (errno \(errno))" }
        return String(s.map { $0 == "\n" ? " " : $0 })
    }

    /// A corruption error at `path`/`offset`.
    public static func corruption(_ message: String, path: String?, offset: Int64?) -> LambdaStoreError {
        LambdaStoreError(.corruption, message, path: path, offset: offset)
    }

    /// A checksum mismatch, formatted the same way everywhere.
    public static func checksumMismatch(stored: UInt32, computed: UInt32, what: String, path: String?, offset: Int64?) -> LambdaStoreError {
        LambdaStoreError(.corruption, "\(what) checksum mismatch (stored \(hex32(stored)), computed \(hex32(computed)))", path: path, offset: offset)
    }

    /// Returns a copy with `path` (and optionally an offset) filled in when absent.
    public func at(path: String, offset: Int64? = nil) -> LambdaStoreError {
        var e = self
        if e.path == nil { e.path = path }
        if e.offset == nil, let offset { e.offset = offset }
        return e
    }
}

/// `0x` followed by eight lowercase hex digits.
@inlinable
public func hex32(_ v: UInt32) -> String {
    let h = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - h.count)) + h
}

/// Runs `body` (a closure passed through an untyped-`rethrows` API such as
/// `withUnsafeBytes`) and rethrows its error as a ``LambdaStoreError``.
@inlinable
public func typed<R>(_ body: () throws -> R) throws(LambdaStoreError) -> R {
    do { return try body() } catch let e as LambdaStoreError { throw e } catch {
        throw LambdaStoreError(.io, "unexpected error: \(error)")
    }
}
