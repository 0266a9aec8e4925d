// A method prepared for one model, reused for every image. Token methods act at three levels (MethodLevel), and a
// plan holds all three, so every caller (report, eval, bench, render, the explorer) runs every method the same way:
//   - before the forward pass, the model itself may change (UP-ViT: a structurally pruned copy);
//   - around it, a cascade may run the model at growing input grids and stop early (DVT);
//   - inside it, a TokenPolicy acts in each block (ToMe, EViT, IdleViT, MSTM, ClusTR).
import ViTEngine

/// One forward pass of a run: the only one for most methods, one per cascade stage for DVT.
public struct StageOutcome {
  public let grid: GridSize
  public let pass: ForwardPass
  public let prediction: Prediction
  /// The maximum softmax probability (DVT's exit criterion); 0 for headless models.
  public let confidence: Float
}

public struct MethodOutcome {
  /// Every stage run, in order; the run's answer is the last one's.
  public let stages: [StageOutcome]
  /// The model's unreduced cost on the native grid (the reference for percentages).
  public let baselineMACs: Int
  public var final: StageOutcome { stages[stages.count - 1] }
  public var pass: ForwardPass { final.pass }
  public var prediction: Prediction { final.prediction }
  /// Everything computed, all stages included.
  public var totalMACs: Int { stages.reduce(0) { $0 + $1.pass.totalMACs } }
}

public struct MethodPlan: Sendable {
  public let spec: MethodSpec
  /// The model that runs (the given one, or UP-ViT's pruned copy of it).
  public let model: ViTModel
  public let policy: any TokenPolicy
  public let cascade: Cascade?
  /// What a structural method removed, block by block (UP-ViT); nil otherwise.
  public let pruning: PruningSummary?
  /// The shape of the model the plan was made for (before any pruning): the reference for percentages.
  public let baselineShape: ModelShape

  public init(spec: MethodSpec, model: ViTModel) throws {
    try spec.validate(depth: model.depth)
    self.spec = spec
    self.baselineShape = model.shape
    switch try spec.configuration.action(for: model) {
    case .tokenPolicy(let policy):
      (self.model, self.pruning, self.policy, self.cascade) = (model, nil, policy, nil)
    case .cascade(let cascade):
      // A stage exits on the classifier's top softmax probability; without a head there is none (it would read 0 and
      // run every stage).
      guard model.head != nil else {
        throw MethodSpecError.unsuitableModel(method: spec.name, reason: "this model has no classifier head, so a stage has no confidence to exit on; use a checkpoint with a head")
      }
      (self.model, self.pruning, self.policy, self.cascade) = (model, nil, NoReduction(), cascade)
    case .modelTransform(let transform):
      let transformed = try transform(model)
      (self.model, self.pruning, self.policy, self.cascade) = (transformed.model, transformed.pruning, NoReduction(), nil)
    }
  }

  /// The grids this plan runs at, given the grid the image pipeline produces natively.
  public func grids(native: GridSize) -> [GridSize] {
    cascade?.grids.map { GridSize(rows: $0, cols: $0) } ?? [native]
  }

  /// Checks the spec against the model at every grid the plan runs at for `native` (see
  /// `MethodConfiguration.validate`); commands call it before a dataset run so that a bad budget is a usage error.
  public func validate(native: GridSize) throws(MethodSpecError) {
    if cascade != nil, model.head == nil {
      throw .inconsistent(method: spec.name, key: "model", value: "headless",
                          expected: "a classifier: the cascade exits on the softmax confidence of its logits")
    }
    for grid in grids(native: native) {
      try spec.configuration.validate(grid: grid, prefix: model.prefixCount, depth: model.depth)
    }
  }

  /// Runs the plan on one image. `input` makes the model input for a grid (the image preprocessed at grid x patch
  /// pixels); it is asked for `native` alone unless the plan is a cascade. `allStages` runs every cascade stage
  /// whatever the thresholds say (calibration and threshold sweeps then decide exits offline); the outcome still
  /// ends at the stage the thresholds choose. `recordsAttention`: see `ForwardPass.recordsAttention`.
  public func run(native: GridSize, allStages: Bool = false, recordsAttention: Bool = true,
                  input: (GridSize) throws -> ModelInput) throws -> MethodOutcome {
    try validate(native: native)
    var stages: [StageOutcome] = []
    for grid in grids(native: native) {
      let pass = ForwardPass(model: model, input: try input(grid), policy: policy)
      pass.recordsAttention = recordsAttention
      let prediction = pass.output()
      let confidence = prediction.top(1).first?.probability ?? 0
      stages.append(StageOutcome(grid: grid, pass: pass, prediction: prediction, confidence: confidence))
      if let cascade, !allStages, cascade.exits(stage: stages.count - 1, confidence: confidence) { break }
    }
    if let cascade, allStages {
      stages = Array(stages.prefix(cascade.exitStage(confidences: stages.map(\.confidence)) + 1))
    }
    let baseline = MACCounter.baseline(baselineShape, grid: native).total
    return MethodOutcome(stages: stages, baselineMACs: baseline)
  }
}
