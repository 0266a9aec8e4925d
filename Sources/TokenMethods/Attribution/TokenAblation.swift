// Token ablation: the causal check behind a relevance map. Remove some tokens from the sequence at one layer and run
// the rest of the model (with the same method still acting) to see how the prediction moves. A token is removed
// whole: dropping one patch of a merged token drops every patch that token holds.
import ViTEngine

/// What to remove: the tokens holding some original patches, from a block's input on.
public struct AblationRequest: Sendable, Equatable {
  /// The block whose input loses the tokens (0: straight after embedding).
  public let layer: Int
  /// Original patches, row-major over the grid; every token holding one of them is removed.
  public let patches: [Int]
  public init(layer: Int, patches: [Int]) { self.layer = layer; self.patches = patches }
}

/// The prediction before and after an ablation.
public struct AblationResult: Sendable {
  public let request: AblationRequest
  /// Tokens removed (prefix tokens are never removed) and every original patch they held.
  public let droppedTokens: [Int]
  public let droppedPatches: [Int]
  public let before: Prediction, after: Prediction

  /// The change of the unablated top-1 class's probability, and of the logit of `shown` (default: that class).
  public func deltas(shown: Int? = nil) -> (probability: Float, logit: Float)? {
    guard let b = before.logits, let a = after.logits, let top = before.top(1).first else { return nil }
    let cls = shown ?? top.index
    return (TokenAblation.probability(a, of: top.index) - top.probability, a[cls] - b[cls])
  }
}

public enum TokenAblationError: Error, Equatable, CustomStringConvertible {
  case layerOutOfRange(layer: Int, depth: Int)
  case patchOutOfRange(patch: Int, patches: Int)

  public var description: String {
    switch self {
    case .layerOutOfRange(let l, let d): "ablation layer \(l) is outside the model's blocks 0...\(d - 1)"
    case .patchOutOfRange(let p, let n): "ablation patch \(p) is outside the grid's patches 0...\(n - 1)"
    }
  }
}

public enum TokenAblation {
  /// Reruns the pass's blocks from `request.layer` on with the tokens holding `request.patches` removed from that
  /// block's input, under the same policy; `pass` must have run to the end (it is the unablated reference).
  public static func run(_ request: AblationRequest, pass: ForwardPass) throws(TokenAblationError) -> AblationResult {
    let depth = pass.depth
    guard (0..<depth).contains(request.layer) else { throw .layerOutOfRange(layer: request.layer, depth: depth) }
    let input = pass.state(after: request.layer == 0 ? nil : request.layer - 1)
    let patches = input.grid.count
    if let bad = request.patches.first(where: { !(0..<patches).contains($0) }) { throw .patchOutOfRange(patch: bad, patches: patches) }
    var state = input
    let dropped = Set(request.patches.compactMap { p -> Int? in
      let t = Int(input.patchToken[p])
      return t >= input.prefixCount ? t : nil
    })
    state.removeTokens(dropped)
    let after = ForwardPass.resume(model: pass.model, state: state, fromBlock: request.layer, policy: pass.policy)
    let droppedPatches = (0..<patches).filter { input.patchToken[$0] >= 0 && dropped.contains(Int(input.patchToken[$0])) }
    return AblationResult(request: request, droppedTokens: dropped.sorted(), droppedPatches: droppedPatches,
                          before: pass.prediction(), after: after)
  }

  /// The effect of removing each non-prefix token of `layer`'s input alone: the change of the unablated top-1
  /// probability per token, in token order. `progress` is told each finished token and may stop the work by
  /// returning false (the remaining tokens are then absent from the result).
  public static func ranking(layer: Int, pass: ForwardPass, progress: (Int, Int) -> Bool = { _, _ in true })
    throws(TokenAblationError) -> [(token: Int, probabilityChange: Float)] {
    let input = pass.state(after: layer == 0 ? nil : layer - 1)
    var holder = [Int](repeating: -1, count: input.tokenCount)
    for (p, t) in input.patchToken.enumerated() where t >= 0 && holder[Int(t)] < 0 { holder[Int(t)] = p }
    let candidates = (input.prefixCount..<input.tokenCount).filter { holder[$0] >= 0 }
    var out: [(token: Int, probabilityChange: Float)] = []
    for (i, t) in candidates.enumerated() {
      let result = try run(AblationRequest(layer: layer, patches: [holder[t]]), pass: pass)
      out.append((t, result.deltas()?.probability ?? 0))
      guard progress(i + 1, candidates.count) else { break }
    }
    return out
  }

  /// softmax(logits)[index], computed stably.
  static func probability(_ logits: [Float], of index: Int) -> Float {
    let m = logits.max() ?? 0
    var sum: Float = 0
    for v in logits { sum += expf(v - m) }
    return expf(logits[index] - m) / sum
  }
}

extension TokenState {
  /// Removes the given tokens; the patches they held become pruned.
  mutating func removeTokens(_ tokens: Set<Int>) {
    guard !tokens.isEmpty else { return }
    var newIndex = [Int](repeating: -1, count: tokenCount)
    var next = 0
    for t in 0..<tokenCount where !tokens.contains(t) { newIndex[t] = next; next += 1 }
    let keptRows = (0..<tokenCount).filter { newIndex[$0] >= 0 }
    let fate: [TokenFate] = newIndex.map { $0 >= 0 ? .stays : .pruned }
    reorganize(x: x.gatherRows(keptRows), size: keptRows.map { size[$0] }, newIndex: newIndex, fate: fate,
               weights: [Float](repeating: 1, count: tokenCount))
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
