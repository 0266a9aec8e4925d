// EViT: Not All Patches are What You Need (Liang et al., ICLR 2022). ref: youweiliang/evit evit.py (Attention.forward,
// Block.forward, complement_idx). The EViT article in TokenMethods.docc lists where this differs from the official code.
//
// In each reduction block, between attention and MLP: score the non-prefix tokens by the CLS query's attention
// (post-softmax, averaged over heads), keep the top k = ceil(keep * (N - prefix)) in descending score order, and (with
// fusion) add one token that is the attention-weighted sum (not normalised) of the others. New sequence:
// [prefix tokens, kept tokens by score, fused token]. A fused token from an earlier block is an ordinary token later.
import NumberFormatting
import ViTEngine

/// EViT's typed configuration (also the policy: it needs nothing of the model).
public struct EViT: MethodConfiguration, TokenPolicy, Hashable {
  public var keepRate: Double
  public var layers: Set<Int>
  public var fuse: Bool
  public var score: AttentionScore

  public init(keepRate: Double, layers: [Int], fuse: Bool, score: AttentionScore = .auto) {
    self.keepRate = keepRate; self.layers = Set(layers); self.fuse = fuse; self.score = score
  }

  public static let descriptor = MethodDescriptor(
    name: "evit", summary: "EViT: keep the tokens the CLS token attends to most, fuse the rest into one",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("keep", .real(0...1, excludingLower: true), default: "0.7",
                      "keep rate: ceil(keep * (N - 1)) tokens survive each reduction block"),
      MethodParameter("layers", .blocks(allowsAll: false), default: "3/6/9", "reduction blocks, 0-based"),
      MethodParameter("fuse", .flag, default: "true", "inattentive-token fusion: add the attention-weighted sum of the dropped tokens"),
      AttentionScore.parameter(official: "the CLS row averaged over heads (official)"),
    ],
    reconNotes: [rotaryMergeNote],
    sweep: keepSweep, step: .real(key: "keep", by: 0.05)
  ) { v throws(MethodSpecError) in
    EViT(keepRate: v.real("keep"), layers: v.blocks("layers") ?? [], fuse: v.flag("fuse"),
         score: AttentionScore(rawValue: v.choice("score"))!)
  }

  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    try score.validate(method: "evit", prefix: prefix)
  }

  /// Keep rates from light to heavy reduction (EViT, IdleViT and MSTM sweep the same values).
  static let keepSweep = SweepAxis(key: "keep", values: ["0.9", "0.8", "0.7", "0.6", "0.5", "0.4"])

  public func action(depth: Int) -> MethodAction { .tokenPolicy(self) }

  /// Blocks before the first reduction block are the baseline's.
  public var leadingBaselineBlocks: Int { layers.min() ?? Int.max }

  /// Tokens kept out of `candidates` in a reduction block, or nil when the block keeps them all.
  /// EViT computes left_tokens = math.ceil(keep_rate * (N - 1)) in floating point.
  func kept(block: Int, candidates: Int) -> Int? {
    guard layers.contains(block) else { return nil }
    let keep = Int((keepRate * Double(candidates)).rounded(.up))
    return keep < candidates && keep >= 1 ? keep : nil
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = kept(block: block, candidates: n - shape.prefix).map { shape.prefix + $0 + (fuse ? 1 : 0) } ?? n
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard layers.contains(block) else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount
    let candidates = n - prefix
    guard let keep = kept(block: block, candidates: candidates) else { return PolicyOutcome(event: "kept all \(candidates) tokens") }
    let scoring = self.score.resolved(prefix: prefix)
    let score = attention.tokenScores(scoring)  // over all keys; prefix columns are skipped below
    let ranked = (prefix..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
    let kept = Array(ranked.prefix(keep))
    let dropped = Array(ranked.dropFirst(keep)).sorted()  // complement_idx order: ascending
    let c = state.x.cols
    let newCount = prefix + keep + (fuse ? 1 : 0)
    var x = Matrix(rows: newCount, cols: c)
    var size = [Float](repeating: 0, count: newCount)
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: fuse ? .fused : .pruned, count: n)
    for t in 0..<prefix { newIndex[t] = t; fate[t] = .stays }
    for (i, t) in kept.enumerated() { newIndex[t] = prefix + i; fate[t] = .stays }
    for (t, i) in newIndex.enumerated() where i >= 0 {
      size[i] = state.size[t]
      for j in 0..<c { x.data[i * c + j] = state.x.data[t * c + j] }
    }
    var fusedMass: Float = 0
    if fuse {
      let f = newCount - 1
      for t in dropped {
        newIndex[t] = f
        size[f] += state.size[t]
        fusedMass += score[t]
        for j in 0..<c { x.data[f * c + j] += score[t] * state.x.data[t * c + j] }
      }
    }
    // The fused token is Σ a·x with the CLS attention a unnormalised; its recorded row is renormalised to sum 1.
    let weights = (0..<n).map { fate[$0] == .fused ? score[$0] : 1 }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: weights)
    let what = fuse
      ? "fused \(dropped.count) into one token (attention mass \(formatFixed(Double(fusedMass) * 100, decimals: 1))%)"
      : "pruned \(dropped.count)"
    return PolicyOutcome(event: "kept \(keep) of \(candidates) tokens by \(scoring == .cls ? "CLS" : "mean") attention; \(what)")
  }
}

