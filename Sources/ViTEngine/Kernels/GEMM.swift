// Matrix multiply: out[M x N] = a[M x K] * W^T + bias, with W given as PyTorch's Linear weight [N x K].
//
// Shape legend: M = rows of a (tokens), K = reduction (input features), N = output features.
// a is row-major with row stride lda; out is row-major with row stride ldc.
//
// Design (performance.md): W is packed once into 16-column panels, panel p holding W[p*16 ..< p*16+16, :] transposed
// to K x 16 (zero-padded past N). A 6 x 16 register tile of twelve SIMD8 accumulators walks K with one broadcast of a
// per row and two panel loads per k. Attention reuses the same kernel by packing K_h or V_h per call.

/// Weights packed into 16-column panels: panel p is K x 16 floats, contiguous.
public struct PackedMatrix: Sendable {
  public static let panelWidth = 16
  /// Output features N (columns of the product).
  public let n: Int
  /// Reduction length K.
  public let k: Int
  public private(set) var panels: [Float]
  public var panelCount: Int { (n + 15) / 16 }

  /// Packs W [n x k] where W[j][t] = w[j * ldw + t] (a PyTorch Linear weight has ldw = k).
  public init(rowsOf w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int) {
    self.n = n
    self.k = k
    let count = ((n + 15) / 16) * 16 * k
    panels = [Float](repeating: 0, count: count)
    panels.withUnsafeMutableBufferPointer { dst in
      PackedMatrix.pack(rowsOf: w, n: n, k: k, ldw: ldw, into: dst.baseAddress!)
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

  public init(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) {
    precondition(bias == nil || bias!.count == outFeatures, "LinearLayer: bias has \(bias!.count) values, expected \(outFeatures)")
    self.weight = PackedMatrix(weight: weight, n: outFeatures, k: inFeatures)
    self.bias = bias
  }

  /// x: M x inFeatures -> M x outFeatures.
  public func callAsFunction(_ x: Matrix) -> Matrix {
    precondition(x.cols == inFeatures, "LinearLayer: input has \(x.cols) columns, expected \(inFeatures)")
    var out = Matrix(rows: x.rows, cols: outFeatures)
    x.data.withUnsafeBufferPointer { xp in
      out.data.withUnsafeMutableBufferPointer { op in
        apply(xp.baseAddress!, rows: x.rows, lda: inFeatures, out: op.baseAddress!, ldc: outFeatures)
      }
    }
    return out
  }

  public func apply(_ a: UnsafePointer<Float>, rows: Int, lda: Int, out: UnsafeMutablePointer<Float>, ldc: Int) {
    weight.panels.withUnsafeBufferPointer { panels in
      if let bias {
        bias.withUnsafeBufferPointer { b in
          gemm(a: a, lda: lda, m: rows, packed: panels.baseAddress!, n: outFeatures, k: inFeatures,
               bias: b.baseAddress, out: out, ldc: ldc)
        }
      } else {
        gemm(a: a, lda: lda, m: rows, packed: panels.baseAddress!, n: outFeatures, k: inFeatures, bias: nil, out: out, ldc: ldc)
      }
    }
  }
}

/// out[m x n] = a[m x k] * packed + bias. `packed` is laid out as PackedMatrix.panels.
public func gemm(a: UnsafePointer<Float>, lda: Int, m: Int, packed: UnsafePointer<Float>, n: Int, k: Int,
                 bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, ldc: Int,
                 panelRange: Range<Int>? = nil) {
  let panels = panelRange ?? 0..<((n + 15) / 16)
  for p in panels {
    let panel = packed + p &* 16 &* k
    let j0 = p &* 16
    let width = Swift.min(16, n - j0)
    var biasTile = (SIMD8<Float>(), SIMD8<Float>())
    if let bias {
      for j in 0..<width { if j < 8 { biasTile.0[j] = bias[j0 &+ j] } else { biasTile.1[j - 8] = bias[j0 &+ j] } }
    }
    var row = 0
    while row < m {
      let rows = Swift.min(6, m - row)
      microKernel6x16(a: a + row &* lda, lda: lda, rows: rows, panel: panel, k: k, bias: biasTile,
                      out: out + row &* ldc + j0, ldc: ldc, width: width)
      row &+= 6
    }
  }
}

@inline(__always)
private func microKernel6x16(a: UnsafePointer<Float>, lda: Int, rows: Int, panel: UnsafePointer<Float>, k: Int,
                             bias: (SIMD8<Float>, SIMD8<Float>), out: UnsafeMutablePointer<Float>, ldc: Int, width: Int) {
  // Rows past `rows` alias row 0: computed, never stored. Keeps one code path for the edge tile.
  let a0 = a
  let a1 = rows > 1 ? a + lda : a
  let a2 = rows > 2 ? a + 2 &* lda : a
  let a3 = rows > 3 ? a + 3 &* lda : a
  let a4 = rows > 4 ? a + 4 &* lda : a
  let a5 = rows > 5 ? a + 5 &* lda : a
  var c00 = bias.0, c01 = bias.1, c10 = bias.0, c11 = bias.1, c20 = bias.0, c21 = bias.1
  var c30 = bias.0, c31 = bias.1, c40 = bias.0, c41 = bias.1, c50 = bias.0, c51 = bias.1
  var pb = UnsafeRawPointer(panel)
  for t in 0..<k {
    let b0 = pb.loadUnaligned(as: SIMD8<Float>.self)
    let b1 = pb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
    var av = SIMD8<Float>(repeating: a0[t]); c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: a1[t]); c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: a2[t]); c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: a3[t]); c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: a4[t]); c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
    av = SIMD8<Float>(repeating: a5[t]); c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
    pb += 64
  }
  @inline(__always) func store(_ r: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
    guard r < rows else { return }
    if width == 16 {
      let o = UnsafeMutableRawPointer(out + r &* ldc)
      o.storeBytes(of: lo, as: SIMD8<Float>.self)
      o.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
    } else {
      let o = out + r &* ldc
      for j in 0..<width { o[j] = j < 8 ? lo[j] : hi[j &- 8] }
    }
  }
  store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
  store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
}

/// The naive oracle: out[i][j] = bias[j] + sum_t a[i][t] * w[j][t], accumulated in Double. Tests compare against it.
public func linearReference(_ x: Matrix, weight: [Float], bias: [Float]?, outFeatures: Int) -> Matrix {
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
