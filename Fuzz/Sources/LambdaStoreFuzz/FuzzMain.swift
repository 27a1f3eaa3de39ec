// The libFuzzer entry point (swift-protobuf style): libFuzzer's own main() calls this once
// per input. The target is chosen by the FUZZ_TARGET environment variable (FuzzTargets.names).
import LambdaStoreFuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let selectedTarget: String = {
    guard let raw = getenv("FUZZ_TARGET"), case let name = String(cString: raw), FuzzTargets.names.contains(name) else {
        print("FUZZ_TARGET must be one of: \(FuzzTargets.names.joined(separator: " "))")
        exit(2)
    }
    return name
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    FuzzTargets.run(selectedTarget, bytes)
    return 0
}
