// The settings a checkpoint's tensor shapes cannot show: the MLP activation (QuickGELU or GELU), the pooling (class
// token or average; a MAP head and fc_norm do show), the LayerNorm eps, and the family name. They come, each with its
// source, from the first of: the file's __metadata__ (`architecture`, `global_pool`, `act_layer`), a config.json beside
// it (timm's hub layout: `architecture`, `global_pool`, `model_args`), what the tensors imply, defaults.
//
// A timm architecture name stands for its registered model_args (timm/models/vision_transformer.py): `*_clip_*` is
// pre-norm with LayerNorm eps 1e-5 and GELU, `*_clip_quickgelu_*` the same with QuickGELU, `*_siglip_*` class-token
// free with a MAP head (`*_siglip_gap_*`: average pooling, no fc_norm), `*_dinov2` eps 1e-6 (timm's default). Explicit
// `global_pool` and `model_args` override what the name implies.
//
// timm's Eva class (timm/models/eva.py) registers `eva02_*` (RoPE 'cat': temperature 1e4, a 16x16 reference grid,
// interleaved pairs; LayerNorm eps 1e-6; average pooling, `*_clip_*` class-token pooling) and `vit_*_dinov3*` (RoPE
// 'dinov3': temperature 100, half-split pairs; eps 1e-5; average pooling by timm's default, no fc_norm; a 256 px input).
// Its RoPE settings can be stated one by one too (`rope_type`, `rope_temperature`, `ref_feat_shape`,
// `rope_rotate_half`, `rope_grid_offset`, `rope_grid_indexing`), in __metadata__ or config.json's model_args.

/// What the configuration says about one checkpoint's architecture, before the tensors are consulted.
struct ArchitectureHints {
  var name: (value: String, source: ConfigSource)?
  var family: String?
  var activation: (value: Activation, source: ConfigSource)?
  var pooling: (value: Pooling, source: ConfigSource)?
  var layerNormEps: (value: Float, source: ConfigSource)?
  /// An activation the configuration names that the engine does not run (refused, never replaced by GELU).
  var unknownActivation: (value: String, source: ConfigSource)?
  /// The rotary position embedding the name or explicit settings give (timm's Eva class), with its source.
  var rope: (value: RotaryEmbedding, source: ConfigSource)?
  /// A RoPE setting the engine cannot run, or a timm architecture it does not (refused with this reason).
  var unsupported: String?
  /// The native input side when the name fixes it and no position table shows it (DINOv3: 256 px).
  var defaultInputSide: Int?

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
    applyRopeSettings(modelArgs, metadata: config.metadata)
  }

  /// Explicit RoPE settings (model_args, then __metadata__, the later overriding): each replaces what the name gave.
  private mutating func applyRopeSettings(_ modelArgs: JSONValue?, metadata: [String: String]) {
    func text(_ key: String) -> [(String, ConfigSource)] {
      var out: [(String, ConfigSource)] = []
      if let v = modelArgs?[key] {
        if let s = v.stringValue { out.append((s, .configJSON)) } else if let d = v.doubleValue { out.append(("\(d)", .configJSON)) } else if let b = v.boolValue {
          out.append((b ? "true" : "false", .configJSON))
        } else if let a = v.arrayValue { out.append((a.compactMap { $0.intValue.map(String.init) }.joined(separator: ","), .configJSON)) }
      }
      if let s = metadata[key] { out.append((s, .metadata)) }
      return out
    }
    // A rope_type names the variant with its registered models' settings (EVA02's 'cat' without a reference grid,
    // unless the name gave one; DINOv3's); the settings below override them one by one.
    for (value, source) in text("rope_type") where value != rope?.value.kind.rawValue {
      switch value {
      case "cat": rope = (RotaryEmbedding(kind: .eva, temperature: 10000, halfSplit: false), source)
      case "dinov3": rope = (.dinov3, source)
      default: unsupported = "rope_type '\(value)' (\(source.rawValue)) is not one tokenscope runs ('cat', EVA02's; 'dinov3')"
      }
    }
    guard var r = rope else { return }
    var source = r.source
    for (value, from) in text("rope_temperature") {
      guard let t = Float(value), t > 0, t.isFinite else { unsupported = "rope_temperature '\(value)' (\(from.rawValue)) is not a positive number"; continue }
      r.value.temperature = t; source = from
    }
    for (value, from) in text("ref_feat_shape") {
      let v = value.trimmingCharacters(in: "[]() ").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "x" }).compactMap { Int($0) }
      if value == "none" || value == "null" || value.isEmpty { r.value.referenceGrid = nil; source = from } else if v.count == 2, v[0] > 0, v[1] > 0 {
        r.value.referenceGrid = GridSize(rows: v[0], cols: v[1]); source = from
      } else if v.count == 1, v[0] > 0 { r.value.referenceGrid = GridSize(rows: v[0], cols: v[0]); source = from } else {
        unsupported = "ref_feat_shape '\(value)' (\(from.rawValue)) is not a grid (rows,cols)"
      }
    }
    for (value, from) in text("rope_rotate_half") {
      guard let b = Bool(value.lowercased()) else { unsupported = "rope_rotate_half '\(value)' (\(from.rawValue)) is not true or false"; continue }
      r.value.halfSplit = b; source = from
    }
    for (value, from) in text("rope_grid_offset") {
      guard let o = Float(value), o.isFinite else { unsupported = "rope_grid_offset '\(value)' (\(from.rawValue)) is not a number"; continue }
      r.value.gridOffset = o; source = from
    }
    for (value, from) in text("rope_grid_indexing") {
      guard value == "ij" || value == "xy" else { unsupported = "rope_grid_indexing '\(value)' (\(from.rawValue)) is not 'ij' or 'xy'"; continue }
      r.value.columnsFirst = value == "xy"; source = from
    }
    rope = (r.value, source)
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
    // timm/models/eva.py registers more than EVA02 and DINOv3; those others differ in ways the tensors do not show
    // (post-norm blocks, per-depth RoPE frequencies, no RoPE at all).
    if arch.hasPrefix("eva_") || arch.hasPrefix("eva02_enormous") || arch.contains("_rope") || arch.hasPrefix("vit_pe_") {
      unsupported = "timm architecture '\(arch)' (\(source.rawValue)) is one of timm's Eva-class models that tokenscope does not run (it runs eva02_* and vit_*_dinov3*)"
      return
    }
    if arch.hasPrefix("eva02") {
      family = "eva02"
      rope = (.eva02, source)
      // The classification models average (with fc_norm, which shows); the CLIP towers read the class token.
      pooling = (arch.contains("_clip") ? .cls : .avg, source)
      layerNormEps = (1e-6, source)
      return
    }
    if arch.contains("dinov3") {
      family = "dinov3"
      rope = (.dinov3, source)
      pooling = (.avg, source)
      layerNormEps = (1e-5, source)
      defaultInputSide = 256
      return
    }
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
                             prefixNames: [String], gatedMLP: Bool = false,
                             sources: inout [String: ConfigSource]) throws(CheckpointError) -> Backbone {
    let normPre = has("norm_pre.weight") ? try layerNorm("norm_pre", width: c, eps: eps) : nil
    let fcNorm = has("fc_norm.weight") ? try layerNorm("fc_norm", width: c, eps: eps) : nil
    let mapHead = has("attn_pool.latent") ? try readMAPHead(width: c, heads: heads, eps: eps) : nil

    if let unknown = hints.unknownActivation {
      throw .inconsistent(path: path, reason: "activation '\(unknown.value)' (\(unknown.source.rawValue)) is not one tokenscope runs (gelu, quick_gelu, gelu_tanh)")
    }
    let activation: Activation
    if scheme == .timmEva {
      // The Eva class fixes its activations: SiLU in SwiGLU, exact GELU in a plain MLP; the tensors show which MLP.
      activation = gatedMLP ? .silu : .gelu; sources["activation"] = .inferred
    } else if let a = hints.activation { activation = a.value; sources["activation"] = a.source } else if normPre != nil {
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
    if let f = hints.family { family = f; sources["family"] = hints.name?.source } else if scheme == .timmEva, let r = hints.rope {
      family = r.value.kind == .dinov3 ? "dinov3" : "eva02"; sources["family"] = r.source
    } else {
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
