import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// What the splitter delivered: `(number, text)` for lines, `(number, nil)` for overlong ones.
private func split(_ input: [UInt8], chunks: [Int], lineBytesMax: Int = Limits.lineBytesMax) -> [(Int, [UInt8]?)] {
    var out: [(Int, [UInt8]?)] = []
    var splitter = LineSplitter(lineBytesMax: lineBytesMax)
    let handle = { (e: LineSplitter.Event) in
        switch e {
        case .line(let b, let n): out.append((n, Array(b)))
        case .overlong(let r): out.append((r.line, nil))
        }
    }
    input.withUnsafeBytes { all in
        var at = 0, k = 0
        while at < all.count {
            let end = min(all.count, at + max(1, chunks[k % chunks.count]))
            splitter.feed(UnsafeRawBufferPointer(rebasing: all[at..<end]), handle)
            at = end
            k += 1
        }
    }
    splitter.finish(handle)
    return out
}

/// The naive reference: split on `\n`, drop one `\r` before it (or at the end), no last empty line.
private func naiveSplit(_ input: [UInt8], lineBytesMax: Int) -> [(Int, [UInt8]?)] {
    var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    if input.last == 0x0A || input.isEmpty { lines.removeLast() }
    return lines.enumerated().map { k, l in
        var l = l
        if l.last == 0x0D { l.removeLast() }
        return (k + 1, l.count > lineBytesMax ? nil : l)
    }
}

private func same(_ a: [(Int, [UInt8]?)], _ b: [(Int, [UInt8]?)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

@Suite struct IngestLineSplitterTests {
    @Test(arguments: [[1], [2], [3, 1], [4096]])
    func splitsLinesInEveryChunking(chunks: [Int]) {
        let got = split(Array("a\nb\r\n\nc\rd\n\r\nlast\r".utf8), chunks: chunks)
        let expected: [(Int, [UInt8]?)] = [(1, Array("a".utf8)), (2, Array("b".utf8)), (3, []), (4, Array("c\rd".utf8)), (5, []), (6, Array("last".utf8))]
        #expect(same(got, expected), "\(got)")
    }

    @Test func edgeInputs() {
        #expect(split([], chunks: [1]).isEmpty)
        #expect(same(split(Array("\n".utf8), chunks: [1]), [(1, [])]))
        #expect(same(split(Array("x\n".utf8), chunks: [1]), [(1, Array("x".utf8))]))
        #expect(same(split(Array("x".utf8), chunks: [8]), [(1, Array("x".utf8))]))
        #expect(same(split(Array("\n\n".utf8), chunks: [8]), [(1, []), (2, [])]))
    }

    /// Lines over the limit become rejections with their number, never buffered whole; a line
    /// of exactly the limit (plus its `\r\n`) is fine, in every chunking.
    @Test(arguments: [1, 2, 3, 5, 6, 7, 64])
    func overlongLinesAreRejected(chunk: Int) {
        let input = Array("12345\n123456\n12345\r\nabc\n1234567890123\n\n123456".utf8)
        let got = split(input, chunks: [chunk], lineBytesMax: 5)
        let expected: [(Int, [UInt8]?)] = [(1, Array("12345".utf8)), (2, nil), (3, Array("12345".utf8)), (4, Array("abc".utf8)), (5, nil), (6, []), (7, nil)]
        #expect(same(got, expected), "chunk \(chunk): \(got)")
        var splitter = LineSplitter(lineBytesMax: 5)
        var reason = ""
        Array("toolongline".utf8).withUnsafeBytes { splitter.feed($0) { _ in } }
        splitter.finish { if case .overlong(let r) = $0 { reason = r.description } }
        #expect(reason == "line 1: line longer than 5 bytes (Limits.lineBytesMax)")
        // Memory stays bounded: the partial line is never kept beyond the limit.
        var big = LineSplitter(lineBytesMax: 5)
        [UInt8](repeating: 0x61, count: 10_000).withUnsafeBytes { big.feed($0) { _ in } }
        #expect(big.pending.count <= 6)
    }

    @Test func matchesNaiveSplitOnRandomInput() {
        let seed: UInt64 = 0x11E5
        var rng = SplitMix64(seed: seed)
        for round in 0..<2_000 {
            let input: [UInt8] = (0..<Int(rng.next() % 80)).map { _ in [0x0A, 0x0D, 0x61, 0x62][Int(rng.next() % 4)] }
            let max = Int(rng.next() % 12)
            let chunks = (0..<3).map { _ in Int(1 + rng.next() % 9) }
            let got = split(input, chunks: chunks, lineBytesMax: max)
            #expect(same(got, naiveSplit(input, lineBytesMax: max)), "seed \(seed), round \(round): \(input) max \(max) chunks \(chunks)")
        }
    }

    struct Stop: Error {}

    @Test func aThrowingBodyStopsTheSplit() {
        var splitter = LineSplitter()
        var seen: [Int] = []
        #expect(throws: Stop.self) {
            try Array("a\nb\nc\n".utf8).withUnsafeBytes { chunk throws in
                try splitter.feed(chunk) { (e: LineSplitter.Event) throws(Stop) in
                    if case .line(_, let n) = e { seen.append(n); if n == 2 { throw Stop() } }
                }
            }
        }
        #expect(seen == [1, 2])
    }

    @Test func formatIsInferredFromThePath() {
        #expect(InputFormat.inferred(fromPath: "orders.csv") == .csv)
        #expect(InputFormat.inferred(fromPath: "/x/ORDERS.CSV") == .csv)
        #expect(InputFormat.inferred(fromPath: "orders.jsonl") == .jsonl)
        #expect(InputFormat.inferred(fromPath: "-") == .jsonl)
        #expect(InputFormat.inferred(fromPath: "csv") == .jsonl)
    }
}
