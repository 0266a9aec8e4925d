// IdleViT: dynamic token idling (Xu et al., AJCAI 2023). ref: Ackesnal/IdleViT vit.py (test path) and infer.py. The
// IdleViT article in TokenMethods.docc lists where this differs from the official code.
//
// The sequence keeps all N tokens in place. In an idle layer, before attention: score every non-prefix token by the
// CLS query's pre-softmax logits averaged over heads (q_cls · k_j, all keys of this layer), select the prefix tokens and
// the top K (descending); attention, residual and MLP run on the selected tokens only; the others are copied through
// unchanged and may be selected again in the next layer. K = int(P * keep^stage) of the P initial patches, with the
// idle layers split into three equal stages (3-11: stages 3-5, 6-8, 9-11). [recon] With a layer count that is not a
// multiple of three, layer i of L belongs to stage floor(3i / L).
import ViTEngine

/// IdleViT's typed configuration (also the policy: it needs nothing of the model).
public struct IdleViT: MethodConfiguration, TokenPolicy, Hashable {
  public var keepRate: Double
  public var layers: [Int]
  public var score: AttentionScore

  public init(keepRate: Double, layers: [Int], score: AttentionScore = .auto) {
    self.keepRate = keepRate; self.layers = layers.sorted(); self.score = score
  }

  public static let descriptor = MethodDescriptor(
    name: "idle", summary: "IdleViT: only the tokens the CLS query scores highest take part in a block; the rest idle and may return",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("keep", .real(0...1, excludingLower: true), default: "0.7",
                      "keep rate: int(P * keep^s) patches active in stage s = 1, 2, 3"),
      MethodParameter("layers", .blocks(allowsAll: false), default: "3-11", "idle blocks, split into three equal stages",
                      recon: "a block count that is not a multiple of 3 puts the i-th of L idle blocks in stage floor(3i/L)"),
      AttentionScore.parameter(official: "the CLS query's pre-softmax score against each key (official); mean here is the mean query's"),
    ],
    sweep: EViT.keepSweep, step: .real(key: "keep", by: 0.05)
  ) { v throws(MethodSpecError) in
    IdleViT(keepRate: v.real("keep"), layers: v.blocks("layers") ?? [], score: AttentionScore(rawValue: v.choice("score"))!)
  }

  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    try score.validate(method: "idle", prefix: prefix)
  }

  public func action(depth: Int) -> MethodAction { .tokenPolicy(self) }

  /// Blocks before the first idle layer are the baseline's.
  public var leadingBaselineBlocks: Int { layers.min() ?? Int.max }

  /// Patches kept active in `block`, or nil when it is not an idle layer.
  public func keepCount(block: Int, patches: Int) -> Int? {
    guard let i = layers.firstIndex(of: block) else { return nil }
    let stage = 1 + (3 * i) / layers.count
    var rate = 1.0
    for _ in 0..<stage { rate *= keepRate }
    return Int(Double(patches) * rate)
  }

  /// Patches active in `block` entered by n tokens, or nil when every token runs.
  func active(block: Int, tokensIn n: Int, prefix: Int) -> Int? {
    guard let k = keepCount(block: block, patches: n - prefix), k < n - prefix else { return nil }
    return k
  }

  /// The lazy projections serve the CLS query's score; the mean query needs every token's query, so `score=mean`
  /// projects q, k and v for all tokens (and counts the idle tokens' q and v in `extraMACs`).
  public func selectsTokens(block: Int, state: TokenState) -> Bool {
    active(block: block, tokensIn: state.tokenCount, prefix: state.prefixCount) != nil
      && score.resolved(prefix: state.prefixCount) == .cls
  }

  public func select(block: Int, state: TokenState, projections: ProjectionView) -> TokenSelection? {
    let prefix = state.prefixCount, n = state.tokenCount
    guard let k = active(block: block, tokensIn: n, prefix: prefix) else { return nil }
    let scoring = self.score.resolved(prefix: prefix)
    let score = projections.queryKeyScores(scoring)
    let ranked = (prefix..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
    let selected = Array(0..<prefix) + ranked.prefix(k)
    let by = scoring == .cls ? "CLS" : "mean"
    return TokenSelection(tokens: selected, event: "\(k) of \(n - prefix) patches active by \(by) query-key score; \(n - selected.count) idle")
  }

  public func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let runs = active(block: block, tokensIn: n, prefix: shape.prefix).map { shape.prefix + $0 } ?? n
    return BlockTokenCounts(tokensIn: n, queries: runs, keys: runs, mlpTokens: runs, tokensOut: n)
  }

  /// The work beyond a block of |S| tokens, which the engine executes (`selectsTokens`): LN1 and the key projection
  /// of the idle tokens, and the query's scores against every key; with `score=mean` also the idle tokens' queries and
  /// values, which the mean query needs projected.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    let n = counts.tokensIn, idle = n - counts.queries, c = shape.embed, a = shape.attentionWidth
    guard idle > 0 else { return 0 }
    let allQueries = score.resolved(prefix: shape.prefix) == .mean ? 2 * idle * c * a : 0
    return 5 * idle * c + idle * c * a + n * a + allQueries
  }
}
