// Elementwise kernels: LayerNorm, exact (erf) GELU, softmax, all SIMD8 with hand-kept accumulators
// (Swift does not vectorise float reductions by itself; see "Traps" in ViTEngine.docc/Engine.md).
//
// Shape legend: x is rows x n, row-major; gamma/beta are n.
#if arch(x86_64)
import GEMMAVX512
#endif

// MARK: exp

/// e^x for a SIMD8, Cephes-style: x = k ln2 + r, e^r by a degree-6 polynomial, 2^k by exponent bits.
/// Relative error about 2e-7 on [-87, 88]; inputs below -87 give 0 (softmax only ever sees x <= 0).
@_transparent
func simdExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
  var x = x
  x.replace(with: SIMD8(repeating: 88.0), where: x .> 88.0)
  let tooSmall = x .< -87.0
  x.replace(with: SIMD8(repeating: -87.0), where: tooSmall)
  // k = round(x / ln2) using the 1.5 * 2^23 magic-number trick (no Int conversion helpers, which are slow).
  let magic = SIMD8<Float>(repeating: 12_582_912.0)
  let kf = (x * 1.442_695_040_888_963_4 + magic) - magic
  let r = x - kf * 0.693_145_751_953_125 - kf * 1.428_606_765_330_187_045e-06
  // Horner steps as explicit FMAs on vector constants: the `SIMD8 * scalar + scalar` operator forms were partly split
  // into xmm/scalar pieces by the compiler (see simdLog in AttentionStats.swift, and the measured design decisions in
  // ViTEngine.docc/Engine.md).
  @inline(__always) func step(_ p: SIMD8<Float>, _ c: Float) -> SIMD8<Float> { SIMD8(repeating: c).addingProduct(p, r) }
  var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
  p = step(p, 1.398_199_950_7e-3)
  p = step(p, 8.333_451_907_3e-3)
  p = step(p, 4.166_579_589_4e-2)
  p = step(p, 1.666_666_545_9e-1)
  p = step(p, 5.000_000_120_1e-1)
  p = (r + 1.0).addingProduct(p * r, r)
  // 2^k: add k to the exponent field. k is in [-126, 127] after the clamps.
  // (kf + magic) holds 0x4B400000 + k in its bits; subtracting (0x4B400000 - 127) leaves the biased exponent k + 127.
  let biased = unsafeBitCast(kf + magic, to: SIMD8<UInt32>.self) &- SIMD8<UInt32>(repeating: 0x4B40_0000 - 127)
  let scale = unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
  var result = p * scale
  result.replace(with: 0, where: tooSmall)
  return result
}

// MARK: LayerNorm

/// out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta, biased variance as in torch.nn.LayerNorm.
/// x: rows x n. out may alias x.
public func layerNorm(_ x: UnsafePointer<Float>, rows: Int, n: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                      eps: Float, out: UnsafeMutablePointer<Float>) {
  let n8 = n & ~7
  for r in 0..<rows {
    let xr = x + r &* n
    let outr = out + r &* n
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n8 {
      s0 += UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self)
      s1 += UnsafeRawPointer(xr + i + 8).loadUnaligned(as: SIMD8<Float>.self)
      i += 16
    }
    if i < n8 { s0 += UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
    var sum = horizontalSum(s0 + s1)
    while i < n { sum += xr[i]; i += 1 }
    let mean = sum / Float(n)
    let m = SIMD8<Float>(repeating: mean)
    var v0 = SIMD8<Float>(), v1 = SIMD8<Float>()
    i = 0
    while i + 16 <= n8 {
      let d0 = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self) - m
      let d1 = UnsafeRawPointer(xr + i + 8).loadUnaligned(as: SIMD8<Float>.self) - m
      v0 = v0.addingProduct(d0, d0)
      v1 = v1.addingProduct(d1, d1)
      i += 16
    }
    if i < n8 { let d = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self) - m; v0 = v0.addingProduct(d, d); i += 8 }
    var variance = horizontalSum(v0 + v1)
    while i < n { let d = xr[i] - mean; variance += d * d; i += 1 }
    variance /= Float(n)
    let inv = 1 / (variance + eps).squareRoot()
    let invV = SIMD8<Float>(repeating: inv)
    i = 0
    while i < n8 {
      let xv = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self)
      let g = UnsafeRawPointer(gamma + i).loadUnaligned(as: SIMD8<Float>.self)
      let b = UnsafeRawPointer(beta + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(outr + i).storeBytes(of: (xv - m) * invV * g + b, as: SIMD8<Float>.self)
      i += 8
    }
    while i < n { outr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i]; i += 1 }
  }
}

/// The largest lane. SIMD's own `max()` was a generic call per row (about 1% of a pass on the bundled model).
@_transparent
func horizontalMax(_ v: SIMD8<Float>) -> Float {
  var a = v.lowHalf
  let b = v.highHalf
  a.replace(with: b, where: b .> a)
  var c = a.lowHalf
  let d = a.highHalf
  c.replace(with: d, where: d .> c)
  return Swift.max(c[0], c[1])
}

@_transparent
func horizontalSum(_ v: SIMD8<Float>) -> Float {
  let a = v.lowHalf + v.highHalf
  let b = a.lowHalf + a.highHalf
  return b[0] + b[1]
}

// MARK: GELU

/// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as torch.nn.GELU() (not the tanh approximation, which is 4.7e-4 off).
/// erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), with the polynomial exp above.
@_transparent
func simdGELU(_ x: SIMD8<Float>) -> SIMD8<Float> {
  // |z| and sign(z) by bit masks, not `replace(with: -z, where: z .< 0)`: that form made the compiler scalarise the
  // whole function (vdivss, vfmadd213ss per lane: 0.9 ns per element instead of about 0.25).
  let z = x * SIMD8(repeating: 0.707_106_781_186_547_5)
  let zBits = unsafeBitCast(z, to: SIMD8<UInt32>.self)
  let signBit = zBits & 0x8000_0000
  let az = unsafeBitCast(zBits & 0x7FFF_FFFF, to: SIMD8<Float>.self)
  let one = SIMD8<Float>(repeating: 1)
  let t = one / one.addingProduct(az, SIMD8(repeating: 0.327_591_1))
  @inline(__always) func step(_ p: SIMD8<Float>, _ c: Float) -> SIMD8<Float> { SIMD8(repeating: c).addingProduct(p, t) }
  var poly = SIMD8<Float>(repeating: 1.061_405_429)
  poly = step(poly, -1.453_152_027)
  poly = step(poly, 1.421_413_741)
  poly = step(poly, -0.284_496_736)
  poly = step(poly, 0.254_829_592)
  poly = poly * t
  let erfAbs = one - poly * simdExp(-(az * az))
  let erf = unsafeBitCast(unsafeBitCast(erfAbs, to: SIMD8<UInt32>.self) ^ signBit, to: SIMD8<Float>.self)
  return (x * SIMD8(repeating: 0.5)) * (one + erf)
}

/// In place over `count` values (16 lanes at a time where the CPU has AVX-512: GEMMAVX512/ElementwiseAVX512.swift).
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, kernel: GEMMKernel = .best) {
  #if arch(x86_64)
  if kernel == .avx512 {
    geluInPlaceAVX512(x, count: count)
    return
  }
  #endif
  mapInPlace(x, count: count, simdGELU)
}

// MARK: softmax

/// Row-wise softmax of (scale * x + bias[col]) in place. x: rows x n; bias: n or nil (proportional attention adds
/// log(size) per key here). Rows are max-shifted, so exp only sees values <= 0.
///
/// With `entropy`, also writes each row's entropy -sum p ln p (nats) there, without a logarithm per element: with
/// d_j = x_j - max, e_j = exp(d_j) and Z = sum e_j, p_j = e_j / Z and ln p_j = d_j - ln Z, so
/// H = ln Z - (sum e_j d_j) / Z, one FMA per element in the exp pass.
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, scale: Float, bias: UnsafePointer<Float>?,
                        entropy: UnsafeMutablePointer<Float>? = nil, kernel: GEMMKernel = .best) {
  #if arch(x86_64)
  // Twice the lanes where the CPU has AVX-512 (the same algorithm, GEMMAVX512/ElementwiseAVX512.swift).
  if kernel == .avx512 {
    softmaxRowsAVX512(x, rows: rows, n: n, scale: scale, bias: bias, entropy: entropy)
    return
  }
  #endif
  let n8 = n & ~7, tail = n &- n8
  let scaleV = SIMD8<Float>(repeating: scale)
  // A row's last n mod 8 values go through the vector code too, as one padded vector: a scalar exp costs as much as a
  // vector one, and the bundled model's 197-wide rows ended in 5 of them (a fifth of the exp pass).
  @inline(__always) func loadTail(_ p: UnsafePointer<Float>, fill: Float) -> SIMD8<Float> {
    var v = SIMD8<Float>(repeating: fill)
    for j in 0..<tail { v[j] = p[j] }
    return v
  }
  @inline(__always) func storeTail(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    for j in 0..<tail { p[j] = v[j] }
  }
  for r in 0..<rows {
    let row = x + r &* n
    var maxV = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i < n8 {
      var v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) * scaleV
      if let bias { v += UnsafeRawPointer(bias + i).loadUnaligned(as: SIMD8<Float>.self) }
      UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: SIMD8<Float>.self)
      maxV.replace(with: v, where: v .> maxV)
      i &+= 8
    }
    var rowMax = horizontalMax(maxV)
    for j in n8..<n {
      row[j] = row[j] * scale + (bias?[j] ?? 0)
      rowMax = Swift.max(rowMax, row[j])
    }
    let m = SIMD8<Float>(repeating: rowMax)
    var s0 = SIMD8<Float>(), ed0 = SIMD8<Float>(), s1 = SIMD8<Float>(), ed1 = SIMD8<Float>()
    i = 0
    // Two vectors per step: one exp is a chain of some twenty dependent operations, and with one per step the loop ran
    // at its latency, not at the FMA units' throughput.
    while i &+ 16 <= n8 {
      let d0 = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m
      let d1 = UnsafeRawPointer(row + i).loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) - m
      let e0 = simdExp(d0), e1 = simdExp(d1)
      UnsafeMutableRawPointer(row + i).storeBytes(of: e0, as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(row + i).storeBytes(of: e1, toByteOffset: 32, as: SIMD8<Float>.self)
      s0 += e0; s1 += e1
      ed0 = ed0.addingProduct(e0, d0); ed1 = ed1.addingProduct(e1, d1)
      i &+= 16
    }
    if i < n8 {
      let d = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m
      let e = simdExp(d)
      UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD8<Float>.self)
      s0 += e
      ed0 = ed0.addingProduct(e, d)
      i &+= 8
    }
    s0 += s1; ed0 += ed1
    if tail > 0 {
      // Lanes past the row start at -inf - max, clamped to -100: e = 0 there, and e * d = 0 adds nothing.
      var d = loadTail(row + n8, fill: -.infinity) - m
      d.replace(with: SIMD8(repeating: -100), where: d .< -100)
      let e = simdExp(d)
      storeTail(e, row + n8)
      s0 += e
      ed0 = ed0.addingProduct(e, d)
    }
    let sum = horizontalSum(s0), weighted = horizontalSum(ed0)
    let inv = 1 / sum
    // H >= 0 always; the clamp only hides float rounding on one-hot rows.
    entropy?[r] = Swift.max(0, Foundationless.log(sum) - weighted * inv)
    let invV = SIMD8<Float>(repeating: inv)
    i = 0
    while i < n8 {
      UnsafeMutableRawPointer(row + i).storeBytes(of: UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) * invV, as: SIMD8<Float>.self)
      i &+= 8
    }
    for j in n8..<n { row[j] *= inv }
  }
}
