// `eval`'s options for datasets too big for one uninterrupted run: --shard, --merge and --journal, and the merge
// itself (no model or dataset is opened: the shard files hold everything the output needs).
import ArgumentParser
import Foundation
import ImageIO
import TokenMethods
import ViTEngine

struct ScaleOptions: ParsableArguments {
  @Option(help: "Evaluate only share I of N (1-based) of the selected images, after --limit/--sample; 'auto' reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN.")
  var shard: String?

  @Option(parsing: .upToNextOption, help: "Combine the JSON outputs of sharded runs (eval --shard I/N --format json) into the unsharded result.")
  var merge: [String] = []

  @Option(help: "Record every finished image in this SQLite file; rerunning the same command resumes from it.")
  var journal: String?

  @Option(help: "Images per journal transaction.")
  var journalBatch: Int = 256

  @Option(help: "Write dataset-level maps here: each method's mean patch state per block (PNG, SVG, maps.json), per-class kept maps, and the agreement of every pair of methods (IoU of kept patches, adjusted Rand index of merge partitions). With --merge: the shards' maps combined. With --journal: each image's maps are journaled too, so a resumed run ends with the same maps. The explorer shows maps.json on its plots page (explore --maps FILE).")
  var maps: String?

  @Option(help: "A flat folder's labels: ImageNet's LOC_val_solution.csv, or file,label lines (label: a class name or a model class index); --data is then the folder of images.")
  var labels: String?

  @Option(help: "Class names in model order, one per line (first word counts), for class folders or label names that are not the model's labels or ImageNet synsets.")
  var classMap: String?

  func validate(dataGiven: Bool) throws {
    if !merge.isEmpty {
      if dataGiven { throw ValidationError("--merge combines finished shards; it takes no --data") }
      if shard != nil || journal != nil || labels != nil || classMap != nil { throw ValidationError("--merge takes no --shard, --journal, --labels or --class-map") }
    }
    if let shard, shard != "auto" {
      do { _ = try Shard.parse(shard, environment: [:]) } catch let e as CLIError { throw ValidationError(e.message) }
    }
    guard journalBatch > 0 else { throw ValidationError("--journal-batch must be positive") }
  }
}

extension EvalCommand {
  /// `--merge FILE...`: the shards' sums, checked and added, rendered as the unsharded run would be.
  func runMerge() throws {
    let files = try scale.merge.map(ShardFile.read)
    let merged = try ShardMerge.merge(files)
    let inputs: [(String, JSONValue)] = [("merged", .array(merged.shards.map { f in
      .object([("file", .string(f.path)), ("first", JSONValue(f.range.lowerBound)), ("end", JSONValue(f.range.upperBound))])
    }))]
    var extra = inputs
    let withMaps = try files.compactMap { f in try f.json["maps"].flatMap { $0 == .null ? nil : try DatasetMaps(json: $0, path: f.path) } }
    if !withMaps.isEmpty || scale.maps != nil {
      guard withMaps.count == files.count else { throw CLIError("--merge: \(files.count - withMaps.count) of the \(files.count) shards have no maps (run every shard with --maps)", code: CLIError.badData) }
      let maps = try DatasetMaps.mergedShards(withMaps)
      if let dir = scale.maps { try maps.write(to: dir, title: merged.header.data) }
      extra.append(("maps", maps.json))
    }
    emit(render(merged.results, header: merged.header, extra: extra))
    if let plot { try writePlot(merged.results, to: plot, header: merged.header) }
  }

  /// The checkpoint's SHA-256: shards and journals from one run must have used the same weights, wherever the file
  /// lay on each node.
  func modelFingerprint(_ model: ViTModel) throws -> String {
    guard let digest = SHA256.hex(file: model.info.path) else {
      throw CLIError("\(model.info.path): cannot read the checkpoint to fingerprint it", code: CLIError.ioError)
    }
    return digest
  }
}

extension ScaleOptions {
  /// The journal, checked against everything that decides the run's numbers (threads and output format do not).
  func openJournal(header: EvalHeader, shard: Shard?, specs: [MethodSpec], command: EvalCommand) throws -> EvalJournal? {
    guard let journal else { return nil }
    let identity: [(String, String)] = [
      ("tokenscope_version", header.version), ("model_sha256", header.modelSHA256), ("heads", command.modelOptions.heads ?? "checkpoint"),
      ("data", header.data), ("split", header.split), ("preprocess", header.preprocess),
      ("selection_sha256", header.selectionSHA256), ("shard", shard?.description ?? "all"),
      ("methods", specs.map(\.canonical).joined(separator: "\n")),
      ("calibrate", command.calibrate ? "\(command.calibSplit) \(command.calibLimit) seed \(command.selection.seed)" : "no"),
    ]
    return try EvalJournal(path: journal, identity: identity, batchSize: journalBatch)
  }
}

extension ScaleOptions {
  /// `--data` as a dataset: IDX files or an ImageFolder tree, or with `--labels` a flat folder of images.
  func openDataset(_ path: String, split: String) throws -> Dataset {
    do {
      if let labels { return try Dataset.openLabelled(root: path, labelsFile: labels) }
      return try Dataset.open(path: path, split: split)
    } catch {
      throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData)
    }
  }
}

extension EvalContext {
  /// Images per second of reading, decoding and preprocessing alone (no model) on up to `sample` of `indices`, on
  /// the same threads as the evaluation: whether the input side could keep up with the model.
  func decodeRate(_ indices: [Int], sample: Int = 256) throws -> (imagesPerSecond: Double, images: Int) {
    let chosen = Array(indices.prefix(sample))
    guard !chosen.isEmpty else { return (0, 0) }
    let (_, seconds) = try forEachImage(chosen, label: "decoding alone") { image, _ in image.native.height }
    return (seconds > 0 ? Double(chosen.count) / seconds : 0, chosen.count)
  }
}

extension ScaleOptions {
  /// The maps of every single-pass method evaluated (cascades change their grid per image and are listed as skipped).
  func writeMaps(context: EvalContext, specs: [MethodSpec], header: EvalHeader) throws -> DatasetMaps? {
    guard let dir = maps, let sink = context.mapSink else { return nil }
    let native = GridSize(rows: context.pipeline.cropHeight / context.model.shape.patchSize, cols: context.pipeline.cropWidth / context.model.shape.patchSize)
    let maps = DatasetMaps(sink: sink, native: native, skipped: specs.filter { (try? makePlan($0, model: context.model))?.cascade != nil }.map(\.canonical))
    try maps.write(to: dir, title: header.data)
    return maps
  }
}
