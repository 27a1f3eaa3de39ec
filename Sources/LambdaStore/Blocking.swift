import Dispatch
import LambdaStoreCore

/// Where blocking work runs: file I/O, replays, recomputes and snapshot reads never run on
/// Swift's cooperative thread pool (whose few threads every task of the program shares).
///
/// The rule of the public API: calls that do I/O or long work are `async` and hand that work
/// to ``run(_:)``, which runs it on a queue of its own (a private concurrent dispatch queue,
/// whose work runs on overcommitting threads that libdispatch starts as needed, not on the
/// cooperative pool) and suspends the calling task until it is done; in-memory reads stay
/// synchronous.
///
/// Thread safety: `run` may be called from any task.
enum Blocking {
    /// The queue of blocking work.
    static let queue = DispatchQueue(label: "lambdastore.blocking", attributes: .concurrent)

    /// Runs `work` on ``queue`` and returns its result, keeping the typed error.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws(LambdaStoreError) -> T) async throws(LambdaStoreError) -> T {
        let result: Result<T, LambdaStoreError> = await withCheckedContinuation { (c: CheckedContinuation<Result<T, LambdaStoreError>, Never>) in
            queue.async {
                c.resume(returning: Result { () throws(LambdaStoreError) -> T in try work() })
            }
        }
        return try result.get()
    }

    /// Runs `work`, which cannot fail, on ``queue`` and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            queue.async { c.resume(returning: work()) }
        }
    }
}
