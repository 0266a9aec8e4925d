// ClusTR: Exploring Efficient Self-attention via Clustering for Vision Transformers (Xie et al., arXiv 2208.13138).
// ClusTR is a backbone trained from scratch and its code is not public: this is a training-free emulation on an
// unmodified ViT [recon], single-scale (the paper's multi-scale backbone needs training). In each chosen block the patch tokens of norm1's output are
// clustered with DPC-kNN (pinned to TCFormer's cluster_dpc_knn); every token still queries, but keys and values come
// from the cluster means (prefix tokens stay singleton clusters), with log(cluster size) added to the logits so that a
// cluster of identical tokens attends exactly like its members. The token sequence itself never changes.
import ViTEngine

/// ClusTR's typed configuration (also the policy: it needs nothing of the model).
public struct ClusTR: MethodConfiguration, TokenPolicy, Hashable {
  public var clusters: Int
  public var neighbours: Int
  /// nil: every block.
  public var layers: Set<Int>?

  public init(clusters: Int, neighbours: Int, layers: [Int]?) {
    self.clusters = clusters; self.neighbours = neighbours; self.layers = layers.map(Set.init)
  }

  public static let descriptor = MethodDescriptor(
    name: "clustr",
    summary: "ClusTR clustered attention [recon]: keys and values from DPC-kNN clusters of the patches; every token still queries",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("clusters", .integer(1...1_000_000), default: "49", "key/value clusters per block (M); M >= patches means plain attention"),
      MethodParameter("k", .integer(1...1_000_000), default: "5", "DPC-kNN neighbours for the local density (TCFormer's default)"),
      MethodParameter("layers", .blocks(allowsAll: true), default: "all", "clustered blocks, 0-based, or all",
                      recon: "the paper's backbone clusters in every block"),
    ],
    reconNotes: [
      rotaryGroupNote,
      "emulation: ClusTR is a backbone trained from scratch and its code is not public; here an unmodified ViT attends over DPC-kNN cluster means, with log(cluster size) on the logits",
      "single-scale: the paper's multi-scale clustering needs training and is left out",
      "DPC-kNN is made deterministic: no random noise on the density, ties go to the lower index",
    ],
    sweep: SweepAxis(key: "clusters", values: ["147", "98", "49", "25", "12"]), step: .alongSweep,
    presets: ["clustr"]
  ) { v throws(MethodSpecError) in
    ClusTR(clusters: v.integer("clusters"), neighbours: v.integer("k"), layers: v.blocks("layers"))
  }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(self) }

  /// Blocks before the first clustered one are the baseline's (none with layers=all).
  public var leadingBaselineBlocks: Int { layers.map { $0.min() ?? Int.max } ?? 0 }

  /// Whether `block` entered by `patches` patches is clustered (with as many clusters as patches every patch is its
  /// own cluster: plain attention).
  func isClustered(block: Int, patches: Int) -> Bool {
    (layers?.contains(block) ?? true) && clusters < patches && clusters >= 1
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let keys = isClustered(block: block, patches: n - shape.prefix) ? shape.prefix + clusters : n
    return BlockTokenCounts(tokensIn: n, queries: n, keys: keys, mlpTokens: n, tokensOut: n)
  }

  /// The distance matrix, patches² x C multiply-adds.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    let patches = counts.tokensIn - shape.prefix
    return counts.keys < counts.queries ? patches * patches * shape.embed : 0
  }

  public func keyValues(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups? {
    let prefix = state.prefixCount, n = state.tokenCount - prefix, c = normalized.cols
    guard isClustered(block: block, patches: n) else { return nil }
    let assignment = normalized.data.withUnsafeBufferPointer {
      DPCKNN.cluster($0.baseAddress! + prefix * c, count: n, width: c, clusters: clusters, neighbours: neighbours)
    }
    let groups = (0..<prefix).map { Int32($0) } + assignment.map { Int32(prefix + $0) }
    return KeyValueGroups(
      groupOfToken: groups, groupCount: prefix + clusters,
      event: "keys and values from \(clusters) DPC-kNN clusters of \(n) patches (k=\(min(neighbours, n))); all \(prefix + n) tokens query")
  }
}

/// Density-peaks clustering with k nearest neighbours, as TCFormer's `cluster_dpc_knn` (zengwang430521/TCFormer
/// @1ea72a87), made deterministic [recon]: no random noise on the density, and ties go to the lower index.
public enum DPCKNN {
  /// Clusters `count` rows of `width` floats (row-major at `x`) into `clusters` clusters; returns each row's cluster,
  /// numbered by the centres' rank (highest density x distance first).
  ///
  /// Shape legend: X is n x C; D is n x n, D_ij = ||x_i - x_j|| / sqrt(C).
  ///  1. density ρ_i = exp(-mean of the k smallest D_ij² over j, the row's own 0 included);
  ///  2. δ_i = min of D_ij over the j with ρ_j > ρ_i, or max(D) for the densest;
  ///  3. the centres are the `clusters` highest ρ·δ;
  ///  4. every row joins its nearest centre, and each centre its own cluster.
  ///
  /// Cost: the distance matrix is n²C/2 multiply-adds (as many as the attention it saves on a small grid), so it runs
  /// in 2 x 4 register tiles of row pairs on the thread pool, and the density, parent search and assignment are
  /// split over rows too; every distance is still computed by the same arithmetic in the same order (see
  /// `distanceMatrix`), so the clusters are the reference's, token for token.
  public static func cluster(_ x: UnsafePointer<Float>, count n: Int, width c: Int, clusters m: Int, neighbours k: Int,
                             pool: ThreadPool = .shared) -> [Int] {
    precondition(m >= 1 && m <= n, "DPCKNN: \(m) clusters of \(n) rows")
    let distances = distanceMatrix(x, count: n, width: c, pool: pool)
    let kk = Swift.max(1, Swift.min(k, n))
    var density = [Float](repeating: 0, count: n)
    var rowMax = [Float](repeating: 0, count: n)
    distances.withUnsafeBufferPointer { dp in
      density.withUnsafeMutableBufferPointer { densityBuffer in
        rowMax.withUnsafeMutableBufferPointer { maxBuffer in
          let d = dp.baseAddress!, dens = SendablePointer(densityBuffer.baseAddress!)
          let maxima = SendablePointer(maxBuffer.baseAddress!)
          let dd = SendablePointer(UnsafeMutablePointer(mutating: d))
          pool.parallelRanges(n, minChunk: 16) { rows in
            var nearest = [Float](repeating: 0, count: kk)  // the row's kk smallest distances, ascending
            for i in rows {
              let row = dd.p + i &* n
              var filled = 0, largest: Float = 0
              for j in 0..<n {
                let v = row[j]
                largest = Swift.max(largest, v)
                if filled < kk {
                  var p = filled
                  while p > 0 && nearest[p - 1] > v { nearest[p] = nearest[p - 1]; p -= 1 }
                  nearest[p] = v
                  filled += 1
                } else if v < nearest[kk - 1] {
                  var p = kk - 1
                  while p > 0 && nearest[p - 1] > v { nearest[p] = nearest[p - 1]; p -= 1 }
                  nearest[p] = v
                }
              }
              // Squares summed in ascending order, as torch's mean over topk(largest=False) sees them.
              var meanSquare: Float = 0
              for t in 0..<kk { meanSquare += nearest[t] * nearest[t] }
              dens.p[i] = expf(-meanSquare / Float(kk))
              maxima.p[i] = largest
            }
          }
        }
      }
    }
    let maxDistance = rowMax.max() ?? 0
    // δ_i: a minimum over the denser rows, 8 columns at a time (a minimum is exact in any order).
    var score = [Float](repeating: 0, count: n)
    distances.withUnsafeBufferPointer { dp in
      density.withUnsafeBufferPointer { densityBuffer in
        score.withUnsafeMutableBufferPointer { scoreBuffer in
          let dd = SendablePointer(UnsafeMutablePointer(mutating: dp.baseAddress!))
          let dens = SendablePointer(UnsafeMutablePointer(mutating: densityBuffer.baseAddress!))
          let sc = SendablePointer(scoreBuffer.baseAddress!)
          pool.parallelRanges(n, minChunk: 16) { rows in
            for i in rows {
              let row = dd.p + i &* n, own = dens.p[i]
              var best = SIMD8<Float>(repeating: maxDistance)
              let ownV = SIMD8<Float>(repeating: own)
              var j = 0
              while j &+ 8 <= n {
                let denser = UnsafeRawPointer(dens.p + j).loadUnaligned(as: SIMD8<Float>.self) .> ownV
                var v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                v.replace(with: maxDistance, where: .!denser)
                best.replace(with: v, where: v .< best)
                j &+= 8
              }
              var delta = best.min()
              while j < n { if dens.p[j] > own { delta = Swift.min(delta, row[j]) }; j &+= 1 }
              sc.p[i] = delta * own
            }
          }
        }
      }
    }
    let centres = Array((0..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }.prefix(m))
    var assignment = [Int](repeating: 0, count: n)
    // D is exactly symmetric, so row i holds every centre's distance to i.
    distances.withUnsafeBufferPointer { dp in
      for i in 0..<n {
        let row = dp.baseAddress! + i &* n
        var best = 0, bestDistance = row[centres[0]]
        for r in 1..<m where row[centres[r]] < bestDistance { best = r; bestDistance = row[centres[r]] }
        assignment[i] = best
      }
    }
    for (r, centre) in centres.enumerated() { assignment[centre] = r }
    return assignment
  }

  /// D (n x n), D_ij = sqrt(Σ_c (x_ic - x_jc)²) / sqrt(C), by explicit differences (no ||a||² + ||b||² - 2ab
  /// cancellation, which would flip near ties between the kernel and the reference). Each distance is one SIMD8
  /// accumulator over the 8-wide chunks in order, its lanes summed, then the tail: `pairSum`'s arithmetic whether it
  /// runs alone or in a tile, so D is exactly symmetric ((x_j - x_i)² is (x_i - x_j)² bit for bit) and independent of
  /// the tiling and the thread count. Rows are taken in pairs, each pair against 4 columns at a time from its own
  /// diagonal on (8 accumulators, 6 loads per 8 chunk-pairs), writing D_ij and D_ji; pairs are dealt to the pool's
  /// tasks in turn, which balances the triangle.
  static func distanceMatrix(_ x: UnsafePointer<Float>, count n: Int, width c: Int, pool: ThreadPool = .shared) -> [Float] {
    var d = [Float](repeating: 0, count: n * n)
    let inv = 1 / Float(c).squareRoot()
    let pairs = (n + 1) / 2
    let tasks = Swift.min(pairs, 4 * pool.threadCount)
    d.withUnsafeMutableBufferPointer { buffer in
      let out = SendablePointer(buffer.baseAddress!), xs = SendablePointer(UnsafeMutablePointer(mutating: x))
      pool.parallelFor(tasks) { task in
        var pair = task
        while pair < pairs {
          let i0 = 2 &* pair
          if i0 &+ 1 < n {
            var j = i0
            while j &+ 4 <= n {
              tile2x4(xs.p, i0, j, c, n, inv, out.p)
              j &+= 4
            }
            while j < n {
              for i in i0...(i0 &+ 1) where i != j { store(pairSum(xs.p + i &* c, xs.p + j &* c, c).squareRoot() * inv, i, j, n, out.p) }
              j &+= 1
            }
          } else {
            for j in (i0 &+ 1)..<Swift.max(n, i0 &+ 1) { store(pairSum(xs.p + i0 &* c, xs.p + j &* c, c).squareRoot() * inv, i0, j, n, out.p) }
          }
          pair &+= tasks
        }
      }
    }
    return d
  }

  @inline(__always)
  private static func store(_ v: Float, _ i: Int, _ j: Int, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
    out[i &* n &+ j] = v
    out[j &* n &+ i] = v
  }

  /// Σ_c (a_c - b_c)²: one SIMD8 accumulator over the 8-wide chunks in order, lanes summed, then the tail.
  @inline(__always)
  static func pairSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: Int) -> Float {
    var acc = SIMD8<Float>()
    var t = 0
    while t &+ 8 <= c {
      let diff = UnsafeRawPointer(a + t).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + t).loadUnaligned(as: SIMD8<Float>.self)
      acc = acc.addingProduct(diff, diff)
      t &+= 8
    }
    return tail(acc.sum(), a, b, from: t, c)
  }

  @inline(__always)
  private static func tail(_ sum: Float, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, from t: Int, _ c: Int) -> Float {
    var sum = sum, t = t
    while t < c { let diff = a[t] - b[t]; sum += diff * diff; t &+= 1 }
    return sum
  }

  /// Rows i0, i0 + 1 against columns j..<j + 4 (pairs with i == j give 0, as D's diagonal): `pairSum` eight times
  /// over, sharing the loads.
  @inline(__always)
  private static func tile2x4(_ x: UnsafeMutablePointer<Float>, _ i0: Int, _ j: Int, _ c: Int, _ n: Int, _ inv: Float,
                              _ out: UnsafeMutablePointer<Float>) {
    let a0 = UnsafePointer(x + i0 &* c), a1 = a0 + c
    let b0 = UnsafePointer(x + j &* c), b1 = b0 + c, b2 = b1 + c, b3 = b2 + c
    var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s02 = SIMD8<Float>(), s03 = SIMD8<Float>()
    var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s12 = SIMD8<Float>(), s13 = SIMD8<Float>()
    @inline(__always) func load(_ p: UnsafePointer<Float>, _ t: Int) -> SIMD8<Float> {
      UnsafeRawPointer(p + t).loadUnaligned(as: SIMD8<Float>.self)
    }
    var t = 0
    while t &+ 8 <= c {
      let x0 = load(a0, t), x1 = load(a1, t)
      let y0 = load(b0, t), y1 = load(b1, t), y2 = load(b2, t), y3 = load(b3, t)
      var e = x0 - y0; s00 = s00.addingProduct(e, e)
      e = x0 - y1; s01 = s01.addingProduct(e, e)
      e = x0 - y2; s02 = s02.addingProduct(e, e)
      e = x0 - y3; s03 = s03.addingProduct(e, e)
      e = x1 - y0; s10 = s10.addingProduct(e, e)
      e = x1 - y1; s11 = s11.addingProduct(e, e)
      e = x1 - y2; s12 = s12.addingProduct(e, e)
      e = x1 - y3; s13 = s13.addingProduct(e, e)
      t &+= 8
    }
    let sums = [(s00, a0, b0, 0, 0), (s01, a0, b1, 0, 1), (s02, a0, b2, 0, 2), (s03, a0, b3, 0, 3),
                (s10, a1, b0, 1, 0), (s11, a1, b1, 1, 1), (s12, a1, b2, 1, 2), (s13, a1, b3, 1, 3)]
    for (s, a, b, di, dj) in sums where i0 &+ di != j &+ dj {
      store(tail(s.sum(), a, b, from: t, c).squareRoot() * inv, i0 &+ di, j &+ dj, n, out)
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
