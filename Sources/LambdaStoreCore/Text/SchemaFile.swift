/// The JSON schema file that `lambdastore schema apply` reads (DESIGN.md, "Schema file"):
///
/// ```json
/// {"stream":"orders","eventTime":"event_ts","fields":[
///   {"name":"event_ts","type":"timestamp"},
///   {"name":"amount_cents","type":"int64"},
///   {"name":"channel","type":"string","nullable":true,"default":"web"}]}
/// ```
///
/// Top-level keys: `stream` (string), `eventTime` (string), `fields` (array), all required,
/// no others. Field keys: `name` and `type` (`int64 float64 string bool timestamp`) required;
/// `nullable` (`true`/`false`, default `false`) and `default` optional, no others. A default
/// is typed by its field, by the same rules as ingest (``RecordParser``): an `int64` default
/// is a JSON integer, a `timestamp` default an integer (epoch ms) or an ISO-8601 string with
/// zone, and so on; `null` only for a nullable field. The schema's stored, binary form is
/// format-spec.md §2; this JSON form is only an input and display format.
///
/// Thread safety: stateless.
public enum SchemaFile {
    static let topKeys = ["stream", "eventTime", "fields"]
    static let fieldKeys = ["name", "type", "nullable", "default"]

    /// Parses and validates a schema file; the result is version 1 of its stream's schema
    /// (the store numbers versions when it applies it).
    ///
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the key or field:
    ///   `schema file: missing "stream"`, `schema file: unknown key "version"`,
    ///   `field 'x': unknown type 'int' (expected int64, float64, string, bool or timestamp)`,
    ///   `field 'x': default: expected int64, got string "abc"`, the JSON syntax error with its
    ///   line and column, and every ``Schema/validate()`` error;
    ///   ``LambdaStoreError/Code/limitExceeded`` for a file over ``Limits/metadataBytesMax``.
    /// - Complexity: O(bytes + fields²) (duplicate checks are linear per field).
    public static func parse(json: [UInt8]) throws(LambdaStoreError) -> Schema {
        guard json.count <= Limits.metadataBytesMax else {
            throw LambdaStoreError(.limitExceeded, "schema file: \(json.count) bytes exceeds the limit of \(Limits.metadataBytesMax)")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(json)
        } catch {
            throw LambdaStoreError(.schema, "schema file: " + error.message)
        }
        return try parse(value)
    }

    /// Builds and validates a schema from an already parsed schema file; see
    /// ``parse(json:)``.
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the key or field.
    public static func parse(_ value: JSONValue) throws(LambdaStoreError) -> Schema {
        func fail(_ m: String) -> LambdaStoreError { LambdaStoreError(.schema, m) }
        guard case .object(let members) = value else {
            throw fail("schema file: expected a JSON object, got \(value.kindName)")
        }
        for m in members where !topKeys.contains(m.key) {
            throw fail("schema file: unknown key \(TextScan.quoted(m.key)) (expected \"stream\", \"eventTime\", \"fields\")")
        }
        func string(_ key: String) throws(LambdaStoreError) -> String {
            guard let v = value[key] else { throw fail("schema file: missing \"\(key)\"") }
            guard case .string(let s) = v else { throw fail("schema file: \"\(key)\" must be a string, got \(v.kindName)") }
            return s
        }
        let stream = try string("stream")
        let eventTime = try string("eventTime")
        guard let fv = value["fields"] else { throw fail("schema file: missing \"fields\"") }
        guard case .array(let items) = fv else { throw fail("schema file: \"fields\" must be an array, got \(fv.kindName)") }
        guard items.count <= Limits.fieldsMax else {
            throw fail("schema file: \(items.count) fields exceeds the limit of \(Limits.fieldsMax)")
        }
        var fields: [Field] = []
        fields.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            fields.append(try parseField(item, index: k))
        }
        let schema = Schema(stream: stream, eventTime: eventTime, fields: fields)
        try schema.validate()
        return schema
    }

    static func parseField(_ item: JSONValue, index k: Int) throws(LambdaStoreError) -> Field {
        func fail(_ m: String) -> LambdaStoreError { LambdaStoreError(.schema, m) }
        guard case .object(let members) = item else {
            throw fail("schema file: fields[\(k)] must be an object, got \(item.kindName)")
        }
        guard let nv = item["name"] else { throw fail("schema file: fields[\(k)]: missing \"name\"") }
        guard case .string(let name) = nv else { throw fail("schema file: fields[\(k)]: \"name\" must be a string, got \(nv.kindName)") }
        let who = "field '\(name)'"
        for m in members where !fieldKeys.contains(m.key) {
            throw fail("\(who): unknown key \(TextScan.quoted(m.key)) (expected \"name\", \"type\", \"nullable\", \"default\")")
        }
        guard let tv = item["type"] else { throw fail("\(who): missing \"type\"") }
        guard case .string(let typeName) = tv else { throw fail("\(who): \"type\" must be a string, got \(tv.kindName)") }
        guard let type = FieldType(name: typeName) else {
            throw fail("\(who): unknown type '\(typeName)' (expected int64, float64, string, bool or timestamp)")
        }
        var nullable = false
        if let v = item["nullable"] {
            guard case .bool(let b) = v else { throw fail("\(who): \"nullable\" must be true or false, got \(FieldText.describe(v))") }
            nullable = b
        }
        var defaultValue: Value? = nil
        if let d = item["default"] {
            if d.isNull {
                guard nullable else { throw fail("\(who): default is null but the field is not nullable") }
                defaultValue = .null
            } else {
                switch FieldText.value(fromJSON: d, type: type) {
                case .success(let v): defaultValue = v
                case .failure(let e): throw fail("\(who): default: \(e.reason)")
                }
            }
        }
        return Field(name: name, type: type, nullable: nullable, defaultValue: defaultValue)
    }

    /// The schema file of `schema` as a JSON value: `nullable` only when true, `default` only
    /// when set (timestamps as epoch ms), fields in layout order. ``parse(_:)`` of it gives
    /// back the same stream, event time and fields (the version is not part of the file).
    public static func json(_ schema: Schema) -> JSONValue {
        var fields: [JSONValue] = []
        for f in schema.fields {
            var m = [JSONMember("name", .string(f.name)), JSONMember("type", .string(f.type.description))]
            if f.nullable { m.append(JSONMember("nullable", .bool(true))) }
            if let d = f.defaultValue { m.append(JSONMember("default", JSONValue(d))) }
            fields.append(.object(m))
        }
        return .object([
            JSONMember("stream", .string(schema.stream)),
            JSONMember("eventTime", .string(schema.eventTime)),
            JSONMember("fields", .array(fields)),
        ])
    }

    /// The compact schema file text of `schema`; see ``json(_:)``.
    public static func render(_ schema: Schema) -> String { json(schema).serialized() }
}
