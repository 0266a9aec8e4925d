// The elementwise kernels that sit on the GEMMs' hot path, on 16 lanes: GELU (fc1's epilogue) and the attention
// softmax. Same algorithms and constants as ViTEngine's SIMD8 versions (Elementwise.swift), so both kernels give the
// same values to rounding; ViTEngine calls these only where `GEMMKernel.best` is the AVX-512 kernel.
//
// Shape legend: softmax rows are `rows` x `n` floats, row-major, in place; `bias` is n floats or nil; `entropy`
// receives one value per row. GELU works on one SIMD16 (the GEMM store) or a run of `count` floats.

#if arch(x86_64)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// e^x, Cephes-style: x = k ln2 + r, e^r by a degree-6 polynomial, 2^k by exponent bits (ViTEngine's simdExp).
@inline(__always)
func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
  var x = x
  x.replace(with: SIMD16(repeating: 88.0), where: x .> 88.0)
  let tooSmall = x .< -87.0
  x.replace(with: SIMD16(repeating: -87.0), where: tooSmall)
  let magic = SIMD16<Float>(repeating: 12_582_912.0)  // 1.5 * 2^23: rounds to an integer without Int conversions
  let kf = (x * 1.442_695_040_888_963_4 + magic) - magic
  let r = x - kf * 0.693_145_751_953_125 - kf * 1.428_606_765_330_187_045e-06
  @inline(__always) func step(_ p: SIMD16<Float>, _ c: Float) -> SIMD16<Float> { SIMD16(repeating: c).addingProduct(p, r) }
  var p = SIMD16<Float>(repeating: 1.987_569_150_0e-4)
  p = step(p, 1.398_199_950_7e-3)
  p = step(p, 8.333_451_907_3e-3)
  p = step(p, 4.166_579_589_4e-2)
  p = step(p, 1.666_666_545_9e-1)
  p = step(p, 5.000_000_120_1e-1)
  p = (r + 1.0).addingProduct(p * r, r)
  let biased = unsafeBitCast(kf + magic, to: SIMD16<UInt32>.self) &- SIMD16<UInt32>(repeating: 0x4B40_0000 - 127)
  var result = p * unsafeBitCast(biased &<< 23, to: SIMD16<Float>.self)
  result.replace(with: 0, where: tooSmall)
  return result
}

/// Exact (erf) GELU with the Abramowitz-Stegun 7.1.26 rational erf (ViTEngine's simdGELU).
@inline(__always)
func gelu16(_ x: SIMD16<Float>) -> SIMD16<Float> {
  let z = x * SIMD16(repeating: 0.707_106_781_186_547_5)
  let zBits = unsafeBitCast(z, to: SIMD16<UInt32>.self)
  let signBit = zBits & 0x8000_0000
  let az = unsafeBitCast(zBits & 0x7FFF_FFFF, to: SIMD16<Float>.self)
  let one = SIMD16<Float>(repeating: 1)
  let t = one / one.addingProduct(az, SIMD16(repeating: 0.327_591_1))
  @inline(__always) func step(_ p: SIMD16<Float>, _ c: Float) -> SIMD16<Float> { SIMD16(repeating: c).addingProduct(p, t) }
  var poly = SIMD16<Float>(repeating: 1.061_405_429)
  poly = step(poly, -1.453_152_027)
  poly = step(poly, 1.421_413_741)
  poly = step(poly, -0.284_496_736)
  poly = step(poly, 0.254_829_592)
  poly = poly * t
  let erfAbs = one - poly * exp16(-(az * az))
  let erf = unsafeBitCast(unsafeBitCast(erfAbs, to: SIMD16<UInt32>.self) ^ signBit, to: SIMD16<Float>.self)
  return (x * SIMD16(repeating: 0.5)) * (one + erf)
}

/// GELU in place over `count` floats.
public func geluInPlaceAVX512(_ x: UnsafeMutablePointer<Float>, count: Int) {
  var i = 0
  while i &+ 16 <= count {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(x + i).storeBytes(of: gelu16(v), as: SIMD16<Float>.self)
    i &+= 16
  }
  if i < count {
    var tail = SIMD16<Float>()
    for j in 0..<(count &- i) { tail[j] = x[i &+ j] }
    let g = gelu16(tail)
    for j in 0..<(count &- i) { x[i &+ j] = g[j] }
  }
}

@inline(__always)
private func sum16(_ v: SIMD16<Float>) -> Float {
  let h = v.lowHalf + v.highHalf
  let q = h.lowHalf + h.highHalf
  return (q[0] + q[1]) + (q[2] + q[3])
}

/// Row-wise softmax of (scale * x + bias[col]) in place, and each row's entropy -sum p ln p (from the same pass:
/// H = ln S - sum e_i d_i / S with d_i the max-shifted logits and S = sum e_i). Tails past a multiple of 16 go
/// through the same vector code, padded with -inf (so they add e = 0).
public func softmaxRowsAVX512(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, scale: Float,
                              bias: UnsafePointer<Float>?, entropy: UnsafeMutablePointer<Float>?) {
  let n16 = n & ~15, tail = n &- n16
  let scaleV = SIMD16<Float>(repeating: scale)
  @inline(__always) func loadTail(_ p: UnsafePointer<Float>, fill: Float) -> SIMD16<Float> {
    var v = SIMD16<Float>(repeating: fill)
    for j in 0..<tail { v[j] = p[j] }
    return v
  }
  @inline(__always) func storeTail(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    for j in 0..<tail { p[j] = v[j] }
  }
  for r in 0..<rows {
    let row = x + r &* n
    var maxV = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i < n16 {
      var v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) * scaleV
      if let bias { v += UnsafeRawPointer(bias + i).loadUnaligned(as: SIMD16<Float>.self) }
      UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: SIMD16<Float>.self)
      maxV.replace(with: v, where: v .> maxV)
      i &+= 16
    }
    if tail > 0 {
      var v = loadTail(row + n16, fill: 0) * scaleV
      if let bias { v += loadTail(bias + n16, fill: 0) }
      storeTail(v, row + n16)
      for j in 0..<tail where v[j] > maxV[j] { maxV[j] = v[j] }
    }
    let m = SIMD16<Float>(repeating: maxV.max())
    var s0 = SIMD16<Float>(), ed0 = SIMD16<Float>()
    i = 0
    while i < n16 {
      let d = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) - m
      let e = exp16(d)
      UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD16<Float>.self)
      s0 += e
      ed0 = ed0.addingProduct(e, d)
      i &+= 16
    }
    if tail > 0 {
      // Lanes past the row start at -inf - max, so e = 0 there and they add nothing.
      var d = loadTail(row + n16, fill: -.infinity) - m
      d.replace(with: SIMD16(repeating: -100), where: d .< -100)
      let e = exp16(d)
      storeTail(e, row + n16)
      s0 += e
      ed0 = ed0.addingProduct(e, d)
    }
    let sum = sum16(s0), weighted = sum16(ed0)
    let inv = 1 / sum
    entropy?[r] = Swift.max(0, logf(sum) - weighted * inv)  // the clamp only hides rounding on one-hot rows
    let invV = SIMD16<Float>(repeating: inv)
    i = 0
    while i < n16 {
      let p = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) * invV
      UnsafeMutableRawPointer(row + i).storeBytes(of: p, as: SIMD16<Float>.self)
      i &+= 16
    }
    for j in n16..<n { row[j] *= inv }
  }
}
#endif
