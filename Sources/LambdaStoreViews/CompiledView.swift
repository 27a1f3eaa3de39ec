import LambdaStoreCore

/// A view definition validated against its stream's schema and compiled into the plan both the
/// speed and the batch layer execute: the filter's column kernels and a ``ViewLayout``.
///
/// Checks (DESIGN.md "Details", format-spec.md §3a "Validation against the schema"): the
/// definition is valid on its own (``ViewDefinition/validate()``); it reads the schema's
/// stream; the window field exists and is a `timestamp`; every group-by field exists (any
/// type); `count` takes no field or any field, `sum` and `avg` an `int64` or `float64` field,
/// `min` and `max` an `int64`, `float64`, `timestamp` or `string` field, `count_distinct` any
/// field; the aggregates' snapshot state columns have distinct names (format-spec.md §6.2); the
/// filter type-checks.
///
/// Compile against the stream's *latest* schema and feed it batches projected onto that
/// schema or a later compatible version of it (see ``check(_:)``). The ``fingerprint`` depends on the definition only, so recompiling after a
/// compatible schema change yields the same fingerprint.
///
/// Thread safety: immutable; share one instance between threads.
public final class CompiledView: Sendable {
    /// The definition.
    public let definition: ViewDefinition
    /// The schema it was compiled against.
    public let schema: Schema
    /// ``ViewDefinition/fingerprint`` of the definition.
    public let fingerprint: String
    /// ``ViewDefinition/canonicalForm`` of the definition.
    public let canonicalForm: String
    /// The compiled filter, or nil when every row passes.
    public let filter: CompiledFilter?
    /// Field names resolved to column indexes and types of `schema`.
    public let layout: ViewLayout
    /// The group-by field names and the aggregate names, in view order (every query answer
    /// names them).
    package let groupByNames: [String], aggregateNames: [String]

    /// Validates `definition` against `schema` and compiles it.
    /// - Throws: ``LambdaStoreError/Code/view`` naming the key path and the field or aggregate
    ///   (`window.field: 'ts' has type string, expected timestamp`,
    ///   `aggregates[0]: aggregate 'revenue': sum needs an int64 or float64 field, 'status' is string`,
    ///   `filter: position 8: …`).
    public init(_ definition: ViewDefinition, schema: Schema) throws(LambdaStoreError) {
        try definition.validate()
        guard definition.stream == schema.stream else {
            throw ViewDefinition.error("stream", "view reads stream '\(definition.stream)' but the schema is for '\(schema.stream)'")
        }
        func lookup(_ name: String, _ path: String) throws(LambdaStoreError) -> (Int, FieldType) {
            guard let i = schema.index(of: name) else {
                throw ViewDefinition.error(path, "unknown field '\(name)' (stream '\(schema.stream)' has \(schema.fields.map(\.name).joined(separator: ", ")))")
            }
            return (i, schema.fields[i].type)
        }
        var windowFieldIndex: Int?
        if let field = definition.window.field {
            let (i, t) = try lookup(field, "window.field")
            guard t == .timestamp else { throw ViewDefinition.error("window.field", "'\(field)' has type \(t), expected timestamp") }
            windowFieldIndex = i
        }
        var groups: [GroupField] = []
        for (k, g) in definition.groupBy.enumerated() {
            let (i, t) = try lookup(g, "groupBy[\(k)]")
            groups.append(GroupField(name: g, index: i, type: t))
        }
        var slots: [AggregateSlot] = []
        for (k, a) in definition.aggregates.enumerated() {
            let path = "aggregates[\(k)]"
            var index: Int?, type: FieldType?
            if let f = a.field {
                let (i, t) = try lookup(f, path + ".field")
                let allowed: Set<FieldType>
                switch a.function {
                case .count, .countDistinct: allowed = Set(FieldType.allCases)
                case .sum, .avg: allowed = [.int64, .float64]
                case .min, .max: allowed = [.int64, .float64, .timestamp, .string]
                }
                guard allowed.contains(t) else {
                    let names = FieldType.allCases.filter(allowed.contains).map(\.description).joined(separator: ", ")
                    throw ViewDefinition.error(path + ".field", "aggregate '\(a.name)': \(a.function.rawValue) takes a field of type \(names); '\(f)' is \(t)")
                }
                index = i
                type = t
            }
            slots.append(AggregateSlot(name: a.name, function: a.function, fieldIndex: index, fieldType: type))
        }
        try Self.checkStateColumnNames(slots)
        // What `batch` cannot publish is refused here: a snapshot holds the window, each key
        // and every state column, at most `fieldsMax` columns (format-spec.md §4.3, §6.2).
        let snapshotColumns = 1 + groups.count + slots.reduce(0) { $0 + Self.stateColumnNames($1).count }
        guard snapshotColumns <= Limits.fieldsMax else {
            throw ViewDefinition.error("aggregates", "the view's snapshot would need \(snapshotColumns) columns (the window, \(groups.count) key(s) and the aggregates' states; max \(Limits.fieldsMax)): use fewer aggregates or group-by fields")
        }
        if let text = definition.filter {
            filter = try CompiledFilter(text, schema: schema)
        } else {
            filter = nil
        }
        self.definition = definition
        self.schema = schema
        self.canonicalForm = definition.canonicalForm
        self.fingerprint = ViewDefinition.fingerprint(ofCanonicalForm: canonicalForm)
        self.layout = ViewLayout(groupBy: groups, window: definition.window.kind, windowFieldIndex: windowFieldIndex,
                                 allowedLateness: definition.allowedLateness, aggregates: slots)
        groupByNames = groups.map(\.name)
        aggregateNames = slots.map(\.name)
    }

    /// The names of the snapshot columns that hold an aggregate's state (format-spec.md §6.2,
    /// `SnapshotLayout.stateColumns` in the batch layer): `state.<a>.sum`, `state.<a>.sumHigh`,
    /// `state.<a>.n` for a `sum` over `int64`, `state.<a>` for every other aggregate.
    static func stateColumnNames(_ slot: AggregateSlot) -> [String] {
        let base = "state." + slot.name
        if slot.function == .sum && slot.fieldType == .int64 { return [base + ".sum", base + ".sumHigh", base + ".n"] }
        return [base]
    }

    /// Refuses aggregates whose state columns would share a name (format-spec.md §6.2): an
    /// aggregate named `<a>.sum`, `<a>.sumHigh` or `<a>.n` next to a `sum` over `int64` named
    /// `<a>`. Names are otherwise free to contain `.`.
    static func checkStateColumnNames(_ slots: [AggregateSlot]) throws(LambdaStoreError) {
        var owner: [String: Int] = [:]
        for (k, slot) in slots.enumerated() {
            for column in stateColumnNames(slot) {
                if let j = owner[column] {
                    throw ViewDefinition.error("aggregates[\(k)].name", "aggregate '\(slot.name)': its snapshot state column '\(column)' "
                        + "is also a state column of aggregate '\(slots[j].name)' (a sum over int64 named 'x' stores 'state.x.sum', "
                        + "'state.x.sumHigh' and 'state.x.n'); rename one of them")
                }
                owner[column] = k
            }
        }
    }

    /// Checks that the view can evaluate `batch`: every column its filter and its layout read
    /// is present with the compiled type and consistent storage. A batch laid out under a later
    /// compatible schema version (added fields go last) passes and gives the same answer;
    /// `CompiledFilter.evaluate` selects no rows of, and `ViewTable.apply` skips, a batch that
    /// fails.
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the view and the column.
    /// - Complexity: O(rows) per string column read, O(1) per other column read.
    public func check(_ batch: ColumnBatch) throws(LambdaStoreError) {
        if let p = filter?.problem(with: batch) ?? layout.problem(with: batch) {
            throw LambdaStoreError(.schema, "view '\(definition.name)' (compiled for schema v\(schema.version)) cannot read a batch under schema v\(batch.schemaVersion): \(p)")
        }
    }
}
