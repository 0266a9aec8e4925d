// Multiply-accumulate counting, the fvcore way (methods.md §0.3, ecosystem.md §3.5):
//   linear / conv / matmul: one per multiply-add (q·kᵀ and A·v included: fvcore with fused attention off);
//   LayerNorm: 5 per element; softmax, GELU, residual adds, scaling: 0.
// Every op is counted with the tokens it actually sees.

public struct BlockMACs: Sendable, Equatable {
  /// q projection for the queries plus k, v projections for the keys.
  public var qkv: Int = 0
  /// q·kᵀ and A·v.
  public var attention: Int = 0
  public var proj: Int = 0
  /// fc1 + fc2.
  public var mlp: Int = 0
  /// norm1 + norm2.
  public var layerNorm: Int = 0
  /// The token method's own work.
  public var extra: Int = 0
  public init() {}
  public var total: Int { qkv + attention + proj + mlp + layerNorm + extra }

  /// One block with nQ query tokens, nKV key/value tokens and nMLP tokens through the MLP.
  /// C = embedding width, A = attention width (heads * head width), F = MLP hidden width.
  public static func block(queries nQ: Int, keys nKV: Int, mlpTokens nMLP: Int, embed C: Int, attention A: Int,
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
  /// Patch embedding: P patches of (Cin x p x p) pixels to C channels.
  public static func stem(_ shape: ModelShape, patches: Int) -> Int {
    patches * shape.inChannels * shape.patchSize * shape.patchSize * shape.embedDim
  }

  /// Final LayerNorm over all remaining tokens plus the classifier head(s).
  public static func head(_ shape: ModelShape, finalTokens: Int) -> Int {
    var m = 5 * finalTokens * shape.embedDim
    if shape.classes > 0 {
      let inWidth = shape.headInput == .classTokenAndPatchMean ? 2 * shape.embedDim : shape.embedDim
      m += inWidth * shape.classes * (shape.distilledHead ? 2 : 1)
    }
    return m
  }

  /// The unreduced model on a grid: every block sees every token.
  public static func baseline(_ shape: ModelShape, grid: GridSize) -> (stem: Int, blocks: [BlockMACs], head: Int, total: Int) {
    let n = shape.prefixTokens + grid.count
    let blocks = (0..<shape.depth).map { i in
      BlockMACs.block(queries: n, keys: n, mlpTokens: n, embed: shape.embedDim, attention: shape.heads[i] * shape.headDim[i],
                      hidden: shape.mlpHidden[i])
    }
    let stem = stem(shape, patches: grid.count)
    let head = head(shape, finalTokens: n)
    return (stem, blocks, head, stem + blocks.reduce(0) { $0 + $1.total } + head)
  }
}
