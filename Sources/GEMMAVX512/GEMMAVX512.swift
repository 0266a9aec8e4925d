// The GEMM inner loops compiled for AVX-512 (x86-64-v4): a 12 x 32 register tile of twenty-four SIMD16 accumulators.
//
// This module is built with -march=x86-64-v4, so any of its code may use AVX-512 instructions. ViTEngine calls it
// only after checking the CPU (`GEMMKernel.best`), and nothing here is @inlinable, so none of it leaks into callers
// built for x86-64-v3. On other architectures the module is empty.
//
// Shape legend:
//   A:        m x k, row-major, row stride lda, read in place in tiles of 12 rows (tile i = rows 12i ..< 12i+12).
//   B packed: panel p is K x 16 floats, W[p*16 ..< p*16+16, :] transposed (zero past n): ViTEngine's PackedMatrix.
//   out:      m x n, row stride ldc. The first K block stores (bias +) the sum, later blocks add to what is stored.
// Per k: one 64-byte load per panel and twelve broadcasts of A feed twelve FMAs per panel on 16 lanes; pairs of full
// panels run together (12 x 32, 24 accumulators of the 32 zmm registers), a lone panel as 12 x 16, a tail tile of at
// most 6 rows as 6 x 32.

#if arch(x86_64)
/// out[tiles' rows, panels' columns] = A[tiles] * B[panels] (+ bias), over the K blocks of `kBlock`, reading A in place
/// (m x k, row stride lda): no packing pass over A. Full 12-row tiles are read as 12 row streams (one broadcast per row
/// and k); a last tile of fewer rows is copied into a small zero-padded buffer first, so no row past m is read.
/// Measured on DeiT-S (2 threads): packing A into tiles, the portable kernel's way, cost 1.1 ms of a 23.5 ms forward
/// pass and the kernel ran no faster on packed tiles; reading in place made the forward pass 6% faster.
@inline(never)
public func gemmStridedAVX512(a: UnsafePointer<Float>, lda: Int, m: Int, packed: UnsafePointer<Float>, n: Int, k: Int,
                              bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldc: Int,
                              panels: Range<Int>, tiles: Range<Int>, kBlock: Int) {
  let fullTiles = m / 12
  var tail: UnsafeMutablePointer<Float>? = nil
  if tiles.contains(fullTiles) && m % 12 != 0 {
    let rows = m &- fullTiles &* 12
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 12 &* k)
    buffer.initialize(repeating: 0, count: 12 &* k)
    for r in 0..<rows {
      let src = a + (fullTiles &* 12 &+ r) &* lda
      for t in 0..<k { buffer[t &* 12 &+ r] = src[t] }
    }
    tail = buffer
  }
  defer { tail?.deallocate() }
  blockedLoop(m: m, packed: packed, n: n, k: k, bias: bias, out: out, ldc: ldc, panels: panels, tiles: tiles,
              kBlock: kBlock) { i, k0 in
    i < fullTiles ? RowsTile(p: a + (i &* 12 &* lda &+ k0), lda: lda) : RowsTile(packedTail: tail! + k0 &* 12)
  }
}

/// Where the micro-kernels read A: `value(r)` is row r of the tile at the current k, `next()` steps k.
protocol TileOfA {
  func value(_ r: Int) -> Float
  mutating func next()
}

/// Rows of A in place (stride lda, one float per k), or a packed tail tile (stride 1, 12 floats per k).
struct RowsTile: TileOfA {
  var p: UnsafePointer<Float>
  let rowStride: Int, kStride: Int
  init(p: UnsafePointer<Float>, lda: Int) { self.p = p; rowStride = lda; kStride = 1 }
  init(packedTail: UnsafePointer<Float>) { p = packedTail; rowStride = 1; kStride = 12 }
  @inline(__always) func value(_ r: Int) -> Float { p[r &* rowStride] }
  @inline(__always) mutating func next() { p += kStride }
}

/// The blocked loop: K blocks outer, then panels (two at a time where they are full), then row tiles.
@inline(__always)
private func blockedLoop<A: TileOfA>(m: Int, packed: UnsafePointer<Float>, n: Int, k: Int, bias: UnsafePointer<Float>?,
                                     out: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>, tiles: Range<Int>,
                                     kBlock: Int, tileOfA: (_ tile: Int, _ k0: Int) -> A) {
  var k0 = 0
  repeat {
    let kc = Swift.min(kBlock, k &- k0)
    let first = k0 == 0
    var p = panels.lowerBound
    while p < panels.upperBound {
      let panel = packed + (p &* 16 &* k &+ k0 &* 16)
      let j0 = p &* 16
      let width = Swift.min(16, n &- j0)
      let biasTile = first ? biasVector(bias, from: j0, width: width) : SIMD16<Float>()
      if p &+ 1 < panels.upperBound && n &- j0 >= 32 {
        // Two full panels at once: 24 accumulators share each broadcast of A (fewer loads per FMA: 237 vs 203
        // GFLOP/s for the 12 x 16 tile alone, measured on one core).
        let next = panel + 16 &* k
        let biasNext = first ? biasVector(bias, from: j0 &+ 16, width: 16) : SIMD16<Float>()
        for i in tiles {
          let row = i &* 12
          let rows = Swift.min(12, m &- row)
          // A tail tile of at most 6 rows (197 tokens = 16 x 12 + 5) runs the half-height kernel: half the FMAs.
          if rows <= 6 {
            microKernel6x32(a: tileOfA(i, k0), rows: rows, panel0: panel, panel1: next, k: kc,
                            bias0: biasTile, bias1: biasNext, out: out + (row &* ldc &+ j0), ldc: ldc,
                            accumulate: !first)
            continue
          }
          microKernel12x32(a: tileOfA(i, k0), rows: rows, panel0: panel,
                           panel1: next, k: kc, bias0: biasTile, bias1: biasNext, out: out + (row &* ldc &+ j0), ldc: ldc,
                           accumulate: !first)
        }
        p &+= 2
        continue
      }
      for i in tiles {
        let row = i &* 12
        microKernel12x16(a: tileOfA(i, k0), rows: Swift.min(12, m &- row), panel: panel, k: kc,
                         bias: biasTile, out: out + (row &* ldc &+ j0), ldc: ldc, width: width, accumulate: !first)
      }
      p &+= 1
    }
    k0 &+= kc
  } while k0 < k
}

@inline(__always)
private func biasVector(_ bias: UnsafePointer<Float>?, from j0: Int, width: Int) -> SIMD16<Float> {
  guard let bias else { return SIMD16<Float>() }
  if width == 16 { return UnsafeRawPointer(bias + j0).loadUnaligned(as: SIMD16<Float>.self) }
  var v = SIMD16<Float>()
  for j in 0..<width { v[j] = bias[j0 &+ j] }
  return v
}

/// Rows 0..<rows of the 12 x 32 block at `out`: two full 16-column panels.
@inline(__always)
private func microKernel12x32<A: TileOfA>(a: A, rows: Int, panel0: UnsafePointer<Float>,
                              panel1: UnsafePointer<Float>, k: Int, bias0: SIMD16<Float>, bias1: SIMD16<Float>,
                              out: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
  var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
  var c4 = SIMD16<Float>(), c5 = SIMD16<Float>(), c6 = SIMD16<Float>(), c7 = SIMD16<Float>()
  var c8 = SIMD16<Float>(), c9 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
  var d0 = SIMD16<Float>(), d1 = SIMD16<Float>(), d2 = SIMD16<Float>(), d3 = SIMD16<Float>()
  var d4 = SIMD16<Float>(), d5 = SIMD16<Float>(), d6 = SIMD16<Float>(), d7 = SIMD16<Float>()
  var d8 = SIMD16<Float>(), d9 = SIMD16<Float>(), d10 = SIMD16<Float>(), d11 = SIMD16<Float>()
  var pb0 = UnsafeRawPointer(panel0), pb1 = UnsafeRawPointer(panel1)
  var pa = a
  for _ in 0..<k {
    let b0 = pb0.loadUnaligned(as: SIMD16<Float>.self)
    let b1 = pb1.loadUnaligned(as: SIMD16<Float>.self)
    var av = SIMD16<Float>(repeating: pa.value(0)); c0 = c0.addingProduct(av, b0); d0 = d0.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(1)); c1 = c1.addingProduct(av, b0); d1 = d1.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(2)); c2 = c2.addingProduct(av, b0); d2 = d2.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(3)); c3 = c3.addingProduct(av, b0); d3 = d3.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(4)); c4 = c4.addingProduct(av, b0); d4 = d4.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(5)); c5 = c5.addingProduct(av, b0); d5 = d5.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(6)); c6 = c6.addingProduct(av, b0); d6 = d6.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(7)); c7 = c7.addingProduct(av, b0); d7 = d7.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(8)); c8 = c8.addingProduct(av, b0); d8 = d8.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(9)); c9 = c9.addingProduct(av, b0); d9 = d9.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(10)); c10 = c10.addingProduct(av, b0); d10 = d10.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(11)); c11 = c11.addingProduct(av, b0); d11 = d11.addingProduct(av, b1)
    pb0 += 64
    pb1 += 64
    pa.next()
  }
  @inline(__always) func store(_ r: Int, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
    guard r < rows else { return }
    var lo = lo + bias0, hi = hi + bias1
    let o = UnsafeMutableRawPointer(out + r &* ldc)
    if accumulate {
      lo += o.loadUnaligned(as: SIMD16<Float>.self)
      hi += o.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    }
    o.storeBytes(of: lo, as: SIMD16<Float>.self)
    o.storeBytes(of: hi, toByteOffset: 64, as: SIMD16<Float>.self)
  }
  store(0, c0, d0); store(1, c1, d1); store(2, c2, d2); store(3, c3, d3); store(4, c4, d4); store(5, c5, d5)
  store(6, c6, d6); store(7, c7, d7); store(8, c8, d8); store(9, c9, d9); store(10, c10, d10); store(11, c11, d11)
}

/// Rows 0..<rows (at most 6) of a 12-row tile against two full panels: the 12 x 32 kernel's first half.
@inline(__always)
private func microKernel6x32<A: TileOfA>(a: A, rows: Int, panel0: UnsafePointer<Float>,
                             panel1: UnsafePointer<Float>, k: Int, bias0: SIMD16<Float>, bias1: SIMD16<Float>,
                             out: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
  var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
  var c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
  var d0 = SIMD16<Float>(), d1 = SIMD16<Float>(), d2 = SIMD16<Float>(), d3 = SIMD16<Float>()
  var d4 = SIMD16<Float>(), d5 = SIMD16<Float>()
  var pb0 = UnsafeRawPointer(panel0), pb1 = UnsafeRawPointer(panel1)
  var pa = a
  for _ in 0..<k {
    let b0 = pb0.loadUnaligned(as: SIMD16<Float>.self)
    let b1 = pb1.loadUnaligned(as: SIMD16<Float>.self)
    var av = SIMD16<Float>(repeating: pa.value(0)); c0 = c0.addingProduct(av, b0); d0 = d0.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(1)); c1 = c1.addingProduct(av, b0); d1 = d1.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(2)); c2 = c2.addingProduct(av, b0); d2 = d2.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(3)); c3 = c3.addingProduct(av, b0); d3 = d3.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(4)); c4 = c4.addingProduct(av, b0); d4 = d4.addingProduct(av, b1)
    av = SIMD16<Float>(repeating: pa.value(5)); c5 = c5.addingProduct(av, b0); d5 = d5.addingProduct(av, b1)
    pb0 += 64
    pb1 += 64
    pa.next()
  }
  @inline(__always) func store(_ r: Int, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
    guard r < rows else { return }
    var lo = lo + bias0, hi = hi + bias1
    let o = UnsafeMutableRawPointer(out + r &* ldc)
    if accumulate {
      lo += o.loadUnaligned(as: SIMD16<Float>.self)
      hi += o.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    }
    o.storeBytes(of: lo, as: SIMD16<Float>.self)
    o.storeBytes(of: hi, toByteOffset: 64, as: SIMD16<Float>.self)
  }
  store(0, c0, d0); store(1, c1, d1); store(2, c2, d2); store(3, c3, d3); store(4, c4, d4); store(5, c5, d5)
}

@inline(__always)
private func microKernel12x16<A: TileOfA>(a: A, rows: Int, panel: UnsafePointer<Float>, k: Int,
                              bias: SIMD16<Float>, out: UnsafeMutablePointer<Float>, ldc: Int, width: Int,
                              accumulate: Bool) {
  var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
  var c4 = SIMD16<Float>(), c5 = SIMD16<Float>(), c6 = SIMD16<Float>(), c7 = SIMD16<Float>()
  var c8 = SIMD16<Float>(), c9 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
  var pb = UnsafeRawPointer(panel)
  var pa = a
  for _ in 0..<k {
    let b = pb.loadUnaligned(as: SIMD16<Float>.self)
    c0 = c0.addingProduct(SIMD16(repeating: pa.value(0)), b)
    c1 = c1.addingProduct(SIMD16(repeating: pa.value(1)), b)
    c2 = c2.addingProduct(SIMD16(repeating: pa.value(2)), b)
    c3 = c3.addingProduct(SIMD16(repeating: pa.value(3)), b)
    c4 = c4.addingProduct(SIMD16(repeating: pa.value(4)), b)
    c5 = c5.addingProduct(SIMD16(repeating: pa.value(5)), b)
    c6 = c6.addingProduct(SIMD16(repeating: pa.value(6)), b)
    c7 = c7.addingProduct(SIMD16(repeating: pa.value(7)), b)
    c8 = c8.addingProduct(SIMD16(repeating: pa.value(8)), b)
    c9 = c9.addingProduct(SIMD16(repeating: pa.value(9)), b)
    c10 = c10.addingProduct(SIMD16(repeating: pa.value(10)), b)
    c11 = c11.addingProduct(SIMD16(repeating: pa.value(11)), b)
    pb += 64
    pa.next()
  }
  @inline(__always) func store(_ r: Int, _ c: SIMD16<Float>) {
    guard r < rows else { return }
    var v = c + bias
    if width == 16 {
      let o = UnsafeMutableRawPointer(out + r &* ldc)
      if accumulate { v += o.loadUnaligned(as: SIMD16<Float>.self) }
      o.storeBytes(of: v, as: SIMD16<Float>.self)
    } else {
      let o = out + r &* ldc
      for j in 0..<width { o[j] = accumulate ? v[j] + o[j] : v[j] }
    }
  }
  store(0, c0); store(1, c1); store(2, c2); store(3, c3); store(4, c4); store(5, c5)
  store(6, c6); store(7, c7); store(8, c8); store(9, c9); store(10, c10); store(11, c11)
}
#endif
