// Matrix multiply: out[M x N] = a[M x K] * W^T + bias, with W given as PyTorch's Linear weight [N x K].
//
// Shape legend: M = rows of a (tokens), K = reduction (input features), N = output features.
// a is row-major with row stride lda; out is row-major with row stride ldc.
//
// Design (the measurements are in ViTEngine.docc/Engine.md): W is packed once into 16-column panels, panel p holding
// W[p*16 ..< p*16+16, :] transposed to K x 16 (zero-padded past N). The portable micro-kernel is a 6 x 16 register tile
// of twelve SIMD8 accumulators (AVX2+FMA, NEON) and reads A packed per call into 6-row tiles (in place when only one
// or two panels would read them); on CPUs with AVX-512 a 12 x 32 tile of SIMD16 accumulators from the GEMMAVX512
// module runs instead and reads A in place (`GEMMKernel`).
// Each walks a K block with one broadcast of A per row and one or two panel loads per k. Attention reuses the same
// kernels by packing K_h or V_h per call. `parallelGemm` splits panels, in pairs (and rows when panels are few), over
// the pool.
#if arch(x86_64)
import GEMMAVX512
#endif

/// Weights packed into 16-column panels: panel p is K x 16 floats, contiguous.
public struct PackedMatrix: Sendable {
  public static let panelWidth = 16
  /// Output features N (columns of the product).
  public let n: Int
  /// Reduction length K.
  public let k: Int
  public private(set) var panels: [Float]

  /// Packs W [n x k] where W[j][t] = w[j * ldw + t] (a PyTorch Linear weight has ldw = k).
  public init(rowsOf w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int) {
    self.n = n
    self.k = k
    // Not zero-filled first: `pack` writes every float (a last, narrower panel is zeroed there).
    panels = [Float](unsafeUninitializedCapacity: PackedMatrix.panelFloats(n: n, k: k)) { dst, count in
      if !dst.isEmpty { PackedMatrix.pack(rowsOf: w, n: n, k: k, ldw: ldw, into: dst.baseAddress!) }
      count = dst.count
    }
  }

  /// Packs W = V^T where V is [k x n] with V[t][j] = v[t * ldv + j] (A·V in attention: K = tokens, N = head width).
  public init(columnsOf v: UnsafePointer<Float>, k: Int, n: Int, ldv: Int) {
    self.n = n
    self.k = k
    panels = [Float](repeating: 0, count: ((n + 15) / 16) * 16 * k)
    panels.withUnsafeMutableBufferPointer { dst in
      PackedMatrix.pack(columnsOf: v, k: k, n: n, ldv: ldv, into: dst.baseAddress!)
    }
  }

  public init(weight: [Float], n: Int, k: Int) {
    precondition(weight.count == n * k, "PackedMatrix: weight has \(weight.count) values, expected \(n)x\(k)")
    self = weight.withUnsafeBufferPointer { PackedMatrix(rowsOf: $0.baseAddress!, n: n, k: k, ldw: k) }
  }

  /// Scratch-free variants for per-call packing into a caller-owned buffer of `panelFloats(n:k:)` floats.
  public static func panelFloats(n: Int, k: Int) -> Int { ((n + 15) / 16) * 16 * k }

  public static func pack(rowsOf w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int, into dst: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16
    for p in 0..<panels {
      let panel = dst + p &* 16 &* k
      let j0 = p &* 16
      let width = Swift.min(16, n - j0)
      if width < 16 { panel.initialize(repeating: 0, count: 16 &* k) }
      for j in 0..<width {
        let src = w + (j0 &+ j) &* ldw
        for t in 0..<k { panel[t &* 16 &+ j] = src[t] }
      }
    }
  }

  public static func pack(columnsOf v: UnsafePointer<Float>, k: Int, n: Int, ldv: Int, into dst: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16
    for p in 0..<panels {
      let panel = dst + p &* 16 &* k
      let j0 = p &* 16
      let width = Swift.min(16, n - j0)
      if width < 16 { panel.initialize(repeating: 0, count: 16 &* k) }
      for t in 0..<k {
        (panel + t &* 16).update(from: v + t &* ldv + j0, count: width)
      }
    }
  }
}

/// A Linear layer: y = x W^T + b with W packed at load.
public struct LinearLayer: Sendable {
  public let weight: PackedMatrix
  public let bias: [Float]?
  public var inFeatures: Int { weight.k }
  public var outFeatures: Int { weight.n }

  /// A layer from weights already packed (the loader packs them straight from the checkpoint's mapping).
  public init(packed weight: PackedMatrix, bias: [Float]?) {
    precondition(bias == nil || bias!.count == weight.n, "LinearLayer: bias has \(bias!.count) values, expected \(weight.n)")
    self.weight = weight
    self.bias = bias
  }

  public init(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) {
    precondition(bias == nil || bias!.count == outFeatures, "LinearLayer: bias has \(bias!.count) values, expected \(outFeatures)")
    self.weight = PackedMatrix(weight: weight, n: outFeatures, k: inFeatures)
    self.bias = bias
  }

  /// x: M x inFeatures -> M x outFeatures.
  public func callAsFunction(_ x: Matrix) -> Matrix {
    precondition(x.cols == inFeatures, "LinearLayer: input has \(x.cols) columns, expected \(inFeatures)")
    var out = Matrix(uninitializedRows: x.rows, cols: outFeatures)
    x.data.withUnsafeBufferPointer { xp in
      out.data.withUnsafeMutableBufferPointer { op in
        apply(xp.baseAddress!, rows: x.rows, lda: inFeatures, out: op.baseAddress!, ldc: outFeatures)
      }
    }
    return out
  }

  /// x: M x inFeatures -> gelu(x Wᵀ + b), the GELU fused into the GEMM's store (fc1: saves a pass over M x 4C).
  public func callAsFunction(_ x: Matrix, epilogue: GEMMEpilogue) -> Matrix {
    precondition(x.cols == inFeatures, "LinearLayer: input has \(x.cols) columns, expected \(inFeatures)")
    var out = Matrix(uninitializedRows: x.rows, cols: outFeatures)
    x.data.withUnsafeBufferPointer { xp in
      out.data.withUnsafeMutableBufferPointer { op in
        apply(xp.baseAddress!, rows: x.rows, lda: inFeatures, out: op.baseAddress!, ldc: outFeatures, epilogue: epilogue)
      }
    }
    return out
  }

  /// Multi-threaded over the engine's pool (see `parallelGemm`).
  public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, out: UnsafeMutablePointer<Float>, ldc: Int,
                    epilogue: GEMMEpilogue = .none, pool: ThreadPool? = nil, kernel: GEMMKernel = .best) {
    let pool = pool ?? ThreadPool.shared
    weight.panels.withUnsafeBufferPointer { panels in
      if let bias {
        bias.withUnsafeBufferPointer { b in
          parallelGemm(a: a, lda: lda, m: rows, packed: panels.baseAddress!, n: outFeatures, k: inFeatures,
                       bias: b.baseAddress, out: out, ldc: ldc, epilogue: epilogue, pool: pool, kernel: kernel)
        }
      } else {
        parallelGemm(a: a, lda: lda, m: rows, packed: panels.baseAddress!, n: outFeatures, k: inFeatures, bias: nil,
                     out: out, ldc: ldc, epilogue: epilogue, pool: pool, kernel: kernel)
      }
    }
  }
}

extension LinearLayer {
  /// x: M x inFeatures -> M x columns.count: only the output features in `columns` (ClusTR projects queries for every
  /// token but keys and values for cluster means only). Panels are 16 features wide, so a range starting on a panel
  /// boundary is read straight from the packed weight; any other range computes every feature and copies its slice.
  public func callAsFunction(_ x: Matrix, columns: Range<Int>) -> Matrix {
    precondition(x.cols == inFeatures, "LinearLayer: input has \(x.cols) columns, expected \(inFeatures)")
    precondition(columns.lowerBound >= 0 && columns.upperBound <= outFeatures, "LinearLayer: columns \(columns) of \(outFeatures)")
    let width = columns.count
    var out = Matrix(rows: x.rows, cols: width)
    guard columns.lowerBound % PackedMatrix.panelWidth == 0 else {
      let full = self(x)
      for r in 0..<x.rows {
        out.data.replaceSubrange((r * width)..<((r + 1) * width),
                                 with: full.data[(r * outFeatures + columns.lowerBound)..<(r * outFeatures + columns.upperBound)])
      }
      return out
    }
    let panelOffset = columns.lowerBound * inFeatures  // whole panels of 16 x K floats
    x.data.withUnsafeBufferPointer { xp in
      out.data.withUnsafeMutableBufferPointer { op in
        weight.panels.withUnsafeBufferPointer { panels in
          (bias ?? []).withUnsafeBufferPointer { b in
            parallelGemm(a: xp.baseAddress!, lda: inFeatures, m: x.rows, packed: panels.baseAddress! + panelOffset,
                         n: width, k: inFeatures, bias: bias == nil ? nil : b.baseAddress! + columns.lowerBound,
                         out: op.baseAddress!, ldc: width, pool: ThreadPool.shared)
          }
        }
      }
    }
    return out
  }
}

/// What the GEMM applies to each output value as it stores it.
public enum GEMMEpilogue: Sendable {
  case none
  /// Exact (erf) GELU, as `geluInPlace`.
  case gelu
}

/// `gemm` split over the pool: tasks are (column-panel range) x (row range) tiles; each thread writes disjoint tiles of
/// `out`. Panels are split first (each task's panels stay in its core's L1/L2 while its A rows stream), rows only when
/// there are too few panels to feed every thread (narrow outputs such as attention's P·V, or few rows).
public func parallelGemm(a: UnsafePointer<Float>, lda: Int, m: Int, packed: UnsafePointer<Float>, n: Int, k: Int,
                         bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldc: Int,
                         epilogue: GEMMEpilogue = .none, pool: ThreadPool, kernel: GEMMKernel = .best) {
  ExecutedMACs.add(m &* n &* k)
  let panels = (n + 15) / 16
  let threads = pool.threadCount
  // Below about 2 MFLOP a job costs more to hand out than it saves.
  if threads == 1 || m &* n &* k < 1 << 20 || m == 0 {
    gemm(a: a, lda: lda, m: m, packed: packed, n: n, k: k, bias: bias, out: out, ldc: ldc, epilogue: epilogue,
         kernel: kernel)
    return
  }
  let wanted = threads &* 4
  // Panels are handed out in pairs: the AVX-512 kernel runs two panels at once (12 x 32) and a lone panel at 15%
  // less; an odd share per task (fc2's 24 panels in 8 chunks of 3) ran a third of its panels alone.
  // Equal chunks, a multiple of the thread count, balance best: fc2's 12 pairs go in 6 chunks of 2, not 8 of 1 or 2.
  let pairs = (panels + 1) / 2
  let panelChunks = balancedChunkCount(pairs, near: wanted, multipleOf: threads)
  let tileRows = kernel.tileRows
  let rowTiles = (m + tileRows - 1) / tileRows
  let rowChunks = Swift.max(1, Swift.min(rowTiles, (wanted + panelChunks - 1) / panelChunks))
  // The portable kernel reads A packed in 6-row tiles (when `packsA`): packed once for all tasks (in parallel by row
  // tiles), not once per task. The AVX-512 kernel reads A in place.
  let buffer = packsA(kernel: kernel, panels: panels)
    ? UnsafeMutablePointer<Float>.allocate(capacity: packedAFloats(m: m, k: k, tileRows: tileRows)) : nil
  defer { buffer?.deallocate() }
  let ap = SendablePointer(UnsafeMutablePointer(mutating: a)), bp = SendablePointer(UnsafeMutablePointer(mutating: packed))
  let op = SendablePointer(out), pa = buffer.map { SendablePointer($0) }
  let biasP = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
  if let pa {
    pool.parallelRanges(rowTiles, minChunk: 4, chunksPerThread: 2) { tiles in
      packA(ap.p, lda: lda, m: m, k: k, tileRows: tileRows, tiles: tiles, into: pa.p)
    }
  }
  pool.parallelFor(panelChunks &* rowChunks) { task in
    let pc = task / rowChunks, rc = task % rowChunks
    let p0 = 2 &* (pairs &* pc / panelChunks), p1 = Swift.min(panels, 2 &* (pairs &* (pc &+ 1) / panelChunks))
    let t0 = rowTiles &* rc / rowChunks, t1 = rowTiles &* (rc &+ 1) / rowChunks
    guard p0 < p1, t0 < t1 else { return }
    gemmTiles(a: ap.p, lda: lda, aPacked: pa.map { UnsafePointer($0.p) }, m: m, packed: bp.p, n: n, k: k,
              bias: biasP.map { UnsafePointer($0.p) }, out: op.p, ldc: ldc, panels: p0..<p1, tiles: t0..<t1,
              epilogue: epilogue, kernel: kernel)
  }
}

/// The divisor of `units` that is a multiple of `threads` and at least `target` (the smallest such), so every chunk
/// gets the same work and every thread the same number of chunks; `min(units, target)` when there is none.
func balancedChunkCount(_ units: Int, near target: Int, multipleOf threads: Int) -> Int {
  var c = threads
  while c <= units {
    if units % c == 0, c >= target { return c }
    c += threads
  }
  return Swift.min(units, target)
}

// MARK: The kernel
//
// Shape legend for the portable kernel: A is m x k (row stride lda), packed into 6-row tiles: tile i holds rows
// 6i..<6i+6 as k x 6 floats (row r of step t at [t * 6 + r], zero past m), so the inner loop reads one contiguous
// stream of A and one of B. B is the K x 16 panel of PackedMatrix. K is split into blocks of `kBlock` so a panel's
// block (kBlock x 16 floats, 24 KiB) stays in L1 while the tiles of A stream through it from L2 (fc2 has K = 1536: a
// whole panel is 96 KiB). The first K block stores bias + sum, later ones add to what is there; GELU is applied by
// the last. A product with one or two panels (attention's P·V of a small head) skips the packing: the kernel then
// reads six rows of A in place (`packsA`). (The AVX-512 kernel always reads A in place: GEMMAVX512.swift.)

/// K block length (floats of one panel row-block: 384 x 16 x 4 B = 24 KiB, under the 32 KiB L1d).
let kBlock = 384
/// K block of the AVX-512 kernel. Measured on DeiT-S (AMD EPYC with AVX-512, 48 KiB L1d, 1 MiB L2, 2 threads): not
/// splitting K up to 1536 (fc2's K) beat L1-sized blocks, median 28.1 ms against 29.4 ms for 256 and 30.4 ms for 128.
/// The pair of panels then streams from L2, which keeps up, and C is stored once instead of read and written per block.
let kBlockAVX512 = 1536

/// Floats needed to pack m rows of K in tiles of `tileRows`.
@inline(__always)
func packedAFloats(m: Int, k: Int, tileRows: Int) -> Int { ((m + tileRows - 1) / tileRows) &* tileRows &* k }

/// Whether a product packs A into row tiles first. The portable kernel reads packed tiles, but packing pays only when
/// many panels reuse A: for attention's P·V of a small head (N = 16 or 32: one or two panels) the copy of P cost more
/// than the product (bundled model: 4 heads of 16, a 197 x 197 P per head), so there the kernel reads A's rows in place.
@inline(__always)
func packsA(kernel: GEMMKernel, panels: Int) -> Bool { kernel.readsPackedA && panels > 2 }

/// Packs rows of the row tiles `tiles` of A (m x k, stride lda) into `dst` (tile-major, see the legend).
func packA(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, tileRows: Int, tiles: Range<Int>,
           into dst: UnsafeMutablePointer<Float>) {
  for i in tiles {
    let tile = dst + i &* tileRows &* k
    let r0 = i &* tileRows
    let rows = Swift.min(tileRows, m &- r0)
    if rows < tileRows {
      tile.initialize(repeating: 0, count: tileRows &* k)
    }
    for r in 0..<rows {
      let src = a + (r0 &+ r) &* lda
      var t = 0
      while t < k { tile[t &* tileRows &+ r] = src[t]; t &+= 1 }
    }
  }
}

/// out[m x n] = a[m x k] * packed + bias. `packed` is laid out as PackedMatrix.panels. Single-threaded; packs A itself
/// when the kernel reads packed tiles.
public func gemm(a: UnsafePointer<Float>, lda: Int, m: Int, packed: UnsafePointer<Float>, n: Int, k: Int,
                 bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldc: Int,
                 panelRange: Range<Int>? = nil, epilogue: GEMMEpilogue = .none, kernel: GEMMKernel = .best) {
  guard m > 0 else { return }
  let tileRows = kernel.tileRows, tiles = 0..<((m + tileRows - 1) / tileRows)
  var buffer: UnsafeMutablePointer<Float>? = nil
  if packsA(kernel: kernel, panels: (panelRange ?? 0..<((n + 15) / 16)).count) {
    buffer = UnsafeMutablePointer<Float>.allocate(capacity: packedAFloats(m: m, k: k, tileRows: tileRows))
    packA(a, lda: lda, m: m, k: k, tileRows: tileRows, tiles: tiles, into: buffer!)
  }
  defer { buffer?.deallocate() }
  gemmTiles(a: a, lda: lda, aPacked: buffer.map { UnsafePointer($0) }, m: m, packed: packed, n: n, k: k, bias: bias,
            out: out, ldc: ldc, panels: panelRange ?? 0..<((n + 15) / 16), tiles: tiles, epilogue: epilogue,
            kernel: kernel)
}

/// The product over `panels` x `tiles`: the AVX-512 kernel reads `a` in place, the portable one reads `aPacked`.
/// The portable kernel's blocked loop: K blocks outer, then panels, then row tiles.
/// Never inlined: inlined into a caller's closure the twelve accumulators plus two B vectors and the A broadcast no
/// longer fit the 16 ymm registers, one accumulator spilled inside the k loop and the GEMM ran at 35 GFLOP/s, not 123.
@inline(never)
func gemmTiles(a: UnsafePointer<Float>, lda: Int, aPacked: UnsafePointer<Float>?, m: Int, packed: UnsafePointer<Float>,
               n: Int, k: Int, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldc: Int,
               panels: Range<Int>, tiles: Range<Int>, epilogue: GEMMEpilogue, kernel: GEMMKernel) {
  #if arch(x86_64)
  if kernel == .avx512 {
    gemmStridedAVX512(a: a, lda: lda, m: m, packed: packed, n: n, k: k, bias: bias, out: out, ldc: ldc,
                      panels: panels, tiles: tiles, kBlock: kBlockAVX512)
    // GELU as a second pass over this call's block of the output, still in L1/L2. Applying it to each SIMD16 inside
    // the kernel's store was slower (fc1+gelu 7.9 against 7.0 ms per DeiT-S forward): the erf's division and exp
    // there stall the store of the tile.
    if epilogue == .gelu, !panels.isEmpty, !tiles.isEmpty {
      let c0 = panels.lowerBound &* 16, c1 = Swift.min(n, panels.upperBound &* 16)
      let r0 = tiles.lowerBound &* kernel.tileRows, r1 = Swift.min(m, tiles.upperBound &* kernel.tileRows)
      for r in r0..<r1 where c0 < c1 { geluInPlace(out + (r &* ldc &+ c0), count: c1 &- c0, kernel: .avx512) }
    }
    return
  }
  #endif
  let gelu = epilogue == .gelu
  // Reading A in place, a last tile of fewer than 6 rows is copied into a zero-padded tile (the kernel reads 6 rows).
  let lastRows = m % 6
  let partial = aPacked == nil && lastRows != 0 && tiles.contains(m / 6)
  let partialTile = partial ? UnsafeMutablePointer<Float>.allocate(capacity: 6 &* Swift.min(kBlock, k)) : nil
  defer { partialTile?.deallocate() }
  var k0 = 0
  repeat {
    let kc = Swift.min(kBlock, k &- k0)
    if let partialTile {  // once per K block, for every panel
      partialTile.initialize(repeating: 0, count: 6 &* kc)
      for r in 0..<lastRows { (partialTile + r &* kc).update(from: a + ((m &- lastRows &+ r) &* lda &+ k0), count: kc) }
    }
    let first = k0 == 0, last = k0 &+ kc >= k
    for p in panels {
      let panel = packed + (p &* 16 &* k &+ k0 &* 16)
      let j0 = p &* 16
      let width = Swift.min(16, n &- j0)
      // The bias is added at the store, not used as the accumulators' start: building the start tile lane by lane
      // made the compiler keep the tile on the stack and reload it inside the k loop (42 vs 125 GFLOP/s).
      var biasLo = SIMD8<Float>(), biasHi = SIMD8<Float>()
      if first, let bias {
        if width == 16 {
          biasLo = UnsafeRawPointer(bias + j0).loadUnaligned(as: SIMD8<Float>.self)
          biasHi = UnsafeRawPointer(bias + (j0 &+ 8)).loadUnaligned(as: SIMD8<Float>.self)
        } else {
          var tmp = [Float](repeating: 0, count: 16)
          for j in 0..<width { tmp[j] = bias[j0 &+ j] }
          biasLo = SIMD8(tmp[0..<8]); biasHi = SIMD8(tmp[8..<16])
        }
      }
      let hasBias = first && bias != nil
      for i in tiles {
        let row = i &* 6, rows = Swift.min(6, m &- row)
        let c = out + (row &* ldc &+ j0)
        if let aPacked {
          microKernel6x16Packed(a: aPacked + (i &* 6 &* k &+ k0 &* 6), rows: rows, panel: panel, k: kc, biasLo: biasLo,
                                biasHi: biasHi, hasBias: hasBias, out: c, ldc: ldc, width: width, accumulate: !first,
                                gelu: gelu && last)
        } else if rows == 6 {
          microKernel6x16Rows(a: a + (row &* lda &+ k0), lda: lda, panel: panel, k: kc, biasLo: biasLo, biasHi: biasHi,
                              hasBias: hasBias, out: c, ldc: ldc, width: width, accumulate: !first, gelu: gelu && last)
        } else {
          microKernel6x16Rows(a: partialTile!, lda: kc, panel: panel, k: kc, biasLo: biasLo, biasHi: biasHi,
                              hasBias: hasBias, out: c, ldc: ldc, width: width, accumulate: !first, gelu: gelu && last,
                              rows: rows)
        }
      }
    }
    k0 &+= kc
  } while k0 < k
}

/// The kernel on a packed tile: element (r, t) of A at a[t * 6 + r].
@inline(never)
private func microKernel6x16Packed(a: UnsafePointer<Float>, rows: Int, panel: UnsafePointer<Float>, k: Int,
                                   biasLo: SIMD8<Float>, biasHi: SIMD8<Float>, hasBias: Bool,
                                   out: UnsafeMutablePointer<Float>, ldc: Int, width: Int, accumulate: Bool, gelu: Bool) {
  microKernel6x16(a: a, rowStride: 1, step: 6, rows: rows, panel: panel, k: k, biasLo: biasLo, biasHi: biasHi,
                  hasBias: hasBias, out: out, ldc: ldc, width: width, accumulate: accumulate, gelu: gelu)
}

/// The kernel on six rows of A read in place: element (r, t) at a[r * lda + t].
@inline(never)
private func microKernel6x16Rows(a: UnsafePointer<Float>, lda: Int, panel: UnsafePointer<Float>, k: Int,
                                 biasLo: SIMD8<Float>, biasHi: SIMD8<Float>, hasBias: Bool,
                                 out: UnsafeMutablePointer<Float>, ldc: Int, width: Int, accumulate: Bool, gelu: Bool,
                                 rows: Int = 6) {
  microKernel6x16(a: a, rowStride: lda, step: 1, rows: rows, panel: panel, k: k, biasLo: biasLo, biasHi: biasHi,
                  hasBias: hasBias, out: out, ldc: ldc, width: width, accumulate: accumulate, gelu: gelu)
}

/// Shape legend: C[6 x 16] (= or +=) A[6 x k] · panel[k x 16], A's element (r, t) at a[r * rowStride + t * step];
/// rows of C past `rows` and columns past `width` are not stored.
@inline(__always)
private func microKernel6x16(a: UnsafePointer<Float>, rowStride: Int, step: Int, rows: Int, panel: UnsafePointer<Float>,
                             k: Int, biasLo: SIMD8<Float>, biasHi: SIMD8<Float>, hasBias: Bool,
                             out: UnsafeMutablePointer<Float>, ldc: Int, width: Int, accumulate: Bool, gelu: Bool) {
  var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
  var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
  var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
  var pb = UnsafeRawPointer(panel)
  var pa = a
  for _ in 0..<k {
    let b0 = pb.loadUnaligned(as: SIMD8<Float>.self)
    let b1 = pb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
    var av = SIMD8<Float>(repeating: pa[0]); c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: pa[rowStride]); c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: pa[2 &* rowStride]); c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: pa[3 &* rowStride]); c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: pa[4 &* rowStride]); c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: pa[5 &* rowStride]); c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
    pb += 64
    pa += step
  }
  @inline(__always) func store(_ r: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
    guard r < rows else { return }
    var lo = lo, hi = hi
    if hasBias { lo += biasLo; hi += biasHi }
    if width == 16 {
      let o = UnsafeMutableRawPointer(out + r &* ldc)
      if accumulate {
        lo += o.loadUnaligned(as: SIMD8<Float>.self)
        hi += o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
      }
      if gelu { lo = simdGELU(lo); hi = simdGELU(hi) }
      o.storeBytes(of: lo, as: SIMD8<Float>.self)
      o.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
    } else {
      let o = out + r &* ldc
      if accumulate {
        for j in 0..<width { if j < 8 { lo[j] += o[j] } else { hi[j &- 8] += o[j] } }
      }
      if gelu { lo = simdGELU(lo); hi = simdGELU(hi) }
      for j in 0..<width { o[j] = j < 8 ? lo[j] : hi[j &- 8] }
    }
  }
  if rows == 6, width == 16, !gelu {
    // The common tile stored in line: the compiler leaves `store` (GELU inlined) an out-of-line call for most rows,
    // and each call spills the twelve accumulators, which at attention's k = 16 cost as much as the products. (One
    // `store` for every tile with only GELU out of line was tried: fc1's twelve calls per tile made it 40% slower.)
    @inline(__always) func storeFull(_ r: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
      var lo = lo, hi = hi
      if hasBias { lo += biasLo; hi += biasHi }
      let o = UnsafeMutableRawPointer(out + r &* ldc)
      if accumulate {
        lo += o.loadUnaligned(as: SIMD8<Float>.self)
        hi += o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
      }
      o.storeBytes(of: lo, as: SIMD8<Float>.self)
      o.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
    }
    storeFull(0, c00, c01); storeFull(1, c10, c11); storeFull(2, c20, c21)
    storeFull(3, c30, c31); storeFull(4, c40, c41); storeFull(5, c50, c51)
    return
  }
  store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
  store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
}
