// VisionZip and DToMe against the torch reference (Tests/Fixtures/vlm_reference.py, written in this project from the
// VisionZip and DToMe articles after reading the official code, not the official code itself): per block, the
// partition, patch states and token sizes token for token, features and logits within 1e-4 of scale; DToMe's
// calibration (thresholds within 1e-5, mean token counts exactly) on five images made from each fixture's input by
// flips and a roll; invariants on random inputs; schedules; and the MAC figures of the articles.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

struct VLMCase: CustomTestStringConvertible, Sendable {
  let fixture: String, key: String
  var testDescription: String { "\(fixture) \(key)" }
}

/// Every recorded key prefix ending in `suffix`, per fixture, in vlm.safetensors.
func vlmCases(_ suffix: String) -> [VLMCase] {
  allFixtures.flatMap { fixture -> [VLMCase] in
    guard let file = try? SafetensorsFile(path: "\(fixturesDirectory)/models/\(fixture)/vlm.safetensors") else { return [] }
    return file.names.filter { $0.hasSuffix(suffix) }.map { VLMCase(fixture: fixture, key: String($0.dropLast(suffix.count))) }
  }
}

/// The reference's calibration images: the input, flipped left-right, flipped top-bottom, rolled one patch down and
/// two right (torch.roll), flipped both ways. input: C x H x W planar.
func calibrationImages(_ input: ModelInput, patch: Int) -> [ModelInput] {
  let (c, h, w) = (input.channels, input.height, input.width)
  func make(_ source: (Int, Int) -> (Int, Int)) -> ModelInput {
    var pixels = [Float](repeating: 0, count: c * h * w)
    for ch in 0..<c {
      for y in 0..<h {
        for x in 0..<w {
          let (sy, sx) = source(y, x)
          pixels[(ch * h + y) * w + x] = input.pixels[(ch * h + sy) * w + sx]
        }
      }
    }
    return ModelInput(channels: c, height: h, width: w, pixels: pixels)
  }
  return [
    input,
    make { y, x in (y, w - 1 - x) },
    make { y, x in (h - 1 - y, x) },
    make { y, x in ((y - patch + h) % h, (x - 2 * patch + 2 * w) % w) },
    make { y, x in (h - 1 - y, w - 1 - x) },
  ]
}

@Suite("VisionZip and DToMe vs the torch reference")
struct VLMParityTests {
  @Test func everyFixtureHasBothMethods() {
    for fixture in allFixtures {
      let cases = vlmCases("|patch_token").filter { $0.fixture == fixture }
      #expect(cases.filter { $0.key.hasPrefix("visionzip:") }.count == 4, "\(fixture)")
      #expect(cases.filter { $0.key.hasPrefix("dymu:") }.count >= 2, "\(fixture)")
      #expect(vlmCases("|thresholds").filter { $0.fixture == fixture }.count == 2, "\(fixture)")
    }
  }

  @Test("partitions, states and outputs", arguments: vlmCases("|patch_token"))
  func parity(_ c: VLMCase) throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/\(c.fixture)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(fixturesDirectory)/models/\(c.fixture)/vlm.safetensors")
    func tensor(_ key: String) throws -> [Float] { try reference.floats("\(c.key)|\(key)") }
    let spec = try MethodSpec.parse(c.key)
    let pass = ForwardPass(model: model, input: try loadInput(c.fixture), policy: spec.makePolicy(depth: model.depth))
    let prediction = pass.output()
    let patches = pass.grid.count
    let tokens = try tensor("patch_token"), states = try tensor("patch_state"), sizes = try tensor("token_size")
    let padded = sizes.count / model.depth
    for r in pass.records {
      let i = r.index
      #expect(r.output.patchToken == tokens[(i * patches)..<((i + 1) * patches)].map { Int32($0) }, "\(c) block \(i): patch_token")
      #expect(r.output.patchState == states[(i * patches)..<((i + 1) * patches)].map { PatchState.allCases[Int($0)] },
              "\(c) block \(i): patch_state")
      #expect(r.output.size == Array(sizes[(i * padded)..<(i * padded + r.output.tokenCount)]), "\(c) block \(i): token_size")
    }
    expectClose(prediction.classFeatures, try tensor("features"), "\(c) features")
    if reference.tensors["\(c.key)|logits"] != nil, let logits = prediction.logits {
      expectClose(logits, try tensor("logits"), "\(c) logits")
    }
  }

  @Test("DToMe calibration", arguments: vlmCases("|thresholds"))
  func calibration(_ c: VLMCase) throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/\(c.fixture)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(fixturesDirectory)/models/\(c.fixture)/vlm.safetensors")
    let r = try reference.floats("\(c.key)|r").map { Int($0) }
    let images = calibrationImages(try loadInput(c.fixture), patch: model.shape.patchSize)
    // "calibrate:r_total=6,schedule=linear,batch=2": the schedule must be tokenscope's too.
    let fields = Dictionary(uniqueKeysWithValues: c.key.dropFirst("calibrate:".count).split(separator: ",").map {
      let kv = $0.split(separator: "="); return (String(kv[0]), String(kv[1]))
    })
    let schedule = try #require(DToMeSchedule(rawValue: fields["schedule"]!))
    #expect(schedule.perBlock(rTotal: Int(fields["r_total"]!)!, depth: model.depth) == r)
    for threads in [1, 3] {
      let result = try DToMeCalibration.run(model: model, r: r, count: images.count, batchSize: Int(fields["batch"]!)!,
                                            threads: threads) { images[$0] }
      let expected = try reference.floats("\(c.key)|thresholds")
      for (l, (a, b)) in zip(result.thresholds, expected).enumerated() {
        #expect(abs(a - b) <= 1e-5, "\(c) block \(l): threshold \(a), reference \(b)")
      }
      #expect(result.meanTokens == (try reference.floats("\(c.key)|mean_tokens")).map(Double.init), "\(c): mean tokens")
      #expect(result.images == 5 && result.batches == 3)
    }
  }
}

@Suite("VisionZip and DToMe: invariants, schedules, MACs")
struct VLMInvariantTests {
  static let specs = ["visionzip:dominant=5,contextual=3", "visionzip:dominant=6,contextual=0,layer=0",
                      "visionzip:dominant=4,contextual=4,layer=1,score=mean", "visionzip:dominant=3,contextual=1,layer=-1",
                      "dymu:thresholds=0.3/0.5/0.7", "dymu:thresholds=-1/-1/-1,prop=false", "dymu:thresholds=1/0.2/1"]

  @Test("invariants on random inputs", arguments: specs)
  func invariants(spec: String) throws {
    for fixture in ["grey_p2", "deit_distilled", "dinov2"] {
      let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/\(fixture)/model.safetensors")
      let parsed = try MethodSpec.parse(spec)
      for seed in 1...3 {
        let pass = ForwardPass(model: model, input: randomInput(model, seed: UInt64(seed)), policy: parsed.makePolicy(depth: model.depth))
        pass.run()
        let prefix = model.prefixCount, patches = pass.grid.count
        for r in pass.records {
          let s = r.output
          let pruned = s.patchState.filter { $0 == .pruned }.count
          #expect(Int(s.totalSize.rounded()) + pruned == prefix + patches, "\(fixture) \(spec): sizes + pruned = patches + prefix")
          #expect(s.size[0..<prefix].allSatisfy { $0 == 1 }, "prefix tokens are never merged")
          var held = [Float](repeating: 0, count: s.tokenCount)
          for t in s.patchToken where t >= 0 { held[Int(t)] += 1 }
          #expect(Array(held[prefix...]) == Array(s.size[prefix...]), "\(fixture) \(spec) block \(r.index): sizes = patches held")
          #expect(s.patchToken.allSatisfy { $0 == -1 || Int($0) >= prefix }, "no patch is held by a prefix token")
          // Token counts: VisionZip's D + c at its block and nothing elsewhere; DToMe at most half the non-prefix.
          if let zip = parsed.configuration as? VisionZip {
            let expected = r.index == zip.block(depth: model.depth) ? zip.dominant + zip.contextual : r.tokensIn
            #expect(r.tokensOut == expected && r.counts.mlpTokens == r.tokensIn, "\(fixture) \(spec) block \(r.index)")
          } else {
            #expect(r.tokensOut >= r.tokensIn - (r.tokensIn - prefix) / 2 && r.tokensOut <= r.tokensIn)
          }
        }
      }
    }
  }

  @Test func visionZipAtTheLastLayerLeavesTheClassifierUnchanged() throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/vit_ls/model.safetensors")
    let input = randomInput(model, seed: 4)
    let base = ForwardPass(model: model, input: input).output()
    let zip = ForwardPass(model: model, input: input, policy: try MethodSpec.parse("visionzip:dominant=4,contextual=2,layer=-1").makePolicy(depth: 3))
    #expect(zip.output().logits == base.logits)
    #expect(zip.records[2].tokensOut == 6)
  }

  @Test func visionZipValidatesItsBudget() throws {
    func error(_ spec: String, grid: Int = 4, prefix: Int = 1) -> MethodSpecError? {
      do { try MethodSpec.parse(spec).configuration.validate(grid: GridSize(rows: grid, cols: grid), prefix: prefix, depth: 3); return nil } catch {
        return error
      }
    }
    #expect(error("visionzip:dominant=5,contextual=3") == nil)
    #expect(error("visionzip:dominant=17,contextual=0") == nil)
    #expect(error("visionzip:dominant=18,contextual=0")?.description == "visionzip: dominant=18: expected at most 17: 16 patches + CLS")
    #expect(error("visionzip:dominant=2,contextual=3", prefix: 3)?.description
      == "visionzip: dominant=2: expected at least 3: dominant counts the 3 prefix tokens, which are always kept")
    #expect(error("visionzip:dominant=10,contextual=8")?.description
      == "visionzip: contextual=8: expected at most 7, the patches left after dominant=10 keeps 9 of 16 (the targets are among them)")
    #expect(error("visionzip:layer=3")?.description == "visionzip: layer=3: expected a block in -3...2 (negative counts from the end)")
    #expect(error("visionzip:layer=-4") != nil && error("visionzip:dominant=5,contextual=3,layer=-3") == nil)
    // The default needs 63 patches: the bundled model at 7x7 must be told smaller numbers.
    #expect(error("visionzip", grid: 7) != nil && error("visionzip", grid: 14) == nil)
  }

  @Test func dtomeThresholdsAreCheckedAgainstTheDepth() throws {
    let spec = try MethodSpec.parse("dymu:thresholds=0.9/0.8")
    #expect(spec.canonical == "dymu:thresholds=0.9/0.8,budget=auto,prop=true")
    #expect(throws: MethodSpecError.self) { try spec.configuration.validate(grid: GridSize(rows: 4, cols: 4), prefix: 1, depth: 3) }
    #expect(try MethodSpec.parse("dymu:thresholds=some/file.json").canonical == "dymu:thresholds=some/file.json,budget=auto,prop=true")
    #expect((try MethodSpec.parse("dymu").configuration as? DToMe)?.thresholds == .auto)
  }

  @Test func dtomeMissingFileNamesTheCommandThatWritesOne() throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/vit/model.safetensors")
    do { _ = try MethodPlan(spec: try MethodSpec.parse("dymu"), model: model); Issue.record("no error") } catch let e as MethodFileError {
      #expect(e.isMissing && e.message.contains("vit/model.dymu.json") && e.message.contains("tokenscope calibrate --method dymu"))
    }
  }

  /// VisionTransformer._get_rs: the shipped configurations, and the linear loop's non-terminating pairs.
  @Test func schedules() {
    #expect(DToMeSchedule.constant.perBlock(rTotal: 504, depth: 24) == [Int](repeating: 21, count: 24))
    #expect(DToMeSchedule.constant.perBlock(rTotal: 100, depth: 12) == [9, 9, 9, 9] + [Int](repeating: 8, count: 8))
    #expect(DToMeSchedule.linear.perBlock(rTotal: 96, depth: 12) == [16, 14, 13, 12, 10, 9, 8, 6, 5, 3, 0, 0])
    #expect(DToMeSchedule.reverseLinear.perBlock(rTotal: 96, depth: 12) == [0, 0, 3, 5, 6, 8, 9, 10, 12, 13, 14, 16])
    // For 12 blocks the official linear loop never ends for every r_total up to 35 and 44 more up to 119.
    let hanging = (1...399).filter { DToMeSchedule.linear.perBlock(rTotal: $0, depth: 12) == nil }
    #expect(hanging.count == 79 && (1...35).allSatisfy(hanging.contains) && hanging.max()! <= 119)
    for total in 1...399 {
      guard let s = DToMeSchedule.linear.perBlock(rTotal: total, depth: 12) else { continue }
      #expect(s.reduce(0, +) == total && s.count == 12)
    }
  }

  /// The VisionZip article's DeiT-S figures (fvcore on the official code: 4,346,168,704 MACs, extra 595,840).
  @Test func visionZipMACs() throws {
    let shape = ModelShape.deit("deit-s")!
    func planned(_ spec: String) throws -> MACBreakdown {
      try #require(MACCounter.planned(shape, policy: try MethodSpec.parse(spec).makePolicy(depth: 12)))
    }
    let official = try planned("visionzip")
    #expect(official.total == 4_346_168_704 && official.blocks[10].macs.extra == 595_840)
    #expect(official.blocks[10].counts == BlockTokenCounts(tokensIn: 197, queries: 197, keys: 197, mlpTokens: 197, tokensOut: 64))
    // 143 remaining patches: 133 assigned x 10 targets x 64 (cosines) + 10 x 133 x 384 (one-hot aggregation).
    #expect(official.blocks[10].macs.extra == 133 * 10 * 64 + 10 * 133 * 384)
    let wider = try planned("visionzip:dominant=108,contextual=20")
    #expect(wider.total == 4_469_243_136 && wider.blocks[10].macs.extra == 618_240)
    #expect(try planned("visionzip:layer=3").total == 2_508_598_144)
    #expect(try planned("visionzip:contextual=0").blocks[10].macs.extra == 0)
  }

  /// DToMe's extra: the matching matmul in every block with a threshold below 1, whether or not a pair passes.
  @Test func dtomeMACs() throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/grey_p2/model.safetensors")
    let pass = ForwardPass(model: model, input: randomInput(model, seed: 2),
                           policy: try MethodSpec.parse("dymu:thresholds=2/0.999999/-1").makePolicy(depth: 3))
    pass.run()
    let d = model.blocks[0].headDim
    #expect(pass.records[0].macs.extra == 0 && pass.records[0].tokensOut == 37)
    #expect(pass.records[1].macs.extra == 19 * 18 * d)
    #expect(pass.records[2].macs.extra == ((pass.records[2].tokensIn + 1) / 2) * (pass.records[2].tokensIn / 2) * d)
    #expect(pass.records[2].tokensOut == pass.records[2].tokensIn - (pass.records[2].tokensIn - 1) / 2)
    #expect(MACCounter.planned(model.shape, policy: pass.policy) == nil)
  }
}
