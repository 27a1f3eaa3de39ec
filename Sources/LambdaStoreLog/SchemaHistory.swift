import LambdaStoreCore

/// Every schema version of one stream: the `streams/<stream>/schema` file (format-spec.md §2.1).
///
/// The file is small and rewritten whole, atomically, at each new version
/// (``FileSystem/writeFileAtomically(_:_:)``); one CRC32C at its end covers every byte before it.
///
/// Thread safety: a value type.
public struct SchemaHistory: Sendable, Equatable {
    /// The versions, oldest first; `versions[i].version == i + 1`.
    public private(set) var versions: [Schema]

    /// A history holding only `first` (its version is set to 1).
    public init(first: Schema) {
        var s = first
        s.version = 1
        versions = [s]
    }

    /// The newest version.
    public var latest: Schema { versions[versions.count - 1] }

    /// The schema with version number `version`, if any.
    public func schema(version: UInt32) -> Schema? {
        let i = Int(version) - 1
        return i >= 0 && i < versions.count ? versions[i] : nil
    }

    /// Adds the next version (`next.version` must be `latest.version + 1`).
    public mutating func append(_ next: Schema) {
        precondition(next.version == latest.version + 1, "schema versions are consecutive")
        versions.append(next)
    }

    // MARK: Codec

    /// The file image.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.write(LogFormat.schemaMagic)
        w.write(LogFormat.formatVersion)
        w.write(UInt16(0))
        w.writeString16(latest.stream)
        w.write(UInt32(versions.count))
        for v in versions {
            w.write(v.version)
            w.writeString16(v.eventTime)
            w.write(UInt16(v.fields.count))
            for f in v.fields {
                w.writeString16(f.name)
                w.write(f.type.rawValue)
                w.write(UInt8((f.nullable ? 1 : 0) | (f.defaultValue != nil ? 2 : 0)))
                if let d = f.defaultValue { Self.encode(d, into: &w) }
            }
        }
        w.write(w.crc32c(0..<w.count))
        return w.bytes
    }

    private static func encode(_ v: Value, into w: inout ByteWriter) {
        switch v {
        case .null: w.write(UInt8(0))
        case .int64(let x): w.write(FieldType.int64.rawValue); w.write(x)
        case .timestamp(let x): w.write(FieldType.timestamp.rawValue); w.write(x)
        case .float64(let x): w.write(FieldType.float64.rawValue); w.write(x)
        case .bool(let b): w.write(FieldType.bool.rawValue); w.write(UInt8(b ? 1 : 0))
        case .string(let s): w.write(FieldType.string.rawValue); w.writeString32(s)
        }
    }

    private static func decodeValue(_ r: inout ByteReader, field: String) throws(LambdaStoreError) -> Value {
        let at = r.position
        let tag = try r.read(UInt8.self, "default tag of '\(field)'")
        switch tag {
        case 0: return .null
        case FieldType.int64.rawValue: return .int64(try r.read(Int64.self))
        case FieldType.timestamp.rawValue: return .timestamp(try r.read(Int64.self))
        case FieldType.float64.rawValue: return .float64(try r.readDouble())
        case FieldType.bool.rawValue:
            let b = try r.read(UInt8.self)
            guard b <= 1 else { throw .corruption("bool default of '\(field)' is \(b)", path: nil, offset: Int64(at + 1)) }
            return .bool(b == 1)
        case FieldType.string.rawValue: return .string(try r.readString32(max: Limits.stringBytesMax, "default of '\(field)'"))
        default: throw .corruption("unknown default tag \(tag) of '\(field)'", path: nil, offset: Int64(at))
        }
    }

    /// Decodes and checks a schema history file image: magic, version, CRC, every bound, and
    /// that each version is a compatible evolution of the one before.
    /// - Throws: ``LambdaStoreError/Code/corruption`` with the byte offset (no path: callers
    ///   add it with ``LambdaStoreError/at(path:offset:)``), or `.unsupported`.
    /// - Complexity: O(file size).
    public init(decoding bytes: [UInt8]) throws(LambdaStoreError) {
        guard bytes.count >= 16 else { throw .corruption("schema history is \(bytes.count) bytes, too short", path: nil, offset: 0) }
        guard bytes.count <= Limits.metadataBytesMax else { throw .corruption("schema history exceeds \(Limits.metadataBytesMax) bytes", path: nil, offset: 0) }
        let body = bytes.count - 4
        let stored = UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3]) << 24
        let computed = CRC32C.checksum(bytes, 0..<body)
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed, what: "schema history", path: nil, offset: Int64(body))
        }
        let decoded: [Schema] = try typed { try bytes.withUnsafeBytes { raw throws(LambdaStoreError) -> [Schema] in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[0..<body]))
            let magic = try r.read(UInt32.self, "magic")
            guard magic == LogFormat.schemaMagic else { throw .corruption("not a schema history (magic \(hex32(magic)))", path: nil, offset: 0) }
            let version = try r.read(UInt16.self, "format version")
            guard version == LogFormat.formatVersion else {
                throw LambdaStoreError(.unsupported, "schema history format version \(version) (this build reads \(LogFormat.formatVersion))", offset: 4)
            }
            guard try r.read(UInt16.self, "reserved") == 0 else { throw .corruption("reserved bytes are not zero", path: nil, offset: 6) }
            let stream = try r.readString16("stream name")
            let count = Int(try r.read(UInt32.self, "version count"))
            // Each version takes at least 8 bytes: bound the count by the file before looping.
            guard count >= 1, count <= r.remaining / 8 else { throw .corruption("version count \(count) out of bounds", path: nil, offset: Int64(r.position - 4)) }
            var out: [Schema] = []
            for i in 0..<count {
                let vAt = r.position
                let v = try r.read(UInt32.self, "schema version")
                guard v == UInt32(i + 1) else { throw .corruption("schema version \(v) where \(i + 1) was expected", path: nil, offset: Int64(vAt)) }
                let eventTime = try r.readString16("eventTime")
                let nf = Int(try r.read(UInt16.self, "field count"))
                try r.bound(nf, max: min(Limits.fieldsMax, r.remaining / 4), "field count")
                var fields: [Field] = []
                fields.reserveCapacity(nf)
                for _ in 0..<nf {
                    let name = try r.readString16("field name")
                    let tAt = r.position
                    guard let type = FieldType(rawValue: try r.read(UInt8.self, "type of '\(name)'")) else {
                        throw .corruption("unknown type code of field '\(name)'", path: nil, offset: Int64(tAt))
                    }
                    let flags = try r.read(UInt8.self, "flags of '\(name)'")
                    guard flags & ~3 == 0 else { throw .corruption("unknown flags \(flags) of field '\(name)'", path: nil, offset: Int64(tAt + 1)) }
                    let d: Value? = flags & 2 != 0 ? try Self.decodeValue(&r, field: name) : nil
                    fields.append(Field(name: name, type: type, nullable: flags & 1 != 0, defaultValue: d))
                }
                let s = Schema(stream: stream, eventTime: eventTime, fields: fields, version: v)
                do throws(LambdaStoreError) {
                    try s.validate()
                    if let prev = out.last {
                        guard let next = try prev.evolved(to: s), next == s else {
                            throw LambdaStoreError(.schema, "version \(v) is not the compatible evolution of version \(prev.version)")
                        }
                    }
                } catch {
                    throw .corruption("schema version \(v): \(error.message)", path: nil, offset: Int64(vAt))
                }
                out.append(s)
            }
            guard r.isAtEnd else { throw .corruption("\(r.remaining) trailing bytes", path: nil, offset: Int64(r.position)) }
            return out
        } }
        versions = decoded
    }
}
