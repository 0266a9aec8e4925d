import ArgumentParser
import NumberFormatting
import TokenMethods
import ViTEngine

struct FlopsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "flops",
    abstract: "Count MACs per layer and in total, the fvcore way (one multiply-add = one 'FLOP'; LayerNorm 5 per element; softmax, GELU and adds 0).",
    discussion: "Without weights, --arch uses a published configuration at its native resolution: the DeiTs (224 px, patch 16, 1000 classes: deit-t 1258411200, deit-s 4608338304, deit-b 17582740224 MACs), OpenAI CLIP towers with their projection (clip-b16, clip-l14), SigLIP towers with the MAP head (siglip-b16, siglip-so400m14-384) headless DINOv2 with registers at 518 px (dinov2-s14-reg4, -b14-, -l14-), EVA02 fine-tuned on ImageNet-1k (eva02-t14-336, -s14-336, -b14-448, -l14-448; SwiGLU is three linears, RoPE counts 0), the EVA-CLIP tower (eva02-clip-b16) and headless DINOv3 at 256 px (dinov3-s16, -s16plus, -b16, -l16).")

  @OptionGroup var modelOptions: ModelOptions

  @Option(help: ArgumentHelp("Count a standard architecture without weights.", valueName: ModelShape.standardNames.joined(separator: "|")))
  var arch: String?

  @Option(help: methodHelp)
  var method: String = "none"

  @Option(help: "Output format.")
  var format: OutputFormat = .text

  func validate() throws {
    // Without either, the bundled model is counted, as --model's help promises.
    if arch != nil && modelOptions.model != nil {
      throw ValidationError("give one of --model FILE or --arch NAME, not both")
    }
    if let arch, ModelShape.standard(arch) == nil {
      throw ValidationError("unknown --arch '\(arch)'; expected one of \(ModelShape.standardNames.joined(separator: ", "))")
    }
  }

  func run() throws {
    try reportingErrors {
      let spec = try parseMethod(method)
      var shape: ModelShape, baselineShape: ModelShape
      let name: String
      var policy = spec.makePolicy(depth: ModelShape.deit("deit-s")!.depth)
      if let arch {
        shape = ModelShape.standard(arch)!
        baselineShape = shape
        policy = spec.makePolicy(depth: shape.depth)
        name = arch
        if spec.level == .modelTransform {
          throw CLIError("flops --method \(spec.canonical) needs the checkpoint its importance file belongs to: use --model", code: CLIError.usage)
        }
      } else {
        let plan = try makePlan(spec, model: try modelOptions.load())
        shape = plan.model.shape  // UP-ViT: the pruned shapes, against the unpruned baseline
        baselineShape = plan.baselineShape
        name = plan.model.info.path
        policy = plan.policy
      }
      try spec.configuration.validate(grid: shape.grid, prefix: shape.prefixTokens, depth: shape.depth)
      if let cascade = spec.cascade {
        emit(FlopsCommand.cascadeTable(shape: shape, name: name, spec: spec, cascade: cascade, json: format == .json))
        return
      }
      // DToMe's counts depend on the image; with a thresholds file the calibration's mean counts stand in for them.
      var average: DToMeThresholdsFile? = nil
      if let dymu = policy as? DToMePolicy, let calibration = dymu.calibration {
        policy = CalibrationAverage(policy: dymu, meanTokens: calibration.meanTokens)
        average = calibration
      }
      guard let planned = MACCounter.planned(shape, policy: policy) else {
        let hint = spec.name == "dymu" ? " (with --model and its thresholds file, flops counts the calibration's average tokens)" : ""
        throw CLIError("flops --method \(spec.canonical): this method's token counts depend on the image; use `report IMAGE --method ...`\(hint)", code: CLIError.usage)
      }
      let averageNote = average.map {
        "token counts: the calibration's mean per block, rounded (\($0.images) images of \($0.data) (\($0.split))); each image has its own (report IMAGE)"
      }
      let baseline = MACCounter.baseline(baselineShape, grid: shape.grid).total
      switch format {
      case .json:
        emit(JSONValue.object([
          ("schema_version", 1), ("model", .string(name)), ("method", .string(spec.canonical)),
          ("grid", JSONValue([shape.grid.rows, shape.grid.cols])),
          ("token_counts", .string(average == nil ? "planned" : "calibration average")),
          ("layers", .array(planned.blocks.enumerated().map { i, b in
            .object([("index", JSONValue(i)), ("tokens_in", JSONValue(b.counts.tokensIn)), ("tokens_active", JSONValue(b.counts.queries)), ("tokens_out", JSONValue(b.counts.tokensOut)),
                     ("macs", Report.macsJSON(b.macs))])
          })),
          ("macs_stem", JSONValue(planned.stem)), ("macs_head", JSONValue(planned.head)),
          ("macs_total", JSONValue(planned.total)), ("macs_baseline", JSONValue(baseline)),
        ]).serialized())
      case .text:
        var lines = ["model   \(name)", "method  \(spec.canonical)"] + (averageNote.map { ["note    \($0)"] } ?? [])
        lines += ["", "layer  tokens                   MACs     GMACs"]
        let (stem, head, total) = (planned.stem, planned.head, planned.total)
        lines.append("stem   " + pad("", 17) + pad(String(stem), 12) + "  " + pad(formatFixed(Double(stem) / 1e9, decimals: 4), 8))
        for (i, b) in planned.blocks.enumerated() {
          let c = b.counts
          let active = c.queries < c.tokensIn && c.tokensOut == c.tokensIn ? " (\(c.queries) active)" : ""
          let tokens = (c.tokensIn == c.tokensOut ? "\(c.tokensIn)" : "\(c.tokensIn)->\(c.tokensOut)") + active
          lines.append(pad(String(i), 5) + "  " + pad(tokens, 17, left: true) + pad(String(b.macs.total), 12) + "  "
                       + pad(formatFixed(Double(b.macs.total) / 1e9, decimals: 4), 8))
        }
        lines.append("head   " + pad("", 17) + pad(String(head), 12) + "  " + pad(formatFixed(Double(head) / 1e9, decimals: 4), 8))
        lines.append("total  " + pad("", 17) + pad(String(total), 12) + "  " + pad(formatFixed(Double(total) / 1e9, decimals: 4), 8)
                     + "  (\(formatFixed(100 * Double(total) / Double(baseline), decimals: 1))% of the baseline "
                     + "\(formatFixed(Double(baseline) / 1e9, decimals: 4)))")
        emit(lines.joined(separator: "\n"))
      }
    }
  }

  /// DVT: what each stage costs on its grid, and what exiting there costs in all (the table in the DVT article,
  /// TokenMethods.docc).
  static func cascadeTable(shape: ModelShape, name: String, spec: MethodSpec, cascade: Cascade, json: Bool) -> String {
    let baseline = MACCounter.baseline(shape, grid: shape.grid).total
    var cumulative = 0
    let stages = cascade.grids.map { side -> (grid: Int, macs: Int, cumulative: Int) in
      let macs = MACCounter.baseline(shape, grid: GridSize(rows: side, cols: side)).total
      cumulative += macs
      return (side, macs, cumulative)
    }
    if json {
      return JSONValue.object([
        ("schema_version", 1), ("model", .string(name)), ("method", .string(spec.canonical)),
        ("stages", .array(stages.map { .object([("grid", JSONValue([$0.grid, $0.grid])), ("macs", JSONValue($0.macs)),
                                                ("cumulative_macs", JSONValue($0.cumulative))]) })),
        ("macs_baseline", JSONValue(baseline)),
      ]).serialized()
    }
    var lines = ["model   \(name)", "method  \(spec.canonical)", "", "stage  grid        MACs     GMACs  exit here: GMACs  % base"]
    for (i, st) in stages.enumerated() {
      lines.append(pad(String(i), 5) + "  " + pad("\(st.grid)x\(st.grid)", 5, left: true) + pad(String(st.macs), 12) + "  "
                   + pad(formatFixed(Double(st.macs) / 1e9, decimals: 4), 8) + "  "
                   + pad(formatFixed(Double(st.cumulative) / 1e9, decimals: 4), 16) + "  "
                   + pad(formatFixed(100 * Double(st.cumulative) / Double(baseline), decimals: 1), 6))
    }
    lines.append("")
    lines.append("an image exiting at stage s costs every stage up to s; the mean depends on the exits (eval --method \(spec.name))")
    return lines.joined(separator: "\n")
  }
}

/// DToMe at its calibration's mean token counts (rounded), for `flops` without an image: the counts per block come
/// from the thresholds file, the matching's MACs from the policy at those counts.
struct CalibrationAverage: TokenPolicy {
  let policy: DToMePolicy
  /// Mean tokens leaving each block.
  let meanTokens: [Double]

  func plannedCounts(block: Int, tokensIn n: Int, shape: BlockShape) -> BlockTokenCounts? {
    let out = block < meanTokens.count ? Int(meanTokens[block].rounded()) : n
    return BlockTokenCounts(tokensIn: n, queries: n, keys: n, mlpTokens: out, tokensOut: out)
  }

  func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    policy.extraMACs(block: block, counts: counts, shape: shape)
  }
}
