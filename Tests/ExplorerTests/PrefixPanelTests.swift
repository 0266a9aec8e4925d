// The side panel on the modern families: registers are listed with the share of attention they receive, and a model
// without a class token says what its maps show instead of a CLS row.
import Pixels
import Testing
import TestSupport
import TokenMethods
import ViTEngine
@testable import Explorer

@Suite("Prefix tokens in the side panel")
struct PrefixPanelTests {
  /// The explorer on a backbones fixture (Tests/Fixtures/backbones.py) with `method` computed.
  func state(_ fixture: String, method: String = "tome:r=2") throws -> (ExplorerState, MethodRun) {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let expected = try SafetensorsFile(path: modelFixture(fixture, "expected.safetensors"))
    let s = expected.tensors["input"]!.shape
    let input = ModelInput(channels: s[0], height: s[1], width: s[2], pixels: try expected.floats("input"))
    let image = PixelImage(width: s[2], height: s[1]) { _, _ in RGB(128, 128, 128) }
    let grid = model.shape.grid
    let context = ExplorerContext(modelName: fixture, modelSummary: model.backbone.family, imageName: "input.png",
                                  preprocessing: "none", image: image, depth: model.depth, grid: (grid.rows, grid.cols),
                                  heads: model.shape.heads[0])
    let spec = try MethodSpec.parse(method)
    var state = ExplorerState(context: context, methods: [spec])
    let run = try MethodRun.compute(model: model, input: input, spec: spec)
    state.runs[spec.canonical] = run
    return (state, run)
  }

  @Test func registersAreListedWithTheirAttentionShare() throws {
    let (state, run) = try state("dinov2_reg4")
    let prefix = run.layers[0].prefixAttention
    #expect(prefix.map(\.name) == ["cls", "reg0", "reg1", "reg2", "reg3"])
    // Shares of one softmax: together with the patches' they make the whole attention mass.
    let total = prefix.reduce(Float(0)) { $0 + $1.share }
    #expect(total > 0 && total < 1)
    let text = screen(state, 140, 44).lines.joined(separator: "\n")
    #expect(text.contains("prefix attention: cls "), "\(text)")
    #expect(text.contains("reg0 "))
  }

  @Test func aModelWithoutAClassTokenSaysWhatItsMapsShow() throws {
    let (state, run) = try state("siglip_map", method: "evit:keep=0.7,layers=0")
    #expect(run.layers[0].prefixAttention.isEmpty)
    let text = screen(state, 140, 44).lines.joined(separator: "\n")
    #expect(text.contains("no class token; map: mean received"))
    #expect(!text.contains("CLS row"))
    // The map is the mean attention each token received: a distribution over the keys, so it sums to 1 per head.
    let map = run.layers[0].attention(head: 0)
    #expect(abs(map.reduce(0, +) - 1) < 1e-4)
  }
}
