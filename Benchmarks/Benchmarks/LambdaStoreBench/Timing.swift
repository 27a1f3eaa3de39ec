#if canImport(Glibc)
import Glibc
#endif

/// Monotonic clock, nanoseconds.
@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Seconds since `start` (from ``nowNanos()``).
@inline(__always)
func seconds(since start: UInt64) -> Double { Double(nowNanos() &- start) / 1e9 }

/// How much of the machine other processes use, the way the peers' `bench_common.py` measures
/// it: busy ticks of `/proc/stat` minus our own `getrusage` CPU time, over wall time × cores.
/// Runs disturbed by other sessions (the machine is shared, RESULTS.md "Surprises" 1) are
/// retried and, if still disturbed, flagged.
struct NoiseMeter {
    static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    static let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Busy CPU seconds of the whole machine since boot.
    static func machineBusySeconds() -> Double {
        guard let f = fopen("/proc/stat", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, Int32(line.count), f) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let parts = text.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard parts.count >= 7 else { return 0 }
        // user nice system idle iowait irq softirq steal …; guest time is inside user.
        let busy = parts[0] + parts[1] + parts[2] + parts[5] + parts[6] + (parts.count > 7 ? parts[7] : 0)
        return busy / ticksPerSecond
    }

    /// CPU seconds used by this process (all threads) and its waited-for children.
    static func ownSeconds() -> Double {
        var s = rusage(), c = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &s)
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &c)
        func t(_ v: timeval) -> Double { Double(v.tv_sec) + Double(v.tv_usec) / 1e6 }
        return t(s.ru_utime) + t(s.ru_stime) + t(c.ru_utime) + t(c.ru_stime)
    }

    struct Mark {
        let wall = nowNanos()
        let busy = NoiseMeter.machineBusySeconds()
        let own = NoiseMeter.ownSeconds()
    }

    /// Share of the machine's CPU capacity used by other processes between `a` and `b`.
    static func foreignShare(_ a: Mark, _ b: Mark) -> Double {
        let wall = Double(b.wall &- a.wall) / 1e9
        guard wall > 0 else { return 0 }
        return max(0, ((b.busy - a.busy) - (b.own - a.own)) / (wall * Double(cores)))
    }

    /// Share used by others over a short sleep.
    static func sample(window: Double = 0.3) -> Double {
        let a = Mark()
        usleep(UInt32(window * 1e6))
        return foreignShare(a, Mark())
    }
}

/// Gates every timed run on a quiet machine (capped per run and in total) and decides whether
/// a run was disturbed.
final class QuietGate {
    /// A run is disturbed when others used more than this share of the machine during it.
    let noiseLimit: Double
    /// Wait at most this long before one run.
    let waitMax: Double
    /// Wait at most this long over the whole benchmark.
    let budget: Double
    /// Retries of disturbed runs per measurement.
    let retriesMax: Int
    private(set) var waited = 0.0

    init(noiseLimit: Double, waitMax: Double, budget: Double, retriesMax: Int) {
        self.noiseLimit = noiseLimit
        self.waitMax = waitMax
        self.budget = budget
        self.retriesMax = retriesMax
    }

    /// Waits until others use less than 10 % of the CPU, within the caps.
    func waitQuiet() {
        let start = nowNanos()
        let cap = min(waitMax, max(0, budget - waited))
        var warned = false
        while true {
            let share = NoiseMeter.sample()
            let w = seconds(since: start)
            if share < 0.10 || w >= cap {
                if share >= 0.10 { log("    (machine still busy after \(Int(w)) s: \(pct(share)) used by others; measuring anyway)") }
                waited += w
                return
            }
            if !warned { log("    (waiting for other processes to go quiet: \(pct(share)) of the CPU in use)"); warned = true }
            usleep(500_000)
        }
    }
}

/// One timed measurement: `runs` wall times after warm-up, with the foreign CPU share of each.
struct Timed {
    var seconds: [Double] = []
    var foreign: [Double] = []
    var retries = 0

    var median: Double { Stats.median(seconds) }
    var min: Double { seconds.min() ?? 0 }
    var max: Double { seconds.max() ?? 0 }
    var foreignMax: Double { foreign.max() ?? 0 }
}

/// Runs `body` `warmup` times untimed, then `runs` times timed (each after `setup`, which is
/// not timed), redoing runs other processes disturbed (at most `gate.retriesMax` per
/// measurement). `body` returns a value checked by the caller (so work is not optimised away):
/// `check` sees the warm-ups' and the kept runs' values, in order, not those of redone runs.
@MainActor
func timeRuns<T>(_ gate: QuietGate, runs: Int, warmup: Int, setup: () async throws -> Void = {},
                 _ body: () async throws -> T, check: (T) throws -> Void = { _ in }) async throws -> Timed {
    for _ in 0..<warmup {
        try await setup()
        try check(try await body())
    }
    var t = Timed()
    while t.seconds.count < runs {
        try await setup()
        gate.waitQuiet()
        let a = NoiseMeter.Mark()
        let r = try await body()
        let b = NoiseMeter.Mark()
        if t.record(from: a, to: b, gate: gate) { try check(r) }
    }
    return t
}

extension Timed {
    /// Keeps the run between marks `a` and `b`, unless other processes used more than
    /// `gate.noiseLimit` of the CPU during it (runs of 0.25 s or more) and retries remain: then
    /// it counts a retry and the caller runs again. Returns whether the run was kept.
    @MainActor @discardableResult
    mutating func record(from a: NoiseMeter.Mark, to b: NoiseMeter.Mark, gate: QuietGate) -> Bool {
        let s = Double(b.wall &- a.wall) / 1e9
        let share = NoiseMeter.foreignShare(a, b)
        if share > gate.noiseLimit && s >= 0.25 && retries < gate.retriesMax {
            retries += 1
            log("    (run disturbed: \(pct(share)) of the CPU used by other processes; retrying)")
            return false
        }
        seconds.append(s)
        foreign.append(s >= 0.25 ? share : 0)
        return true
    }
}

enum Stats {
    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The `q` quantile (nearest rank) of sorted samples.
    static func quantile(sorted s: [Double], _ q: Double) -> Double {
        guard !s.isEmpty else { return 0 }
        let rank = Int((q * Double(s.count)).rounded(.up))
        return s[Swift.min(s.count - 1, Swift.max(0, rank - 1))]
    }
}

func pct(_ x: Double) -> String { "\(Int((x * 100).rounded())) %" }

/// Progress on stderr (stdout carries the JSON lines and the table).
func log(_ s: String) { writeAll(2, s + "\n") }

/// Writes `s` to stdout unbuffered (JSON lines must not wait for the end of the run).
func out(_ s: String) { writeAll(1, s + "\n") }

func writeAll(_ fd: Int32, _ s: String) {
    var s = s
    s.withUTF8 { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n <= 0 { return }
            done += n
        }
    }
}

/// Resident set size of this process, bytes.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { sp in
        withUnsafeMutablePointer(to: &resident) { rp in
            _ = withVaList([sp, rp]) { vfscanf(f, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}
