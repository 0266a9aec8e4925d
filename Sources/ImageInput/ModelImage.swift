// An image ready for a model at any token grid. Most methods need one input, at the pipeline's size; DVT's cascade
// asks for the same image at several grids, each preprocessed as timm would for a model of that input size
// (Preprocessing.atInputSize). Shared by the CLI and the explorer, so every caller feeds cascades alike.
import ImageIO
import Pixels
import TokenMethods
import ViTEngine

public struct ModelImage: Sendable {
  /// The image as loaded.
  public let image: PixelImage
  /// A name for messages (path, or "dataset #index").
  public let name: String
  public let pipeline: Preprocessing
  public let patchSize: Int
  /// The input at the pipeline's own size.
  public let native: ModelInput

  public init(image: PixelImage, name: String, pipeline: Preprocessing, patchSize: Int) throws(ImageError) {
    self.image = image; self.name = name; self.pipeline = pipeline; self.patchSize = patchSize
    native = ModelInput(channels: pipeline.channels, height: pipeline.cropHeight, width: pipeline.cropWidth,
                        pixels: try pipeline.apply(to: image, name: name))
  }

  public var nativeGrid: GridSize { GridSize(rows: native.height / patchSize, cols: native.width / patchSize) }

  /// The input for `grid`: the native one, or the image preprocessed at grid x patch pixels.
  public func input(for grid: GridSize) throws -> ModelInput {
    if grid == nativeGrid { return native }
    let p = pipeline.atInputSize(height: grid.rows * patchSize, width: grid.cols * patchSize)
    return ModelInput(channels: p.channels, height: p.cropHeight, width: p.cropWidth, pixels: try p.apply(to: image, name: name))
  }

  /// Runs `plan` on this image (`recordsAttention`: see `ForwardPass.recordsAttention`).
  public func run(_ plan: MethodPlan, allStages: Bool = false, recordsAttention: Bool = true) throws -> MethodOutcome {
    try plan.run(native: nativeGrid, allStages: allStages, recordsAttention: recordsAttention, input: input(for:))
  }

  /// The views of `plan` on this image.
  public func methodRun(_ plan: MethodPlan) throws -> MethodRun {
    try MethodRun.compute(plan: plan, native: nativeGrid, input: input(for:))
  }
}
