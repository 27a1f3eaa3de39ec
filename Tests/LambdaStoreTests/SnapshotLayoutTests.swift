import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreViews

/// The window starts a keyed batch query probes, against a plain enumeration of every
/// millisecond in the range.
@Suite struct SnapshotLayoutTests {
    static func reference(_ range: Range<Int64>, unit: Int64) -> [Int64] {
        range.filter { (($0 % unit) + unit) % unit == 0 }
    }

    @Test(arguments: [(Int64(-25), Int64(31)), (-30, -10), (0, 1), (7, 7), (-1, 0), (5, 100), (-100, -99)])
    func windowStartsAreTheMultiplesOfTheSlideInRange(lower: Int64, upper: Int64) {
        for unit: Int64 in [1, 3, 10, 60] {
            let want = Self.reference(lower..<upper, unit: unit)
            for window in [WindowKind.tumbling(size: unit), .hopping(size: unit * 3, slide: unit)] {
                let got = SnapshotLayout.windowStarts(in: lower..<upper, layout: window, limit: 1_000)
                #expect(got == want, "\(window) over \(lower)..<\(upper)")
            }
            if want.count > 2 {
                #expect(SnapshotLayout.windowStarts(in: lower..<upper, layout: .tumbling(size: unit), limit: 2) == nil, "over the limit")
            }
        }
        #expect(SnapshotLayout.windowStarts(in: lower..<upper, layout: .none, limit: 10) == nil)
    }

    @Test func windowStartsNearTheEndsOfTime() {
        let size: Int64 = 3_600_000
        let top = SnapshotLayout.windowStarts(in: (Int64.max - 2 * size)..<Int64.max, layout: .tumbling(size: size), limit: 10)
        #expect(top?.count == 2 && top?.allSatisfy { $0 % size == 0 } == true)
        let bottom = SnapshotLayout.windowStarts(in: Int64.min..<(Int64.min + 2 * size), layout: .tumbling(size: size), limit: 10)
        #expect(bottom?.allSatisfy { $0 >= Int64.min && $0 % size == 0 } == true && bottom?.count == 2)
    }
}
