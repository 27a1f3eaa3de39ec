import LambdaStoreCore

/// Reads a view's `DRIFT` or `INCIDENTS` file the way `verify` does: the container
/// (format-spec.md §6.1), the JSON array in it, and for `DRIFT` every drift report (§6.4).
///
/// Public so that `verify`, the fuzz targets (`Fuzz/README.md`) and other tools share one
/// decoder path; it never touches the file system.
/// Thread safety: stateless.
package enum MetadataInspector {
    /// Checks the bytes of a metadata file named `fileName` (`DRIFT` or `INCIDENTS`).
    /// - Returns: how many items the file's JSON array holds.
    /// - Throws: `.corruption` / `.unsupported` for the container, a JSON syntax error, a
    ///   payload that is not an array, or (`DRIFT`) a report missing or mistyping a key.
    /// - Complexity: O(bytes).
    package static func check(_ bytes: [UInt8], fileName: String, path: String) throws(LambdaStoreError) -> Int {
        let isDrift = fileName == "DRIFT"
        let payload = try MetadataFile.decode(bytes, kind: isDrift ? "DRIFT" : "INCIDENT", path: path)
        guard case .array(let items) = try JSONValue.parse(payload) else {
            throw LambdaStoreError.corruption("payload is not a JSON array", path: path, offset: nil)
        }
        if isDrift { for item in items { _ = try DriftReport(json: item, path: path) } }
        return items.count
    }
}
