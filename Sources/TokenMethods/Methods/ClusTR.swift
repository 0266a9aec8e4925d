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
  public static func cluster(_ x: UnsafePointer<Float>, count n: Int, width c: Int, clusters m: Int, neighbours k: Int) -> [Int] {
    precondition(m >= 1 && m <= n, "DPCKNN: \(m) clusters of \(n) rows")
    let distances = distanceMatrix(x, count: n, width: c)
    let kk = Swift.max(1, Swift.min(k, n))
    var density = [Float](repeating: 0, count: n)
    var maxDistance: Float = 0
    var nearest = [Float](repeating: 0, count: kk)  // the row's kk smallest distances, ascending
    for i in 0..<n {
      var filled = 0
      for j in 0..<n {
        let v = distances[i &* n &+ j]
        maxDistance = Swift.max(maxDistance, v)
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
      density[i] = expf(-meanSquare / Float(kk))
    }
    var score = [Float](repeating: 0, count: n)
    for i in 0..<n {
      var delta = maxDistance
      for j in 0..<n where density[j] > density[i] { delta = Swift.min(delta, distances[i * n + j]) }
      score[i] = delta * density[i]
    }
    let centres = Array((0..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }.prefix(m))
    var assignment = [Int](repeating: 0, count: n)
    for i in 0..<n {
      var best = 0
      for r in 1..<m where distances[centres[r] * n + i] < distances[centres[best] * n + i] { best = r }
      assignment[i] = best
    }
    for (r, centre) in centres.enumerated() { assignment[centre] = r }
    return assignment
  }

  /// D (n x n), D_ij = sqrt(Σ_c (x_ic - x_jc)²) / sqrt(C), by explicit differences (no ||a||² + ||b||² - 2ab
  /// cancellation, which would flip near ties between the kernel and the reference).
  static func distanceMatrix(_ x: UnsafePointer<Float>, count n: Int, width c: Int) -> [Float] {
    var d = [Float](repeating: 0, count: n * n)
    let inv = 1 / Float(c).squareRoot()
    for i in 0..<n {
      let xi = x + i &* c
      for j in (i + 1)..<Swift.max(n, i + 1) {
        let xj = x + j &* c
        var acc = SIMD8<Float>()
        var t = 0
        while t &+ 8 <= c {
          let diff = UnsafeRawPointer(xi + t).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(xj + t).loadUnaligned(as: SIMD8<Float>.self)
          acc = acc.addingProduct(diff, diff)
          t &+= 8
        }
        var sum = acc.sum()
        while t < c { let diff = xi[t] - xj[t]; sum += diff * diff; t &+= 1 }
        let v = sum.squareRoot() * inv
        d[i * n + j] = v
        d[j * n + i] = v
      }
    }
    return d
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
