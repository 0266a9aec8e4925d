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
  /// Per head, per patch: the CLS query's attention to the token holding the patch when the block ran (0 if none); on
  /// a model without a class token, the mean attention that token received over all query rows.
  public let classAttention: [[Float]]
  /// Per patch: a stable group id (the lowest patch index held by the same token; -1 when pruned).
  public let group: [Int]
  /// The final norm and head applied to this block's CLS token.
  public let topIfStopped: [Guess]
  /// Per patch: its key/value cluster in this block (ClusTR), numbered from 0; nil when keys were not clustered.
  public let cluster: [Int]?
  /// What structural pruning kept in this block (UP-ViT); nil otherwise.
  public let pruning: PruningSummary.Block?
  /// What the method annotated in this block (scores, roles, merge distances), mapped to patches; nil when nothing.
  public var annotations: PatchAnnotations? = nil
  /// The attention rollout up to and including this block, per patch, not normalised (see AttentionRollout).
  public var rollout: [Float] = []
  /// Per patch: the top-1 class of the logit lens on its token after this block (-1 where no token holds it); nil
  /// when the model has no per-token lens (LogitLens.unavailable).
  public var lensClass: [Int]? = nil
  /// Every token's attention, for maps with another query than CLS; nil where it was not kept.
  public var patchAttention: PatchAttention? = nil
  /// Each prefix token (class, distillation, registers) in sequence order with the share of the block's attention it
  /// received: the mean over every query row and head of its key column. Registers soak up attention (Darcet et al.,
  /// "Vision Transformers Need Registers"); this is where the explorer shows it.
  public var prefixAttention: [(name: String, share: Float)] = []
  /// Per patch: the L2 norm of the token holding it in the block's output (0 if none). High-norm outliers are the
  /// artefact tokens registers absorb.
  public var tokenNorm: [Float] = []

  /// The attention map averaged over heads, or one head's.
  public func attention(head: Int?) -> [Float] {
    guard let head, head < classAttention.count else {
      let h = Float(classAttention.count)
      return (0..<(classAttention.first?.count ?? 0)).map { p in classAttention.reduce(0) { $0 + $1[p] } / h }
    }
    return classAttention[head]
  }
}

/// A block's annotations (TokenAnnotations) as views read them: per-token values mapped to the patches the tokens
/// held when the phase ran, the way the CLS attention is mapped.
public struct PatchAnnotations: Sendable, Equatable {
  /// The score with one value per patch (NaN where the patch's token had none).
  public var score: TokenScore?
  /// Per patch: its token's role (`.ordinary` where none was given).
  public var roles: [TokenRole]?
  public var mergeLevels: MergeLevels?
  public var reference: TokenCountReference?

  /// Maps the phases' annotations of one block to patches; a later phase's part replaces an earlier one's.
  public init?(_ recorded: [RecordedAnnotations]) {
    guard !recorded.isEmpty else { return nil }
    for r in recorded {
      let a = r.annotations
      func perPatch<T>(_ values: [T], _ none: T) -> [T] {
        r.patchToken.map { t in t >= 0 && Int(t) < values.count ? values[Int(t)] : none }
      }
      if var score = a.score {
        score.values = perPatch(score.values, .nan)
        self.score = score
      }
      if let roles = a.roles { self.roles = perPatch(roles, .ordinary) }
      if let levels = a.mergeLevels { mergeLevels = levels }
      if let reference = a.reference { self.reference = reference }
    }
  }

  /// Whether any patch has one of `roles`.
  public func has(_ wanted: Set<TokenRole>) -> Bool { roles?.contains { wanted.contains($0) } ?? false }
}

/// One stage of a cascade (DVT) as views show it.
public struct StageView: Sendable {
  public let grid: GridSize
  /// The maximum softmax probability at the end of the stage, and the guess it belongs to.
  public let confidence: Float
  public let top: Guess?
  /// This stage's MACs, and everything up to and including it.
  public let macs: Int, cumulativeMACs: Int
  public let threshold: Float?
  public let layers: [LayerView]
}

public struct MethodRun: Sendable {
  public let spec: MethodSpec
  /// The layers of the stage that answered (the only stage, except for cascades).
  public let layers: [LayerView]
  public let stemMACs: Int, totalMACs: Int, baselineMACs: Int
  public let finalTop: [Guess]
  public let grid: GridSize
  public let prefixCount: Int
  public let heads: Int
  /// Cascades (DVT): every stage run, in order; the last is the one that answered. Empty otherwise.
  public let stages: [StageView]
  /// Structural pruning (UP-ViT): what was kept, per block.
  public let pruning: PruningSummary?
  /// The model's class names (nil: "class N"), and why it has no per-token logit lens (nil when it has one).
  public var labels: [String]? = nil
  public var lensUnavailable: String? = nil

  /// Runs `spec` on `input` (one grid) to the end and keeps what the screens need.
  public static func compute(model: ViTModel, input: ModelInput, spec: MethodSpec) throws -> MethodRun {
    let plan = try MethodPlan(spec: spec, model: model)
    let native = GridSize(rows: input.height / model.shape.patchSize, cols: input.width / model.shape.patchSize)
    return try compute(plan: plan, native: native) { grid in
      guard grid == native else { throw MethodSpecError.gridUnavailable(spec: spec.canonical, needed: grid, available: native) }
      return input
    }
  }

  /// Runs `plan` on one image; `input` preprocesses it for a grid (see MethodPlan.run).
  public static func compute(plan: MethodPlan, native: GridSize, input: (GridSize) throws -> ModelInput) throws -> MethodRun {
    let outcome = try plan.run(native: native, input: input)
    let labels = plan.model.info.labels
    func guesses(_ prediction: Prediction) -> [Guess] {
      prediction.top(5).map { Guess(index: $0.index, label: labels?[$0.index] ?? "class \($0.index)", probability: $0.probability) }
    }
    var stages: [StageView] = []
    var spent = 0
    for (s, stage) in outcome.stages.enumerated() {
      let layers = layerViews(stage.pass, macsBefore: spent, pruning: plan.pruning, guesses: guesses)
      spent += stage.pass.totalMACs
      stages.append(StageView(grid: stage.grid, confidence: stage.confidence, top: guesses(stage.prediction).first,
                              macs: stage.pass.totalMACs, cumulativeMACs: spent,
                              threshold: plan.cascade.flatMap { s < $0.thresholds.count ? $0.thresholds[s] : nil }, layers: layers))
    }
    let final = outcome.final
    return MethodRun(spec: plan.spec, layers: stages.last!.layers, stemMACs: final.pass.stemMACs, totalMACs: outcome.totalMACs,
                     baselineMACs: outcome.baselineMACs, finalTop: guesses(final.prediction), grid: final.grid,
                     prefixCount: plan.model.prefixCount, heads: final.pass.records.first?.heads ?? 0,
                     stages: plan.cascade == nil ? [] : stages, pruning: plan.pruning, labels: labels,
                     lensUnavailable: LogitLens.unavailable(plan.model))
  }

  /// Per-layer views of one finished pass; cumulative MACs start from `macsBefore` (earlier cascade stages).
  static func layerViews(_ pass: ForwardPass, macsBefore: Int, pruning: PruningSummary?, guesses: (Prediction) -> [Guess]) -> [LayerView] {
    var cumulative = macsBefore + pass.stemMACs
    var layers: [LayerView] = []
    let rollout = AttentionRollout(pass: pass)
    for r in pass.records {
      cumulative += r.macs.total
      let before = pass.state(after: r.index == 0 ? nil : r.index - 1)
      // Key column of each token at the block's input (idle blocks attend over a subset, clustered blocks over
      // groups), and the share of that column's attention each token gets (a cluster's attention split evenly).
      var column = [Int](repeating: -1, count: before.tokenCount)
      var share = [Float](repeating: 1, count: before.tokenCount)
      if let active = r.activeTokens { for (j, t) in active.enumerated() { column[t] = j } } else if let groups = r.keyGroups {
        var members = [Float](repeating: 0, count: r.keys)
        for g in groups { members[Int(g)] += 1 }
        for (t, g) in groups.enumerated() { column[t] = Int(g); share[t] = 1 / members[Int(g)] }
      } else {
        for t in 0..<before.tokenCount { column[t] = t }
      }
      let attention: [[Float]] = (0..<r.heads).map { h in
        let row = r.scoringAttention(head: h, classToken: before.prefixCount > 0)
        return before.patchToken.map { t in t >= 0 && column[Int(t)] >= 0 ? row[column[Int(t)]] * share[Int(t)] : 0 }
      }
      let cluster = r.keyGroups.map { groups in
        before.patchToken.map { t in t >= 0 ? Int(groups[Int(t)]) - before.prefixCount : -1 }
      }
      var firstPatch: [Int32: Int] = [:]
      for (p, t) in r.output.patchToken.enumerated() where t >= 0 && firstPatch[t] == nil { firstPatch[t] = p }
      let group = r.output.patchToken.map { $0 >= 0 ? firstPatch[$0]! : -1 }
      let prefixAttention = (0..<before.prefixCount).map { t -> (name: String, share: Float) in
        let name = t < pass.model.info.prefixNames.count ? pass.model.info.prefixNames[t] : "prefix\(t)"
        guard column[t] >= 0 else { return (name, 0) }
        var sum: Float = 0
        for row in 0..<(r.heads * r.queries) { sum += r.probabilities[row * r.keys + column[t]] }
        return (name, sum / Float(max(r.heads * r.queries, 1)))
      }
      let c = r.output.x.cols
      let norms = (0..<r.output.tokenCount).map { t -> Float in
        var sum: Float = 0
        for j in 0..<c { let v = r.output.x.data[t * c + j]; sum += v * v }
        return sum.squareRoot()
      }
      layers.append(LayerView(
        index: r.index, tokensIn: r.tokensIn, tokensOut: r.tokensOut, activeTokens: r.queries, macs: r.macs.total,
        cumulativeMACs: cumulative, entropy: r.entropy, classEntropy: r.classEntropy,
        event: pruning.map { $0.blocks[r.index].sentence } ?? r.event,
        patchToken: r.output.patchToken, patchState: r.output.patchState, tokenSize: r.output.size,
        classAttention: attention, group: group, topIfStopped: guesses(pass.prediction(after: r.index)),
        cluster: cluster, pruning: pruning?.blocks[r.index], annotations: PatchAnnotations(r.annotations),
        rollout: rollout.layers[r.index],
        lensClass: LogitLens.topClass(model: pass.model, state: r.output).map { lens in
          r.output.patchToken.map { $0 >= 0 ? lens[Int($0)] : -1 }
        },
        patchAttention: patchAttention(r, before: before, column: column, share: share),
        prefixAttention: prefixAttention, tokenNorm: r.output.patchToken.map { $0 >= 0 ? norms[Int($0)] : 0 }))
    }
    return layers
  }

  /// Patch by patch: the key column and share of each patch's token (as for CLS above) and its query row.
  static func patchAttention(_ r: BlockRecord, before: TokenState, column: [Int], share: [Float]) -> PatchAttention {
    var queryRow = [Int](repeating: -1, count: before.tokenCount)
    if let active = r.activeTokens { for (i, t) in active.enumerated() { queryRow[t] = i } } else {
      for t in 0..<min(before.tokenCount, r.queries) { queryRow[t] = t }
    }
    let tokens = before.patchToken.map(Int.init)
    return PatchAttention(heads: r.heads, queries: r.queries, keys: r.keys, probabilities: r.probabilities,
                          column: tokens.map { $0 >= 0 ? column[$0] : -1 }, share: tokens.map { $0 >= 0 ? share[$0] : 0 },
                          row: tokens.map { $0 >= 0 ? queryRow[$0] : -1 })
  }
}
