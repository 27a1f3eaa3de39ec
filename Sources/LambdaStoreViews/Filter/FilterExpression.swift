import LambdaStoreCore

/// A comparison operator of the filter language (format-spec.md §3a.3). `<>` is read as
/// ``ne``. The raw value is the canonical spelling.
public enum FilterComparison: String, Sendable, Hashable, CaseIterable {
    /// `=`
    case eq = "="
    /// `!=` (also written `<>`)
    case ne = "!="
    /// `<`
    case lt = "<"
    /// `<=`
    case le = "<="
    /// `>`
    case gt = ">"
    /// `>=`
    case ge = ">="

    /// The operator with its operands swapped: `5 < x` is `x > 5`.
    public var flipped: FilterComparison {
        switch self {
        case .eq: .eq
        case .ne: .ne
        case .lt: .gt
        case .le: .ge
        case .gt: .lt
        case .ge: .le
        }
    }
}

/// A literal of the filter language (format-spec.md §3a.3).
///
/// Thread safety: a value type.
public enum FilterLiteral: Sendable, Hashable {
    /// An integer literal (`42`, `-7`), exactly an `Int64`.
    case int(Int64)
    /// A float literal (`1.5`, `2e3`, `-0.25`): it has a `.` or an exponent.
    case float(Double)
    /// A string literal (`'it''s'`), its value without quotes and with `''` read as `'`.
    case string(String)
    /// `true` or `false`.
    case bool(Bool)

    /// The canonical text (format-spec.md §3a): integers in decimal; floats in the ECMAScript
    /// shortest form with `.0` added when it has neither `.` nor `e`; strings in single quotes
    /// with `'` doubled; `true` / `false`.
    public var canonicalText: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let d):
            let s = ECMAScriptNumber.format(d)
            return s.contains(where: { $0 == "." || $0 == "e" }) ? s : s + ".0"
        case .string(let s): return "'" + s.replacing("'", with: "''") + "'"
        case .bool(let b): return b ? "true" : "false"
        }
    }

    /// How error messages name the literal: `integer 5`, `float 1.5`, `string 'x'`, `boolean true`.
    var described: String {
        switch self {
        case .int: "integer " + canonicalText
        case .float: "float " + canonicalText
        case .string: "string " + canonicalText
        case .bool: "boolean " + canonicalText
        }
    }
}

/// An operand: a field reference or a literal, with its 1-based position in the source text.
///
/// Thread safety: a value type.
public struct FilterOperand: Sendable, Hashable {
    /// What the operand is.
    public enum Kind: Sendable, Hashable {
        /// A field, by its (case-sensitive) name.
        case field(String)
        /// A literal.
        case literal(FilterLiteral)
    }
    /// What the operand is.
    public var kind: Kind
    /// Its position: the 1-based index of its first character (Unicode scalar) in the filter.
    public var position: Int

    /// Creates an operand.
    public init(_ kind: Kind, position: Int) {
        self.kind = kind
        self.position = position
    }

    /// The canonical text: a literal's ``FilterLiteral/canonicalText``; a field bare when it
    /// matches `[A-Za-z_][A-Za-z0-9_]*` and is not a keyword, else in double quotes with `"`
    /// doubled.
    public var canonicalText: String {
        switch kind {
        case .literal(let l): return l.canonicalText
        case .field(let name): return FilterExpression.quoteField(name)
        }
    }

    var fieldName: String? { if case .field(let n) = kind { n } else { nil } }
}

/// A parsed filter (format-spec.md §3a "Filter grammar"): a tree of predicates combined with
/// `and`, `or` and `not`, with SQL three-valued semantics.
///
/// Parsing normalizes what cannot change a result: `<>` becomes `!=`, a comparison written
/// literal-first is turned around (`5 < x` → `x > 5`), and nested `and`s (or `or`s) are
/// flattened into one n-ary node. ``canonicalText`` prints the tree fully parenthesized with
/// lowercase keywords; it is what the view fingerprint hashes (format-spec.md §3a.5).
///
/// ```swift
/// let e = try FilterExpression.parse("STATUS_CODE <> 3 AND 10 <= amount")
/// e.canonicalText   // "((STATUS_CODE != 3) and (amount >= 10))"
/// ```
///
/// Equality (`==`) also compares source positions; compare ``canonicalText`` to compare
/// meaning.
///
/// Thread safety: a value type.
public indirect enum FilterExpression: Sendable, Hashable {
    /// True when every operand is true; false when any is false; else unknown (two or more).
    case and([FilterExpression])
    /// True when any operand is true; false when every operand is false; else unknown.
    case or([FilterExpression])
    /// Negation; `not unknown` is unknown.
    case not(FilterExpression)
    /// `field op literal` or `field op field`; unknown when either side is null.
    /// `position` is the first character of the comparison.
    case compare(FilterOperand, FilterComparison, FilterOperand, position: Int)
    /// `field IS [NOT] NULL`; never unknown.
    case isNull(FilterOperand, negated: Bool)
    /// `field [NOT] IN (literal, …)`; unknown when the field is null.
    case inList(FilterOperand, [FilterOperand], negated: Bool)
    /// A bare boolean operand used as a predicate: a `bool` field (null is unknown) or
    /// `true` / `false`.
    case predicate(FilterOperand)

    /// Deepest tree the parser accepts: at most this many `and`/`or`/`not` nodes on any path
    /// from the root to a predicate (bounds the recursion of evaluation and printing). The
    /// canonical text of any accepted tree parses again.
    public static let depthMax = 64

    /// Deepest syntactic nesting of parentheses and `NOT`s the parser accepts (bounds its
    /// recursion): room for the canonical text of a tree of ``depthMax``, where each level
    /// costs at most two (`(not …)`) and each predicate one more.
    public static let nestingMax = 4 * depthMax

    /// Keywords, matched case-insensitively; a field with such a name must be double-quoted.
    public static let keywords: Set<String> = ["and", "or", "not", "in", "is", "null", "true", "false"]

    /// Parses a filter.
    /// - Throws: ``LambdaStoreError/Code/view`` as `filter: position N: reason` (N is the
    ///   1-based Unicode scalar column): unexpected character or token, unterminated string or
    ///   quoted field, malformed or out-of-range number, a comparison between two literals,
    ///   `IS`/`IN` after a literal, an empty `IN` list, parentheses and `NOT`s nested deeper than
    ///   ``nestingMax``, a tree deeper than ``depthMax``.
    /// - Complexity: O(length).
    public static func parse(_ text: String) throws(LambdaStoreError) -> FilterExpression {
        var p = FilterParser(tokens: try FilterLexer.tokenize(text))
        let e = try p.orExpr(depth: 0)
        guard case .end = p.peek.kind else { throw p.unexpected() }
        if let position = e.firstPositionDeeper(than: depthMax) {
            throw FilterLexer.error(position, "nesting deeper than \(depthMax) levels of and/or/not")
        }
        return e
    }

    /// The position of the first predicate below more than `limit` `and`/`or`/`not` nodes.
    func firstPositionDeeper(than limit: Int) -> Int? {
        switch self {
        case .and(let items), .or(let items):
            for item in items {
                if let p = item.firstPositionDeeper(than: limit - 1) { return p }
            }
            return nil
        case .not(let e):
            return e.firstPositionDeeper(than: limit - 1)
        case .compare(_, _, _, let position):
            return limit < 0 ? position : nil
        case .isNull(let a, _), .inList(let a, _, _), .predicate(let a):
            return limit < 0 ? a.position : nil
        }
    }

    /// The normalized, fully parenthesized text (format-spec.md §3a "Canonical filter"):
    /// `and`/`or` as `(a and b and c)`, `(not a)`, `(x = 5)`, `(x is null)`,
    /// `(x is not null)`, `(x in (1, 2))`, `(x not in ('a'))`, a bare predicate as itself.
    /// Parsing the result gives back an equal expression up to positions.
    public var canonicalText: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .and(let items), .or(let items):
            let word: String
            if case .and = self { word = " and " } else { word = " or " }
            out += "("
            for (k, item) in items.enumerated() {
                if k > 0 { out += word }
                item.write(to: &out)
            }
            out += ")"
        case .not(let e):
            out += "(not "
            e.write(to: &out)
            out += ")"
        case .compare(let a, let op, let b, _):
            out += "(" + a.canonicalText + " " + op.rawValue + " " + b.canonicalText + ")"
        case .isNull(let a, let negated):
            out += "(" + a.canonicalText + (negated ? " is not null)" : " is null)")
        case .inList(let a, let items, let negated):
            out += "(" + a.canonicalText + (negated ? " not in (" : " in (")
            out += items.map(\.canonicalText).joined(separator: ", ")
            out += "))"
        case .predicate(let a):
            out += a.canonicalText
        }
    }

    /// `name` as the canonical field reference: bare or double-quoted.
    static func quoteField(_ name: String) -> String {
        let u = Array(name.utf8)
        let bare = !u.isEmpty && FilterLexer.isIdentStart(u[0]) && u.allSatisfy(FilterLexer.isIdentPart)
            && !keywords.contains(name.lowercased())
        return bare ? name : "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// The field names the expression references, in order of appearance (with repeats).
    public var fieldNames: [String] {
        switch self {
        case .and(let items), .or(let items): return items.flatMap(\.fieldNames)
        case .not(let e): return e.fieldNames
        case .compare(let a, _, let b, _): return [a.fieldName, b.fieldName].compactMap { $0 }
        case .isNull(let a, _), .inList(let a, _, _), .predicate(let a): return a.fieldName.map { [$0] } ?? []
        }
    }
}
