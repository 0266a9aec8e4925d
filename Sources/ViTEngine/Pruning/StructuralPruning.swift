// Structural (channel) pruning, as UP-ViT slices a ViT (yuhao318/UP-ViT; the UP-ViT article in TokenMethods.docc):
// index-select the rows and columns of every tensor a removed channel touches, keeping the survivors in ascending
// order. The result is an ordinary dense ViTModel, smaller, with widths that may differ per block; `timmTensors` writes
// it back under timm's names so any ViT tool loads it.
//
// Shape legend (C embedding width, A = H * d attention width of a block, F its MLP hidden width, K classes):
//   patch_embed [C, Cin*p*p]   prefix tokens / pos_embed rows [C]   norm1, norm2, norm, LayerScale [C]
//   qkv [3A, C] rows (q | k | v)   proj [C, A]   fc1 [F, C]   fc2 [C, F]   head [K, C] (DINOv2's [K, 2C])
//   Eva class: attn.norm [A]; SwiGLU gate [F, C] (a hidden unit is a pair: its gate row and its up row go together,
//   with its fc2 column); mlp.norm [F]

/// The channels a pruning keeps, as ascending indices into the original model's tensors.
public struct ChannelSelection: Sendable, Equatable {
  /// Embedding channels kept (all of 0..<C for no neck pruning).
  public var embed: [Int]
  /// Per block: attention channels kept (indices into the block's A; the same for q, k and v).
  public var attention: [[Int]]
  /// Per block: the head count after pruning; the head width stays the original one, so the attention scale does too.
  public var heads: [Int]
  /// Per block: MLP hidden units kept.
  public var mlp: [[Int]]

  public init(embed: [Int], attention: [[Int]], heads: [Int], mlp: [[Int]]) {
    self.embed = embed; self.attention = attention; self.heads = heads; self.mlp = mlp
  }

  /// Everything kept.
  public static func all(_ model: ViTModel) -> ChannelSelection {
    ChannelSelection(embed: Array(0..<model.embedDim), attention: model.blocks.map { Array(0..<$0.attentionWidth) },
                     heads: model.blocks.map(\.heads), mlp: model.blocks.map { Array(0..<$0.mlpHidden) })
  }
}

extension PackedMatrix {
  /// The dense weight back: n x k, row-major (W[j][t]).
  public func unpacked() -> [Float] {
    var w = [Float](repeating: 0, count: n * k)
    for j in 0..<n {
      let panel = j / 16, lane = j % 16
      for t in 0..<k { w[j * k + t] = panels[panel * 16 * k + t * 16 + lane] }
    }
    return w
  }
}

extension LinearLayer {
  /// The dense weight (out x in, row-major) and bias.
  public var dense: (weight: [Float], bias: [Float]?) { (weight.unpacked(), bias) }

  /// Keeps output rows `rows` and input columns `cols` (nil: all).
  public func sliced(rows: [Int]?, cols: [Int]?) -> LinearLayer {
    let w = weight.unpacked(), k = inFeatures
    let r = rows ?? Array(0..<outFeatures), c = cols ?? Array(0..<k)
    var out = [Float](repeating: 0, count: r.count * c.count)
    for (i, row) in r.enumerated() { for (j, col) in c.enumerated() { out[i * c.count + j] = w[row * k + col] } }
    return LinearLayer(weight: out, bias: bias.map { b in r.map { b[$0] } }, outFeatures: r.count, inFeatures: c.count)
  }

  /// The same layer with output rows `rows` set to zero (weight and bias): an ablated channel.
  public func zeroingRows(_ rows: [Int]) -> LinearLayer {
    var w = weight.unpacked()
    var b = bias
    for row in rows {
      for t in 0..<inFeatures { w[row * inFeatures + t] = 0 }
      b?[row] = 0
    }
    return LinearLayer(weight: w, bias: b, outFeatures: outFeatures, inFeatures: inFeatures)
  }
}

extension LayerNormWeights {
  func sliced(_ keep: [Int]) -> LayerNormWeights {
    LayerNormWeights(gamma: keep.map { gamma[$0] }, beta: keep.map { beta[$0] }, eps: eps)
  }
}

extension BlockWeights {
  /// The block with attention channels `attention` (q, k and v alike) and MLP units `mlp` zeroed: single-channel
  /// ablation without changing any width (zeroing q, k, v channel c equals removing it, the scale unchanged; zeroing
  /// fc1 unit c makes GELU(0) = 0, as removing it; in SwiGLU fc1 is the up projection, and silu(gate) · 0 = 0). Under a
  /// LayerNorm over the hidden units (`mlpNorm`) a zero unit still counts in the mean and variance, so there the units
  /// are removed instead (the block's MLP gets narrower). Under a LayerNorm over the attention output the same holds
  /// and a head cannot lose one channel: `attentionNorm` blocks are not ablated here (UP-ViT refuses them).
  public func ablating(attention: [Int] = [], mlp: [Int] = []) -> BlockWeights {
    let a = attentionWidth
    let qkvRows = attention.flatMap { [$0, a + $0, 2 * a + $0] }
    var out = self
    out.qkv = qkvRows.isEmpty ? qkv : qkv.zeroingRows(qkvRows)
    guard !mlp.isEmpty else { return out }
    if let norm = mlpNorm {
      let keep = (0..<mlpHidden).filter { !mlp.contains($0) }
      out.fc1 = fc1.sliced(rows: keep, cols: nil)
      out.gate = gate?.sliced(rows: keep, cols: nil)
      out.mlpNorm = norm.sliced(keep)
      out.fc2 = fc2.sliced(rows: nil, cols: keep)
    } else {
      out.fc1 = fc1.zeroingRows(mlp)
    }
    return out
  }
}

extension ViTModel {
  /// The same model with block `index` replaced (used for ablations: everything else is shared, not copied).
  public func replacingBlock(_ index: Int, with block: BlockWeights) -> ViTModel {
    var blocks = self.blocks
    blocks[index] = block
    return ViTModel(info: info, shape: shape, patchEmbed: patchEmbed, prefixTokens: prefixTokens, posEmbed: posEmbed,
                    posPrefix: posPrefix, blocks: blocks, norm: norm, head: head, headDist: headDist, backbone: backbone)
  }

  /// The dense model that keeps only the channels of `selection`.
  public func pruned(_ selection: ChannelSelection) -> ViTModel {
    let e = selection.embed
    precondition(selection.attention.count == depth && selection.mlp.count == depth && selection.heads.count == depth,
                 "ChannelSelection: per-block lists must have \(depth) entries")
    let blocks = self.blocks.enumerated().map { i, b -> BlockWeights in
      let keep = selection.attention[i], a = b.attentionWidth
      precondition(keep.count == selection.heads[i] * b.headDim, "block \(i): \(keep.count) attention channels for \(selection.heads[i]) heads of \(b.headDim)")
      let units = selection.mlp[i]
      return BlockWeights(
        norm1: b.norm1.sliced(e), qkv: b.qkv.sliced(rows: keep + keep.map { a + $0 } + keep.map { 2 * a + $0 }, cols: e),
        heads: selection.heads[i], headDim: b.headDim, proj: b.proj.sliced(rows: e, cols: keep),
        layerScale1: b.layerScale1.map { g in e.map { g[$0] } }, norm2: b.norm2.sliced(e),
        fc1: b.fc1.sliced(rows: units, cols: e), fc2: b.fc2.sliced(rows: e, cols: units),
        layerScale2: b.layerScale2.map { g in e.map { g[$0] } }, attentionNorm: b.attentionNorm?.sliced(keep),
        gate: b.gate?.sliced(rows: units, cols: e), mlpNorm: b.mlpNorm?.sliced(units))
    }
    let c = embedDim
    var pos = Matrix(rows: posEmbed.rows, cols: e.count)
    for r in 0..<posEmbed.rows { for (j, ch) in e.enumerated() { pos.data[r * e.count + j] = posEmbed.data[r * c + ch] } }
    let headColumns = shape.headInput == .classTokenAndPatchMean ? e + e.map { c + $0 } : e
    var newShape = shape
    newShape.embedDim = e.count
    newShape.heads = selection.heads
    newShape.mlpHidden = selection.mlp.map(\.count)
    var newInfo = info
    newInfo.metadata["num_heads"] = selection.heads.map(String.init).joined(separator: ",")
    return ViTModel(info: newInfo, shape: newShape, patchEmbed: patchEmbed.sliced(rows: e, cols: nil),
                    prefixTokens: prefixTokens.map { t in e.map { t[$0] } }, posEmbed: pos, posPrefix: posPrefix,
                    blocks: blocks, norm: norm?.sliced(e), head: head?.sliced(rows: nil, cols: headColumns),
                    headDist: headDist?.sliced(rows: nil, cols: e), backbone: backbone.sliced(e))
  }

  /// The weights under timm's VisionTransformer names and shapes (its Eva class's for a model loaded from that
  /// layout), in state_dict order, ready for SafetensorsWriter.
  public func timmTensors() -> [(name: String, shape: [Int], floats: [Float])] {
    let c = embedDim, p = shape.patchSize, cin = shape.inChannels
    var out: [(name: String, shape: [Int], floats: [Float])] = []
    for (name, t) in zip(info.prefixNames, prefixTokens) where name == "cls" { out.append(("cls_token", [1, 1, c], t)) }
    for (name, t) in zip(info.prefixNames, prefixTokens) where name == "dist" { out.append(("dist_token", [1, 1, c], t)) }
    let registers = zip(info.prefixNames, prefixTokens).filter { $0.0.hasPrefix("reg") || $0.0.hasPrefix("storage") }.flatMap(\.1)
    if !registers.isEmpty { out.append(("reg_token", [1, registers.count / c, c], registers)) }
    if posEmbed.rows > 0 { out.append(("pos_embed", [1, posEmbed.rows, c], posEmbed.data)) }
    let stem = patchEmbed.dense
    out.append(("patch_embed.proj.weight", [c, cin, p, p], stem.weight))
    if let b = stem.bias { out.append(("patch_embed.proj.bias", [c], b)) }
    func linear(_ name: String, _ l: LinearLayer) {
      let d = l.dense
      out.append(("\(name).weight", [l.outFeatures, l.inFeatures], d.weight))
      if let b = d.bias { out.append(("\(name).bias", [l.outFeatures], b)) }
    }
    func layerNorm(_ name: String, _ n: LayerNormWeights?) {
      guard let n else { return }
      out.append(("\(name).weight", [n.gamma.count], n.gamma)); out.append(("\(name).bias", [n.beta.count], n.beta))
    }
    layerNorm("norm_pre", backbone.normPre)
    for (i, b) in blocks.enumerated() {
      let n = "blocks.\(i)"
      if let eva = backbone.evaLayout {
        evaBlockTensors(n, b, eva, into: &out)
        continue
      }
      out.append(("\(n).norm1.weight", [c], b.norm1.gamma)); out.append(("\(n).norm1.bias", [c], b.norm1.beta))
      linear("\(n).attn.qkv", b.qkv); linear("\(n).attn.proj", b.proj)
      if let g = b.layerScale1 { out.append(("\(n).ls1.gamma", [c], g)) }
      out.append(("\(n).norm2.weight", [c], b.norm2.gamma)); out.append(("\(n).norm2.bias", [c], b.norm2.beta))
      linear("\(n).mlp.fc1", b.fc1); linear("\(n).mlp.fc2", b.fc2)
      if let g = b.layerScale2 { out.append(("\(n).ls2.gamma", [c], g)) }
    }
    layerNorm("norm", norm)
    if let m = backbone.mapHead {
      out.append(("attn_pool.latent", [1, 1, c], m.latent))
      linear("attn_pool.q", m.q); linear("attn_pool.kv", m.kv); linear("attn_pool.proj", m.proj)
      layerNorm("attn_pool.norm", m.norm)
      linear("attn_pool.mlp.fc1", m.fc1); linear("attn_pool.mlp.fc2", m.fc2)
    }
    layerNorm("fc_norm", backbone.fcNorm)
    if let head { linear("head", head) }
    if let headDist { linear("head_dist", headDist) }
    return out
  }

  /// One block under the Eva class's names, in the layout it was loaded from (EvaLayout).
  private func evaBlockTensors(_ n: String, _ b: BlockWeights, _ eva: EvaLayout,
                               into out: inout [(name: String, shape: [Int], floats: [Float])]) {
    let c = embedDim, a = b.attentionWidth, f = b.mlpHidden
    func add(_ name: String, _ shape: [Int], _ v: [Float]?) { if let v { out.append((name, shape, v)) } }
    if let g = b.layerScale1 { add("\(n).gamma_1", [c], g) }
    if let g = b.layerScale2 { add("\(n).gamma_2", [c], g) }
    add("\(n).norm1.weight", [c], b.norm1.gamma); add("\(n).norm1.bias", [c], b.norm1.beta)
    let qkv = b.qkv.dense
    let qBias = qkv.bias.map { Array($0[0..<a]) }, vBias = qkv.bias.map { Array($0[(2 * a)...]) }
    if eva.fusedQKV {
      add("\(n).attn.q_bias", [a], qBias); add("\(n).attn.v_bias", [a], vBias)
      add("\(n).attn.qkv.weight", [3 * a, c], qkv.weight)
    } else {
      add("\(n).attn.q_proj.weight", [a, c], Array(qkv.weight[0..<(a * c)])); add("\(n).attn.q_proj.bias", [a], qBias)
      add("\(n).attn.k_proj.weight", [a, c], Array(qkv.weight[(a * c)..<(2 * a * c)]))
      add("\(n).attn.v_proj.weight", [a, c], Array(qkv.weight[(2 * a * c)...])); add("\(n).attn.v_proj.bias", [a], vBias)
    }
    if let norm = b.attentionNorm { add("\(n).attn.norm.weight", [a], norm.gamma); add("\(n).attn.norm.bias", [a], norm.beta) }
    let proj = b.proj.dense
    add("\(n).attn.proj.weight", [c, a], proj.weight); add("\(n).attn.proj.bias", [c], proj.bias)
    add("\(n).norm2.weight", [c], b.norm2.gamma); add("\(n).norm2.bias", [c], b.norm2.beta)
    let up = b.fc1.dense
    if let gate = b.gate?.dense {
      if eva.packedSwiGLU {
        add("\(n).mlp.fc1.weight", [2 * f, c], gate.weight + up.weight)
        add("\(n).mlp.fc1.bias", [2 * f], gate.bias.flatMap { g in up.bias.map { g + $0 } })
      } else {
        add("\(n).mlp.fc1_g.weight", [f, c], gate.weight); add("\(n).mlp.fc1_g.bias", [f], gate.bias)
        add("\(n).mlp.fc1_x.weight", [f, c], up.weight); add("\(n).mlp.fc1_x.bias", [f], up.bias)
      }
    } else {
      add("\(n).mlp.fc1.weight", [f, c], up.weight); add("\(n).mlp.fc1.bias", [f], up.bias)
    }
    if let norm = b.mlpNorm { add("\(n).mlp.norm.weight", [f], norm.gamma); add("\(n).mlp.norm.bias", [f], norm.beta) }
    let fc2 = b.fc2.dense
    add("\(n).mlp.fc2.weight", [c, f], fc2.weight); add("\(n).mlp.fc2.bias", [c], fc2.bias)
  }

  /// A timm-layout checkpoint of this model whose `__metadata__` carries everything the loader would otherwise guess:
  /// the per-block head counts, preprocessing, labels and LayerNorm eps, on top of the original metadata and `extra`.
  public func timmCheckpoint(extraMetadata extra: [String: String] = [:]) -> SafetensorsWriter {
    var writer = SafetensorsWriter()
    for t in timmTensors() { writer.add(t.name, shape: t.shape, floats: t.floats) }
    var meta = info.metadata
    meta["num_heads"] = shape.heads.map(String.init).joined(separator: ",")
    meta["mean"] = info.mean.map { "\($0)" }.joined(separator: ",")
    meta["std"] = info.std.map { "\($0)" }.joined(separator: ",")
    meta["input_size"] = "\(shape.inChannels),\(info.inputSize.height),\(info.inputSize.width)"
    meta["interpolation"] = info.interpolation
    if let crop = info.cropPct { meta["crop_pct"] = "\(crop)" }
    meta["layer_norm_eps"] = "\(info.layerNormEps)"
    // What the tensors cannot show, so the written file loads as the same model.
    meta["act_layer"] = backbone.activation.rawValue
    meta["global_pool"] = ["cls": "token", "avg": "avg", "map": "map"][backbone.pooling.rawValue]
    if let rope = backbone.rope {
      // The Eva class's activations follow from its layout; its rotary embedding is stated in full.
      meta["act_layer"] = nil
      meta["rope_type"] = rope.kind.rawValue
      meta["rope_temperature"] = "\(rope.temperature)"
      meta["ref_feat_shape"] = rope.referenceGrid.map { "\($0.rows),\($0.cols)" } ?? "none"
      meta["rope_rotate_half"] = rope.halfSplit ? "true" : "false"
      meta["rope_grid_offset"] = "\(rope.gridOffset)"
      meta["rope_grid_indexing"] = rope.columnsFirst ? "xy" : "ij"
    }
    if let labels = info.labels { meta["labels"] = JSONValue.array(labels.map { .string($0) }).serialized(pretty: false) }
    for (k, v) in extra { meta[k] = v }
    writer.metadata = meta
    return writer
  }
}

