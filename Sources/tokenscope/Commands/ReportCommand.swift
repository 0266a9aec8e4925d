import ArgumentParser
import ImageInput
import ImageIO
import TokenMethods
import ViTEngine

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Run one image through a model and print what happened at every layer (text table or JSON).")

  @Argument(help: "A PNG or JPEG image.")
  var image: String

  @OptionGroup var modelOptions: ModelOptions

  @OptionGroup var size: InputSizeOption

  @Option(help: methodHelp)
  var method: String = "none"

  @Option(help: "Preprocessing: auto (from the checkpoint's config, else DeiT's), deit (short side 256 bicubic, crop 224), timm (crop_pct from config, default 0.9), none (image must already be the input size).")
  var preprocess: PreprocessMode = .auto

  @Option(help: "Output format.")
  var format: OutputFormat = .text

  @Option(help: "Attribution to add: rollout (attention rollout through the method, per original patch).")
  var attribution: AttributionMode?

  @Option(help: "Drop the tokens holding PATCHES from block LAYER's input on and report the logits before and after: LAYER:all, LAYER:3,4,17 (row-major patch indices) or LAYER:rows=A-B,cols=C-D.")
  var ablate: String?

  func run() throws {
    try reportingErrors {
      let spec = try parseMethod(method)
      let model = try modelOptions.load()
      let pipeline = preprocess.pipeline(for: model, inputSize: try size.checked(for: model))
      let input = try loadModelImage(path: image, model: model, pipeline: pipeline)
      let plan = try makePlan(spec, model: model)
      let outcome = try runPlan(plan, on: input)
      let rollout = attribution.map { _ in AttentionRollout(pass: outcome.pass) }
      let ablation = try ablate.map { text in
        try AttributionReport.ablate(try AttributionReport.ablation(text, grid: outcome.pass.grid, depth: outcome.pass.depth), pass: outcome.pass)
      }
      let labels = plan.model.info.labels
      switch format {
      case .json:
        var json = Report.json(model: model, imagePath: image, image: input.image, pipeline: pipeline, plan: plan, outcome: outcome)
        if let rollout { json = AttributionReport.adding(rollout: rollout, to: json) }
        if let ablation { json = AttributionReport.adding(ablation: ablation, labels: labels, to: json) }
        emit(json.serialized())
      case .text:
        emit(Report.text(model: model, imagePath: image, pipeline: pipeline, plan: plan, outcome: outcome))
        if rollout != nil || ablation != nil { emit(AttributionReport.text(rollout: rollout, ablation: ablation, labels: labels)) }
      }
    }
  }
}
