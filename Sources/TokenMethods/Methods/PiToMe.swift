// PiToMe: Accelerating Transformers with Spectrum-Preserving Token Merging (Tran et al., NeurIPS 2024).
// ref: hchautran/PiToMe algo/pitome/merge.py (pitome_vision, pitome, pitome_bsm, merge_wavg),
// algo/pitome/patch/timm.py (PiToMeBlock, PiToMeAttention) and algo/pitome/patch/deit.py (apply_patch: the margins and
// the BSM schedule). The PiToMe article in TokenMethods.docc lists where this differs from the official code.
//
// In every block, between attention and MLP: the keys averaged over heads of the T non-prefix tokens are
// L2-normalised; each token's energy is the mean over all T tokens of ELU(cosine - margin), with the margin falling
// from m0 in block 0 towards 0 (m0 - m0*l/L); tokens are ranked by energy, highest first, and r = floor(T - T*ratio)
// merge. Protect variant (the paper's): the 2r highest-energy tokens alternate into sets A and B by rank, every A token
// merges into its most similar B token, the T - 2r lowest-energy tokens are left alone. BSM variant (the DeiT patch's
// first half of the blocks): all T tokens alternate into A and B by energy rank, and ToMe's bipartite soft matching
// merges the r A tokens with the most similar partners. Merges are size-weighted means; the new order is the
// official one. Proportional attention is off, as in the official patch, which never reads its prop_attn flag.
import ViTEngine

/// PiToMe's typed configuration.
public struct PiToMe: MethodConfiguration, Hashable {
  /// Which blocks run the BSM variant.
  public enum BSMBlocks: Hashable, Sendable {
    /// The DeiT patch's choice: the first ⌈L/2⌉ blocks.
    case auto
    case every
    case listed([Int])

    /// The BSM blocks of a model of `depth` blocks.
    public func resolved(depth: Int) -> [Int] {
      switch self {
      case .auto: return Array(0..<((depth + 1) / 2))
      case .every: return Array(0..<depth)
      case .listed(let blocks): return blocks.filter { $0 < depth }
      }
    }
  }

  /// Kept fraction of the non-prefix tokens in every block.
  public var ratio: Double
  /// m0: block l of L uses m0 - m0 * l / L.
  public var margin: Double
  /// The ELU's alpha (its value far below the margin is -alpha).
  public var alpha: Double
  public var bsm: BSMBlocks
  public var proportionalAttention: Bool

  public static let descriptor = MethodDescriptor(
    name: "pitome",
    summary: "PiToMe: merge high-energy (redundant) tokens, protect low-energy (distinctive) ones; BSM on energy ranks in the first half of the blocks",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("ratio", .real(0.5...1), default: "0.9",
                      "kept fraction of the T non-prefix tokens in every block: floor(T - T*ratio) of them merge",
                      recon: "ratios below 0.5 are refused: they ask for more merges than set A holds, and the official code fails with a shape error"),
      MethodParameter("margin", .real(0...1), default: "0.75", "energy margin m0; block l of L uses m0 - m0*l/L"),
      MethodParameter("alpha", .real(0...10), default: "1", "ELU alpha of the energy: alpha*(exp(z)-1) below the margin"),
      MethodParameter("bsm", .autoOr(.blocks(allowsAll: true)), default: "auto",
                      "blocks using BSM on the energy ranking: auto = the first ceil(L/2) (the DeiT patch), none = the protect variant everywhere (the paper), 6-11 = the MAE patch"),
      MethodParameter("prop", .flag, default: "false", "proportional attention: add log(token size) to the attention logits",
                      recon: "the official DeiT patch never applies it (its prop_attn flag is stored, not read); true lets ToMe's advice for off-the-shelf models be tried"),
    ],
    reconNotes: [
      rotaryMergeNote,
      "every prefix token (class, distillation, registers) is protected; the official code protects the class token only",
      "exact ties in energy or similarity go to the lower token index: the official argsort is not stable",
      "a block where r = floor(T - T*ratio) is 0 is left untouched: the official protect variant crashes there and its BSM variant only reorders",
    ],
    // The official DeiT-S sweep (0.975 to 0.9), then the notebook's heavier settings; 0.025 steps matter here because
    // the ratio compounds over every block, so `+`/`-` move along this list.
    sweep: SweepAxis(key: "ratio", values: ["0.975", "0.95", "0.925", "0.9", "0.85", "0.8", "0.75"]),
    step: .alongSweep
  ) { v throws(MethodSpecError) in
    let bsm: BSMBlocks
    if case .auto = v["bsm"] { bsm = .auto } else { bsm = v.blocks("bsm").map { .listed($0) } ?? .every }
    return PiToMe(ratio: v.real("ratio"), margin: v.real("margin"), alpha: v.real("alpha"), bsm: bsm,
                  proportionalAttention: v.flag("prop"))
  }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(PiToMePolicy(self, depth: depth)) }
}

public struct PiToMePolicy: TokenPolicy {
  public let ratio: Double
  /// The margin of each block, m0 - m0 * (l / L) evaluated in double as apply_patch does.
  public let margins: [Double]
  public let alpha: Float
  /// Blocks that run the BSM variant (the rest run the protect variant).
  public let bsmBlocks: [Int]
  public let proportionalAttention: Bool

  public init(_ c: PiToMe, depth: Int) {
    ratio = c.ratio
    margins = (0..<depth).map { c.margin - c.margin * (Double($0) / Double(depth)) }
    alpha = Float(c.alpha)
    bsmBlocks = c.bsm.resolved(depth: depth)
    proportionalAttention = c.proportionalAttention
  }

  /// Tokens merged out of `t` non-prefix tokens: floor(T - T*ratio) in double, T*ratio rounded before the subtraction
  /// as the official code writes it (T = 180, ratio 0.9 gives 18; floor(T*(1 - ratio)) would give 17). The cap at T/2
  /// only guards the arithmetic: ratio >= 0.5 never reaches it.
  public func merges(tokens t: Int) -> Int {
    guard ratio < 1, t > 0 else { return 0 }
    let tokens = Double(t), kept = tokens * ratio
    return max(0, min(Int((tokens - kept).rounded(.down)), t / 2))
  }

  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { proportionalAttention ? .logSize : .none }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = n - merges(tokens: n - shape.prefix)
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  /// The T x T similarity matmul of the non-prefix keys ([T, d] x [d, T]), whenever the block merges.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    let t = counts.tokensIn - shape.prefix
    return counts.tokensOut < counts.tokensIn ? t * t * shape.headDim : 0
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount, prefix = state.prefixCount, t = n - prefix
    let r = merges(tokens: t)
    guard r > 0, block < margins.count else {
      return PolicyOutcome(event: ratio < 1 ? "nothing merged: floor(T - T*ratio) is 0 for T = \(t)" : nil)
    }
    let bsm = bsmBlocks.contains(block)
    let margin = Float(margins[block])
    let (similarity, energy) = PiToMePolicy.energies(attention.meanKeys(), prefix: prefix, margin: margin, alpha: alpha)

    // π: token positions (0-based among the T non-prefix tokens) by descending energy, ties to the lower position.
    let rank = (0..<t).sorted { energy[$0] > energy[$1] || (energy[$0] == energy[$1] && $0 < $1) }
    // Sets alternate along π: the BSM variant splits all T tokens, the protect variant only the 2r highest.
    let paired = bsm ? t : 2 * r
    let setA = stride(from: 0, to: paired, by: 2).map { rank[$0] }
    let setB = stride(from: 1, to: paired, by: 2).map { rank[$0] }
    // Best B partner of every A token (first maximum in B's order, as torch.max).
    var best = [Float](repeating: -.infinity, count: setA.count)
    var partner = [Int](repeating: 0, count: setA.count)
    for (ai, a) in setA.enumerated() {
      for (bi, b) in setB.enumerated() where similarity[a &* t &+ b] > best[ai] {
        best[ai] = similarity[a &* t &+ b]; partner[ai] = bi
      }
    }
    // Which A tokens merge: all of them (protect), or the r with the most similar partners (BSM; ties to the lower
    // rank), the others staying in that order.
    let order = bsm ? setA.indices.sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) } : Array(setA.indices)
    let sources = order.prefix(r)
    // New order, as the official code concatenates it: prefix; protected tokens in π order (protect) or unmatched A
    // tokens by descending similarity (BSM); then set B in π order.
    let stay = bsm ? order.dropFirst(r).map { setA[$0] } : Array(rank[paired...])
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    for p in 0..<prefix { newIndex[p] = p }
    var next = prefix
    for s in stay + setB { newIndex[prefix + s] = next; next += 1 }
    for ai in sources {
      newIndex[prefix + setA[ai]] = newIndex[prefix + setB[partner[ai]]]
      fate[prefix + setA[ai]] = .merged
    }
    let newCount = n - r
    // Size-weighted means (merge_wavg): x' = sum(size * x) / sum(size), size' = sum(size).
    let weights = state.size
    let (x, size) = state.x.weightedMeans(into: newCount, newIndex: newIndex) { weights[$0] }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: weights)

    let what = bsm
      ? "BSM on energy ranks: merged \(r) of \(t) tokens into their most similar partners"
      : "protect: \(paired) highest-energy tokens paired, \(r) merged, \(t - paired) lowest-energy tokens protected"
    var event = "\(what), margin \(twoDecimals(margins[block])); \(newCount) remain"
    if block == 0 {
      let protect = (0..<margins.count).filter { !bsmBlocks.contains($0) }
      func blocks(_ list: [Int]) -> String { (list.count == 1 ? "block " : "blocks ") + BlockList.format(list) }
      event += " (" + [bsmBlocks.isEmpty ? nil : "BSM in \(blocks(bsmBlocks))",
                       protect.isEmpty ? nil : "protect in \(blocks(protect))"].compactMap { $0 }.joined(separator: ", ") + ")"
    }
    // For the views: every non-prefix token's energy, and the tokens the protect variant kept out of the pairing.
    var values = [Float](repeating: .nan, count: n)
    for i in 0..<t { values[prefix + i] = energy[i] }
    var roles = [TokenRole](repeating: .ordinary, count: n)
    if !bsm { for i in rank[paired...] { roles[prefix + i] = .protected } }
    let score = TokenScore(name: "energy", meaning: "high: redundant, merged; low: distinctive",
                           values: values)
    return PolicyOutcome(event: event, annotations: TokenAnnotations(score: score, roles: roles))
  }

  /// The similarities and energies of the non-prefix tokens.
  ///
  /// Shape legend: K is n x d (the head-mean keys, prefix rows first), M the T = n - prefix normalised non-prefix
  /// rows, S = M Mᵀ is T x T (row-major, diagonal included), E has T entries.
  ///   M_t = K_t / max(||K_t||, 1e-12)                  (F.normalize)
  ///   E_t = (1/T) Σ_j ELU(S_tj - m), ELU(z) = z for z > 0, alpha * (exp(z) - 1) otherwise
  /// S and the ELU are float32 as in torch (the margin is rounded to float32 before the subtraction, as torch does
  /// with a Python scalar); each row's sum is accumulated in double, so its rounding does not depend on T.
  static func energies(_ keys: Matrix, prefix: Int, margin: Float, alpha: Float) -> (similarity: [Float], energy: [Float]) {
    let d = keys.cols, t = keys.rows - prefix
    var metric = keys
    var similarity = [Float](repeating: 0, count: t * t)
    var energy = [Float](repeating: 0, count: t)
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress! + prefix &* d
      for i in 0..<t { divideByNorm(m + i &* d, count: d, atLeast: 1e-12) }
      similarity.withUnsafeMutableBufferPointer { sp in
        energy.withUnsafeMutableBufferPointer { ep in
          let metricP = SendablePointer(m), simP = SendablePointer(sp.baseAddress!), energyP = SendablePointer(ep.baseAddress!)
          // Rows are split over the pool; each writes only its own row of S and its own energy.
          ThreadPool.shared.parallelRanges(t, minChunk: 16, chunksPerThread: 2) { rows in
            for i in rows {
              let out = simP.p + i &* t, mi = metricP.p + i &* d
              var total: Double = 0
              for j in 0..<t {
                let s = dotProduct(mi, metricP.p + j &* d, count: d)
                out[j] = s
                let z = s - margin
                total += Double(z > 0 ? z : alpha * expm1f(z))
              }
              energyP.p[i] = Float(total / Double(t))
            }
          }
        }
      }
    }
    return (similarity, energy)
  }
}

/// Divides a row by max(its L2 norm, `atLeast`): F.normalize with eps = `atLeast`, or plain `x / x.norm()` with 0.
/// Both official codes divide; ToMe's `normalizeRow` multiplies by the reciprocal, which can round differently in the
/// last bit.
@inline(__always)
func divideByNorm(_ row: UnsafeMutablePointer<Float>, count d: Int, atLeast floor: Float) {
  var norm: Float = 0
  for c in 0..<d { norm += row[c] * row[c] }
  let scale = max(norm.squareRoot(), floor)
  for c in 0..<d { row[c] /= scale }
}

/// "0.69": a margin or a distance to two decimals, as events print them.
func twoDecimals(_ v: Double) -> String {
  let hundredths = Int((abs(v) * 100).rounded())
  let digits = hundredths % 100
  return (v < 0 && hundredths > 0 ? "-" : "") + "\(hundredths / 100)." + (digits < 10 ? "0" : "") + "\(digits)"
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
