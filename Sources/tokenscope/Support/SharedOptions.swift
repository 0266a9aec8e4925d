// Options shared by several subcommands, and the code that turns them into a model, an image and a method.
import ArgumentParser
import ImageInput
import ImageIO
import Pixels
import TokenMethods
import ViTEngine

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

enum PreprocessMode: String, ExpressibleByArgument, CaseIterable { case auto, deit, timm, none }

struct ModelOptions: ParsableArguments {
  @Option(name: .long, help: "A ViT checkpoint (.safetensors, timm or Hugging Face names); default: the bundled Fashion-MNIST ViT.")
  var model: String?

  @Option(name: .long, help: ArgumentHelp(
    "Number of heads, one value or one per block separated by '/' (overrides the checkpoint's configuration).",
    valueName: "N"))
  var heads: String?

  func loadOptions(allowUnused: Bool = false) throws -> LoadOptions {
    guard let heads else { return LoadOptions(allowUnused: allowUnused) }
    let values = heads.split(separator: "/").map { Int($0) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
      throw CLIError("--heads '\(heads)': expected a positive integer or a '/'-separated list of them", code: CLIError.usage)
    }
    return LoadOptions(heads: values.map { $0! }, allowUnused: allowUnused)
  }

  func resolvedPath() throws -> String {
    return try model ?? Samples.defaultModel()
  }

  /// Loads the model. A checkpoint with tensors the loader would not read is refused (exit 65) unless `allowUnused`
  /// (for `inspect`, which lists them).
  func load(allowUnused: Bool = false) throws -> ViTModel {
    let path = try resolvedPath()
    do { return try ModelLoader.load(path: path, options: try loadOptions(allowUnused: allowUnused)) } catch let e as CheckpointError {
      throw CLIError(e)
    }
  }
}

/// "2 tensors not used: a, b", naming at most `limit` of them; nil when the loader used every tensor.
func unusedTensorsSummary(_ unused: [String], limit: Int = 5) -> String? {
  guard !unused.isEmpty else { return nil }
  let named = unused.prefix(limit).joined(separator: ", ") + (unused.count > limit ? " and \(unused.count - limit) more" : "")
  return "\(unused.count) tensor\(unused.count == 1 ? "" : "s") not used: \(named)"
}

extension PreprocessMode {
  /// The pipeline for `model`: auto follows the checkpoint's config (timm crop_pct when it has one), else DeiT's.
  /// `inputSize` runs the model at another resolution (position embeddings are resampled as timm does).
  func pipeline(for model: ViTModel, inputSize: Int? = nil) -> Preprocessing {
    let info = model.info
    let size = inputSize.map { ($0, $0) } ?? info.inputSize
    let channels = model.shape.inChannels
    let interpolation = Interpolation(rawValue: info.interpolation) ?? .bicubic
    switch self {
    case .none:
      return .none(inputSize: size, channels: channels, mean: info.mean, std: info.std)
    case .deit:
      return .deit(inputSize: size, channels: channels, mean: info.mean, std: info.std, interpolation: interpolation)
    case .timm:
      return .timm(inputSize: size, channels: channels, cropPct: info.cropPct ?? 0.9, mean: info.mean, std: info.std,
                   interpolation: interpolation)
    case .auto:
      if let crop = info.cropPct {
        return .timm(inputSize: size, channels: channels, cropPct: crop, mean: info.mean, std: info.std, interpolation: interpolation)
      }
      return .deit(inputSize: size, channels: channels, mean: info.mean, std: info.std, interpolation: interpolation)
    }
  }
}

/// Loads and preprocesses an image for `model` (at every grid a cascade may ask for).
func loadModelImage(path: String, model: ViTModel, pipeline: Preprocessing) throws -> ModelImage {
  do {
    return try ModelImage(image: try ImageLoader.load(path: path), name: path, pipeline: pipeline, patchSize: model.shape.patchSize)
  } catch {
    throw CLIError(error)
  }
}

/// An image already decoded (a dataset's), preprocessed for `model`.
func loadedModelImage(_ image: PixelImage, name: String, model: ViTModel, pipeline: Preprocessing) throws -> ModelImage {
  do { return try ModelImage(image: image, name: name, pipeline: pipeline, patchSize: model.shape.patchSize) } catch {
    throw CLIError(error)
  }
}

/// Prepares a method for a model (UP-ViT reads its importance file and prunes here; DToMe reads its thresholds).
func makePlan(_ spec: MethodSpec, model: ViTModel) throws -> MethodPlan {
  do { return try MethodPlan(spec: spec, model: model) } catch let e as UPViTError {
    throw CLIError(e.message, code: e.isMissing ? CLIError.noInput : CLIError.badData)
  } catch let e as MethodFileError {
    throw CLIError(e.message, code: e.isMissing ? CLIError.noInput : CLIError.badData)
  } catch let e as MethodSpecError {
    throw CLIError(e)
  }
}

/// Runs a plan on an image, with image errors (a cascade stage's preprocessing) mapped to exit codes.
func runPlan(_ plan: MethodPlan, on image: ModelImage, allStages: Bool = false) throws -> MethodOutcome {
  do { return try image.run(plan, allStages: allStages) } catch let e as ImageError { throw CLIError(e) }
}

func parseMethod(_ text: String) throws -> MethodSpec {
  do { return try MethodSpec.parse(text) } catch { throw CLIError(error) }
}

let methodHelp = ArgumentHelp("A token-reduction method spec, e.g. none.", discussion: "Methods:\n" + MethodRegistry.helpText,
                              valueName: "SPEC")

/// `--input-size N`: run at N x N pixels instead of the checkpoint's input size.
struct InputSizeOption: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp(
    "Run at N x N pixels instead of the checkpoint's input size (the grid becomes N / patch; position embeddings are resampled, bicubic with antialiasing, as timm does).",
    valueName: "N"))
  var inputSize: Int?

  func validate() throws {
    if let inputSize, inputSize <= 0 || inputSize > 4096 { throw ValidationError("--input-size must be in 1...4096") }
  }

  func checked(for model: ViTModel) throws -> Int? {
    guard let inputSize else { return nil }
    return try Self.check(inputSize, for: model)
  }

  /// `inputSize` when the model can run at it, else the one-line reason (the explorer's `:size` says the same).
  static func check(_ inputSize: Int, for model: ViTModel) throws -> Int {
    guard inputSize > 0 && inputSize <= 4096 else { throw CLIError("--input-size must be in 1...4096", code: CLIError.usage) }
    let p = model.shape.patchSize
    guard inputSize >= p else {
      throw CLIError("--input-size \(inputSize) is smaller than the patch size \(p)", code: CLIError.usage)
    }
    // A size between multiples would be cropped to the grid below it while every label still said N x N.
    guard inputSize % p == 0 else {
      throw CLIError("--input-size \(inputSize) is not a multiple of the patch size \(p); try \(inputSize / p * p) or \((inputSize / p + 1) * p)", code: CLIError.usage)
    }
    return inputSize
  }
}

/// `--limit`, `--sample` and `--seed`: which images of a dataset `eval` and `calibrate` run on.
struct ImageSelectionOptions: ParsableArguments {
  @Option(help: "Use only the first N images (after --sample).")
  var limit: Int?

  @Option(help: "Use a seeded random sample of N images instead of the first ones.")
  var sample: Int?

  @Option(help: "Seed for --sample.")
  var seed: UInt64 = 0

  func validate() throws {
    if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    if let sample, sample <= 0 { throw ValidationError("--sample must be positive") }
  }

  /// The chosen indices of a dataset of `count` images (a seeded shuffle's first `sample`, then the first `limit`),
  /// and a phrase saying which.
  func indices(count: Int) -> (indices: [Int], description: String) {
    var indices = Array(0..<count)
    var description = "every image in order"
    if let sample, sample < indices.count {
      var rng = SplitMix(seed: seed)
      for i in stride(from: indices.count - 1, to: 0, by: -1) { indices.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
      indices = Array(indices.prefix(sample))
      description = "a seeded sample of \(sample) (seed \(seed))"
    }
    if let limit, limit < indices.count {
      indices = Array(indices.prefix(limit))
      description = sample == nil ? "the first \(limit)" : description + ", the first \(limit) of it"
    }
    return (indices, description)
  }
}
