// One method on one image, as views and figures show it: an immutable snapshot made from a finished ForwardPass,
// holding per layer everything a screen or figure needs (counts, MACs, entropy, provenance, CLS attention mapped to
// patches, predictions "if it stopped here"). The explorer builds it on its worker thread; screens and figures never
// touch the engine.
import ViTEngine

public struct Guess: Sendable, Equatable {
  public let index: Int
  public let label: String
  public let probability: Float
}

public struct LayerView: Sendable {
  public let index: Int
  public let tokensIn: Int, tokensOut: Int
  /// Tokens that took part in attention (fewer than tokensIn only when tokens idle).
  public let activeTokens: Int
  public let macs: Int
  /// Stem + blocks up to and including this one.
  public let cumulativeMACs: Int
  public let entropy: [Float], classEntropy: [Float]
  public let event: String?
  public let patchToken: [Int32]
  public let patchState: [PatchState]
  public let tokenSize: [Float]
  /// Per head, per patch: the CLS query's attention to the token holding the patch when the block ran (0 if none).
  public let classAttention: [[Float]]
  /// Per patch: a stable group id (the lowest patch index held by the same token; -1 when pruned).
  public let group: [Int]
  /// The final norm and head applied to this block's CLS token.
  public let topIfStopped: [Guess]

  /// The attention map averaged over heads, or one head's.
  public func attention(head: Int?) -> [Float] {
    guard let head, head < classAttention.count else {
      let h = Float(classAttention.count)
      return (0..<(classAttention.first?.count ?? 0)).map { p in classAttention.reduce(0) { $0 + $1[p] } / h }
    }
    return classAttention[head]
  }
}

public struct MethodRun: Sendable {
  public let spec: MethodSpec
  public let layers: [LayerView]
  public let stemMACs: Int, totalMACs: Int, baselineMACs: Int
  public let finalTop: [Guess]
  public let grid: GridSize
  public let prefixCount: Int
  public let heads: Int

  /// Runs `spec` on `input` to the end and keeps what the screens need.
  public static func compute(model: ViTModel, input: ModelInput, spec: MethodSpec) throws -> MethodRun {
    let pass = ForwardPass(model: model, input: input, policy: try spec.makePolicy(depth: model.depth))
    pass.run()
    let labels = model.info.labels
    func guesses(_ prediction: Prediction) -> [Guess] {
      prediction.top(5).map { Guess(index: $0.index, label: labels?[$0.index] ?? "class \($0.index)", probability: $0.probability) }
    }
    var cumulative = pass.stemMACs
    var layers: [LayerView] = []
    for r in pass.records {
      cumulative += r.macs.total
      let before = pass.state(after: r.index == 0 ? nil : r.index - 1)
      // Key column of each token at the block's input (idle blocks attend over a subset).
      var column = [Int](repeating: -1, count: before.tokenCount)
      if let active = r.activeTokens { for (j, t) in active.enumerated() { column[t] = j } } else {
        for t in 0..<before.tokenCount { column[t] = t }
      }
      let attention: [[Float]] = (0..<r.heads).map { h in
        let row = r.classAttention(head: h)
        return before.patchToken.map { t in t >= 0 && column[Int(t)] >= 0 ? row[column[Int(t)]] : 0 }
      }
      var firstPatch: [Int32: Int] = [:]
      for (p, t) in r.output.patchToken.enumerated() where t >= 0 && firstPatch[t] == nil { firstPatch[t] = p }
      let group = r.output.patchToken.map { $0 >= 0 ? firstPatch[$0]! : -1 }
      layers.append(LayerView(
        index: r.index, tokensIn: r.tokensIn, tokensOut: r.tokensOut, activeTokens: r.queries, macs: r.macs.total,
        cumulativeMACs: cumulative, entropy: r.entropy, classEntropy: r.classEntropy, event: r.event,
        patchToken: r.output.patchToken, patchState: r.output.patchState, tokenSize: r.output.size,
        classAttention: attention, group: group, topIfStopped: guesses(pass.prediction(after: r.index))))
    }
    return MethodRun(spec: spec, layers: layers, stemMACs: pass.stemMACs, totalMACs: pass.totalMACs,
                     baselineMACs: pass.baselineMACs, finalTop: guesses(pass.prediction()), grid: pass.grid,
                     prefixCount: model.prefixCount, heads: pass.records.first?.heads ?? 0)
  }
}
