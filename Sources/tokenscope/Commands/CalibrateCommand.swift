// `tokenscope calibrate --method dymu`: DToMe's per-block thresholds from a dataset, the official batch-statistic way
// (see the DToMe article in TokenMethods.docc), written as the JSON file that `dymu:thresholds=auto` reads beside the
// checkpoint. The file names the checkpoint by SHA-256 and records the data, the budget and the mean token counts.
import ArgumentParser
import Foundation
import ImageIO
import ImageInput
import NumberFormatting
import TokenMethods
import ViTEngine

struct CalibrateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calibrate",
    abstract: "DToMe (dymu): find per-block merge thresholds on a dataset and write CHECKPOINT.dymu.json.",
    discussion: """
      The images go through the model in batches of --batch-size. In every block with a budget r_l > 0 (--r-total \
      spread by --schedule), each image's best ToMe similarities are pooled with the batch's; the r·B largest merge \
      and the next one is the batch threshold; a block's threshold is the mean over batches. On the calibration data \
      an image then merges r_l tokens in block l on average, more when it is simple and fewer when it is busy. \
      Calibrate on training images, never on the ones you evaluate. Only --method dymu calibrates here (DVT: eval \
      --calibrate; UP-ViT: prune --importance-out).
      """)

  @Option(help: "The method to calibrate: dymu.")
  var method: String

  @OptionGroup var modelOptions: ModelOptions

  @OptionGroup var size: InputSizeOption

  @Option(help: "Dataset folder (IDX files or ImageFolder layout).")
  var data: String

  @Option(help: "train or test (calibrate on train).")
  var split: String = "train"

  @Option(help: "Tokens to remove per image over all blocks, on average (default: 8 per block, the official generic setting).")
  var rTotal: Int?

  @Option(help: "How --r-total is spread over the blocks: constant, linear (decreasing) or reverse-linear.")
  var schedule: String = "constant"

  @Option(help: "Merges per block on average, constant schedule: the calibration that dymu:budget=R reads, written to CHECKPOINT.dymu-rR.json (instead of --r-total/--schedule).")
  var budget: Int?

  @Option(help: "Images per batch (the official 64 per GPU); the thresholds are batch statistics.")
  var batchSize: Int = 64

  @OptionGroup var selection: ImageSelectionOptions

  @Option(help: "Preprocessing mode (see report --help).")
  var preprocess: PreprocessMode = .auto

  @Option(help: "Images computed at once (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Where to write the thresholds (default: CHECKPOINT.dymu.json beside the checkpoint, what dymu:thresholds=auto reads).")
  var out: String?

  func validate() throws {
    guard method.lowercased() == "dymu" else {
      throw ValidationError("--method \(method): calibrate supports dymu (DVT calibrates with eval --calibrate, UP-ViT scores with prune)")
    }
    guard split == "train" || split == "test" else { throw ValidationError("--split must be train or test") }
    guard DToMeSchedule(rawValue: schedule) != nil else { throw ValidationError("--schedule must be constant, linear or reverse-linear") }
    if let rTotal, rTotal < 0 { throw ValidationError("--r-total must be 0 or more") }
    if let budget {
      guard budget >= 1 else { throw ValidationError("--budget must be positive") }
      guard rTotal == nil, schedule == "constant" else {
        throw ValidationError("--budget R means --r-total R x depth with --schedule constant; give one or the other")
      }
    }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive") }
    guard threads > 0 else { throw ValidationError("--threads must be positive") }
  }

  func run() throws {
    try reportingErrors {
      let model = try modelOptions.load()
      let modelPath = try modelOptions.resolvedPath()
      let kind = DToMeSchedule(rawValue: schedule)!
      let total = budget.map { $0 * model.depth } ?? rTotal ?? 8 * model.depth
      guard let r = kind.perBlock(rTotal: total, depth: model.depth) else {
        throw CLIError("--r-total \(total) with --schedule \(schedule): the official schedule does not finish for \(model.depth) blocks (its terms reach 0 before they sum to \(total)); choose another budget or schedule", code: CLIError.usage)
      }
      let dataset: Dataset
      do { dataset = try Dataset.open(path: data, split: split) } catch let error as DatasetError {
        throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData)
      }
      let (indices, selected) = selection.indices(count: dataset.count)
      guard !indices.isEmpty else { throw CLIError("\(dataset.name) has no images", code: CLIError.badData) }
      guard let sha = SHA256.hex(file: modelPath) else { throw CLIError("cannot read \(modelPath) to hash it", code: CLIError.ioError) }
      let pipeline = preprocess.pipeline(for: model, inputSize: try size.checked(for: model))
      let patch = model.shape.patchSize
      let chosen = indices
      let input: @Sendable (Int) throws -> ModelInput = { i in
        let index = chosen[i]
        return try ModelImage(image: try dataset.image(index), name: "\(dataset.name) #\(index)", pipeline: pipeline, patchSize: patch).native
      }
      FileHandle.standardError.write(Data("calibrating dymu on \(chosen.count) images of \(dataset.name) (\(selected)), r-total \(total) (\(schedule): \(r.map(String.init).joined(separator: "/"))), batches of \(batchSize)\n".utf8))
      let progress = ProgressBar(total: chosen.count, label: "dymu calibration")
      var done = 0
      let result: DToMeCalibration.Result
      do {
        result = try DToMeCalibration.run(model: model, r: r, count: chosen.count, batchSize: batchSize, threads: threads, input: input) { upTo in
          while done < upTo { progress.advance(); done += 1 }
        }
      } catch {
        progress.finish()
        throw CLIError("\(error)", code: CLIError.badData)
      }
      progress.finish()
      let file = DToMeThresholdsFile(
        modelPath: modelPath, modelSHA256: sha, data: data, split: split, images: result.images, batchSize: batchSize,
        batches: result.batches, rTotal: total, schedule: kind, r: r, thresholds: result.thresholds, meanTokens: result.meanTokens)
      let path = out ?? DToMe.defaultThresholdsPath(forModel: modelPath, budget: budget)
      do { try AtomicFile.write(Array(file.json().serialized().utf8), to: path) } catch {
        throw CLIError("cannot write \(path): \(error)", code: CLIError.ioError)
      }
      var lines = ["wrote \(path)", "", "block  r   threshold  mean tokens out"]
      for l in 0..<model.depth {
        lines.append(pad(String(l), 5) + "  " + pad(String(r[l]), 2) + "  " + pad(formatFixed(Double(result.thresholds[l]), decimals: 5), 9)
                     + "  " + pad(formatFixed(result.meanTokens[l], decimals: 2), 15))
      }
      emit(lines.joined(separator: "\n"))
    }
  }
}
