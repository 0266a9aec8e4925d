// fvcore's totals, digit for digit (fused attention off): see Sources/ViTEngine/ViTEngine.docc/MACCounting.md.
import Testing
import TestSupport
@testable import ViTEngine

@Suite("MAC counting")
struct MACTests {
  @Test(arguments: [("deit-t", 1_258_411_200), ("deit-s", 4_608_338_304), ("deit-b", 17_582_740_224)])
  func deitTotals(arch: String, total: Int) throws {
    let shape = try #require(ModelShape.deit(arch))
    #expect(MACCounter.baseline(shape, grid: shape.grid).total == total)
  }

  @Test func vitTinyWithTwoClassesMatchesFvcoreIssue129() {
    // facebookresearch/fvcore#129 quotes 1,258,219,584 for a ViT-Tiny/16 with a 2-class head.
    var shape = ModelShape.deit("deit-t")!
    shape.classes = 2
    #expect(MACCounter.baseline(shape, grid: shape.grid).total == 1_258_219_584)
  }

  @Test func blockFormulaSplitsIntoParts() {
    let m = BlockMACs.block(queries: 197, keys: 197, mlpTokens: 197, embed: 384, attention: 384, hidden: 1536)
    #expect(m.total == 12 * 197 * 384 * 384 + 2 * 197 * 197 * 384 + 10 * 197 * 384)
    #expect(m.attention == 2 * 197 * 197 * 384 && m.layerNorm == 10 * 197 * 384)
  }

  @Test func forwardPassCountsWhatItRuns() throws {
    let model = try ModelLoader.load(path: modelFixture("vit"))
    let pass = ForwardPass(model: model, input: try modelInput(try Expected("vit")))
    pass.run()
    #expect(pass.totalMACs == pass.baselineMACs)
    #expect(pass.totalMACs == MACCounter.baseline(model.shape, grid: model.shape.grid).total)
  }
}
