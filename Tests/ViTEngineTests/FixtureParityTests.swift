// Every fixture checkpoint, in every naming scheme and dtype, against the reference outputs of timm / transformers
// (Tests/Fixtures/generate.py): per-block CLS attention and block outputs, final features, logits.
import Testing
import TestSupport
@testable import ViTEngine

@Suite("Parity with timm and transformers")
struct FixtureParityTests {
  static let fixtures = ["vit", "vit_f16", "vit_bf16", "deit_distilled", "dinov2", "grey_p2", "hf_vit", "hf_deit", "hf_dinov2"]

  @Test("forward pass matches the reference", arguments: fixtures)
  func parity(name: String) throws {
    let model = try ModelLoader.load(path: modelFixture(name))
    let expected = try Expected(name)
    for suffix in ["", ".grid2"] where expected.has("input" + suffix) {
      let pass = ForwardPass(model: model, input: try modelInput(expected, key: "input" + suffix))
      let prediction = pass.output()
      for (i, record) in pass.records.enumerated() {
        let want = try expected.floats("cls_attention.\(i)" + suffix)
        let got = (0..<record.heads).flatMap { record.classAttention(head: $0) }
        expectClose(got, want, "\(name)\(suffix) block \(i) CLS attention")
        if expected.has("block_out.\(i)" + suffix) {
          expectClose(record.output.x.data, try expected.floats("block_out.\(i)" + suffix), "\(name)\(suffix) block \(i) output")
        }
      }
      expectClose(prediction.classFeatures, try expected.floats("features" + suffix), "\(name)\(suffix) features")
      if expected.has("logits" + suffix) {
        let logits = try #require(prediction.logits, "\(name) should have a head")
        expectClose(logits, try expected.floats("logits" + suffix), "\(name)\(suffix) logits")
      } else {
        #expect(prediction.logits == nil, "\(name) is headless")
      }
    }
  }

  @Test func detectsSchemesAndConfiguration() throws {
    let cases: [(String, NamingScheme, Int, Int, Int, Bool)] = [
      // name, scheme, prefix tokens, heads, classes, distilled head
      ("vit", .timm, 1, 2, 10, false), ("deit_distilled", .timm, 2, 2, 10, true), ("dinov2", .timm, 3, 2, 0, false),
      ("hf_vit", .hfViT, 1, 2, 10, false), ("hf_deit", .hfDeiT, 2, 2, 10, true), ("hf_dinov2", .hfDinov2, 1, 2, 10, false),
    ]
    for (name, scheme, prefix, heads, classes, distilled) in cases {
      let model = try ModelLoader.load(path: modelFixture(name))
      #expect(model.info.scheme == scheme, "\(name)")
      #expect(model.prefixCount == prefix, "\(name)")
      #expect(model.shape.heads.allSatisfy { $0 == heads }, "\(name)")
      #expect(model.shape.classes == classes, "\(name)")
      #expect(model.shape.distilledHead == distilled, "\(name)")
    }
    let deit = try ModelLoader.load(path: modelFixture("deit_distilled"))
    #expect(deit.info.sources["num_heads"] == .configJSON)
    #expect(deit.info.cropPct == 0.875)
    let hf = try ModelLoader.load(path: modelFixture("hf_vit"))
    #expect(hf.info.layerNormEps == 1e-12)
    #expect(hf.info.sources["layer_norm_eps"] == .configJSON)
    let vit = try ModelLoader.load(path: modelFixture("vit"))
    #expect(vit.info.labels?.first == "class 0")
    #expect(vit.info.sources["num_heads"] == .metadata)
    let dino = try ModelLoader.load(path: modelFixture("dinov2"))
    #expect(dino.blocks.allSatisfy { $0.layerScale1 != nil && $0.layerScale2 != nil })
    #expect(dino.posPrefix == 0)
  }

  @Test func headsFlagOverridesAndIsValidated() throws {
    let one = try ModelLoader.load(path: modelFixture("vit"), options: LoadOptions(heads: [1]))
    #expect(one.shape.heads == [1, 1, 1])
    #expect(one.info.sources["num_heads"] == .flag)
    #expect(throws: CheckpointError.self) { try ModelLoader.load(path: modelFixture("vit"), options: LoadOptions(heads: [3])) }
  }

  @Test func steppingKeepsEarlierBlocks() throws {
    let model = try ModelLoader.load(path: modelFixture("vit"))
    let expected = try Expected("vit")
    let pass = ForwardPass(model: model, input: try modelInput(expected))
    #expect(pass.step())
    let first = pass.records[0].output.x
    pass.run()
    #expect(pass.isFinished && !pass.step())
    #expect(pass.records[0].output.x == first)
    #expect(pass.state(after: nil).x == pass.embedded.x)
    // "If it stopped here" after the last block is the model's output.
    #expect(pass.prediction(after: model.depth - 1).logits == pass.prediction().logits)
  }
}
