import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

/// A duration as policies show it: `0s` for "at once", else the shortest exact unit.
func policyDuration(_ ms: Int64) -> String { ms == 0 ? "0s" : ViewDuration.format(ms) }

/// A stream's lifecycle policy (DESIGN.md "Lifecycle"): when its active segment rolls, when
/// sealed segments are archived, how long raw segments stay beside their archive copy, and
/// whether history may be dropped at all.
///
/// A `nil` option is unset: the roll options then take their defaults (128 MiB, 7 days), the
/// others mean "never". Durations are milliseconds; `0` means "at once".
public struct StreamPolicy: Sendable, Equatable {
    /// The active segment rolls once it holds this many bytes (default 128 MiB).
    public var segmentBytes: Int64?
    /// The active segment rolls once it is this old (default 7 days).
    public var segmentAgeMillis: Int64?
    /// Sealed segments whose newest append is older than this are copied into the archive.
    public var archiveAfterMillis: Int64?
    /// Archived raw segments whose newest append is older than this are deleted.
    public var keepRawMillis: Int64?
    /// Archived raw segments beyond this many raw bytes (oldest first) are deleted.
    public var keepRawBytes: Int64?
    /// History whose newest append is older than this is dropped behind a base checkpoint.
    public var dropHistoryAfterMillis: Int64?
    /// The explicit consent ``dropHistoryAfterMillis`` needs.
    public var allowHistoryLoss: Bool

    /// The default roll size.
    public static let segmentBytesDefault: Int64 = Limits.segmentBytesDefault
    /// The default roll age, 7 days.
    public static let segmentAgeDefaultMillis: Int64 = 7 * 86_400_000
    /// The smallest roll size accepted (a segment header and a batch must fit).
    public static let segmentBytesMin: Int64 = 4096

    /// A policy; every option unset by default.
    public init(segmentBytes: Int64? = nil, segmentAgeMillis: Int64? = nil, archiveAfterMillis: Int64? = nil, keepRawMillis: Int64? = nil,
                keepRawBytes: Int64? = nil, dropHistoryAfterMillis: Int64? = nil, allowHistoryLoss: Bool = false) {
        self.segmentBytes = segmentBytes
        self.segmentAgeMillis = segmentAgeMillis
        self.archiveAfterMillis = archiveAfterMillis
        self.keepRawMillis = keepRawMillis
        self.keepRawBytes = keepRawBytes
        self.dropHistoryAfterMillis = dropHistoryAfterMillis
        self.allowHistoryLoss = allowHistoryLoss
    }

    /// The roll size in effect.
    public var effectiveSegmentBytes: Int64 { segmentBytes ?? Self.segmentBytesDefault }
    /// The roll age in effect.
    public var effectiveSegmentAgeMillis: Int64 { segmentAgeMillis ?? Self.segmentAgeDefaultMillis }

    /// Checks the policy for `stream`.
    /// - Throws: `.invalidArgument` for a value out of range; `.precondition` for a policy that
    ///   would make history unreplayable without ``allowHistoryLoss``, saying what would be lost.
    public func validate(stream: String) throws(LambdaStoreError) {
        if let b = segmentBytes, b < Self.segmentBytesMin || b > Limits.segmentBytesDefault * 64 {
            throw LambdaStoreError(.invalidArgument, "stream '\(stream)': --segment-bytes \(b) is outside \(Self.segmentBytesMin)...\(Limits.segmentBytesDefault * 64)")
        }
        for (name, v) in [("--segment-age", segmentAgeMillis), ("--archive-after", archiveAfterMillis), ("--keep-raw", keepRawMillis),
                          ("--drop-history-after", dropHistoryAfterMillis)] {
            if let v, v < 0 { throw LambdaStoreError(.invalidArgument, "stream '\(stream)': \(name) must not be negative") }
        }
        if let v = segmentAgeMillis, v == 0 {
            throw LambdaStoreError(.invalidArgument, "stream '\(stream)': --segment-age 0s would roll before every append; use at least 1s")
        }
        if let b = keepRawBytes, b < 0 { throw LambdaStoreError(.invalidArgument, "stream '\(stream)': --keep-raw-bytes must not be negative") }
        if (keepRawMillis != nil || keepRawBytes != nil) && archiveAfterMillis == nil {
            throw LambdaStoreError(.invalidArgument,
                "stream '\(stream)': --keep-raw/--keep-raw-bytes delete only archived segments, and no --archive-after is set: nothing would ever be archived or deleted (set --archive-after)")
        }
        if let drop = dropHistoryAfterMillis {
            guard allowHistoryLoss else {
                throw LambdaStoreError(.precondition,
                    "refused: --drop-history-after \(policyDuration(drop)) would make every event of stream '\(stream)' appended more than \(policyDuration(drop)) ago unreplayable: new views and view versions could no longer be built from it, and `replay` would start from a base checkpoint instead of the first event; pass --allow-history-loss to accept that")
            }
            if let a = archiveAfterMillis, drop < a {
                throw LambdaStoreError(.invalidArgument,
                    "stream '\(stream)': --drop-history-after \(policyDuration(drop)) is shorter than --archive-after \(policyDuration(a)): history would be dropped before it was ever archived")
            }
        }
    }

    /// The JSON form, every key present (`null` for unset, durations as `"7d"`), with the
    /// values in effect under `effective`.
    public var json: JSONValue { json(segmentBytes: effectiveSegmentBytes, segmentAgeMillis: effectiveSegmentAgeMillis) }

    /// The JSON form with the roll limits in effect given (a store's own defaults fill in
    /// unset roll options: ``Store/rollLimits(_:)``).
    func json(segmentBytes: Int64, segmentAgeMillis: Int64) -> JSONValue {
        func d(_ v: Int64?) -> JSONValue { v.map { .string(policyDuration($0)) } ?? .null }
        func n(_ v: Int64?) -> JSONValue { v.map { .int($0) } ?? .null }
        return .object([
            JSONMember("segmentBytes", .int(segmentBytes)),
            JSONMember("segmentAge", .string(policyDuration(segmentAgeMillis))),
            JSONMember("archiveAfter", d(archiveAfterMillis)),
            JSONMember("keepRaw", d(keepRawMillis)),
            JSONMember("keepRawBytes", n(keepRawBytes)),
            JSONMember("dropHistoryAfter", d(dropHistoryAfterMillis)),
            JSONMember("allowHistoryLoss", .bool(allowHistoryLoss)),
        ])
    }

    /// The stored form (unset options absent).
    var storedJSON: JSONValue {
        var m: [JSONMember] = []
        if let v = segmentBytes { m.append(JSONMember("segmentBytes", .int(v))) }
        if let v = segmentAgeMillis { m.append(JSONMember("segmentAgeMillis", .int(v))) }
        if let v = archiveAfterMillis { m.append(JSONMember("archiveAfterMillis", .int(v))) }
        if let v = keepRawMillis { m.append(JSONMember("keepRawMillis", .int(v))) }
        if let v = keepRawBytes { m.append(JSONMember("keepRawBytes", .int(v))) }
        if let v = dropHistoryAfterMillis { m.append(JSONMember("dropHistoryAfterMillis", .int(v))) }
        m.append(JSONMember("allowHistoryLoss", .bool(allowHistoryLoss)))
        return .object(m)
    }

    init(stored j: JSONValue, path: String) throws(LambdaStoreError) {
        let allowed: Set<String> = ["segmentBytes", "segmentAgeMillis", "archiveAfterMillis", "keepRawMillis", "keepRawBytes",
                                    "dropHistoryAfterMillis", "allowHistoryLoss"]
        guard let members = j.objectValue else { throw LambdaStoreError.corruption("policy is not a JSON object", path: path, offset: nil) }
        for m in members where !allowed.contains(m.key) {
            throw LambdaStoreError.corruption("unknown policy key '\(m.key)'", path: path, offset: nil)
        }
        func int(_ k: String) throws(LambdaStoreError) -> Int64? {
            guard let v = j[k], !v.isNull else { return nil }
            guard let i = v.int64Value else { throw LambdaStoreError.corruption("policy key '\(k)' is not an integer", path: path, offset: nil) }
            return i
        }
        self.init(segmentBytes: try int("segmentBytes"), segmentAgeMillis: try int("segmentAgeMillis"),
                  archiveAfterMillis: try int("archiveAfterMillis"), keepRawMillis: try int("keepRawMillis"),
                  keepRawBytes: try int("keepRawBytes"), dropHistoryAfterMillis: try int("dropHistoryAfterMillis"),
                  allowHistoryLoss: j["allowHistoryLoss"]?.boolValue ?? false)
    }
}

/// A view's lifecycle policy: how many snapshot generations stay on disk.
public struct ViewPolicy: Sendable, Equatable {
    /// Snapshot generations kept, the live one included (default 1).
    public var keepGenerations: Int?

    /// A policy; unset by default.
    public init(keepGenerations: Int? = nil) { self.keepGenerations = keepGenerations }

    /// The generations kept in effect.
    public var effectiveKeepGenerations: Int { keepGenerations ?? 1 }

    /// Checks the policy.
    /// - Throws: `.invalidArgument` for fewer than one generation (the live snapshot is never removed) or more than 1,000.
    public func validate(view: String) throws(LambdaStoreError) {
        if let k = keepGenerations, k < 1 || k > 1000 {
            throw LambdaStoreError(.invalidArgument, "view '\(view)': --keep-generations \(k) is outside 1...1000 (the live snapshot is always kept)")
        }
    }

    /// The JSON form, every key present.
    public var json: JSONValue { .object([JSONMember("keepGenerations", .int(Int64(effectiveKeepGenerations)))]) }

    var storedJSON: JSONValue {
        .object(keepGenerations.map { [JSONMember("keepGenerations", .int(Int64($0)))] } ?? [])
    }

    init(stored j: JSONValue, path: String) throws(LambdaStoreError) {
        guard let members = j.objectValue else { throw LambdaStoreError.corruption("policy is not a JSON object", path: path, offset: nil) }
        for m in members where m.key != "keepGenerations" {
            throw LambdaStoreError.corruption("unknown policy key '\(m.key)'", path: path, offset: nil)
        }
        if let v = j["keepGenerations"], !v.isNull {
            guard let i = v.int64Value, let k = Int(exactly: i) else { throw LambdaStoreError.corruption("keepGenerations is not an integer", path: path, offset: nil) }
            keepGenerations = k
        } else {
            keepGenerations = nil
        }
    }
}

/// One change to a stream policy, as `policy set` takes it: a value, or `none` to unset.
public enum PolicyChange<T: Sendable & Equatable>: Sendable, Equatable {
    /// Leave the option as it is.
    case keep
    /// Set the option.
    case set(T)
    /// Unset the option (`none`).
    case unset

    /// The option's value after this change.
    public func apply(to v: T?) -> T? {
        switch self {
        case .keep: v
        case .set(let x): x
        case .unset: nil
        }
    }
}

/// The policy file: `streams/<s>/POLICY` or `views/<v>/POLICY`, the JSON policy in the
/// checksummed metadata container (format-spec.md §6.1, kind `POLICY`; §7.3).
enum PolicyFile {
    static let name = "POLICY"
    static let kind = "POLICY"

    /// The JSON of the policy file at `path` (named `rel` in errors), after the container's checks.
    static func json(fs: any FileSystem, path: String, rel: String) throws(LambdaStoreError) -> JSONValue {
        try JSONValue.parse(try MetadataFile.decode(try fs.readFile(path, limit: Limits.metadataBytesMax), kind: kind, path: rel))
    }
}

extension Store {
    func streamPolicyPath(_ stream: String) -> String { Path.join(root, "streams", stream, PolicyFile.name) }
    func viewPolicyPath(_ view: String) -> String { Path.join(viewDirectory(view), PolicyFile.name) }

    /// The roll limits in effect under `policy`: its roll options, else the store's own
    /// (``StoreOptions/log``: `segmentBytesMax`, `segmentAgeMaxMillis`), else the defaults
    /// (7 days). The same at open, at ``setStreamPolicy(_:for:)`` and at every compaction.
    func rollLimits(_ policy: StreamPolicy) -> (bytes: Int64, ageMillis: Int64) {
        (policy.segmentBytes ?? options.log.segmentBytesMax,
         policy.segmentAgeMillis ?? options.log.segmentAgeMaxMillis ?? StreamPolicy.segmentAgeDefaultMillis)
    }

    /// The stored policy of `stream` (all options unset when none was stored).
    /// - Throws: `.notFound` for an unknown stream; `.corruption` for a damaged policy file.
    ///
    /// Reads the policy file: off the cooperative pool.
    public func streamPolicy(_ stream: String) async throws(LambdaStoreError) -> StreamPolicy {
        try await Blocking.run { () throws(LambdaStoreError) -> StreamPolicy in try self.streamPolicyBlocking(stream) }
    }

    /// ``streamPolicy(_:)`` on the calling thread.
    func streamPolicyBlocking(_ stream: String) throws(LambdaStoreError) -> StreamPolicy {
        _ = try log.stream(stream)
        let path = streamPolicyPath(stream)
        guard fs.exists(path) else { return StreamPolicy() }
        let rel = "streams/\(stream)/\(PolicyFile.name)"
        return try StreamPolicy(stored: try PolicyFile.json(fs: fs, path: path, rel: rel), path: rel)
    }

    /// The stored policy of `view` (unset when none was stored).
    /// - Throws: `.notFound` for an unknown view; `.corruption` for a damaged policy file.
    ///
    /// Reads the policy file: off the cooperative pool.
    public func viewPolicy(_ view: String) async throws(LambdaStoreError) -> ViewPolicy {
        try await Blocking.run { () throws(LambdaStoreError) -> ViewPolicy in try self.viewPolicyBlocking(view) }
    }

    /// ``viewPolicy(_:)`` on the calling thread.
    func viewPolicyBlocking(_ view: String) throws(LambdaStoreError) -> ViewPolicy {
        guard state.withLock({ $0.views[view] != nil || $0.unavailable[view] != nil }) else {
            throw LambdaStoreError(.notFound, "no view '\(view)'")
        }
        let path = viewPolicyPath(view)
        guard fs.exists(path) else { return ViewPolicy() }
        let rel = "views/\(view)/\(PolicyFile.name)"
        return try ViewPolicy(stored: try PolicyFile.json(fs: fs, path: path, rel: rel), path: rel)
    }

    /// Validates and stores `policy` for `stream` (write-temp, fsync, rename, fsync directory);
    /// it takes effect at the next ``compact(dryRun:progress:)``.
    /// - Throws: `.invalidArgument` / `.precondition` from ``StreamPolicy/validate(stream:)``
    ///   (nothing is written then); `.notFound`; `.io`.
    ///
    /// Writes the policy file durably: off the cooperative pool.
    public func setStreamPolicy(_ policy: StreamPolicy, for stream: String) async throws(LambdaStoreError) {
        try await Blocking.run { () throws(LambdaStoreError) in try self.setStreamPolicyBlocking(policy, for: stream) }
    }

    func setStreamPolicyBlocking(_ policy: StreamPolicy, for stream: String) throws(LambdaStoreError) {
        try requireWritable()
        let s = try log.stream(stream)
        do throws(LambdaStoreError) {
            try policy.validate(stream: stream)
        } catch where error.code == .precondition {
            // Say what it would cost today.
            guard let drop = policy.dropHistoryAfterMillis else { throw error }
            let now = options.clock()
            let old = s.sealedSegments().prefix { now - $0.newestAppendMillis >= drop }
            let from = s.earliestReplayableOffset
            let to = old.last?.endOffset ?? from
            throw LambdaStoreError(.precondition, error.message + " (today: \(to - from) events, offsets \(from)..<\(to))")
        }
        let bytes = MetadataFile.encode(kind: PolicyFile.kind, payload: Array(policy.storedJSON.serialized().utf8))
        try fs.writeFileAtomically(streamPolicyPath(stream), bytes)
        let limits = rollLimits(policy)
        s.setRollLimits(bytes: limits.bytes, ageMillis: limits.ageMillis)
    }

    /// Validates and stores `policy` for `view`.
    /// - Throws: `.invalidArgument`; `.notFound`; `.io`.
    ///
    /// Writes the policy file durably: off the cooperative pool.
    public func setViewPolicy(_ policy: ViewPolicy, for view: String) async throws(LambdaStoreError) {
        try await Blocking.run { () throws(LambdaStoreError) in try self.setViewPolicyBlocking(policy, for: view) }
    }

    func setViewPolicyBlocking(_ policy: ViewPolicy, for view: String) throws(LambdaStoreError) {
        try requireWritable()
        guard state.withLock({ $0.views[view] != nil || $0.unavailable[view] != nil }) else {
            throw LambdaStoreError(.notFound, "no view '\(view)'")
        }
        try policy.validate(view: view)
        let bytes = MetadataFile.encode(kind: PolicyFile.kind, payload: Array(policy.storedJSON.serialized().utf8))
        try fs.writeFileAtomically(viewPolicyPath(view), bytes)
    }

    /// Every stream's and view's policy, with the values in effect: the `policy show --json`
    /// object `{"streams": {S: {...}}, "views": {V: {...}}}`.
    ///
    /// Reads every policy file: off the cooperative pool.
    public func policiesJSON(stream: String? = nil, view: String? = nil) async throws(LambdaStoreError) -> JSONValue {
        try await Blocking.run { () throws(LambdaStoreError) -> JSONValue in try self.policiesJSONBlocking(stream: stream, view: view) }
    }

    func policiesJSONBlocking(stream: String?, view: String?) throws(LambdaStoreError) -> JSONValue {
        var streams: [JSONMember] = [], views: [JSONMember] = []
        let all = stream == nil && view == nil
        for s in log.streamNames().sorted() where all || s == stream {
            let p = try streamPolicyBlocking(s)
            let limits = rollLimits(p)
            streams.append(JSONMember(s, p.json(segmentBytes: limits.bytes, segmentAgeMillis: limits.ageMillis)))
        }
        if let stream, streams.isEmpty { throw LambdaStoreError(.notFound, "no stream '\(stream)'") }
        let names = state.withLock { Set($0.views.keys).union($0.unavailable.keys) }.sorted()
        for v in names where all || v == view {
            views.append(JSONMember(v, try viewPolicyBlocking(v).json))
        }
        if let view, views.isEmpty { throw LambdaStoreError(.notFound, "no view '\(view)'") }
        return .object([JSONMember("streams", .object(streams)), JSONMember("views", .object(views))])
    }
}
