// The naive oracles the kernel tests compare against: straightforward loops accumulated in Double.
@testable import ViTEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// out[i][j] = bias[j] + sum_t a[i][t] * w[j][t].
func linearReference(_ x: Matrix, weight: [Float], bias: [Float]?, outFeatures: Int) -> Matrix {
  var out = Matrix(rows: x.rows, cols: outFeatures)
  for i in 0..<x.rows {
    for j in 0..<outFeatures {
      var s = Double(bias?[j] ?? 0)
      for t in 0..<x.cols { s += Double(x[i, t]) * Double(weight[j * x.cols + t]) }
      out[i, j] = Float(s)
    }
  }
  return out
}

extension AttentionStats {
  /// -sum p log p over the row, one Double log per element.
  static func entropyReference(_ row: UnsafePointer<Float>, count: Int) -> Double {
    var e = 0.0
    for j in 0..<count where row[j] > 0 {
      let p = Double(row[j])
      e -= p * log(p)
    }
    return e
  }
}
