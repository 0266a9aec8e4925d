// Executed equals reported: for every registered method on the model fixtures, the multiply-accumulates the engine's
// kernels were asked to compute in each block (tallied by the kernels themselves through `ExecutedMACs`, filed under
// the forward pass's op laps) equal the MACs the block reports (`BlockMACs`, from the token counts it saw plus the
// method's `extraMACs`). The reported side is the engine's own count, not an independent reference; what the test
// holds is that the count follows the work actually done, op by op.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

@Suite("Executed MACs equal reported MACs")
struct ExecutedMACsTests {
  /// One spec per registered method, set so that it acts in the fixtures' three blocks on their small grids.
  static let specs = ["none", "tome:r=2", "evit:keep=0.5,layers=0/1/2", "idle:keep=0.5,layers=0-2",
                      "idle:keep=0.7,layers=1/2", "mstm:keep=0.4,layers=0/2", "clustr:clusters=5,k=3,layers=0/2",
                      "dvt", "upvit:heads=1,mlp-ratio=2,embed=24", "pitome:ratio=0.6", "atc:keep=0.5,layers=0-2",
                      "visionzip:dominant=4,contextual=2,layer=1", "dymu:thresholds=0.2/0.2/0.2"]
  static let fixtures = ["vit", "deit_distilled", "grey_p2"]

  /// The reported field each of the forward pass's op laps executes; nil for laps that must execute no MACs.
  static func field(ofOp op: String) -> String? {
    switch op {
    case "norm1", "norm2", "attn-norm", "mlp-norm": "layerNorm"
    case "qkv", "attention", "proj": op
    case "fc1+gelu", "fc2": "mlp"
    case "policy": "extra"
    default: nil
    }
  }

  static func reported(_ m: BlockMACs) -> [String: Int] {
    ["qkv": m.qkv, "attention": m.attention, "proj": m.proj, "mlp": m.mlp, "layerNorm": m.layerNorm, "extra": m.extra]
  }

  @Test func everyRegisteredMethodIsCovered() throws {
    #expect(Set(try Self.specs.map { try MethodSpec.parse($0).name }) == Set(MethodRegistry.names))
  }

  /// The rotary families (timm's Eva class: SwiGLU's third linear, its LayerNorms, RoPE) with every method but UP-ViT,
  /// whose importance files are written for the ViT fixtures only.
  static let evaFixtures = ["eva02_tiny", "eva02_clip", "dinov3", "dinov3_plus"]

  @Test("executed MACs equal reported MACs, op by op", arguments: specs)
  func executedEqualsReported(spec: String) throws {
    try check(spec: spec, fixtures: Self.fixtures)
  }

  @Test("executed MACs equal reported MACs on the rotary families", arguments: specs.filter { !$0.hasPrefix("upvit") })
  func executedEqualsReportedOnEvaFamilies(spec: String) throws {
    try check(spec: spec, fixtures: Self.evaFixtures)
  }

  func check(spec: String, fixtures: [String]) throws {
    for fixture in fixtures {
      var parsed = try MethodSpec.parse(spec)
      if parsed.name == "upvit" {  // its head and unit scores sit beside each fixture
        parsed = try parsed.setting("importance", to: modelFixture(fixture, "upvit_importance.json"))
      }
      let model = try ModelLoader.load(path: modelFixture(fixture))
      // What each method runs: one pass with its policy, one baseline pass per DVT stage grid, or the baseline on the
      // model UP-ViT pruned.
      var runs: [(model: ViTModel, input: ModelInput, policy: any TokenPolicy)] = []
      switch try parsed.configuration.action(for: model) {
      case .tokenPolicy(let policy):
        runs = [(model, randomInput(model, seed: 5), policy)]
      case .cascade(let cascade):
        runs = cascade.grids.map { g in
          (model, randomInput(model, seed: 5, side: g * model.shape.patchSize), NoReduction())
        }
      case .modelTransform(let transform):
        let pruned = try transform(model).model
        runs = [(pruned, randomInput(pruned, seed: 5), NoReduction())]
      }
      for run in runs {
        let pass = ForwardPass(model: run.model, input: run.input, policy: run.policy)
        let tally = ExecutedMACs()
        ExecutedMACs.$current.withValue(tally) { pass.run() }
        #expect(tally.blocks.count == pass.records.count, "\(fixture) \(spec): one tally per block")
        for (record, ops) in zip(pass.records, tally.blocks) {
          let at = "\(fixture) \(spec) grid \(pass.grid) block \(record.index)"
          var executed: [String: Int] = [:]
          for (op, macs) in ops {
            guard let f = Self.field(ofOp: op) else { Issue.record("\(at): op \(op) executed \(macs) MACs"); continue }
            executed[f, default: 0] += macs
          }
          let reported = Self.reported(record.macs)
          for f in ["attention", "proj", "mlp"] { #expect(executed[f, default: 0] == reported[f], "\(at): \(f)") }
          let beyondCounts = ["qkv", "layerNorm", "extra"]
          if executed["extra", default: 0] == 0 {
            // The method's own work (if any) runs in its own loops, outside the tally; everything else is exact.
            for f in ["qkv", "layerNorm"] { #expect(executed[f, default: 0] == reported[f], "\(at): \(f)") }
          } else {
            // The method works through the engine (IdleViT's idle tokens: LayerNorm 1, their keys, the CLS scores):
            // what the projections and norms ran beyond the tokens the block saw, plus the scores, is its `extra`.
            for f in ["qkv", "layerNorm"] { #expect(executed[f, default: 0] >= reported[f]!, "\(at): \(f)") }
            let executedSum = beyondCounts.reduce(0) { $0 + executed[$1, default: 0] }
            #expect(executedSum == beyondCounts.reduce(0) { $0 + reported[$1]! },
                    "\(at): qkv + layer norm + extra executed \(executed), reported \(reported)")
          }
        }
      }
    }
  }

  /// Guards the comparison itself: a policy that selects tokens but lets the block project q, k, v for all of them
  /// (as the engine did before idle tokens were skipped) executes more than IdleViT's count, and the tally sees it.
  @Test func idleTokensProjectedInFullAreCaught() throws {
    struct FullProjections: TokenPolicy {
      let inner: IdleViT
      func select(block: Int, state: TokenState, projections: ProjectionView) -> TokenSelection? {
        inner.select(block: block, state: state, projections: projections)
      }
      func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
        inner.extraMACs(block: block, counts: counts, shape: shape)
      }
    }
    let model = try ModelLoader.load(path: modelFixture("vit"))
    let pass = ForwardPass(model: model, input: randomInput(model, seed: 5),
                           policy: FullProjections(inner: IdleViT(keepRate: 0.5, layers: [0, 1, 2])))
    let tally = ExecutedMACs()
    ExecutedMACs.$current.withValue(tally) { pass.run() }
    let a = model.blocks[0].attentionWidth, c = model.embedDim
    // Projecting lazily changes the work, not the result: the same selections and the same numbers.
    let lean = ForwardPass(model: model, input: randomInput(model, seed: 5),
                           policy: IdleViT(keepRate: 0.5, layers: [0, 1, 2]))
    lean.run()
    for (full, lazy) in zip(pass.records, lean.records) {
      #expect(full.activeTokens == lazy.activeTokens && full.output.x == lazy.output.x, "block \(full.index)")
    }
    for (record, ops) in zip(pass.records, tally.blocks) {
      let idle = record.tokensIn - record.queries
      #expect(idle > 0)
      let executed = ops.values.reduce(0, +), reported = record.macs.total
      // q and v of every idle token: 2 · idle · C · A more than counted.
      #expect(executed - reported == 2 * idle * c * a, "block \(record.index): executed \(ops), reported \(record.macs)")
    }
  }
}

func randomInput(_ model: ViTModel, seed: UInt64, side: Int) -> ModelInput {
  var state = seed
  let n = model.shape.inChannels * side * side
  let pixels: [Float] = (0..<n).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Int64(bitPattern: state >> 11) % 4000) / 1000
  }
  return ModelInput(channels: model.shape.inChannels, height: side, width: side, pixels: pixels)
}
