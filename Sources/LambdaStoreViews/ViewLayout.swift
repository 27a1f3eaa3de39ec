import LambdaStoreCore

/// An aggregate function of a view (DESIGN.md "Views"). The raw value is the name used in view
/// files (`"fn": "count_distinct"`).
public enum AggregateFunction: String, Sendable, Hashable, CaseIterable {
    case count
    case sum
    case min
    case max
    case avg
    case countDistinct = "count_distinct"
}

/// How event times map to windows. Sizes and slides are milliseconds, > 0. Windows are aligned
/// to multiples of the size (tumbling) or the slide (hopping) from epoch 0.
public enum WindowKind: Sendable, Hashable {
    /// No window: one cell per group key; never closed, never late.
    case none
    /// `[k·size, (k+1)·size)`.
    case tumbling(size: Int64)
    /// `[k·slide, k·slide + size)`: each time falls in every such window that contains it.
    case hopping(size: Int64, slide: Int64)
}

/// One group-by field, resolved against the schema the view was compiled for.
public struct GroupField: Sendable, Hashable {
    /// The field name.
    public var name: String
    /// Its column index in a batch laid out under that schema.
    public var index: Int
    /// Its type.
    public var type: FieldType
    /// Creates a group field.
    public init(name: String, index: Int, type: FieldType) {
        self.name = name
        self.index = index
        self.type = type
    }
}

/// One aggregate, resolved against the schema.
public struct AggregateSlot: Sendable, Hashable {
    /// The output name.
    public var name: String
    /// The function.
    public var function: AggregateFunction
    /// The input column index, or nil (`count` of rows).
    public var fieldIndex: Int?
    /// The input column type, or nil.
    public var fieldType: FieldType?
    /// Creates a slot.
    public init(name: String, function: AggregateFunction, fieldIndex: Int?, fieldType: FieldType?) {
        self.name = name
        self.function = function
        self.fieldIndex = fieldIndex
        self.fieldType = fieldType
    }
}

/// Everything the aggregation engine needs to know about a view, with field names resolved to
/// column indexes of batches projected onto the schema the view was compiled against.
///
/// This is the seam between the definition side (`ViewDefinition`, the filter, `CompiledView`,
/// which builds a layout) and the aggregation side (`ViewTable`, aggregate states), so that the
/// speed path and the batch path run the same compiled plan.
public struct ViewLayout: Sendable, Hashable {
    /// Group-by fields, in definition order.
    public var groupBy: [GroupField]
    /// The window kind.
    public var window: WindowKind
    /// The column index of the window's timestamp field; nil exactly when `window == .none`.
    public var windowFieldIndex: Int?
    /// Allowed lateness in milliseconds (≥ 0).
    public var allowedLateness: Int64
    /// Aggregates, in definition order.
    public var aggregates: [AggregateSlot]

    /// Creates a layout.
    public init(groupBy: [GroupField], window: WindowKind, windowFieldIndex: Int?, allowedLateness: Int64, aggregates: [AggregateSlot]) {
        self.groupBy = groupBy
        self.window = window
        self.windowFieldIndex = windowFieldIndex
        self.allowedLateness = allowedLateness
        self.aggregates = aggregates
    }
}

extension ViewLayout {
    /// The columns of a batch the layout reads (group-by, window and aggregate fields), each
    /// once, with its type.
    public var columnsRead: [(index: Int, type: FieldType)] {
        var out: [(index: Int, type: FieldType)] = groupBy.map { ($0.index, $0.type) }
        if let w = windowFieldIndex { out.append((w, .timestamp)) }
        for s in aggregates { if let f = s.fieldIndex, let t = s.fieldType { out.append((f, t)) } }
        var seen = Set<Int>()
        return out.filter { seen.insert($0.index).inserted }
    }

    /// Why `batch` cannot be read by this layout, or nil when it can: a column the layout
    /// reads is missing, has another type, has another row count than the batch, or has
    /// inconsistent storage (`Column.storageProblem()`). Columns the layout does not read —
    /// such as the fields a later compatible schema version added, which go last — are
    /// ignored.
    /// - Complexity: O(rows) per string column read, O(1) per other column read.
    public func problem(with batch: ColumnBatch) -> String? {
        batch.readProblem(columns: columnsRead,
                          label: { i in "column \(i)\(groupBy.first { $0.index == i }.map { " ('\($0.name)')" } ?? "")" }, reader: "the view")
    }
}
