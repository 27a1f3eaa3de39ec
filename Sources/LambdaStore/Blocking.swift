import Dispatch
import LambdaStoreCore

/// Where blocking work runs: file I/O, replays, recomputes and snapshot reads never run on
/// Swift's cooperative thread pool (whose few threads every task of the program shares).
///
/// The rule of the public API: calls that do I/O or long work are `async` and hand that work
/// to ``run(_:)``, which runs it on a serial dispatch queue made for the call and suspends the
/// calling task until it is done; in-memory reads stay synchronous. A serial queue targets
/// libdispatch's *overcommitting* root queue, which starts a thread whenever none is free, so
/// any number of blocking calls run side by side. A shared concurrent queue, or
/// `DispatchQueue.global()`, targets the non-overcommitting root queue instead, which adds
/// threads for blocked work only slowly: measured on this 2-core Linux machine, 8 calls that
/// block 0.3 s each took 0.9 s there (and a task meanwhile waited 7.6 ms for a thread) against
/// 0.3 s on queues made per call (a task waited 2 µs).
///
/// Thread safety: `run` may be called from any task.
enum Blocking {
    /// Runs `work` on a queue of its own and returns its result, keeping the typed error.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws(LambdaStoreError) -> T) async throws(LambdaStoreError) -> T {
        let result: Result<T, LambdaStoreError> = await withCheckedContinuation { (c: CheckedContinuation<Result<T, LambdaStoreError>, Never>) in
            DispatchQueue(label: "lambdastore.blocking").async {
                c.resume(returning: Result { () throws(LambdaStoreError) -> T in try work() })
            }
        }
        return try result.get()
    }

    /// Runs `work`, which cannot fail, on a queue of its own and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            DispatchQueue(label: "lambdastore.blocking").async { c.resume(returning: work()) }
        }
    }
}
