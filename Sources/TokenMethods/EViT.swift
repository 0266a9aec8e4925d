// EViT: Not All Patches are What You Need (Liang et al., ICLR 2022). ref: youweiliang/evit evit.py (Attention.forward,
// Block.forward, complement_idx); methods.md §7.
//
// In each reduction block, between attention and MLP: score the non-prefix tokens by the CLS query's attention
// (post-softmax, averaged over heads), keep the top k = ceil(keep * (N - prefix)) in descending score order, and (with
// fusion) add one token that is the attention-weighted sum (not normalised) of the others. New sequence:
// [prefix tokens, kept tokens by score, fused token]. A fused token from an earlier block is an ordinary token later.
import ViTEngine

public struct EViTPolicy: TokenPolicy {
  public let keepRate: Double
  public let layers: Set<Int>
  public let fuse: Bool

  public init(keepRate: Double, layers: [Int], fuse: Bool) {
    self.keepRate = keepRate; self.layers = Set(layers); self.fuse = fuse
  }

  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { false }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard layers.contains(block) else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount
    let candidates = n - prefix
    // EViT computes left_tokens = math.ceil(keep_rate * (N - 1)) in floating point.
    let keep = Int((keepRate * Double(candidates)).rounded(.up))
    guard keep < candidates, keep >= 1 else { return PolicyOutcome(event: "kept all \(candidates) tokens") }
    let score = attention.meanClassAttention()  // over all keys; prefix columns are skipped below
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
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate)
    let what = fuse
      ? "fused \(dropped.count) into one token (attention mass \(formatPercent(fusedMass)))"
      : "pruned \(dropped.count)"
    return PolicyOutcome(event: "kept \(keep) of \(candidates) tokens by CLS attention; \(what)")
  }
}

func formatPercent(_ v: Float) -> String {
  let p = (Double(v) * 1000).rounded() / 10
  return "\(p)%"
}
