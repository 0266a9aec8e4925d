// The ViT's weights and configuration, in timm's vocabulary (VisionTransformer / VisionTransformerDistilled).
// ref: timm/models/vision_transformer.py (Block, Attention, VisionTransformer._pos_embed, forward_head)

/// Where a configuration value came from, reported by `inspect` so users can see what was read and what was guessed.
public enum ConfigSource: String, Sendable { case metadata, configJSON = "config.json", inferred, flag = "--heads", scheme, defaults }

/// How the classifier reads the final tokens.
public enum HeadInput: String, Sendable {
  /// head(norm(x)[0]); distilled models average head(x[0]) and head_dist(x[1]).
  case classToken = "cls"
  /// HF Dinov2ForImageClassification: classifier([x[0], mean(x[patches])]).
  case classTokenAndPatchMean = "cls+patch-mean"
}

/// The shapes that decide cost: enough to count MACs without weights (`flops --arch`).
public struct ModelShape: Sendable, Equatable {
  public var embedDim: Int
  public var inChannels: Int
  public var patchSize: Int
  /// Grid of the checkpoint's native input (rows, cols).
  public var grid: GridSize
  public var prefixTokens: Int
  /// Per block: heads, head width, MLP hidden width (a structurally pruned model may vary them).
  public var heads: [Int]
  public var headDim: [Int]
  public var mlpHidden: [Int]
  public var classes: Int
  public var distilledHead: Bool
  public var headInput: HeadInput
  /// How the final tokens are pooled, and the MAP head's MLP width (0 without one); set after init.
  public var pooling: Pooling = .cls
  public var mapHidden: Int = 0
  /// Whether a LayerNorm runs over the embedded tokens before the first block (CLIP's norm_pre).
  public var normPre: Bool = false
  /// Whether the pooled feature has its own LayerNorm in place of the final norm over every token (timm's fc_norm).
  public var fcNorm: Bool = false
  /// The MLP is SwiGLU (gate and up projections, then down: three linears) rather than two linears (EVA02, DINOv3+).
  public var gatedMLP: Bool = false
  /// A LayerNorm over the MLP's hidden units before its last linear (EVA02 base/large and EVA-CLIP's `mlp.norm`).
  public var mlpNorm: Bool = false
  /// A LayerNorm over the attention output before `proj` (EVA-CLIP's `attn.norm`, timm's scale_attn_inner).
  public var attentionNorm: Bool = false
  public var depth: Int { heads.count }

  public init(embedDim: Int, inChannels: Int, patchSize: Int, grid: GridSize, prefixTokens: Int, heads: [Int],
              headDim: [Int], mlpHidden: [Int], classes: Int, distilledHead: Bool = false, headInput: HeadInput = .classToken) {
    self.embedDim = embedDim; self.inChannels = inChannels; self.patchSize = patchSize; self.grid = grid
    self.prefixTokens = prefixTokens; self.heads = heads; self.headDim = headDim; self.mlpHidden = mlpHidden
    self.classes = classes; self.distilledHead = distilledHead; self.headInput = headInput
  }

  /// DeiT-Ti/S/B at 224 px, patch 16, 1000 classes (the configs of the DeiT paper).
  public static func deit(_ size: String) -> ModelShape? {
    let (c, h): (Int, Int)
    switch size {
    case "deit-t", "deit-ti", "deit-tiny": (c, h) = (192, 3)
    case "deit-s", "deit-small": (c, h) = (384, 6)
    case "deit-b", "deit-base": (c, h) = (768, 12)
    default: return nil
    }
    return ModelShape(embedDim: c, inChannels: 3, patchSize: 16, grid: GridSize(rows: 14, cols: 14), prefixTokens: 1,
                      heads: Array(repeating: h, count: 12), headDim: Array(repeating: 64, count: 12),
                      mlpHidden: Array(repeating: 4 * c, count: 12), classes: 1000)
  }
}

public struct GridSize: Sendable, Equatable, CustomStringConvertible {
  public var rows: Int, cols: Int
  public init(rows: Int, cols: Int) { self.rows = rows; self.cols = cols }
  public var count: Int { rows * cols }
  public var description: String { "\(rows)x\(cols)" }
}

public struct LayerNormWeights: Sendable {
  public let gamma: [Float], beta: [Float]
  public let eps: Float
  public init(gamma: [Float], beta: [Float], eps: Float) { self.gamma = gamma; self.beta = beta; self.eps = eps }

  /// x: N x C, normalised row by row.
  public func callAsFunction(_ x: Matrix) -> Matrix {
    ExecutedMACs.add(5 &* x.rows &* x.cols)  // fvcore's 5 per element
    var out = Matrix(uninitializedRows: x.rows, cols: x.cols)
    x.data.withUnsafeBufferPointer { xp in
      out.data.withUnsafeMutableBufferPointer { op in
        gamma.withUnsafeBufferPointer { g in
          beta.withUnsafeBufferPointer { b in
            layerNorm(xp.baseAddress!, rows: x.rows, n: x.cols, gamma: g.baseAddress!, beta: b.baseAddress!, eps: eps,
                      out: op.baseAddress!)
          }
        }
      }
    }
    return out
  }
}

/// One transformer block: x + ls1 * proj(attn(norm1(x))), then x + ls2 * fc2(gelu(fc1(norm2(x)))). Timm's Eva class
/// adds a LayerNorm inside attention before proj (`attentionNorm`), SwiGLU (`fc2(silu(gate(y)) * fc1(y))`: `fc1` is then
/// the up projection) and a LayerNorm over the MLP's hidden units (`mlpNorm`).
public struct BlockWeights: Sendable {
  public let norm1: LayerNormWeights
  /// Fused q, k, v projection: C -> 3A, output columns are [q heads..., k heads..., v heads...].
  public var qkv: LinearLayer
  public let heads: Int, headDim: Int
  public let proj: LinearLayer
  public let layerScale1: [Float]?
  public let norm2: LayerNormWeights
  public var fc1: LinearLayer, fc2: LinearLayer
  public let layerScale2: [Float]?
  /// EVA-CLIP: a LayerNorm over the A-wide attention output, before proj.
  public var attentionNorm: LayerNormWeights? = nil
  /// SwiGLU's gate projection C -> F (its SiLU multiplies fc1's output); nil for a plain MLP.
  public var gate: LinearLayer? = nil
  /// A LayerNorm over the F hidden units, before fc2.
  public var mlpNorm: LayerNormWeights? = nil
  public var attentionWidth: Int { heads * headDim }
  public var mlpHidden: Int { fc1.outFeatures }
}

/// Model-level options that are not tensors.
public struct ModelInfo: Sendable {
  public var path: String
  public var scheme: NamingScheme
  public var layerNormEps: Float
  public var inputSize: (height: Int, width: Int)
  public var mean: [Float], std: [Float]
  public var cropPct: Double?
  public var interpolation: String
  public var labels: [String]?
  public var sources: [String: ConfigSource]
  /// The prefix tokens in sequence order: "cls", "dist", "reg0", ...
  public var prefixNames: [String]
  public var metadata: [String: String]
  /// The checkpoint's tensors the loader did not read, in file order, less the scheme's known harmless ones: a sign the
  /// file holds a variant this engine does not run.
  public var unusedTensors: [String] = []
}

public final class ViTModel: Sendable {
  public let info: ModelInfo
  public let shape: ModelShape
  /// Patch embedding as a Linear over flattened (channel, y, x) patches: (Cin*p*p) -> C.
  public let patchEmbed: LinearLayer
  /// Prefix tokens in sequence order (cls, dist, registers...), each C wide.
  public let prefixTokens: [[Float]]
  /// Position embedding: posPrefix + grid.count rows of C.
  public let posEmbed: Matrix
  /// How many leading prefix tokens carry a position embedding (timm: all or none; HF Dinov2 registers: cls only).
  public let posPrefix: Int
  public let blocks: [BlockWeights]
  /// The final norm over every token; nil when an fc_norm over the pooled feature replaces it (timm).
  public let norm: LayerNormWeights?
  public let head: LinearLayer?
  public let headDist: LinearLayer?
  /// Activation, norm_pre, pooling: what varies by family.
  public let backbone: Backbone

  init(info: ModelInfo, shape: ModelShape, patchEmbed: LinearLayer, prefixTokens: [[Float]], posEmbed: Matrix,
       posPrefix: Int, blocks: [BlockWeights], norm: LayerNormWeights?, head: LinearLayer?, headDist: LinearLayer?,
       backbone: Backbone) {
    self.info = info; self.shape = shape; self.patchEmbed = patchEmbed; self.prefixTokens = prefixTokens
    self.posEmbed = posEmbed; self.posPrefix = posPrefix; self.blocks = blocks; self.norm = norm
    self.head = head; self.headDist = headDist; self.backbone = backbone
  }

  public var embedDim: Int { shape.embedDim }
  public var depth: Int { blocks.count }
  public var prefixCount: Int { prefixTokens.count }
  public var parameterCount: Int {
    var n = patchEmbed.inFeatures * patchEmbed.outFeatures + patchEmbed.outFeatures + prefixTokens.count * embedDim
    n += posEmbed.data.count + (norm == nil ? 0 : 2 * embedDim)
    for extra in [backbone.normPre, backbone.fcNorm].compactMap({ $0 }) { n += 2 * extra.gamma.count }
    if let m = backbone.mapHead {
      n += m.latent.count + 2 * m.norm.gamma.count
      for l in [m.q, m.kv, m.proj, m.fc1, m.fc2] { n += l.inFeatures * l.outFeatures + (l.bias?.count ?? 0) }
    }
    for b in blocks {
      // The Eva class's k bias is a zero buffer, not a parameter.
      let qkvBias = (b.qkv.bias?.count ?? 0) - (backbone.evaLayout != nil && b.qkv.bias != nil ? b.attentionWidth : 0)
      n += 4 * embedDim + b.qkv.inFeatures * b.qkv.outFeatures + qkvBias
      n += b.proj.inFeatures * b.proj.outFeatures + (b.proj.bias?.count ?? 0)
      n += b.fc1.inFeatures * b.fc1.outFeatures + (b.fc1.bias?.count ?? 0) + b.fc2.inFeatures * b.fc2.outFeatures + (b.fc2.bias?.count ?? 0)
      n += (b.layerScale1?.count ?? 0) + (b.layerScale2?.count ?? 0)
      if let g = b.gate { n += g.inFeatures * g.outFeatures + (g.bias?.count ?? 0) }
      for extra in [b.attentionNorm, b.mlpNorm].compactMap({ $0 }) { n += 2 * extra.gamma.count }
    }
    for h in [head, headDist].compactMap({ $0 }) { n += h.inFeatures * h.outFeatures + h.outFeatures }
    return n
  }
}
