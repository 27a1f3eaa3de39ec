import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreFuzzTargets
import Testing

/// Replays the fuzz inputs kept in the repository through the same entry points as the
/// libFuzzer harness (``FuzzTargets``), so that every crash the fuzzer found stays a test:
///
/// - `Fuzz/crashes/<target>/*` (what `tools/fuzz.sh` saved) and `Fuzz/regressions/<target>/*`
///   (crashes kept on purpose): each in an exit test, a child process that must exit cleanly,
///   so one that still traps fails this test instead of killing the run.
/// - `Fuzz/corpus/<target>/*` (the seeds): in process, all must pass.
///
/// Inputs that still crash are listed in ``knownCrashes`` and expected to fail
/// (`withKnownIssue`) until the engine is fixed; remove the entry with the fix.
@Suite struct FuzzReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `<target>/<file name>` of inputs under Fuzz/regressions or Fuzz/crashes that still trap.
    static let knownCrashes: Set<String> = []

    /// Every file under `Fuzz/<kind>/<target>/`, as (target, path relative to Fuzz/).
    static func inputs(_ kinds: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for kind in kinds {
            let dir = root.appendingPathComponent("Fuzz/\(kind)")
            for target in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                let files = (try? fm.contentsOfDirectory(atPath: dir.appendingPathComponent(target).path)) ?? []
                for f in files.sorted() where !f.hasPrefix(".") { out.append("\(kind)/\(target)/\(f)") }
            }
        }
        return out
    }

    static func replay(_ input: String) {
        let parts = input.split(separator: "/")
        let target = String(parts[1])
        let data = FileManager.default.contents(atPath: root.appendingPathComponent("Fuzz/" + input).path).map { [UInt8]($0) } ?? []
        precondition(FuzzTargets.run(target, data), "no fuzz target named '\(target)' (directory Fuzz/\(parts[0])/\(target))")
    }

    @Test func everyCorpusDirectoryIsATarget() {
        for kind in ["corpus", "crashes", "regressions"] {
            let dir = Self.root.appendingPathComponent("Fuzz/\(kind)").path
            for target in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !target.hasPrefix(".") {
                #expect(FuzzTargets.names.contains(target), "Fuzz/\(kind)/\(target) names no target")
            }
        }
        #expect(Set(FuzzTargets.names).isSubset(of: Set(Self.inputs(["corpus"]).map { String($0.split(separator: "/")[1]) })),
                "every target has seeds")
    }

    @Test func fixedSchemasAreTheCorpusInputs() throws {
        let v1 = try String(contentsOf: Self.root.appendingPathComponent("Fuzz/inputs/orders.v1.json"), encoding: .utf8)
        let v2 = try String(contentsOf: Self.root.appendingPathComponent("Fuzz/inputs/orders.v2.json"), encoding: .utf8)
        #expect(v1 == FuzzTargets.schemaV1JSON)
        #expect(v2 == FuzzTargets.schemaV2JSON)
    }

    @Test(arguments: inputs(["corpus"]))
    func seed(_ input: String) {
        Self.replay(input)
    }

    @Test(arguments: inputs(["crashes", "regressions"]))
    func crash(_ input: String) async {
        let name = input.split(separator: "/").dropFirst().joined(separator: "/")
        if Self.knownCrashes.contains(name) {
            await withKnownIssue("\(name) still crashes (see Fuzz/README.md)") {
                await #expect(processExitsWith: .success) { [input] in FuzzReplayTests.replay(input) }
            }
        } else {
            await #expect(processExitsWith: .success) { [input] in FuzzReplayTests.replay(input) }
        }
    }
}
