// VisionZip: Longer is Better but Not Necessary in Vision Language Models (Yang et al., CVPR 2025).
// ref: dvlab-research/VisionZip visionzip/clip_encoder.py (CLIPVisionTower_VisionZip.forward: selection and merge),
// visionzip/utils.py (CLIPAttention_forward: head-mean raw keys; apply_info: the layer that keeps them),
// visionzip/main.py (visionzip: dominant - 1 patches). The VisionZip article in TokenMethods.docc lists where this
// differs from the official code.
//
// A one-shot output compressor. After block ℓ's MLP residual (the layer a VLM's projector reads: -2 in LLaVA), with
// that block's attention and keys:
//   dominant    the prefix tokens and the D - F patches the CLS query attends to most (summed over heads), kept in
//               ascending position;
//   contextual  the other R patches, in ascending position, are a list; targets sit at list positions 0, s, 2s, ...
//               (s = ⌊R / c⌋, the first c); every other token joins the target with the most similar head-mean key
//               (cosine), and a contextual token is its target PLUS the mean of the tokens that joined it.
// Output: [prefix, dominant patches, contextual tokens]. Later blocks run plain attention over them (no size bias).
import ViTEngine

/// VisionZip's typed configuration.
public struct VisionZip: MethodConfiguration, Hashable {
  /// Dominant tokens, prefix tokens included (the official `dominant`).
  public var dominant: Int
  /// Contextual tokens (targets); 0 drops the remaining patches.
  public var contextual: Int
  /// The block whose output is compressed, as given (negative counts from the end).
  public var layer: Int
  /// How patches are ranked for the dominant set (`auto`: the CLS row where there is one, as officially).
  public var score: AttentionScore

  public init(dominant: Int, contextual: Int, layer: Int, score: AttentionScore = .auto) {
    self.dominant = dominant; self.contextual = contextual; self.layer = layer; self.score = score
  }

  public static let descriptor = MethodDescriptor(
    name: "visionzip",
    summary: "VisionZip (VLM towers): after one block, keep the tokens CLS attends to most and merge the rest into a few contextual tokens; at its official layer (-2) only the last block of a classifier gets cheaper",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("dominant", .integer(1...100_000), default: "54",
                      "dominant tokens kept, CLS and every other prefix token included (the official count)"),
      MethodParameter("contextual", .integer(0...100_000), default: "10",
                      "contextual tokens: uniformly spaced targets, each plus the mean of the tokens most similar to it",
                      recon: "0 keeps the dominant tokens only and drops the rest (the official code divides by zero there)"),
      MethodParameter("layer", .integer(-100_000...100_000), default: "-2",
                      "the block whose output is compressed, 0-based; negative counts from the end (-2 = LLaVA's, official; -1 leaves the logits unchanged)",
                      recon: "any layer but -2 is an extension: the official code hard-wires block L - 2"),
      AttentionScore.parameter(official: "CLS attention summed over heads (the official score)"),
    ],
    reconNotes: [
      rotaryMergeNote,
      "designed for a VLM's vision tower, whose layer -2 output goes to the language model: at that layer a classifier saves only its last block (94% of DeiT-S's MACs), and at layer=-1 it saves nothing",
      "prefix tokens beyond CLS (distillation, registers) are all kept and counted in dominant; with a class token the score is its row (the official code knows only CLS); without one it is the mean attention received, the CLS row and each token's own row included",
      "ties go to the lower position, in the top-k and in the choice of target (torch leaves top-k ties unspecified)",
    ],
    // Dominant counts that fit both the bundled model's 196 patches and its 7x7 grid (49 patches, with 10 contextual
    // tokens at most 40), from light to heavy.
    sweep: SweepAxis(key: "dominant", values: ["40", "32", "24", "16", "8", "4"]),
    step: .integer(key: "dominant", by: 1)
  ) { v throws(MethodSpecError) in
    VisionZip(dominant: v.integer("dominant"), contextual: v.integer("contextual"), layer: v.integer("layer"),
              score: AttentionScore(rawValue: v.choice("score"))!)
  }

  /// The 0-based block for a model of `depth` blocks.
  public func block(depth: Int) -> Int { layer < 0 ? depth + layer : layer }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(VisionZipPolicy(configuration: self, block: block(depth: depth))) }

  /// F ≤ dominant ≤ P + F, contextual ≤ the patches left, and a block of the model.
  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    guard (-depth..<depth).contains(layer) else {
      throw .inconsistent(method: "visionzip", key: "layer", value: "\(layer)",
                          expected: "a block in \(-depth)...\(depth - 1) (negative counts from the end)")
    }
    try score.validate(method: "visionzip", prefix: prefix)
    let patches = grid.count
    let tokens = prefix == 1 ? "CLS" : "the \(prefix) prefix tokens"
    guard dominant >= prefix else {
      throw .inconsistent(method: "visionzip", key: "dominant", value: "\(dominant)",
                          expected: "at least \(prefix): dominant counts \(tokens), which are always kept")
    }
    guard dominant <= patches + prefix else {
      throw .inconsistent(method: "visionzip", key: "dominant", value: "\(dominant)",
                          expected: "at most \(patches + prefix): \(patches) patches + \(tokens)")
    }
    let remaining = patches - (dominant - prefix)
    guard contextual <= remaining else {
      throw .inconsistent(method: "visionzip", key: "contextual", value: "\(contextual)",
                          expected: "at most \(remaining), the patches left after dominant=\(dominant) keeps \(dominant - prefix) of \(patches) (the targets are among them)")
    }
  }
}

public struct VisionZipPolicy: TokenPolicy {
  public let configuration: VisionZip
  /// The 0-based block whose output is compressed.
  public let block: Int

  /// Blocks before the compressed one are the baseline's (that block's attention and MLP are too, but its output is
  /// not).
  public var leadingBaselineBlocks: Int { block }

  /// The compression of n tokens with `prefix` prefix tokens: dominant patches kept, patches left over, contextual
  /// tokens. Validation keeps the spec within the grid; the clamps only keep a plan made for another grid defined.
  func budget(tokensIn n: Int, prefix: Int) -> (dominantPatches: Int, remaining: Int, contextual: Int) {
    let patches = n - prefix
    let k = min(max(configuration.dominant - prefix, 0), patches)
    return (k, patches - k, min(configuration.contextual, patches - k))
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    guard block == self.block else { return .unreduced(n) }
    let b = budget(tokensIn: n, prefix: shape.prefix)
    // The whole block runs on the n tokens; only its output shrinks.
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: n, tokensOut: shape.prefix + b.dominantPatches + b.contextual)
  }

  /// As fvcore counts the official code: the (R - c) x c cosine matmul over head-mean keys (d wide), and the
  /// aggregation, done there as a dense one-hot matmul, c x (R - c) x C. Scores, norms and the head mean are free.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    guard block == self.block else { return 0 }
    let b = budget(tokensIn: counts.tokensIn, prefix: shape.prefix)
    let assigned = b.remaining - b.contextual
    return assigned * b.contextual * shape.headDim + b.contextual * assigned * shape.embed
  }

  public func reduceOutput(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard block == self.block else { return PolicyOutcome() }
    let n = state.tokenCount, prefix = state.prefixCount, c = state.x.cols
    let (k, remainingCount, contextual) = budget(tokensIn: n, prefix: prefix)
    guard k < n - prefix else { return PolicyOutcome(event: "kept all \(n - prefix) patches: dominant=\(configuration.dominant) covers them") }

    // Scores per token (prefix columns unused). probabilities: H x N x N, row-major per head.
    let heads = attention.heads
    let scoring = configuration.score.resolved(prefix: prefix)
    var score = [Float](repeating: 0, count: n)
    let base = attention.probabilities.baseAddress!
    for h in 0..<heads {
      let head = base + h &* n &* n  // seek to head h
      switch scoring {
      case .cls, .auto:
        for j in 0..<n { score[j] += head[j] }  // the CLS query row, summed over heads
      case .mean:
        for i in 0..<n {
          let row = head + i &* n  // seek to query row i
          for j in 0..<n { score[j] += row[j] }
        }
      }
    }
    if scoring == .mean { score = score.map { $0 / Float(heads * n) } }
    let ranked = (prefix..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
    let dominant = ranked.prefix(k).sorted()
    let isDominant = Set(dominant)
    let remaining = (prefix..<n).filter { !isDominant.contains($0) }  // ascending position
    let mass = dominant.reduce(Float(0)) { $0 + score[$1] } / score.reduce(0, +)

    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    for t in 0..<prefix { newIndex[t] = t }
    for (i, t) in dominant.enumerated() { newIndex[t] = prefix + i }
    let kept = prefix + k
    // The prefix and dominant rows copied to their new places. x: (kept + contextual) x C.
    var x = Matrix(rows: kept + contextual, cols: c)
    var size = [Float](repeating: 0, count: kept + contextual)
    for t in 0..<n where newIndex[t] >= 0 {
      x.data.replaceSubrange((newIndex[t] * c)..<((newIndex[t] + 1) * c), with: state.x.data[(t * c)..<((t + 1) * c)])
      size[newIndex[t]] = state.size[t]
    }

    let sourceText = scoring == .cls ? "by CLS attention (\(percent(mass)) of its attention mass)"
                                                 : "by mean attention received (\(percent(mass)) of it)"
    let prefixText = prefix == 1 ? "CLS" : "\(prefix) prefix tokens"
    let head = "kept \(k) of \(n - prefix) patches + \(prefixText) \(sourceText)"
    // For the views: the ranking score of every patch, and which tokens are dominant (contextual ones added below).
    var values = score
    for t in 0..<prefix { values[t] = .nan }
    var roles = [TokenRole](repeating: .ordinary, count: n)
    for t in dominant { roles[t] = .dominant }
    func annotations() -> TokenAnnotations {
      TokenAnnotations(score: TokenScore(name: scoring == .cls ? "CLS attention (summed over heads)" : "mean attention received",
                                         meaning: "the highest are kept as dominant tokens", values: values),
                       roles: roles)
    }
    guard contextual > 0 else {
      for t in remaining { fate[t] = .pruned }
      state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: [Float](repeating: 1, count: n))
      return PolicyOutcome(event: "\(head); dropped the other \(remainingCount) (contextual=0); \(kept) tokens remain",
                           annotations: annotations())
    }

    // Targets: uniformly spaced over the list of remaining tokens. Every other remaining token joins the target with
    // the most similar normalised head-mean key (the first maximum on ties, as argmax).
    let step = max(1, remainingCount / contextual)
    let targetPositions = Array(stride(from: 0, to: remainingCount, by: step).prefix(contextual))
    let targets = targetPositions.map { remaining[$0] }
    let isTarget = Set(targets)
    var metric = attention.meanKeys()
    let d = metric.cols
    var group = [Int](repeating: -1, count: n)  // token -> target index
    for (j, t) in targets.enumerated() { group[t] = j }
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress!  // n x d
      for t in remaining { normalizeRow(m + t &* d, count: d) }
      for t in remaining where !isTarget.contains(t) {
        var best = -Float.infinity, choice = 0
        for (j, target) in targets.enumerated() {
          let s = dotProduct(m + t &* d, m + target &* d, count: d)
          if s > best { best = s; choice = j }
        }
        group[t] = choice
      }
    }
    // contextual_j = x_target + (Σ x of the tokens that joined j) / max(1, their count), summed in list order.
    // state.x: n x C; sums: contextual x C; x: (kept + contextual) x C, rows kept... are the contextual tokens.
    var sums = Matrix(rows: contextual, cols: c)
    var joined = [Float](repeating: 0, count: contextual)
    for t in remaining {
      let j = group[t]
      newIndex[t] = kept + j
      fate[t] = .merged
      size[kept + j] += state.size[t]
      guard !isTarget.contains(t) else { continue }
      joined[j] += 1
      for col in 0..<c { sums.data[j * c + col] += state.x.data[t * c + col] }
    }
    for (j, t) in targets.enumerated() {
      let count = max(1, joined[j])
      for col in 0..<c { x.data[(kept + j) * c + col] = state.x.data[t * c + col] + sums.data[j * c + col] / count }
    }
    // Recorded row of contextual token j: x_target + mean of the joiners, halved so that it sums to 1 (target ½, each
    // joiner ½ / count); a target nobody joined is its own token.
    var weights = [Float](repeating: 1, count: n)
    for (j, t) in targets.enumerated() { weights[t] = max(1, joined[j]) }
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: weights)
    let spacing = step == 1 ? "every remaining patch" : "every \(ordinal(step)) remaining patch"
    for t in targets { roles[t] = .contextual }
    return PolicyOutcome(event: "\(head); merged the other \(remainingCount) into \(contextual) contextual tokens (targets: \(spacing)); \(kept + contextual) tokens remain",
                         annotations: annotations())
  }
}

/// "41.2%": one decimal.
private func percent(_ v: Float) -> String { "\((Double(v) * 1000).rounded() / 10)%" }

/// 2nd, 3rd, 14th, 21st.
private func ordinal(_ n: Int) -> String {
  let suffix = (11...13).contains(n % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][n % 10] ?? "th"
  return "\(n)\(suffix)"
}
