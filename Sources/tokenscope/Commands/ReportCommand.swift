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

  func run() throws {
    try reportingErrors {
      let spec = try parseMethod(method)
      let model = try modelOptions.load()
      let pipeline = preprocess.pipeline(for: model, inputSize: try size.checked(for: model))
      let input = try loadModelImage(path: image, model: model, pipeline: pipeline)
      let plan = try makePlan(spec, model: model)
      let outcome = try runPlan(plan, on: input)
      switch format {
      case .json:
        emit(Report.json(model: model, imagePath: image, image: input.image, pipeline: pipeline, plan: plan, outcome: outcome).serialized())
      case .text:
        emit(Report.text(model: model, imagePath: image, pipeline: pipeline, plan: plan, outcome: outcome))
      }
    }
  }
}
