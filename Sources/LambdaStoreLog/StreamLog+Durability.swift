import LambdaStoreCore
import Dispatch

/// What a task waiting for durability should do next.
enum SyncStep: Sendable {
    /// Its batch is on stable storage.
    case durable
    /// It must run the fdatasync of `handle`, which makes every offset below `target` durable.
    case syncNow(any FileHandle, target: Int64)
    /// An fdatasync failed: the stream is unusable until reopened.
    case failed(LambdaStoreError)
}

extension StreamLog {
    /// Returns once every offset below `end` is on stable storage.
    ///
    /// Group commit: at most one fdatasync is in flight per stream. A task that finds none
    /// runs it itself for everything written so far; tasks arriving meanwhile park a
    /// continuation. When the sync ends, the parked tasks it covered resume; if some are not
    /// covered, one of them is resumed with `.syncNow` and runs the next sync for all of them.
    /// The fdatasync itself runs on the stream's own dispatch queue, so it never blocks a
    /// thread of Swift's cooperative pool.
    func waitDurable(_ end: Int64) async throws(LambdaStoreError) {
        while true {
            let step: SyncStep = await withCheckedContinuation { (c: CheckedContinuation<SyncStep, Never>) in
                let now: SyncStep? = shared.withLock { s in
                    if let f = s.failure { return .failed(f) }
                    if s.durableEnd >= end { return .durable }
                    if s.isClosed { return .failed(LambdaStoreError(.precondition, "stream '\(name)' was closed before the batch was synced")) }
                    if !s.syncInFlight, let active = s.segments.last {
                        s.syncInFlight = true
                        return .syncNow(active.segment.handle, target: s.endOffset)
                    }
                    s.waiters.append((end, c))
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
            switch step {
            case .durable: return
            case .failed(let e): throw e
            case .syncNow(let handle, let target):
                // fdatasync blocks: run it on the stream's sync thread, not on the cooperative pool.
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    syncQueue.async {
                        self.runSync(handle, target: target)
                        c.resume()
                    }
                }
            }
        }
    }

    /// Runs one fdatasync and hands out its result (see ``waitDurable(_:)``).
    private func runSync(_ handle: any FileHandle, target: Int64) {
        var syncError: LambdaStoreError?
        do throws(LambdaStoreError) { try handle.sync() } catch { syncError = error }
        let wake: [(CheckedContinuation<SyncStep, Never>, SyncStep)] = shared.withLock { s in
            if let syncError, s.failure == nil { s.failure = syncError }
            if s.failure == nil { s.durableEnd = Swift.max(s.durableEnd, target) }
            var out: [(CheckedContinuation<SyncStep, Never>, SyncStep)] = []
            var rest: [(target: Int64, resume: CheckedContinuation<SyncStep, Never>)] = []
            for w in s.waiters {
                if let f = s.failure { out.append((w.resume, .failed(f))) } else if w.target <= s.durableEnd { out.append((w.resume, .durable)) } else { rest.append(w) }
            }
            if let next = rest.first, let active = s.segments.last, !s.isClosed {
                rest.removeFirst()
                out.append((next.resume, .syncNow(active.segment.handle, target: s.endOffset)))   // stays in flight
            } else {
                for w in rest { out.append((w.resume, .failed(LambdaStoreError(.precondition, "stream '\(name)' was closed before the batch was synced")))) }
                rest = []
                s.syncInFlight = false
            }
            s.waiters = rest
            return out
        }
        // Batches this sync made durable may become visible now (before their appenders
        // resume, so an append never returns before its batch is visible).
        publishVisible()
        for (c, step) in wake { c.resume(returning: step) }
    }

    /// Makes every record appended so far durable (fdatasync of the active segment), now.
    ///
    /// Blocks the calling thread for the fdatasync; does nothing when everything is already
    /// durable. Safe to call concurrently with appends and with group commits.
    /// - Throws: `.io` when the fdatasync fails (the stream then refuses further appends).
    public func sync() throws(LambdaStoreError) {
        let (handle, target, failure) = shared.withLock { s in (s.segments.last?.segment.handle, s.endOffset, s.failure) }
        if let failure { throw failure }
        guard let handle, target > shared.withLock({ $0.durableEnd }) else { return }
        do throws(LambdaStoreError) { try handle.sync() } catch {
            shared.withLock { s in if s.failure == nil { s.failure = error } }
            failVisibilityWaitersIfStuck()
            throw error
        }
        shared.withLock { s in s.durableEnd = Swift.max(s.durableEnd, target) }
        publishVisible()
    }

    /// Starts (or shortens) the background flusher for ``Durability/interval(milliseconds:)``.
    func startFlusher(_ w: inout StreamWriter, periodMillis: Int) {
        let period = Swift.max(1, periodMillis)
        if w.flusher != nil, w.flusherPeriodMillis <= period { return }
        w.flusher?.cancel()
        w.flusherPeriodMillis = period
        w.flusher = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(period))
                guard let self else { return }
                let target: Int64? = self.shared.withLock { s in
                    s.endOffset > s.durableEnd && !s.isClosed && s.failure == nil ? s.endOffset : nil
                }
                if let target { try? await self.waitDurable(target) }
            }
        }
    }
}
