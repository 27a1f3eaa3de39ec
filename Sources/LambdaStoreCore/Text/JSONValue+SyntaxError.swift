/// Where and why ``JSONValue/parse(_:)-(UnsafeRawBufferPointer)`` rejected a text, for a caller
/// that reports JSON syntax errors in its own words, e.g. the view file
/// (`view file: line 1, column 72: unexpected '}', expected a string key in object`,
/// format-spec.md §3a.1).
///
/// ```swift
/// do { _ = try JSONValue.parse(bytes) } catch {
///     let s = bytes.withUnsafeBytes { JSONSyntaxError(error, in: $0) }
///     // s?.line, s?.column, s?.reason
/// }
/// ```
///
/// Thread safety: a value type.
public struct JSONSyntaxError: Sendable, Equatable {
    /// 0-based byte offset of the offending byte (the input's length at end of input).
    public var offset: Int
    /// 1-based line: one more than the LF bytes before ``offset``.
    public var line: Int
    /// 1-based column of ``offset`` in its line, counting bytes (UTF-8 code units).
    public var column: Int
    /// The reason without the location, e.g. `duplicate key "name"`.
    public var reason: String

    /// The line and column of byte `offset` of `bytes`, both 1-based, counting bytes.
    /// - Complexity: O(offset).
    public static func lineAndColumn(of offset: Int, in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        var line = 1, lineStart = 0
        let end = Swift.min(offset, bytes.count)
        var i = 0
        while i < end {
            if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
            i += 1
        }
        return (line, offset - lineStart + 1)
    }

    /// Takes apart an error that ``JSONValue/parse(_:)-(UnsafeRawBufferPointer)`` threw for
    /// `bytes`: its offset, line, column and reason. Nil for any other error (another code, no
    /// offset, or a message that is not `invalid JSON at LOCATION: reason` for that offset).
    /// - Complexity: O(offset).
    public init?(_ error: LambdaStoreError, in bytes: UnsafeRawBufferPointer) {
        guard error.code == .invalidArgument, let at = error.offset, at >= 0, at <= Int64(bytes.count) else { return nil }
        let offset = Int(at)
        let prefix = "invalid JSON at " + JSONValue.location(of: offset, in: bytes) + ": "
        guard error.message.hasPrefix(prefix) else { return nil }
        let (line, column) = Self.lineAndColumn(of: offset, in: bytes)
        self.offset = offset
        self.line = line
        self.column = column
        self.reason = String(error.message.dropFirst(prefix.count))
    }
}
