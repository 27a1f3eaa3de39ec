// The writer's per-column state for the row group being built, and its encoding into a
// column chunk: an optional dictionary page, then data pages (v1), each zstd-compressed.

import LambdaStoreCore

/// Distinct strings of a column chunk in first-seen order, with an open-addressing hash table
/// from bytes to code. Refuses (returns nil) an insert past the dictionary limits.
struct StringDictionaryBuilder {
    var bytes: [UInt8] = []
    var offsets: [UInt32] = [0]
    /// Each slot: `hash >> 32 << 32 | (code + 1)`, 0 when empty.
    private var slots = [UInt64](repeating: 0, count: 1024)
    /// The dictionary page's size: 4 + length per entry.
    private(set) var plainBytes = 0

    var count: Int { offsets.count - 1 }

    func entry(_ e: Int) -> Range<Int> { Int(offsets[e])..<Int(offsets[e + 1]) }

    mutating func code(_ s: UnsafeRawBufferPointer) -> UInt32? {
        let h = fastBytesHash(s)
        let tag = h >> 32
        let mask = slots.count - 1
        var j = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[j]
            if slot == 0 { break }
            if slot >> 32 == tag {
                let e = Int(slot & 0xFFFF_FFFF) - 1
                let r = entry(e)
                if r.count == s.count && (s.isEmpty || bytes.withUnsafeBytes { bytesEqual($0.baseAddress.unsafelyUnwrapped + r.lowerBound, s.baseAddress.unsafelyUnwrapped, count: s.count) }) {
                    return UInt32(truncatingIfNeeded: e)
                }
            }
            j = (j + 1) & mask
        }
        guard count < ParquetLimits.dictionaryEntriesMax, plainBytes + 4 + s.count <= ParquetLimits.dictionaryBytesMax else { return nil }
        let code = count
        bytes.append(contentsOf: s)
        offsets.append(UInt32(truncatingIfNeeded: bytes.count))
        plainBytes += 4 + s.count
        slots[j] = tag << 32 | UInt64(code + 1)
        if count * 2 > slots.count { grow() }
        return UInt32(truncatingIfNeeded: code)
    }

    private mutating func grow() {
        var next = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = next.count - 1
        bytes.withUnsafeBytes { u in
            for e in 0..<count {
                let r = entry(e)
                let h = fastBytesHash(UnsafeRawBufferPointer(rebasing: u[r]))
                var j = Int(truncatingIfNeeded: h) & mask
                while next[j] != 0 { j = (j + 1) & mask }
                next[j] = (h >> 32) << 32 | UInt64(e + 1)
            }
        }
        slots = next
    }
}

/// Min, max and counts of the values of a page or column chunk.
struct ValueStats {
    var nulls: Int64 = 0
    var intMin = Int64.max, intMax = Int64.min
    var hasInt = false
    var doubleMin = Double.infinity, doubleMax = -Double.infinity
    var hasDouble = false
    var nans: Int64 = 0
    var stringMin: [UInt8]?, stringMax: [UInt8]?

    mutating func merge(_ o: ValueStats) {
        nulls += o.nulls
        if o.hasInt { intMin = Swift.min(intMin, o.intMin); intMax = Swift.max(intMax, o.intMax); hasInt = true }
        if o.hasDouble { doubleMin = Swift.min(doubleMin, o.doubleMin); doubleMax = Swift.max(doubleMax, o.doubleMax); hasDouble = true }
        nans += o.nans
        if let m = o.stringMin, stringMin.map({ compareBytes(m, $0) < 0 }) ?? true { stringMin = m }
        if let m = o.stringMax, stringMax.map({ compareBytes(m, $0) > 0 }) ?? true { stringMax = m }
    }

    /// The Thrift statistics for a column of `type` (min/max plain-encoded; strings without
    /// length prefix and only when both are at most ``ParquetLimits/statisticsBytesMax``).
    func thrift(_ type: FieldType) -> PQStatistics {
        var s = PQStatistics()
        s.nullCount = nulls
        switch type {
        case .int64, .timestamp:
            if hasInt {
                s.minValue = le(intMin); s.maxValue = le(intMax)
                s.min = s.minValue; s.max = s.maxValue
            }
        case .bool:
            if hasInt {
                s.minValue = [UInt8(truncatingIfNeeded: intMin)]; s.maxValue = [UInt8(truncatingIfNeeded: intMax)]
                s.min = s.minValue; s.max = s.maxValue
            }
        case .float64:
            s.nanCount = nans
            if hasDouble {
                // parquet.thrift ColumnOrder: a zero min is written as -0.0, a zero max as +0.0.
                let lo = doubleMin == 0 ? -0.0 : doubleMin, hi = doubleMax == 0 ? 0.0 : doubleMax
                s.minValue = le(Int64(bitPattern: lo.bitPattern)); s.maxValue = le(Int64(bitPattern: hi.bitPattern))
                s.min = s.minValue; s.max = s.maxValue
            }
        case .string:
            if let lo = stringMin, let hi = stringMax, lo.count <= ParquetLimits.statisticsBytesMax, hi.count <= ParquetLimits.statisticsBytesMax {
                s.minValue = lo; s.maxValue = hi
            }
        }
        return s
    }

    private func le(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

/// The values of one column for the row group being built: definition flags (nullable columns
/// only) and the non-null values, densely.
struct ChunkBuilder {
    let name: String
    let type: FieldType
    let nullable: Bool
    /// Whether an int64 column is always DELTA_BINARY_PACKED (the `_offset` column).
    let alwaysDelta: Bool
    private(set) var rows = 0
    private var defined: [UInt8] = []
    private var nullCount = 0
    private var ints: [Int64] = []
    private var doubles: [Double] = []
    private var dictionary = StringDictionaryBuilder()
    private var codes: [UInt32] = []
    private var isPlainStrings = false
    private var stringOffsets: [UInt32] = [0]
    private var stringBytes: [UInt8] = []

    init(name: String, type: FieldType, nullable: Bool, alwaysDelta: Bool = false) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.alwaysDelta = alwaysDelta
    }

    /// Clears the values for the next row group.
    mutating func reset() {
        self = ChunkBuilder(name: name, type: type, nullable: nullable, alwaysDelta: alwaysDelta)
    }

    /// Appends int values without nulls (the `_offset` column).
    mutating func append(ints v: ArraySlice<Int64>) {
        ints.append(contentsOf: v)
        rows += v.count
        if nullable { defined.append(contentsOf: repeatElement(1, count: v.count)) }
    }

    /// Appends rows `range` of `c` (a column of this type, already validated).
    mutating func append(_ c: Column, _ range: Range<Int>) throws(LambdaStoreError) {
        let hasNulls = c.hasNulls
        if nullable {
            if hasNulls {
                for i in range {
                    let ok = !c.isNull(i)
                    defined.append(ok ? 1 : 0)
                    if !ok { nullCount += 1 }
                }
            } else {
                defined.append(contentsOf: repeatElement(1, count: range.count))
            }
        }
        rows += range.count
        switch type {
        case .int64, .timestamp, .bool:
            if !hasNulls { ints.append(contentsOf: c.ints[range]) } else { for i in range where !c.isNull(i) { ints.append(c.ints[i]) } }
        case .float64:
            if !hasNulls { doubles.append(contentsOf: c.doubles[range]) } else { for i in range where !c.isNull(i) { doubles.append(c.doubles[i]) } }
        case .string:
            if let d = c.dictionary {
                var mapped = [UInt32](repeating: .max, count: d.entries.count)
                for i in range where !hasNulls || !c.isNull(i) {
                    let e = Int(d.codes[i])
                    if !isPlainStrings && mapped[e] != .max {
                        codes.append(mapped[e])
                        continue
                    }
                    try typed {
                        try d.entries.withUTF8(at: e) { s in
                            if let code = try appendString(s) { mapped[e] = code }
                        }
                    }
                }
            } else {
                let offs = c.offsets
                try typed {
                    try c.utf8.withUnsafeBytes { u in
                        for i in range where !hasNulls || !c.isNull(i) {
                            _ = try appendString(UnsafeRawBufferPointer(rebasing: u[Int(offs[i])..<Int(offs[i + 1])]))
                        }
                    }
                }
            }
        }
    }

    /// Appends one non-null string; returns its dictionary code while the chunk is
    /// dictionary-encoded.
    private mutating func appendString(_ s: UnsafeRawBufferPointer) throws(LambdaStoreError) -> UInt32? {
        if !isPlainStrings {
            if let code = dictionary.code(s) {
                codes.append(code)
                return code
            }
            try fallBackToPlain()
        }
        guard stringBytes.count + s.count <= Int(UInt32.max) else {
            throw LambdaStoreError(.limitExceeded, "column '\(name)': more than 4 GiB of strings in one row group")
        }
        stringBytes.append(contentsOf: s)
        stringOffsets.append(UInt32(truncatingIfNeeded: stringBytes.count))
        return nil
    }

    /// Turns the chunk's dictionary codes into plain strings (the dictionary outgrew its limits).
    private mutating func fallBackToPlain() throws(LambdaStoreError) {
        isPlainStrings = true
        stringOffsets.reserveCapacity(codes.count + 1)
        for code in codes {
            let r = dictionary.entry(Int(code))
            guard stringBytes.count + r.count <= Int(UInt32.max) else {
                throw LambdaStoreError(.limitExceeded, "column '\(name)': more than 4 GiB of strings in one row group")
            }
            stringBytes.append(contentsOf: dictionary.bytes[r])
            stringOffsets.append(UInt32(truncatingIfNeeded: stringBytes.count))
        }
        codes = []
        dictionary = StringDictionaryBuilder()
    }

    // MARK: Encoding

    /// Largest uncompressed page the writer aims for: a page of plain strings is cut before it
    /// passes this many value bytes (it always holds at least one row).
    static let pageBytesTarget = 8 << 20

    /// Appends this column chunk (pages) to `file` and returns its metadata.
    func encode(into file: inout [UInt8], options: ParquetWriterOptions) throws(LambdaStoreError) -> PQColumnChunk {
        let chunkStart = Int64(file.count)
        var meta = PQColumnMetaData()
        meta.type = Self.physicalType(type).rawValue
        meta.pathInSchema = [name]
        meta.codec = ParquetCodec.zstd
        meta.numValues = Int64(rows)
        var uncompressedTotal: Int64 = 0
        var dataEncodings: [Int32: Int32] = [:]   // encoding → page count
        var chunkStats = ValueStats()

        let useDictionary = type == .string && !isPlainStrings && dictionary.count > 0
        var ranks: [Int] = [], order: [Int] = []
        if useDictionary {
            // The dictionary page: PLAIN entries.
            var body: [UInt8] = []
            body.reserveCapacity(dictionary.plainBytes)
            for e in 0..<dictionary.count {
                let r = dictionary.entry(e)
                body.appendLE(UInt32(r.count))
                body.append(contentsOf: dictionary.bytes[r])
            }
            var h = PQPageHeader()
            h.type = ParquetPageType.dictionaryPage
            h.numValues = Int32(dictionary.count)
            h.encoding = ParquetEncoding.plain
            meta.dictionaryPageOffset = Int64(file.count)
            uncompressedTotal += try writePage(header: &h, body: body, into: &file, options: options)
            (ranks, order) = dictionaryRanks()
        }
        meta.dataPageOffset = Int64(file.count)

        var intEncoding: Int32? = alwaysDelta ? ParquetEncoding.deltaBinaryPacked : nil
        if type == .bool { intEncoding = ParquetEncoding.plain }
        var rowStart = 0, valueStart = 0
        while rowStart < rows {
            // The page's rows, and its values (the non-null ones).
            var rowEnd = Swift.min(rows, rowStart + options.pageRows)
            var valueEnd = valueStart
            if nullable {
                if type == .string && isPlainStrings {
                    var bytes = 0
                    var r = rowStart
                    while r < rowEnd {
                        if defined[r] != 0 {
                            bytes += Int(stringOffsets[valueEnd + 1] - stringOffsets[valueEnd]) + 4
                            valueEnd += 1
                        }
                        r += 1
                        if bytes > Self.pageBytesTarget { break }
                    }
                    rowEnd = r
                } else {
                    defined.withUnsafeBufferPointer { d in for r in rowStart..<rowEnd { valueEnd += Int(d[r]) } }
                }
            } else if type == .string && isPlainStrings {
                var bytes = 0
                var r = rowStart
                while r < rowEnd {
                    bytes += Int(stringOffsets[r + 1] - stringOffsets[r]) + 4
                    r += 1
                    if bytes > Self.pageBytesTarget { break }
                }
                rowEnd = r
                valueEnd = rowEnd
            } else {
                valueEnd = rowEnd
            }

            var prefix: [UInt8] = []
            var stats = ValueStats()
            stats.nulls = Int64((rowEnd - rowStart) - (valueEnd - valueStart))
            if nullable {
                let levels = defined[rowStart..<rowEnd].map { UInt32($0) }
                prefix.appendLE(UInt32(0))
                levels.withUnsafeBufferPointer { RLEHybrid.encode($0, width: 1, into: &prefix) }
                let n = UInt32(prefix.count - 4)
                prefix.withUnsafeMutableBytes { $0.storeBytes(of: n.littleEndian, toByteOffset: 0, as: UInt32.self) }
            }
            let values = valueStart..<valueEnd
            var h = PQPageHeader()
            h.type = ParquetPageType.dataPage
            h.numValues = Int32(rowEnd - rowStart)
            var body = prefix
            switch type {
            case .int64, .timestamp:
                stats.merge(intStats(values))
                if intEncoding == nil {
                    // First page: keep whichever of PLAIN and DELTA_BINARY_PACKED compresses smaller.
                    var plain = prefix, delta = prefix
                    appendPlainInts(values, &plain)
                    appendDelta(values, &delta)
                    let pc = try compressedSize(plain, options), dc = try compressedSize(delta, options)
                    intEncoding = dc <= pc ? ParquetEncoding.deltaBinaryPacked : ParquetEncoding.plain
                }
                if intEncoding == ParquetEncoding.deltaBinaryPacked { appendDelta(values, &body) } else { appendPlainInts(values, &body) }
                h.encoding = intEncoding ?? ParquetEncoding.plain
            case .bool:
                stats.merge(intStats(values))
                var p = BitPacker()
                for i in values { p.put(UInt64(ints[i] & 1), width: 1, into: &body) }
                p.flush(&body)
                h.encoding = ParquetEncoding.plain
            case .float64:
                stats.merge(doubleStats(values))
                doubles.withUnsafeBytes { body.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[(values.lowerBound * 8)..<(values.upperBound * 8)])) }
                h.encoding = ParquetEncoding.plain
            case .string:
                if useDictionary {
                    let width = Swift.max(0, bitWidth(UInt64(dictionary.count - 1)))
                    body.append(UInt8(width))
                    codes.withUnsafeBufferPointer { c in
                        RLEHybrid.encode(UnsafeBufferPointer(rebasing: c[values]), width: width, into: &body)
                    }
                    if !values.isEmpty {
                        var lo = Int.max, hi = Int.min
                        for i in values { let r = ranks[Int(codes[i])]; lo = Swift.min(lo, r); hi = Swift.max(hi, r) }
                        stats.stringMin = Array(dictionary.bytes[dictionary.entry(order[lo])])
                        stats.stringMax = Array(dictionary.bytes[dictionary.entry(order[hi])])
                    }
                    h.encoding = ParquetEncoding.rleDictionary
                } else {
                    stats.merge(plainStringStats(values))
                    for i in values {
                        let a = Int(stringOffsets[i]), b = Int(stringOffsets[i + 1])
                        body.appendLE(UInt32(b - a))
                        body.append(contentsOf: stringBytes[a..<b])
                    }
                    h.encoding = ParquetEncoding.plain
                }
            }
            h.statistics = stats.thrift(type)
            chunkStats.merge(stats)
            dataEncodings[h.encoding, default: 0] += 1
            uncompressedTotal += try writePage(header: &h, body: body, into: &file, options: options)
            rowStart = rowEnd
            valueStart = valueEnd
        }
        meta.totalCompressedSize = Int64(file.count) - chunkStart
        meta.totalUncompressedSize = uncompressedTotal
        var encodings: Set<Int32> = [ParquetEncoding.rle]
        for e in dataEncodings.keys { encodings.insert(e) }
        if useDictionary { encodings.insert(ParquetEncoding.plain) }
        meta.encodings = encodings.sorted()
        var es: [PQPageEncodingStats] = []
        if useDictionary { es.append(PQPageEncodingStats(pageType: ParquetPageType.dictionaryPage, encoding: ParquetEncoding.plain, count: 1)) }
        for (e, n) in dataEncodings.sorted(by: { $0.key < $1.key }) { es.append(PQPageEncodingStats(pageType: ParquetPageType.dataPage, encoding: e, count: n)) }
        meta.encodingStats = es
        meta.statistics = chunkStats.thrift(type)
        var chunk = PQColumnChunk()
        chunk.fileOffset = chunkStart
        chunk.metaData = meta
        return chunk
    }

    static func physicalType(_ t: FieldType) -> ParquetPhysicalType {
        switch t {
        case .int64, .timestamp: .int64
        case .float64: .double
        case .bool: .boolean
        case .string: .byteArray
        }
    }

    /// Compresses `body`, fills the header's sizes, appends header and page; returns the page's
    /// uncompressed size including its header.
    private func writePage(header h: inout PQPageHeader, body: [UInt8], into file: inout [UInt8], options: ParquetWriterOptions) throws(LambdaStoreError) -> Int64 {
        guard body.count <= ParquetLimits.pageBytesMax else {
            throw LambdaStoreError(.limitExceeded, "column '\(name)': a page of \(body.count) bytes exceeds \(ParquetLimits.pageBytesMax)")
        }
        var compressed: [UInt8] = []
        try body.withBytes { (b: UnsafeRawBufferPointer) throws(LambdaStoreError) in
            _ = try Codec.zstd.compress(b, appendingTo: &compressed, level: options.zstdLevel)
        }
        h.uncompressedSize = Int32(body.count)
        h.compressedSize = Int32(compressed.count)
        var w = ThriftWriter()
        h.encode(into: &w)
        file.append(contentsOf: w.bytes)
        file.append(contentsOf: compressed)
        return Int64(w.bytes.count + body.count)
    }

    private func compressedSize(_ body: [UInt8], _ options: ParquetWriterOptions) throws(LambdaStoreError) -> Int {
        var out: [UInt8] = []
        return try body.withBytes { (b: UnsafeRawBufferPointer) throws(LambdaStoreError) -> Int in
            try Codec.zstd.compress(b, appendingTo: &out, level: options.zstdLevel)
        }
    }

    private func appendPlainInts(_ values: Range<Int>, _ body: inout [UInt8]) {
        ints.withUnsafeBytes { body.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[(values.lowerBound * 8)..<(values.upperBound * 8)])) }
    }

    private func appendDelta(_ values: Range<Int>, _ body: inout [UInt8]) {
        ints.withUnsafeBufferPointer { DeltaBinaryPacked.encode(UnsafeBufferPointer(rebasing: $0[values]), into: &body) }
    }

    private func intStats(_ values: Range<Int>) -> ValueStats {
        var s = ValueStats()
        guard !values.isEmpty else { return s }
        ints.withUnsafeBufferPointer { v in
            for i in values { s.intMin = Swift.min(s.intMin, v[i]); s.intMax = Swift.max(s.intMax, v[i]) }
        }
        s.hasInt = true
        return s
    }

    private func doubleStats(_ values: Range<Int>) -> ValueStats {
        var s = ValueStats()
        doubles.withUnsafeBufferPointer { v in
            for i in values {
                let x = v[i]
                if x.isNaN { s.nans += 1; continue }
                s.doubleMin = Swift.min(s.doubleMin, x)
                s.doubleMax = Swift.max(s.doubleMax, x)
                s.hasDouble = true
            }
        }
        return s
    }

    private func plainStringStats(_ values: Range<Int>) -> ValueStats {
        var s = ValueStats()
        guard !values.isEmpty else { return s }
        stringBytes.withUnsafeBytes { u in
            func slice(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: u[Int(stringOffsets[i])..<Int(stringOffsets[i + 1])]) }
            var lo = values.lowerBound, hi = values.lowerBound
            for i in values.dropFirst() {
                let v = slice(i)
                if compareBytes(v, slice(lo)) < 0 { lo = i }
                if compareBytes(v, slice(hi)) > 0 { hi = i }
            }
            s.stringMin = Array(slice(lo))
            s.stringMax = Array(slice(hi))
        }
        return s
    }

    /// Per dictionary entry, its position in byte-wise order; and the entries in that order.
    private func dictionaryRanks() -> (ranks: [Int], order: [Int]) {
        let order = dictionary.bytes.withUnsafeBytes { u in
            (0..<dictionary.count).sorted { a, b in
                compareBytes(UnsafeRawBufferPointer(rebasing: u[dictionary.entry(a)]), UnsafeRawBufferPointer(rebasing: u[dictionary.entry(b)])) < 0
            }
        }
        var ranks = [Int](repeating: 0, count: order.count)
        for (r, e) in order.enumerated() { ranks[e] = r }
        return (ranks, order)
    }
}
