extension RecordParser {
    /// The JSONL fast path: parses `p` as one flat JSON object straight into the slots, with no
    /// allocation. Returns true when the line is certainly valid and every slot is filled (the
    /// caller then appends); false when the line is invalid *or* uses something this path does
    /// not handle (escapes or non-ASCII in keys, escapes in strings, an ISO timestamp with
    /// escapes), and the reference path must decide.
    ///
    /// It accepts only what ``referenceRow(_:schema:)`` accepts, with the same values: the
    /// same grammar checks (whitespace, number grammar, UTF-8 validity, literal spelling, end
    /// of input), the same type rules, duplicate and unknown keys refused.
    mutating func parseJSONFast(_ p: UnsafeRawBufferPointer) -> Bool {
        nextGeneration()
        let n = p.count
        var i = 0
        @inline(__always) func skipSpace() { while i < n && TextScan.isSpace(p[i]) { i += 1 } }
        @inline(__always) func literal(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
            // The first byte was checked by the caller; matches the next three.
            guard i + 3 < n else { return false }
            guard p[i + 1] == a, p[i + 2] == b, p[i + 3] == c else { return false }
            i += 4
            return true
        }
        skipSpace()
        guard i < n, p[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < n && p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            var k = 0
            while true {
                // Key: ASCII without escapes.
                guard i < n, p[i] == TextScan.quote else { return false }
                i += 1
                let f: Int
                if let guess = plainKeyMatch(p, at: i, position: k) {
                    // The previous line's key at this position, then a quote: the scan below
                    // would stop at that quote and match that field.
                    f = guess
                    i += nameBytes[guess].count
                } else {
                    let ks = i
                    while i < n {
                        let b = p[i]
                        if b == TextScan.quote || b == TextScan.backslash || b < 0x20 || b >= 0x80 { break }
                        i += 1
                    }
                    guard i < n, p[i] == TextScan.quote else { return false }
                    guard let found = fieldIndex(p, ks, i, position: k) else { return false }
                    f = found
                }
                i += 1
                k += 1
                guard stamp[f] != generation else { return false }
                stamp[f] = generation
                skipSpace()
                guard i < n, p[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skipSpace()
                guard i < n else { return false }
                let c = p[i]
                if c == UInt8(ascii: "n") {
                    guard nullable[f], literal(UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")) else { return false }
                    slotIsNull[f] = true
                } else {
                    slotIsNull[f] = false
                    switch types[f] {
                    case .int64:
                        if let (v, end) = TextScan.plainInt64(p, i, n) {
                            slotInt[f] = v
                            i = end
                            break
                        }
                        let scan = TextScan.scanNumber(p, i, n)
                        guard scan.error == nil, scan.isInteger, let v = TextScan.parseInt64(p, i, scan.end) else { return false }
                        slotInt[f] = v
                        i = scan.end
                    case .timestamp:
                        if c == TextScan.quote {
                            i += 1
                            let s = i
                            while i < n && p[i] != TextScan.quote && p[i] != TextScan.backslash && p[i] >= 0x20 && p[i] < 0x80 { i += 1 }
                            guard i < n, p[i] == TextScan.quote,
                                  let t = Timestamp.parseISO8601(UnsafeRawBufferPointer(rebasing: p[s..<i])),
                                  Timestamp.supportedRange.contains(t) else { return false }
                            slotInt[f] = t
                            i += 1
                        } else if let (v, end) = TextScan.plainInt64(p, i, n), Timestamp.supportedRange.contains(v) {
                            slotInt[f] = v
                            i = end
                        } else {
                            let scan = TextScan.scanNumber(p, i, n)
                            guard scan.error == nil, scan.isInteger, let v = TextScan.parseInt64(p, i, scan.end),
                                  Timestamp.supportedRange.contains(v) else { return false }
                            slotInt[f] = v
                            i = scan.end
                        }
                    case .float64:
                        let scan = TextScan.scanNumber(p, i, n)
                        guard scan.error == nil, let d = TextScan.parseDouble(p, i, scan.end), d.isFinite else { return false }
                        slotDouble[f] = d
                        i = scan.end
                    case .bool:
                        if c == UInt8(ascii: "t") {
                            guard literal(UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")) else { return false }
                            slotInt[f] = 1
                        } else {
                            guard c == UInt8(ascii: "f"), literal(UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s")),
                                  i < n, p[i] == UInt8(ascii: "e") else { return false }
                            i += 1
                            slotInt[f] = 0
                        }
                    case .string:
                        guard c == TextScan.quote else { return false }
                        i += 1
                        let s = i
                        while i < n {
                            let b = p[i]
                            if b == TextScan.quote { break }
                            if b == TextScan.backslash || b < 0x20 { return false }
                            if b >= 0x80 {
                                guard let next = TextScan.utf8SequenceEnd(p, i, n) else { return false }
                                i = next
                            } else {
                                i += 1
                            }
                        }
                        guard i < n, i - s <= Limits.stringBytesMax else { return false }
                        slotStart[f] = s
                        slotCount[f] = i - s
                        slotInScratch[f] = false
                        i += 1
                    }
                }
                skipSpace()
                guard i < n else { return false }
                if p[i] == TextScan.comma {
                    i += 1
                    skipSpace()
                    continue
                }
                guard p[i] == UInt8(ascii: "}") else { return false }
                i += 1
                break
            }
        }
        skipSpace()
        guard i == n else { return false }
        return firstMissingRequired() == nil
    }

    /// The field that held key position `k` on the previous line when its name is plain
    /// (ASCII, no quote, backslash or control byte) and `p` holds exactly that name at `start`
    /// followed by a quote; else nil (the caller scans the key).
    @inline(__always)
    func plainKeyMatch(_ p: UnsafeRawBufferPointer, at start: Int, position k: Int) -> Int? {
        guard k < keyHint.count else { return nil }
        let guess = keyHint[k]
        guard plainName[guess] else { return nil }
        return nameBytes[guess].withUnsafeBytes { name -> Int? in
            let end = start + name.count
            guard end < p.count, p[end] == TextScan.quote,
                  compareBytes(UnsafeRawBufferPointer(rebasing: p[start..<end]), name) == 0 else { return nil }
            return guess
        }
    }

    /// The field whose name is `p[start..<end]`, trying first the field that held key
    /// position `position` on the previous line (records usually repeat their key order).
    @inline(__always)
    mutating func fieldIndex(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, position k: Int) -> Int? {
        @inline(__always) func matches(_ f: Int) -> Bool {
            nameBytes[f].withUnsafeBufferPointer { name in
                guard name.count == end - start else { return false }
                var j = 0
                while j < name.count {
                    if name[j] != p[start + j] { return false }
                    j += 1
                }
                return true
            }
        }
        if k < keyHint.count {
            let guess = keyHint[k]
            if matches(guess) { return guess }
        }
        for f in 0..<nameBytes.count where matches(f) {
            if k < keyHint.count { keyHint[k] = f }
            return f
        }
        return nil
    }
}
