import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
#if canImport(Glibc)
import Glibc
#endif

/// `Blocking.run`, where the async API does its file I/O and long work (the "Concurrency
/// model" article): on threads of their own, side by side, errors kept.
@Suite struct BlockingTests {
    /// More blocking calls than cores run at once, each on a thread of its own: every call
    /// blocks its thread until all of them are running. (No timing bound: under a loaded test
    /// run the tasks themselves may start late. How much faster queues made per call are than
    /// a shared concurrent queue is measured in `Blocking`'s doc comment, not here.)
    @Test func blockingCallsRunSideBySide() async throws {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let calls = 4 * cores
        let running = Locked(0)
        let allMet = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<calls {
                group.addTask {
                    try await Blocking.run { () throws(LambdaStoreError) -> Bool in
                        running.withLock { $0 += 1 }
                        let deadline = ContinuousClock.now + .seconds(60)
                        while running.withLock({ $0 }) < calls {
                            if ContinuousClock.now > deadline { return false }
                            _ = usleep(1_000)
                        }
                        return true
                    }
                }
            }
            var met: [Bool] = []
            for try await m in group { met.append(m) }
            return met
        }
        #expect(allMet.count == calls && allMet.allSatisfy { $0 }, "\(allMet.filter { !$0 }.count) of \(calls) blocking calls never saw all \(calls) running")
    }

    @Test func resultsAndTypedErrorsComeBack() async throws {
        let v = try await Blocking.run { () throws(LambdaStoreError) -> Int in 42 }
        #expect(v == 42)
        var caught: LambdaStoreError? = nil
        do throws(LambdaStoreError) {
            _ = try await Blocking.run { () throws(LambdaStoreError) -> Int in throw LambdaStoreError(.io, "disk gone") }
        } catch {
            caught = error
        }
        #expect(caught?.code == .io && caught?.message == "disk gone")
        #expect(await Blocking.run { () -> String in "done" } == "done")
    }
}
