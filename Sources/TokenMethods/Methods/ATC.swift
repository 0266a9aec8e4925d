// ATC: Agglomerative Token Clustering (Haurum, Escalera, Taylor, Moeslund; ECCV 2024). ref: JoakimHaurum/ATC
// ATC_setup/models/atc.py (Attention_ToMe, Block_ATC, AgglomerativeClusteringVisionTransformer,
// agglomerative_clustering, merge_wavg); the clustering there is sklearn's AgglomerativeClustering on precomputed
// distances, which hands the condensed matrix to scipy.cluster.hierarchy.linkage and cuts the tree. The ATC article in
// TokenMethods.docc lists where this differs from the official code.
//
// In the i-th listed block, between attention and MLP: the keys averaged over heads are L2-normalised, the cosine
// distances 1 - cos between the T non-prefix tokens are clustered bottom-up (average, complete or single linkage)
// until K = floor(P0 * keep^(i+1)) clusters remain (P0: patches of the input grid), and each cluster becomes one token,
// the mean of its members (size-weighted with prop, plain without). With prop the sizes also add log(size) to the
// attention logits of every later block; without it the official code forgets them after every block.
import ViTEngine

/// ATC's typed configuration (also the policy: it needs nothing of the model).
public struct ATC: MethodConfiguration, TokenPolicy, Hashable {
  /// How the distance between two clusters follows from the distances between their members.
  public enum Linkage: String, CaseIterable, Sendable {
    /// The mean over all member pairs (UPGMA).
    case average
    /// The largest member distance.
    case complete
    /// The smallest member distance.
    case single
  }

  public var keepRate: Double
  /// Reduction blocks, ascending; the i-th reduces to floor(P0 * keep^(i+1)) clusters.
  public var layers: [Int]
  public var linkage: Linkage
  public var proportionalAttention: Bool

  public init(keepRate: Double, layers: [Int], linkage: Linkage, proportionalAttention: Bool) {
    self.keepRate = keepRate; self.layers = layers.sorted(); self.linkage = linkage
    self.proportionalAttention = proportionalAttention
  }

  public static let descriptor = MethodDescriptor(
    name: "atc",
    summary: "ATC: agglomerative clustering of the tokens' keys in a few blocks; each cluster becomes one token",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("keep", .real(0...1, excludingLower: true), default: "0.7",
                      "floor(P0 * keep^(i+1)) clusters in the i-th reduction block (P0: patches of the input grid)"),
      MethodParameter("layers", .blocks(allowsAll: false), default: "3/6/9", "reduction blocks, 0-based"),
      MethodParameter("linkage", .choice(Linkage.allCases.map(\.rawValue)), default: "average",
                      "cluster distance: mean (average), largest (complete) or smallest (single) cosine distance between members"),
      MethodParameter("prop", .flag, default: "true",
                      "carry sizes: size-weighted cluster means and log(size) on the attention logits; false: plain means, sizes forgotten",
                      recon: "on by default as in the paper and the README's DeiT command; the official flag is off unless given"),
    ],
    reconNotes: [
      rotaryMergeNote,
      "exact ties in linkage distance merge the lowest pair (i, j) first: scipy leaves ties to its implementation",
      "clusters are numbered by their lowest member's position, not by sklearn's labels (its tree cut's heap order); every step is permutation-equivariant, so only the order of the tokens differs",
      "every prefix token (class, distillation, registers) is protected; the official block protects token 0 only",
      "a block asked for at least as many clusters as it has tokens is left untouched, without computing distances",
      "a non-finite distance (a key of norm 0) counts as 2, the largest cosine distance; the official code would fail in scipy",
    ],
    // EViT's keep grid, so ATC lines up with evit, idle and mstm, plus 0.25, the lowest rate of the released checkpoints.
    sweep: SweepAxis(key: "keep", values: ["0.9", "0.8", "0.7", "0.6", "0.5", "0.4", "0.25"]),
    step: .real(key: "keep", by: 0.05)
  ) { v throws(MethodSpecError) in
    ATC(keepRate: v.real("keep"), layers: v.blocks("layers") ?? [], linkage: Linkage(rawValue: v.choice("linkage"))!,
        proportionalAttention: v.flag("prop"))
  }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(self) }

  /// Blocks before the first clustering block are the baseline's (with prop=true their log(size) biases are exact
  /// zeros: every size is still 1).
  public var leadingBaselineBlocks: Int { layers.min() ?? Int.max }

  /// K of a reduction block: int(P0 * keep ** (i+1)) as the official code computes it (pow in double, then
  /// truncated); nil when `block` is not listed.
  public func clusterCount(block: Int, patches: Int) -> Int? {
    guard let i = layers.firstIndex(of: block) else { return nil }
    return Int(Double(patches) * pow(keepRate, Double(i + 1)))
  }

  /// Clusters formed in `block` from `candidates` non-prefix tokens, or nil when the block leaves them as they are
  /// (not listed, K <= 0 as the official `num_clusters > 0` test, or K >= candidates).
  func clusters(block: Int, candidates: Int, patches: Int) -> Int? {
    guard let k = clusterCount(block: block, patches: patches), k > 0, k < candidates else { return nil }
    return k
  }

  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { proportionalAttention ? .logSize : .none }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = clusters(block: block, candidates: n - shape.prefix, patches: shape.patches).map { shape.prefix + $0 } ?? n
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  /// The official [N, d] x [d, N] cosine matmul over every token, prefix rows included, in each block that clusters.
  /// The clustering itself is comparisons and Lance-Williams updates, not multiply-adds of the model.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    counts.tokensOut < counts.tokensIn ? counts.tokensIn * counts.tokensIn * shape.headDim : 0
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard layers.contains(block) else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount, t = n - prefix
    guard let k = clusters(block: block, candidates: t, patches: state.grid.count) else {
      let asked = clusterCount(block: block, patches: state.grid.count) ?? 0
      return PolicyOutcome(event: "\(asked) clusters asked of \(t) tokens: nothing merged")
    }
    var distances = ATC.cosineDistances(attention.meanKeys(), prefix: prefix)
    let tree = AgglomerativeClustering.cluster(distances: &distances, count: t, clusters: k, linkage: linkage)

    // Cluster c becomes token prefix + c; its lowest member stays, the others are merged into it.
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    var seen = [Bool](repeating: false, count: k)
    for p in 0..<prefix { newIndex[p] = p }
    for (i, c) in tree.labels.enumerated() {
      newIndex[prefix + i] = prefix + c
      if seen[c] { fate[prefix + i] = .merged } else { seen[c] = true }
    }
    let newCount = prefix + k
    var size = [Float](repeating: 0, count: newCount)
    for token in 0..<n { size[newIndex[token]] += state.size[token] }
    // merge_wavg: sizes weight the means with prop; without it every current token weighs 1.
    let weights = proportionalAttention ? state.size : [Float](repeating: 1, count: n)
    let (x, _) = state.x.weightedMeans(into: newCount, newIndex: newIndex) { weights[$0] }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: weights)
    let cut = tree.merges.last.map { ", last merge at distance \(twoDecimals($0.height))" } ?? ""
    let levels = MergeLevels(name: "\(linkage.rawValue)-linkage cosine distance", heights: tree.merges.map(\.height),
                             next: tree.next, clusters: k)
    return PolicyOutcome(event: "\(t) tokens -> \(k) clusters, \(tree.merges.count) merges, \(linkage.rawValue) linkage\(cut)",
                         annotations: TokenAnnotations(mergeLevels: levels))
  }

  /// Cosine distances between the non-prefix tokens, in double for the clustering.
  ///
  /// Shape legend: K is n x d (head-mean keys, prefix rows first); M the T = n - prefix non-prefix rows scaled to unit
  /// norm (no epsilon, as the official code); D is T x T row-major with D_ij = 1 - M_i · M_j computed in float32 and
  /// then widened, filled above the diagonal only (scipy reads the condensed upper triangle).
  static func cosineDistances(_ keys: Matrix, prefix: Int) -> [Double] {
    let d = keys.cols, t = keys.rows - prefix
    var metric = keys
    var distances = [Double](repeating: 0, count: t * t)
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress! + prefix &* d
      for i in 0..<t { divideByNorm(m + i &* d, count: d, atLeast: 0) }
      for i in 0..<t {
        for j in (i + 1)..<max(i + 1, t) {
          let distance = Double(1 - dotProduct(m + i &* d, m + j &* d, count: d))
          distances[i &* t &+ j] = distance.isFinite ? distance : 2
        }
      }
    }
    return distances
  }
}

/// Bottom-up hierarchical clustering with Lance-Williams updates, stopped when the wanted number of clusters remains.
///
/// A cluster is named by its lowest member. Each step merges the pair of clusters (i, j), i < j, with the smallest
/// linkage distance, the lowest (i, j) on exact ties; the merged cluster keeps the name i. Because average, complete
/// and single linkage never produce inversions, this greedy order is the order of scipy's sorted merges, so stopping
/// after T - K merges is sklearn's cut of the full tree at K clusters.
public enum AgglomerativeClustering {
  /// One merge: clusters `a` < `b` (by lowest member) joined at `height`, making a cluster of `size` tokens.
  public struct Merge: Sendable, Equatable {
    public let a: Int, b: Int
    public let height: Double
    public let size: Int
  }

  public struct Result: Sendable {
    /// Each point's cluster, numbered 0..<K by lowest member.
    public let labels: [Int]
    /// The T - K merges in the order they were made (non-decreasing heights).
    public let merges: [Merge]
    /// The height of the merge that would come next (the one the cut at K clusters refuses); nil at K = 1.
    public let next: Double?
  }

  /// Clusters `count` points into `clusters` clusters. `distances` is count x count row-major, read and updated in
  /// place above the diagonal only.
  ///
  /// Shape legend: D is T x T (upper triangle); per live cluster i: nearest[i], the live j > i closest to it (lowest j
  /// on ties), and its distance. Lance-Williams, merging i and j into i, for every other live c with n_i, n_j members:
  ///   single   D(i∪j, c) = min(D_ic, D_jc)
  ///   complete D(i∪j, c) = max(D_ic, D_jc)
  ///   average  D(i∪j, c) = (n_i D_ic + n_j D_jc) / (n_i + n_j)
  /// Only the rows whose nearest cluster was i or j are rescanned, so a step costs O(T) plus the rescans.
  public static func cluster(distances d: inout [Double], count n: Int, clusters k: Int, linkage: ATC.Linkage) -> Result {
    precondition(d.count == n * n && k >= 1 && k <= n, "clustering \(n) points into \(k) clusters")
    var live = [Bool](repeating: true, count: n)
    var members = [Int](repeating: 1, count: n)
    var parent = Array(0..<n)
    var nearest = [Int](repeating: -1, count: n)
    var nearestDistance = [Double](repeating: .infinity, count: n)
    var merges: [Merge] = []
    merges.reserveCapacity(n - k)

    d.withUnsafeMutableBufferPointer { dp in
      let dist = dp.baseAddress!
      func rescan(_ i: Int) {
        var best = Double.infinity, arg = -1
        var j = i + 1
        while j < n {
          if live[j] && dist[i &* n &+ j] < best { best = dist[i &* n &+ j]; arg = j }
          j += 1
        }
        nearest[i] = arg; nearestDistance[i] = best
      }
      for i in 0..<n { rescan(i) }
      for _ in 0..<(n - k) {
        // The closest pair: the lowest i whose nearest distance is smallest, with its lowest nearest j.
        var i = -1, height = Double.infinity
        for c in 0..<n where live[c] && nearest[c] >= 0 && (i < 0 || nearestDistance[c] < height) {
          i = c; height = nearestDistance[c]
        }
        let j = nearest[i]
        let ni = Double(members[i]), nj = Double(members[j])
        for c in 0..<n where live[c] && c != i && c != j {
          let ic = c < i ? c &* n &+ i : i &* n &+ c
          let jc = c < j ? c &* n &+ j : j &* n &+ c
          switch linkage {
          case .single: dist[ic] = min(dist[ic], dist[jc])
          case .complete: dist[ic] = max(dist[ic], dist[jc])
          case .average: dist[ic] = (ni * dist[ic] + nj * dist[jc]) / (ni + nj)
          }
        }
        live[j] = false
        members[i] += members[j]
        parent[j] = i
        merges.append(Merge(a: i, b: j, height: height, size: members[i]))
        rescan(i)
        for c in 0..<i where live[c] {
          let v = dist[c &* n &+ i]
          if nearest[c] == i || nearest[c] == j {
            rescan(c)
          } else if v < nearestDistance[c] || (v == nearestDistance[c] && i < nearest[c]) {
            nearest[c] = i; nearestDistance[c] = v
          }
        }
        for c in (i + 1)..<j where live[c] && nearest[c] == j { rescan(c) }
      }
    }
    // The closest live pair left: read for views only, nothing is merged.
    var refused: Double? = nil
    for c in 0..<n where live[c] && nearest[c] >= 0 { refused = min(refused ?? .infinity, nearestDistance[c]) }
    // Each point's root is its cluster's lowest member; number the roots in ascending order.
    var label = [Int](repeating: -1, count: n)
    var next = 0
    var labels = [Int](repeating: 0, count: n)
    for p in 0..<n {
      var root = p
      while parent[root] != root { root = parent[root] }
      if label[root] < 0 { label[root] = next; next += 1 }
      labels[p] = label[root]
    }
    return Result(labels: labels, merges: merges, next: refused)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
