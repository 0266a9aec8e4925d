// The baseline: every token through every block, the reference every method is measured against.
import ViTEngine

public struct Baseline: MethodConfiguration {
  public static let descriptor = MethodDescriptor(
    name: "none", summary: "the baseline: every token through every block", level: .tokenPolicy
  ) { _ throws(MethodSpecError) in Baseline() }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(NoReduction()) }
}
