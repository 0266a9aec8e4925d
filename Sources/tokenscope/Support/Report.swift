// The report: what one forward pass did, layer by layer. JSON schema_version 1 (names scripts depend on; see README)
// and a text table. Built from the engine's records, so numbers, maps and text always agree.
import ImageIO
import NumberFormatting
import Pixels
import TokenMethods
import ViTEngine

enum Report {
  static let schemaVersion = 1

  static func modelJSON(_ model: ViTModel) -> JSONValue {
    let s = model.shape
    let uniformHeads = Set(s.heads).count == 1
    return .object([
      ("path", .string(model.info.path)), ("scheme", .string(model.info.scheme.rawValue)),
      ("family", .string(model.backbone.family)),
      ("embed_dim", JSONValue(s.embedDim)), ("depth", JSONValue(s.depth)),
      ("heads", uniformHeads ? JSONValue(s.heads[0]) : JSONValue(s.heads)),
      ("patch_size", JSONValue(s.patchSize)), ("grid", JSONValue([s.grid.rows, s.grid.cols])),
      ("prefix_tokens", JSONValue(s.prefixTokens)), ("classes", JSONValue(s.classes)),
    ])
  }

  /// The prefix tokens in sequence order, each with its kind (cls, distillation, register, storage).
  static func prefixTokensJSON(_ model: ViTModel) -> JSONValue {
    .array(zip(model.info.prefixNames, model.prefixKinds).enumerated().map { i, p in
      .object([("index", JSONValue(i)), ("name", .string(p.0)), ("kind", .string(p.1.rawValue))])
    })
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
      // ClusTR: each patch's key/value cluster (0-based; the sequence itself is unchanged by clustering).
      ("cluster", r.keyGroups.map { groups in
        JSONValue(r.output.patchToken.map { $0 >= 0 ? Int(groups[Int($0)]) - r.output.prefixCount : -1 })
      } ?? .null),
      ("keys", JSONValue(r.keys)),
      ("event", r.event.map { .string($0) } ?? .null),
      ("annotations", PatchAnnotations(r.annotations).map(annotationsJSON) ?? .null),
    ])
  }

  /// What the method annotated in the block, per patch as the views draw it: PiToMe's energy and protected tokens,
  /// ATC's merge distances, VisionZip's dominant and contextual tokens, DToMe's similarities, threshold and
  /// calibration count. Each part is null when the method gave none.
  static func annotationsJSON(_ a: PatchAnnotations) -> JSONValue {
    .object([
      ("score", a.score.map { s in
        .object([("name", .string(s.name)), ("meaning", .string(s.meaning)),
                 ("threshold", s.threshold.map { JSONValue($0) } ?? .null),
                 // null where the patch's token had no score (prefix tokens, tokens outside the comparison)
                 ("per_patch", .array(s.values.map { $0.isNaN ? .null : JSONValue($0) }))])
      } ?? .null),
      ("roles", a.roles.map { JSONValue($0.map(\.rawValue)) } ?? .null),
      ("merge_levels", a.mergeLevels.map { m in
        .object([("name", .string(m.name)), ("heights", .array(m.heights.map { .number($0) })),
                 ("next", m.next.map { .number($0) } ?? .null), ("clusters", JSONValue(m.clusters))])
      } ?? .null),
      ("reference", a.reference.map { .object([("name", .string($0.name)), ("tokens_out", .number($0.tokensOut))]) } ?? .null),
    ])
  }

  static func top5(_ prediction: Prediction, labels: [String]?) -> [(index: Int, label: String, probability: Float)] {
    prediction.top(5).map { (index: $0.index, label: labels?[$0.index] ?? "class \($0.index)", probability: $0.probability) }
  }

  /// Per stage of a cascade: grid, confidence, top-1, MACs, and the stage's own layers.
  static func stagesJSON(_ plan: MethodPlan, _ outcome: MethodOutcome) -> JSONValue {
    var cumulative = 0
    return .array(outcome.stages.enumerated().map { s, stage in
      cumulative += stage.pass.totalMACs
      let top = stage.prediction.top(1).first
      return .object([
        ("stage", JSONValue(s)), ("grid", JSONValue([stage.grid.rows, stage.grid.cols])),
        ("confidence", JSONValue(stage.confidence)),
        ("threshold", plan.cascade.flatMap { s < $0.thresholds.count ? JSONValue($0.thresholds[s]) : nil } ?? .null),
        ("top1", top.map { .object([("index", JSONValue($0.index)), ("label", .string(plan.model.info.labels?[$0.index] ?? "class \($0.index)")),
                                     ("probability", JSONValue($0.probability))]) } ?? .null),
        ("macs", JSONValue(stage.pass.totalMACs)), ("cumulative_macs", JSONValue(cumulative)),
        ("logits", stage.prediction.logits.map { JSONValue($0) } ?? .null),
        ("layers", .array(stage.pass.records.map(layerJSON))),
      ])
    })
  }

  /// UP-ViT: widths before and after, parameters, and per block the kept channels.
  static func pruningJSON(_ p: PruningSummary) -> JSONValue {
    .object([
      ("embed", JSONValue(p.embedAfter)), ("embed_before", JSONValue(p.embedBefore)),
      ("parameters", JSONValue(p.parametersAfter)), ("parameters_before", JSONValue(p.parametersBefore)),
      ("blocks", .array(p.blocks.map { b in
        .object([
          ("heads", JSONValue(b.headsAfter)), ("heads_before", JSONValue(b.headsBefore)),
          ("attention_channels_kept", JSONValue(b.attentionKept.indices.filter { b.attentionKept[$0] })),
          ("mlp_units", JSONValue(b.mlpUnitsKept)), ("mlp_units_before", JSONValue(b.mlpKept.count)),
          ("mlp_units_kept", JSONValue(b.mlpKept.indices.filter { b.mlpKept[$0] })),
        ])
      })),
    ])
  }

  /// Each parameter's canonical text, as the spec prints it.
  static func parametersJSON(_ spec: MethodSpec) -> JSONValue {
    .object(spec.parameters.map { ($0.key, JSONValue.string($0.value.description)) })
  }

  static func json(model: ViTModel, imagePath: String, image: PixelImage, pipeline: Preprocessing, plan: MethodPlan,
                   outcome: MethodOutcome) -> JSONValue {
    let pass = outcome.pass, prediction = outcome.prediction, method = plan.spec
    // cls_features only where there is a class token; pre_logits is what every model's classifier reads.
    let classFeatures: [(String, JSONValue)] = model.hasClassToken ? [("cls_features", JSONValue(prediction.classFeatures))] : []
    return .object([
      ("schema_version", JSONValue(schemaVersion)),
      ("model", modelJSON(model)),
      ("image", .object([("path", .string(imagePath)), ("width", JSONValue(image.width)), ("height", JSONValue(image.height)),
                         ("channels", JSONValue(image.channels))])),
      ("preprocess", preprocessJSON(pipeline)),
      ("method", .object([("spec", .string(method.canonical)), ("name", .string(method.name)),
                          ("params", parametersJSON(method))])),
      ("grid", JSONValue([pass.grid.rows, pass.grid.cols])),
      ("layers", .array(pass.records.map(layerJSON))),
      ("stages", plan.cascade == nil ? .null : stagesJSON(plan, outcome)),
      ("exit_stage", plan.cascade == nil ? .null : JSONValue(outcome.stages.count - 1)),
      ("pruning", plan.pruning.map(pruningJSON) ?? .null),
      ("macs_stem", JSONValue(pass.stemMACs)), ("macs_head", JSONValue(pass.headMACs)),
      ("macs_total", JSONValue(outcome.totalMACs)), ("macs_baseline", JSONValue(outcome.baselineMACs)),
    ] + classFeatures + [
      ("pooling", .string(model.backbone.pooling.rawValue)),
      ("prefix_tokens", prefixTokensJSON(model)),
      ("pre_logits", JSONValue(prediction.preLogits)),
      ("logits", prediction.logits.map { JSONValue($0) } ?? .null),
      ("top5", .array(top5(prediction, labels: model.info.labels).map {
        .object([("index", JSONValue($0.index)), ("label", .string($0.label)), ("probability", JSONValue($0.probability))])
      })),
    ])
  }

  /// The per-layer table: tokens in -> out, GMACs, cumulative % of the baseline, mean entropy, and the method's event.
  /// Cascades print one table per stage run; pruned models say what was kept.
  static func text(model: ViTModel, imagePath: String, pipeline: Preprocessing, plan: MethodPlan, outcome: MethodOutcome) -> String {
    var lines: [String] = []
    let s = model.shape
    lines.append("model   \(model.info.path) (\(model.info.scheme.rawValue) \(model.backbone.family), \(model.backbone.pooling.rawValue) pooling, \(s.depth) blocks, width \(s.embedDim), \(headsText(s)) heads, patch \(s.patchSize), grid \(s.grid))")
    lines.append("image   \(imagePath)")
    lines.append("pre     \(pipeline.description)")
    lines.append("method  \(plan.spec.canonical)")
    if let p = plan.pruning {
      lines.append("pruned  width \(p.embedBefore) -> \(p.embedAfter), heads \(headsText(s)) -> \(headsText(plan.model.shape)), "
                   + "MLP \(p.blocks.map { "\($0.mlpKept.count)" }.first ?? "") -> \(plan.model.shape.mlpHidden.map(String.init).joined(separator: "/").collapsingRepeats), "
                   + "parameters \(p.parametersBefore) -> \(p.parametersAfter)")
    }
    let baseline = Double(outcome.baselineMACs)
    var spent = 0
    for (i, stage) in outcome.stages.enumerated() {
      let pass = stage.pass
      lines.append("")
      if plan.cascade != nil {
        let threshold = plan.cascade.flatMap { i < $0.thresholds.count ? formatFixed(Double($0.thresholds[i]), decimals: 2) : nil } ?? "-"
        let exits = i == outcome.stages.count - 1 ? "exits here" : "goes on"
        lines.append("stage \(i)  grid \(stage.grid)  confidence \(formatFixed(Double(stage.confidence), decimals: 4)) "
                     + "(threshold \(threshold)): \(exits)")
      }
      lines.append("layer  tokens     GMACs   cum. % base  entropy  event")
      var cumulative = spent + pass.stemMACs
      for r in pass.records {
        cumulative += r.macs.total
        let entropy = r.entropy.reduce(0, +) / Float(max(r.entropy.count, 1))
        let tokens = "\(r.tokensIn)->\(r.tokensOut)"
        let event = plan.pruning.map { $0.blocks[r.index].sentence } ?? r.event
        lines.append(pad(String(r.index), 5) + "  " + pad(tokens, 9, left: true) + "  "
                     + pad(formatFixed(Double(r.macs.total) / 1e9, decimals: 4), 7)
                     + "  " + pad(formatFixed(100 * Double(cumulative) / baseline, decimals: 1), 11)
                     + "  " + pad(formatFixed(Double(entropy), decimals: 3), 7)
                     + "  " + (event ?? "-"))
      }
      spent += pass.totalMACs
    }
    lines.append("")
    let total = Double(outcome.totalMACs)
    lines.append("MACs    \(formatFixed(total / 1e9, decimals: 4)) G of \(formatFixed(baseline / 1e9, decimals: 4)) G baseline "
                 + "(\(formatFixed(100 * total / baseline, decimals: 1))%), counted the fvcore way")
    if outcome.prediction.logits != nil {
      lines.append("top-5")
      for t in top5(outcome.prediction, labels: model.info.labels) {
        lines.append("  " + pad(formatFixed(Double(t.probability) * 100, decimals: 2) + "%", 8) + "  \(t.index)  \(t.label)")
      }
    } else {
      let features = model.hasClassToken ? "cls_features and pre_logits" : "pre_logits"
      lines.append("headless model: \(features) only (\(outcome.prediction.preLogits.count) values; use --format json)")
    }
    return lines.joined(separator: "\n")
  }

  static func headsText(_ s: ModelShape) -> String {
    Set(s.heads).count == 1 ? "\(s.heads[0])" : s.heads.map(String.init).joined(separator: "/")
  }
}

extension String {
  /// "256/256/256" -> "256"; lists that differ stay as they are.
  var collapsingRepeats: String {
    let parts = split(separator: "/")
    return Set(parts).count == 1 ? String(parts[0]) : self
  }
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
  s.count >= width ? s : (left ? s + String(repeating: " ", count: width - s.count) : String(repeating: " ", count: width - s.count) + s)
}
