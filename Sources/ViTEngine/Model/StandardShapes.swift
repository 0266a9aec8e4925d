// The shapes of published models, for counting MACs without weights (`flops --arch`). Each is timm's registry entry
// at its native resolution: timm/models/vision_transformer.py (vit_base_patch16_clip_224 and _quickgelu alike,
// vit_large_patch14_clip_224, vit_base_patch16_siglip_224, vit_so400m_patch14_siglip_384,
// vit_{small,base,large}_patch14_reg4_dinov2 at 518 px; timm/models/eva.py: eva02_{tiny,small}_patch14_336,
// eva02_{base,large}_patch14_448, eva02_base_patch16_clip_224, vit_{small,small_plus,base,large}_patch16_dinov3 at
// 256 px). Activation, LayerScale and rotary embeddings change no MAC count; SwiGLU (a third linear) and the Eva class's
// extra LayerNorms do.

extension ModelShape {
  /// The names `flops --arch` accepts, in the order its help lists them.
  public static let standardNames = ["deit-t", "deit-s", "deit-b", "clip-b16", "clip-l14", "siglip-b16", "siglip-so400m14-384",
                                     "dinov2-s14-reg4", "dinov2-b14-reg4", "dinov2-l14-reg4", "eva02-t14-336", "eva02-s14-336",
                                     "eva02-b14-448", "eva02-l14-448", "eva02-clip-b16", "dinov3-s16", "dinov3-s16plus",
                                     "dinov3-b16", "dinov3-l16"]

  /// A standard architecture by name (see `standardNames`), or nil.
  public static func standard(_ name: String) -> ModelShape? {
    if let deit = deit(name) { return deit }
    func uniform(embed c: Int, depth: Int, heads: Int, mlp: Int, patch: Int, side: Int, prefix: Int, classes: Int) -> ModelShape {
      ModelShape(embedDim: c, inChannels: 3, patchSize: patch, grid: GridSize(rows: side / patch, cols: side / patch),
                 prefixTokens: prefix, heads: Array(repeating: heads, count: depth), headDim: Array(repeating: c / heads, count: depth),
                 mlpHidden: Array(repeating: mlp, count: depth), classes: classes)
    }
    var shape: ModelShape
    switch name {
    // OpenAI's image towers: norm_pre, and the projection to the joint embedding as timm's head (512 and 768 wide).
    case "clip-b16":
      shape = uniform(embed: 768, depth: 12, heads: 12, mlp: 3072, patch: 16, side: 224, prefix: 1, classes: 512)
      shape.normPre = true
    case "clip-l14":
      shape = uniform(embed: 1024, depth: 24, heads: 16, mlp: 4096, patch: 14, side: 224, prefix: 1, classes: 768)
      shape.normPre = true
    // SigLIP towers: no class token, the MAP head, no classifier.
    case "siglip-b16":
      shape = uniform(embed: 768, depth: 12, heads: 12, mlp: 3072, patch: 16, side: 224, prefix: 0, classes: 0)
      shape.pooling = .map; shape.mapHidden = 3072
    case "siglip-so400m14-384":
      shape = uniform(embed: 1152, depth: 27, heads: 16, mlp: 4304, patch: 14, side: 378, prefix: 0, classes: 0)
      shape.pooling = .map; shape.mapHidden = 4304
    // DINOv2 with four registers, headless, at the 518 px it was trained for (a 37 x 37 grid).
    case "dinov2-s14-reg4": shape = uniform(embed: 384, depth: 12, heads: 6, mlp: 1536, patch: 14, side: 518, prefix: 5, classes: 0)
    case "dinov2-b14-reg4": shape = uniform(embed: 768, depth: 12, heads: 12, mlp: 3072, patch: 14, side: 518, prefix: 5, classes: 0)
    case "dinov2-l14-reg4": shape = uniform(embed: 1024, depth: 24, heads: 16, mlp: 4096, patch: 14, side: 518, prefix: 5, classes: 0)
    // EVA02, ImageNet-1k fine-tuned: SwiGLU of int(C · 8/3) units (base and large with a LayerNorm over them),
    // average pooling with fc_norm.
    case "eva02-t14-336", "eva02-s14-336", "eva02-b14-448", "eva02-l14-448":
      let (c, depth, heads, side) = ["eva02-t14-336": (192, 12, 3, 336), "eva02-s14-336": (384, 12, 6, 336),
                                     "eva02-b14-448": (768, 12, 12, 448), "eva02-l14-448": (1024, 24, 16, 448)][name]!
      shape = uniform(embed: c, depth: depth, heads: heads, mlp: c * 8 / 3, patch: 14, side: side, prefix: 1, classes: 1000)
      shape.pooling = .avg; shape.fcNorm = true; shape.gatedMLP = true; shape.mlpNorm = c >= 768
    // The EVA-CLIP image tower: LayerNorms inside attention and over the SwiGLU units, the class token, a 512-wide
    // projection as the head.
    case "eva02-clip-b16":
      shape = uniform(embed: 768, depth: 12, heads: 12, mlp: 2048, patch: 16, side: 224, prefix: 1, classes: 512)
      shape.gatedMLP = true; shape.mlpNorm = true; shape.attentionNorm = true
    // DINOv3: a class token and four storage tokens, headless, averaged (timm's default), the final norm over every token.
    case "dinov3-s16", "dinov3-s16plus", "dinov3-b16", "dinov3-l16":
      let (c, depth, heads) = ["dinov3-s16": (384, 12, 6), "dinov3-s16plus": (384, 12, 6), "dinov3-b16": (768, 12, 12),
                               "dinov3-l16": (1024, 24, 16)][name]!
      shape = uniform(embed: c, depth: depth, heads: heads, mlp: 4 * c, patch: 16, side: 256, prefix: 5, classes: 0)
      shape.pooling = .avg; shape.gatedMLP = name == "dinov3-s16plus"
    default: return nil
    }
    return shape
  }
}
