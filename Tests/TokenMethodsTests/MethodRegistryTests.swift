// The method registry and its typed specs: every descriptor is consistent (defaults, sweep values and presets parse,
// canonical text round-trips, the configuration acts at the declared level), parse errors name what is wrong, and the
// MACs a forward pass counts equal the weight-free count, op by op, for every method.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

@Suite("Method registry")
struct MethodRegistryTests {
  @Test func namesAreUniqueAndEveryMethodIsReachable() throws {
    #expect(Set(MethodRegistry.names).count == MethodRegistry.all.count)
    #expect(MethodRegistry.names == ["none", "tome", "evit", "idle", "mstm", "clustr", "dvt", "upvit", "pitome", "atc", "visionzip", "dymu"])
    // The explorer's `m` reaches every method.
    let presetMethods = Set(try MethodRegistry.presets.map { try MethodSpec.parse($0).name })
    #expect(presetMethods == Set(MethodRegistry.names))
  }

  @Test(arguments: MethodRegistry.all.map(\.name))
  func descriptorIsConsistent(name: String) throws {
    let descriptor = try #require(MethodRegistry.descriptor(named: name))
    #expect(Set(descriptor.parameters.map(\.key)).count == descriptor.parameters.count, "\(name): repeated keys")
    let spec = try MethodSpec.parse(name)
    #expect(spec.values == descriptor.parameters.map(\.defaultValue))
    // Canonical text parses back to an equal spec with the same text and hash.
    let again = try MethodSpec.parse(spec.canonical)
    #expect(again == spec && again.canonical == spec.canonical && again.hashValue == spec.hashValue)
    #expect(spec.action(depth: 12).level == descriptor.level, "\(name) acts at another level than it declares")
    if let sweep = descriptor.sweep {
      #expect(descriptor.parameters.contains { $0.key == sweep.key })
      for value in sweep.values {
        let point = try spec.setting(sweep.key, to: value)
        #expect(point[sweep.key]?.description == value, "\(name): sweep value \(value) is not canonical")
      }
    }
    for preset in descriptor.presets { #expect(try MethodSpec.parse(preset).name == name) }
    for key in descriptor.parameters.map(\.key) { #expect(descriptor.helpText.contains("\(key)=")) }
  }

  @Test func canonicalFormsOfTypedValues() throws {
    #expect(try MethodSpec.parse("idle:layers=3/4/5/6,keep=.5").canonical == "idle:keep=0.5,layers=3-6")
    #expect(try MethodSpec.parse("evit:layers=1/2,fuse=off").canonical == "evit:keep=0.7,layers=1/2,fuse=false")
    #expect(try MethodSpec.parse("evit:layers=").canonical == "evit:keep=0.7,layers=none,fuse=true")
    #expect(try MethodSpec.parse("clustr:layers=0-2/9").canonical == "clustr:clusters=49,k=5,layers=0-2/9")
    #expect(try MethodSpec.parse("upvit:mlp-ratio=2.50,heads=2").canonical == "upvit:importance=auto,heads=2,mlp-ratio=2.5,embed=keep")
    #expect(try MethodSpec.parse("dvt:thresholds=0.9144997/0.9102961").canonical == "dvt:thresholds=0.9144997/0.9102961,grids=7/10/14")
    // Equal specs key one cache entry however they were written.
    let written = try ["tome", "tome:r=13", "TOME:prop=yes", "tome:schedule=constant"].map(MethodSpec.parse)
    #expect(Set(written).count == 1)
  }

  @Test func typedConfigurationsCarryTheParsedValues() throws {
    let tome = try #require(try MethodSpec.parse("tome:r=8,schedule=decreasing").configuration as? ToMe)
    #expect(tome == ToMe(r: 8, decreasing: true, proportionalAttention: true))
    let evit = try #require(try MethodSpec.parse("evit:keep=0.5,layers=2-4").configuration as? EViT)
    #expect(evit.keepRate == 0.5 && evit.layers == [2, 3, 4] && evit.fuse)
    let clustr = try #require(try MethodSpec.parse("clustr:clusters=25").configuration as? ClusTR)
    #expect(clustr.layers == nil && clustr.clusters == 25)
    let dvt = try #require(try MethodSpec.parse("dvt:thresholds=0.9,grids=10/14").configuration as? DVT)
    #expect(dvt.cascade == Cascade(grids: [10, 14], thresholds: [0.9]))
    let upvit = try #require(try MethodSpec.parse("upvit:heads=4/4/2,embed=96,importance=x.json").configuration as? UPViT)
    #expect(upvit.targets == PruningTargets(heads: [4, 4, 2], mlpRatio: 3, embed: 96) && upvit.importancePath == "x.json")
    let zip = try #require(try MethodSpec.parse("visionzip:dominant=20,layer=3,score=mean").configuration as? VisionZip)
    #expect(zip == VisionZip(dominant: 20, contextual: 10, layer: 3, score: .mean))
    let dymu = try #require(try MethodSpec.parse("dymu:thresholds=0.9/1/0.5,prop=false").configuration as? DToMe)
    #expect(dymu == DToMe(thresholds: .values([0.9, 1, 0.5]), proportionalAttention: false))
  }

  @Test func parseErrorsNameWhatIsWrong() {
    func error(_ text: String) -> MethodSpecError? {
      do { _ = try MethodSpec.parse(text); return nil } catch { return error }
    }
    #expect(error("nope") == .unknownMethod(name: "nope", spec: "nope"))
    #expect(error("tome:r") == .malformedParameter(text: "r", spec: "tome:r", method: "tome"))
    #expect(error("tome:k=3") == .unknownKey(key: "k", spec: "tome:k=3", method: "tome"))
    #expect(error("tome:r=1,r=2") == .repeatedKey(key: "r", spec: "tome:r=1,r=2"))
    #expect(error("evit:keep=1.5") == .invalidValue(method: "evit", key: "keep", value: "1.5", expected: "a number in (0, 1]"))
    #expect(error("evit:keep=1.5")?.description == "evit: keep=1.5 must be a number in (0, 1]")
    #expect(error("idle:layers=3-x") == .invalidValue(method: "idle", key: "layers", value: "3-x",
                                                      expected: "block indices like 3/6/9 or a range like 3-11, or none"))
    #expect(error("dvt:thresholds=0.8")?.description
      == "dvt: thresholds=0.8: expected 2 probabilities in [0, 1] separated by / (one per stage but the last, which always exits; above 1: never exit)")
    if case .inconsistent(_, let key, _, _)? = error("dvt:grids=10/7,thresholds=0.8") { #expect(key == "grids") } else {
      Issue.record("shrinking grids accepted")
    }
    #expect(error("tome:k=3")?.description == "unknown key 'k' for method tome in 'tome:k=3'; valid keys: r, schedule, prop")
  }

  @Test func explorerStepsMoveTheMainParameter() throws {
    #expect(try MethodSpec.parse("evit:keep=0.7").stepped(1)?.canonical == "evit:keep=0.75,layers=3/6/9,fuse=true")
    #expect(try MethodSpec.parse("mstm:keep=0.05").stepped(-1)?.canonical == "mstm:keep=0.05,layers=3/6/9,weight=importance,prop=true")
    #expect(try MethodSpec.parse("tome:r=100000").stepped(1)?[ "r"] == .integer(100_000))
    #expect(try MethodSpec.parse("dvt").stepped(1)?.canonical == "dvt:thresholds=0.8/0.8,grids=7/10/14")
    // DToMe's default calibration is no budget number: the steps start from the middle of the budgets (2..12).
    #expect(try MethodSpec.parse("dymu").stepped(1)?["budget"] == .integer(6))
    #expect(try MethodSpec.parse("dymu").stepped(-1)?["budget"] == .integer(10))
    #expect(try MethodSpec.parse("dymu:budget=2").stepped(1)?["budget"] == .integer(2))
  }
}

/// A spec and the fixture it runs on, for the MAC agreement test.
struct CountingCase: CustomTestStringConvertible, Sendable {
  let fixture: String, spec: String
  var testDescription: String { "\(fixture) \(spec)" }
}

/// Every method with its defaults and with other settings, on fixtures with one and two prefix tokens and with
/// registers and LayerScale. UP-ViT reads each fixture's importance file.
let countingSpecs = [
  "none", "tome:r=2", "tome:r=3,schedule=decreasing,prop=false", "evit:keep=0.5,layers=0/2", "evit:keep=0.6,layers=1-2,fuse=false",
  "idle:keep=0.5,layers=0-2", "idle:keep=0.7,layers=1/2", "mstm:keep=0.5,layers=0/2", "mstm:keep=0.7,layers=1,weight=size",
  "clustr:clusters=4,layers=0/2", "clustr:clusters=8", "dvt:thresholds=2,grids=3/4", "upvit:heads=1,mlp-ratio=2",
  "pitome:ratio=0.6", "pitome:ratio=0.75,bsm=none,prop=true", "atc:keep=0.6,layers=0/2", "atc:keep=0.5,layers=1-2,linkage=single,prop=false",
  "visionzip:dominant=5,contextual=2", "visionzip:dominant=6,contextual=0,layer=0,score=mean",
  "dymu:thresholds=0.5/0.9/0.2", "dymu:thresholds=1/0.3/0.6,prop=false",
]
let countingCases = ["vit", "deit_distilled", "dinov2", "grey_p2", "vit_ls"].flatMap { fixture in
  countingSpecs.map { CountingCase(fixture: fixture, spec: $0) }
}

@Suite("MACs: forward pass = weight-free count")
struct MACAgreementTests {
  @Test func everyRegisteredMethodIsCounted() throws {
    #expect(Set(try countingSpecs.map { try MethodSpec.parse($0).name }) == Set(MethodRegistry.names))
  }

  /// The methods' own work on DeiT-S, computed by hand. (The forward pass and the weight-free count share one formula
  /// per method, so the agreement test below pins the token counts; these pin the formulas.)
  @Test func extraMACsByHand() throws {
    let shape = ModelShape.deit("deit-s")!
    func extra(_ spec: String, block: Int) throws -> Int {
      try #require(MACCounter.planned(shape, policy: try MethodSpec.parse(spec).makePolicy(depth: 12))).blocks[block].macs.extra
    }
    // ToMe: ⌈197/2⌉ x ⌊197/2⌋ similarities of 64-wide head-mean keys.
    #expect(try extra("tome:r=13", block: 0) == 99 * 98 * 64)
    // IdleViT keep 0.7, block 3: int(196 x 0.7) = 137 active, 59 idle: LN1 and k for the idle, q_cls · k for all 197.
    #expect(try extra("idle:keep=0.7", block: 3) == 5 * 59 * 384 + 59 * 384 * 384 + 197 * 384)
    // MSTM keep 0.7, block 3: ceil(196 x 0.7) = 138 crucial, 58 merged, one cosine each against every crucial token.
    #expect(try extra("mstm:keep=0.7", block: 3) == 58 * 138 * 64)
    // ClusTR: the 196 x 196 distance matrix over 384 channels.
    #expect(try extra("clustr:clusters=49", block: 5) == 196 * 196 * 384)
    #expect(try extra("evit:keep=0.7", block: 3) == 0)
  }

  @Test(arguments: countingCases)
  func perOp(_ c: CountingCase) throws {
    let directory = "\(fixturesDirectory)/models/\(c.fixture)"
    let model = try ModelLoader.load(path: "\(directory)/model.safetensors")
    var spec = try MethodSpec.parse(c.spec)
    if spec.level == .modelTransform {
      guard let importance = Optional("\(directory)/upvit_importance.json"), access(importance, R_OK) == 0 else { return }
      spec = try spec.setting("importance", to: importance)
    }
    if spec.level == .cascade && model.head == nil {
      // DVT exits on the classifier's confidence: a headless model is refused.
      #expect(throws: MethodSpecError.self) { try MethodPlan(spec: spec, model: model) }
      return
    }
    let plan = try MethodPlan(spec: spec, model: model)
    let native = GridSize(rows: model.shape.grid.rows, cols: model.shape.grid.cols)
    let outcome = try plan.run(native: native, allStages: true) { grid in
      let p = model.shape.patchSize, channels = model.shape.inChannels
      let count = channels * grid.rows * p * grid.cols * p
      return ModelInput(channels: channels, height: grid.rows * p, width: grid.cols * p,
                        pixels: (0..<count).map { Float(($0 * 7919) % 255) / 127 - 1 })
    }
    for stage in outcome.stages {
      // DToMe's counts depend on the image: the weight-free count runs at the counts the pass saw (as flops does at
      // a calibration's mean counts), which still checks the stem, the head and the method's extra MACs.
      let policy = MACCounter.planned(plan.model.shape, grid: stage.grid, policy: plan.policy) == nil
        ? RecordedCounts(policy: plan.policy, counts: stage.pass.records.map(\.counts)) : plan.policy
      let counted = try #require(MACCounter.planned(plan.model.shape, grid: stage.grid, policy: policy), "\(c)")
      let pass = stage.pass
      #expect(counted.stem == pass.stemMACs && counted.head == pass.headMACs, "\(c)")
      for (record, block) in zip(pass.records, counted.blocks) {
        #expect(record.counts == block.counts, "\(c) block \(record.index): counts")
        #expect(record.macs == block.macs, "\(c) block \(record.index): per-op MACs")
      }
      #expect(counted.total == pass.totalMACs, "\(c)")
    }
  }
}

/// A policy's extra MACs at token counts recorded by a forward pass.
struct RecordedCounts: TokenPolicy {
  let policy: any TokenPolicy
  let counts: [BlockTokenCounts]
  func plannedCounts(block: Int, tokensIn: Int, shape: BlockShape) -> BlockTokenCounts? {
    counts[block].tokensIn == tokensIn ? counts[block] : nil
  }
  func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    policy.extraMACs(block: block, counts: counts, shape: shape)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
