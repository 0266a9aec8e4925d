// Checkpoint naming schemes. timm's names are canonical; Hugging Face names are mapped onto them by rules (as data),
// with HF's split query/key/value concatenated into timm's fused qkv.
// ref: transformers convert_deit_timm_to_pytorch.py, convert_dinov2_to_hf.py (HF's own timm <-> HF key mappings).

public enum NamingScheme: String, Sendable {
  case timm
  /// timm's Eva class (timm/models/eva.py: EVA02, DINOv3): VisionTransformer's names, but LayerScale as `gamma_1`/`gamma_2`,
  /// q and v biases beside a bias-free qkv (`attn.q_bias`, `attn.v_bias`) or q/k/v apart (`attn.q_proj`, ...), SwiGLU
  /// as a packed `mlp.fc1` or `mlp.fc1_g`/`mlp.fc1_x`, and LayerNorms `attn.norm` and `mlp.norm`.
  case timmEva = "timm-eva"
  case hfViT = "hf-vit"
  case hfDeiT = "hf-deit"
  case hfDinov2 = "hf-dinov2"
  /// CLIPVisionModel(WithProjection): a 1-D class embedding, a 2-D position table, `pre_layrnorm`, no patch bias.
  case hfCLIP = "hf-clip"
  /// SiglipVisionModel: CLIP's block names, no class token, `post_layernorm` over every token, and the MAP head as
  /// `head.*` with q, k and v packed into one `in_proj`.
  case hfSiglip = "hf-siglip"

  public var isHuggingFace: Bool { self != .timm && self != .timmEva }

  /// LayerNorm eps when neither the file nor a config.json says: timm's nn.LayerNorm(eps=1e-6) and HF Dinov2 use 1e-6,
  /// HF ViT/DeiT default to 1e-12.
  public var defaultLayerNormEps: Float {
    switch self {
    case .timm, .timmEva, .hfDinov2: return 1e-6
    case .hfViT, .hfDeiT: return 1e-12
    case .hfCLIP: return 1e-5
    case .hfSiglip: return 1e-6
    }
  }

  /// Detects the scheme and the common key prefix ("module.", "vit.", ...) from the key set.
  public static func detect(_ names: Set<String>) -> (scheme: NamingScheme, prefix: String)? {
    let timmSuffix = "patch_embed.proj.weight"
    let hfSuffix = "embeddings.patch_embeddings.projection.weight"
    let clipSuffix = "embeddings.patch_embedding.weight"
    if let key = names.first(where: { $0.hasSuffix(clipSuffix) }) {
      let prefix = String(key.dropLast(clipSuffix.count))
      return (names.contains(prefix + "embeddings.class_embedding") ? .hfCLIP : .hfSiglip, prefix)
    }
    if let key = names.first(where: { $0.hasSuffix(hfSuffix) }) {
      let prefix = String(key.dropLast(hfSuffix.count))
      // Dinov2WithRegistersModel saves Dinov2's layout plus embeddings.register_tokens.
      if names.contains(prefix + "encoder.layer.0.norm1.weight") { return (.hfDinov2, prefix) }
      if names.contains(prefix + "embeddings.distillation_token") || prefix.hasPrefix("deit") { return (.hfDeiT, prefix) }
      return (.hfViT, prefix)
    }
    if let key = names.first(where: { $0 == timmSuffix || $0.hasSuffix("." + timmSuffix) }) {
      let prefix = String(key.dropLast(timmSuffix.count))
      // Any of the Eva class's own names in the first block marks its layout.
      let eva = ["gamma_1", "attn.q_bias", "attn.q_proj.weight", "mlp.fc1_g.weight", "attn.norm.weight", "mlp.norm.weight"]
      return (eva.contains { names.contains(prefix + "blocks.0." + $0) } ? .timmEva : .timm, prefix)
    }
    return nil
  }

  /// The file's names for a canonical (timm) tensor name, or nil when the scheme has no such tensor.
  /// A fused qkv maps to three names (query, key, value) that are concatenated along the output dimension.
  public func fileNames(for canonical: String, prefix: String) -> [String]? {
    if self == .timm { return [prefix + canonical] }
    if self == .timmEva { return evaFileNames(for: canonical, prefix: prefix) }
    if self == .hfCLIP || self == .hfSiglip { return towerFileNames(for: canonical, prefix: prefix) }
    // Heads sit outside the backbone prefix in HF checkpoints ("classifier.weight" next to "vit.embeddings...").
    let headPrefix = ""
    let parts = canonical.split(separator: ".", maxSplits: 2).map(String.init)
    switch canonical {
    case "cls_token": return [prefix + "embeddings.cls_token"]
    case "dist_token": return self == .hfDeiT ? [prefix + "embeddings.distillation_token"] : nil
    case "reg_token": return self == .hfDinov2 ? [prefix + "embeddings.register_tokens"] : nil
    case "pos_embed": return [prefix + "embeddings.position_embeddings"]
    case "patch_embed.proj.weight": return [prefix + "embeddings.patch_embeddings.projection.weight"]
    case "patch_embed.proj.bias": return [prefix + "embeddings.patch_embeddings.projection.bias"]
    case "norm.weight": return [prefix + "layernorm.weight"]
    case "norm.bias": return [prefix + "layernorm.bias"]
    case "head.weight", "head.bias":
      let leaf = parts[1]
      if self == .hfDeiT { return [headPrefix + "cls_classifier.\(leaf)", headPrefix + "classifier.\(leaf)"] }
      return [headPrefix + "classifier.\(leaf)"]
    case "head_dist.weight", "head_dist.bias":
      return self == .hfDeiT ? [headPrefix + "distillation_classifier.\(parts[1])"] : nil
    default: break
    }
    guard parts.count == 3, parts[0] == "blocks", Int(parts[1]) != nil else { return nil }
    let layer = prefix + "encoder.layer.\(parts[1])."
    let dinov2 = self == .hfDinov2
    switch parts[2] {
    case "norm1.weight", "norm1.bias":
      return [layer + (dinov2 ? "norm1." : "layernorm_before.") + parts[2].split(separator: ".")[1]]
    case "norm2.weight", "norm2.bias":
      return [layer + (dinov2 ? "norm2." : "layernorm_after.") + parts[2].split(separator: ".")[1]]
    case "attn.qkv.weight", "attn.qkv.bias":
      let leaf = parts[2].hasSuffix("weight") ? "weight" : "bias"
      return ["query", "key", "value"].map { layer + "attention.attention.\($0).\(leaf)" }
    case "attn.proj.weight": return [layer + "attention.output.dense.weight"]
    case "attn.proj.bias": return [layer + "attention.output.dense.bias"]
    case "mlp.fc1.weight", "mlp.fc1.bias":
      return [layer + (dinov2 ? "mlp.fc1." : "intermediate.dense.") + (parts[2].hasSuffix("weight") ? "weight" : "bias")]
    case "mlp.fc2.weight", "mlp.fc2.bias":
      return [layer + (dinov2 ? "mlp.fc2." : "output.dense.") + (parts[2].hasSuffix("weight") ? "weight" : "bias")]
    case "ls1.gamma": return dinov2 ? [layer + "layer_scale1.lambda1"] : nil
    case "ls2.gamma": return dinov2 ? [layer + "layer_scale2.lambda1"] : nil
    default: return nil
    }
  }

  /// HF CLIP's and SigLIP's names: `embeddings.*`, CLIP's `pre_layrnorm` (sic), `encoder.layers.{i}.self_attn.*`, the
  /// `post_layernorm` (CLIP applies it to the pooled class token only: the same numbers as timm's norm over every
  /// token, then the first), CLIP's `visual_projection` (no bias) as the head, SigLIP's MAP head as `head.*`.
  private func towerFileNames(for canonical: String, prefix: String) -> [String]? {
    let clip = self == .hfCLIP
    switch canonical {
    case "cls_token": return clip ? [prefix + "embeddings.class_embedding"] : nil
    case "pos_embed": return [prefix + "embeddings.position_embedding.weight"]
    case "patch_embed.proj.weight": return [prefix + "embeddings.patch_embedding.weight"]
    case "patch_embed.proj.bias": return clip ? nil : [prefix + "embeddings.patch_embedding.bias"]
    case "norm_pre.weight", "norm_pre.bias": return clip ? [prefix + "pre_layrnorm." + canonical.dropFirst("norm_pre.".count)] : nil
    case "norm.weight", "norm.bias": return [prefix + "post_layernorm." + canonical.dropFirst("norm.".count)]
    case "head.weight": return clip ? ["visual_projection.weight"] : nil
    case "attn_pool.latent": return clip ? nil : [prefix + "head.probe"]
    default: break
    }
    if !clip, canonical.hasPrefix("attn_pool.") {
      let rest = String(canonical.dropFirst("attn_pool.".count))
      if rest.hasPrefix("proj.") { return [prefix + "head.attention.out_" + rest] }
      if rest.hasPrefix("norm.") { return [prefix + "head.layer" + rest] }
      if rest.hasPrefix("mlp.") { return [prefix + "head." + rest] }
      if let packed = packedRows(for: canonical, prefix: prefix) { return [packed.name] }
      return nil
    }
    let parts = canonical.split(separator: ".", maxSplits: 2).map(String.init)
    guard parts.count == 3, parts[0] == "blocks", Int(parts[1]) != nil else { return nil }
    let layer = prefix + "encoder.layers.\(parts[1])."
    let leaf = parts[2].hasSuffix("weight") ? "weight" : "bias"
    switch parts[2] {
    case "norm1.weight", "norm1.bias": return [layer + "layer_norm1." + leaf]
    case "norm2.weight", "norm2.bias": return [layer + "layer_norm2." + leaf]
    case "attn.qkv.weight", "attn.qkv.bias": return ["q_proj", "k_proj", "v_proj"].map { layer + "self_attn.\($0).\(leaf)" }
    case "attn.proj.weight", "attn.proj.bias": return [layer + "self_attn.out_proj." + leaf]
    case "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias": return [layer + parts[2]]
    default: return nil
    }
  }

  /// The Eva class's names: timm's, with LayerScale as gamma_1/gamma_2, and the q and v biases saved beside a
  /// bias-free qkv (fused layout) or as the q_proj/v_proj biases (split layout; the split weights are read by
  /// WeightReader.infos). The fused qkv has no bias tensor of its own: the loader assembles [q_bias | 0 | v_bias].
  private func evaFileNames(for canonical: String, prefix: String) -> [String]? {
    let parts = canonical.split(separator: ".", maxSplits: 2).map(String.init)
    guard parts.count == 3, parts[0] == "blocks", Int(parts[1]) != nil else { return [prefix + canonical] }
    let block = prefix + "blocks.\(parts[1])."
    switch parts[2] {
    case "ls1.gamma": return [block + "gamma_1"]
    case "ls2.gamma": return [block + "gamma_2"]
    case "attn.qkv.bias": return nil
    case "attn.q_bias": return [block + "attn.q_bias", block + "attn.q_proj.bias"]
    case "attn.v_bias": return [block + "attn.v_bias", block + "attn.v_proj.bias"]
    default: return [prefix + canonical]
    }
  }

  /// HF stores CLIP's class embedding as [C] and CLIP's and SigLIP's position tables as [T, C]; timm's shapes are
  /// [1, 1, C] and [1, T, C], with the same values in the same order.
  func canonicalShape(_ canonical: String, _ shape: [Int]) -> [Int] {
    guard self == .hfCLIP || self == .hfSiglip, canonical == "cls_token" || canonical == "pos_embed" else { return shape }
    return [1] + (canonical == "cls_token" ? [1] : []) + shape
  }

  /// A canonical tensor that is a run of rows of one file tensor, in `of` equal parts from part `first`, `count` parts
  /// long: HF SigLIP's MAP head packs q, k, v into `in_proj` ([3C, C]), timm splits it into q ([C, C]) and kv ([2C, C]).
  func packedRows(for canonical: String, prefix: String) -> (name: String, first: Int, count: Int, of: Int)? {
    guard self == .hfSiglip else { return nil }
    let leaf = canonical.hasSuffix(".weight") ? "in_proj_weight" : "in_proj_bias"
    switch canonical {
    case "attn_pool.q.weight", "attn_pool.q.bias": return (prefix + "head.attention." + leaf, 0, 1, 3)
    case "attn_pool.kv.weight", "attn_pool.kv.bias": return (prefix + "head.attention." + leaf, 1, 2, 3)
    default: return nil
    }
  }

  /// Tensors that checkpoints of this scheme carry and the engine leaves unread on purpose. Loading reports every other
  /// tensor it did not read.
  public var knownUnused: [KnownUnused] {
    guard isHuggingFace else { return [] }  // timm's VisionTransformer holds nothing the engine skips
    return [
      // Replaces masked patches in masked-image pretraining; inference never masks. Every Dinov2 has one, and ViTs built
      // with use_mask_token.
      .suffix("embeddings.mask_token"),
      // The tanh pooler of a bare ViTModel or DeiTModel; the classifier and the features read the normed class token.
      .infix("pooler.dense."),
      // CLIP's position indices 0..T-1, a buffer older transformers versions saved.
      .suffix("embeddings.position_ids"),
    ]
  }

  public func isIgnorable(_ name: String) -> Bool { knownUnused.contains { $0.matches(name) } }
}

/// A pattern for tensor names that a scheme leaves unread.
public enum KnownUnused: Sendable {
  case suffix(String), infix(String)

  public func matches(_ name: String) -> Bool {
    switch self {
    case .suffix(let s): return name.hasSuffix(s)
    case .infix(let s): return name.contains(s)
    }
  }
}
