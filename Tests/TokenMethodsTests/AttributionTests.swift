// Attention rollout and token ablation. References: Tests/Fixtures/attribution_reference.py, a torch script written
// here from the rollout's definition (TokenMethods.docc/Attribution.md), so not independent; on the unreduced model
// it asserts, before writing, that the definition equals vit-explain's formula applied to timm's own attention
// probabilities, and the test also compares against that vit-explain mask directly. The class-token-only logits are
// timm's own blocks, norm and head run on the one-token sequence.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

@Suite("Attention rollout and token ablation")
struct AttributionTests {
  static let reference = modelFixture("vit", "attribution.safetensors")

  func pass(_ spec: String, fixture: String = "vit") throws -> ForwardPass {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let pass = ForwardPass(model: model, input: try loadInput(fixture), policy: try MethodSpec.parse(spec).makePolicy(depth: model.depth))
    pass.run()
    return pass
  }

  @Test func unreducedEqualsVitExplain() throws {
    let file = try SafetensorsFile(path: Self.reference)
    let rollout = AttentionRollout(pass: try pass("none"))
    #expect(rollout.query == .classToken)
    expectClose(AttentionRollout.maxNormalised(rollout.final), try file.floats("none|vit_explain"), "vit-explain mask")
    expectClose(rollout.layers.flatMap { $0 }, try file.floats("none|rollout"), "rollout per block")
  }

  @Test("through a method, as defined", arguments: ["tome:r=2", "evit:keep=0.5,layers=1/2"])
  func throughMethod(spec: String) throws {
    let file = try SafetensorsFile(path: Self.reference)
    let rollout = AttentionRollout(pass: try pass(spec))
    let expected = try file.floats("\(spec)|rollout")
    expectClose(rollout.layers.flatMap { $0 }, expected, "\(spec) rollout per block")
    let last = Array(expected.suffix(rollout.grid.count))
    expectClose(AttentionRollout.maxNormalised(rollout.final), AttentionRollout.maxNormalised(last), "\(spec) normalised")
    // The merges change the rollout after the first block (the class row itself is never merged).
    #expect(rollout.layers.last != AttentionRollout(pass: try pass("none")).layers.last)
  }

  @Test func allButClassTokenEqualsTimmOnTheClassToken() throws {
    let file = try SafetensorsFile(path: Self.reference)
    let p = try pass("none")
    let result = try TokenAblation.run(AblationRequest(layer: 0, patches: Array(0..<p.grid.count)), pass: p)
    #expect(result.droppedPatches == Array(0..<p.grid.count) && result.droppedTokens.count == p.grid.count)
    expectClose(try #require(result.after.logits), try file.floats("ablate_all_but_cls|logits"), "class-token-only logits")
    #expect(result.before.logits == p.prediction().logits)
  }

  /// Every method: each recorded M has rows summing to 1 and sends each token's patches where the provenance says;
  /// the class row of the rollout stays a distribution (mass on the patches at most 1); ablation runs from every
  /// layer.
  @Test("invariants for every method", arguments: [
    "tome:r=4", "evit:keep=0.5,layers=0/2", "evit:keep=0.5,layers=0/2,fuse=false", "idle:keep=0.5,layers=1-2",
    "mstm:keep=0.5,layers=0/2", "clustr:clusters=4,k=2,layers=0/2", "pitome:ratio=0.7", "atc:keep=0.5,layers=0-2",
    "visionzip:dominant=9,contextual=3,layer=1", "visionzip:dominant=9,contextual=0,layer=1"])
  func invariants(spec: String) throws {
    let p = try pass(spec, fixture: "grey_p2")
    var before = p.state(after: nil)
    var reorganized = false
    for r in p.records {
      var tokens = before
      for m in r.output.reorganizations {
        reorganized = true
        #expect(m.inputCount == tokens.tokenCount, "\(spec) block \(r.index)")
        var sums = [Float](repeating: 0, count: m.outputCount)
        for (t, d) in m.destination.enumerated() where d >= 0 { sums[Int(d)] += m.weight[t] }
        #expect(sums.allSatisfy { abs($0 - 1) < 1e-5 }, "\(spec) block \(r.index): row sums \(sums)")
        for t in 0..<tokens.prefixCount { #expect(m.destination[t] == Int32(t), "\(spec): prefix token \(t) moved") }
        tokens.patchToken = tokens.patchToken.map { $0 >= 0 ? m.destination[Int($0)] : -1 }
      }
      #expect(tokens.patchToken == r.output.patchToken, "\(spec) block \(r.index): M disagrees with the provenance")
      before = r.output
    }
    #expect(reorganized || spec.hasPrefix("idle") || spec.hasPrefix("clustr"), "\(spec) recorded no reorganisation")
    let rollout = AttentionRollout(pass: p)
    expectClose(AttentionRollout.finalRow(pass: p), rollout.final, "\(spec): the final row taken from the left")
    for (i, layer) in rollout.layers.enumerated() {
      let total = layer.reduce(0, +)
      #expect(layer.allSatisfy { $0 >= 0 && $0.isFinite } && total <= 1 + 1e-5 && total > 0, "\(spec) block \(i): mass \(total)")
    }
    for layer in 0..<p.depth {
      let result = try TokenAblation.run(AblationRequest(layer: layer, patches: Array(0..<p.grid.count)), pass: p)
      #expect(result.after.logits?.allSatisfy(\.isFinite) == true, "\(spec) ablated from \(layer)")
    }
  }

  @Test func evitFusedRowIsRenormalisedClassAttention() throws {
    let p = try pass("evit:keep=0.5,layers=1/2")
    let r = p.records[1]
    let m = try #require(r.output.reorganizations.first)
    let attention = r.classAttention()
    let fused = Int32(m.outputCount - 1)
    let members = m.destination.indices.filter { m.destination[$0] == fused }
    let mass = members.reduce(Float(0)) { $0 + attention[$1] }
    for t in members { #expect(abs(m.weight[t] - attention[t] / mass) < 1e-6) }
  }

  @Test func relevanceKeptCountsOwnTokensOnly() {
    let states: [PatchState] = [.kept, .merged, .fused, .pruned, .idle]
    #expect(AttentionRollout.relevanceKept(baseline: [1, 2, 3, 4, 10], states: states) == Float(11) / 20)
    #expect(AttentionRollout.relevanceKept(baseline: [1, 2], states: states) == nil)
  }

  @Test func badAblationsAreErrors() throws {
    let p = try pass("none")
    #expect(throws: TokenAblationError.layerOutOfRange(layer: 3, depth: 3)) { try TokenAblation.run(AblationRequest(layer: 3, patches: [0]), pass: p) }
    #expect(throws: TokenAblationError.patchOutOfRange(patch: 16, patches: 16)) { try TokenAblation.run(AblationRequest(layer: 0, patches: [16]), pass: p) }
  }
}
