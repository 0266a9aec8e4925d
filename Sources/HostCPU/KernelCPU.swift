// Whether this CPU can run the kernels. On x86-64 they are compiled for x86-64-v3 (AVX2 + FMA), and an older CPU
// would die on the first such instruction with SIGILL and no explanation. This module is compiled without -march,
// so the executable can ask before any kernel code runs and refuse with one clear line instead.
import CHostCPU

public enum KernelCPU {
  /// The environment variable that makes the check treat the features it lists (comma-separated, e.g. "avx2,fma")
  /// as missing. It can only make the check fail, never pass, so the refusal can be tested on any machine.
  public static let hideVariable = "TOKENSCOPE_HIDE_CPU_FEATURES"

  /// Every x86-64-v3 feature this CPU lacks, in the CPU's order, plus those `hidden` names; empty off x86-64.
  public static func missingFeatures(hidden: Set<String> = []) -> [String] {
    #if arch(x86_64)
    let missing = ts_cpu_missing_x86_64_v3()
    return (0..<Int(TS_CPU_FEATURE_COUNT)).compactMap { index -> String? in
      guard let name = ts_cpu_feature_name(Int32(index)).map({ String(cString: $0) }) else { return nil }
      return missing & (1 << UInt32(index)) != 0 || hidden.contains(name) ? name : nil
    }
    #else
    return []
    #endif
  }

  /// The feature names listed in the value of `hideVariable` (empty for nil or an empty value).
  public static func hiddenFeatures(_ value: String?) -> Set<String> {
    Set((value ?? "").split(separator: ",").map { $0.trimmingSpaces().lowercased() }.filter { !$0.isEmpty })
  }

  /// What to tell a user whose CPU lacks `missing`; nil when nothing is missing.
  public static func refusal(missing: [String]) -> String? {
    guard !missing.isEmpty else { return nil }
    return "this CPU lacks \(missing.joined(separator: ", ")); tokenscope's kernels need x86-64-v3 "
      + "(AVX2 and FMA: Intel Haswell, AMD Excavator or newer)"
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> String {
    String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}
