import LambdaStoreCore

/// A comparison operator of the filter language. `<>` is read as ``ne``.
public enum FilterComparison: String, Sendable, Hashable, CaseIterable {
    case eq = "="
    case ne = "!="
    case lt = "<"
    case le = "<="
    case gt = ">"
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

/// A literal of the filter language.
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
            let s = ViewJSON.formatDouble(d)
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
/// lowercase keywords; it is what the view fingerprint hashes.
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

/// One token of a filter.
struct FilterToken {
    enum Kind: Equatable {
        case field(String)      // bare or double-quoted identifier
        case keyword(String)    // lowercase
        case literal(FilterLiteral)
        case op(FilterComparison)
        case lparen, rparen, comma
        case end
    }
    var kind: Kind
    /// 1-based Unicode scalar position of the first character.
    var position: Int
    /// The source text, for messages.
    var text: String
}

/// Splits filter text into tokens (format-spec.md §3a "Tokens").
enum FilterLexer {
    static func isIdentStart(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
    static func isIdentPart(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func error(_ position: Int, _ message: String) -> LambdaStoreError {
        LambdaStoreError(.view, "filter: position \(position): \(message)")
    }

    static func tokenize(_ text: String) throws(LambdaStoreError) -> [FilterToken] {
        let s = Array(text.unicodeScalars)
        var tokens: [FilterToken] = []
        var i = 0
        func ascii(_ k: Int) -> UInt8? { k < s.count && s[k].isASCII ? UInt8(s[k].value) : nil }
        while i < s.count {
            let c = s[i]
            let pos = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            guard let b = ascii(i) else { throw error(pos, "unexpected character '\(c)'") }
            switch b {
            case UInt8(ascii: "("): tokens.append(FilterToken(kind: .lparen, position: pos, text: "(")); i += 1
            case UInt8(ascii: ")"): tokens.append(FilterToken(kind: .rparen, position: pos, text: ")")); i += 1
            case UInt8(ascii: ","): tokens.append(FilterToken(kind: .comma, position: pos, text: ",")); i += 1
            case UInt8(ascii: "="): tokens.append(FilterToken(kind: .op(.eq), position: pos, text: "=")); i += 1
            case UInt8(ascii: "!"):
                guard ascii(i + 1) == UInt8(ascii: "=") else { throw error(pos, "unexpected character '!' (did you mean '!='?)") }
                tokens.append(FilterToken(kind: .op(.ne), position: pos, text: "!=")); i += 2
            case UInt8(ascii: "<"):
                if ascii(i + 1) == UInt8(ascii: "=") {
                    tokens.append(FilterToken(kind: .op(.le), position: pos, text: "<=")); i += 2
                } else if ascii(i + 1) == UInt8(ascii: ">") {
                    tokens.append(FilterToken(kind: .op(.ne), position: pos, text: "<>")); i += 2
                } else {
                    tokens.append(FilterToken(kind: .op(.lt), position: pos, text: "<")); i += 1
                }
            case UInt8(ascii: ">"):
                if ascii(i + 1) == UInt8(ascii: "=") {
                    tokens.append(FilterToken(kind: .op(.ge), position: pos, text: ">=")); i += 2
                } else {
                    tokens.append(FilterToken(kind: .op(.gt), position: pos, text: ">")); i += 1
                }
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = c
                var value = String.UnicodeScalarView()
                var k = i + 1
                while true {
                    guard k < s.count else {
                        throw error(pos, quote == "'" ? "unterminated string" : "unterminated quoted field name")
                    }
                    if s[k] == quote {
                        if k + 1 < s.count, s[k + 1] == quote { value.append(quote); k += 2; continue }
                        k += 1
                        break
                    }
                    value.append(s[k])
                    k += 1
                }
                let str = String(value)
                let src = String(String.UnicodeScalarView(s[i..<k]))
                if quote == "'" {
                    tokens.append(FilterToken(kind: .literal(.string(str)), position: pos, text: src))
                } else {
                    guard !str.isEmpty else { throw error(pos, "empty quoted field name") }
                    tokens.append(FilterToken(kind: .field(str), position: pos, text: src))
                }
                i = k
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (tok, next) = try number(s, i)
                tokens.append(tok)
                i = next
            default:
                guard isIdentStart(b) else { throw error(pos, "unexpected character '\(c)'") }
                var k = i + 1
                while let d = ascii(k), isIdentPart(d) { k += 1 }
                let word = String(String.UnicodeScalarView(s[i..<k]))
                let lower = word.lowercased()
                if lower == "true" || lower == "false" {
                    tokens.append(FilterToken(kind: .literal(.bool(lower == "true")), position: pos, text: word))
                } else if FilterExpression.keywords.contains(lower) {
                    tokens.append(FilterToken(kind: .keyword(lower), position: pos, text: word))
                } else {
                    tokens.append(FilterToken(kind: .field(word), position: pos, text: word))
                }
                i = k
            }
        }
        tokens.append(FilterToken(kind: .end, position: s.count + 1, text: ""))
        return tokens
    }

    /// `-? digits ( . digits )? ( [eE] [+-]? digits )?`, not followed by a letter, digit or `_`.
    static func number(_ s: [Unicode.Scalar], _ start: Int) throws(LambdaStoreError) -> (FilterToken, Int) {
        func digitAt(_ k: Int) -> Bool { k < s.count && s[k].isASCII && isDigit(UInt8(s[k].value)) }
        var k = start
        if s[k] == "-" {
            guard digitAt(k + 1) else { throw error(start + 1, "unexpected character '-'") }
            k += 1
        }
        while digitAt(k) { k += 1 }
        var isFloat = false
        if k < s.count, s[k] == "." {
            guard digitAt(k + 1) else { throw error(start + 1, "malformed number '\(String(String.UnicodeScalarView(s[start...k])))'") }
            isFloat = true
            k += 1
            while digitAt(k) { k += 1 }
        }
        if k < s.count, s[k] == "e" || s[k] == "E" {
            var e = k + 1
            if e < s.count, s[e] == "+" || s[e] == "-" { e += 1 }
            guard digitAt(e) else { throw error(start + 1, "malformed number '\(String(String.UnicodeScalarView(s[start..<min(e + 1, s.count)])))'") }
            isFloat = true
            k = e
            while digitAt(k) { k += 1 }
        }
        if k < s.count, s[k].isASCII, isIdentPart(UInt8(s[k].value)) || s[k] == "." {
            var end = k
            while end < s.count, s[end].isASCII, isIdentPart(UInt8(s[end].value)) || s[end] == "." { end += 1 }
            throw error(start + 1, "malformed number '\(String(String.UnicodeScalarView(s[start..<end])))'")
        }
        let text = String(String.UnicodeScalarView(s[start..<k]))
        let lit: FilterLiteral
        if isFloat {
            guard let d = Double(text), d.isFinite else { throw error(start + 1, "number \(text) is out of range") }
            lit = .float(d == 0 ? 0 : d)   // -0.0 reads as 0.0
        } else {
            guard let v = Int64(text) else { throw error(start + 1, "integer \(text) is out of range") }
            lit = .int(v)
        }
        return (FilterToken(kind: .literal(lit), position: start + 1, text: text), k)
    }
}

/// Recursive descent over the tokens (format-spec.md §3a grammar).
struct FilterParser {
    let tokens: [FilterToken]
    var i = 0

    init(tokens: [FilterToken]) { self.tokens = tokens }

    var peek: FilterToken { tokens[min(i, tokens.count - 1)] }

    mutating func advance() -> FilterToken {
        let t = peek
        if i < tokens.count - 1 { i += 1 }
        return t
    }

    func unexpected(_ expecting: String? = nil) -> LambdaStoreError {
        let t = peek
        let found = t.kind == .end ? "end of filter" : "'\(t.text)'"
        if let expecting { return FilterLexer.error(t.position, "expected \(expecting), found \(found)") }
        return FilterLexer.error(t.position, "unexpected \(found)")
    }

    func isKeyword(_ w: String) -> Bool { peek.kind == .keyword(w) }

    mutating func orExpr(depth: Int) throws(LambdaStoreError) -> FilterExpression {
        var items = [try andExpr(depth: depth)]
        while isKeyword("or") {
            _ = advance()
            items.append(try andExpr(depth: depth))
        }
        return Self.flatten(items, or: true)
    }

    mutating func andExpr(depth: Int) throws(LambdaStoreError) -> FilterExpression {
        var items = [try notExpr(depth: depth)]
        while isKeyword("and") {
            _ = advance()
            items.append(try notExpr(depth: depth))
        }
        return Self.flatten(items, or: false)
    }

    static func flatten(_ items: [FilterExpression], or: Bool) -> FilterExpression {
        if items.count == 1 { return items[0] }
        var out: [FilterExpression] = []
        for e in items {
            switch (e, or) {
            case (.or(let inner), true), (.and(let inner), false): out.append(contentsOf: inner)
            default: out.append(e)
            }
        }
        return or ? .or(out) : .and(out)
    }

    mutating func notExpr(depth: Int) throws(LambdaStoreError) -> FilterExpression {
        if isKeyword("not") {
            let t = advance()
            guard depth < FilterExpression.nestingMax else { throw FilterLexer.error(t.position, "parentheses and NOTs nested deeper than \(FilterExpression.nestingMax)") }
            return .not(try notExpr(depth: depth + 1))
        }
        return try predicate(depth: depth)
    }

    mutating func predicate(depth: Int) throws(LambdaStoreError) -> FilterExpression {
        if peek.kind == .lparen {
            let t = advance()
            guard depth < FilterExpression.nestingMax else { throw FilterLexer.error(t.position, "parentheses and NOTs nested deeper than \(FilterExpression.nestingMax)") }
            let e = try orExpr(depth: depth + 1)
            guard peek.kind == .rparen else { throw unexpected("')'") }
            _ = advance()
            return e
        }
        let left = try operand()
        switch peek.kind {
        case .op(let op):
            _ = advance()
            let right = try operand()
            switch (left.kind, right.kind) {
            case (.literal, .literal):
                throw FilterLexer.error(left.position, "a comparison needs a field on at least one side")
            case (.literal, .field):
                return .compare(right, op.flipped, left, position: left.position)
            default:
                return .compare(left, op, right, position: left.position)
            }
        case .keyword("is"):
            let isTok = advance()
            guard left.fieldName != nil else { throw FilterLexer.error(isTok.position, "IS NULL needs a field on its left") }
            var negated = false
            if isKeyword("not") { _ = advance(); negated = true }
            guard isKeyword("null") else { throw unexpected("NULL") }
            _ = advance()
            return .isNull(left, negated: negated)
        case .keyword("not"), .keyword("in"):
            let first = advance()
            var negated = false
            if first.kind == .keyword("not") {
                guard isKeyword("in") else { throw unexpected("IN") }
                _ = advance()
                negated = true
            }
            guard left.fieldName != nil else { throw FilterLexer.error(first.position, "IN needs a field on its left") }
            guard peek.kind == .lparen else { throw unexpected("'('") }
            _ = advance()
            var items: [FilterOperand] = []
            while true {
                let t = peek
                guard case .literal(let l) = t.kind else {
                    throw unexpected(items.isEmpty && t.kind == .rparen ? "at least one literal in the IN list" : "a literal")
                }
                _ = advance()
                items.append(FilterOperand(.literal(l), position: t.position))
                if peek.kind == .comma { _ = advance(); continue }
                guard peek.kind == .rparen else { throw unexpected("',' or ')'") }
                _ = advance()
                break
            }
            return .inList(left, items, negated: negated)
        default:
            switch left.kind {
            case .field, .literal(.bool):
                return .predicate(left)
            case .literal(let l):
                throw unexpected("a comparison operator after \(l.described)")
            }
        }
    }

    mutating func operand() throws(LambdaStoreError) -> FilterOperand {
        let t = peek
        switch t.kind {
        case .field(let name):
            _ = advance()
            return FilterOperand(.field(name), position: t.position)
        case .literal(let l):
            _ = advance()
            return FilterOperand(.literal(l), position: t.position)
        case .keyword("null"):
            throw FilterLexer.error(t.position, "NULL is not a value: use IS NULL or IS NOT NULL")
        default:
            throw unexpected(t.kind == .end ? "a field or a literal" : nil)
        }
    }
}
