// Multiply-accumulate counting, the fvcore way (as the token-reduction papers report GFLOPs):
//   linear / conv / matmul: one per multiply-add (q·kᵀ and A·v included: fvcore with fused attention off);
//   LayerNorm: 5 per element; softmax, GELU, QuickGELU, SiLU and SwiGLU's product, residual adds, scaling: 0.
//   SwiGLU is three linears (gate, up, down: 3·N·C·F); rotary position embeddings count 0 (elementwise, like scaling);
//   the Eva class's extra LayerNorms (over the attention output, over the MLP's hidden units) count 5 per element.
// The MAP head (SigLIP) counts as its attention (one query over the pooled tokens) and its MLP.
// Every op is counted with the tokens it actually sees (`BlockTokenCounts`); the forward pass and weight-free counting
// both go through `BlockMACs.block(_:shape:extra:)`, so the two cannot drift apart.

public struct BlockMACs: Sendable, Equatable {
  /// q projection for the queries plus k, v projections for the keys.
  public var qkv: Int = 0
  /// q·kᵀ and A·v.
  public var attention: Int = 0
  public var proj: Int = 0
  /// fc1 + fc2 (and SwiGLU's gate).
  public var mlp: Int = 0
  /// norm1 + norm2 (and the Eva class's norms inside attention and the MLP).
  public var layerNorm: Int = 0
  /// The token method's own work.
  public var extra: Int = 0
  public init() {}
  public var total: Int { qkv + attention + proj + mlp + layerNorm + extra }

  /// One block that saw `counts` tokens, plus the method's own work.
  public static func block(_ counts: BlockTokenCounts, shape: BlockShape, extra: Int = 0) -> BlockMACs {
    var m = block(queries: counts.queries, keys: counts.keys, mlpTokens: counts.mlpTokens, embed: shape.embed,
                  attention: shape.attentionWidth, hidden: shape.hidden, extra: extra)
    if shape.gatedMLP { m.mlp += counts.mlpTokens * shape.embed * shape.hidden }
    if shape.mlpNorm { m.layerNorm += 5 * counts.mlpTokens * shape.hidden }
    if shape.attentionNorm { m.layerNorm += 5 * counts.queries * shape.attentionWidth }
    return m
  }

  /// One block with nQ query tokens, nKV key/value tokens and nMLP tokens through the MLP.
  /// C = embedding width, A = attention width (heads * head width), F = MLP hidden width.
  static func block(queries nQ: Int, keys nKV: Int, mlpTokens nMLP: Int, embed C: Int, attention A: Int,
                    hidden F: Int, extra: Int = 0) -> BlockMACs {
    var m = BlockMACs()
    m.qkv = nQ * C * A + 2 * nKV * C * A
    m.attention = 2 * nQ * nKV * A
    m.proj = nQ * A * C
    m.mlp = 2 * nMLP * C * F
    m.layerNorm = 5 * nQ * C + 5 * nMLP * C
    m.extra = extra
    return m
  }
}

public enum MACCounter {
  /// Patch embedding: P patches of (Cin x p x p) pixels to C channels, and norm_pre over every token where there is one.
  public static func stem(_ shape: ModelShape, patches: Int) -> Int {
    patches * shape.inChannels * shape.patchSize * shape.patchSize * shape.embedDim
      + (shape.normPre ? 5 * (shape.prefixTokens + patches) * shape.embedDim : 0)
  }

  /// Final LayerNorm over all remaining tokens (or fc_norm over the pooled feature), the MAP head, and the classifier
  /// head(s).
  public static func head(_ shape: ModelShape, finalTokens: Int) -> Int {
    let c = shape.embedDim
    var m = shape.fcNorm ? 5 * c : 5 * finalTokens * c
    if shape.pooling == .map {
      // q of the one probe, k and v of every pooled token, q·kᵀ and A·v, proj, the MLP's norm and two linears.
      let pooled = Swift.max(finalTokens - shape.prefixTokens, 0)
      m += c * c + 2 * pooled * c * c + 2 * pooled * c + c * c + 5 * c + 2 * c * shape.mapHidden
    }
    if shape.classes > 0 {
      let inWidth = shape.headInput == .classTokenAndPatchMean ? 2 * shape.embedDim : shape.embedDim
      m += inWidth * shape.classes * (shape.distilledHead ? 2 : 1)
    }
    return m
  }

  /// The unreduced model on a grid: every block sees every token.
  public static func baseline(_ shape: ModelShape, grid: GridSize) -> MACBreakdown {
    planned(shape, grid: grid, policy: NoReduction())!
  }

  /// A model's MACs without weights or an image: `policy`'s planned token counts block by block on `grid` (the
  /// checkpoint's native grid when nil), or nil when they depend on the image.
  public static func planned(_ shape: ModelShape, grid: GridSize? = nil, policy: any TokenPolicy) -> MACBreakdown? {
    let grid = grid ?? shape.grid
    var n = shape.prefixTokens + grid.count
    var blocks: [MACBreakdown.Block] = []
    for i in 0..<shape.depth {
      let blockShape = BlockShape(shape, block: i, grid: grid)
      guard let counts = policy.plannedCounts(block: i, tokensIn: n, shape: blockShape) else { return nil }
      let macs = BlockMACs.block(counts, shape: blockShape, extra: policy.extraMACs(block: i, counts: counts, shape: blockShape))
      blocks.append(MACBreakdown.Block(counts: counts, macs: macs))
      n = counts.tokensOut
    }
    return MACBreakdown(stem: stem(shape, patches: grid.count), blocks: blocks, head: head(shape, finalTokens: n))
  }
}

/// A whole model's MACs: stem, each block with the tokens it saw, and the final norm plus head.
public struct MACBreakdown: Sendable, Equatable {
  public struct Block: Sendable, Equatable {
    public let counts: BlockTokenCounts
    public let macs: BlockMACs
  }
  public let stem: Int
  public let blocks: [Block]
  public let head: Int
  public var total: Int { stem + blocks.reduce(0) { $0 + $1.macs.total } + head }
}
