/// One field of a stream schema.
public struct Field: Sendable, Hashable {
    /// The field name (1…``Limits/nameBytesMax`` UTF-8 bytes).
    public var name: String
    /// The value type.
    public var type: FieldType
    /// Whether null is allowed.
    public var nullable: Bool
    /// The value used when an input record omits the field (`nil`: no default).
    public var defaultValue: Value?

    /// Creates a field.
    public init(name: String, type: FieldType, nullable: Bool = false, defaultValue: Value? = nil) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.defaultValue = defaultValue
    }
}

/// One version of a stream's schema.
///
/// Field order is the order records are laid out in a record batch written under this version;
/// it does not matter for equality of schema *definitions* (see ``isSameDefinition(as:)``).
public struct Schema: Sendable, Hashable {
    /// The stream name.
    public var stream: String
    /// The name of the timestamp field that carries event time.
    public var eventTime: String
    /// The fields, in record layout order.
    public var fields: [Field]
    /// The version number: 1 for the first schema of a stream, +1 per compatible change.
    public var version: UInt32

    /// Creates a schema; call ``validate()`` before using it.
    public init(stream: String, eventTime: String, fields: [Field], version: UInt32 = 1) {
        self.stream = stream
        self.eventTime = eventTime
        self.fields = fields
        self.version = version
    }

    /// The position of the field named `name`.
    @inlinable
    public func index(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    /// The field named `name`.
    @inlinable
    public func field(named name: String) -> Field? { fields.first { $0.name == name } }

    /// The position of the event-time field.
    public var eventTimeIndex: Int { index(of: eventTime) ?? 0 }

    /// Checks names, limits, defaults and the event-time field.
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the offending field.
    public func validate() throws(LambdaStoreError) {
        try Schema.validateName(stream, what: "stream name")
        guard !fields.isEmpty else { throw LambdaStoreError(.schema, "stream '\(stream)' has no fields") }
        guard fields.count <= Limits.fieldsMax else {
            throw LambdaStoreError(.schema, "stream '\(stream)' has \(fields.count) fields (max \(Limits.fieldsMax))")
        }
        var seen = Set<String>()
        for f in fields {
            try Schema.validateName(f.name, what: "field name")
            guard seen.insert(f.name).inserted else { throw LambdaStoreError(.schema, "field '\(f.name)': defined twice") }
            if let d = f.defaultValue {
                if d.isNull {
                    guard f.nullable else { throw LambdaStoreError(.schema, "field '\(f.name)': default is null but the field is not nullable") }
                } else if d.type != f.type {
                    throw LambdaStoreError(.schema, "field '\(f.name)': default \(d) is not a \(f.type)")
                }
            }
        }
        guard let et = field(named: eventTime) else {
            throw LambdaStoreError(.schema, "eventTime field '\(eventTime)' is not a field of stream '\(stream)'")
        }
        guard et.type == .timestamp else {
            throw LambdaStoreError(.schema, "eventTime field '\(eventTime)' has type \(et.type), expected timestamp")
        }
    }

    /// Names: 1…255 UTF-8 bytes of `[A-Za-z0-9_.-]`, not starting with `.` (they become paths).
    public static func validateName(_ name: String, what: String) throws(LambdaStoreError) {
        let u = Array(name.utf8)
        guard !u.isEmpty, u.count <= Limits.nameBytesMax else {
            throw LambdaStoreError(.schema, "\(what) '\(name)' must be 1 to \(Limits.nameBytesMax) bytes")
        }
        guard u[0] != UInt8(ascii: "."), u.allSatisfy({ b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
        }) else {
            throw LambdaStoreError(.schema, "\(what) '\(name)' may only contain letters, digits, '_', '-' and '.', and may not start with '.'")
        }
    }

    /// Whether `other` defines the same stream, event time and fields, in any order.
    public func isSameDefinition(as other: Schema) -> Bool {
        stream == other.stream && eventTime == other.eventTime && Set(fields) == Set(other.fields)
    }

    /// Checks that `proposed` is a compatible evolution of `self` (the latest version) and
    /// returns the new version, with `self`'s fields first in their order and the added fields
    /// after them in `proposed`'s order; or `nil` when `proposed` is the same definition.
    ///
    /// Compatible: every existing field kept with the same type, nullability and default; the
    /// event-time field unchanged; each added field nullable or with a default.
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the field.
    public func evolved(to proposed: Schema) throws(LambdaStoreError) -> Schema? {
        try proposed.validate()
        guard proposed.stream == stream else {
            throw LambdaStoreError(.schema, "schema is for stream '\(proposed.stream)', not '\(stream)'")
        }
        if isSameDefinition(as: proposed) { return nil }
        guard proposed.eventTime == eventTime else {
            throw LambdaStoreError(.schema, "field '\(proposed.eventTime)': eventTime cannot change from '\(eventTime)'")
        }
        for f in fields {
            guard let g = proposed.field(named: f.name) else {
                throw LambdaStoreError(.schema, "field '\(f.name)': removing a field is not a compatible change")
            }
            if g.type != f.type {
                throw LambdaStoreError(.schema, "field '\(f.name)': type cannot change from \(f.type) to \(g.type)")
            }
            if g.nullable != f.nullable {
                throw LambdaStoreError(.schema, "field '\(f.name)': nullability cannot change")
            }
            if g.defaultValue != f.defaultValue {
                throw LambdaStoreError(.schema, "field '\(f.name)': default cannot change")
            }
        }
        var next = self
        next.version = version + 1
        for g in proposed.fields where field(named: g.name) == nil {
            guard g.nullable || g.defaultValue != nil else {
                throw LambdaStoreError(.schema, "field '\(g.name)': an added field must be nullable or have a default")
            }
            next.fields.append(g)
        }
        return next
    }
}
