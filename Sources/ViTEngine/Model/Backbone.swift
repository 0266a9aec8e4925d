// What distinguishes the ViT families beyond the blocks' widths: the MLP activation, a LayerNorm before the blocks
// (CLIP's norm_pre), and how the final tokens become the feature the classifier reads (class token, average of the
// patch tokens with or without fc_norm, or a MAP attention head). Settings that tensor shapes cannot show (QuickGELU
// or GELU, token or average pooling) come from the configuration; see ArchitectureConfig.swift.
// ref: timm/models/vision_transformer.py (VisionTransformer.__init__, pool, forward_head), timm/layers/attention_pool.py
// (AttentionPoolLatent).

/// The MLP activation.
public enum Activation: String, Sendable {
  /// Exact (erf) GELU, torch.nn.GELU().
  case gelu
  /// x · sigmoid(1.702 x), OpenAI CLIP.
  case quickGELU = "quick_gelu"
  /// GELU's tanh approximation (torch's approximate='tanh'), Hugging Face's SigLIP.
  case geluTanh = "gelu_tanh"
  /// x · sigmoid(x): SwiGLU's gate (timm's Eva class: EVA02, DINOv3 "plus").
  case silu
}

/// How the final tokens become the pooled feature (timm's `global_pool`).
public enum Pooling: String, Sendable {
  /// The class token (timm 'token').
  case cls
  /// The mean of the non-prefix tokens (timm 'avg').
  case avg
  /// A multi-head attention pooling with a learned probe (timm 'map', SigLIP).
  case map
}

/// What a prefix token is.
public enum PrefixKind: String, Sendable {
  case cls
  case distillation
  /// DINOv2 "registers" (Darcet et al., "Vision Transformers Need Registers").
  case register
  /// DINOv3's storage tokens (registers by another name).
  case storage

  /// The kind of a prefix name as the loader writes them ("cls", "dist", "reg0", "storage0").
  public init(name: String) {
    if name == "cls" { self = .cls } else if name == "dist" { self = .distillation } else if name.hasPrefix("storage") {
      self = .storage
    } else { self = .register }
  }
}

/// timm's AttentionPoolLatent with one latent query: a learned probe attends over the tokens, then a residual MLP.
/// Shape legend: C = embedding width, H heads of width C / H, N tokens pooled, F = the MLP's hidden width.
public struct MAPHead: Sendable {
  /// 1 x C, the probe.
  public let latent: [Float]
  /// C -> C (the probe's query), C -> 2C ([k | v] of every token), C -> C.
  public let q: LinearLayer, kv: LinearLayer, proj: LinearLayer
  public let heads: Int
  public let norm: LayerNormWeights
  /// C -> F -> C with the model's activation.
  public let fc1: LinearLayer, fc2: LinearLayer

  /// The embedding width it reads and writes.
  public var width: Int { proj.outFeatures }
  /// Its own attention width (q's outputs); equal to the width unless embedding channels were pruned around it.
  public var attentionWidth: Int { q.outFeatures }
  public var mlpHidden: Int { fc1.outFeatures }

  /// tokens: N x C (the final-normed tokens to pool). Returns the pooled C-vector and the probe's attention over the
  /// N tokens (H x N).
  public func callAsFunction(_ tokens: Matrix, activation: Activation) -> (pooled: [Float], attention: [Float]) {
    let a = attentionWidth, c = width, n = tokens.rows
    let query = q(Matrix(rows: 1, cols: latent.count, data: latent))
    let keysValues = kv(tokens)  // N x 2C: [k | v]
    let output = query.data.withUnsafeBufferPointer { qp in
      keysValues.data.withUnsafeBufferPointer { kvp in
        Attention.multiHead(queries: qp.baseAddress!, ldq: a, queryCount: 1, keys: kvp.baseAddress!,
                            values: kvp.baseAddress! + a, ldkv: 2 * a, keyCount: n, heads: heads, headDim: a / heads,
                            bias: nil, pool: ThreadPool.shared)
      }
    }
    var x = proj(output.attended)
    let mlp = fc2(activate(fc1, norm(x), activation))
    for j in 0..<c { x.data[j] += mlp.data[j] }
    return (x.data, output.probabilities)
  }
}

/// fc1(x) followed by `activation` (GELU fused into the GEMM's store; QuickGELU as a pass over the output).
func activate(_ fc1: LinearLayer, _ x: Matrix, _ activation: Activation) -> Matrix {
  switch activation {
  case .gelu: return fc1(x, epilogue: .gelu)
  case .quickGELU:
    var hidden = fc1(x)
    hidden.data.withUnsafeMutableBufferPointer { quickGELUInPlace($0.baseAddress!, count: $0.count) }
    return hidden
  case .geluTanh:
    var hidden = fc1(x)
    hidden.data.withUnsafeMutableBufferPointer { geluTanhInPlace($0.baseAddress!, count: $0.count) }
    return hidden
  case .silu:
    var hidden = fc1(x)
    hidden.data.withUnsafeMutableBufferPointer { siluInPlace($0.baseAddress!, count: $0.count) }
    return hidden
  }
}

/// SwiGLU's hidden units: silu(gate(x)) ⊙ up(x), both N x F (two GEMMs, then one fused pass).
func swiGLU(gate: LinearLayer, up: LinearLayer, _ x: Matrix) -> Matrix {
  var hidden = gate(x)
  let values = up(x)
  hidden.data.withUnsafeMutableBufferPointer { g in
    values.data.withUnsafeBufferPointer { u in swiGLUInPlace(g.baseAddress!, up: u.baseAddress!, count: g.count) }
  }
  return hidden
}

/// The model-level parts that vary by family.
public struct Backbone: Sendable {
  /// The family the loader recognised ("vit", "deit", "dinov2", "clip", "siglip", "eva02", "dinov3"), for `inspect` and
  /// reports.
  public var family: String
  public var activation: Activation
  public var pooling: Pooling
  /// A LayerNorm over the embedded tokens before the first block (CLIP's `norm_pre`).
  public var normPre: LayerNormWeights?
  /// The LayerNorm over the pooled feature when the model averages (timm's `fc_norm`; the final norm is then absent).
  public var fcNorm: LayerNormWeights?
  public var mapHead: MAPHead?
  /// Rotary position embeddings on the patch tokens' queries and keys (EVA02, DINOv3); nil for none.
  public var rope: RotaryEmbedding?
  /// How timm's Eva class laid out the file, for writing it back the same way; nil for VisionTransformer's layout.
  public var evaLayout: EvaLayout?

  public init(family: String, activation: Activation = .gelu, pooling: Pooling = .cls, normPre: LayerNormWeights? = nil,
              fcNorm: LayerNormWeights? = nil, mapHead: MAPHead? = nil, rope: RotaryEmbedding? = nil,
              evaLayout: EvaLayout? = nil) {
    self.family = family; self.activation = activation; self.pooling = pooling; self.normPre = normPre
    self.fcNorm = fcNorm; self.mapHead = mapHead; self.rope = rope; self.evaLayout = evaLayout
  }
}

/// Which of its equivalent layouts timm's Eva class used: q, k, v fused into one `qkv` weight (with `q_bias`/`v_bias`)
/// or apart (`q_proj`, `k_proj`, `v_proj`); SwiGLU's gate and up projections packed into one `mlp.fc1` (GluMlp, gate
/// first) or apart (`mlp.fc1_g`, `mlp.fc1_x`).
public struct EvaLayout: Sendable, Equatable {
  public var fusedQKV: Bool
  public var packedSwiGLU: Bool
  public init(fusedQKV: Bool, packedSwiGLU: Bool) { self.fusedQKV = fusedQKV; self.packedSwiGLU = packedSwiGLU }
}

extension ViTModel {
  public var prefixKinds: [PrefixKind] { info.prefixNames.map(PrefixKind.init(name:)) }
  /// Whether the sequence starts with a class token (SigLIP and average-pooled towers may have none).
  public var hasClassToken: Bool { info.prefixNames.first == "cls" }
}

extension Backbone {
  /// The parts with embedding channels `keep` only (structural pruning). The MAP head keeps its own attention and MLP
  /// widths whole: only the embedding channels it reads and writes go.
  func sliced(_ keep: [Int]) -> Backbone {
    var out = self
    out.normPre = normPre?.sliced(keep)
    out.fcNorm = fcNorm?.sliced(keep)
    out.mapHead = mapHead.map { m in
      MAPHead(latent: keep.map { m.latent[$0] }, q: m.q.sliced(rows: nil, cols: keep), kv: m.kv.sliced(rows: nil, cols: keep),
              proj: m.proj.sliced(rows: keep, cols: nil), heads: m.heads, norm: m.norm.sliced(keep),
              fc1: m.fc1.sliced(rows: nil, cols: keep), fc2: m.fc2.sliced(rows: keep, cols: nil))
    }
    return out
  }
}
