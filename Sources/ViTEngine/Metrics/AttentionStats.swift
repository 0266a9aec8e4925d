// Attention entropy: for each head, H = -sum_j p_j ln p_j over a query row (nats), averaged over rows;
// and the same for the CLS row alone. Computed on the probabilities actually used.

public enum AttentionStats {
  /// probabilities: heads x queries x keys. Returns (mean row entropy per head, CLS-row entropy per head).
  public static func entropy(_ probabilities: UnsafeBufferPointer<Float>, heads: Int, queries: Int, keys: Int)
    -> (meanRow: [Float], classRow: [Float])
  {
    var meanRow = [Float](repeating: 0, count: heads)
    var classRow = [Float](repeating: 0, count: heads)
    guard queries > 0, keys > 0 else { return (meanRow, classRow) }
    for h in 0..<heads {
      var total = 0.0
      for q in 0..<queries {
        let row = probabilities.baseAddress! + (h &* queries &+ q) &* keys
        var e = 0.0
        for j in 0..<keys where row[j] > 0 {
          let p = Double(row[j])
          e -= p * log(p)
        }
        if q == 0 { classRow[h] = Float(e) }
        total += e
      }
      meanRow[h] = Float(total / Double(queries))
    }
    return (meanRow, classRow)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
