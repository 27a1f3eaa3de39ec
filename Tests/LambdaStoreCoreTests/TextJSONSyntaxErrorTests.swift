import Testing
@testable import LambdaStoreCore

/// `JSONSyntaxError` takes apart exactly the errors `JSONValue.parse` throws, so callers such as
/// the view file can reword them without losing the position or the reason.
@Suite struct TextJSONSyntaxErrorTests {
    /// The parse error for `bytes`, taken apart; records an issue when `bytes` parses.
    private func syntaxError(_ bytes: [UInt8]) -> (LambdaStoreError, JSONSyntaxError?)? {
        do {
            _ = try JSONValue.parse(bytes)
            Issue.record("accepted \(bytes)")
            return nil
        } catch {
            return (error, bytes.withUnsafeBytes { JSONSyntaxError(error, in: $0) })
        }
    }

    @Test(arguments: TextJSONParserTests.invalid)
    func singleLineErrorsComeApartAndReassemble(_ text: String, column: Int) throws {
        guard let (error, parts) = syntaxError(Array(text.utf8)) else { return }
        let s = try #require(parts, "\(text.debugDescription): \(error.message)")
        #expect(s.line == 1 && s.column == column && s.offset == column - 1, "\(text.debugDescription): \(s)")
        #expect(!s.reason.isEmpty && !s.reason.hasPrefix("invalid JSON"))
        #expect("invalid JSON at column \(column): \(s.reason)" == error.message)
    }

    @Test(arguments: TextJSONParserTests.invalidBytes)
    func invalidBytesComeApart(_ input: [UInt8], column: Int) throws {
        guard let (error, parts) = syntaxError(input) else { return }
        let s = try #require(parts, "\(input): \(error.message)")
        #expect(s.line == 1 && s.column == column, "\(input): \(s)")
    }

    @Test func multiLineErrorsKeepLineAndColumn() throws {
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"a\": 1,\n  \"b\" 2\n}", 3, 7, "unexpected '2', expected ':' after object key"),
            ("{\"name\":\"n\",\n \"name\":\"m\"}", 2, 2, #"duplicate key "name""#),
            ("[1,\n2,\n", 3, 1, "unexpected end of input, expected a value"),
            ("\n\n\n  x", 4, 3, "unexpected 'x', expected a value"),
        ]
        for (text, line, column, reason) in cases {
            guard let (error, parts) = syntaxError(Array(text.utf8)) else { continue }
            let s = try #require(parts, "\(text.debugDescription): \(error.message)")
            #expect(s.line == line && s.column == column && s.reason == reason, "\(text.debugDescription): \(s)")
            #expect(error.message == "invalid JSON at line \(line), column \(column): \(reason)")
        }
    }

    @Test func otherErrorsAreNotTakenApart() {
        let bytes = Array("[1, 2]".utf8)
        let others = [
            LambdaStoreError(.view, "invalid JSON at column 2: unexpected"),                  // another code
            LambdaStoreError(.invalidArgument, "invalid JSON at column 2: unexpected"),       // no offset
            LambdaStoreError(.invalidArgument, "invalid JSON at column 3: x", offset: 1),     // offset and text disagree
            LambdaStoreError(.invalidArgument, "bad option", offset: 1),
            LambdaStoreError(.invalidArgument, "invalid JSON at column 8: x", offset: 7),     // beyond the input
            LambdaStoreError(.invalidArgument, "invalid JSON at column 0: x", offset: -1),
        ]
        for e in others {
            #expect(bytes.withUnsafeBytes { JSONSyntaxError(e, in: $0) } == nil, "\(e)")
        }
    }

    @Test func lineAndColumnCountBytes() {
        let text = Array("é\nab\n".utf8)   // é is two bytes
        let got = (0...text.count).map { off in text.withUnsafeBytes { JSONSyntaxError.lineAndColumn(of: off, in: $0) } }
        let want = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1)]
        #expect(got.map(\.line) == want.map(\.0) && got.map(\.column) == want.map(\.1), "\(got)")
    }
}
