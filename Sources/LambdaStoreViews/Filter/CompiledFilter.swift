import LambdaStoreCore

/// A filter type-checked against a schema and turned into column-at-a-time kernels.
///
/// Typing rules (format-spec.md §3a "Types"): `int64` and `float64` compare numerically with
/// each other and with integer and float literals (an `int64` meeting a `float64` is converted
/// to `float64`); `timestamp` compares with `timestamp` fields, integer literals (epoch ms) and
/// ISO-8601 string literals (converted here, at compile time, by `Timestamp.parseISO8601`:
/// the same rule as ingest, format-spec.md §3a.4); `string` with `string`
/// (bytewise UTF-8 order); `bool` with `bool` (`false < true`). Every other pairing is an
/// error with its position.
///
/// Evaluation follows SQL three-valued logic: each node yields, per row, *true*, *false* or
/// *unknown* (a comparison or `IN` with a null operand is unknown; `IS NULL` never is), and a
/// row passes only when the whole filter is true.
///
/// Thread safety: immutable; evaluate from any number of threads at once.
public struct CompiledFilter: Sendable {
    /// The expression, as parsed.
    public let expression: FilterExpression
    /// The number of fields of the schema it was compiled against. A batch may have more
    /// columns (fields a later compatible schema version added, which go last) or fewer, as
    /// long as every column the filter reads is there with its type (see
    /// ``problem(with:)``).
    public let columnCount: Int
    /// The column index and type of each field the filter reads.
    public let columnsRead: [Int: FieldType]
    /// The field names of the schema it was compiled against (for messages).
    let fieldNames: [String]
    let plan: FilterPlan

    /// Compiles `expression` against `schema`.
    /// - Throws: ``LambdaStoreError/Code/view`` as `filter: position N: reason` for an unknown
    ///   field, a type mismatch (`cannot compare string field 'status' with integer 5`), a
    ///   string literal that is not an ISO-8601 timestamp where one is needed, or a non-bool
    ///   field used as a predicate.
    public init(_ expression: FilterExpression, schema: Schema) throws(LambdaStoreError) {
        var compiler = FilterCompiler(schema: schema)
        self.plan = try compiler.compile(expression)
        self.expression = expression
        self.columnCount = schema.fields.count
        self.fieldNames = schema.fields.map(\.name)
        self.columnsRead = compiler.columnsRead
    }

    /// Parses and compiles `text` against `schema`.
    /// - Throws: as ``FilterExpression/parse(_:)`` and ``init(_:schema:)``.
    public init(_ text: String, schema: Schema) throws(LambdaStoreError) {
        try self.init(try FilterExpression.parse(text), schema: schema)
    }

    /// The canonical text of the expression (``FilterExpression/canonicalText``).
    public var canonicalText: String { expression.canonicalText }
}

/// The executable form: column indexes resolved, literals converted to the column's storage.
indirect enum FilterPlan: Sendable {
    case and([FilterPlan])
    case or([FilterPlan])
    case not(FilterPlan)
    /// `true` / `false`.
    case constant(Bool)
    /// A `bool` column used as a predicate.
    case boolColumn(Int)
    case isNull(Int, negated: Bool)
    /// An integer-backed column (`int64`, `timestamp`, `bool` as 0/1) against an `Int64`.
    case intLiteral(Int, FilterComparison, Int64)
    /// A `float64` column against a `Double`.
    case doubleLiteral(Int, FilterComparison, Double)
    /// An `int64` column, converted to `Double`, against a `Double`.
    case intAsDoubleLiteral(Int, FilterComparison, Double)
    /// A `string` column against UTF-8 bytes.
    case stringLiteral(Int, FilterComparison, [UInt8])
    /// Two integer-backed columns of one type.
    case intColumns(Int, FilterComparison, Int)
    /// Two `float64` columns.
    case doubleColumns(Int, FilterComparison, Int)
    /// An `int64` column (left, converted to `Double`) against a `float64` column.
    case intDoubleColumns(Int, FilterComparison, Int)
    /// Two `string` columns.
    case stringColumns(Int, FilterComparison, Int)
    /// An integer-backed column in a list: equal to one of `ints`, or (an `int64` converted
    /// to `Double`) equal to one of `doubles`.
    case intIn(Int, ints: [Int64], doubles: [Double], negated: Bool)
    /// A `float64` column in a list of `Double`s.
    case doubleIn(Int, [Double], negated: Bool)
    /// A `string` column in a list of UTF-8 byte strings.
    case stringIn(Int, [[UInt8]], negated: Bool)
}

/// Type-checks a ``FilterExpression`` against a schema and lowers it to a ``FilterPlan``.
struct FilterCompiler {
    let schema: Schema
    var columnsRead: [Int: FieldType] = [:]

    init(schema: Schema) { self.schema = schema }

    mutating func resolve(_ name: String, _ position: Int) throws(LambdaStoreError) -> (Int, FieldType) {
        guard let i = schema.index(of: name) else {
            throw FilterLexer.error(position, "unknown field '\(name)' (stream '\(schema.stream)' has \(schema.fields.map(\.name).joined(separator: ", ")))")
        }
        let t = schema.fields[i].type
        columnsRead[i] = t
        return (i, t)
    }

    mutating func compile(_ e: FilterExpression) throws(LambdaStoreError) -> FilterPlan {
        switch e {
        case .and(let items):
            var out: [FilterPlan] = []
            for item in items { out.append(try compile(item)) }
            return .and(out)
        case .or(let items):
            var out: [FilterPlan] = []
            for item in items { out.append(try compile(item)) }
            return .or(out)
        case .not(let inner):
            return .not(try compile(inner))
        case .predicate(let operand):
            switch operand.kind {
            case .literal(.bool(let b)): return .constant(b)
            case .literal(let l): throw FilterLexer.error(operand.position, "\(l.described) is not a predicate")
            case .field(let name):
                let (i, t) = try resolve(name, operand.position)
                guard t == .bool else {
                    throw FilterLexer.error(operand.position, "\(t) field '\(name)' is not a predicate (only bool fields can stand alone)")
                }
                return .boolColumn(i)
            }
        case .isNull(let operand, let negated):
            guard let name = operand.fieldName else { throw FilterLexer.error(operand.position, "IS NULL needs a field") }
            return .isNull(try resolve(name, operand.position).0, negated: negated)
        case .compare(let a, let op, let b, let position):
            guard let aName = a.fieldName else { throw FilterLexer.error(position, "a comparison needs a field on its left") }
            let (ai, at) = try resolve(aName, a.position)
            switch b.kind {
            case .field(let bName):
                let (bi, bt) = try resolve(bName, b.position)
                switch (at, bt) {
                case (.int64, .int64), (.timestamp, .timestamp), (.bool, .bool): return .intColumns(ai, op, bi)
                case (.float64, .float64): return .doubleColumns(ai, op, bi)
                case (.int64, .float64): return .intDoubleColumns(ai, op, bi)
                case (.float64, .int64): return .intDoubleColumns(bi, op.flipped, ai)
                case (.string, .string): return .stringColumns(ai, op, bi)
                default:
                    throw FilterLexer.error(position, "cannot compare \(at) field '\(aName)' with \(bt) field '\(bName)'")
                }
            case .literal(let lit):
                switch try literal(lit, for: at, field: aName, at: b.position, comparison: position) {
                case .int(let v): return .intLiteral(ai, op, v)
                case .double(let d): return at == .float64 ? .doubleLiteral(ai, op, d) : .intAsDoubleLiteral(ai, op, d)
                case .bytes(let u): return .stringLiteral(ai, op, u)
                }
            }
        case .inList(let operand, let items, let negated):
            guard let name = operand.fieldName else { throw FilterLexer.error(operand.position, "IN needs a field") }
            let (i, t) = try resolve(name, operand.position)
            var ints: [Int64] = [], doubles: [Double] = [], strings: [[UInt8]] = []
            for item in items {
                guard case .literal(let lit) = item.kind else { throw FilterLexer.error(item.position, "an IN list holds literals only") }
                switch try literal(lit, for: t, field: name, at: item.position, comparison: item.position) {
                case .int(let v): ints.append(v)
                case .double(let d): doubles.append(d)
                case .bytes(let u): strings.append(u)
                }
            }
            switch t {
            case .float64: return .doubleIn(i, doubles, negated: negated)
            case .string: return .stringIn(i, strings, negated: negated)
            case .int64, .timestamp, .bool: return .intIn(i, ints: ints, doubles: doubles, negated: negated)
            }
        }
    }

    enum Converted { case int(Int64), double(Double), bytes([UInt8]) }

    /// `lit` in the storage of a column of type `t`, or a type error at `comparison`.
    func literal(_ lit: FilterLiteral, for t: FieldType, field: String, at position: Int, comparison: Int) throws(LambdaStoreError) -> Converted {
        switch (t, lit) {
        case (.int64, .int(let v)), (.timestamp, .int(let v)): return .int(v)
        case (.int64, .float(let d)), (.float64, .float(let d)): return .double(d)
        case (.float64, .int(let v)): return .double(Double(v))
        case (.timestamp, .string(let s)):
            guard let ms = Timestamp.parseISO8601(s) else {
                throw FilterLexer.error(position, "'\(s)' is not an ISO-8601 timestamp with a zone (e.g. '2026-01-01T00:00:00Z') for timestamp field '\(field)'")
            }
            return .int(ms)
        case (.string, .string(let s)): return .bytes(Array(s.utf8))
        case (.bool, .bool(let b)): return .int(b ? 1 : 0)
        default:
            throw FilterLexer.error(comparison, "cannot compare \(t) field '\(field)' with \(lit.described)")
        }
    }
}
