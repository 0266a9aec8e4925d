// The settings a checkpoint's tensor shapes cannot show: the MLP activation (QuickGELU or GELU), the pooling (class
// token or average; a MAP head and fc_norm do show), the LayerNorm eps, and the family name. They come, each with its
// source, from the first of: the file's __metadata__ (`architecture`, `global_pool`, `act_layer`), a config.json beside
// it (timm's hub layout: `architecture`, `global_pool`, `model_args`), what the tensors imply, defaults.
//
// A timm architecture name stands for its registered model_args (timm/models/vision_transformer.py): `*_clip_*` is
// pre-norm with LayerNorm eps 1e-5 and GELU, `*_clip_quickgelu_*` the same with QuickGELU, `*_siglip_*` class-token
// free with a MAP head (`*_siglip_gap_*`: average pooling, no fc_norm), `*_dinov2` eps 1e-6 (timm's default). Explicit
// `global_pool` and `model_args` override what the name implies.

/// What the configuration says about one checkpoint's architecture, before the tensors are consulted.
struct ArchitectureHints {
  var name: (value: String, source: ConfigSource)?
  var family: String?
  var activation: (value: Activation, source: ConfigSource)?
  var pooling: (value: Pooling, source: ConfigSource)?
  var layerNormEps: (value: Float, source: ConfigSource)?
  /// An activation the configuration names that the engine does not run (refused, never replaced by GELU).
  var unknownActivation: (value: String, source: ConfigSource)?

  init(_ config: ConfigSources) {
    if let s = config.metadata["architecture"] { name = (s, .metadata) } else if let s = config.config?["architecture"]?.stringValue {
      name = (s, .configJSON)
    } else if let s = config.config?["architectures"]?.arrayValue?.first?.stringValue, s.hasPrefix("vit_") || s.hasPrefix("deit") {
      name = (s, .configJSON)
    }
    if let (arch, source) = name { applyName(arch.lowercased(), source: source) }
    // A Hugging Face config names the activation (`hidden_act`) and the model type; a full CLIPConfig nests the tower's.
    let hf = config.config?["vision_config"] ?? config.config
    if let act = hf?["hidden_act"]?.stringValue {
      if let a = ArchitectureHints.activation(act) { activation = (a, .configJSON) } else { unknownActivation = (act, .configJSON) }
    }
    switch hf?["model_type"]?.stringValue {
    case "clip_vision_model", "clip": family = "clip"
    case "siglip_vision_model", "siglip": family = "siglip"
    case "dinov2_with_registers", "dinov2": family = "dinov2"
    default: break
    }
    if family != nil, name == nil, let type = hf?["model_type"]?.stringValue { name = (type, .configJSON) }
    // Explicit settings override the name's; metadata overrides config.json.
    let modelArgs = config.config?["model_args"]
    for (value, source) in [(config.config?["global_pool"]?.stringValue, ConfigSource.configJSON),
                            (modelArgs?["global_pool"]?.stringValue, .configJSON),
                            (config.metadata["global_pool"], .metadata)] {
      if let value, let p = ArchitectureHints.pooling(timm: value) { pooling = (p, source) }
    }
    for (value, source) in [(modelArgs?["act_layer"]?.stringValue, ConfigSource.configJSON),
                            (config.metadata["act_layer"], .metadata)] {
      if let value { if let a = ArchitectureHints.activation(value) { activation = (a, source) } else { unknownActivation = (value, source) } }
    }
  }

  /// timm's `global_pool` values this engine runs ('' (no pooling) and max pools are not among them).
  static func pooling(timm value: String) -> Pooling? {
    switch value {
    case "token": return .cls
    case "avg": return .avg
    case "map": return .map
    default: return nil
    }
  }

  static func activation(_ value: String) -> Activation? {
    switch value.lowercased() {
    case "quick_gelu", "quickgelu": return .quickGELU
    case "gelu": return .gelu
    case "gelu_tanh", "gelu_pytorch_tanh", "gelu_new": return .geluTanh
    default: return nil
    }
  }

  private mutating func applyName(_ arch: String, source: ConfigSource) {
    if arch.contains("siglip") {
      family = "siglip"
      pooling = (arch.contains("_gap") ? .avg : .map, source)
      activation = (arch.contains("quickgelu") ? .quickGELU : .gelu, source)
      layerNormEps = (1e-6, source)
    } else if arch.contains("clip") {
      family = "clip"
      activation = (arch.contains("quickgelu") ? .quickGELU : .gelu, source)
      pooling = (.cls, source)
      layerNormEps = (1e-5, source)
    } else if arch.contains("dinov2") {
      family = "dinov2"
      activation = (.gelu, source)
      layerNormEps = (1e-6, source)
    } else if arch.hasPrefix("deit") || arch.hasPrefix("vit_") {
      family = arch.hasPrefix("deit") ? "deit" : "vit"
      activation = (.gelu, source)
      layerNormEps = (1e-6, source)
    }
  }
}

extension WeightReader {
  /// Resolves the family-level parts from the hints and the tensors present, recording each value's source.
  /// `hasClassToken`: the sequence starts with a class token.
  mutating func readBackbone(hints: ArchitectureHints, width c: Int, heads: Int, eps: Float, hasClassToken: Bool,
                             prefixNames: [String], sources: inout [String: ConfigSource]) throws(CheckpointError) -> Backbone {
    let normPre = has("norm_pre.weight") ? try layerNorm("norm_pre", width: c, eps: eps) : nil
    let fcNorm = has("fc_norm.weight") ? try layerNorm("fc_norm", width: c, eps: eps) : nil
    let mapHead = has("attn_pool.latent") ? try readMAPHead(width: c, heads: heads, eps: eps) : nil

    if let unknown = hints.unknownActivation {
      throw .inconsistent(path: path, reason: "activation '\(unknown.value)' (\(unknown.source.rawValue)) is not one tokenscope runs (gelu, quick_gelu, gelu_tanh)")
    }
    let activation: Activation
    if let a = hints.activation { activation = a.value; sources["activation"] = a.source } else if normPre != nil {
      // OpenAI CLIP runs QuickGELU, LAION/DFN CLIP GELU; the weights look alike.
      throw .inconsistent(path: path, reason: "'\(displayName("norm_pre.weight"))' marks a CLIP tower, whose activation (QuickGELU for OpenAI weights, GELU for LAION's) the tensors do not show; give its timm architecture (e.g. vit_base_patch16_clip_quickgelu_224) in a config.json beside the file, or act_layer in __metadata__")
    } else { activation = .gelu; sources["activation"] = .defaults }

    let pooling: Pooling
    if mapHead != nil {
      if let p = hints.pooling, p.value != .map {
        throw .inconsistent(path: path, reason: "global_pool is '\(p.value.rawValue)' (\(p.source.rawValue)) but the file has a MAP head ('\(displayName("attn_pool.latent"))')")
      }
      pooling = .map; sources["pooling"] = .inferred
    } else if let p = hints.pooling {
      if p.value == .map {
        throw .missingTensor(path: path, tensor: displayName("attn_pool.latent"), scheme: scheme.rawValue + "; global_pool 'map' (\(p.source.rawValue)) needs a MAP head")
      }
      if p.value == .cls, !hasClassToken {
        throw .inconsistent(path: path, reason: "global_pool is 'token' (\(p.source.rawValue)) but the file has no class token ('\(displayName("cls_token"))')")
      }
      pooling = p.value; sources["pooling"] = p.source
    } else if fcNorm != nil || !hasClassToken {
      pooling = .avg; sources["pooling"] = .inferred
    } else { pooling = .cls; sources["pooling"] = .defaults }

    let family: String
    if let f = hints.family { family = f; sources["family"] = hints.name?.source } else {
      if mapHead != nil { family = "siglip" } else if normPre != nil { family = "clip" } else if prefixNames.contains(where: { $0.hasPrefix("reg") }) {
        family = "dinov2"
      } else if prefixNames.contains("dist") { family = "deit" } else { family = "vit" }
      sources["family"] = .inferred
    }
    return Backbone(family: family, activation: activation, pooling: pooling, normPre: normPre, fcNorm: fcNorm, mapHead: mapHead)
  }

  /// timm's AttentionPoolLatent: latent [1, 1, C], q [C, C], kv [2C, C], proj [C, C], norm, mlp.fc1 [F, C], mlp.fc2.
  mutating func readMAPHead(width c: Int, heads: Int, eps: Float) throws(CheckpointError) -> MAPHead {
    let latentShape = try shape("attn_pool.latent")
    guard latentShape == [1, 1, c] else {
      throw .badShape(path: path, tensor: displayName("attn_pool.latent"), expected: "[1, 1, \(c)] (one probe)", got: latentShape)
    }
    let fc1Shape = try shape("attn_pool.mlp.fc1.weight")
    guard fc1Shape.count == 2, fc1Shape[0] > 0, fc1Shape[1] == c else {
      throw .badShape(path: path, tensor: displayName("attn_pool.mlp.fc1.weight"), expected: "[F, \(c)]", got: fc1Shape)
    }
    let f = fc1Shape[0]
    return MAPHead(latent: try floats("attn_pool.latent", shape: latentShape), q: try linear("attn_pool.q", out: c, in: c),
                   kv: try linear("attn_pool.kv", out: 2 * c, in: c), proj: try linear("attn_pool.proj", out: c, in: c),
                   heads: heads, norm: try layerNorm("attn_pool.norm", width: c, eps: eps),
                   fc1: try linear("attn_pool.mlp.fc1", out: f, in: c), fc2: try linear("attn_pool.mlp.fc2", out: c, in: f))
  }
}
