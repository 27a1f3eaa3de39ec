// Decodes one column chunk of a row group into a Column: walks its pages (an optional
// dictionary page, then v1 or v2 data pages), decompresses each into a padded buffer, decodes
// definition levels and values, and checks every count, size, level and index on the way.

import CZstd
import LambdaStoreCore

struct ChunkDecoder {
    let file: UnsafeRawBufferPointer
    let path: String
    let name: String
    let physical: ParquetPhysicalType
    let type: FieldType
    let nullable: Bool
    let rows: Int
    let codec: Int32
    let start: Int
    let end: Int
    let keepDictionary: Bool

    private var rowsDone = 0
    private var nullCount = 0
    private var pageOffset = 0
    private var sawDataPage = false
    private var validity: [UInt8] = []
    private var ints: [Int64] = []
    private var doubles: [Double] = []
    /// String rows `0..<rowsDone` are dictionary codes (every data page so far was
    /// dictionary-encoded) rather than offsets and bytes.
    private var codesMode = false
    private var codes: [UInt32] = []
    private var offsets: [UInt32] = []
    private var utf8: [UInt8] = []
    private var dictCount = -1
    private var dictInts: [Int64] = []
    private var dictDoubles: [Double] = []
    private var dictOffsets: [UInt32] = []
    private var dictBytes: [UInt8] = []
    private var levels: [UInt32] = []
    private var scratchCodes: [UInt32] = []

    init(file: UnsafeRawBufferPointer, path: String, name: String, physical: ParquetPhysicalType, type: FieldType, nullable: Bool, rows: Int, codec: Int32, start: Int, end: Int, keepDictionary: Bool) {
        self.file = file
        self.path = path
        self.name = name
        self.physical = physical
        self.type = type
        self.nullable = nullable
        self.rows = rows
        self.codec = codec
        self.start = start
        self.end = end
        self.keepDictionary = keepDictionary
    }

    /// Decodes the chunk; errors name the file, the column and the page's offset.
    mutating func decode() throws(LambdaStoreError) -> Column {
        do {
            return try run()
        } catch {
            var e = error
            e.message = "column '\(name)': " + e.message
            if e.path == nil { e.path = path }
            if e.offset == nil { e.offset = Int64(pageOffset) }
            throw e
        }
    }

    private mutating func run() throws(LambdaStoreError) -> Column {
        if nullable { validity = [UInt8](repeating: 0xFF, count: (rows + 7) / 8) }
        switch type {
        case .int64, .timestamp, .bool:
            // A REQUIRED column has every row written by its pages (or the chunk fails): no
            // zeroing pass over the fresh memory. Null slots of an OPTIONAL one keep 0.
            ints = nullable ? [Int64](repeating: 0, count: rows)
                : [Int64](zeroSafeCapacity: rows) { _, initialized in initialized = rows }
        case .float64: doubles = [Double](repeating: 0, count: rows)
        case .string: offsets.reserveCapacity(rows + 1); offsets.append(0)
        }
        var pos = start
        pageOffset = start
        while rowsDone < rows {
            pageOffset = pos
            guard pos < end else { throw corrupt("the chunk ends after \(rowsDone) of its \(rows) rows") }
            var r = ThriftReader(UnsafeRawBufferPointer(rebasing: file[pos..<end]), base: Int64(pos), path: path)
            let h = try PQPageHeader(reading: &r)
            let bodyStart = pos + r.position
            guard h.compressedSize >= 0, Int(h.compressedSize) <= end - bodyStart else {
                throw corrupt("page of \(h.compressedSize) compressed bytes, \(end - bodyStart) left in the chunk")
            }
            guard h.uncompressedSize >= 0, Int(h.uncompressedSize) <= ParquetLimits.pageBytesMax else {
                throw corrupt("page of \(h.uncompressedSize) uncompressed bytes (max \(ParquetLimits.pageBytesMax))")
            }
            let body = UnsafeRawBufferPointer(rebasing: file[bodyStart..<(bodyStart + Int(h.compressedSize))])
            switch h.type {
            case ParquetPageType.dictionaryPage:
                guard h.member == 7 else { throw corrupt("dictionary page without its header") }
                try dictionaryPage(h, body)
            case ParquetPageType.dataPage:
                guard h.member == 5 else { throw corrupt("data page without its header") }
                try dataPage(h, body)
            case ParquetPageType.dataPageV2:
                guard h.member == 8 else { throw corrupt("data page v2 without its header") }
                try dataPageV2(h, body)
            case ParquetPageType.indexPage:
                break
            default:
                throw LambdaStoreError(.unsupported, "page type \(h.type)")
            }
            pos = bodyStart + Int(h.compressedSize)
        }
        return try finish()
    }

    private func page(_ body: UnsafeRawBufferPointer, uncompressed: Int, compressed: Bool) throws(LambdaStoreError) -> PageBuffer {
        if compressed && codec == ParquetCodec.zstd {
            guard let base = body.baseAddress, body.count > 0 else { throw corrupt("empty zstd page") }
            let declared = ZSTD_getFrameContentSize(base, body.count)
            if declared < UInt64.max - 1 && declared != UInt64(uncompressed) {
                throw corrupt("zstd frame holds \(declared) bytes, the page header says \(uncompressed)")
            }
            return try PageBuffer(count: uncompressed) { (out: UnsafeMutableRawBufferPointer) throws(LambdaStoreError) in
                try Codec.zstd.decompress(body, into: out)
            }
        }
        guard body.count == uncompressed else { throw corrupt("uncompressed page of \(body.count) bytes, the header says \(uncompressed)") }
        return try PageBuffer(count: uncompressed) { (out: UnsafeMutableRawBufferPointer) throws(LambdaStoreError) in
            if uncompressed > 0 { out.copyMemory(from: body) }
        }
    }

    // MARK: Dictionary page

    private mutating func dictionaryPage(_ h: PQPageHeader, _ body: UnsafeRawBufferPointer) throws(LambdaStoreError) {
        guard dictCount < 0, !sawDataPage else { throw corrupt("a dictionary page after the chunk's first page") }
        guard h.encoding == ParquetEncoding.plain || h.encoding == ParquetEncoding.plainDictionary else {
            throw LambdaStoreError(.unsupported, "dictionary page encoding \(ParquetEncoding.name(h.encoding))")
        }
        let n = Int(h.numValues)
        guard n >= 0 else { throw corrupt("dictionary of \(n) entries") }
        let p = try page(body, uncompressed: Int(h.uncompressedSize), compressed: true)
        try p.storage.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
            var c = PageCursor(raw, from: 0, to: p.count)
            switch physical {
            case .int64:
                guard n <= c.remaining / 8 else { throw corrupt("dictionary of \(n) INT64 entries in \(c.remaining) bytes") }
                dictInts = [Int64](zeroSafeCapacity: n) { b, k in
                    if n > 0 { UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(8 * n)])) }
                    k = n
                }
            case .double:
                guard n <= c.remaining / 8 else { throw corrupt("dictionary of \(n) DOUBLE entries in \(c.remaining) bytes") }
                dictDoubles = [Double](zeroSafeCapacity: n) { b, k in
                    if n > 0 { UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(8 * n)])) }
                    k = n
                }
            case .byteArray:
                guard n <= c.remaining / 4 else { throw corrupt("dictionary of \(n) BYTE_ARRAY entries in \(c.remaining) bytes") }
                dictOffsets.reserveCapacity(n + 1)
                dictOffsets.append(0)
                dictBytes.reserveCapacity(c.remaining - 4 * n)
                for _ in 0..<n {
                    let len = Int(try c.u32("dictionary entry length"))
                    guard len <= c.remaining else { throw corrupt("dictionary entry of \(len) bytes, \(c.remaining) left") }
                    dictBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[c.position..<(c.position + len)]))
                    dictOffsets.append(UInt32(truncatingIfNeeded: dictBytes.count))
                    c.position += len
                }
            default:
                throw LambdaStoreError(.unsupported, "a dictionary page for \(physical.name)")
            }
        }
        dictCount = n
    }

    // MARK: Data pages

    private mutating func dataPage(_ h: PQPageHeader, _ body: UnsafeRawBufferPointer) throws(LambdaStoreError) {
        let n = Int(h.numValues)
        guard n >= 0, n <= rows - rowsDone else { throw corrupt("data page of \(n) values, \(rows - rowsDone) rows left in the row group") }
        guard h.repetitionLevelEncoding == ParquetEncoding.rle || h.repetitionLevelEncoding == ParquetEncoding.bitPacked else {
            throw LambdaStoreError(.unsupported, "repetition level encoding \(ParquetEncoding.name(h.repetitionLevelEncoding))")
        }
        let p = try page(body, uncompressed: Int(h.uncompressedSize), compressed: true)
        try p.storage.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
            var c = PageCursor(raw, from: 0, to: p.count)
            var nonNull = n
            if nullable {
                guard h.definitionLevelEncoding == ParquetEncoding.rle else {
                    throw LambdaStoreError(.unsupported, "definition level encoding \(ParquetEncoding.name(h.definitionLevelEncoding))")
                }
                let len = Int(try c.u32("definition levels length"))
                guard len <= c.remaining else { throw corrupt("definition levels of \(len) bytes, \(c.remaining) left in the page") }
                var lc = PageCursor(raw, from: c.position, to: c.position + len)
                nonNull = try decodeLevels(&lc, n)
                c.position += len
            }
            try values(&c, encoding: h.encoding, count: n, nonNull: nonNull)
        }
        rowsDone += n
        sawDataPage = true
    }

    private mutating func dataPageV2(_ h: PQPageHeader, _ body: UnsafeRawBufferPointer) throws(LambdaStoreError) {
        let n = Int(h.numValues)
        guard n >= 0, n <= rows - rowsDone, h.numRows == h.numValues else {
            throw corrupt("data page v2 of \(h.numValues) values in \(h.numRows) rows, \(rows - rowsDone) rows left in the row group")
        }
        guard h.repetitionLevelsByteLength == 0 else { throw LambdaStoreError(.unsupported, "repetition levels in a flat column") }
        let defLen = Int(h.definitionLevelsByteLength)
        guard defLen >= 0, defLen <= body.count, defLen <= Int(h.uncompressedSize) else {
            throw corrupt("definition levels of \(defLen) bytes in a page of \(body.count)")
        }
        guard nullable || defLen == 0 else { throw corrupt("definition levels in a REQUIRED column") }
        var nonNull = n
        if nullable {
            let lp = try page(UnsafeRawBufferPointer(rebasing: body[0..<defLen]), uncompressed: defLen, compressed: false)
            try lp.storage.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
                var lc = PageCursor(raw, from: 0, to: lp.count)
                nonNull = try decodeLevels(&lc, n)
            }
            guard Int(h.numNulls) == n - nonNull else { throw corrupt("data page v2 says \(h.numNulls) nulls, its levels \(n - nonNull)") }
        }
        let p = try page(UnsafeRawBufferPointer(rebasing: body[defLen...]), uncompressed: Int(h.uncompressedSize) - defLen, compressed: h.isCompressed)
        try p.storage.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
            var c = PageCursor(raw, from: 0, to: p.count)
            try values(&c, encoding: h.encoding, count: n, nonNull: nonNull)
        }
        rowsDone += n
        sawDataPage = true
    }

    /// Decodes `n` definition levels (max 1) into ``levels``, clears the validity bit of each
    /// null row, and returns the number of non-null rows.
    private mutating func decodeLevels(_ c: inout PageCursor, _ n: Int) throws(LambdaStoreError) -> Int {
        if levels.count < n { levels = [UInt32](repeating: 0, count: n) }
        let base = rowsDone
        return try levels.withUnsafeMutableBufferPointer { (l: inout UnsafeMutableBufferPointer<UInt32>) throws(LambdaStoreError) -> Int in
            let top = try RLEHybrid.decode(&c, count: n, width: 1, into: l.baseAddress.unsafelyUnwrapped, "definition levels")
            guard top <= 1 else { throw corrupt("definition level \(top) above the maximum 1") }
            var ones = 0
            for i in 0..<n { ones &+= Int(l[i]) }
            if ones < n {
                validity.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n where l[i] == 0 {
                        let r = base + i
                        v[r >> 3] &= ~(1 << UInt8(r & 7))
                    }
                }
                nullCount += n - ones
            }
            return ones
        }
    }

    /// Decodes the page's `nonNull` values into rows `rowsDone ..< rowsDone + count`.
    private mutating func values(_ c: inout PageCursor, encoding: Int32, count n: Int, nonNull k: Int) throws(LambdaStoreError) {
        let isDictionary = encoding == ParquetEncoding.rleDictionary || encoding == ParquetEncoding.plainDictionary
        if isDictionary {
            guard dictCount >= 0 else { throw corrupt("dictionary-encoded page without a dictionary page") }
            try decodeCodes(&c, k)
        }
        let unsupported = LambdaStoreError(.unsupported, "\(ParquetEncoding.name(encoding)) encoding of \(physical.name) values")
        switch type {
        case .int64, .timestamp:
            // A page without nulls decodes straight into the column (no page-sized copy).
            let (dict, codes) = (dictInts, scratchCodes)
            if k == n {
                let at = rowsDone
                try ints.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<Int64>) throws(LambdaStoreError) in
                    guard let base = o.baseAddress, k > 0 else { return }
                    try Self.decodeInts(&c, encoding: encoding, isDictionary: isDictionary, count: k, into: base + at,
                                        dictionary: dict, codes: codes, unsupported: unsupported)
                }
                return
            }
            var dense = [Int64](repeating: 0, count: k)
            try dense.withUnsafeMutableBufferPointer { (d: inout UnsafeMutableBufferPointer<Int64>) throws(LambdaStoreError) in
                guard let dst = d.baseAddress else { return }
                try Self.decodeInts(&c, encoding: encoding, isDictionary: isDictionary, count: k, into: dst, dictionary: dict, codes: codes, unsupported: unsupported)
            }
            Self.place(dense, n, at: rowsDone, levels: levels, into: &ints)
        case .float64:
            var dense = [Double](repeating: 0, count: k)
            try dense.withUnsafeMutableBufferPointer { (d: inout UnsafeMutableBufferPointer<Double>) throws(LambdaStoreError) in
                guard let dst = d.baseAddress else { return }
                switch encoding {
                case ParquetEncoding.plain:
                    guard k <= c.remaining / 8 else { throw corrupt("\(k) DOUBLE values need \(8 * k) bytes, \(c.remaining) left") }
                    UnsafeMutableRawPointer(dst).copyMemory(from: c.base + c.position, byteCount: 8 * k)
                    c.position += 8 * k
                case _ where isDictionary:
                    dictDoubles.withUnsafeBufferPointer { v in scratchCodes.withUnsafeBufferPointer { s in for i in 0..<k { d[i] = v[Int(s[i])] } } }
                default: throw unsupported
                }
            }
            Self.place(dense, n, at: rowsDone, levels: levels, into: &doubles)
        case .bool:
            var dense = [Int64](repeating: 0, count: k)
            switch encoding {
            case ParquetEncoding.plain:
                let bytes = (k + 7) / 8
                guard bytes <= c.remaining else { throw corrupt("\(k) BOOLEAN values need \(bytes) bytes, \(c.remaining) left") }
                let src = c.base + c.position
                for i in 0..<k { dense[i] = Int64((src.load(fromByteOffset: i >> 3, as: UInt8.self) >> UInt8(i & 7)) & 1) }
                c.position += bytes
            case ParquetEncoding.rle:
                let len = Int(try c.u32("boolean RLE length"))
                guard len <= c.remaining else { throw corrupt("boolean RLE data of \(len) bytes, \(c.remaining) left") }
                var bc = PageCursor(UnsafeRawBufferPointer(start: c.base, count: c.end + PageBuffer.padding), from: c.position, to: c.position + len)
                var bits = [UInt32](repeating: 0, count: k)
                try bits.withUnsafeMutableBufferPointer { (s: inout UnsafeMutableBufferPointer<UInt32>) throws(LambdaStoreError) in
                    guard let dst = s.baseAddress else { return }
                    _ = try RLEHybrid.decode(&bc, count: k, width: 1, into: dst, "boolean values")
                }
                for i in 0..<k { dense[i] = Int64(bits[i]) }
                c.position += len
            default: throw unsupported
            }
            Self.place(dense, n, at: rowsDone, levels: levels, into: &ints)
        case .string:
            if isDictionary {
                if codesMode || (!sawDataPage && rowsDone == 0) {
                    codesMode = true
                    // Every row gets its code (null rows keep 0 only in an OPTIONAL column).
                    if codes.isEmpty {
                        codes = nullable ? [UInt32](repeating: 0, count: rows)
                            : [UInt32](zeroSafeCapacity: rows) { _, initialized in initialized = rows }
                    }
                    codes.withUnsafeMutableBufferPointer { o in
                        scratchCodes.withUnsafeBufferPointer { s in
                            if k == n {
                                for i in 0..<n { o[rowsDone + i] = s[i] }
                            } else {
                                var j = 0
                                levels.withUnsafeBufferPointer { l in
                                    for i in 0..<n where l[i] != 0 { o[rowsDone + i] = s[j]; j += 1 }
                                }
                            }
                        }
                    }
                } else {
                    try appendDictionaryStrings(n, k)
                }
            } else {
                guard encoding == ParquetEncoding.plain else { throw unsupported }
                if codesMode { try leaveCodesMode() }
                try appendPlainStrings(&c, n, k)
            }
        }
    }

    /// Decodes `k` non-null INT64 values of one page (PLAIN, DELTA_BINARY_PACKED, or codes into
    /// the dictionary already in ``scratchCodes``) into `dst`.
    private static func decodeInts(_ c: inout PageCursor, encoding: Int32, isDictionary: Bool, count k: Int, into dst: UnsafeMutablePointer<Int64>,
                                   dictionary dictInts: [Int64], codes scratchCodes: [UInt32], unsupported: LambdaStoreError) throws(LambdaStoreError) {
        switch encoding {
        case ParquetEncoding.plain:
            guard k <= c.remaining / 8 else { throw corrupt("\(k) INT64 values need \(8 * k) bytes, \(c.remaining) left") }
            UnsafeMutableRawPointer(dst).copyMemory(from: c.base + c.position, byteCount: 8 * k)
            c.position += 8 * k
        case ParquetEncoding.deltaBinaryPacked:
            try DeltaBinaryPacked.decode(&c, count: k, into: dst, "DELTA_BINARY_PACKED values")
        case _ where isDictionary:
            dictInts.withUnsafeBufferPointer { v in scratchCodes.withUnsafeBufferPointer { s in for i in 0..<k { dst[i] = v[Int(s[i])] } } }
        default:
            throw unsupported
        }
    }

    /// Decodes `k` dictionary codes (bit width byte, then the hybrid) into ``scratchCodes``.
    private mutating func decodeCodes(_ c: inout PageCursor, _ k: Int) throws(LambdaStoreError) {
        guard k > 0 else { return }   // a page of nulls needs no bit width
        let width = Int(try c.byte("dictionary index bit width"))
        if scratchCodes.count < k { scratchCodes = [UInt32](repeating: 0, count: k) }
        let d = dictCount
        try scratchCodes.withUnsafeMutableBufferPointer { (s: inout UnsafeMutableBufferPointer<UInt32>) throws(LambdaStoreError) in
            guard k > 0 else { return }
            let top = try RLEHybrid.decode(&c, count: k, width: width, into: s.baseAddress.unsafelyUnwrapped, "dictionary indices")
            guard Int(top) < d else { throw corrupt("dictionary index \(top) outside the \(d) entries") }
        }
    }

    /// Puts the page's `dense` non-null values at rows `rowsDone ..< rowsDone + n`, spread by
    /// its definition levels when some are null (null rows keep 0).
    private static func place<T>(_ dense: [T], _ n: Int, at base: Int, levels: [UInt32], into out: inout [T]) {
        dense.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                if d.count == n {
                    for i in 0..<n { o[base + i] = d[i] }
                    return
                }
                levels.withUnsafeBufferPointer { l in
                    var j = 0
                    for i in 0..<n where l[i] != 0 {
                        o[base + i] = d[j]
                        j += 1
                    }
                }
            }
        }
    }

    private mutating func appendBytes(_ src: UnsafeRawBufferPointer) throws(LambdaStoreError) {
        guard utf8.count + src.count <= Int(UInt32.max) else {
            throw LambdaStoreError(.limitExceeded, "more than 4 GiB of strings in one column chunk")
        }
        utf8.append(contentsOf: src)
    }

    private mutating func appendPlainStrings(_ c: inout PageCursor, _ n: Int, _ k: Int) throws(LambdaStoreError) {
        guard k <= c.remaining / 4 else { throw corrupt("\(k) BYTE_ARRAY values in \(c.remaining) bytes") }
        for i in 0..<n {
            if k < n && levels[i] == 0 {
                offsets.append(UInt32(truncatingIfNeeded: utf8.count))
                continue
            }
            let len = Int(try c.u32("BYTE_ARRAY length"))
            guard len <= c.remaining else { throw corrupt("BYTE_ARRAY value of \(len) bytes, \(c.remaining) left") }
            try appendBytes(UnsafeRawBufferPointer(start: c.base + c.position, count: len))
            offsets.append(UInt32(truncatingIfNeeded: utf8.count))
            c.position += len
        }
    }

    private mutating func appendDictionaryStrings(_ n: Int, _ k: Int) throws(LambdaStoreError) {
        var j = 0
        for i in 0..<n {
            if k < n && levels[i] == 0 {
                offsets.append(UInt32(truncatingIfNeeded: utf8.count))
                continue
            }
            let e = Int(scratchCodes[j])
            j += 1
            try appendEntry(e)
        }
    }

    private mutating func appendEntry(_ e: Int) throws(LambdaStoreError) {
        let a = Int(dictOffsets[e]), b = Int(dictOffsets[e + 1])
        guard utf8.count + (b - a) <= Int(UInt32.max) else {
            throw LambdaStoreError(.limitExceeded, "more than 4 GiB of strings in one column chunk")
        }
        utf8.append(contentsOf: dictBytes[a..<b])
        offsets.append(UInt32(truncatingIfNeeded: utf8.count))
    }

    /// A plain page follows dictionary pages: turns the rows decoded so far into offsets/bytes.
    private mutating func leaveCodesMode() throws(LambdaStoreError) {
        codesMode = false
        for r in 0..<rowsDone {
            if nullable && validity[r >> 3] & (1 << UInt8(r & 7)) == 0 {
                offsets.append(UInt32(truncatingIfNeeded: utf8.count))
            } else {
                try appendEntry(Int(codes[r]))
            }
        }
        codes = []
    }

    // MARK: Result

    private mutating func finish() throws(LambdaStoreError) -> Column {
        let v = nullCount == 0 ? [] : validity
        var column: Column
        switch type {
        case .int64, .timestamp, .bool:
            column = Column(type: type, count: rows, nullCount: nullCount, validity: v, ints: ints)
        case .float64:
            column = Column(type: .float64, count: rows, nullCount: nullCount, validity: v, doubles: doubles)
        case .string:
            if codesMode && dictCount > 0 {
                let entries = Column(type: .string, count: dictCount, nullCount: 0, validity: [], offsets: dictOffsets, utf8: dictBytes)
                if let p = entries.problem(nullable: false) { throw corrupt("dictionary: \(p)") }
                if !keepDictionary {
                    // The plain form must fit UInt32 offsets (materialize() traps otherwise).
                    var total = 0
                    for r in 0..<rows where !(nullCount > 0 && validity[r >> 3] & (1 << UInt8(r & 7)) == 0) {
                        let e = Int(codes[r])
                        total += Int(dictOffsets[e + 1] - dictOffsets[e])
                    }
                    guard total <= Int(UInt32.max) else {
                        throw LambdaStoreError(.limitExceeded, "more than 4 GiB of strings in one column chunk")
                    }
                }
                column = Column(count: rows, nullCount: nullCount, validity: v, dictionary: ColumnDictionary(entries: entries, codes: codes))
                if !keepDictionary { column.materialize() }
                return column
            }
            if codesMode {
                // A dictionary of no entries: every row is null (else an index was out of range).
                offsets = [UInt32](repeating: 0, count: rows + 1)
            }
            column = Column(type: .string, count: rows, nullCount: nullCount, validity: v, offsets: offsets, utf8: utf8)
        }
        if let p = column.problem(nullable: nullable) { throw corrupt(p) }
        return column
    }
}
