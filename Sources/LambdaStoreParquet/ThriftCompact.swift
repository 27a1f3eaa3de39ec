// The Thrift compact protocol, as Parquet uses it for its footer and page headers: written by
// hand (ThriftWriter encodes, ThriftReader decodes and skips what it does not know).
//
// Grammar (Thrift's compact protocol specification):
//   struct       := field* 0x00
//   field        := (delta << 4 | type) value            delta 1...15 from the previous field id
//                 | type zigzag-varint(id) value          otherwise (the "long form")
//   bool field   := its value is the type nibble: 1 true, 2 false, no bytes follow
//   i8           := 1 byte;  i16 / i32 / i64 := zigzag ULEB128 varint;  double := 8 bytes LE
//   binary       := varint(length) bytes
//   list / set   := (count << 4 | elemType) element*      count 0...14
//                 | (0xF0 | elemType) varint(count) element*
//                   a bool element is one byte (1 true; 0 or 2 false)
//   map          := 0x00 (empty) | varint(count) (keyType << 4 | valueType) (key value)*

import LambdaStoreCore

/// Compact protocol type codes (a field header's low nibble, a list's element type).
enum ThriftType: UInt8, Sendable {
    case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6
    case double = 7, binary = 8, list = 9, set = 10, map = 11, `struct` = 12

    var name: String {
        switch self {
        case .stop: "stop"
        case .boolTrue, .boolFalse: "bool"
        case .byte: "i8"
        case .i16: "i16"
        case .i32: "i32"
        case .i64: "i64"
        case .double: "double"
        case .binary: "binary"
        case .list: "list"
        case .set: "set"
        case .map: "map"
        case .struct: "struct"
        }
    }
}

/// Appends Thrift compact protocol values to a byte array.
///
/// Structs nest with ``beginStruct()`` / ``endStruct()`` (which writes the stop byte); field
/// ids are delta-encoded against the previous field of the same struct.
struct ThriftWriter {
    /// The bytes written so far.
    var bytes: [UInt8] = []
    private var lastField = 0
    private var stack: [Int] = []

    init() {}

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v &<< 1) ^ (v >> 63))) }

    mutating func fieldHeader(_ id: Int, _ type: ThriftType) {
        let delta = id - lastField
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField = id
    }

    mutating func beginStruct() {
        stack.append(lastField)
        lastField = 0
    }

    mutating func endStruct() {
        bytes.append(0)
        lastField = stack.popLast() ?? 0
    }

    mutating func field(_ id: Int, bool v: Bool) { fieldHeader(id, v ? .boolTrue : .boolFalse) }
    mutating func field(_ id: Int, i8 v: Int8) { fieldHeader(id, .byte); bytes.append(UInt8(bitPattern: v)) }
    mutating func field(_ id: Int, i16 v: Int16) { fieldHeader(id, .i16); zigzag(Int64(v)) }
    mutating func field(_ id: Int, i32 v: Int32) { fieldHeader(id, .i32); zigzag(Int64(v)) }
    mutating func field(_ id: Int, i64 v: Int64) { fieldHeader(id, .i64); zigzag(v) }
    mutating func field(_ id: Int, double v: Double) {
        fieldHeader(id, .double)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func field(_ id: Int, binary v: [UInt8]) { fieldHeader(id, .binary); binary(v) }
    mutating func field(_ id: Int, string v: String) { field(id, binary: Array(v.utf8)) }

    /// A struct-valued field: `body` writes its fields.
    mutating func field(_ id: Int, struct body: (inout ThriftWriter) -> Void) {
        fieldHeader(id, .struct)
        beginStruct()
        body(&self)
        endStruct()
    }

    /// A list-valued field's header; the caller then writes `count` elements.
    mutating func fieldList(_ id: Int, of type: ThriftType, count: Int) {
        fieldHeader(id, .list)
        listHeader(type, count: count)
    }

    mutating func listHeader(_ type: ThriftType, count: Int) {
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    /// A binary value (a list element or a field's value).
    mutating func binary(_ v: [UInt8]) {
        varint(UInt64(v.count))
        bytes.append(contentsOf: v)
    }

    /// A struct list element: `body` writes its fields.
    mutating func element(struct body: (inout ThriftWriter) -> Void) {
        beginStruct()
        body(&self)
        endStruct()
    }
}

/// Reads Thrift compact protocol values from a buffer, every access bounds-checked: lengths
/// and counts are checked against the bytes left before anything is allocated, nesting is
/// bounded by ``ParquetLimits/thriftDepthMax``, and unknown fields of any type are skipped.
/// Never traps on any input; every error is a corruption error naming `path` and the absolute
/// offset (`base` + position).
struct ThriftReader {
    let buffer: UnsafeRawBufferPointer
    var position = 0
    let base: Int64
    let path: String
    private var depth = 0

    init(_ buffer: UnsafeRawBufferPointer, base: Int64, path: String) {
        self.buffer = buffer
        self.base = base
        self.path = path
    }

    var remaining: Int { buffer.count - position }

    func fail(_ message: String, at: Int? = nil) -> LambdaStoreError {
        .corruption("thrift: " + message, path: path, offset: base + Int64(at ?? position))
    }

    mutating func byte() throws(LambdaStoreError) -> UInt8 {
        guard position < buffer.count else { throw fail("unexpected end of data") }
        let b = buffer[position]
        position += 1
        return b
    }

    mutating func varint() throws(LambdaStoreError) -> UInt64 {
        let at = position
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits", at: at) }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            if shift > 63 { throw fail("varint longer than 10 bytes", at: at) }
        }
    }

    mutating func zigzag() throws(LambdaStoreError) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    mutating func i64() throws(LambdaStoreError) -> Int64 { try zigzag() }

    mutating func i32() throws(LambdaStoreError) -> Int32 {
        let at = position
        let v = try zigzag()
        guard let r = Int32(exactly: v) else { throw fail("i32 value \(v) out of range", at: at) }
        return r
    }

    mutating func i16() throws(LambdaStoreError) -> Int16 {
        let at = position
        let v = try zigzag()
        guard let r = Int16(exactly: v) else { throw fail("i16 value \(v) out of range", at: at) }
        return r
    }

    mutating func double() throws(LambdaStoreError) -> Double {
        guard remaining >= 8 else { throw fail("double needs 8 bytes, \(remaining) left") }
        let v = buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return Double(bitPattern: UInt64(littleEndian: v))
    }

    /// A binary value, as a slice of the buffer (no copy).
    mutating func binary() throws(LambdaStoreError) -> UnsafeRawBufferPointer {
        let at = position
        let n = try varint()
        guard n <= UInt64(remaining) else { throw fail("binary of \(n) bytes, only \(remaining) left", at: at) }
        let s = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + Int(n))])
        position += Int(n)
        return s
    }

    mutating func bytes() throws(LambdaStoreError) -> [UInt8] { [UInt8](try binary()) }

    /// A binary value that must be valid UTF-8.
    mutating func string() throws(LambdaStoreError) -> String {
        let at = position
        let s = try binary()
        guard let str = String(validating: s.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw fail("string is not valid UTF-8", at: at)
        }
        return str
    }

    /// A list or set header: the element type and count (at most the bytes left, since every
    /// element takes at least one byte).
    mutating func listHeader() throws(LambdaStoreError) -> (type: ThriftType, count: Int) {
        let at = position
        let h = try byte()
        guard let t = ThriftType(rawValue: h & 0x0F), t != .stop else { throw fail("unknown list element type \(h & 0x0F)", at: at) }
        var n = UInt64(h >> 4)
        if n == 15 { n = try varint() }
        guard n <= UInt64(remaining) else { throw fail("list of \(n) elements, only \(remaining) bytes left", at: at) }
        return (t, Int(n))
    }

    /// A list of `type` elements, each read by `element`.
    mutating func list<T>(of type: ThriftType, _ what: String, _ element: (inout ThriftReader) throws(LambdaStoreError) -> T) throws(LambdaStoreError) -> [T] {
        let at = position
        let (t, n) = try listHeader()
        guard t == type || (type == .boolTrue && t == .boolFalse) else {
            throw fail("\(what) is a list of \(t.name), expected \(type.name)", at: at)
        }
        try enter()
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try element(&self)) }
        depth -= 1
        return out
    }

    private mutating func enter() throws(LambdaStoreError) {
        depth += 1
        guard depth <= ParquetLimits.thriftDepthMax else { throw fail("nesting deeper than \(ParquetLimits.thriftDepthMax)") }
    }

    /// Reads a struct: calls `field` with each field's id and type; a field it does not
    /// consume (returns false) is skipped, whatever its type.
    mutating func readStruct(_ field: (inout ThriftReader, Int, ThriftType) throws(LambdaStoreError) -> Bool) throws(LambdaStoreError) {
        try enter()
        var last = 0
        while true {
            let at = position
            let h = try byte()
            if h == 0 { break }
            guard let t = ThriftType(rawValue: h & 0x0F), t != .stop else { throw fail("unknown field type \(h & 0x0F)", at: at) }
            let delta = Int(h >> 4)
            let id = delta == 0 ? Int(try i16()) : last + delta
            last = id
            if try !field(&self, id, t) { try skip(t, inCollection: false) }
        }
        depth -= 1
    }

    /// Skips one value of type `t` (a bool takes a byte only inside a list, set or map).
    mutating func skip(_ t: ThriftType, inCollection: Bool) throws(LambdaStoreError) {
        let at = position
        switch t {
        case .stop: throw fail("unexpected stop type", at: at)
        case .boolTrue, .boolFalse: if inCollection { _ = try byte() }
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard remaining >= 8 else { throw fail("double needs 8 bytes, \(remaining) left") }
            position += 8
        case .binary: _ = try binary()
        case .list, .set:
            let (et, n) = try listHeader()
            try enter()
            for _ in 0..<n { try skip(et, inCollection: true) }
            depth -= 1
        case .map:
            let n = try varint()
            if n == 0 { return }
            guard n <= UInt64(remaining / 2) else { throw fail("map of \(n) entries, only \(remaining) bytes left", at: at) }
            let kv = try byte()
            guard let kt = ThriftType(rawValue: kv >> 4), kt != .stop, let vt = ThriftType(rawValue: kv & 0x0F), vt != .stop else {
                throw fail("unknown map key/value types \(kv)", at: at)
            }
            try enter()
            for _ in 0..<n {
                try skip(kt, inCollection: true)
                try skip(vt, inCollection: true)
            }
            depth -= 1
        case .struct:
            try readStruct { _, _, _ in false }
        }
    }

    /// A bool list element (1 true, 0 or 2 false).
    mutating func boolElement() throws(LambdaStoreError) -> Bool {
        let at = position
        switch try byte() {
        case 1: return true
        case 0, 2: return false
        case let b: throw fail("bool element \(b)", at: at)
        }
    }

    /// Throws unless a field has type `expected` (either bool nibble for `.boolTrue`).
    func expect(_ t: ThriftType, _ expected: ThriftType, _ what: String) throws(LambdaStoreError) {
        let ok = t == expected || (expected == .boolTrue && t == .boolFalse) || (expected == .list && t == .set)
        guard ok else { throw fail("\(what) has type \(t.name), expected \(expected.name)", at: position - 1) }
    }
}
