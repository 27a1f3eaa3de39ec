import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import Logging
import Synchronization

/// Options every subcommand takes.
struct StoreOptionsGroup: ParsableArguments {
    @Option(name: .long, help: "The store directory.")
    var store: String = "./lambdastore-data"

    @Flag(name: .long, help: "Print a single JSON object on stdout.")
    var json = false
}

/// Opens the store for a subcommand. Commands that only read open it without the writer lock,
/// so they run while another process ingests. The engine logs (swift-log, to stderr) at the
/// level in `LAMBDASTORE_LOG_LEVEL` (default `error`, so a successful command stays quiet).
func openStore(_ path: String, readOnly: Bool = false) async throws -> Store {
    var o = StoreOptions()
    o.readOnly = readOnly
    o.logger.logLevel = logLevel
    return try await Store.open(at: path, options: o)
}

/// The log level from `LAMBDASTORE_LOG_LEVEL` (trace, debug, info, notice, warning, error, critical).
var logLevel: Logger.Level {
    Platform.environment("LAMBDASTORE_LOG_LEVEL").flatMap { Logger.Level(rawValue: $0) } ?? .error
}

/// Writes a line to stderr.
func printError(_ line: String) { writeStderr(sanitizedForTerminal(line) + "\n") }

/// `text` with every control character (C0, DEL, C1; a newline or an ESC sequence from a
/// value included) written as `\u{XX}`, so an echoed value can neither forge an extra line of
/// output nor reach the terminal as a control sequence.
func sanitizedForTerminal(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return text }
    var out = ""
    for u in text.unicodeScalars {
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) {
            out += "\\u{" + String(u.value, radix: 16) + "}"
        } else {
            out.unicodeScalars.append(u)
        }
    }
    return out
}

/// Writes text to stderr (fd 2, unbuffered).
func writeStderr(_ text: String) {
    var s = text
    s.withUTF8 { u in _ = Platform.writeAll(2, UnsafeRawBufferPointer(u)) }
}

/// Whether stderr is a terminal (progress bars go there only then).
var stderrIsTerminal: Bool { Platform.isTerminal(2) }

/// Runs a subcommand body, turning errors into a one-line reason on stderr and exit status 1.
func reportingErrors(_ body: () async throws -> Int32) async throws {
    let code: Int32
    do {
        code = try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as LambdaStoreError {
        printError("lambdastore: \(e)")
        throw ExitCode(1)
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("lambdastore: \(error)")
        throw ExitCode(1)
    }
    if code != 0 { throw ExitCode(code) }
}

/// Parses a time option: integer epoch ms or ISO-8601 with a zone.
func parseTime(_ text: String, option: String) throws -> Int64 {
    if let t = Timestamp.parse(text) { return t }
    throw ValidationError("\(option): '\(text)' is neither epoch milliseconds nor an ISO-8601 time with a zone")
}

/// A terminal progress bar on stderr, redrawn at most every 1 % of progress. Safe to update
/// from the batch workers' threads.
final class ProgressBar: Sendable {
    private let lastPercent = Locked(-1)
    private let label: String
    init(label: String) { self.label = label }
    /// This bar as a progress handler.
    var handler: ProgressHandler { { [self] done, total in update(done, total) } }
    func update(_ done: Int64, _ total: Int64) {
        guard total > 0 else { return }
        let pct = Int(min(100, done * 100 / total))
        let changed = lastPercent.withLock { last in
            guard pct > last else { return false }
            last = pct
            return true
        }
        guard changed else { return }
        let width = 30
        let filled = width * pct / 100
        let bar = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(pct)%"
        writeStderr(pct == 100 ? bar + "\n" : bar)
    }
}
