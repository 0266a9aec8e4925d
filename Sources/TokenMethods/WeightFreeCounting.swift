// Counting a method's MACs without weights or an image (`flops --arch deit-s --method ...`): methods whose token
// counts do not depend on the data describe, per block, how many tokens each part of the block sees. The forward pass
// reports the same numbers from the tokens it actually ran, and the tests check that the two agree.
import ViTEngine

/// The tokens each part of one block sees.
public struct BlockTokenCounts: Sendable, Equatable {
  public var queries: Int, keys: Int, mlpTokens: Int, tokensOut: Int
  public var extraMACs: Int
}

public protocol WeightFreeCountable {
  /// Counts for `block` entered by `tokens` tokens (the shape gives the protected prefix and the widths).
  func counts(block: Int, tokens: Int, shape: ModelShape) -> BlockTokenCounts
}

extension NoReduction: WeightFreeCountable {
  public func counts(block: Int, tokens: Int, shape: ModelShape) -> BlockTokenCounts {
    BlockTokenCounts(queries: tokens, keys: tokens, mlpTokens: tokens, tokensOut: tokens, extraMACs: 0)
  }
}

extension ToMePolicy: WeightFreeCountable {
  public func counts(block: Int, tokens n: Int, shape: ModelShape) -> BlockTokenCounts {
    let prefix = shape.prefixTokens, headDim = shape.headDim[block]
    let r = min(block < schedule.count ? schedule[block] : 0, (n - prefix) / 2)
    let extra = r > 0 ? ((n + 1) / 2) * (n / 2) * headDim : 0
    return BlockTokenCounts(queries: n, keys: n, mlpTokens: n - max(r, 0), tokensOut: n - max(r, 0), extraMACs: extra)
  }
}

extension EViTPolicy: WeightFreeCountable {
  public func counts(block: Int, tokens n: Int, shape: ModelShape) -> BlockTokenCounts {
    let prefix = shape.prefixTokens
    var out = n
    if layers.contains(block) {
      let keep = Int((keepRate * Double(n - prefix)).rounded(.up))
      if keep < n - prefix && keep >= 1 { out = prefix + keep + (fuse ? 1 : 0) }
    }
    return BlockTokenCounts(queries: n, keys: n, mlpTokens: out, tokensOut: out, extraMACs: 0)
  }
}

public enum WeightFreeMACs {
  /// Per-block MACs and the total for `shape` on its native grid, or nil when the method's counts depend on the data.
  public static func count(_ shape: ModelShape, policy: any TokenPolicy)
    -> (stem: Int, blocks: [(tokensIn: Int, counts: BlockTokenCounts, macs: BlockMACs)], head: Int, total: Int)?
  {
    guard let countable = policy as? any WeightFreeCountable else { return nil }
    var n = shape.prefixTokens + shape.grid.count
    var blocks: [(Int, BlockTokenCounts, BlockMACs)] = []
    for i in 0..<shape.depth {
      let c = countable.counts(block: i, tokens: n, shape: shape)
      let m = BlockMACs.block(queries: c.queries, keys: c.keys, mlpTokens: c.mlpTokens, embed: shape.embedDim,
                              attention: shape.heads[i] * shape.headDim[i], hidden: shape.mlpHidden[i], extra: c.extraMACs)
      blocks.append((n, c, m))
      n = c.tokensOut
    }
    let stem = MACCounter.stem(shape, patches: shape.grid.count)
    let head = MACCounter.head(shape, finalTokens: n)
    return (stem, blocks, head, stem + blocks.reduce(0) { $0 + $1.2.total } + head)
  }
}
