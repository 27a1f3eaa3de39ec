import LambdaStoreCore

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
