// ToMe: Token Merging (Bolya et al., ICLR 2023). ref: facebookresearch/ToMe tome/merge.py (bipartite_soft_matching,
// merge_wavg), tome/patch/timm.py (ToMeBlock, ToMeAttention), tome/utils.py (parse_r). The ToMe article in
// TokenMethods.docc lists where this differs from the official code.
//
// In every block, between attention and MLP: the keys averaged over heads are L2-normalised; tokens alternate into
// sets A (even positions) and B (odd); each A token finds its most similar B token; the r A tokens with the highest
// similarity merge into their B partners with size-weighted averages. Prefix tokens (CLS, distillation, registers)
// are protected. Proportional attention adds log(size) to the logits of every block.
// Unlike ToMe's own timm patch, LayerScale (ls1/ls2) is applied: the merge reads x after the scaled residual.
import ViTEngine

/// ToMe's typed configuration.
public struct ToMe: MethodConfiguration, Hashable {
  /// Tokens merged per block (before the cap at half the non-prefix tokens).
  public var r: Int
  /// Decreasing: ToMe's (r, -1) schedule, 2r down to 0 over the blocks.
  public var decreasing: Bool
  public var proportionalAttention: Bool

  public static let descriptor = MethodDescriptor(
    name: "tome", summary: "ToMe token merging: merge r tokens per block by key similarity (bipartite matching)",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("r", .integer(0...100_000), default: "13", "tokens merged per block (capped at half the non-prefix tokens)"),
      MethodParameter("schedule", .choice(["constant", "decreasing"]), default: "constant",
                      "constant (r in every block) or decreasing (2r down to 0, ToMe's (r, -1))"),
      MethodParameter("prop", .flag, default: "true", "proportional attention: add log(token size) to the attention logits"),
    ],
    reconNotes: [rotaryMergeNote],
    // ToMe's r over the paper's range for DeiT (r = 13 is its default).
    sweep: SweepAxis(key: "r", values: ["2", "4", "6", "8", "10", "13", "16"]),
    step: .integer(key: "r", by: 1)
  ) { v throws(MethodSpecError) in
    ToMe(r: v.integer("r"), decreasing: v.choice("schedule") == "decreasing", proportionalAttention: v.flag("prop"))
  }

  public func action(depth: Int) -> MethodAction {
    .tokenPolicy(ToMePolicy(r: r, depth: depth, decreasing: decreasing, proportionalAttention: proportionalAttention))
  }
}

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

  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { proportionalAttention ? .logSize : .none }

  /// Tokens merged in `block` entered by n tokens: the schedule's r, capped at half the non-prefix tokens.
  func merges(block: Int, tokensIn n: Int, prefix: Int) -> Int {
    max(0, min(block < schedule.count ? schedule[block] : 0, (n - prefix) / 2))
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = n - merges(block: block, tokensIn: n, prefix: shape.prefix)
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  /// The A·Bᵀ similarity matmul over the alternating sets (⌈N/2⌉ x ⌊N/2⌋ x d), counted as fvcore counts a matmul.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    let n = counts.tokensIn
    return counts.tokensOut < n ? ((n + 1) / 2) * (n / 2) * shape.headDim : 0
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount, prefix = state.prefixCount
    let requested = block < schedule.count ? schedule[block] : 0
    let r = merges(block: block, tokensIn: n, prefix: prefix)
    guard r > 0 else { return PolicyOutcome(event: requested > 0 ? "nothing left to merge" : nil) }
    let match = BipartiteMatch(attention: attention, tokens: n, prefix: prefix)
    match.merge(Array(match.ranked.prefix(r)), state: &state)
    return PolicyOutcome(event: "merged \(r) of \(n) tokens into their most similar partners by key similarity; \(n - r) remain")
  }
}

/// ToMe's bipartite matching over the n tokens entering a block (DToMe and its calibration share it): set A holds the
/// tokens at even positions, set B those at odd positions, and every A token that is not a prefix token finds its most
/// similar B token that is not one either, by cosine similarity of the keys averaged over heads.
struct BipartiteMatch {
  /// A token ai is token 2·ai; B token bi is token 2·bi + 1.
  let tokens: Int, prefix: Int
  /// Per A token: the best similarity (−∞ for prefix tokens, which neither merge nor receive).
  let best: [Float]
  /// Per A token: the B index of that partner (the first maximum, as torch.max).
  let partner: [Int]

  init(attention: AttentionView, tokens n: Int, prefix: Int) {
    self.tokens = n; self.prefix = prefix
    // Metric: keys averaged over heads, L2-normalised per token.
    var metric = attention.meanKeys()
    let d = metric.cols
    let countA = (n + 1) / 2, countB = n / 2
    var best = [Float](repeating: -.infinity, count: countA)
    var partner = [Int](repeating: 0, count: countA)
    // Pointer loops with SIMD dot products (the scalar version cost about 2 ms per DeiT-S image, 4% of a ToMe pass).
    // A rows are split over the pool (each writes only its own best and partner; the same sums as serially).
    // metric: n x d row-major; best, partner: countA.
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress!
      for t in 0..<n { normalizeRow(m + t &* d, count: d) }
      best.withUnsafeMutableBufferPointer { bestP in
        partner.withUnsafeMutableBufferPointer { partnerP in
          let metricP = SendablePointer(m), bestQ = SendablePointer(bestP.baseAddress!)
          let partnerQ = SendablePointer(partnerP.baseAddress!)
          ThreadPool.shared.parallelRanges(countA, minChunk: 16, chunksPerThread: 2) { range in
            for ai in range where 2 &* ai >= prefix {
              let pa = metricP.p + 2 &* ai &* d  // seek to A token ai's metric row
              var bestS = bestQ.p[ai], bestB = partnerQ.p[ai]
              for bi in 0..<countB where 2 &* bi &+ 1 >= prefix {
                let s = dotProduct(pa, metricP.p + (2 &* bi &+ 1) &* d, count: d)
                if s > bestS { bestS = s; bestB = bi }  // first maximum, as torch.max
              }
              bestQ.p[ai] = bestS; partnerQ.p[ai] = bestB
            }
          }
        }
      }
    }
    self.best = best; self.partner = partner
  }

  /// The non-prefix A tokens by best similarity, descending; the sort is stable, so ties keep the lower index.
  var ranked: [Int] {
    (0..<best.count).filter { 2 * $0 >= prefix }.sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
  }

  /// Merges the A tokens `sources` (indices into A) into their partners with size-weighted averages (merge_wavg:
  /// x' = Σ σx / (Σ σ + epsilon), σ' = Σ σ; DToMe's calibration divides by Σ σ + 1e-4). New order: prefix tokens,
  /// unmerged A tokens (original order), then all B tokens (original order).
  func merge(_ sources: [Int], state: inout TokenState, epsilon: Float = 0) {
    let n = tokens
    let merging = Set(sources)
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    var next = 0
    for t in 0..<prefix { newIndex[t] = next; next += 1 }
    for a in stride(from: 0, to: n, by: 2) where a >= prefix && !merging.contains(a / 2) { newIndex[a] = next; next += 1 }
    for b in stride(from: 1, to: n, by: 2) where b >= prefix { newIndex[b] = next; next += 1 }
    for ai in sources { newIndex[2 * ai] = newIndex[2 * partner[ai] + 1]; fate[2 * ai] = .merged }
    let sizes = state.size
    let (weighted, newSize) = state.x.weightedMeans(into: n - sources.count, newIndex: newIndex, epsilon: epsilon) { sizes[$0] }
    state.reorganize(x: weighted, size: newSize, newIndex: newIndex, fate: fate, weights: sizes)
  }
}

/// Scales a row to unit L2 norm (the norm summed in order, as before).
@inline(__always)
func normalizeRow(_ row: UnsafeMutablePointer<Float>, count d: Int) {
  var norm: Float = 0
  for c in 0..<d { norm += row[c] * row[c] }
  let inv = 1 / norm.squareRoot()
  for c in 0..<d { row[c] *= inv }
}

/// a · b over `count` floats: SIMD8 with two accumulators, scalar tail.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
  var i = 0
  while i &+ 16 <= count {
    s0 = s0.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
    s1 = s1.addingProduct(UnsafeRawPointer(a + (i &+ 8)).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + (i &+ 8)).loadUnaligned(as: SIMD8<Float>.self))
    i &+= 16
  }
  if i &+ 8 <= count {
    s0 = s0.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
    i &+= 8
  }
  let v = s0 + s1
  let h = v.lowHalf + v.highHalf
  var s = (h[0] + h[2]) + (h[1] + h[3])
  while i < count { s += a[i] * b[i]; i &+= 1 }
  return s
}
