/// The text formats `lambdastore ingest` reads (rules in ``RecordParser``).
///
/// Thread safety: a value type.
public enum InputFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case jsonl
    /// RFC 4180 comma-separated values with a header line naming the fields.
    case csv

    /// The default for an input path (DESIGN.md): `csv` for a name ending in `.csv` (any
    /// case), `jsonl` otherwise (including stdin, `-`).
    public static func inferred(fromPath path: String) -> InputFormat {
        path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
    }
}

/// An input line that was not ingested, and why: `line 12: unknown field 'colour'`.
///
/// Thread safety: a value type.
public struct RejectedLine: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based physical line number.
    public var line: Int
    /// The reason, one line, naming the field where one is involved.
    public var reason: String
    /// Whether the whole input is unusable (a bad CSV header): the caller should stop reading
    /// and append nothing from this input. Every later line is rejected the same way.
    public var isFatal: Bool

    /// Creates a rejection.
    public init(line: Int, reason: String, isFatal: Bool = false) {
        self.line = line
        self.reason = reason
        self.isFatal = isFatal
    }

    /// `line N: reason`.
    public var description: String { "line \(line): \(reason)" }
}

/// Turns input lines (JSONL or CSV) into rows of a ``ColumnBatch`` laid out by one schema
/// version (normally the stream's latest), applying the ingest rules of DESIGN.md "Details".
///
/// Rules, for both formats:
/// - A field missing from the line takes its default, else null when nullable; otherwise the
///   line is rejected (`missing field 'amount_cents'`).
/// - An explicit JSON `null` is accepted only for a nullable field (a CSV cell cannot be null:
///   an empty cell is a missing value).
/// - An unknown field rejects the line, naming it (`unknown field 'colour'`); nothing is
///   silently dropped.
/// - A value of the wrong type rejects the line naming the field and the expected type
///   (`field 'amount_cents': expected int64, got string "12"`), by the table in ``FieldText``
///   (an `int64` takes integers only, a `float64` integers and floats, a `timestamp` epoch ms or
///   ISO-8601 with zone, a `bool` `true`/`false`, a `string` strings up to
///   ``Limits/stringBytesMax`` bytes).
/// - Blank lines (empty or only spaces, tabs, CR) are skipped: nothing appended, no rejection.
/// - A rejected line appends nothing: the whole line is checked before any column grows.
///
/// JSONL: each line is one JSON object (RFC 8259, strict: see
/// ``JSONValue/parse(_:)-(UnsafeRawBufferPointer)``; duplicate keys are rejected); a syntax
/// error is reported with its column: `invalid JSON at column 17: expected ':' after object key`.
/// A fast path parses plain lines (ASCII keys, no escapes in keys) straight into the columns
/// without building a ``JSONValue``; any line it does not fully accept is parsed again by the
/// reference path, which decides acceptance and the reason, so both paths always agree.
///
/// CSV: the first non-blank line fed is the header (normally line 1; a UTF-8 byte-order mark
/// before it is ignored). It must name each column's field exactly, once; an unknown or
/// duplicate name, or a required field (not nullable, no default) without a column, rejects
/// the whole input: that line and every later one come back as fatal rejections naming the
/// column. Cells follow RFC 4180 quoting (`"a,b"`, `""` for a quote inside quotes); a quoted
/// cell cannot span lines (ingest is line-based), so an unterminated quote rejects the line.
/// A quote inside an unquoted cell, or text after a closing quote, rejects the line. Cells are
/// not trimmed. An empty unquoted cell is a missing value; a quoted empty cell `""` is the
/// empty string for a `string` field and a missing value otherwise. Each line must have as
/// many cells as the header. Cell text parses per the field type (``FieldText``).
///
/// A trailing `\r` is removed from every line. Lines longer than ``Limits/lineBytesMax`` are
/// rejected.
///
/// The caller appends the batch to the log every N rows and starts a new one; string columns
/// use 32-bit offsets, so flush well before 4 GiB of string bytes (``Limits/batchBytesMax``).
///
/// Thread safety: a value type holding scratch buffers; use one parser per input.
public struct RecordParser: Sendable {
    /// The schema version rows are laid out by.
    public let schema: Schema
    /// The input format.
    public let format: InputFormat

    // Field metadata, by field index.
    let types: [FieldType]
    let nullable: [Bool]
    let defaults: [Value?]
    let nameBytes: [[UInt8]]
    /// Whether a field's name is ASCII without quote, backslash or control bytes (a JSON key
    /// that spells it needs no scan for escapes).
    let plainName: [Bool]

    // Per-line scratch: a field holds a value for this line when `stamp[f] == generation`.
    var generation: UInt32 = 0
    var stamp: [UInt32]
    var slotIsNull: [Bool]
    var slotInt: [Int64]
    var slotDouble: [Double]
    var slotStart: [Int]
    var slotCount: [Int]
    var slotInScratch: [Bool]
    /// Unescaped CSV cell bytes of the current line.
    var scratch: [UInt8] = []
    /// For the k-th key of the previous JSON line, its field index (a guess for this line).
    var keyHint: [Int]

    // CSV state.
    /// Column → field index, once the header is read.
    var header: [Int]? = nil
    /// The reason the header was refused; every later line is a fatal rejection.
    var headerFailure: String? = nil
    var cellStart: [Int] = []
    var cellEnd: [Int] = []
    var cellFlags: [UInt8] = []   // bit 0: quoted, bit 1: unescaped into `scratch`

    /// A parser for `schema` (checked with ``Schema/validate()``) and `format`.
    /// - Throws: ``LambdaStoreError/Code/schema`` when the schema is not valid.
    public init(schema: Schema, format: InputFormat) throws(LambdaStoreError) {
        try schema.validate()
        self.schema = schema
        self.format = format
        types = schema.fields.map(\.type)
        nullable = schema.fields.map(\.nullable)
        defaults = schema.fields.map(\.defaultValue)
        nameBytes = schema.fields.map { Array($0.name.utf8) }
        plainName = nameBytes.map { $0.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != TextScan.quote && $0 != TextScan.backslash } }
        let n = schema.fields.count
        stamp = Array(repeating: 0, count: n)
        slotIsNull = Array(repeating: false, count: n)
        slotInt = Array(repeating: 0, count: n)
        slotDouble = Array(repeating: 0, count: n)
        slotStart = Array(repeating: 0, count: n)
        slotCount = Array(repeating: 0, count: n)
        slotInScratch = Array(repeating: false, count: n)
        keyHint = Array(0..<n)
    }

    /// Whether every later line parses the same in any copy of this parser, so lines may be
    /// parsed by copies on several threads: always for JSON Lines; for CSV once the header
    /// line has been read (accepted or refused). Before that, lines must go through this one
    /// parser in order.
    public var headerIsSettled: Bool { format != .csv || header != nil || headerFailure != nil }

    /// An empty batch laid out for this parser's schema.
    public func makeBatch(capacity: Int = 0) -> ColumnBatch { ColumnBatch(schema: schema, capacity: capacity) }

    /// Parses one physical line (without its newline) and appends its row to `batch`, or
    /// returns why it was rejected; a blank line appends nothing and returns nil.
    ///
    /// `batch` must be laid out by this parser's schema (``makeBatch(capacity:)``).
    /// - Complexity: O(line bytes + fields).
    public mutating func parse(line: UnsafeRawBufferPointer, lineNumber: Int, into batch: inout ColumnBatch) -> RejectedLine? {
        precondition(batch.columns.count == types.count && batch.schemaVersion == schema.version,
                     "batch is not laid out by this parser's schema")
        var line = line
        if let last = line.last, last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > Limits.lineBytesMax {
            return RejectedLine(line: lineNumber, reason: "line longer than \(Limits.lineBytesMax) bytes (Limits.lineBytesMax)")
        }
        if TextScan.isBlank(line) { return nil }
        switch format {
        case .jsonl:
            if parseJSONFast(line) {
                appendSlots(line, into: &batch)
                return nil
            }
            switch Self.referenceRow(line, schema: schema) {
            case .success(let values):
                for (f, v) in values.enumerated() { try? batch.columns[f].append(v) }
                return nil
            case .failure(let e):
                return RejectedLine(line: lineNumber, reason: e.reason)
            }
        case .csv:
            return parseCSVLine(line, lineNumber: lineNumber, into: &batch)
        }
    }

    /// Starts a new line's scratch state.
    @inline(__always)
    mutating func nextGeneration() {
        generation &+= 1
        if generation == 0 {
            for f in stamp.indices { stamp[f] = 0 }
            generation = 1
        }
        scratch.removeAll(keepingCapacity: true)
    }

    /// Whether every field without a value on this line may be left out (default or nullable),
    /// or the first field that may not.
    func firstMissingRequired() -> Int? {
        for f in 0..<types.count where stamp[f] != generation && defaults[f] == nil && !nullable[f] { return f }
        return nil
    }

    /// Appends the slots filled for this line (strings from `line` or `scratch`), defaults and
    /// nulls for the rest. The caller has checked ``firstMissingRequired()``.
    mutating func appendSlots(_ line: UnsafeRawBufferPointer, into batch: inout ColumnBatch) {
        for f in 0..<types.count {
            if stamp[f] != generation {
                if let d = defaults[f] { try? batch.columns[f].append(d) } else { batch.columns[f].appendNull() }
                continue
            }
            if slotIsNull[f] { batch.columns[f].appendNull(); continue }
            switch types[f] {
            case .int64, .timestamp, .bool:
                batch.columns[f].append(int: slotInt[f])
            case .float64:
                batch.columns[f].append(double: slotDouble[f])
            case .string:
                let a = slotStart[f], n = slotCount[f]
                if slotInScratch[f] {
                    scratch.withUnsafeBytes { s in batch.columns[f].append(utf8: UnsafeRawBufferPointer(rebasing: s[a..<(a + n)])) }
                } else {
                    batch.columns[f].append(utf8: UnsafeRawBufferPointer(rebasing: line[a..<(a + n)]))
                }
            }
        }
    }

    /// The reference JSONL path: parses `line` into a ``JSONValue`` and applies the ingest
    /// rules in the order the members appear, then the missing fields in schema order. Returns
    /// the row's values in schema field order, or the reason for the rejection.
    /// - Complexity: O(line bytes + fields × members).
    static func referenceRow(_ line: UnsafeRawBufferPointer, schema: Schema) -> Result<[Value], ReasonError> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            return .failure(ReasonError(error.message))
        }
        guard case .object(let members) = value else {
            return .failure(ReasonError("expected a JSON object, got \(value.kindName)"))
        }
        var values = [Value?](repeating: nil, count: schema.fields.count)
        for m in members {
            guard let f = schema.index(of: m.key) else {
                return .failure(ReasonError("unknown field \(fieldName(m.key))"))
            }
            let field = schema.fields[f]
            if m.value.isNull {
                guard field.nullable else {
                    return .failure(ReasonError("field '\(field.name)': null is not allowed (the field is not nullable)"))
                }
                values[f] = .null
                continue
            }
            switch FieldText.value(fromJSON: m.value, type: field.type) {
            case .success(let v): values[f] = v
            case .failure(let e): return .failure(ReasonError("field '\(field.name)': \(e.reason)"))
            }
        }
        var row: [Value] = []
        row.reserveCapacity(values.count)
        for (f, v) in values.enumerated() {
            if let v { row.append(v); continue }
            let field = schema.fields[f]
            if let d = field.defaultValue { row.append(d) } else if field.nullable { row.append(.null) } else {
                return .failure(ReasonError("missing field '\(field.name)'"))
            }
        }
        return .success(row)
    }

    /// An input key for a reason: `'colour'`, cut to 64 bytes, control characters shown as `?`.
    static func fieldName(_ key: String) -> String {
        var s = ""
        var bytes = 0
        for ch in key.unicodeScalars {
            bytes += String(ch).utf8.count
            if bytes > 64 { s += "…"; break }
            s.unicodeScalars.append(ch.value < 0x20 || ch.value == 0x7F ? "?" : ch)
        }
        return "'" + s + "'"
    }
}
