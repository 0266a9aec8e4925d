// The binary's CPU check, end to end: on a CPU without x86-64-v3 it must refuse with one line before any kernel
// runs.
import Foundation
import Testing
import TestSupport

/// qemu-x86_64 from PATH, if installed: it emulates older CPUs and traps their missing instructions as SIGILL.
let qemuPath: String? = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  return path.split(separator: ":").map { "\($0)/qemu-x86_64" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

@Suite("CPU check")
struct CPUCheckTests {
  #if arch(x86_64)
  /// Hiding features can only make the check stricter, so this exercises the refusal on any machine.
  @Test func aCPUWithoutAVX2IsRefusedWithOneLine() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["TOKENSCOPE_HIDE_CPU_FEATURES"] = "avx2,fma"
    let r = try tokenscope(["flops", "--arch", "deit-s"], environment: environment)
    #expect(r.status == 69)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr.split(separator: "\n").count == 1)
    #expect(r.stderr.hasPrefix("tokenscope: this CPU lacks avx2, fma;"))
  }

  /// On an emulated Nehalem (no AVX at all) any x86-64-v3 instruction would end the process with SIGILL, so exit 69
  /// proves the check runs before all of them.
  @Test(.enabled(if: qemuPath != nil, "needs qemu-x86_64 on PATH"))
  func anEmulatedOldCPUIsRefusedBeforeAnyKernelInstruction() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(qemuPath))
    process.arguments = ["-cpu", "Nehalem", binaryPath, "flops", "--arch", "deit-s"]
    let err = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    try process.run()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 69, "\(stderr)")
    #expect(stderr.hasPrefix("tokenscope: this CPU lacks avx, avx2, fma"))
  }
  #endif

  @Test func aCapableCPURunsAsBefore() throws {
    let r = try tokenscope(["flops", "--arch", "deit-s"])
    #expect(r.status == 0)
  }
}
