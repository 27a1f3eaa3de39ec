// Checks of a Column's internal consistency: what the encoder, the decoder and the unsafe
// kernels (filters, aggregation) assume of its storage.

extension Column {
    /// Why this column's storage cannot be read safely, or nil when it can: the storage of its
    /// type holds ``count`` values, a bitmap is present (`(count + 7) / 8` bytes) when there are
    /// nulls, string offsets are `count + 1` ascending entries from 0 that end within the bytes,
    /// and a dictionary has one code per row into well-formed entries.
    ///
    /// What the unsafe kernels rely on (filters, aggregation); ``problem(nullable:)`` checks
    /// more.
    /// - Complexity: O(count) for string columns (the offsets are scanned), O(1) otherwise.
    public func storageProblem() -> String? {
        let n = count
        guard n >= 0, _nullCount >= 0, _nullCount <= n else { return "\(_nullCount) nulls in \(n) rows" }
        if hasNulls && _validity.count < (n + 7) / 8 {
            return "validity bitmap of \(_validity.count) bytes for \(n) rows"
        }
        switch type {
        case .float64:
            if _doubles.count != n { return "\(_doubles.count) float64 values for \(n) rows" }
        case .string:
            if let d = _dictionary {
                if d.codes.count != n { return "\(d.codes.count) dictionary codes for \(n) rows" }
                if n > 0 && d.entries.count == 0 { return "codes into an empty dictionary" }
                if let p = d.entries.stringStorageProblem() { return "dictionary entries: " + p }
            } else if let p = stringStorageProblem() {
                return p
            }
        case .int64, .timestamp, .bool:
            if _ints.count != n { return "\(_ints.count) \(type) values for \(n) rows" }
        }
        return nil
    }

    /// The plain string storage check of ``storageProblem()``.
    func stringStorageProblem() -> String? {
        let n = count
        guard _offsets.count == n + 1 else { return "\(_offsets.count) string offsets for \(n) rows (expected \(n + 1))" }
        let byteCount = _utf8.count
        return _offsets.withUnsafeBufferPointer { o -> String? in
            guard o[0] == 0 else { return "string offsets start at \(o[0]), not 0" }
            // Ascending and ending within the bytes: then every offset is within them.
            guard Int(o[n]) <= byteCount else { return "string offsets end at \(o[n]), beyond the \(byteCount) bytes" }
            var decreases: UInt8 = 0
            for i in 0..<n { decreases |= o[i] > o[i + 1] ? 1 : 0 }
            guard decreases == 0 else {
                let row = (0..<n).first { o[$0] > o[$0 + 1] } ?? 0
                return "string offsets decrease at row \(row)"
            }
            return nil
        }
    }

    /// Why this column does not hold well-formed values of its type, or nil: the storage is
    /// consistent (``storageProblem()``), no typed append of another type was made
    /// (``misTypedAppend``), ``nullCount`` matches the bitmap, there are no nulls unless
    /// `nullable`, `bool` values are 0 or 1, dictionary codes are in range, and strings are
    /// valid UTF-8.
    ///
    /// What `ColumnBatch.validate(against:)` requires of every column before a batch is
    /// written.
    /// - Complexity: O(count + bytes).
    public func problem(nullable: Bool) -> String? {
        problem(nullable: nullable, valuesChecked: false)
    }

    /// ``problem(nullable:)``; with `valuesChecked` (values checked one by one as they were
    /// appended, see `ColumnBatch.validate(against:valuesChecked:)`) only the O(1) checks.
    package func problem(nullable: Bool, valuesChecked: Bool) -> String? {
        if let m = misTypedAppend { return m }
        if let p = storageProblem() { return p }
        let n = count
        if hasNulls {
            guard nullable else { return "null in a non-nullable field" }
            if valuesChecked { return nil }
            var valid = 0
            _validity.withUnsafeBufferPointer { v in
                for b in 0..<(n >> 3) { valid += v[b].nonzeroBitCount }
                if n & 7 != 0 { valid += (v[n >> 3] & UInt8((1 << (n & 7)) - 1)).nonzeroBitCount }
            }
            if n - valid != _nullCount { return "null count \(_nullCount) but the bitmap has \(n - valid) nulls" }
        }
        if valuesChecked { return nil }
        switch type {
        case .bool:
            if let i = _ints.firstIndex(where: { $0 != 0 && $0 != 1 }) { return "bool value \(_ints[i]) at row \(i) (0 or 1 allowed)" }
        case .string:
            if let d = _dictionary {
                let k = d.entries.count
                if let i = d.codes.firstIndex(where: { Int($0) >= k }) {
                    return "dictionary code \(d.codes[i]) at row \(i) outside the \(k) entries"
                }
                if d.entries.hasNulls { return "dictionary entries hold a null" }
                if let p = d.entries.utf8Problem() { return "dictionary entries: " + p }
            } else if let p = utf8Problem() {
                return p
            }
        default:
            break
        }
        return nil
    }

    /// Why the strings of a plain string column with consistent storage are not valid UTF-8:
    /// the bytes as a whole must be valid and every row must start on a character boundary.
    func utf8Problem() -> String? {
        _utf8.withUnsafeBytes { u -> String? in
            var i = 0
            let end = u.count
            while i < end {
                if i + 8 <= end && u.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
                if u[i] < 0x80 { i += 1; continue }
                guard let next = TextScan.utf8SequenceEnd(u, i, end) else { return "invalid UTF-8 at byte \(i) of the strings" }
                i = next
            }
            for (row, o) in _offsets.enumerated() where Int(o) < end && u[Int(o)] & 0xC0 == 0x80 {
                return "string of row \(row) starts inside a UTF-8 character"
            }
            return nil
        }
    }
}
