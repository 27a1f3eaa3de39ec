import LambdaStoreCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, defect 4: closing a `PosixFileHandle` while other threads read from it (or
/// closing it twice at once) never lets a read reach another file that reused its descriptor
/// number.
@Suite struct FileHandleCloseTests {
    static func tempDirectory() -> String {
        var template = Array("/tmp/ls-close-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: p!)
    }

    /// Runs each closure on its own thread (real threads: the readers and the closer must
    /// overlap even on a machine with few cores) and waits for all.
    static func onThreads(_ bodies: [@Sendable () -> Void]) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var threads: [pthread_t] = []
        for body in bodies {
            var t = pthread_t()
            let arg = Unmanaged.passRetained(Box(body)).toOpaque()
            let rc = pthread_create(&t, nil, { p in
                Unmanaged<Box>.fromOpaque(p!).takeRetainedValue().body()
                return nil
            }, arg)
            precondition(rc == 0, "pthread_create")
            threads.append(t)
        }
        for t in threads { pthread_join(t, nil) }
    }

    @Test func readsRacingACloseNeverSeeAnotherFile() throws {
        let dir = Self.tempDirectory()
        defer { _ = system("rm -rf '\(dir)'") }
        let fs = PosixFileSystem()
        let size = 4096
        try fs.writeFileAtomically(dir + "/a", [UInt8](repeating: 0x41, count: size))
        try fs.writeFileAtomically(dir + "/b", [UInt8](repeating: 0x42, count: size))
        for round in 0..<20 {
            let a = try fs.open(dir + "/a", mode: .read)
            let foreign = Locked(0)
            let others = Locked<[any FileHandle]>([])
            let reader: @Sendable () -> Void = {
                var buffer = [UInt8](repeating: 0, count: size)
                for _ in 0..<3000 {
                    guard let n = try? buffer.withUnsafeMutableBytes({ try a.read(into: $0, at: 0) }) else { continue }
                    if buffer[0..<n].contains(0x42) { foreign.withLock { $0 += 1 } }
                }
            }
            Self.onThreads([reader, reader, reader, reader, {
                // Let the readers start, close (twice, as a racing second closer would), then
                // open other files that may take the freed descriptor number.
                usleep(UInt32(200 + round * 50))
                try? a.close()
                try? a.close()
                for _ in 0..<8 {
                    if let b = try? fs.open(dir + "/b", mode: .read) { others.withLock { $0.append(b) } }
                }
            }, {
                usleep(UInt32(200 + round * 50))
                try? a.close()   // a concurrent second closer
            }])
            #expect(foreign.withLock { $0 } == 0, "round \(round): a read returned another file's bytes")
            // After the close every read fails, whatever the descriptor number now names.
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(throws: LambdaStoreError.self, "round \(round)") { _ = try buffer.withUnsafeMutableBytes { try a.read(into: $0, at: 0) } }
            for b in others.withLock({ $0 }) { try b.close() }
        }
    }
}
