import LambdaStoreCore

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
