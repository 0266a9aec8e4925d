import ArgumentParser
import TokenMethods
import ViTEngine

struct FlopsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "flops",
    abstract: "Count MACs per layer and in total, the fvcore way (one multiply-add = one 'FLOP'; LayerNorm 5 per element; softmax, GELU and adds 0).",
    discussion: "Without weights, --arch uses the DeiT configurations (224 px, patch 16, 1000 classes): deit-t 1258411200, deit-s 4608338304, deit-b 17582740224 MACs.")

  @OptionGroup var modelOptions: ModelOptions

  @Option(help: "Count a standard architecture without weights: deit-t, deit-s or deit-b.")
  var arch: String?

  @Option(help: methodHelp)
  var method: String = "none"

  @Option(help: "Output format.")
  var format: OutputFormat = .text

  func validate() throws {
    if (arch == nil) == (modelOptions.model == nil) {
      throw ValidationError("give exactly one of --model FILE or --arch deit-t|deit-s|deit-b")
    }
    if let arch, ModelShape.deit(arch) == nil {
      throw ValidationError("unknown --arch '\(arch)'; expected deit-t, deit-s or deit-b")
    }
  }

  func run() throws {
    try reportingErrors {
      let spec = try parseMethod(method)
      let shape: ModelShape
      let name: String
      if let arch {
        shape = ModelShape.deit(arch)!
        name = arch
      } else {
        let model = try modelOptions.load()
        shape = model.shape
        name = model.info.path
      }
      guard spec.name == "none" else {
        throw CLIError("flops --method \(spec.canonical): weight-free counting of token methods is not available yet; use `report` on an image", code: CLIError.usage)
      }
      let (stem, blocks, head, total) = MACCounter.baseline(shape, grid: shape.grid)
      let tokens = shape.prefixTokens + shape.grid.count
      switch format {
      case .json:
        emit(JSONValue.object([
          ("schema_version", 1), ("model", .string(name)), ("method", .string(spec.canonical)),
          ("grid", JSONValue([shape.grid.rows, shape.grid.cols])),
          ("layers", .array(blocks.enumerated().map { i, m in
            .object([("index", JSONValue(i)), ("tokens_in", JSONValue(tokens)), ("tokens_out", JSONValue(tokens)),
                     ("macs", Report.macsJSON(m))])
          })),
          ("macs_stem", JSONValue(stem)), ("macs_head", JSONValue(head)),
          ("macs_total", JSONValue(total)), ("macs_baseline", JSONValue(total)),
        ]).serialized())
      case .text:
        var lines = ["model   \(name)", "method  \(spec.canonical)", "", "layer  tokens        MACs     GMACs"]
        lines.append("stem   " + pad("", 6) + pad(String(stem), 12) + "  " + pad(fixed(Double(stem) / 1e9, 4), 8))
        for (i, m) in blocks.enumerated() {
          lines.append(pad(String(i), 5) + "  " + pad(String(tokens), 6) + pad(String(m.total), 12) + "  " + pad(fixed(Double(m.total) / 1e9, 4), 8))
        }
        lines.append("head   " + pad("", 6) + pad(String(head), 12) + "  " + pad(fixed(Double(head) / 1e9, 4), 8))
        lines.append("total  " + pad("", 6) + pad(String(total), 12) + "  " + pad(fixed(Double(total) / 1e9, 4), 8))
        emit(lines.joined(separator: "\n"))
      }
    }
  }
}
