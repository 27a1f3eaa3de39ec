import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

/// `policy set|show`: the lifecycle policies of DESIGN.md "Lifecycle".
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Set and show lifecycle policies.",
                                                    subcommands: [Set.self, Show.self])

    /// A duration option value: `30d`, `0s`, or `none` (unset).
    static func duration(_ text: String?, option: String) throws -> PolicyChange<Int64> {
        guard let text else { return .keep }
        if text == "none" { return .unset }
        guard let ms = ViewDuration.parse(text) else {
            throw ValidationError("\(option): '\(text)' is not a duration (an integer with a suffix ms, s, m, h or d) or none")
        }
        return .set(ms)
    }

    /// A byte-count option value: an integer, optionally with a suffix K, M, G (binary), or `none`.
    static func byteCount(_ text: String?, option: String) throws -> PolicyChange<Int64> {
        guard let text else { return .keep }
        if text == "none" { return .unset }
        var digits = Substring(text)
        var scale: Int64 = 1
        if let last = digits.last, let s = ["K": Int64(1) << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40][String(last).uppercased()] {
            scale = s
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int64(digits), n >= 0 else {
            throw ValidationError("\(option): '\(text)' is not a byte count (an integer, optionally with K, M, G or T) or none")
        }
        let (v, o) = n.multipliedReportingOverflow(by: scale)
        guard !o else { throw ValidationError("\(option): '\(text)' is beyond a 64-bit byte count") }
        return .set(v)
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set options of a stream's or a view's policy (`none` unsets one).")
        @OptionGroup var common: StoreOptionsGroup
        @Option(name: .long, help: "The stream whose policy to change.") var stream: String?
        @Option(name: .long, help: "The view whose policy to change.") var view: String?
        @Option(name: .customLong("segment-bytes"), help: "Roll the active segment at this size (default 128M).") var segmentBytes: String?
        @Option(name: .customLong("segment-age"), help: "Roll the active segment at this age (default 7d).") var segmentAge: String?
        @Option(name: .customLong("archive-after"), help: "Copy sealed segments older than this into the Parquet archive.") var archiveAfter: String?
        @Option(name: .customLong("keep-raw"), help: "Delete archived raw segments older than this.") var keepRaw: String?
        @Option(name: .customLong("keep-raw-bytes"), help: "Delete archived raw segments beyond this many raw bytes.") var keepRawBytes: String?
        @Option(name: .customLong("drop-history-after"), help: "Drop history older than this behind base checkpoints (needs --allow-history-loss).")
        var dropHistoryAfter: String?
        @Flag(name: .customLong("allow-history-loss"), help: "Consent to --drop-history-after making old history unreplayable.") var allowHistoryLoss = false
        @Option(name: .customLong("keep-generations"), help: "Snapshot generations a view keeps (default 1).") var keepGenerations: String?

        func validate() throws {
            guard (stream == nil) != (view == nil) else { throw ValidationError("give exactly one of --stream or --view") }
            let streamOptions = [segmentBytes, segmentAge, archiveAfter, keepRaw, keepRawBytes, dropHistoryAfter].contains { $0 != nil } || allowHistoryLoss
            if view != nil, streamOptions { throw ValidationError("stream options (--segment-bytes … --allow-history-loss) need --stream") }
            if stream != nil, keepGenerations != nil { throw ValidationError("--keep-generations needs --view") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = try await openStore(common.store)
                defer { store.close() }
                if let stream {
                    var p = try await store.streamPolicy(stream)
                    p.segmentBytes = try PolicyCommand.byteCount(segmentBytes, option: "--segment-bytes").apply(to: p.segmentBytes)
                    p.segmentAgeMillis = try PolicyCommand.duration(segmentAge, option: "--segment-age").apply(to: p.segmentAgeMillis)
                    p.archiveAfterMillis = try PolicyCommand.duration(archiveAfter, option: "--archive-after").apply(to: p.archiveAfterMillis)
                    p.keepRawMillis = try PolicyCommand.duration(keepRaw, option: "--keep-raw").apply(to: p.keepRawMillis)
                    p.keepRawBytes = try PolicyCommand.byteCount(keepRawBytes, option: "--keep-raw-bytes").apply(to: p.keepRawBytes)
                    p.dropHistoryAfterMillis = try PolicyCommand.duration(dropHistoryAfter, option: "--drop-history-after").apply(to: p.dropHistoryAfterMillis)
                    // The consent goes with the drop it was given for: changing the drop age
                    // without it again withdraws it (and `validate` then refuses the drop).
                    p.allowHistoryLoss = allowHistoryLoss || (p.allowHistoryLoss && dropHistoryAfter == nil)
                    if p.dropHistoryAfterMillis == nil { p.allowHistoryLoss = false }
                    try await store.setStreamPolicy(p, for: stream)
                } else if let view {
                    var p = try await store.viewPolicy(view)
                    if let k = keepGenerations {
                        if k == "none" { p.keepGenerations = nil } else {
                            guard let n = Int(k) else { throw ValidationError("--keep-generations: '\(k)' is not an integer or none") }
                            p.keepGenerations = n
                        }
                    }
                    try await store.setViewPolicy(p, for: view)
                }
                let shown = try await store.policiesJSON(stream: stream, view: view)
                if common.json { print(shown.serialized()) } else { PolicyCommand.printPolicies(shown) }
                return 0
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policies in effect (every option, defaults filled in).")
        @OptionGroup var common: StoreOptionsGroup
        @Option(name: .long, help: "Only this stream.") var stream: String?
        @Option(name: .long, help: "Only this view.") var view: String?

        func run() async throws {
            try await reportingErrors {
                let store = try await openStore(common.store, readOnly: true)
                defer { store.close() }
                let shown = try await store.policiesJSON(stream: stream, view: view)
                if common.json { print(shown.serialized()) } else { PolicyCommand.printPolicies(shown) }
                return 0
            }
        }
    }

    static func printPolicies(_ j: JSONValue) {
        for (kind, key) in [("stream", "streams"), ("view", "views")] {
            for m in j[key]?.objectValue ?? [] {
                let opts = (m.value.objectValue ?? []).map { "\($0.key)=\($0.value.isNull ? "none" : ($0.value.stringValue ?? $0.value.serialized()))" }
                print("\(kind) \(m.key): " + opts.joined(separator: " "))
            }
        }
    }
}
