// MSTM token mergence, training-free (Bian et al., arXiv 2306.04897). [recon] No official code exists; this is a
// reconstruction (the MSTM article in TokenMethods.docc gives the reasons): EViT's placement and importance score, then
// ToMe/TPS-style merging of every non-crucial token into its most similar crucial token. The paper's multi-scale
// feature fusion needs learned weights and is not part of this method.
//
// In each reduction block, between attention and MLP: importance s_j = CLS attention averaged over heads; the top
// k = ceil(keep * (N - prefix)) tokens are crucial (kept in descending score order [recon]); every other token u joins
// the crucial token c maximising the cosine similarity of head-averaged keys; crucial tokens become the weighted mean
// (weights s·size with weight=importance, size alone with weight=size). Proportional attention (log size) is on by
// default.
import ViTEngine

/// MSTM's typed configuration (also the policy: it needs nothing of the model).
public struct MSTM: MethodConfiguration, TokenPolicy, Hashable {
  public var keepRate: Double
  public var layers: Set<Int>
  public var importanceWeighted: Bool
  public var proportionalAttention: Bool
  public var score: AttentionScore

  public init(keepRate: Double, layers: [Int], importanceWeighted: Bool, proportionalAttention: Bool,
              score: AttentionScore = .auto) {
    self.keepRate = keepRate; self.layers = Set(layers); self.importanceWeighted = importanceWeighted
    self.proportionalAttention = proportionalAttention; self.score = score
  }

  public static let descriptor = MethodDescriptor(
    name: "mstm",
    summary: "MSTM token mergence [recon]: merge non-crucial tokens into their most similar crucial token (no multi-scale fusion: it needs learned weights)",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("keep", .real(0...1, excludingLower: true), default: "0.7", "share of tokens kept as crucial: ceil(keep * (N - 1))"),
      MethodParameter("layers", .blocks(allowsAll: false), default: "3/6/9", "reduction blocks, 0-based",
                      recon: "EViT's placement; the paper gives no training-free placement"),
      MethodParameter("weight", .choice(["importance", "size"]), default: "importance",
                      "merge weights: importance (CLS attention x size) or size (ToMe-style)",
                      recon: "the paper's weights are learned; importance-weighted averaging is our training-free stand-in"),
      MethodParameter("prop", .flag, default: "true", "proportional attention: add log(token size) to the attention logits"),
      AttentionScore.parameter(official: "the CLS row averaged over heads (EViT's)"),
    ],
    reconNotes: [
      rotaryMergeNote,
      "no official code: EViT's CLS-attention score picks the crucial tokens, each other token merges into its most similar crucial token by head-mean key cosine",
      "crucial tokens are kept in descending score order",
      "the multi-scale feature fusion is left out: it needs learned weights",
    ],
    sweep: EViT.keepSweep, step: .real(key: "keep", by: 0.05)
  ) { v throws(MethodSpecError) in
    MSTM(keepRate: v.real("keep"), layers: v.blocks("layers") ?? [], importanceWeighted: v.choice("weight") == "importance",
         proportionalAttention: v.flag("prop"), score: AttentionScore(rawValue: v.choice("score"))!)
  }

  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    try score.validate(method: "mstm", prefix: prefix)
  }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(self) }

  /// Blocks before the first reduction block are the baseline's (with prop=true their log(size) biases are exact
  /// zeros: every size is still 1).
  public var leadingBaselineBlocks: Int { layers.min() ?? Int.max }

  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { proportionalAttention ? .logSize : .none }

  /// Crucial tokens out of `candidates` in a reduction block, or nil when every token stays.
  func crucialCount(block: Int, candidates: Int) -> Int? {
    guard layers.contains(block) else { return nil }
    let keep = Int((keepRate * Double(candidates)).rounded(.up))
    return keep < candidates && keep >= 1 ? keep : nil
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = crucialCount(block: block, candidates: n - shape.prefix).map { shape.prefix + $0 } ?? n
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  /// Every merged token's cosine against every crucial token: (N - prefix - keep) x keep x d.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    (counts.tokensIn - counts.tokensOut) * (counts.tokensOut - shape.prefix) * shape.headDim
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard layers.contains(block) else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount
    let candidates = n - prefix
    guard let keep = crucialCount(block: block, candidates: candidates) else { return PolicyOutcome(event: "all \(candidates) tokens crucial") }
    let scoring = self.score.resolved(prefix: prefix)
    let score = attention.tokenScores(scoring)
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
    let newCount = prefix + keep
    var size = [Float](repeating: 0, count: newCount)
    for t in 0..<n { size[newIndex[t]] += state.size[t] }
    let weights = (0..<n).map { t in newIndex[t] < prefix ? 1 : (importanceWeighted ? score[t] : 1) * state.size[t] }
    let (x, _) = state.x.weightedMeans(into: newCount, newIndex: newIndex) { weights[$0] }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: weights)
    return PolicyOutcome(event: "kept \(keep) of \(candidates) tokens as crucial by \(scoring == .cls ? "CLS" : "mean") attention; merged \(others.count) into their most similar crucial token")
  }
}
