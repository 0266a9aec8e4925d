// DVT's cascade, ClusTR's clustering and UP-ViT's pruning against the torch references (Tests/Fixtures/generate.py,
// methods_reference.py and upvit_reference.py, written from the specification in the UP-ViT, DVT and ClusTR articles of TokenMethods.docc): per-stage outputs and exits, pruned
// logits and parameter counts, the KL-ablation importance itself, and a pruned checkpoint written and read back.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func softmaxMax(_ logits: [Float]) -> Float {
  let m = logits.max()!
  let e = logits.map { expf($0 - m) }
  return e.max()! / e.reduce(0, +)
}

@Suite("DVT, ClusTR and UP-ViT vs the torch reference")
struct CascadeAndPruningTests {
  @Test("DVT: every stage's logits and features, and the exit", arguments: ["vit", "deit_distilled", "grey_p2"])
  func dvtStages(_ fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let reference = try SafetensorsFile(path: modelFixture(fixture, "methods.safetensors"))
    let key = try #require(reference.names.first { $0.hasPrefix("dvt:") && $0.hasSuffix("|stage0.logits") })
    let specText = String(key.dropLast("|stage0.logits".count))
    let plan = try MethodPlan(spec: try MethodSpec.parse(specText), model: model)
    let cascade = try #require(plan.cascade)
    func input(_ grid: GridSize) throws -> ModelInput {
      let s = try #require(cascade.grids.firstIndex(of: grid.rows))
      let shape = reference.tensors["\(specText)|stage\(s).input"]!.shape
      return ModelInput(channels: shape[0], height: shape[1], width: shape[2], pixels: try reference.floats("\(specText)|stage\(s).input"))
    }
    let all = try plan.run(native: model.shape.grid, allStages: true, input: input)
    var confidences: [Float] = []
    for (s, grid) in cascade.grids.enumerated() {
      // allStages keeps every stage run up to the exit; run each stage alone to compare all of them.
      let pass = ForwardPass(model: model, input: try input(GridSize(rows: grid, cols: grid)))
      let prediction = pass.output()
      let logits = try reference.floats("\(specText)|stage\(s).logits")
      expectClose(prediction.logits!, logits, "\(fixture) stage \(s) logits")
      expectClose(prediction.classFeatures, try reference.floats("\(specText)|stage\(s).features"), "\(fixture) stage \(s) features")
      confidences.append(softmaxMax(logits))
    }
    let exit = cascade.exitStage(confidences: confidences)
    #expect(all.stages.count == exit + 1, "\(fixture): exit at stage \(all.stages.count - 1), reference \(exit)")
    let early = try plan.run(native: model.shape.grid, input: input)
    #expect(early.stages.count == exit + 1)
    #expect(early.totalMACs == early.stages.reduce(0) { $0 + $1.pass.totalMACs })
    // Every threshold at 0 exits at the first stage; above 1, never before the last.
    let first = try MethodPlan(spec: try MethodSpec.parse(specText).setting("thresholds", to: "0/0"), model: model)
    #expect(try first.run(native: model.shape.grid, input: input).stages.count == 1)
  }

  static let targets = ["heads=1,mlp-ratio=2,embed=24", "heads=2,mlp-ratio=3,embed=32"]

  @Test("UP-ViT: pruned logits, features and parameters", arguments: ["vit", "deit_distilled", "vit_ls", "grey_p2"])
  func upvitSlicing(_ fixture: String) throws {
    let dir = "\(fixturesDirectory)/models/\(fixture)"
    let model = try ModelLoader.load(path: "\(dir)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(dir)/upvit.safetensors")
    for target in Self.targets {
      let plan = try MethodPlan(spec: try MethodSpec.parse("upvit:importance=\(dir)/upvit_importance.json,\(target)"), model: model)
      let prediction = ForwardPass(model: plan.model, input: try loadInput(fixture)).output()
      expectClose(prediction.logits!, try reference.floats("\(target)|logits"), "\(fixture) \(target) logits")
      expectClose(prediction.classFeatures, try reference.floats("\(target)|features"), "\(fixture) \(target) features")
      #expect(Float(plan.model.parameterCount) == (try reference.floats("\(target)|params"))[0], "\(fixture) \(target) parameters")
      #expect(plan.pruning?.parametersAfter == plan.model.parameterCount)

      // Written under timm's names and read back by the ordinary loader: the same model.
      let path = "/tmp/tokenscope-test-\(getpid())-\(fixture).safetensors"
      defer { unlink(path) }
      try plan.model.timmCheckpoint(extraMetadata: ["pruned_from": fixture]).write(to: path)
      let reloaded = try ModelLoader.load(path: path)
      #expect(reloaded.shape == plan.model.shape)
      let again = ForwardPass(model: reloaded, input: try loadInput(fixture)).output()
      #expect(again.logits! == prediction.logits!, "\(fixture) \(target): the written checkpoint runs identically")
    }
  }

  @Test("UP-ViT: KL-ablation importance of every channel", arguments: ["vit", "deit_distilled"])
  func upvitImportance(_ fixture: String) throws {
    let dir = "\(fixturesDirectory)/models/\(fixture)"
    let model = try ModelLoader.load(path: "\(dir)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(dir)/upvit.safetensors")
    let calib = reference.tensors["calib"]!.shape
    let pixels = try reference.floats("calib")
    let per = calib[1] * calib[2] * calib[3]
    let inputs = (0..<calib[0]).map {
      ModelInput(channels: calib[1], height: calib[2], width: calib[3], pixels: Array(pixels[($0 * per)..<(($0 + 1) * per)]))
    }
    let expected = try ChannelImportance.load(path: "\(dir)/upvit_importance.json")
    let scores = try UPViTScorer.score(model: model, inputs: inputs, calibration: "fixture", threads: 2)
    func check(_ a: [Double], _ b: [Double], _ what: String) {
      #expect(a.count == b.count, "\(what): \(a.count) scores, expected \(b.count)")
      // KL in float32 forwards: relative 1e-3 of the family's largest score, plus an absolute floor.
      let scale = max(b.max() ?? 0, 1e-6)
      let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 1e-3 * scale + 1e-6, "\(fixture) \(what): max |a-b| = \(worst), largest score \(scale)")
    }
    check(scores.embed, expected.embed, "embed")
    for l in 0..<model.depth {
      check(scores.attention[l], expected.attention[l], "attention[\(l)]")
      check(scores.mlp[l], expected.mlp[l], "mlp[\(l)]")
    }
  }

  @Test func clustrWithAClusterPerPatchIsPlainAttention() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let input = try loadInput("grey_p2")
    let plain = ForwardPass(model: model, input: input).output()
    let clustered = ForwardPass(model: model, input: input, policy: ClusTR(clusters: 36, neighbours: 5, layers: nil))
    let out = clustered.output()
    #expect(out.logits == plain.logits)
    #expect(clustered.records.allSatisfy { $0.keyGroups == nil && $0.macs.extra == 0 })
  }

  @Test func clustrMACsMatchTheWeightFreeCount() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let policy = ClusTR(clusters: 12, neighbours: 5, layers: [0, 2])
    let pass = ForwardPass(model: model, input: try loadInput("grey_p2"), policy: policy)
    pass.run()
    let counted = try #require(MACCounter.planned(model.shape, policy: policy))
    #expect(counted.total == pass.totalMACs)
    #expect(pass.records[0].keys == 1 + 12 && pass.records[1].keys == 37)
    #expect(pass.records[0].macs.extra == 36 * 36 * model.embedDim)
  }

  @Test func cascadeSpecsAreValidated() {
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("dvt:grids=7/10/14,thresholds=0.8") }
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("dvt:grids=10/7,thresholds=0.8") }
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("dvt:thresholds=2.5/0.7") }
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("upvit:heads=0") }
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("upvit:mlp-ratio=-1") }
    #expect(throws: MethodSpecError.self) { try MethodSpec.parse("clustr:clusters=0") }
  }

  @Test func upvitRejectsAnotherModelsImportance() throws {
    let vit = try ModelLoader.load(path: modelFixture("vit"))
    let spec = try MethodSpec.parse("upvit:importance=\(modelFixture("vit", "upvit_importance.json")),embed=24")
    let pruned = try MethodPlan(spec: spec, model: vit).model  // 24 wide: the file's 32 embedding scores no longer fit
    #expect(throws: UPViTError.self) { try MethodPlan(spec: spec, model: pruned) }
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let missing = try MethodSpec.parse("upvit:importance=/nonexistent/importance.json")
    do { _ = try MethodPlan(spec: missing, model: model); Issue.record("no error") } catch let e as UPViTError {
      #expect(e.isMissing && e.message.contains("/nonexistent/importance.json"))
    }
  }
}
