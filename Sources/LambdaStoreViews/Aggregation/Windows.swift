import LambdaStoreCore

/// Window assignment (DESIGN.md "Views", "Lateness", "Details"; format-spec.md §3b.6).
///
/// Windows are aligned from epoch 0 with floor semantics, so negative times work: a tumbling
/// window of size `z` containing `t` is `[⌊t/z⌋·z, ⌊t/z⌋·z + z)`; the hopping windows of size
/// `z` and slide `d` containing `t` are every `[k·d, k·d + z)` with `k·d ≤ t < k·d + z` (`z`
/// need not be a multiple of `d`). A window whose start would lie below `Int64.min` does not
/// exist (events within one window size of −2⁶³ ms fall in fewer windows, possibly none); a
/// window whose end lies beyond `Int64.max` reports its end as `Int64.max` and is never closed.
extension WindowKind {
    /// The most windows one event may fall in under a hopping layout that ``ViewTable`` accepts:
    /// `ceil(size / slide)` must not exceed it (the definition side rejects larger ratios).
    public static let windowsPerEventMax = 4096

    /// The number of windows an event falls in (at most): 0 for `.none`, 1 tumbling, `⌈size/slide⌉` hopping.
    public var windowsPerEvent: Int {
        switch self {
        case .none: 0
        case .tumbling: 1
        case .hopping(let size, let slide): Int((size / slide) + (size % slide == 0 ? 0 : 1))
        }
    }

    /// The largest multiple of `unit` that is ≤ `t`, or nil when it is below `Int64.min`.
    @inline(__always)
    static func floorMultiple(_ t: Int64, _ unit: Int64) -> Int64? {
        let r = t % unit
        if r == 0 { return t }
        if t > 0 { return t - r }
        let (s, o) = t.subtractingReportingOverflow(r + unit)   // r in (-unit, 0): r + unit in (0, unit)
        return o ? nil : s
    }

    /// The starts of the windows containing event time `t`, ascending; empty for `.none`.
    /// - Complexity: O(windows per event).
    public func windowStarts(containing t: Int64) -> [Int64] {
        switch self {
        case .none: return []
        case .tumbling(let size): return Self.floorMultiple(t, size).map { [$0] } ?? []
        case .hopping(let size, let slide):
            guard var s = Self.floorMultiple(t, slide) else { return [] }
            var out: [Int64] = []
            while Int128(s) + Int128(size) > Int128(t) {
                out.append(s)
                let (n, o) = s.subtractingReportingOverflow(slide)
                if o { break }
                s = n
            }
            return out.reversed()
        }
    }

    /// The end of the window starting at `start` (exclusive), clamped to `Int64.max`; nil for `.none`.
    public func windowEnd(start: Int64) -> Int64? {
        switch self {
        case .none: return nil
        case .tumbling(let size), .hopping(let size, _):
            let (e, o) = start.addingReportingOverflow(size)
            return o ? Int64.max : e
        }
    }

    /// Whether the window starting at `start` is closed as of `maxEventTime`:
    /// `maxEventTime >= end + allowedLateness`, in exact arithmetic. Never for `.none` or a nil
    /// `maxEventTime`.
    public func isClosed(windowStart start: Int64, maxEventTime: Int64?, allowedLateness: Int64) -> Bool {
        guard let m = maxEventTime else { return false }
        switch self {
        case .none: return false
        case .tumbling(let size), .hopping(let size, _):
            return Int128(m) >= Int128(start) + Int128(size) + Int128(allowedLateness)
        }
    }
}
