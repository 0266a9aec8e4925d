import ArgumentParser
import ImageIO
import NumberFormatting
import ViTEngine

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show a checkpoint's tensors (and which ones the loader did not use), detected naming scheme, configuration (and where each value came from) and preprocessing.")

  @Argument(help: "A ViT checkpoint (.safetensors).")
  var model: String

  @Option(name: .long, help: ArgumentHelp("Number of heads, one value or one per block separated by '/'.", valueName: "N"))
  var heads: String?

  @Option(help: "Output format.")
  var format: OutputFormat = .text

  func run() throws {
    try reportingErrors {
      var options = ModelOptions()
      options.model = model
      options.heads = heads
      let file: SafetensorsFile
      do { file = try SafetensorsFile(path: model) } catch let e as CheckpointError { throw CLIError(e) }
      let vit = try options.load(allowUnused: true)
      let pipeline = PreprocessMode.auto.pipeline(for: vit)
      let s = vit.shape, info = vit.info
      let macs = MACCounter.baseline(s, grid: s.grid).total
      func source(_ key: String) -> String { info.sources[key]?.rawValue ?? "-" }
      switch format {
      case .json:
        emit(JSONValue.object([
          ("schema_version", 1),
          ("model", Report.modelJSON(vit)),
          ("input_size", JSONValue([s.inChannels, info.inputSize.height, info.inputSize.width])),
          ("layer_norm_eps", JSONValue(info.layerNormEps)),
          ("activation", .string(vit.backbone.activation.rawValue)), ("pooling", .string(vit.backbone.pooling.rawValue)),
          ("norm_pre", .bool(vit.backbone.normPre != nil)), ("fc_norm", .bool(vit.backbone.fcNorm != nil)),
          ("rope", vit.backbone.rope.map { r in JSONValue.object([
            ("type", .string(r.kind.rawValue)), ("temperature", JSONValue(Double(r.temperature))),
            ("ref_feat_shape", r.referenceGrid.map { JSONValue([$0.rows, $0.cols]) } ?? .null),
            ("rotate_half", .bool(r.halfSplit)), ("grid_offset", JSONValue(Double(r.gridOffset))),
            ("grid_indexing", .string(r.columnsFirst ? "xy" : "ij")),
          ]) } ?? .null),
          ("swiglu", .bool(s.gatedMLP)), ("mlp_norm", .bool(s.mlpNorm)), ("attention_norm", .bool(s.attentionNorm)),
          ("prefix_tokens", Report.prefixTokensJSON(vit)),
          ("layer_scale", .bool(vit.blocks.contains { $0.layerScale1 != nil })),
          ("distilled_head", .bool(s.distilledHead)), ("head_input", .string(s.headInput.rawValue)),
          ("mlp_hidden", JSONValue(s.mlpHidden)), ("attention_width", JSONValue(zip(s.heads, s.headDim).map { $0 * $1 })),
          ("parameters", JSONValue(vit.parameterCount)), ("macs", JSONValue(macs)),
          ("sources", .object(info.sources.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) })),
          ("preprocess", Report.preprocessJSON(pipeline)),
          ("metadata", .object(file.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
          ("unused_tensors", JSONValue.array(info.unusedTensors.map { .string($0) })),
          ("tensors", .array(file.names.map { n in
            let t = file.tensors[n]!
            return .object([("name", .string(n)), ("dtype", .string(t.dtype.rawValue)), ("shape", JSONValue(t.shape))])
          })),
        ]).serialized())
      case .text:
        var lines: [String] = []
        lines.append("checkpoint  \(model)")
        lines.append("scheme      \(info.scheme.rawValue)")
        lines.append("family      \(vit.backbone.family)  (from \(source("family")))")
        lines.append("tensors     \(file.names.count), \(vit.parameterCount) parameters")
        lines.append("")
        lines.append("embed_dim   \(s.embedDim)")
        lines.append("depth       \(s.depth)")
        lines.append("heads       \(Report.headsText(s))  (from \(source("num_heads")))")
        lines.append("head width  \(Set(s.headDim).count == 1 ? "\(s.headDim[0])" : s.headDim.map(String.init).joined(separator: "/"))")
        lines.append("mlp hidden  \(Set(s.mlpHidden).count == 1 ? "\(s.mlpHidden[0])" : s.mlpHidden.map(String.init).joined(separator: "/"))")
        lines.append("patch       \(s.patchSize)  (\(s.inChannels) input channel\(s.inChannels == 1 ? "" : "s"))")
        lines.append("input       \(info.inputSize.height)x\(info.inputSize.width)  (from \(source("input_size"))), grid \(s.grid)")
        let prefixText = zip(info.prefixNames, vit.prefixKinds).map { $0.0 == $0.1.rawValue ? $0.0 : "\($0.0) (\($0.1.rawValue))" }
        lines.append("prefix      \(vit.prefixCount) token\(vit.prefixCount == 1 ? "" : "s")\(vit.prefixCount == 0 ? " (no class token)" : ": " + prefixText.joined(separator: ", "))")
        lines.append("activation  \(vit.backbone.activation.rawValue)  (from \(source("activation")))")
        let poolText: String = switch vit.backbone.pooling {
        case .cls: "cls (the class token)"
        case .avg: "avg (mean of the non-prefix tokens\(vit.backbone.fcNorm != nil ? ", then fc_norm" : ""))"
        case .map: "map (attention pooling head attn_pool, \(vit.backbone.mapHead!.heads) heads, MLP \(vit.backbone.mapHead!.mlpHidden))"
        }
        lines.append("pooling     \(poolText)  (from \(source("pooling")))")
        if vit.backbone.normPre != nil { lines.append("norm_pre    yes (a LayerNorm before the first block)") }
        if let rope = vit.backbone.rope { lines.append("rope        \(Self.ropeText(rope))  (from \(source("rope")))") }
        if s.gatedMLP || s.mlpNorm || s.attentionNorm {
          let parts = [s.gatedMLP ? "SwiGLU (gate, up, down)" : nil, s.mlpNorm ? "LayerNorm over the MLP's hidden units" : nil,
                       s.attentionNorm ? "LayerNorm over the attention output" : nil].compactMap { $0 }
          lines.append("blocks      \(parts.joined(separator: "; "))")
        }
        lines.append("layerscale  \(vit.blocks.contains { $0.layerScale1 != nil } ? "yes" : "no")")
        lines.append("norm eps    \(info.layerNormEps)  (from \(source("layer_norm_eps")))")
        let headText = s.classes == 0 ? "none (headless: features only)"
          : "\(s.classes) classes\(s.distilledHead ? ", distilled (head + head_dist averaged)" : "")\(s.headInput == .classTokenAndPatchMean ? ", reads [cls, mean(patches)]" : "")"
        lines.append("head        \(headText)")
        lines.append("labels      \(info.labels == nil ? "none (class indices)" : "\(info.labels!.count) (from \(source("labels")))")")
        lines.append("MACs        \(macs) (\(formatFixed(Double(macs) / 1e9, decimals: 3)) G at the native grid, fvcore convention)")
        lines.append("preprocess  \(pipeline.description)  (mean/std from \(source("mean")))")
        if let unused = unusedTensorsSummary(info.unusedTensors) { lines.append("unused      \(unused)  (marked below; other commands refuse this checkpoint)") }
        lines.append("")
        lines.append("tensors:")
        let unused = Set(info.unusedTensors)
        for n in file.names {
          let t = file.tensors[n]!
          lines.append("  " + pad(t.dtype.rawValue, 4, left: true) + "  " + pad(t.shape.map(String.init).joined(separator: "x"), 16, left: true) + "  " + n
                       + (unused.contains(n) ? "  (not used)" : ""))
        }
        emit(lines.joined(separator: "\n"))
      }
    }
  }

  /// "dinov3: half-split pairs, temperature 100, coordinates 2(i+0.5)/grid-1"
  static func ropeText(_ r: RotaryEmbedding) -> String {
    let layout = r.halfSplit ? "half-split pairs" : "interleaved pairs"
    let coordinates = switch r.kind {
    case .eva: r.referenceGrid.map { "grid index scaled to \($0)" } ?? "grid index"
    case .dinov3: "2(i+0.5)/grid-1"
    }
    return "\(r.kind.rawValue): \(layout), temperature \(formatFixed(Double(r.temperature), decimals: 0)), coordinates \(coordinates)\(r.columnsFirst ? ", columns first" : "")"
  }
}
