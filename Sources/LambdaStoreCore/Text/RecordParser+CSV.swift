extension RecordParser {
    /// A converted CSV cell (strings stay where they are and are recorded as a range).
    enum CellValue {
        case int(Int64)
        case double(Double)
        case string
    }

    /// Parses one non-blank CSV line: the header first, then data lines.
    mutating func parseCSVLine(_ p: UnsafeRawBufferPointer, lineNumber: Int, into batch: inout ColumnBatch) -> RejectedLine? {
        if let failure = headerFailure { return RejectedLine(line: lineNumber, reason: failure, isFatal: true) }
        guard let header else { return readHeader(p, lineNumber: lineNumber) }
        nextGeneration()
        switch splitCells(p, maxCells: header.count) {
        case .ok: break
        case .tooManyCells: return RejectedLine(line: lineNumber, reason: "more than \(header.count) cells, the header has \(header.count)")
        case .malformed(let e): return RejectedLine(line: lineNumber, reason: e)
        }
        guard cellStart.count == header.count else {
            return RejectedLine(line: lineNumber, reason: "found \(cellStart.count) cells, the header has \(header.count)")
        }
        for c in 0..<header.count {
            let f = header[c]
            let a = cellStart[c], b = cellEnd[c], flags = cellFlags[c]
            let inScratch = flags & 2 != 0
            if a == b {
                // Empty: missing, except a quoted "" in a string field, the empty string.
                guard flags & 1 != 0, types[f] == .string else { continue }
            }
            let type = types[f]
            let converted: Result<CellValue, ReasonError>
            if inScratch {
                converted = scratch.withUnsafeBytes { s in Self.convert(UnsafeRawBufferPointer(rebasing: s[a..<b]), type) }
            } else {
                converted = Self.convert(UnsafeRawBufferPointer(rebasing: p[a..<b]), type)
            }
            switch converted {
            case .failure(let e):
                return RejectedLine(line: lineNumber, reason: "field '\(schema.fields[f].name)': \(e.reason)")
            case .success(.int(let v)): slotInt[f] = v
            case .success(.double(let d)): slotDouble[f] = d
            case .success(.string):
                slotStart[f] = a
                slotCount[f] = b - a
                slotInScratch[f] = inScratch
            }
            stamp[f] = generation
            slotIsNull[f] = false
        }
        if let f = firstMissingRequired() {
            return RejectedLine(line: lineNumber, reason: "missing value for field '\(schema.fields[f].name)' (empty cell, no default, not nullable)")
        }
        appendSlots(p, into: &batch)
        return nil
    }

    /// Converts the text of one cell to `type` (rules in ``FieldText``).
    static func convert(_ cell: UnsafeRawBufferPointer, _ type: FieldType) -> Result<CellValue, ReasonError> {
        func mismatch(_ extra: String = "") -> Result<CellValue, ReasonError> {
            .failure(ReasonError(FieldText.expected(type) + ", got " + TextScan.quoted(cell) + extra))
        }
        switch type {
        case .int64:
            guard let v = TextScan.parseInt64(cell, 0, cell.count) else {
                let scan = TextScan.scanNumber(cell, 0, cell.count)
                let outOfRange = scan.error == nil && scan.end == cell.count && scan.isInteger
                return mismatch(outOfRange ? " (out of range)" : "")
            }
            return .success(.int(v))
        case .float64:
            guard let d = TextScan.parseDouble(cell, 0, cell.count) else { return mismatch() }
            guard d.isFinite else { return mismatch(" (out of range)") }
            return .success(.double(d))
        case .timestamp:
            guard let t = Timestamp.parse(cell) else {
                let scan = TextScan.scanNumber(cell, 0, cell.count)
                let outOfRange = scan.error == nil && scan.end == cell.count && scan.isInteger
                return mismatch(outOfRange ? Timestamp.outsideRangeReason : "")
            }
            guard Timestamp.supportedRange.contains(t) else { return mismatch(Timestamp.outsideRangeReason) }
            return .success(.int(t))
        case .bool:
            if cell.elementsEqual("true".utf8) { return .success(.int(1)) }
            if cell.elementsEqual("false".utf8) { return .success(.int(0)) }
            return mismatch()
        case .string:
            guard cell.count <= Limits.stringBytesMax else { return .failure(ReasonError(FieldText.tooLong(cell.count))) }
            guard TextScan.isValidUTF8(cell, 0, cell.count) else { return .failure(ReasonError("invalid UTF-8 in string")) }
            return .success(.string)
        }
    }

    /// Reads the header line: maps each column to its field or refuses the whole input.
    mutating func readHeader(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> RejectedLine? {
        var p = line
        if p.count >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF {
            p = UnsafeRawBufferPointer(rebasing: p[3...])
        }
        func fatal(_ reason: String) -> RejectedLine {
            headerFailure = "input rejected: the CSV header on line \(lineNumber) is unusable"
            return RejectedLine(line: lineNumber, reason: "CSV header: " + reason, isFatal: true)
        }
        scratch.removeAll(keepingCapacity: true)
        switch splitCells(p, maxCells: types.count) {
        case .ok: break
        case .tooManyCells: return fatal("more than \(types.count) cells, the schema has \(types.count) fields")
        case .malformed(let e): return fatal(e)
        }
        var map: [Int] = []
        var columnOf = [Int?](repeating: nil, count: types.count)
        for c in 0..<cellStart.count {
            let a = cellStart[c], b = cellEnd[c]
            let name: [UInt8] = cellFlags[c] & 2 != 0 ? Array(scratch[a..<b]) : Array(p[a..<b])
            guard let f = nameBytes.firstIndex(of: name) else {
                return fatal("unknown field \(Self.fieldName(String(decoding: name, as: UTF8.self))) (header cell \(c + 1))")
            }
            if let first = columnOf[f] {
                return fatal("field '\(schema.fields[f].name)' appears twice (header cells \(first + 1) and \(c + 1))")
            }
            columnOf[f] = c
            map.append(f)
        }
        for f in 0..<types.count where columnOf[f] == nil && defaults[f] == nil && !nullable[f] {
            return fatal("no column for required field '\(schema.fields[f].name)' (not nullable, no default)")
        }
        header = map
        return nil
    }

    /// The outcome of splitting a CSV line.
    enum SplitOutcome {
        case ok
        case tooManyCells
        case malformed(String)
    }

    /// Splits `p` into RFC 4180 cells (``cellStart``, ``cellEnd``, ``cellFlags``); cells with
    /// `""` escapes are unescaped into ``scratch``. Stops early past `maxCells` cells, so a
    /// hostile line cannot grow the cell arrays beyond the schema's width.
    mutating func splitCells(_ p: UnsafeRawBufferPointer, maxCells: Int) -> SplitOutcome {
        cellStart.removeAll(keepingCapacity: true)
        cellEnd.removeAll(keepingCapacity: true)
        cellFlags.removeAll(keepingCapacity: true)
        let n = p.count
        var i = 0
        while true {
            if cellStart.count == maxCells { return .tooManyCells }
            if i < n && p[i] == TextScan.quote {
                let open = i
                i += 1
                var s = i
                var scratchStart = -1
                while true {
                    while i < n && p[i] != TextScan.quote { i += 1 }
                    guard i < n else {
                        return .malformed("unterminated quoted cell starting at column \(open + 1) (a quoted cell cannot span lines)")
                    }
                    if i + 1 < n && p[i + 1] == TextScan.quote {
                        if scratchStart < 0 { scratchStart = scratch.count }
                        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[s...i]))
                        i += 2
                        s = i
                        continue
                    }
                    if scratchStart >= 0 {
                        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[s..<i]))
                        cellStart.append(scratchStart); cellEnd.append(scratch.count); cellFlags.append(3)
                    } else {
                        cellStart.append(s); cellEnd.append(i); cellFlags.append(1)
                    }
                    i += 1
                    break
                }
                if i < n && p[i] != TextScan.comma {
                    return .malformed("expected ',' after the closing quote at column \(i + 1)")
                }
            } else {
                let s = i
                while i < n && p[i] != TextScan.comma {
                    if p[i] == TextScan.quote { return .malformed("unexpected '\"' in an unquoted cell at column \(i + 1)") }
                    i += 1
                }
                cellStart.append(s); cellEnd.append(i); cellFlags.append(0)
            }
            if i < n {
                i += 1   // the comma; a comma at the very end leaves one more, empty, cell
                continue
            }
            return .ok
        }
    }
}
