// The platform layer: every operating-system call LambdaStore makes lives in this directory
// (Platform.swift, PosixFileSystem.swift for files and directories, Locked.swift for mutexes,
// HugePages.swift for memory advice). No other file of the library or the tool imports the C
// library. LambdaStore is built and tested on Linux with glibc only (x86_64, Debian 12,
// Swift 6.3); any other platform stops the build here instead of compiling untested code.
#if canImport(Glibc)
import Glibc
#else
#error("LambdaStore is built and tested on Linux with glibc only; this platform is not supported")
#endif

/// Operating-system services outside the file layer (``PosixFileSystem``): clocks, processor
/// count, byte search, the standard streams, the environment and process exit.
public enum Platform {
    /// The wall clock, epoch milliseconds (UTC).
    public static func wallClockMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Processors online (at least 1).
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The position of the first `byte` in `buffer[from...]`, nil when there is none
    /// (`memchr`: vectorized by the C library).
    @inlinable
    public static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
        guard let base = buffer.baseAddress, from >= 0, from < buffer.count else { return nil }
        guard let hit = memchr(base + from, Int32(byte), buffer.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// The value of environment variable `name`, nil when unset.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// `path` with every symbolic link and `.`/`..` resolved (`realpath`), nil when it does
    /// not exist.
    public static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// The natural logarithm (the C library's `log`).
    public static func naturalLog(_ x: Double) -> Double { log(x) }

    /// Whether file descriptor `fd` is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    /// Writes all of `bytes` to file descriptor `fd` (retrying short writes and `EINTR`).
    /// - Returns: nil on success, else the `errno` of the failed write.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard let base = bytes.baseAddress else { return nil }
        var done = 0
        while done < bytes.count {
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }

    /// Reads up to `buffer.count` bytes from standard input (retrying `EINTR`); 0 at its end.
    public static func readStandardInput(into buffer: UnsafeMutableRawBufferPointer) throws(LambdaStoreError) -> Int {
        while true {
            let n = read(0, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw LambdaStoreError(.io, "reading standard input failed", errno: errno) }
        }
    }

    /// Flushes the C standard streams; nil on success, else a reason.
    public static func flushStandardStreams() -> String? {
        fflush(nil) != 0 ? String(cString: strerror(errno)) : nil
    }

    /// Ends the process with `status`.
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}
