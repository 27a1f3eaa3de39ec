import LambdaStoreCore

extension ViewDefinition {
    /// The canonical form (format-spec.md §3a "Canonical form"): compact JSON with keys sorted,
    /// defaults filled in, durations in milliseconds and the filter re-printed from its parse
    /// tree, holding exactly what can change the view's result:
    ///
    /// ```
    /// {"aggregates":[{"field":F|null,"fn":FN,"name":N},…],"allowedLateness":MS,
    ///  "filter":CANONICAL_FILTER|null,"groupBy":[…],"stream":S,"window":W}
    /// ```
    ///
    /// with `W` one of `{"type":"none"}`, `{"field":F,"size":MS,"type":"tumbling"}`,
    /// `{"field":F,"size":MS,"slide":MS,"type":"hopping"}`. The view `name` and the `drift`
    /// thresholds are left out: renaming a view or retuning its alerts does not change what it
    /// computes. Nothing from the stream's schema is included, so a compatible schema change
    /// keeps the fingerprint.
    ///
    /// For a definition whose filter does not parse (which ``validate()`` rejects) the filter
    /// text is used as written.
    /// - Complexity: O(size of the definition).
    public var canonicalForm: String {
        // Every object below lists its members in key order (UTF-8 byte order), as §3a.6
        // requires; Core's serializer writes them in the order given, with §3a.6's escapes.
        let windowValue: JSONValue
        switch self.window {
        case .none: windowValue = ["type": "none"]
        case .tumbling(let f, let size): windowValue = ["field": .string(f), "size": .int(size), "type": "tumbling"]
        case .hopping(let f, let size, let slide):
            windowValue = ["field": .string(f), "size": .int(size), "slide": .int(slide), "type": "hopping"]
        }
        let canonicalFilter: JSONValue
        if let filter {
            canonicalFilter = .string((try? FilterExpression.parse(filter).canonicalText) ?? filter)
        } else {
            canonicalFilter = .null
        }
        let root: JSONValue = [
            "aggregates": .array(aggregates.map { a in
                ["field": a.field.map { .string($0) } ?? .null, "fn": .string(a.function.rawValue), "name": .string(a.name)]
            }),
            "allowedLateness": .int(allowedLateness),
            "filter": canonicalFilter,
            "groupBy": .array(groupBy.map { .string($0) }),
            "stream": .string(stream),
            "window": windowValue,
        ]
        return root.serialized()
    }

    /// The view fingerprint: XXH64 (seed 0) of the UTF-8 bytes of ``canonicalForm``, as 16
    /// lowercase hex digits (format-spec.md §3a "Fingerprint"). Every snapshot, speed
    /// generation and drift report carries it; parts with different fingerprints never merge.
    /// - Complexity: O(size of the definition).
    public var fingerprint: String { Self.fingerprint(ofCanonicalForm: canonicalForm) }

    /// 16 lowercase hex digits of XXH64 (seed 0) of `canonicalForm`'s UTF-8 bytes.
    public static func fingerprint(ofCanonicalForm canonicalForm: String) -> String {
        let h = String(XXH64.hash(utf8: canonicalForm), radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
}
