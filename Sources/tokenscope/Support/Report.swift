// The report: what one forward pass did, layer by layer. JSON schema_version 1 (names scripts depend on; see README)
// and a text table. Built from the engine's records, so numbers, maps and text always agree.
import ImageIO
import TokenMethods
import ViTEngine

enum Report {
  static let schemaVersion = 1

  static func modelJSON(_ model: ViTModel) -> JSONValue {
    let s = model.shape
    let uniformHeads = Set(s.heads).count == 1
    return .object([
      ("path", .string(model.info.path)), ("scheme", .string(model.info.scheme.rawValue)),
      ("embed_dim", JSONValue(s.embedDim)), ("depth", JSONValue(s.depth)),
      ("heads", uniformHeads ? JSONValue(s.heads[0]) : JSONValue(s.heads)),
      ("patch_size", JSONValue(s.patchSize)), ("grid", JSONValue([s.grid.rows, s.grid.cols])),
      ("prefix_tokens", JSONValue(s.prefixTokens)), ("classes", JSONValue(s.classes)),
    ])
  }

  static func preprocessJSON(_ p: Preprocessing) -> JSONValue {
    .object([
      ("mode", .string(p.mode)),
      ("resize", p.resizeShortSide.map { JSONValue($0) } ?? .null),
      ("crop", JSONValue([p.cropHeight, p.cropWidth])),
      ("interpolation", .string(p.interpolation.rawValue)),
      ("mean", JSONValue(p.mean)), ("std", JSONValue(p.std)),
      ("pipeline", .string(p.description)),
    ])
  }

  static func macsJSON(_ m: BlockMACs) -> JSONValue {
    .object([
      ("total", JSONValue(m.total)), ("qkv", JSONValue(m.qkv)), ("attention", JSONValue(m.attention)),
      ("proj", JSONValue(m.proj)), ("mlp", JSONValue(m.mlp)), ("layer_norm", JSONValue(m.layerNorm)),
      ("extra", JSONValue(m.extra)),
    ])
  }

  static func layerJSON(_ r: BlockRecord) -> JSONValue {
    .object([
      ("index", JSONValue(r.index)), ("tokens_in", JSONValue(r.tokensIn)), ("tokens_out", JSONValue(r.tokensOut)),
      ("macs", macsJSON(r.macs)),
      ("attention_entropy", JSONValue(r.entropy)), ("cls_attention_entropy", JSONValue(r.classEntropy)),
      ("patch_token", JSONValue(r.output.patchToken.map(Int.init))),
      ("patch_state", JSONValue(r.output.patchState.map(\.rawValue))),
      ("token_size", JSONValue(r.output.size)),
      ("event", r.event.map { .string($0) } ?? .null),
    ])
  }

  static func top5(_ prediction: Prediction, labels: [String]?) -> [(index: Int, label: String, probability: Float)] {
    prediction.top(5).map { (index: $0.index, label: labels?[$0.index] ?? "class \($0.index)", probability: $0.probability) }
  }

  static func json(model: ViTModel, imagePath: String, image: PixelImage, pipeline: Preprocessing, method: MethodSpec,
                   pass: ForwardPass, prediction: Prediction) -> JSONValue {
    .object([
      ("schema_version", JSONValue(schemaVersion)),
      ("model", modelJSON(model)),
      ("image", .object([("path", .string(imagePath)), ("width", JSONValue(image.width)), ("height", JSONValue(image.height)),
                         ("channels", JSONValue(image.channels))])),
      ("preprocess", preprocessJSON(pipeline)),
      ("method", .object([("spec", .string(method.canonical)), ("name", .string(method.name)),
                          ("params", .object(method.params.map { ($0.key, .string($0.value)) }))])),
      ("grid", JSONValue([pass.grid.rows, pass.grid.cols])),
      ("layers", .array(pass.records.map(layerJSON))),
      ("macs_stem", JSONValue(pass.stemMACs)), ("macs_head", JSONValue(pass.headMACs)),
      ("macs_total", JSONValue(pass.totalMACs)), ("macs_baseline", JSONValue(pass.baselineMACs)),
      ("cls_features", JSONValue(prediction.classFeatures)),
      ("logits", prediction.logits.map { JSONValue($0) } ?? .null),
      ("top5", .array(top5(prediction, labels: model.info.labels).map {
        .object([("index", JSONValue($0.index)), ("label", .string($0.label)), ("probability", JSONValue($0.probability))])
      })),
    ])
  }

  /// The per-layer table: tokens in -> out, GMACs, cumulative % of the baseline, mean entropy, and the method's event.
  static func text(model: ViTModel, imagePath: String, pipeline: Preprocessing, method: MethodSpec, pass: ForwardPass,
                   prediction: Prediction) -> String {
    var lines: [String] = []
    let s = model.shape
    lines.append("model   \(model.info.path) (\(model.info.scheme.rawValue), \(s.depth) blocks, width \(s.embedDim), \(headsText(s)) heads, patch \(s.patchSize), grid \(s.grid))")
    lines.append("image   \(imagePath)")
    lines.append("pre     \(pipeline.description)")
    lines.append("method  \(method.canonical)")
    lines.append("")
    lines.append("layer  tokens     GMACs   cum. % base  entropy  event")
    var cumulative = pass.stemMACs
    let baseline = Double(pass.baselineMACs)
    for r in pass.records {
      cumulative += r.macs.total
      let entropy = r.entropy.reduce(0, +) / Float(max(r.entropy.count, 1))
      let tokens = "\(r.tokensIn)->\(r.tokensOut)"
      lines.append(pad(String(r.index), 5) + "  " + pad(tokens, 9, left: true) + "  " + pad(fixed(Double(r.macs.total) / 1e9, 4), 7)
                   + "  " + pad(fixed(100 * Double(cumulative) / baseline, 1), 11) + "  " + pad(fixed(Double(entropy), 3), 7)
                   + "  " + (r.event ?? "-"))
    }
    lines.append("")
    lines.append("MACs    \(fixed(Double(pass.totalMACs) / 1e9, 4)) G of \(fixed(baseline / 1e9, 4)) G baseline (\(fixed(100 * Double(pass.totalMACs) / baseline, 1))%), counted the fvcore way")
    if prediction.logits != nil {
      lines.append("top-5")
      for t in top5(prediction, labels: model.info.labels) {
        lines.append("  " + pad(fixed(Double(t.probability) * 100, 2) + "%", 8) + "  \(t.index)  \(t.label)")
      }
    } else {
      lines.append("headless model: cls_features only (\(prediction.classFeatures.count) values; use --format json)")
    }
    return lines.joined(separator: "\n")
  }

  static func headsText(_ s: ModelShape) -> String {
    Set(s.heads).count == 1 ? "\(s.heads[0])" : s.heads.map(String.init).joined(separator: "/")
  }
}

/// Fixed-point formatting without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
  guard value.isFinite else { return "\(value)" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let rounded = (abs(value) * scale).rounded()
  let intPart = Int(rounded / scale)
  var frac = String(Int(rounded.truncatingRemainder(dividingBy: scale)))
  while frac.count < digits { frac = "0" + frac }
  let sign = value < 0 && rounded != 0 ? "-" : ""
  return digits == 0 ? "\(sign)\(intPart)" : "\(sign)\(intPart).\(frac)"
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
  s.count >= width ? s : (left ? s + String(repeating: " ", count: width - s.count) : String(repeating: " ", count: width - s.count) + s)
}
