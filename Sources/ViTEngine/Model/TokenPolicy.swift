// The token method's side of a block. The block owns the maths of attention and MLP; a policy only decides what
// happens to the token sequence, at five named phases the block calls in this order:
//
//   keyValues   before the projections: group tokens into shared keys and values (ClusTR). Every token still queries.
//   select      after the projections: the tokens that take part in this block; the others idle (IdleViT).
//   attentionBias  what is added to every row of attention logits (proportional attention: log of each key's size).
//   reduce      between the attention residual and the MLP: merge, fuse or drop tokens (ToMe, EViT, MSTM).
//   reduceOutput   after the MLP residual: replace the block's output sequence (VisionZip compresses one layer's
//               output, as a VLM's projector would receive it, so the MLP must have run on every token first).
//
// Every phase has a default that does nothing, so a method implements only the phases it uses. `keyValues` and
// `select` are alternatives for one block: a block attends either over grouped keys or over a subset of tokens.
//
// The MACs of a block are counted once, from the token counts it actually saw (`BlockTokenCounts`), plus the
// method's own work (`extraMACs`), so the forward pass and weight-free counting (`plannedCounts`) share one formula.

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
    // scaled.
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

/// What a policy sees after the projections (IdleViT's selection score): the keys of every token and the queries of
/// at least the prefix tokens. A block whose policy `selectsTokens` projects no other queries and no values before
/// `select`, so that idle tokens cost only their key.
///
/// Shape legend: H heads of width d, A = H·d; keys: tokens x A (row stride ldk); queries: queryCount x A (row stride
/// ldq), rows 0..<queryCount of the sequence; both before the 1/sqrt(d) scale.
public struct ProjectionView {
  public let heads: Int, headDim: Int, tokens: Int
  /// Tokens 0..<queryCount have their query here (the prefix at least; every token when the block projected them all).
  public let queryCount: Int
  let queries: UnsafePointer<Float>, ldq: Int
  let keys: UnsafePointer<Float>, ldk: Int

  public init(heads: Int, headDim: Int, tokens: Int, queries: UnsafePointer<Float>, ldq: Int, queryCount: Int,
              keys: UnsafePointer<Float>, ldk: Int) {
    self.heads = heads; self.headDim = headDim; self.tokens = tokens
    self.queries = queries; self.ldq = ldq; self.queryCount = queryCount; self.keys = keys; self.ldk = ldk
  }

  /// Mean over heads of q_token · k_j for every key j (pre-softmax, unscaled): IdleViT's selection score.
  public func meanQueryKeyScores(query token: Int) -> [Float] {
    precondition(token < queryCount, "ProjectionView: query of token \(token) asked, only \(queryCount) projected")
    let a = heads * headDim
    ExecutedMACs.add(tokens &* a)
    let q = queries + token &* ldq
    var scores = [Float](repeating: 0, count: tokens)
    for j in 0..<tokens {
      let k = keys + j &* ldk
      var s: Float = 0
      for c in 0..<a { s += q[c] * k[c] }
      scores[j] = s / Float(heads)
    }
    return scores
  }

  /// Mean over heads of q̄ · k_j for every key j, q̄ the mean of every token's query (pre-softmax, unscaled): by
  /// linearity the mean over query rows of q_i · k_j, the score of a model without a class token. Needs every query
  /// (a policy asking for it does not use the lazy projections of `selectsTokens`).
  public func meanQueryOfAllTokensScores() -> [Float] {
    precondition(queryCount == tokens, "ProjectionView: the mean query needs all \(tokens) queries, \(queryCount) projected")
    let a = heads * headDim
    var meanQuery = [Float](repeating: 0, count: a)
    for t in 0..<tokens {
      let q = queries + t &* ldq
      for c in 0..<a { meanQuery[c] += q[c] }
    }
    ExecutedMACs.add(tokens &* a)
    let inv = 1 / Float(Swift.max(tokens, 1))
    var scores = [Float](repeating: 0, count: tokens)
    for j in 0..<tokens {
      let k = keys + j &* ldk
      var s: Float = 0
      for c in 0..<a { s += meanQuery[c] * k[c] }
      scores[j] = s * inv / Float(heads)
    }
    return scores
  }
}

/// The `select` phase's answer: the tokens that take part in the block, in the order they are processed. The others
/// are copied through unchanged (no attention update, no MLP). Prefix tokens must be included.
public struct TokenSelection: Sendable {
  public let tokens: [Int]
  /// One human sentence on the selection.
  public let event: String
  public init(tokens: [Int], event: String) { self.tokens = tokens; self.event = event }
}

/// The `keyValues` phase's answer: keys and values built from groups of tokens. Every token still queries, but it
/// attends over one key and value per group, made from the mean of the group's normalised tokens, with log(group
/// size) added to the logits (so a group of identical tokens attends exactly like its members).
public struct KeyValueGroups: Sendable {
  /// For each token of the block's input: its group, which is also its key column. Groups are numbered from 0.
  public let groupOfToken: [Int32]
  public let groupCount: Int
  public let event: String
  public init(groupOfToken: [Int32], groupCount: Int, event: String) {
    self.groupOfToken = groupOfToken; self.groupCount = groupCount; self.event = event
  }
}

/// The `attentionBias` phase's answer: what is added to every row of the attention logits.
public enum AttentionBias: Sendable, Equatable {
  case none
  /// log(size) of each key (ToMe's proportional attention: a merged token counts as the patches it holds).
  case logSize
}

/// The `reduce` phase's answer.
public struct PolicyOutcome: Sendable {
  /// One human sentence on what the method did here ("kept 138 of 196 patches by CLS attention; ...").
  public var event: String?
  /// What the views may draw of the decision (scores, roles, merge distances), indexed by the tokens the phase
  /// received; nil when the method has nothing to show beyond the token state.
  public var annotations: TokenAnnotations?
  public init(event: String? = nil, annotations: TokenAnnotations? = nil) {
    self.event = event; self.annotations = annotations
  }
}

/// The widths of one block, as a policy's MAC arithmetic needs them.
public struct BlockShape: Sendable, Equatable {
  /// C, the embedding width.
  public let embed: Int
  public let heads: Int, headDim: Int
  /// F, the MLP hidden width.
  public let hidden: Int
  /// Protected tokens at the front of the sequence (CLS, distillation, registers).
  public let prefix: Int
  /// P₀, the patches of the input grid: schedules that compound on the original patch count (ATC's clusters) read
  /// it in blocks whose input has already been reduced.
  public let patches: Int
  /// The block's extra parts (timm's Eva class): SwiGLU's third linear, the LayerNorm over the MLP's hidden units, the
  /// LayerNorm over the attention output.
  public var gatedMLP = false, mlpNorm = false, attentionNorm = false
  /// A = heads x head width.
  public var attentionWidth: Int { heads * headDim }
  public init(embed: Int, heads: Int, headDim: Int, hidden: Int, prefix: Int, patches: Int, gatedMLP: Bool = false,
              mlpNorm: Bool = false, attentionNorm: Bool = false) {
    self.embed = embed; self.heads = heads; self.headDim = headDim; self.hidden = hidden; self.prefix = prefix
    self.patches = patches; self.gatedMLP = gatedMLP; self.mlpNorm = mlpNorm; self.attentionNorm = attentionNorm
  }
  /// Block `i` of a model of this shape, run on `grid`.
  public init(_ shape: ModelShape, block i: Int, grid: GridSize) {
    self.init(embed: shape.embedDim, heads: shape.heads[i], headDim: shape.headDim[i], hidden: shape.mlpHidden[i],
              prefix: shape.prefixTokens, patches: grid.count, gatedMLP: shape.gatedMLP, mlpNorm: shape.mlpNorm,
              attentionNorm: shape.attentionNorm)
  }
}

/// How many tokens each part of one block sees.
public struct BlockTokenCounts: Sendable, Equatable {
  /// Tokens entering the block.
  public var tokensIn: Int
  /// Query rows and key columns of attention (fewer than tokensIn when tokens idle; fewer keys with grouped keys).
  public var queries: Int, keys: Int
  /// Tokens through the MLP (after the reduction).
  public var mlpTokens: Int
  /// Tokens leaving the block (fewer than mlpTokens when the output itself is reduced).
  public var tokensOut: Int
  public init(tokensIn: Int, queries: Int, keys: Int, mlpTokens: Int, tokensOut: Int) {
    self.tokensIn = tokensIn; self.queries = queries; self.keys = keys; self.mlpTokens = mlpTokens
    self.tokensOut = tokensOut
  }
  /// A block that every token goes through unchanged.
  public static func unreduced(_ n: Int) -> BlockTokenCounts {
    BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: n, tokensOut: n)
  }
}

/// A token-reduction method as the block sees it: the four phases, and its MAC arithmetic.
public protocol TokenPolicy: Sendable {
  /// Phase `keyValues`: groups the tokens of `block` into shared keys and values; nil means one key per token.
  /// `normalized` is the block's norm1 output (N x C).
  func keyValues(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups?
  /// Phase `select`: the tokens that take part in `block`; nil means all.
  func select(block: Int, state: TokenState, projections: ProjectionView) -> TokenSelection?
  /// Whether `select` may choose a subset in `block`. When true the block projects keys for every token and queries
  /// for the prefix tokens only, calls `select` with those, then projects the other queries and the values for the
  /// selected tokens alone; when false it projects q, k, v for every token in one GEMM (`select` still runs, on the
  /// full projections).
  func selectsTokens(block: Int, state: TokenState) -> Bool
  /// Phase `attentionBias`: added to the attention logits of `block` (ungrouped keys only: grouped keys always carry
  /// log(group size)).
  func attentionBias(block: Int, state: TokenState) -> AttentionBias
  /// Phase `reduce`: after the attention residual and before the MLP; may shrink or merge the sequence.
  func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome
  /// Phase `reduceOutput`: after the MLP residual, on the block's output; may shrink or merge the sequence. `attention`
  /// is the same block's attention (its rows and columns are the block's input tokens, not `state`'s).
  func reduceOutput(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome
  /// The method's own work in `block` (matching scores, clustering, ...), counted the fvcore way from the token
  /// counts the block saw. One formula for the forward pass and for weight-free counting.
  func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int
  /// The token counts of `block` entered by `tokensIn` tokens, when they do not depend on the image; nil when they
  /// do (weight-free counting then needs an image).
  func plannedCounts(block: Int, tokensIn: Int, shape: BlockShape) -> BlockTokenCounts?
  /// How many leading blocks this policy runs exactly as the baseline does: in each of them every phase gives its
  /// default answer (no key groups, no selection, no reduction) or one with the same effect on the maths (log(size)
  /// biases while every size is still 1 add exact zeros), and `extraMACs` is 0. A pass may then start from the
  /// baseline's records of those blocks (`ForwardPass(continuing:blocks:policy:)`, which `eval` uses to run the
  /// shared blocks once per image); Int.max when the policy never acts, 0 when unsure.
  var leadingBaselineBlocks: Int { get }
}

extension TokenPolicy {
  public func keyValues(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups? { nil }
  public func select(block: Int, state: TokenState, projections: ProjectionView) -> TokenSelection? { nil }
  public func selectsTokens(block: Int, state: TokenState) -> Bool { false }
  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { .none }
  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome { PolicyOutcome() }
  public func reduceOutput(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome { PolicyOutcome() }
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int { 0 }
  public func plannedCounts(block: Int, tokensIn: Int, shape: BlockShape) -> BlockTokenCounts? { nil }
  public var leadingBaselineBlocks: Int { 0 }
}

/// The baseline: every token through every block.
public struct NoReduction: TokenPolicy {
  public init() {}
  public func plannedCounts(block: Int, tokensIn: Int, shape: BlockShape) -> BlockTokenCounts? { .unreduced(tokensIn) }
  public var leadingBaselineBlocks: Int { Int.max }
}
