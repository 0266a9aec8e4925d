// ToMe: Token Merging (Bolya et al., ICLR 2023). ref: facebookresearch/ToMe tome/merge.py (bipartite_soft_matching,
// merge_wavg), tome/patch/timm.py (ToMeBlock, ToMeAttention), tome/utils.py (parse_r); methods.md §6.
//
// In every block, between attention and MLP: the keys averaged over heads are L2-normalised; tokens alternate into
// sets A (even positions) and B (odd); each A token finds its most similar B token; the r A tokens with the highest
// similarity merge into their B partners with size-weighted averages. Prefix tokens (CLS, distillation, registers)
// are protected. Proportional attention adds log(size) to the logits of every block.
// Unlike ToMe's own timm patch, LayerScale (ls1/ls2) is applied: the merge reads x after the scaled residual.
import ViTEngine

public struct ToMePolicy: TokenPolicy {
  /// Tokens to merge in each block (already expanded from the schedule).
  public let schedule: [Int]
  public let proportionalAttention: Bool

  public init(r: Int, depth: Int, decreasing: Bool, proportionalAttention: Bool) {
    self.schedule = ToMePolicy.parseR(r: r, depth: depth, inflection: decreasing ? -1 : 0)
    self.proportionalAttention = proportionalAttention
  }

  /// tome/utils.py parse_r: a linear schedule from int(r(1-i)) to 2r - that over the blocks (i = 0: constant r).
  public static func parseR(r: Int, depth: Int, inflection: Double) -> [Int] {
    let minVal = Int(Double(r) * (1 - inflection))
    let maxVal = 2 * r - minVal
    let step = depth > 1 ? Double(maxVal - minVal) / Double(depth - 1) : 0
    return (0..<depth).map { Int(Double(minVal) + step * Double($0)) }
  }

  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { proportionalAttention }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount, prefix = state.prefixCount
    let requested = block < schedule.count ? schedule[block] : 0
    let r = min(requested, (n - prefix) / 2)
    guard r > 0 else { return PolicyOutcome(event: requested > 0 ? "nothing left to merge" : nil) }

    // Metric: keys averaged over heads, L2-normalised per token.
    var metric = attention.meanKeys()
    let d = metric.cols
    for t in 0..<n {
      var norm: Float = 0
      for c in 0..<d { norm += metric.data[t * d + c] * metric.data[t * d + c] }
      let inv = 1 / norm.squareRoot()
      for c in 0..<d { metric.data[t * d + c] *= inv }
    }
    let setA = Array(stride(from: 0, to: n, by: 2)), setB = Array(stride(from: 1, to: n, by: 2))
    // Best B partner for every A token; protected tokens neither merge (A rows) nor receive (B columns).
    var best = [Float](repeating: -.infinity, count: setA.count)
    var partner = [Int](repeating: 0, count: setA.count)
    for (ai, a) in setA.enumerated() where a >= prefix {
      for (bi, b) in setB.enumerated() where b >= prefix {
        var s: Float = 0
        for c in 0..<d { s += metric.data[a * d + c] * metric.data[b * d + c] }
        if s > best[ai] { best[ai] = s; partner[ai] = bi }  // first maximum, as torch.max
      }
    }
    // The r most similar A tokens merge (stable descending sort, so ties keep the lower index).
    let order = setA.indices.sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
    let sources = Set(order.prefix(r))

    // New order: prefix tokens, unmerged A tokens (original order), then all B tokens (original order).
    let c = state.x.cols
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    var next = 0
    for t in 0..<prefix { newIndex[t] = next; next += 1 }
    for (ai, a) in setA.enumerated() where a >= prefix && !sources.contains(ai) { newIndex[a] = next; next += 1 }
    for b in setB where b >= prefix { newIndex[b] = next; next += 1 }
    for ai in sources { newIndex[setA[ai]] = newIndex[setB[partner[ai]]]; fate[setA[ai]] = .merged }
    let newCount = n - r
    // Size-weighted average (merge_wavg): x' = sum(size * x) / sum(size), size' = sum(size).
    var weighted = Matrix(rows: newCount, cols: c)
    var newSize = [Float](repeating: 0, count: newCount)
    for t in 0..<n {
      let dst = newIndex[t], s = state.size[t]
      newSize[dst] += s
      for j in 0..<c { weighted.data[dst * c + j] += s * state.x.data[t * c + j] }
    }
    for t in 0..<newCount { for j in 0..<c { weighted.data[t * c + j] /= newSize[t] } }
    state.reorganize(x: weighted, size: newSize, newIndex: newIndex, fate: fate)
    let matching = setA.count * setB.count * d  // the A·Bᵀ similarity matmul, counted as fvcore counts a matmul
    return PolicyOutcome(event: "merged \(r) of \(n) tokens into their most similar partners by key similarity; \(newCount) remain",
                         extraMACs: matching)
  }
}
