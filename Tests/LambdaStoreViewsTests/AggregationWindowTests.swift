import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

@Suite struct AggregationWindowTests {
    /// Window assignment equals brute force over every multiple of the slide, negative times
    /// included, for sizes that are and are not multiples of the slide.
    @Test(arguments: [(10, 10), (7, 7), (10, 5), (10, 3), (3, 10), (15, 4), (1, 1)] as [(Int64, Int64)])
    func assignmentMatchesBruteForce(size: Int64, slide: Int64) {
        let kind: WindowKind = size == slide ? .tumbling(size: size) : .hopping(size: size, slide: slide)
        for t in Int64(-60)...60 {
            var expected: [Int64] = []
            for k in Int64(-100)...100 where k * slide <= t && t < k * slide + size { expected.append(k * slide) }
            #expect(kind.windowStarts(containing: t) == expected, "size \(size) slide \(slide) t \(t)")
            #expect(expected.count <= kind.windowsPerEvent)
        }
    }

    @Test func negativeTimesUseFloor() {
        #expect(WindowKind.tumbling(size: 3_600_000).windowStarts(containing: -1) == [-3_600_000])
        #expect(WindowKind.tumbling(size: 10).windowStarts(containing: -10) == [-10])
        #expect(WindowKind.tumbling(size: 10).windowStarts(containing: -11) == [-20])
        #expect(WindowKind.hopping(size: 3, slide: 10).windowStarts(containing: -5) == [])   // gap between windows
    }

    @Test func extremeTimesDoNotTrap() {
        let k = WindowKind.tumbling(size: 7)
        #expect(k.windowStarts(containing: .min).isEmpty)                 // window would start below Int64.min
        let top = k.windowStarts(containing: .max)
        #expect(top.count == 1 && top[0] <= .max && top[0] > .max - 7)
        #expect(k.windowEnd(start: top[0]) == .max)                       // clamped
        #expect(!k.isClosed(windowStart: top[0], maxEventTime: .max, allowedLateness: 0))
        let h = WindowKind.hopping(size: 10, slide: 3)
        #expect(h.windowStarts(containing: .max).count == 4 || h.windowStarts(containing: .max).count == 3)
        #expect(h.windowStarts(containing: .min + 2).allSatisfy { $0 >= .min })
    }

    @Test func closedIsExact() {
        let k = WindowKind.tumbling(size: 10)
        #expect(k.isClosed(windowStart: 0, maxEventTime: 15, allowedLateness: 5))
        #expect(!k.isClosed(windowStart: 0, maxEventTime: 14, allowedLateness: 5))
        #expect(!k.isClosed(windowStart: 0, maxEventTime: nil, allowedLateness: 0))
        #expect(!k.isClosed(windowStart: 0, maxEventTime: .max, allowedLateness: .max))
        #expect(!WindowKind.none.isClosed(windowStart: 0, maxEventTime: .max, allowedLateness: 0))
    }
}
