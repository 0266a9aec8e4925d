// Attention entropy: for each head, H = -sum_j p_j ln p_j over a query row (nats), averaged over rows;
// and the same for the CLS row alone. Computed on the probabilities actually used.
//
// Speed: a scalar Double `log` per probability cost about 56 ms per DeiT-S image (2.8 M calls), more than the whole
// attention. Rows are now reduced with a SIMD8 polynomial log (Cephes logf, |error| about 1e-7 relative) and two Float
// accumulators; the forward pass computes each row's entropy right after its softmax, while the row is in cache, and
// on the pool with the attention tasks. The mean over rows is still taken in Double.
//
// Shape legend: probabilities are heads x queries x keys; row entropies heads x queries.

public enum AttentionStats {
  /// probabilities: heads x queries x keys. Returns (mean row entropy per head, CLS-row entropy per head).
  public static func entropy(_ probabilities: UnsafeBufferPointer<Float>, heads: Int, queries: Int, keys: Int)
    -> (meanRow: [Float], classRow: [Float])
  {
    guard queries > 0, keys > 0 else { return ([Float](repeating: 0, count: heads), [Float](repeating: 0, count: heads)) }
    var rows = [Float](repeating: 0, count: heads * queries)
    for i in 0..<(heads * queries) { rows[i] = entropyOfRow(probabilities.baseAddress! + i &* keys, count: keys) }
    return entropy(rowEntropies: rows, heads: heads, queries: queries)
  }

  /// From per-row entropies (heads x queries): (mean row entropy per head, CLS-row entropy per head).
  public static func entropy(rowEntropies: [Float], heads: Int, queries: Int) -> (meanRow: [Float], classRow: [Float]) {
    var meanRow = [Float](repeating: 0, count: heads)
    var classRow = [Float](repeating: 0, count: heads)
    guard queries > 0 else { return (meanRow, classRow) }
    for h in 0..<heads {
      var total = 0.0
      for q in 0..<queries { total += Double(rowEntropies[h * queries + q]) }
      classRow[h] = rowEntropies[h * queries]
      meanRow[h] = Float(total / Double(queries))
    }
    return (meanRow, classRow)
  }
}

/// -sum p ln p over one row of `count` probabilities (zeros contribute 0).
@_transparent
func entropyOfRow(_ row: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
  var i = 0
  while i &+ 16 <= count {
    let p0 = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
    let p1 = UnsafeRawPointer(row + (i &+ 8)).loadUnaligned(as: SIMD8<Float>.self)
    s0 += plogp(p0)
    s1 += plogp(p1)
    i &+= 16
  }
  if i < count {
    var tail = SIMD8<Float>(), filled = 0
    while i < count {
      tail[filled] = row[i]; filled &+= 1; i &+= 1
      if filled == 8 { s0 += plogp(tail); tail = SIMD8<Float>(); filled = 0 }
    }
    if filled > 0 { s1 += plogp(tail) }
  }
  return -horizontalSum(s0 + s1)
}

/// p ln p per lane, 0 where p <= 0.
@_transparent
func plogp(_ p: SIMD8<Float>) -> SIMD8<Float> {
  var r = p * simdLog(p)
  r.replace(with: 0, where: p .<= 0)
  return r
}

/// ln x for positive normal x (Cephes logf polynomial): x = m 2^e with m in [sqrt(1/2), sqrt 2), found with integer
/// ops on the bits (subtract sqrt(1/2)'s bits, the arithmetic shift gives e, the low 23 bits plus sqrt(1/2)'s give m),
/// then ln m = ln(1 + f) by a degree-9 polynomial. No lane selects: a `replace(with:where:)` version was scalarised
/// by the compiler (2.2 ns per element, the whole entropy cost 6 ms per DeiT-S image).
/// Zero, negative and denormal inputs give garbage: callers mask them.
@_transparent
func simdLog(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let sqrtHalfBits = SIMD8<Int32>(repeating: 0x3F35_04F3)
  let shifted = unsafeBitCast(x, to: SIMD8<Int32>.self) &- sqrtHalfBits
  let eInt = shifted &>> 23  // arithmetic: negative for x < sqrt(1/2)
  let m = unsafeBitCast((shifted & 0x007F_FFFF) &+ sqrtHalfBits, to: SIMD8<Float>.self)  // [sqrt(1/2), sqrt 2)
  // Int32 -> Float without conversion helpers: 1.5 * 2^23 + e has e in its low mantissa bits.
  let e = unsafeBitCast(eInt &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912.0
  let f = m - 1
  let z = f * f
  // Horner steps as explicit FMAs on vector constants (the scalar-operand operators were split into xmm pieces).
  @inline(__always) func step(_ y: SIMD8<Float>, _ c: Float) -> SIMD8<Float> { SIMD8(repeating: c).addingProduct(y, f) }
  var y = SIMD8<Float>(repeating: 7.037_683_629_2e-2)
  y = step(y, -1.151_461_031_0e-1)
  y = step(y, 1.167_699_874_0e-1)
  y = step(y, -1.242_014_084_6e-1)
  y = step(y, 1.424_932_278_7e-1)
  y = step(y, -1.666_805_766_5e-1)
  y = step(y, 2.000_071_476_5e-1)
  y = step(y, -2.499_999_399_3e-1)
  y = step(y, 3.333_333_117_4e-1)
  y = (y * f) * z
  y = y.addingProduct(e, SIMD8(repeating: -2.121_944_40e-4))
  y = y.addingProduct(z, SIMD8(repeating: -0.5))
  return (f + y).addingProduct(e, SIMD8(repeating: 0.693_359_375))
}
