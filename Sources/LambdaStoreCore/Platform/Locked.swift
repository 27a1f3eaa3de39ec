#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a `pthread_mutex_t`: the lock of every LambdaStore component.
///
/// Why not `Synchronization.Mutex`: on Linux it parks on a futex directly, which
/// ThreadSanitizer cannot see, so every access it guards is reported as a race (checked on
/// Swift 6.3.1: two threads appending to a `Mutex<[Int]>` give a "Swift access race").
/// ThreadSanitizer intercepts pthread mutexes, so code guarded by `Locked` stays TSan-clean.
///
/// Not reentrant: `body` must not take the same lock again.
///
/// Thread safety: `withLock` may be called from any thread.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Guards `value`.
    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body(&_value)
    }

    @usableFromInline func lock() { pthread_mutex_lock(mutex) }
    @usableFromInline func unlock() { pthread_mutex_unlock(mutex) }
    @usableFromInline var _value: Value {
        _read { yield value }
        _modify { yield &value }
    }
}
