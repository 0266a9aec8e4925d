// The one extension point of the forward pass: a token method is a small policy the block consults
// (ToMe's hook style: tome/patch/timm.py calls merge between attention and MLP). The forward pass owns the maths of
// attention and MLP; the policy only decides what happens to the token sequence.

/// What a policy sees of the attention it follows: the probabilities actually used and the keys.
public struct AttentionView {
  public let heads: Int, headDim: Int
  /// Query rows and key columns.
  public let queries: Int, keys: Int
  /// H x queries x keys probabilities, row-major per head.
  public let probabilities: UnsafeBufferPointer<Float>
  /// keys x (H*d) key vectors (heads side by side), as produced by the qkv projection.
  public let keyVectors: UnsafeBufferPointer<Float>

  /// The CLS query row averaged over heads: keys values (EViT's and MSTM's importance score, incl. the CLS column).
  public func meanClassAttention() -> [Float] {
    var mean = [Float](repeating: 0, count: keys)
    for h in 0..<heads {
      let row = probabilities.baseAddress! + h &* queries &* keys
      for j in 0..<keys { mean[j] += row[j] }
    }
    let inv = 1 / Float(heads)
    for j in 0..<keys { mean[j] *= inv }
    return mean
  }

  /// The keys averaged over heads: keys x d (ToMe's similarity metric, before normalisation).
  public func meanKeys() -> Matrix {
    var out = Matrix(rows: keys, cols: headDim)
    let width = heads * headDim
    let inv = 1 / Float(heads)
    // Pointer loops (indexing out.data per element cost about 40 µs per DeiT-S block); heads summed in order, then
    // scaled, as before.
    out.data.withUnsafeMutableBufferPointer { op in
      let o = op.baseAddress!
      for t in 0..<keys {
        let src = keyVectors.baseAddress! + t &* width, dst = o + t &* headDim
        for h in 0..<heads {
          let head = src + h &* headDim
          for c in 0..<headDim { dst[c] += head[c] }
        }
        for c in 0..<headDim { dst[c] *= inv }
      }
    }
    return out
  }
}

/// What a policy reports for one block.
public struct PolicyOutcome: Sendable {
  /// One human sentence on what the method did here ("kept 138 of 196 patches by CLS attention; ...").
  public var event: String?
  /// MACs of the method's own work (matching scores, CLS scoring, ...), counted the fvcore way.
  public var extraMACs: Int
  public init(event: String? = nil, extraMACs: Int = 0) { self.event = event; self.extraMACs = extraMACs }
}

/// What a policy sees before attention: the q, k, v projections of every token (IdleViT's selection score).
public struct ProjectionView {
  public let heads: Int, headDim: Int, tokens: Int
  /// tokens x 3A: [q heads | k heads | v heads] per row, before the 1/sqrt(d) scale.
  public let qkv: UnsafeBufferPointer<Float>

  /// Mean over heads of q_token · k_j for every key j (pre-softmax, unscaled): IdleViT's selection score.
  public func meanQueryKeyScores(query token: Int) -> [Float] {
    let a = heads * headDim, stride = 3 * a
    let q = qkv.baseAddress! + token &* stride
    var scores = [Float](repeating: 0, count: tokens)
    for j in 0..<tokens {
      let k = qkv.baseAddress! + (j &* stride &+ a)
      var s: Float = 0
      for c in 0..<a { s += q[c] * k[c] }
      scores[j] = s / Float(heads)
    }
    return scores
  }
}

/// Keys and values built from groups of tokens (ClusTR): every token still queries, but it attends over one key and
/// value per group, made from the mean of the group's normalised tokens, with log(group size) added to the logits.
public struct KeyValueGroups: Sendable {
  /// For each token of the block's input: its group, which is also its key column. Groups are numbered from 0.
  public let groupOfToken: [Int32]
  public let groupCount: Int
  public let event: String
  /// The grouping's own cost (ClusTR: the distance matrix), counted the fvcore way.
  public let extraMACs: Int
  public init(groupOfToken: [Int32], groupCount: Int, event: String, extraMACs: Int) {
    self.groupOfToken = groupOfToken; self.groupCount = groupCount; self.event = event; self.extraMACs = extraMACs
  }
}

/// A token-reduction method as the forward pass sees it. The forward pass consults it at three points of each block:
/// before attention, which tokens take part at all (IdleViT) and what the keys are (ClusTR); between attention and
/// MLP, what happens to the sequence (everything else).
public protocol TokenPolicy: Sendable {
  /// The tokens that take part in `block`, in the order they are processed; nil means all. The others are idle:
  /// copied through unchanged, no attention update and no MLP (IdleViT). Prefix tokens must be included.
  func activeTokens(block: Int, state: TokenState, projections: ProjectionView) -> (tokens: [Int], event: String, extraMACs: Int)?
  /// Groups the tokens into shared keys and values for `block`; nil means one key per token. `normalized` is the
  /// block's norm1 output (N x C).
  func keyValueGroups(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups?
  /// Adds log(size) of each key to the attention logits of `block` (ToMe's proportional attention).
  func usesProportionalAttention(block: Int, state: TokenState) -> Bool
  /// Called once per block, after the attention residual and before the MLP; may shrink or merge the sequence.
  func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome
}

extension TokenPolicy {
  public func activeTokens(block: Int, state: TokenState, projections: ProjectionView) -> (tokens: [Int], event: String, extraMACs: Int)? { nil }
  public func keyValueGroups(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups? { nil }
}

/// The baseline: every token through every block.
public struct NoReduction: TokenPolicy {
  public init() {}
  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { false }
  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome { PolicyOutcome() }
}
