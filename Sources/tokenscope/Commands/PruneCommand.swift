// `tokenscope prune`: UP-ViT structural pruning (see the UP-ViT article in TokenMethods.docc). Scores every embedding
// channel, attention channel and MLP unit by single-channel KL ablation on a small calibration set (or reuses an
// importance file), keeps the most important ones per the targets, and writes a smaller dense checkpoint under timm's
// names.
import ArgumentParser
import Dispatch
import Foundation
import ImageInput
import ImageIO
import NumberFormatting
import Pixels
import TokenMethods
import ViTEngine

struct PruneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "UP-ViT: score channels by KL ablation on calibration images and write a structurally pruned checkpoint.",
    discussion: """
      Importance of a channel = Σ over calibration images of KL(model ‖ model without that channel). Every embedding \
      channel, attention channel (q, k, v together) and MLP unit is scored on its own; attention and MLP ablations \
      rerun only the blocks from the ablated one on. The calibration set is --per-class images of each class of \
      --calib (UP-ViT uses 5 per class), a seeded sample of --calib-split.

      Selection: the --embed most important embedding channels; per block, the attention channels split into --heads \
      contiguous groups each keeping its head-width most important (UP-ViT's grouping, so heads keep their width); \
      floor(--mlp-ratio x embed) MLP units. The checkpoint loads like any other (tokenscope, timm with per-block \
      widths: samples/models/finetune_pruned.py). Without fine-tuning, prune mildly.
      """)

  // Not ModelOptions: its --heads overrides the checkpoint's head count, and here --heads is the pruning target.
  @Option(help: "The ViT checkpoint to prune (.safetensors); default: the bundled Fashion-MNIST ViT.")
  var model: String?

  @Option(help: "Calibration dataset (IDX files or ImageFolder), needed unless --importance is given.")
  var calib: String?

  @Option(help: "Split of --calib to sample from.")
  var calibSplit: String = "train"

  @Option(help: "Calibration images per class.")
  var perClass: Int = 5

  @Option(help: "Seed for the calibration sample.")
  var seed: UInt64 = 0

  @Option(help: "Reuse this importance file instead of scoring.")
  var importance: String?

  @Option(help: "Write the importance scores here (JSON; upvit:importance=FILE reads it).")
  var importanceOut: String?

  @Option(help: "Heads per block after pruning: N, or one per block a/b/c/...; default: keep.")
  var heads: String?

  @Option(help: "MLP units kept per block = floor(ratio x embed); default 3, 'keep' for none pruned.")
  var mlpRatio: String = "3"

  @Option(help: "Embedding channels kept; default: keep.")
  var embed: String?

  @Option(help: "Where to write the pruned checkpoint (.safetensors).")
  var out: String?

  @Option(help: "Threads for the ablations (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  func validate() throws {
    guard out != nil || importanceOut != nil else { throw ValidationError("nothing to write: give --out FILE.safetensors and/or --importance-out FILE.json") }
    guard importance != nil || calib != nil else { throw ValidationError("give --calib DATA to score channels, or --importance FILE to reuse scores") }
    guard calibSplit == "train" || calibSplit == "test" else { throw ValidationError("--calib-split must be train or test") }
    guard (1...10_000).contains(perClass) else { throw ValidationError("--per-class must be in 1...10000") }
    guard threads > 0 else { throw ValidationError("--threads must be positive") }
    if let out, !out.hasSuffix(".safetensors") { throw ValidationError("--out '\(out)': expected a .safetensors file") }
  }

  func run() throws {
    try reportingErrors {
      // The flags are UP-ViT's spec keys, parsed and checked by the spec's own parameters.
      let heads = (heads ?? "keep").replacingOccurrences(of: ",", with: "/")
      let targets: PruningTargets
      do throws(MethodSpecError) {
        let spec = try MethodSpec.parse("upvit:heads=\(heads),mlp-ratio=\(mlpRatio),embed=\(embed ?? "keep")")
        targets = (spec.configuration as! UPViT).targets
      } catch {
        throw CLIError(error.description.replacingOccurrences(of: "upvit: ", with: "--"), code: CLIError.usage)
      }
      let model = try ModelOptions.parse(self.model.map { ["--model", $0] } ?? []).load()
      let scores = try importance.map(loadImportance) ?? score(model)
      do { try scores.validate(for: model, path: importance ?? "the scores") } catch let e as UPViTError { throw CLIError(e.message, code: CLIError.badData) }
      if let importanceOut {
        do { try AtomicFile.write(Array(scores.json().serialized().utf8), to: importanceOut) } catch {
          throw CLIError("cannot write \(importanceOut): \(error)", code: CLIError.ioError)
        }
        FileHandle.standardError.write(Data("wrote \(importanceOut)\n".utf8))
      }
      guard let out else { return }
      let selection: ChannelSelection
      do { selection = try targets.selection(for: model, importance: scores) } catch let e as UPViTError { throw CLIError(e.message, code: CLIError.usage) }
      let pruned = model.pruned(selection)
      let summary = PruningSummary(original: model, selection: selection, pruned: pruned)
      let before = MACCounter.baseline(model.shape, grid: model.shape.grid).total
      let after = MACCounter.baseline(pruned.shape, grid: pruned.shape.grid).total
      let note = "UP-ViT channel pruning of \(model.info.path): embed \(summary.embedAfter)/\(summary.embedBefore), heads "
        + "\(Report.headsText(pruned.shape))/\(Report.headsText(model.shape)), mlp-ratio \(mlpRatio), importance from "
        + (importance ?? "\(scores.calibrationImages) images (\(scores.calibration))")
      do { try pruned.timmCheckpoint(extraMetadata: ["pruned_from": model.info.path, "pruning": note]).write(to: out) } catch {
        throw CLIError("cannot write \(out): \(error)", code: CLIError.ioError)
      }
      emit([
        "wrote \(out)",
        "width       \(summary.embedBefore) -> \(summary.embedAfter)",
        "heads       \(Report.headsText(model.shape)) -> \(Report.headsText(pruned.shape)) (head width kept)",
        "MLP         \(model.shape.mlpHidden.map(String.init).joined(separator: "/").collapsingRepeats) -> \(pruned.shape.mlpHidden.map(String.init).joined(separator: "/").collapsingRepeats)",
        "parameters  \(summary.parametersBefore) -> \(summary.parametersAfter) "
          + "(\(formatFixed(100 * Double(summary.parametersAfter) / Double(summary.parametersBefore), decimals: 1))%)",
        "MACs        \(formatFixed(Double(before) / 1e9, decimals: 4)) G -> \(formatFixed(Double(after) / 1e9, decimals: 4)) G "
          + "(\(formatFixed(100 * Double(after) / Double(before), decimals: 1))%)",
      ].joined(separator: "\n"))
    }
  }

  func loadImportance(_ path: String) throws -> ChannelImportance {
    do { return try ChannelImportance.load(path: path) } catch {
      throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData)
    }
  }

  /// Scores every channel on --per-class seeded images of each class.
  func score(_ model: ViTModel) throws -> ChannelImportance {
    let dataset: Dataset
    do { dataset = try Dataset.open(path: calib!, split: calibSplit) } catch {
      throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData)
    }
    var order = Array(0..<dataset.count)
    var rng = SplitMix(seed: seed)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    var taken = [Int](repeating: 0, count: (dataset.labels.max() ?? 0) + 1)
    var chosen: [Int] = []
    for i in order {
      let label = dataset.labels[i]
      if taken[label] < perClass {
        taken[label] += 1
        chosen.append(i)
      }
    }
    let pipeline = PreprocessMode.auto.pipeline(for: model, inputSize: nil)
    var inputs: [ModelInput] = []
    for i in chosen.sorted() {
      let image: PixelImage
      do { image = try dataset.image(i) } catch { throw CLIError("\(error)", code: CLIError.badData) }
      inputs.append(try loadedModelImage(image, name: "\(dataset.name) #\(i)", model: model, pipeline: pipeline).native)
    }
    let total = UPViTScorer.ablationCount(model)
    FileHandle.standardError.write(Data("scoring \(total) channels on \(inputs.count) calibration images (\(perClass) per class of \(dataset.name))\n".utf8))
    let progress = ProgressBar(total: total, label: "UP-ViT importance", unit: "channels")
    let calibration = "\(perClass) per class of \(dataset.name), seed \(seed)"
    let scores: ChannelImportance
    do {
      scores = try UPViTScorer.score(model: model, inputs: inputs, calibration: calibration, threads: threads) { _, _ in progress.advance() }
    } catch let e as UPViTError {
      progress.finish()
      throw CLIError(e.message, code: CLIError.badData)
    }
    progress.finish()
    return scores
  }
}
