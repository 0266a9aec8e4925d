// Checks shared by the targets that load models (safetensors, config, methodspec); compiled into those by run.sh.
import ViTEngine

/// Thrown errors are the expected outcome for bad input; they must be one line.
func checkOneLine(_ error: some Error & CustomStringConvertible, _ what: String) {
  let text = error.description
  note("\(what) threw: \(text)")
  if text.isEmpty || text.contains(where: { $0 == "\n" || $0 == "\r" }) {
    finding("\(what) error message is not one line: \(text.debugDescription)")
  }
}

/// What the CLI relies on after a load succeeds: a positive native grid whose positions match pos_embed, and an input
/// size it can hand to Preprocessing (positive, within ImageLoader's 16384-pixel cap) without a huge allocation.
/// Then, for small models, a forward pass at the native grid and at the configured input size.
func checkLoadedModel(_ model: ViTModel) {
  let shape = model.shape, info = model.info
  note("loaded \(info.scheme.rawValue) model: depth \(model.depth), width \(shape.embedDim), grid \(shape.grid), input \(info.inputSize), heads \(shape.heads)")
  guard shape.grid.rows >= 1, shape.grid.cols >= 1 else { finding("loaded model has grid \(shape.grid)") }
  guard model.posEmbed.rows == model.posPrefix + shape.grid.count else {
    finding("pos_embed has \(model.posEmbed.rows) rows for \(model.posPrefix) prefix + grid \(shape.grid)")
  }
  let (h, w) = info.inputSize
  guard (1...16384).contains(h), (1...16384).contains(w) else {
    finding("loaded model has input size \(h)x\(w): Preprocessing would allocate from it")
  }
  guard info.mean.count == shape.inChannels, info.std.count == shape.inChannels else {
    finding("mean/std have \(info.mean.count)/\(info.std.count) values for \(shape.inChannels) channels")
  }
  // Forward passes only where they are cheap (the point is the shapes, not the arithmetic).
  let p = shape.patchSize
  let small = shape.embedDim <= 256 && model.depth <= 16 && shape.mlpHidden.allSatisfy { $0 <= 1024 }
  guard small else { return }
  if shape.grid.count <= 64 {
    run(model, height: shape.grid.rows * p, width: shape.grid.cols * p)
  }
  // The CLI runs at the configured input size (Preprocessing crops to it), even one smaller than a patch.
  if (h / p) * (w / p) <= 64, h <= 512, w <= 512 {
    run(model, height: h, width: w)
  }
}

private func run(_ model: ViTModel, height: Int, width: Int) {
  let c = model.shape.inChannels
  var state: UInt32 = 12345
  let pixels = (0..<(c * height * width)).map { _ -> Float in
    state = state &* 1_664_525 &+ 1_013_904_223
    return Float(state >> 8) / Float(1 << 24) - 0.5
  }
  let pass = ForwardPass(model: model, input: ModelInput(channels: c, height: height, width: width, pixels: pixels))
  let prediction = pass.output()
  if let logits = prediction.logits, logits.count != model.shape.classes {
    finding("\(logits.count) logits for \(model.shape.classes) classes")
  }
}

/// A tiny, valid checkpoint built in memory: timm names, or Hugging Face ViT names under "vit." (split q/k/v).
/// c: embedding width, a: attention width, f: MLP width, cin x p x p patches on a grid x grid input, depth blocks.
func tinyCheckpoint(huggingFace: Bool = false, depth: Int = 2, c: Int = 4, a: Int = 64, f: Int = 8, cin: Int = 3,
                    p: Int = 2, grid: Int = 2, classes: Int = 10, metadata: [String: String] = [:]) -> [UInt8] {
  var writer = SafetensorsWriter()
  writer.metadata = metadata
  var seed: UInt32 = 0x9E37_79B9
  func add(_ name: String, _ shape: [Int], constant: Float? = nil) {
    let n = shape.reduce(1, *)
    let values = (0..<n).map { _ -> Float in
      if let constant { return constant }
      seed = seed &* 1_664_525 &+ 1_013_904_223
      return (Float(seed >> 8) / Float(1 << 24) - 0.5) * 0.2
    }
    writer.add(name, shape: shape, floats: values)
  }
  if huggingFace {
    let v = "vit."
    add(v + "embeddings.cls_token", [1, 1, c])
    add(v + "embeddings.patch_embeddings.projection.weight", [c, cin, p, p])
    add(v + "embeddings.patch_embeddings.projection.bias", [c])
    add(v + "embeddings.position_embeddings", [1, 1 + grid * grid, c])
    for i in 0..<depth {
      let l = v + "encoder.layer.\(i)."
      for qkv in ["query", "key", "value"] {
        add(l + "attention.attention.\(qkv).weight", [a, c]); add(l + "attention.attention.\(qkv).bias", [a])
      }
      add(l + "attention.output.dense.weight", [c, a]); add(l + "attention.output.dense.bias", [c])
      add(l + "intermediate.dense.weight", [f, c]); add(l + "intermediate.dense.bias", [f])
      add(l + "output.dense.weight", [c, f]); add(l + "output.dense.bias", [c])
      add(l + "layernorm_before.weight", [c], constant: 1); add(l + "layernorm_before.bias", [c])
      add(l + "layernorm_after.weight", [c], constant: 1); add(l + "layernorm_after.bias", [c])
    }
    add(v + "layernorm.weight", [c], constant: 1); add(v + "layernorm.bias", [c])
    add("classifier.weight", [classes, c]); add("classifier.bias", [classes])
  } else {
    add("cls_token", [1, 1, c])
    add("patch_embed.proj.weight", [c, cin, p, p]); add("patch_embed.proj.bias", [c])
    add("pos_embed", [1, 1 + grid * grid, c])
    for i in 0..<depth {
      let b = "blocks.\(i)."
      add(b + "norm1.weight", [c], constant: 1); add(b + "norm1.bias", [c])
      add(b + "attn.qkv.weight", [3 * a, c]); add(b + "attn.qkv.bias", [3 * a])
      add(b + "attn.proj.weight", [c, a]); add(b + "attn.proj.bias", [c])
      add(b + "norm2.weight", [c], constant: 1); add(b + "norm2.bias", [c])
      add(b + "mlp.fc1.weight", [f, c]); add(b + "mlp.fc1.bias", [f])
      add(b + "mlp.fc2.weight", [c, f]); add(b + "mlp.fc2.bias", [c])
    }
    add("norm.weight", [c], constant: 1); add("norm.bias", [c])
    add("head.weight", [classes, c]); add("head.bias", [classes])
  }
  return writer.encode()
}
