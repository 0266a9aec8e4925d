// Every token method's entry point on every modern family, through the binary: `report` reduces tokens on each, its
// JSON names the pooling, the prefix tokens and the pre-logits feature (equal to timm's, Tests/Fixtures/backbones.py),
// and the methods that need a class token say so on a model without one.
import Foundation
import Testing
import TestSupport
import ViTEngine

@Suite("Token methods on the modern backbones")
struct BackboneMethodsTests {
  static let families = ["vit_avg", "dinov2_reg4", "clip_quickgelu", "clip_gelu", "siglip_map", "siglip_gap", "hf_clip",
                         "hf_dinov2_reg4", "hf_siglip"]

  func report(_ family: String, _ method: String) throws -> RunResult {
    try tokenscope(["report", modelFixture(family, "input.png"), "--model", modelFixture(family, "model.safetensors"),
                    "--preprocess", "none", "--method", method, "--format", "json"])
  }

  // The fixtures have two blocks, so the reduction runs in block 0 rather than at the default 3/6/9.
  @Test(arguments: families)
  func tomeAndEViTReduceTokens(family: String) throws {
    for method in ["tome:r=8", "evit:keep=0.7,layers=0"] {
      let r = try report(family, method)
      #expect(r.status == 0, "\(family) \(method): \(r.stderr)")
      let json = try #require(r.json, "\(family) \(method)")
      let layers = try #require(json["layers"] as? [[String: Any]])
      let first = try #require(layers.first)
      #expect((first["tokens_out"] as! Int) < (first["tokens_in"] as! Int), "\(family) \(method) reduces tokens")
      let prefix = try #require(json["prefix_tokens"] as? [[String: Any]])
      // Prefix tokens are never reduced: every block's output still starts with them.
      #expect(layers.allSatisfy { ($0["tokens_out"] as! Int) > prefix.count }, "\(family) \(method)")
    }
  }

  @Test(arguments: families)
  func jsonNamesPoolingPrefixAndPreLogits(family: String) throws {
    let json = try #require(try report(family, "none").json)
    let expected = try SafetensorsFile(path: modelFixture(family, "expected.safetensors"))
    let preLogits = try #require(json["pre_logits"] as? [Double]).map(Float.init)
    expectClose(preLogits, try expected.floats("pre_logits"), "\(family) pre_logits through the CLI")
    let pooling = json["pooling"] as? String
    let kinds = (json["prefix_tokens"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }
    switch family {
    case "siglip_map", "hf_siglip":
      #expect(pooling == "map" && kinds == [] && json["cls_features"] == nil)
      // No class token, so no CLS row to measure.
      #expect((json["layers"] as? [[String: Any]])?.allSatisfy { ($0["cls_attention_entropy"] as? [Double])?.isEmpty == true } == true)
    case "siglip_gap": #expect(pooling == "avg" && kinds == [] && json["cls_features"] == nil)
    case "vit_avg": #expect(pooling == "avg" && kinds == ["cls"] && json["cls_features"] != nil)
    case "dinov2_reg4", "hf_dinov2_reg4": #expect(pooling == "cls" && kinds == ["cls", "register", "register", "register", "register"])
    default: #expect(pooling == "cls" && kinds == ["cls"] && json["cls_features"] != nil)
    }
  }

  @Test func clsFreeModelsScoreByMeanAttentionAndRefuseWhatNeedsACLS() throws {
    let evit = try report("siglip_map", "evit:keep=0.7,layers=0")
    let events = (evit.json?["layers"] as? [[String: Any]])?.compactMap { $0["event"] as? String } ?? []
    #expect(events.first?.contains("by mean attention") == true, "\(events)")
    let explicit = try report("siglip_map", "evit:keep=0.7,layers=0,score=cls")
    #expect(explicit.status == 64 && explicit.stderr.contains("score=cls: expected auto or mean: the model has no class token"), "\(explicit.stderr)")
    let dvt = try report("siglip_gap", "dvt:grids=2/4,thresholds=0.5")
    #expect(dvt.status == 64 && dvt.stderr.contains("a model with a class token"), "\(dvt.stderr)")
    // VisionZip's default score follows the model too: on a CLS-free tower it ranks by mean attention, the same
    // tokens as an explicit score=mean, and score=cls is refused.
    let zip = try report("siglip_gap", "visionzip:dominant=8,contextual=2,layer=0,score=mean")
    #expect(zip.status == 0, "\(zip.stderr)")
    let zipAuto = try report("siglip_gap", "visionzip:dominant=8,contextual=2,layer=0")
    let zipEvent = (zipAuto.json?["layers"] as? [[String: Any]])?.first?["event"] as? String
    #expect(zipEvent?.contains("by mean attention received") == true, "\(zipAuto.stderr)")
    #expect(zipEvent == (zip.json?["layers"] as? [[String: Any]])?.first?["event"] as? String)
    #expect(zipAuto.json?["logits"] as? [Double] == zip.json?["logits"] as? [Double])
    let zipCLS = try report("siglip_gap", "visionzip:dominant=8,contextual=2,layer=0,score=cls")
    #expect(zipCLS.status == 64 && zipCLS.stderr.contains("score=cls: expected auto or mean"), "\(zipCLS.stderr)")
    // On a class-token model the default stays the class token's row.
    let cls = try report("clip_gelu", "evit:keep=0.7,layers=0")
    #expect(((cls.json?["layers"] as? [[String: Any]])?.first?["event"] as? String)?.contains("by CLS attention") == true)
  }
}
