// The binary's CPU check, end to end: on a CPU without x86-64-v3 it must refuse with one line before any kernel
// runs (simulated by hiding features, which can only make the check stricter).
import Foundation
import Testing

@Suite("CPU check")
struct CPUCheckTests {
  #if arch(x86_64)
  @Test func aCPUWithoutAVX2IsRefusedWithOneLine() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["TOKENSCOPE_HIDE_CPU_FEATURES"] = "avx2,fma"
    let r = try tokenscope(["flops", "--arch", "deit-s"], environment: environment)
    #expect(r.status == 69)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr.split(separator: "\n").count == 1)
    #expect(r.stderr.hasPrefix("tokenscope: this CPU lacks avx2, fma;"))
  }
  #endif

  @Test func aCapableCPURunsAsBefore() throws {
    let r = try tokenscope(["flops", "--arch", "deit-s"])
    #expect(r.status == 0)
  }
}
