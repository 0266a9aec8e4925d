// MSTM token mergence, training-free (Bian et al., arXiv 2306.04897; methods.md §1). [recon] No official code exists;
// this follows methods.md's reconstruction: EViT's placement and importance score, then ToMe/TPS-style merging of every
// non-crucial token into its most similar crucial token. The paper's multi-scale feature fusion needs learned weights
// and is not part of this method.
//
// In each reduction block, between attention and MLP: importance s_j = CLS attention averaged over heads; the top
// k = ceil(keep * (N - prefix)) tokens are crucial (kept in descending score order [recon]); every other token u joins
// the crucial token c maximising the cosine similarity of head-averaged keys; crucial tokens become the weighted mean
// (weights s·size with weight=importance, size alone with weight=size). Proportional attention (log size) is on by
// default.
import ViTEngine

public struct MSTMPolicy: TokenPolicy {
  public let keepRate: Double
  public let layers: Set<Int>
  public let importanceWeighted: Bool
  public let proportionalAttention: Bool

  public init(keepRate: Double, layers: [Int], importanceWeighted: Bool, proportionalAttention: Bool) {
    self.keepRate = keepRate; self.layers = Set(layers); self.importanceWeighted = importanceWeighted
    self.proportionalAttention = proportionalAttention
  }

  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { proportionalAttention }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard layers.contains(block) else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount
    let candidates = n - prefix
    let keep = Int((keepRate * Double(candidates)).rounded(.up))
    guard keep < candidates, keep >= 1 else { return PolicyOutcome(event: "all \(candidates) tokens crucial") }
    let score = attention.meanClassAttention()
    let ranked = (prefix..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
    let crucial = Array(ranked.prefix(keep))
    let others = Array(ranked.dropFirst(keep)).sorted()
    // Similarity metric: head-averaged keys, L2-normalised.
    var metric = attention.meanKeys()
    let d = metric.cols
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    for t in 0..<prefix { newIndex[t] = t }
    for (i, t) in crucial.enumerated() { newIndex[t] = prefix + i }
    // Pointer loops with SIMD dot products (ToMe.swift's helpers); same first-maximum rule.
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress!
      for t in 0..<n { normalizeRow(m + t &* d, count: d) }
      for u in others {
        var best: Float = -.infinity, target = crucial[0]
        let pu = m + u &* d
        for cTok in crucial {
          let s = dotProduct(pu, m + cTok &* d, count: d)
          if s > best { best = s; target = cTok }
        }
        newIndex[u] = newIndex[target]
        fate[u] = .merged
      }
    }
    let c = state.x.cols, newCount = prefix + keep
    var x = Matrix(rows: newCount, cols: c)
    var weight = [Float](repeating: 0, count: newCount)
    var size = [Float](repeating: 0, count: newCount)
    state.x.data.withUnsafeBufferPointer { xp in
      x.data.withUnsafeMutableBufferPointer { op in
        for t in 0..<n {
          let dst = newIndex[t]
          let w = dst < prefix ? 1 : (importanceWeighted ? score[t] : 1) * state.size[t]
          weight[dst] += w
          size[dst] += state.size[t]
          let out = op.baseAddress! + dst &* c, src = xp.baseAddress! + t &* c
          for j in 0..<c { out[j] += w * src[j] }
        }
        for t in 0..<newCount {
          let out = op.baseAddress! + t &* c, wt = weight[t]
          for j in 0..<c { out[j] /= wt }
        }
      }
    }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate)
    return PolicyOutcome(event: "kept \(keep) of \(candidates) tokens as crucial by CLS attention; merged \(others.count) into their most similar crucial token",
                         extraMACs: others.count * crucial.count * d)
  }
}

extension MSTMPolicy: WeightFreeCountable {
  public func counts(block: Int, tokens n: Int, shape: ModelShape) -> BlockTokenCounts {
    let prefix = shape.prefixTokens, headDim = shape.headDim[block]
    var out = n, extra = 0
    if layers.contains(block) {
      let keep = Int((keepRate * Double(n - prefix)).rounded(.up))
      if keep < n - prefix && keep >= 1 { out = prefix + keep; extra = (n - prefix - keep) * keep * headDim }
    }
    return BlockTokenCounts(queries: n, keys: n, mlpTokens: out, tokensOut: out, extraMACs: extra)
  }
}

extension IdleViTPolicy: WeightFreeCountable {
  public func counts(block: Int, tokens n: Int, shape: ModelShape) -> BlockTokenCounts {
    let prefix = shape.prefixTokens, headDim = shape.headDim[block]
    guard let k = keepCount(block: block, patches: n - prefix), k < n - prefix else {
      return BlockTokenCounts(queries: n, keys: n, mlpTokens: n, tokensOut: n, extraMACs: 0)
    }
    let idle = n - prefix - k, c = shape.embedDim, a = shape.heads[block] * headDim
    return BlockTokenCounts(queries: prefix + k, keys: prefix + k, mlpTokens: prefix + k, tokensOut: n,
                            extraMACs: 5 * idle * c + idle * c * a + n * a)
  }
}
