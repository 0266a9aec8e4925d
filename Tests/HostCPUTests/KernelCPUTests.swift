import HostCPU
import Testing

@Suite struct KernelCPUTests {
  @Test func nothingMissingMeansNoRefusal() {
    #expect(KernelCPU.refusal(missing: []) == nil)
  }

  @Test func refusalIsOneLineNamingWhatIsMissing() throws {
    let message = try #require(KernelCPU.refusal(missing: ["avx2", "fma"]))
    #expect(!message.contains("\n"))
    #expect(message.contains("avx2, fma"))
    #expect(message.contains("x86-64-v3"))
  }

  @Test func hiddenFeaturesAreParsedFromACommaList() {
    #expect(KernelCPU.hiddenFeatures(nil).isEmpty)
    #expect(KernelCPU.hiddenFeatures("").isEmpty)
    #expect(KernelCPU.hiddenFeatures("avx2, FMA,,") == ["avx2", "fma"])
  }

  #if arch(x86_64)
  @Test func hidingAFeatureReportsItMissing() {
    let missing = KernelCPU.missingFeatures(hidden: ["avx2", "bmi2"])
    #expect(missing.contains("avx2") && missing.contains("bmi2"))
    #expect(KernelCPU.refusal(missing: missing) != nil)
  }

  @Test func hidingANameThatIsNoFeatureChangesNothing() {
    #expect(KernelCPU.missingFeatures(hidden: ["sse9"]) == KernelCPU.missingFeatures())
  }

  /// The machine running the tests runs the kernels, so the check must let it through.
  @Test func thisMachinePasses() {
    #expect(KernelCPU.missingFeatures().isEmpty)
  }
  #else
  @Test func otherArchitecturesNeverRefuse() {
    #expect(KernelCPU.missingFeatures(hidden: ["avx2"]).isEmpty)
  }
  #endif
}
