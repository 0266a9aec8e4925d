// Which GEMM micro-kernel runs, chosen once from the CPU.
//
// The portable kernel (SIMD8, a 6 x 16 tile) is what x86-64-v3 (AVX2 + FMA) and arm64 builds emit. CPUs with AVX-512
// double the lanes per instruction; the 12 x 16 SIMD16 kernel lives in the GEMMAVX512 module, built for x86-64-v4, and
// runs only when /proc/cpuinfo lists every x86-64-v4 feature. TOKENSCOPE_GEMM=simd8 forces the portable kernel
// (for comparisons, or a CPU that misreports).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum GEMMKernel: String, Sendable, CaseIterable {
  /// 6 x 16 tile of twelve SIMD8 accumulators.
  case simd8
  /// 12 x 16 tile of twelve SIMD16 accumulators (x86-64 with AVX-512 F/BW/CD/DQ/VL).
  case avx512

  /// Rows of A per tile.
  public var tileRows: Int { self == .avx512 ? 12 : 6 }

  /// Whether the kernel reads A packed into k-major tiles (the portable one) or in place (AVX-512: 12 row streams
  /// cost the kernel nothing there, and the packing pass cost 5% of a forward pass).
  public var readsPackedA: Bool { self == .simd8 }

  /// The fastest kernel this CPU runs (read once).
  public static let best: GEMMKernel = {
    if let forced = getenv("TOKENSCOPE_GEMM").map({ String(cString: $0) }), let kernel = GEMMKernel(rawValue: forced),
      available.contains(kernel)
    {
      return kernel
    }
    return available.last!
  }()

  /// The kernels this CPU can run, slowest first.
  public static let available: [GEMMKernel] = {
    #if arch(x86_64)
    let needed = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    let flags = cpuFlags()
    return needed.allSatisfy { flags.contains(Substring($0)) } ? [.simd8, .avx512] : [.simd8]
    #else
    return [.simd8]
    #endif
  }()

  /// The `flags` line of /proc/cpuinfo (the kernel leaves out features the OS does not enable), as a set.
  static func cpuFlags() -> Set<Substring> {
    guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 8192)
    while fgets(&line, Int32(line.count), file) != nil {
      let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if text.hasPrefix("flags") {
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }))
      }
    }
    return []
  }
}
