// IdleViT: dynamic token idling (Xu et al., AJCAI 2023). ref: Ackesnal/IdleViT vit.py (test path) and infer.py;
// methods.md §5.
//
// The sequence keeps all N tokens in place. In an idle layer, before attention: score every non-prefix token by the
// CLS query's pre-softmax logits averaged over heads (q_cls · k_j, all keys of this layer), select the prefix tokens and
// the top K (descending); attention, residual and MLP run on the selected tokens only; the others are copied through
// unchanged and may be selected again in the next layer. K = int(P * keep^stage) of the P initial patches, with the
// idle layers split into three equal stages (3-11: stages 3-5, 6-8, 9-11). [recon] With a layer count that is not a
// multiple of three, layer i of L belongs to stage floor(3i / L).
import ViTEngine

public struct IdleViTPolicy: TokenPolicy {
  public let keepRate: Double
  public let layers: [Int]

  public init(keepRate: Double, layers: [Int]) { self.keepRate = keepRate; self.layers = layers.sorted() }

  /// Patches kept active in `block`, or nil when it is not an idle layer.
  public func keepCount(block: Int, patches: Int) -> Int? {
    guard let i = layers.firstIndex(of: block) else { return nil }
    let stage = 1 + (3 * i) / layers.count
    var rate = 1.0
    for _ in 0..<stage { rate *= keepRate }
    return Int(Double(patches) * rate)
  }

  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { false }

  public func activeTokens(block: Int, state: TokenState, projections: ProjectionView) -> (tokens: [Int], event: String, extraMACs: Int)? {
    let prefix = state.prefixCount, n = state.tokenCount
    guard let k = keepCount(block: block, patches: state.grid.count), k < n - prefix else { return nil }
    let score = projections.meanQueryKeyScores(query: 0)
    let ranked = (prefix..<n).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
    let selected = Array(0..<prefix) + ranked.prefix(k)
    let idle = n - selected.count
    let a = projections.heads * projections.headDim
    let c = state.x.cols
    // The lean implementation's extra work over a block of |S| tokens: LN1 and the key projection for the idle tokens,
    // and the CLS query's scores against every key.
    let extra = 5 * idle * c + idle * c * a + n * a
    return (selected, "\(k) of \(n - prefix) patches active by CLS query-key score; \(idle) idle", extra)
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome { PolicyOutcome() }
}
