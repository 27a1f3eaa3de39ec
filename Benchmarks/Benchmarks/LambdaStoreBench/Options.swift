import Foundation

/// Command-line options of `LambdaStoreBench`.
struct Options {
    var data = "/tmp/peers-data"
    var work = "/tmp/lambdastore-bench"
    var runs = 3
    var warmup = 1
    /// Use only the first N events (smoke runs); nil = all.
    var events: Int? = nil
    var only: Set<String>? = nil
    var jsonOut: String? = nil
    var oracle: String? = nil
    var quietWait = 30.0
    var quietBudget = 300.0
    var noiseLimit = 0.15
    var retries = 3
    var lookups = 200_000
    var queries = 5_000
    var querySeconds = 15.0
    /// Seconds of each query-load run (`queryload`).
    var loadSeconds = 3.0
    var visible = 2_000
    var batchThreads = 2
    var seed: UInt64 = 42
    var childMemory = false

    static let groups = ["append", "read", "speed", "memory", "lookup", "query", "querycold", "visible", "batch", "aggregate", "replay", "snapshot", "decode",
                         "contention", "queryload", "firstpublish", "typedappend", "archive"]

    static let usage = """
        LambdaStoreBench: the peers' 10 M-event workload through LambdaStore (see BENCHMARKS.md).
          --data DIR          peers data (events.bin, oracle/) [/tmp/peers-data]
          --work DIR          scratch stores [/tmp/lambdastore-bench]
          --runs N --warmup N timed runs (median, min–max) and untimed warm-ups [3, 1]
          --events N          only the first N events (smoke runs; the oracle check is skipped)
          --only a,b          groups: \(groups.joined(separator: ","))
          --json-out FILE     also append the JSON lines to FILE
          --oracle FILE       [DATA/oracle/batch_view_n10000000_seed42.csv]
          --quiet-wait S --quiet-budget S --noise-limit F --retries N   noise gating [30, 300, 0.15, 3]
          --lookups N --queries N --query-seconds S --visible N          latency sample sizes
          --load-seconds S    length of each queryload run [3]
          --batch-threads N   Store batch parallelism [2]
        """

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var i = 1
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw WorkloadError(description: "\(args[i - 1]) needs a value\n\(usage)") }
            return args[i]
        }
        func int() throws -> Int {
            let v = try value()
            guard let n = Int(v), n >= 0 else { throw WorkloadError(description: "\(args[i - 1]): '\(v)' is not a count") }
            return n
        }
        func double() throws -> Double {
            let v = try value()
            guard let d = Double(v), d >= 0 else { throw WorkloadError(description: "\(args[i - 1]): '\(v)' is not a number") }
            return d
        }
        while i < args.count {
            switch args[i] {
            case "--data": o.data = try value()
            case "--work": o.work = try value()
            case "--runs": o.runs = max(1, try int())
            case "--warmup": o.warmup = try int()
            case "--events": o.events = max(1, try int())
            case "--only":
                let set = Set(try value().split(separator: ",").map(String.init))
                for g in set where !groups.contains(g) { throw WorkloadError(description: "unknown group '\(g)'\n\(usage)") }
                o.only = set
            case "--json-out": o.jsonOut = try value()
            case "--oracle": o.oracle = try value()
            case "--quiet-wait": o.quietWait = try double()
            case "--quiet-budget": o.quietBudget = try double()
            case "--noise-limit": o.noiseLimit = try double()
            case "--retries": o.retries = try int()
            case "--lookups": o.lookups = max(1, try int())
            case "--queries": o.queries = max(1, try int())
            case "--query-seconds": o.querySeconds = try double()
            case "--load-seconds": o.loadSeconds = try double()
            case "--visible": o.visible = max(1, try int())
            case "--batch-threads": o.batchThreads = max(1, try int())
            case "--seed": o.seed = UInt64(try int())
            case "--child-memory": o.childMemory = true
            case "-h", "--help": print(usage); exit(0)
            default: throw WorkloadError(description: "unknown argument '\(args[i])'\n\(usage)")
            }
            i += 1
        }
        return o
    }

    func wants(_ group: String) -> Bool { only?.contains(group) ?? true }

    var eventsPath: String { data + "/events.bin" }
    var oraclePath: String { oracle ?? data + "/oracle/batch_view_n10000000_seed42.csv" }
}

/// Seeded randomness (SplitMix64, the same generator as the test support's), so every sample
/// is reproducible from `--seed`.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

enum Files {
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func treeSize(_ path: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let name = e.nextObject() as? String { total += size(path + "/" + name) }
        return total
    }

    /// Runs a program, returns its stdout (throws on a non-zero exit).
    static func run(_ exe: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw WorkloadError(description: "\(exe) \(args.joined(separator: " ")) exited with \(p.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
