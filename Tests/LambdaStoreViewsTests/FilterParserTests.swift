import LambdaStoreCore
import Testing
@testable import LambdaStoreViews

@Suite struct FilterParserTests {
    /// Every construct of the grammar and its canonical text.
    static let accepted: [(String, String)] = [
        ("a = 1", "(a = 1)"),
        ("STATUS_CODE <> 3 AND 10 <= amount", "((STATUS_CODE != 3) and (amount >= 10))"),
        ("a != 1", "(a != 1)"),
        ("a <> 1", "(a != 1)"),
        ("a < 1", "(a < 1)"),
        ("a <= 1", "(a <= 1)"),
        ("a > 1", "(a > 1)"),
        ("a >= 1", "(a >= 1)"),
        ("a=-1", "(a = -1)"),
        ("a = -9223372036854775808", "(a = -9223372036854775808)"),
        ("a = 9223372036854775807", "(a = 9223372036854775807)"),
        ("a = 1.5", "(a = 1.5)"),
        ("a = -0.0", "(a = 0.0)"),
        ("a = 2e3", "(a = 2000.0)"),
        ("a = 2.5E-3", "(a = 0.0025)"),
        ("a = 1e21", "(a = 1e+21)"),
        ("a = 1.0e-7", "(a = 1e-7)"),
        ("a = 'x'", "(a = 'x')"),
        ("a = ''", "(a = '')"),
        ("a = 'it''s'", "(a = 'it''s')"),
        ("a = 'ünï ☃'", "(a = 'ünï ☃')"),
        ("a = true", "(a = true)"),
        ("a = FALSE", "(a = false)"),
        ("a = b", "(a = b)"),
        ("1 < a", "(a > 1)"),
        ("'x' <= a", "(a >= 'x')"),
        ("TRUE = flag", "(flag = true)"),
        ("flag", "flag"),
        ("NOT flag", "(not flag)"),
        ("true", "true"),
        ("not not a = 1", "(not (not (a = 1)))"),
        ("a = 1 AND b = 2", "((a = 1) and (b = 2))"),
        ("a = 1 and b = 2 and c = 3", "((a = 1) and (b = 2) and (c = 3))"),
        ("a = 1 OR b = 2 AND c = 3", "((a = 1) or ((b = 2) and (c = 3)))"),
        ("(a = 1 OR b = 2) AND c = 3", "(((a = 1) or (b = 2)) and (c = 3))"),
        ("NOT a = 1 AND b = 2", "((not (a = 1)) and (b = 2))"),
        ("NOT (a = 1 AND b = 2)", "(not ((a = 1) and (b = 2)))"),
        ("a IS NULL", "(a is null)"),
        ("a is not null", "(a is not null)"),
        ("NOT a IS NULL", "(not (a is null))"),
        ("a IN (1)", "(a in (1))"),
        ("a IN (1, 2.5, 'x', true)", "(a in (1, 2.5, 'x', true))"),
        ("a NOT IN ('x','y')", "(a not in ('x', 'y'))"),
        ("a not in (-3)", "(a not in (-3))"),
        ("\"weird-name.x\" = 1", "(\"weird-name.x\" = 1)"),
        ("\"and\" = 1", "(\"and\" = 1)"),
        ("\"a\"\"b\" = 1", "(\"a\"\"b\" = 1)"),
        ("\"plain\" = 1", "(plain = 1)"),
        ("\"1st\" = 1", "(\"1st\" = 1)"),
        ("Status = 'x'", "(Status = 'x')"),
        ("\t a\n=\r\n1 ", "(a = 1)"),
        ("a_1 >= b_2 Or _c Is Not Null aNd d NoT iN (1)", "((a_1 >= b_2) or ((_c is not null) and (d not in (1))))"),
    ]

    @Test(arguments: accepted)
    func acceptsAndNormalizes(text: String, canonical: String) throws {
        let e = try FilterExpression.parse(text)
        #expect(e.canonicalText == canonical)
        // The canonical text is a fixed point.
        #expect(try FilterExpression.parse(canonical).canonicalText == canonical)
    }

    /// Bad filters, the 1-based position the error must report, and a fragment of its reason.
    static let rejected: [(String, Int, String)] = [
        ("", 1, "expected a field or a literal, found end of filter"),
        ("   ", 4, "end of filter"),
        ("a =", 4, "end of filter"),
        ("a = 1 AND", 10, "end of filter"),
        ("a = 1 OR OR b = 2", 10, "unexpected 'OR'"),
        ("a = 1 b = 2", 7, "unexpected 'b'"),
        ("a == 1", 4, "unexpected '='"),
        ("a = 'open", 5, "unterminated string"),
        ("a = 'it''s", 5, "unterminated string"),
        ("\"open = 1", 1, "unterminated quoted field name"),
        ("\"\" = 1", 1, "empty quoted field name"),
        ("a ! 1", 3, "'!'"),
        ("a = 1 # c", 7, "unexpected character '#'"),
        ("a = ☃", 5, "unexpected character '☃'"),
        ("é = 1", 1, "unexpected character 'é'"),
        ("a = 1.", 5, "malformed number '1.'"),
        ("a = 1.x", 5, "malformed number"),
        ("a = 12abc", 5, "malformed number '12abc'"),
        ("a = 1e", 5, "malformed number"),
        ("a = 1e+", 5, "malformed number"),
        ("a = 1.2.3", 5, "malformed number '1.2.3'"),
        ("a = - 1", 5, "unexpected character '-'"),
        ("a = 9223372036854775808", 5, "integer 9223372036854775808 is out of range"),
        ("a = -9223372036854775809", 5, "out of range"),
        ("a = 1e999", 5, "out of range"),
        ("1 = 2", 1, "needs a field"),
        ("'x' = 'y'", 1, "needs a field"),
        ("5", 2, "expected a comparison operator after integer 5"),
        ("'x' AND a", 5, "after string 'x'"),
        ("a = NULL", 5, "use IS NULL"),
        ("a IS 5", 6, "expected NULL"),
        ("a IS NOT 5", 10, "expected NULL"),
        ("5 IS NULL", 3, "IS NULL needs a field"),
        ("a IN ()", 7, "at least one literal"),
        ("a IN 1", 6, "expected '('"),
        ("a IN (1 2)", 9, "expected ',' or ')'"),
        ("a IN (1,)", 9, "expected a literal"),
        ("a IN (b)", 7, "expected a literal"),
        ("a IN (1", 8, "expected ',' or ')'"),
        ("5 IN (1)", 3, "IN needs a field"),
        ("a NOT 1", 7, "expected IN"),
        ("(a = 1", 7, "expected ')'"),
        ("a = 1)", 6, "unexpected ')'"),
        ("()", 2, "unexpected ')'"),
        ("NOT", 4, "end of filter"),
        ("a AND", 6, "end of filter"),
        ("AND a", 1, "unexpected 'AND'"),
        ("a = (1)", 5, "unexpected '('"),
        ("(a) = 1", 5, "unexpected '='"),
        (String(repeating: "(", count: 257) + "a" + String(repeating: ")", count: 257), 257, "nested deeper than 256"),
        (String(repeating: "NOT (", count: 129) + "a" + String(repeating: ")", count: 129), 641, "nested deeper than 256"),
        (String(repeating: "NOT ", count: 65) + "a", 261, "nesting deeper than 64 levels"),
        ("x = 0 OR " + String(repeating: "(a = 1 AND (b = 1 OR ", count: 33) + "c" + String(repeating: "))", count: 33), 1 + 9 + 21 * 31 + 12, "nesting deeper than 64 levels"),
    ]

    @Test(arguments: rejected)
    func rejectsWithPosition(text: String, position: Int, fragment: String) {
        do {
            let e = try FilterExpression.parse(text)
            Issue.record("\(text) parsed as \(e.canonicalText)")
        } catch {
            #expect(error.code == .view)
            #expect(error.message.hasPrefix("filter: position \(position): "), "\(text): \(error.message)")
            #expect(error.message.contains(fragment), "\(text): \(error.message)")
        }
    }

    @Test func nestingUpToTheLimitIsFine() throws {
        let deep = String(repeating: "(", count: 256) + "a" + String(repeating: ")", count: 256)
        #expect(try FilterExpression.parse(deep).canonicalText == "a")
        // Trees of the maximum depth print to a canonical text that parses again.
        let nots = String(repeating: "NOT ", count: 64) + "a = 1"
        let notsCanonical = try FilterExpression.parse(nots).canonicalText
        #expect(notsCanonical.hasPrefix("(not (not "))
        #expect(try FilterExpression.parse(notsCanonical).canonicalText == notsCanonical)
        let alternating = "x = 0 OR " + String(repeating: "(a = 1 AND (b = 1 OR ", count: 31) + "c IN (1)" + String(repeating: "))", count: 31)
        let altCanonical = try FilterExpression.parse(alternating).canonicalText
        #expect(try FilterExpression.parse(altCanonical).canonicalText == altCanonical)
        // Long flat chains are not nesting: they become one n-ary node.
        let chain = (0..<5_000).map { "a = \($0)" }.joined(separator: " OR ")
        guard case .or(let items) = try FilterExpression.parse(chain) else {
            Issue.record("expected an or node")
            return
        }
        #expect(items.count == 5_000)
    }

    @Test func positionsCountUnicodeScalars() {
        // 'ü' is one scalar (two UTF-8 bytes): the end is at scalar 14, not byte 15.
        do {
            _ = try FilterExpression.parse("a = 'ü' AND (")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("filter: position 14: "), "\(error.message)")
        }
    }

    @Test func fieldNamesAreCaseSensitiveKeywordsAreNot() throws {
        let e = try FilterExpression.parse("Amount > 1 AnD amount < 2")
        #expect(e.fieldNames == ["Amount", "amount"])
        #expect(e.canonicalText == "((Amount > 1) and (amount < 2))")
    }

    @Test func floatCanonicalTextReadsBackTheSameDouble() throws {
        var values: [Double] = [0.1, 1.0 / 3, 123_456_789.125, 1e-300, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 2.5e15, 1e16, 123e20, 0.000123]
        values += values.map { -$0 }
        for d in values {
            let text = FilterLiteral.float(d).canonicalText
            #expect(text.contains(".") || text.contains("e"), "\(text)")
            guard case .compare(_, _, let rhs, _) = try FilterExpression.parse("a = " + text),
                  case .literal(.float(let back)) = rhs.kind else {
                Issue.record("\(text) did not parse back as a float")
                continue
            }
            #expect(back == d, "\(d) → \(text) → \(back)")
        }
    }
}
