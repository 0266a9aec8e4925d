// The annotations the methods hand to the views (PolicyOutcome.annotations), as MethodRun maps them to patches, on
// every model fixture: PiToMe's energies and protected tokens, ATC's merge heights and cut, VisionZip's dominant and
// contextual tokens, DToMe's best-match similarities against its threshold and its calibration mean. Each is checked
// against what the block did to the tokens, so a mapping to the wrong patches or a role on the wrong token fails.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

@Suite("Annotations for the views")
struct AnnotationTests {
  /// Layer views of `policy` on a fixture's input.
  static func layers(_ fixture: String, policy: any TokenPolicy) throws -> (layers: [LayerView], prefix: Int, patches: Int) {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let pass = ForwardPass(model: model, input: try loadInput(fixture), policy: policy)
    _ = pass.output()
    return (MethodRun.layerViews(pass, macsBefore: 0, pruning: nil, guesses: { _ in [] }), model.prefixCount, pass.grid.count)
  }

  static func layers(_ fixture: String, spec: String) throws -> (layers: [LayerView], prefix: Int, patches: Int) {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    return try layers(fixture, policy: try MethodSpec.parse(spec).makePolicy(depth: model.depth))
  }

  /// The token holding each patch when block `l` starts.
  static func inputTokens(_ layers: [LayerView], _ l: Int, prefix: Int, patches: Int) -> [Int32] {
    l == 0 ? (0..<patches).map { Int32(prefix + $0) } : layers[l - 1].patchToken
  }

  @Test(arguments: allFixtures)
  func pitomeEnergyAndProtectedTokens(fixture: String) throws {
    let (layers, prefix, patches) = try Self.layers(fixture, spec: "pitome:ratio=0.7,bsm=0")
    for (l, layer) in layers.enumerated() where layer.tokensOut < layer.tokensIn {
      let notes = try #require(layer.annotations, "\(fixture) block \(l)")
      let score = try #require(notes.score)
      #expect(score.name == "energy" && score.values.count == patches && score.values.allSatisfy(\.isFinite))
      // One value per token: the patches of a token share it.
      let tokens = Self.inputTokens(layers, l, prefix: prefix, patches: patches)
      for p in 0..<patches { #expect(score.values[p] == score.values[tokens.firstIndex(of: tokens[p])!]) }
      let roles = try #require(notes.roles)
      let protected = Set((0..<patches).filter { roles[$0] == .protected }.map { tokens[$0] })
      let t = layer.tokensIn - prefix, r = layer.tokensIn - layer.tokensOut
      // Block 0 runs BSM (no protected tokens); the others protect the T - 2r lowest energies, which stay.
      #expect(protected.count == (l == 0 ? 0 : t - 2 * r), "\(fixture) block \(l)")
      let lowest = Set(tokens).sorted { score.values[tokens.firstIndex(of: $0)!] < score.values[tokens.firstIndex(of: $1)!] }
      if l > 0 { #expect(protected == Set(lowest.prefix(t - 2 * r)), "\(fixture) block \(l): the lowest energies are protected") }
      // A protected token neither merges nor receives: its output token holds exactly its patches.
      for p in 0..<patches where roles[p] == .protected {
        let before = (0..<patches).filter { tokens[$0] == tokens[p] }
        #expect((0..<patches).filter { layer.patchToken[$0] == layer.patchToken[p] } == before, "\(fixture) block \(l) patch \(p)")
      }
    }
  }

  @Test(arguments: allFixtures)
  func atcMergeHeightsAndCut(fixture: String) throws {
    let (layers, prefix, _) = try Self.layers(fixture, spec: "atc:keep=0.6,layers=0/2")
    for (l, layer) in layers.enumerated() {
      guard let levels = layer.annotations?.mergeLevels else {
        #expect(l == 1, "\(fixture) block \(l): every listed block that clusters records its merges")
        continue
      }
      #expect(levels.heights.count == layer.tokensIn - layer.tokensOut && levels.clusters == layer.tokensOut - prefix)
      #expect(zip(levels.heights, levels.heights.dropFirst()).allSatisfy { $0 <= $1 }, "merges come in order of height")
      if levels.clusters > 1 {
        let next = try #require(levels.next)
        #expect(next >= levels.heights.last!, "\(fixture) block \(l): the refused merge is no lower than the last made")
      } else {
        #expect(levels.next == nil, "one cluster left: nothing more to merge")
      }
      // The clusters view colours the block's output groups: one per cluster.
      #expect(Set(layer.group.filter { $0 >= 0 }).count == levels.clusters)
    }
  }

  @Test(arguments: allFixtures)
  func visionZipRoles(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let prefix = model.prefixCount
    let grid = model.shape.grid.count
    let kept = min(6, grid / 3), targets = min(3, grid / 3)
    let (layers, _, patches) = try Self.layers(fixture, spec: "visionzip:dominant=\(prefix + kept),contextual=\(targets),layer=1")
    for layer in layers where layer.index != 1 { #expect(layer.annotations == nil) }
    let layer = layers[1]
    let roles = try #require(layer.annotations?.roles)
    let tokens = Self.inputTokens(layers, 1, prefix: prefix, patches: patches)
    #expect(Set((0..<patches).filter { roles[$0] == .dominant }.map { tokens[$0] }).count == kept)
    let contextual = (0..<patches).filter { roles[$0] == .contextual }
    #expect(Set(contextual.map { tokens[$0] }).count == targets)
    // Every patch neither dominant nor a target was gathered into a contextual token: its output token is one.
    let gatheredInto = Set(contextual.map { layer.patchToken[$0] })
    for p in 0..<patches where roles[p] == .ordinary { #expect(gatheredInto.contains(layer.patchToken[p]), "\(fixture) patch \(p)") }
    let score = try #require(layer.annotations?.score)
    let dominantScores = (0..<patches).filter { roles[$0] == .dominant }.map { score.values[$0] }
    let others = (0..<patches).filter { roles[$0] != .dominant }.map { score.values[$0] }
    #expect(dominantScores.min()! >= others.max()!, "\(fixture): dominant tokens have the highest scores")
  }

  @Test(arguments: allFixtures)
  func dtomeThresholdAndCalibrationMean(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let depth = model.depth
    let thresholds = [Float](repeating: 0.3, count: depth)
    let means = (0..<depth).map { 30.5 - Double($0) }
    let file = DToMeThresholdsFile(modelPath: "m", modelSHA256: "", data: "d", split: "train", images: 1, batchSize: 1,
                                   batches: 1, rTotal: 3, schedule: .constant, r: [Int](repeating: 1, count: depth),
                                   thresholds: thresholds, meanTokens: means)
    let (layers, prefix, patches) = try Self.layers(fixture, policy: DToMePolicy(thresholds: thresholds, proportionalAttention: true, calibration: file))
    #expect(layers.contains { $0.annotations?.score != nil }, "\(fixture): some block compares at threshold 0.3")
    for (l, layer) in layers.enumerated() {
      #expect(layer.annotations?.reference == TokenCountReference(name: "calibration mean", tokensOut: means[l]))
      guard let score = layer.annotations?.score else { continue }
      #expect(score.threshold == 0.3)
      // Tokens above the threshold merge (up to half the candidates): at least as many as merged, when not capped.
      let tokens = Self.inputTokens(layers, l, prefix: prefix, patches: patches)
      let above = Set((0..<patches).filter { score.values[$0].isFinite && score.values[$0] > 0.3 }.map { tokens[$0] })
      let merged = layer.tokensIn - layer.tokensOut
      #expect(above.count == merged || merged == (layer.tokensIn - prefix) / 2, "\(fixture) block \(l)")
      // A scored (A) token whose output token gained patches merged in this block (A tokens never receive): its
      // similarity passed the threshold.
      for p in 0..<patches where score.values[p].isFinite {
        let mine = (0..<patches).filter { tokens[$0] == tokens[p] }.count
        let after = (0..<patches).filter { layer.patchToken[$0] == layer.patchToken[p] }.count
        if after > mine { #expect(score.values[p] > 0.3, "\(fixture) block \(l) patch \(p)") }
      }
    }
  }
}
