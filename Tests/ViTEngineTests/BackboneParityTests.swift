// The modern families (average-pooled ViT, DINOv2 with registers, CLIP with QuickGELU and GELU, SigLIP with a MAP
// head and with average pooling, EVA02 and its CLIP tower, DINOv3 and DINOv3+) against timm itself: Tests/Fixtures/backbones.py builds each from timm's model
// registry at a test size with random weights and records timm's block outputs, pre_logits and logits. The Hugging
// Face layouts (CLIPVisionModelWithProjection, Dinov2WithRegistersForImageClassification) against transformers.
import Foundation
import Testing
import TestSupport
@testable import ViTEngine

@Suite("Modern backbones against timm")
struct BackboneParityTests {
  /// name, family, pooling, activation, prefix kinds.
  static let fixtures: [(String, String, Pooling, Activation, [PrefixKind])] = [
    ("vit_avg", "vit", .avg, .gelu, [.cls]),
    ("dinov2_reg4", "dinov2", .cls, .gelu, [.cls, .register, .register, .register, .register]),
    ("clip_quickgelu", "clip", .cls, .quickGELU, [.cls]),
    ("clip_gelu", "clip", .cls, .gelu, [.cls]),
    ("siglip_map", "siglip", .map, .gelu, []),
    ("siglip_gap", "siglip", .avg, .gelu, []),
    // Hugging Face save_pretrained layouts; the references are transformers' own outputs.
    ("hf_clip", "clip", .cls, .quickGELU, [.cls]),
    ("hf_dinov2_reg4", "dinov2", .cls, .gelu, [.cls, .register, .register, .register, .register]),
    ("hf_siglip", "siglip", .map, .geluTanh, []),
    // timm's Eva class: rotary embeddings, q/v biases, SwiGLU (SiLU-gated), Eva's own LayerNorms.
    ("eva02_tiny", "eva02", .avg, .silu, [.cls]),
    ("eva02_clip", "eva02", .cls, .silu, [.cls]),
    ("dinov3", "dinov3", .avg, .gelu, [.cls, .storage, .storage, .storage, .storage]),
    ("dinov3_plus", "dinov3", .avg, .silu, [.cls, .storage, .storage, .storage, .storage]),
  ]

  @Test("pre_logits and logits equal timm's", arguments: fixtures.map(\.0))
  func parity(name: String) throws {
    let model = try ModelLoader.load(path: modelFixture(name))
    let expected = try Expected(name)
    let pass = ForwardPass(model: model, input: try modelInput(expected))
    let prediction = pass.output()
    for (i, record) in pass.records.enumerated() {
      expectClose(record.output.x.data, try expected.floats("block_out.\(i)"), "\(name) block \(i) output")
      if expected.has("cls_attention.\(i)") {
        expectClose((0..<record.heads).flatMap { record.classAttention(head: $0) }, try expected.floats("cls_attention.\(i)"),
                    "\(name) block \(i) CLS attention")
      }
    }
    if expected.has("features") { expectClose(prediction.classFeatures, try expected.floats("features"), "\(name) features") }
    expectClose(prediction.preLogits, try expected.floats("pre_logits"), "\(name) pre_logits")
    if expected.has("logits") {
      expectClose(try #require(prediction.logits), try expected.floats("logits"), "\(name) logits")
    } else {
      #expect(prediction.logits == nil, "\(name) is headless")
    }
  }

  @Test func familyPoolingActivationAndPrefixAreRecognised() throws {
    for (name, family, pooling, activation, kinds) in Self.fixtures {
      let model = try ModelLoader.load(path: modelFixture(name))
      #expect(model.backbone.family == family, "\(name)")
      #expect(model.backbone.pooling == pooling, "\(name)")
      #expect(model.backbone.activation == activation, "\(name)")
      #expect(model.prefixKinds == kinds, "\(name)")
      #expect(model.info.unusedTensors == [], "\(name)")
    }
    // Where each value came from: the architecture name in config.json, or the tensors alone (vit_avg has no config).
    let clip = try ModelLoader.load(path: modelFixture("clip_quickgelu"))
    #expect(clip.info.sources["activation"] == .configJSON && clip.info.sources["family"] == .configJSON)
    #expect(clip.info.layerNormEps == 1e-5 && clip.info.sources["layer_norm_eps"] == .configJSON)
    #expect(clip.info.mean == [0.48145466, 0.4578275, 0.40821073] && clip.info.cropPct == 1.0)
    let avg = try ModelLoader.load(path: modelFixture("vit_avg"))
    #expect(avg.info.sources["pooling"] == .inferred && avg.info.sources["activation"] == .defaults)
    #expect(avg.norm == nil && avg.backbone.fcNorm != nil)
    let siglip = try ModelLoader.load(path: modelFixture("siglip_map"))
    #expect(siglip.info.sources["pooling"] == .inferred && !siglip.hasClassToken)
    let hfClip = try ModelLoader.load(path: modelFixture("hf_clip"))
    #expect(hfClip.info.scheme == .hfCLIP && hfClip.info.sources["activation"] == .configJSON && hfClip.info.layerNormEps == 1e-5)
    #expect(hfClip.patchEmbed.bias == nil && hfClip.head?.bias == nil && hfClip.backbone.normPre != nil)
    // Dinov2WithRegistersModel saves Dinov2's names plus the register tokens.
    #expect(try ModelLoader.load(path: modelFixture("hf_dinov2_reg4")).info.scheme == .hfDinov2)
    #expect(try ModelLoader.load(path: modelFixture("hf_siglip")).info.scheme == .hfSiglip)
  }

  @Test func settingsTheTensorsCannotShowAreNeverGuessed() throws {
    // CLIP weights without their config: QuickGELU or GELU is not in the tensors, so the file is refused.
    expectLoadError(try copyWithoutConfig("clip_quickgelu"), mentions: "'norm_pre.weight' marks a CLIP tower")
    // The same file with act_layer in its metadata loads and equals timm.
    let stated = try copyWithoutConfig("clip_quickgelu", metadata: ["act_layer": "quick_gelu", "layer_norm_eps": "1e-5"])
    let model = try ModelLoader.load(path: stated)
    #expect(model.backbone.activation == .quickGELU && model.info.sources["activation"] == .metadata)
    let expected = try Expected("clip_quickgelu")
    let prediction = ForwardPass(model: model, input: try modelInput(expected)).output()
    expectClose(try #require(prediction.logits), try expected.floats("logits"), "clip with act_layer metadata")
    // GELU in place of QuickGELU misses by far more than the parity tolerance (1e-4 of the scale): the setting matters,
    // which is why it is never guessed.
    let wrong = try ModelLoader.load(path: try copyWithoutConfig("clip_quickgelu", metadata: ["act_layer": "gelu", "layer_norm_eps": "1e-5"]))
    let off = try #require(ForwardPass(model: wrong, input: try modelInput(expected)).output().logits)
    let want = try expected.floats("logits")
    #expect(zip(off, want).map { abs($0 - $1) }.max()! > 10 * 1e-4 * want.map(abs).max()!)
  }

  @Test func explicitGlobalPoolOverridesAndContradictionsAreRefused() throws {
    // global_pool 'token' on a model without a class token cannot be run.
    let siglip = try copyWithoutConfig("siglip_gap", metadata: ["global_pool": "token"])
    #expect(throws: CheckpointError.inconsistent(path: siglip, reason: "global_pool is 'token' (metadata) but the file has no class token ('cls_token')")) {
      try ModelLoader.load(path: siglip)
    }
    // global_pool 'avg' on a file with a MAP head contradicts the tensors.
    let map = try copyWithoutConfig("siglip_map", metadata: ["global_pool": "avg"])
    #expect(throws: CheckpointError.inconsistent(path: map, reason: "global_pool is 'avg' (metadata) but the file has a MAP head ('attn_pool.latent')")) {
      try ModelLoader.load(path: map)
    }
    // An explicit 'avg' on a class-token model without fc_norm averages the normed patch tokens.
    let avg = try copyWithoutConfig("clip_gelu", metadata: ["global_pool": "avg", "act_layer": "gelu"])
    #expect(try ModelLoader.load(path: avg).backbone.pooling == .avg)
  }

  /// A 32x48 input (4 x 6 patches): RoPE's coordinates per axis (DINOv3 normalises each axis by its own length, EVA02
  /// scales each to its 16x16 reference) and EVA02's resampled position table, against timm at that size.
  @Test(arguments: ["eva02_tiny", "dinov3"])
  func nonSquareInputEqualsTimm(name: String) throws {
    let model = try ModelLoader.load(path: modelFixture(name))
    let expected = try Expected(name)
    let pass = ForwardPass(model: model, input: try modelInput(expected, key: "input_rect"))
    let prediction = pass.output()
    #expect(pass.grid == GridSize(rows: 4, cols: 6))
    expectClose(prediction.preLogits, try expected.floats("pre_logits_rect"), "\(name) pre_logits at 32x48")
    expectClose(try #require(prediction.logits), try expected.floats("logits_rect"), "\(name) logits at 32x48")
  }

  @Test func evaLayoutsAndRotarySettingsAreRecognised() throws {
    let tiny = try ModelLoader.load(path: modelFixture("eva02_tiny"))
    #expect(tiny.info.scheme == .timmEva && tiny.backbone.rope == .eva02 && tiny.info.sources["rope"] == .configJSON)
    #expect(tiny.backbone.evaLayout == EvaLayout(fusedQKV: true, packedSwiGLU: true) && tiny.backbone.fcNorm != nil)
    // timm's k_bias is a zero buffer: the assembled qkv bias is [q_bias | 0 | v_bias].
    let a = tiny.blocks[0].attentionWidth
    #expect(try #require(tiny.blocks[0].qkv.bias)[a..<(2 * a)].allSatisfy { $0 == 0 })
    let clip = try ModelLoader.load(path: modelFixture("eva02_clip"))
    #expect(clip.backbone.evaLayout == EvaLayout(fusedQKV: false, packedSwiGLU: false))
    #expect(clip.blocks.allSatisfy { $0.attentionNorm != nil && $0.mlpNorm != nil && $0.gate != nil })
    #expect(clip.shape.attentionNorm && clip.shape.mlpNorm && clip.shape.gatedMLP && clip.info.layerNormEps == 1e-6)
    let dino = try ModelLoader.load(path: modelFixture("dinov3"))
    #expect(dino.backbone.rope == .dinov3 && dino.posEmbed.rows == 0 && dino.info.layerNormEps == 1e-5)
    #expect(dino.info.prefixNames == ["cls", "storage0", "storage1", "storage2", "storage3"] && dino.norm != nil)
    #expect(dino.blocks.allSatisfy { $0.layerScale1 != nil && $0.gate == nil && $0.qkv.bias == nil })
  }

  @Test func rotarySettingsAreNeverGuessed() throws {
    // Without its config.json nothing in the file says EVA02's RoPE from DINOv3's: refused, naming a tensor.
    expectLoadError(try copyWithoutConfig("dinov3"), mentions: "rotary position embedding", "blocks.0.gamma_1")
    // The architecture name in __metadata__ says it all (input size included); the result equals timm.
    let named = try copyWithoutConfig("dinov3", metadata: ["architecture": "vit_small_patch16_dinov3", "input_size": "3,32,32",
                                                           "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225"])
    let model = try ModelLoader.load(path: named)
    #expect(model.info.sources["rope"] == .metadata && model.backbone.family == "dinov3" && model.backbone.pooling == .avg)
    let expected = try Expected("dinov3")
    expectClose(ForwardPass(model: model, input: try modelInput(expected)).output().preLogits,
                try expected.floats("pre_logits"), "dinov3 named in metadata")
    // The wrong variant misses timm by far more than the tolerance: the setting matters.
    let wrong = try ModelLoader.load(path: try copyWithoutConfig("dinov3", metadata: [
      "rope_type": "cat", "input_size": "3,32,32", "global_pool": "avg", "layer_norm_eps": "1e-5"]))
    let off = ForwardPass(model: wrong, input: try modelInput(expected)).output().preLogits
    let want = try expected.floats("pre_logits")
    #expect(zip(off, want).map { abs($0 - $1) }.max()! > 10 * 1e-4 * want.map(abs).max()!)
    // An explicit setting overrides the name's, and settings the engine does not run are refused.
    let hot = try ModelLoader.load(path: try copyWithoutConfig("eva02_tiny", metadata: ["architecture": "eva02_tiny_patch14_224", "rope_temperature": "100"]))
    #expect(hot.backbone.rope?.temperature == 100 && hot.backbone.rope?.referenceGrid == GridSize(rows: 16, cols: 16))
    let mixed = try copyWithoutConfig("eva02_tiny", metadata: ["rope_type": "mixed"])
    #expect(throws: CheckpointError.unrecognized(path: mixed, reason: "rope_type 'mixed' (metadata) is not one tokenscope runs ('cat', EVA02's; 'dinov3')")) {
      try ModelLoader.load(path: mixed)
    }
    let enormous = try copyWithoutConfig("eva02_clip", metadata: ["architecture": "eva02_enormous_patch14_clip_224"])
    #expect(throws: CheckpointError.self) { try ModelLoader.load(path: enormous) }
  }

  @Test(arguments: ["siglip_map", "clip_quickgelu", "vit_avg", "eva02_tiny", "eva02_clip", "dinov3", "dinov3_plus"])
  func structuralPruningKeepsTheFamilyParts(name: String) throws {
    let model = try ModelLoader.load(path: modelFixture(name))
    let input = try modelInput(try Expected(name))
    let want = try #require(ForwardPass(model: model, input: input).output().logits)
    // Keeping every channel is the identity; the MAP head, norm_pre and fc_norm go through slicing.
    let same = model.pruned(.all(model))
    expectClose(try #require(ForwardPass(model: same, input: input).output().logits), want, "\(name) pruned to itself")
    // Dropping an embedding channel keeps the MAP head's own attention and MLP widths whole.
    var selection = ChannelSelection.all(model)
    selection.embed.removeLast()
    let narrower = model.pruned(selection)
    #expect(narrower.embedDim == model.embedDim - 1)
    if let head = narrower.backbone.mapHead {
      #expect(head.attentionWidth == model.embedDim && head.mlpHidden == model.backbone.mapHead!.mlpHidden && head.width == model.embedDim - 1)
    }
    #expect(narrower.backbone.activation == model.backbone.activation && (narrower.backbone.normPre != nil) == (model.backbone.normPre != nil))
    #expect(try #require(ForwardPass(model: narrower, input: input).output().logits).allSatisfy(\.isFinite))
    // Written under timm's names with what the tensors cannot show in its metadata, it loads as the same model.
    let path = temporaryPath("\(name)-pruned.safetensors")
    try same.timmCheckpoint().write(to: path)
    let reloaded = try ModelLoader.load(path: path)
    #expect(reloaded.backbone.activation == model.backbone.activation && reloaded.backbone.pooling == model.backbone.pooling)
    #expect(reloaded.backbone.rope == model.backbone.rope && reloaded.backbone.evaLayout == model.backbone.evaLayout)
    #expect(reloaded.info.prefixNames == model.info.prefixNames)
    expectClose(try #require(ForwardPass(model: reloaded, input: input).output().logits), want, "\(name) written and reloaded")
  }

  /// UP-ViT's unit of a SwiGLU MLP is a pair: pruning unit u removes its gate row, its up row and fc2's column u, and
  /// equals ablating it (zeroing the up row: silu(g)·0 = 0; under mlp.norm the ablation removes it too).
  @Test(arguments: ["eva02_tiny", "eva02_clip", "dinov3_plus"])
  func swiGLUUnitsArePrunedAsPairs(name: String) throws {
    let model = try ModelLoader.load(path: modelFixture(name))
    let input = try modelInput(try Expected(name))
    let block = 1, unit = 3, f = model.blocks[block].mlpHidden
    var selection = ChannelSelection.all(model)
    selection.mlp[block].remove(at: unit)
    let pruned = model.pruned(selection)
    let b = pruned.blocks[block], original = model.blocks[block]
    #expect(b.gate?.outFeatures == f - 1 && b.fc1.outFeatures == f - 1 && b.fc2.inFeatures == f - 1)
    #expect((b.mlpNorm?.gamma.count ?? f - 1) == f - 1 && pruned.shape.mlpHidden[block] == f - 1)
    let c = model.embedDim
    let keptGate = try #require(b.gate).dense.weight, allGate = try #require(original.gate).dense.weight
    #expect(Array(keptGate[(unit * c)..<((unit + 1) * c)]) == Array(allGate[((unit + 1) * c)..<((unit + 2) * c)]))
    let ablated = model.replacingBlock(block, with: original.ablating(mlp: [unit]))
    expectClose(try #require(ForwardPass(model: pruned, input: input).output().logits),
                try #require(ForwardPass(model: ablated, input: input).output().logits), "\(name) pruned unit = ablated unit")
    let full = try #require(ForwardPass(model: model, input: input).output().logits)
    #expect(full != (try #require(ForwardPass(model: pruned, input: input).output().logits)), "the unit mattered")
  }

  @Test func mapHeadAndNormPreAreCountedFvcoreStyle() throws {
    let siglip = try ModelLoader.load(path: modelFixture("siglip_map"))
    let s = siglip.shape, c = s.embedDim, n = s.grid.count
    // Final norm over N tokens, the probe's q, k and v of N tokens, q·kᵀ and A·v, proj, the MLP's norm and linears,
    // then the classifier.
    let want = 5 * n * c + c * c + 2 * n * c * c + 2 * n * c + c * c + 5 * c + 2 * c * s.mapHidden + c * s.classes
    #expect(MACCounter.head(s, finalTokens: n) == want)
    let clip = try ModelLoader.load(path: modelFixture("clip_gelu"))
    let p = clip.shape.patchSize
    #expect(MACCounter.stem(clip.shape, patches: 16) == 16 * 3 * p * p * 32 + 5 * 17 * 32)
  }
}

@Suite("Standard shapes for flops --arch")
struct StandardShapeTests {
  /// grid side, depth, width, heads, MLP width, MAP MLP width, prefix, classes, as timm 1.0.31's registry builds them
  /// (`timm.create_model(name)`: patch_embed.grid_size, len(blocks), embed_dim, ...).
  static let timm: [(String, Int, Int, Int, Int, Int, Int, Int, Int)] = [
    ("clip-b16", 14, 12, 768, 12, 3072, 0, 1, 512), ("clip-l14", 16, 24, 1024, 16, 4096, 0, 1, 768),
    ("siglip-b16", 14, 12, 768, 12, 3072, 3072, 0, 0), ("siglip-so400m14-384", 27, 27, 1152, 16, 4304, 4304, 0, 0),
    ("dinov2-s14-reg4", 37, 12, 384, 6, 1536, 0, 5, 0), ("dinov2-b14-reg4", 37, 12, 768, 12, 3072, 0, 5, 0),
    ("dinov2-l14-reg4", 37, 24, 1024, 16, 4096, 0, 5, 0),
  ]

  @Test func everyNameResolvesToTimmsShape() throws {
    for (name, side, depth, c, heads, mlp, mapHidden, prefix, classes) in Self.timm {
      let s = try #require(ModelShape.standard(name), "\(name)")
      #expect(s.grid == GridSize(rows: side, cols: side) && s.depth == depth && s.embedDim == c, "\(name)")
      #expect(s.heads.allSatisfy { $0 == heads } && s.mlpHidden.allSatisfy { $0 == mlp } && s.mapHidden == mapHidden, "\(name)")
      #expect(s.prefixTokens == prefix && s.classes == classes && s.pooling == (mapHidden > 0 ? .map : .cls), "\(name)")
    }
    #expect(Set(ModelShape.standardNames) == Set(Self.timm.map(\.0) + Self.eva.map(\.name) + ["deit-t", "deit-s", "deit-b"]))
  }

  /// The Eva class's sizes as timm 1.0.31 builds them (`timm.create_model(name)`: grid, depth, width, heads, the MLP's
  /// hidden width, prefix tokens, classes, pooling; `mlp.fc1_g`/packed fc1, `mlp.norm`, `attn.norm` present).
  static let eva: [(name: String, side: Int, depth: Int, c: Int, heads: Int, mlp: Int, prefix: Int, classes: Int,
                    pooling: Pooling, fcNorm: Bool, gated: Bool, mlpNorm: Bool, attentionNorm: Bool)] = [
    ("eva02-t14-336", 24, 12, 192, 3, 512, 1, 1000, .avg, true, true, false, false),
    ("eva02-s14-336", 24, 12, 384, 6, 1024, 1, 1000, .avg, true, true, false, false),
    ("eva02-b14-448", 32, 12, 768, 12, 2048, 1, 1000, .avg, true, true, true, false),
    ("eva02-l14-448", 32, 24, 1024, 16, 2730, 1, 1000, .avg, true, true, true, false),
    ("eva02-clip-b16", 14, 12, 768, 12, 2048, 1, 512, .cls, false, true, true, true),
    ("dinov3-s16", 16, 12, 384, 6, 1536, 5, 0, .avg, false, false, false, false),
    ("dinov3-s16plus", 16, 12, 384, 6, 1536, 5, 0, .avg, false, true, false, false),
    ("dinov3-b16", 16, 12, 768, 12, 3072, 5, 0, .avg, false, false, false, false),
    ("dinov3-l16", 16, 24, 1024, 16, 4096, 5, 0, .avg, false, false, false, false),
  ]

  @Test func evaClassSizesResolveToTimmsShape() throws {
    for e in Self.eva {
      let s = try #require(ModelShape.standard(e.name), "\(e.name)")
      #expect(s.grid == GridSize(rows: e.side, cols: e.side) && s.depth == e.depth && s.embedDim == e.c, "\(e.name)")
      #expect(s.heads.allSatisfy { $0 == e.heads } && s.mlpHidden.allSatisfy { $0 == e.mlp } && s.prefixTokens == e.prefix, "\(e.name)")
      #expect(s.classes == e.classes && s.pooling == e.pooling && s.fcNorm == e.fcNorm, "\(e.name)")
      #expect(s.gatedMLP == e.gated && s.mlpNorm == e.mlpNorm && s.attentionNorm == e.attentionNorm, "\(e.name)")
    }
  }

  @Test func swiGLUAndEvaNormsByHand() throws {
    // EVA02-T at 336 px: N = 577 tokens of 192, F = 512. One block: qkv 3·N·C², attention 2·N²·C, proj N·C², SwiGLU
    // 3·N·C·F, LayerNorms 10·N·C; RoPE 0. The head: fc_norm 5·C and 192 x 1000.
    let s = try #require(ModelShape.standard("eva02-t14-336"))
    let n = 577, c = 192, f = 512
    let block = 3 * n * c * c + 2 * n * n * c + n * c * c + 3 * n * c * f + 10 * n * c
    let total = MACCounter.baseline(s, grid: s.grid)
    #expect(total.blocks.allSatisfy { $0.macs.total == block })
    #expect(total.head == 5 * c + c * 1000 && total.stem == 576 * 3 * 14 * 14 * c)
    // The EVA-CLIP tower adds 5·N·A for attn.norm and 5·N·F for mlp.norm.
    let clip = try #require(ModelShape.standard("eva02-clip-b16"))
    let m = 197, w = 768, h = 2048
    #expect(MACCounter.baseline(clip, grid: clip.grid).blocks[0].macs.layerNorm == 10 * m * w + 5 * m * w + 5 * m * h)
    #expect(MACCounter.baseline(clip, grid: clip.grid).blocks[0].macs.mlp == 3 * m * w * h)
  }

  @Test func siglipHeadByHand() throws {
    // 196 tokens of 768: final norm 5·196·768, probe q 768², k and v 2·196·768², q·kᵀ and A·v 2·196·768, proj 768²,
    // the MLP's norm 5·768 and linears 2·768·3072; no classifier.
    let s = try #require(ModelShape.standard("siglip-b16"))
    #expect(MACCounter.head(s, finalTokens: 196) == 752_640 + 589_824 + 231_211_008 + 301_056 + 589_824 + 3_840 + 4_718_592)
  }
}

/// A fixture's checkpoint copied alone (without its config.json), with `metadata` and its head count as __metadata__.
func copyWithoutConfig(_ fixture: String, metadata: [String: String] = [:]) throws -> String {
  let file = try SafetensorsFile(path: modelFixture(fixture))
  var writer = SafetensorsWriter()
  writer.metadata = metadata.merging(["num_heads": "2"]) { a, _ in a }
  for n in file.names { writer.add(n, shape: file.tensors[n]!.shape, floats: try file.floats(n)) }
  let path = temporaryPath("\(fixture)-\(metadata.keys.sorted().joined(separator: "-"))-\(metadata.values.sorted().joined(separator: "-")).safetensors")
  try writer.write(to: path)
  return path
}

@Suite("Family activations against double-precision formulas")
struct ActivationKernelTests {
  /// -12...12 in uneven steps, 1003 values (a tail the 8-lane loop does not cover), plus extremes.
  static let inputs: [Float] = (0..<1003).map { Float(-12 + 24 * Double($0) / 1002) } + [-90, 90, 0]

  func check(_ kernel: (UnsafeMutablePointer<Float>, Int) -> Void, _ oracle: (Double) -> Double, _ what: String) {
    var x = Self.inputs
    x.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, $0.count) }
    let want = Self.inputs.map { Float(oracle(Double($0))) }
    expectClose(x, want, what, tolerance: 2e-6)
  }

  @Test func quickGELU() {
    check({ quickGELUInPlace($0, count: $1) }, { $0 / (1 + Foundation.exp(-1.702 * $0)) }, "QuickGELU")
  }

  @Test func geluTanh() {
    check({ geluTanhInPlace($0, count: $1) }, { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) },
          "GELU tanh approximation")
  }
}
