import ArgumentParser
import Figures
import Foundation
import ImageIO
import NumberFormatting
import TokenMethods
import ViTEngine

struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract: "Measure top-1 accuracy, mean MACs and time per image of one or more methods on a labelled dataset.",
    discussion: """
      --data is a folder holding IDX files (MNIST / Fashion-MNIST: train-images-idx3-ubyte[.gz], t10k-...), or an \
      ImageFolder root (one subfolder per class of PNG/JPEG files, optionally under train/ and test/). Images run in \
      parallel on --threads threads (each image's forward passes on one thread). ms_per_image is what each method \
      costs per image on its own (reading, decoding, preprocessing and the forward pass, summed over the images and \
      divided by the threads): when several methods run, each image is decoded once and the baseline's leading \
      blocks, which EViT, MSTM, IdleViT, ATC and VisionZip run unchanged, are computed once and shared, bit for bit.

      --sweep runs each method (default: every method but none) over its main parameter: ToMe r = 2..16, keep rates \
      0.9..0.4 for EViT, IdleViT and MSTM, PiToMe ratio 0.975..0.75, ATC keep 0.9..0.25, VisionZip dominant = 40..4, \
      DToMe budget = 2..12 merges per block, after the baseline. Each DToMe budget is its own calibration file beside \
      the checkpoint (calibrate --method dymu --budget R writes CHECKPOINT.dymu-rR.json); budgets without one, like \
      UP-ViT without an importance file, are skipped with a note. --plot FILE.svg draws accuracy against mean GMACs \
      (or, with --plot-time, against ms per image), one line per method, the baseline marked. \(dvtCaveat).
      """)

  /// How far `dvt` is from the published method, wherever its numbers are summarised.
  static let dvtCaveat = "DVT here is one model run at three grids (the real DVT trains three models, one per resolution)"

  @Option(help: "Dataset folder (IDX files or ImageFolder layout); not with --merge.")
  var data: String?

  @Option(help: "train, test or val (ImageFolder roots with a val/ folder, as ImageNet ships).")
  var split: String = "test"

  @OptionGroup var modelOptions: ModelOptions

  @OptionGroup var size: InputSizeOption

  @Option(name: .customLong("method"), help: methodHelp)
  var methods: [String] = []

  @OptionGroup var selection: ImageSelectionOptions

  @Option(help: "Preprocessing mode (see report --help).")
  var preprocess: PreprocessMode = .auto

  @Option(help: "Worker threads (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Output format: text, json or csv.")
  var format: EvalFormat = .text

  @Flag(help: "Sweep each method's main parameter (ToMe r, keep rates) and evaluate the baseline too.")
  var sweep = false

  @Option(help: "Write the accuracy / cost trade-off chart to this .svg file.")
  var plot: String?

  @Flag(help: "Plot against measured ms per image instead of mean GMACs.")
  var plotTime = false

  @Flag(help: "Add relevance_kept: the mean share of the baseline's attention-rollout mass on patches each method still keeps as their own token after its last block.")
  var relevance = false

  @Flag(help: "Plot accuracy against relevance kept instead of mean GMACs (implies --relevance).")
  var plotRelevance = false


  @Flag(help: "DVT: choose thresholds by the paper's procedure on held-out images (--calib-split, --calib-limit) for exit shares proportional to q, q², q³, q = 0.05...2.95, and evaluate each setting.")
  var calibrate = false

  @Option(help: "Split the --calibrate images come from (a seeded sample of it).")
  var calibSplit: String = "train"

  @Option(help: "How many --calibrate images.")
  var calibLimit: Int = 5000

  @OptionGroup var scale: ScaleOptions

  enum EvalFormat: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

  func validate() throws {
    guard ["train", "test", "val"].contains(split) else { throw ValidationError("--split must be train, test or val") }
    guard threads > 0 else { throw ValidationError("--threads must be positive") }
    if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot '\(plot)': expected an .svg file") }
    if plotTime && plot == nil { throw ValidationError("--plot-time needs --plot FILE.svg") }
    if plotRelevance && (plot == nil || plotTime) { throw ValidationError("--plot-relevance needs --plot FILE.svg and no --plot-time") }
    guard calibSplit == "train" || calibSplit == "test" else { throw ValidationError("--calib-split must be train or test") }
    guard calibLimit > 0 else { throw ValidationError("--calib-limit must be positive") }
    if calibrate && sweep { throw ValidationError("--calibrate and --sweep are separate runs; choose one") }
    try scale.validate(dataGiven: data != nil)
  }

  func run() throws {
    try reportingErrors {
      ProgressBar.plainOnly = format == .json
      if !scale.merge.isEmpty { return try runMerge() }
      guard let data else { throw CLIError("--data is required (or --merge FILE... to combine shards)", code: CLIError.usage) }
      let specs = try sweep ? sweepSpecs() : (methods.isEmpty ? ["none"] : methods).map(parseMethod)
      let model = try modelOptions.load()
      let dataset = try scale.openDataset(data, split: split)
      let selected = selection.indices(count: dataset.count)
      let shard = try scale.shard.map { try Shard.parse($0) }
      let indices = shard.map { Array(selected.indices[$0.range(of: selected.indices.count)]) } ?? selected.indices
      let labelMap = try ClassMapping.resolve(dataset: dataset, model: model, classMap: scale.classMap)
      let pipeline = preprocess.pipeline(for: model, inputSize: try size.checked(for: model))
      var header = EvalHeader(model: model.info.path, modelSHA256: try modelFingerprint(model), data: dataset.name, split: split,
                              preprocess: pipeline.description, threads: threads, selected: selected.indices.count,
                              selectionSHA256: EvalHeader.fingerprint(selected.indices), selection: selected.description,
                              baselineMACs: MACCounterBaseline.of(model))
      var context = EvalContext(model: model, dataset: dataset, labelMap: labelMap, pipeline: pipeline, threads: threads)
      context.journal = try scale.openJournal(header: header, shard: shard, specs: specs, command: self)
      if format != .csv { header.decode = try context.decodeRate(indices) }
      if scale.maps != nil { context.mapSink = MapSink() }
      var results: [EvalResult] = []
      // Cascades run every stage once per image; each threshold setting is then an offline replay.
      var cascades: [[Int]: CascadeRecords] = [:]
      let skipped = sweep ? try sweepPointsWithoutFiles(specs, model: model) : []
      let plans = try specs.filter { !skipped.contains($0) }.map { spec in
        let plan = try makePlan(spec, model: model)
        // Every image runs at the pipeline's grid: a budget that does not fit it is a usage error, found once here.
        try plan.validate(native: GridSize(rows: pipeline.cropHeight / model.shape.patchSize,
                                           cols: pipeline.cropWidth / model.shape.patchSize))
        return plan
      }
      // Every single-pass plan in one go over the images (decoding and the baseline's shared blocks done once).
      let singlePass = plans.filter { $0.cascade == nil }
      var singleResults: ArraySlice<EvalResult> = singlePass.isEmpty ? [] : try context.evaluate(singlePass, indices: indices)[...]
      for plan in plans {
        if let cascade = plan.cascade {
          if cascades[cascade.grids] == nil { cascades[cascade.grids] = try context.cascadeRecords(plan, indices: indices) }
          let records = cascades[cascade.grids]!
          if calibrate {
            let held = try calibrationRecords(plan, model: model, pipeline: pipeline, labelMap: labelMap)
            for thresholds in CascadeRecords.calibratedThresholds(held.confidences, stages: cascade.grids.count) {
              let calibrated = try parseMethod(plan.spec.canonical).setting("thresholds", to: thresholds.map { "\($0)" }.joined(separator: "/"))
              let result = records.result(spec: calibrated, cascade: Cascade(grids: cascade.grids, thresholds: thresholds))
              if !results.contains(where: { $0.spec == result.spec }) { results.append(result) }
            }
          } else {
            results.append(records.result(spec: plan.spec, cascade: cascade))
          }
        } else {
          results.append(singleResults.removeFirst())
        }
      }
      if relevance || plotRelevance { try RelevanceEval.fill(&results, model: model, context: context, indices: indices) }
      let shardMembers: [(String, JSONValue)] = shard.map { s in
        let r = s.range(of: selected.indices.count)
        return [("shard", .object([("index", JSONValue(s.index)), ("count", JSONValue(s.count)), ("first", JSONValue(r.lowerBound)), ("end", JSONValue(r.upperBound))]))]
      } ?? []
      let maps = try scale.writeMaps(context: context, specs: specs, header: header)
      emit(render(results, header: header, extra: shardMembers + (maps.map { [("maps", $0.json)] } ?? [])))
      if let plot { try writePlot(results, to: plot, header: header) }
    }
  }

  /// Sweep points whose method needs a file the model does not have (UP-ViT's importance scores, a DToMe budget's
  /// calibration), each named on stderr; found before anything runs. A method asked for by name must keep at least one
  /// point, otherwise the first missing file is the error.
  func sweepPointsWithoutFiles(_ specs: [MethodSpec], model: ViTModel) throws -> Set<MethodSpec> {
    var skipped: Set<MethodSpec> = []
    var firstError: [String: CLIError] = [:]
    for spec in specs {
      do { _ = try makePlan(spec, model: model) } catch let e as CLIError where e.code == CLIError.noInput {
        FileHandle.standardError.write(Data("skipping \(spec.canonical) in the sweep: \(e.message)\n".utf8))
        skipped.insert(spec)
        if firstError[spec.name] == nil { firstError[spec.name] = e }
      }
    }
    if !methods.isEmpty {
      for (name, error) in firstError where !specs.contains(where: { $0.name == name && !skipped.contains($0) }) { throw error }
    }
    return skipped
  }

  /// The baseline, then every sweep point of every method asked for (all methods with a sweep when none are).
  func sweepSpecs() throws -> [MethodSpec] {
    let given = try (methods.isEmpty ? MethodRegistry.all.map(\.name) : methods).map(parseMethod)
    var specs = [MethodSpec.baseline]
    for spec in given {
      guard let sweep = spec.descriptor.sweep else { continue }
      for value in sweep.values {
        do { specs.append(try spec.setting(sweep.key, to: value)) } catch { throw CLIError(error) }
      }
    }
    return specs.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
  }

  func writePlot(_ results: [EvalResult], to path: String, header: EvalHeader) throws {
    func x(_ r: EvalResult) -> Double { plotRelevance ? 100 * (r.relevanceKept ?? 0) : plotTime ? r.msPerImage : r.macsMean / 1e9 }
    var order: [String] = []
    var byMethod: [String: [EvalResult]] = [:]
    for r in results where r.spec.name != "none" && (!plotRelevance || r.relevanceKept != nil) {
      if byMethod[r.spec.name] == nil { order.append(r.spec.name) }
      byMethod[r.spec.name, default: []].append(r)
    }
    let series = order.map { name in
      TradeoffChart.Series(name: name, points: byMethod[name]!.sorted { x($0) < x($1) }.map { r in
        let key = r.spec.descriptor.sweep?.key
        let label = key.flatMap { k in r.spec[k].map { "\(k)=\($0)" } } ?? r.spec.canonical
        return (x: x(r), y: 100 * r.accuracy, label: label)
      })
    }
    let base = results.first { $0.spec.name == "none" }.map { (x: x($0), y: 100 * $0.accuracy) }
    let modelName = header.model.split(separator: "/").last.map(String.init) ?? header.model
    let dataName = header.data.split(separator: "/").last.map(String.init) ?? header.data
    let split = header.split
    // Dataset names already say their split ("fashion-mnist (test)"); ImageFolder roots may not.
    let dataLabel = dataName.contains("(\(split))") ? dataName : "\(dataName) \(split)"
    let chart = TradeoffChart(title: "\(modelName) on \(dataLabel) (\(results.first?.images ?? 0) images)",
                              xLabel: plotRelevance ? "relevance kept (% of the baseline's rollout mass)"
                                : plotTime ? "ms per image (\(header.threads) threads)" : "mean GMACs per image",
                              yLabel: "top-1 accuracy (%)", series: series, baseline: base,
                              caption: results.contains { $0.exitShares != nil } ? Self.dvtCaveat + "." : nil)
    do { try AtomicFile.write(Array(chart.svg().utf8), to: path) } catch {
      throw CLIError("cannot write \(path): \(error)", code: CLIError.ioError)
    }
    FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
  }

  /// Dataset class -> model class: by name when the folder names match the model's labels, else by position.
  static func labelMap(dataset: Dataset, model: ViTModel) -> [Int]? {
    guard let names = dataset.classNames, let labels = model.info.labels else { return nil }
    func key(_ s: String) -> String { String(s.lowercased().filter { $0.isLetter || $0.isNumber }) }
    let index = Dictionary(labels.enumerated().map { (key($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
    let mapped = names.map { index[key($0)] }
    return mapped.allSatisfy { $0 != nil } ? mapped.map { $0! } : nil
  }

  struct EvalResult {
    let spec: MethodSpec
    let correct: Int, images: Int
    let macs: Double
    let seconds: Double
    /// Cascades: the share of images answered by each stage.
    /// Cascades: how many images each stage answered.
    var exitCounts: [Int]? = nil
    var exitShares: [Double]? { exitCounts.map { c in c.map { Double($0) / Double(max(images, 1)) } } }
    /// `--relevance`: the mean share of the baseline's rollout mass the method keeps (RelevanceEval); nil otherwise.
    var relevanceKept: Double? = nil
    var accuracy: Double { images > 0 ? Double(correct) / Double(images) : 0 }
    var macsMean: Double { images > 0 ? macs / Double(images) : 0 }
    var msPerImage: Double { images > 0 ? 1000 * seconds / Double(images) : 0 }
  }

  /// The cascade's stage records on the held-out calibration images (`--calib-split`, a seeded sample of
  /// `--calib-limit`).
  func calibrationRecords(_ plan: MethodPlan, model: ViTModel, pipeline: Preprocessing, labelMap: [Int]?) throws -> CascadeRecords {
    let held: Dataset
    guard let data else { throw CLIError("--calibrate needs --data", code: CLIError.usage) }
    do { held = try Dataset.open(path: data, split: calibSplit) } catch {
      throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData)
    }
    var indices = Array(0..<held.count)
    var rng = SplitMix(seed: selection.seed &+ 1)
    for i in stride(from: indices.count - 1, to: 0, by: -1) { indices.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    indices = Array(indices.prefix(calibLimit))
    let context = EvalContext(model: model, dataset: held, labelMap: labelMap, pipeline: pipeline, threads: threads)
    return try context.cascadeRecords(plan, indices: indices, label: "calibration (\(calibSplit))")
  }

  /// `extra`: members appended to the JSON (the shard's range, a merge's inputs).
  func render(_ results: [EvalResult], header: EvalHeader, extra: [(String, JSONValue)] = []) -> String {
    switch format {
    case .json:
      return JSONValue.object([("schema_version", 1)] + header.jsonMembers + [
        ("results", .array(results.map { r in
          .object([("method", .string(r.spec.canonical)), ("accuracy", JSONValue(r.accuracy)),
                   ("macs_mean", JSONValue(r.macsMean)), ("images", JSONValue(r.images)), ("ms_per_image", JSONValue(r.msPerImage)),
                   ("exit_shares", r.exitShares.map { .array($0.map { .number($0) }) } ?? .null)] + r.rawMembers
                  + (relevance || plotRelevance ? [("relevance_kept", r.relevanceKept.map { JSONValue($0) } ?? .null)] : []))
        })),
      ] + extra).serialized()
    case .csv:
      return (["method,accuracy,macs_mean,images,ms_per_image"] + results.map {
        "\"\($0.spec.canonical)\",\($0.accuracy),\(Int($0.macsMean.rounded())),\($0.images),\(formatFixed($0.msPerImage, decimals: 3))"
      }).joined(separator: "\n")
    case .text:
      var lines = ["model  \(header.model)", "data   \(header.data), \(results.first?.images ?? 0) images", "pre    \(header.preprocess)"] + (header.decodeLine.map { [$0] } ?? []) + [""]
      let width = max(6, results.map { $0.spec.canonical.count }.max() ?? 6)
      let cascades = results.contains { $0.exitShares != nil }
      let kept = relevance || plotRelevance
      lines.append(pad("method", width, left: true) + "  accuracy   GMACs  % base  ms/image" + (kept ? "  relevance" : "")
                   + (cascades ? "  exits per stage" : ""))
      let base = results.first { $0.spec.name == "none" }?.macsMean ?? header.baselineMACs
      for r in results {
        lines.append(pad(r.spec.canonical, width, left: true) + "  " + pad(formatFixed(100 * r.accuracy, decimals: 2) + "%", 8) + "  "
                     + pad(formatFixed(r.macsMean / 1e9, decimals: 4), 6) + "  "
                     + pad(formatFixed(100 * r.macsMean / base, decimals: 1), 6) + "  "
                     + pad(formatFixed(r.msPerImage, decimals: 3), 8)
                     + (kept ? "  " + pad(r.relevanceKept.map { formatFixed(100 * $0, decimals: 1) + "%" } ?? "-", 9) : "")
                     + (r.exitShares.map { "  " + $0.map { formatFixed(100 * $0, decimals: 1) + "%" }.joined(separator: " / ") } ?? ""))
      }
      return lines.joined(separator: "\n")
    }
  }
}

enum MACCounterBaseline {
  static func of(_ model: ViTModel) -> Double { Double(MACCounter.baseline(model.shape, grid: model.shape.grid).total) }
}

/// A small seeded generator for --sample.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
