// `eval --shard I/N` and `eval --merge FILE...`: a run split over processes or cluster array tasks, and its parts
// combined. A shard is a contiguous range of positions in the selected images (after --sample and --limit), so
// ranges say at a glance whether shards overlap or leave a gap. Every eval JSON carries each method's raw sums
// (images, correct, MAC sum, seconds, exit counts): a merge adds them up and divides once, which is why the merged
// accuracies, mean MACs and exit shares are the unsharded run's to the last bit.
import Foundation
import TokenMethods
import ViTEngine

/// Which share of the selection one process evaluates.
struct Shard: Equatable, CustomStringConvertible {
  /// 1-based.
  let index: Int
  let count: Int

  var description: String { "\(index)/\(count)" }

  /// Positions `[first, end)` of a selection of `total` images: shard i of n gets ⌊(i-1)·total/n⌋ ..< ⌊i·total/n⌋,
  /// so sizes differ by at most one and the n ranges tile the selection.
  func range(of total: Int) -> Range<Int> {
    (total * (index - 1) / count)..<(total * index / count)
  }

  /// `I/N` with 1 <= I <= N, or `auto`: Slurm's array variables, the task id taken relative to the array's first
  /// index (`--array=0-3` and `--array=1-4` both give shards 1/4 ... 4/4).
  static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
    if text == "auto" {
      guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init),
            let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) else {
        throw CLIError("--shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT must be set to integers (run it as a Slurm array task)", code: CLIError.usage)
      }
      let min = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
      let index = id - min + 1
      guard count > 0, index >= 1, index <= count else {
        throw CLIError("--shard auto: SLURM_ARRAY_TASK_ID \(id) with SLURM_ARRAY_TASK_MIN \(min) is outside an array of \(count) tasks (use a contiguous --array range)", code: CLIError.usage)
      }
      return Shard(index: index, count: count)
    }
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else {
      throw CLIError("--shard '\(text)': expected I/N with 1 <= I <= N (e.g. 2/8), or auto", code: CLIError.usage)
    }
    return Shard(index: i, count: n)
  }
}

/// What identifies a run, apart from the share of images it covers: shards and journals must agree on all of it.
struct EvalHeader {
  var version = TokenScope.version
  var model: String
  var modelSHA256: String
  var data: String
  var split: String
  var preprocess: String
  var threads: Int
  /// The whole selection, before sharding.
  var selected: Int
  var selectionSHA256: String
  var selection: String
  /// The model's MACs without any method: the "% base" column when no baseline was evaluated.
  var baselineMACs: Double
  /// Images per second of reading, decoding and preprocessing alone, and on how many images it was measured.
  var decode: (imagesPerSecond: Double, images: Int)? = nil

  /// SHA-256 of the selected dataset indices, in order (8 bytes each, little-endian).
  static func fingerprint(_ indices: [Int]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(indices.count * 8)
    for i in indices { withUnsafeBytes(of: UInt64(i).littleEndian) { bytes.append(contentsOf: $0) } }
    return SHA256.hex(bytes)
  }

  var jsonMembers: [(String, JSONValue)] {
    [("tokenscope_version", .string(version)), ("model", .string(model)), ("model_sha256", .string(modelSHA256)),
     ("data", .string(data)), ("split", .string(split)), ("preprocess", .string(preprocess)), ("threads", JSONValue(threads)),
     ("selected", JSONValue(selected)), ("selection", .string(selection)), ("selection_sha256", .string(selectionSHA256)),
     ("baseline_macs", JSONValue(baselineMACs))]
      + (decode.map { [("timing", .object([("decode_images_per_second", JSONValue($0.imagesPerSecond)), ("decode_images", JSONValue($0.images))]))] } ?? [])
  }

  /// The text header's timing line.
  var decodeLine: String? {
    decode.map { "decode \(Int($0.imagesPerSecond.rounded())) images/s on \(threads) threads (read, decode and preprocess alone, \($0.images) images)" }
  }
}

extension EvalCommand.EvalResult {
  /// The sums a merge adds up (beside the derived figures the JSON has always had).
  var rawMembers: [(String, JSONValue)] {
    [("correct", JSONValue(correct)), ("macs_sum", JSONValue(macs)), ("seconds", JSONValue(seconds)),
     ("exit_counts", exitCounts.map { .array($0.map { JSONValue($0) }) } ?? .null)]
  }
}

/// One shard's output, read back for `--merge`.
struct ShardFile {
  let path: String
  let header: EvalHeader
  /// nil: an unsharded run (it covers the whole selection).
  let shard: (index: Int, count: Int, first: Int, end: Int)?
  let results: [EvalCommand.EvalResult]
  let json: JSONValue

  var range: Range<Int> { shard.map { $0.first..<$0.end } ?? 0..<header.selected }

  static func read(_ path: String) throws -> ShardFile {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CLIError("--merge \(path): cannot read the file", code: FileManager.default.fileExists(atPath: path) ? CLIError.ioError : CLIError.noInput)
    }
    let json: JSONValue
    do { json = try JSONParser.parse(Array(data)) } catch {
      throw CLIError("--merge \(path): \(error) (expected the output of eval --format json)", code: CLIError.badData)
    }
    func field<T>(_ key: String, _ value: (JSONValue) -> T?, in object: JSONValue? = nil, _ context: String = "") throws -> T {
      guard let v = (object ?? json)[key], let t = value(v) else {
        throw CLIError("--merge \(path): \(context)field '\(key)' is missing or of the wrong type (expected the JSON of eval --format json from tokenscope \(TokenScope.version))", code: CLIError.badData)
      }
      return t
    }
    let header = EvalHeader(
      version: try field("tokenscope_version", \.stringValue), model: try field("model", \.stringValue),
      modelSHA256: try field("model_sha256", \.stringValue), data: try field("data", \.stringValue),
      split: try field("split", \.stringValue), preprocess: try field("preprocess", \.stringValue),
      threads: try field("threads", \.intValue), selected: try field("selected", \.intValue),
      selectionSHA256: try field("selection_sha256", \.stringValue), selection: try field("selection", \.stringValue),
      baselineMACs: try field("baseline_macs", \.doubleValue))
    var shard: (Int, Int, Int, Int)? = nil
    if let s = json["shard"], s != .null {
      shard = (try field("index", \.intValue, in: s, "shard: "), try field("count", \.intValue, in: s, "shard: "),
               try field("first", \.intValue, in: s, "shard: "), try field("end", \.intValue, in: s, "shard: "))
    }
    var results: [EvalCommand.EvalResult] = []
    for (n, r) in try field("results", \.arrayValue).enumerated() {
      let context = "results[\(n)]: "
      let method = try field("method", \.stringValue, in: r, context)
      let spec: MethodSpec
      do { spec = try parseMethod(method) } catch {
        throw CLIError("--merge \(path): \(context)method '\(method)' is not a method spec this tokenscope knows", code: CLIError.badData)
      }
      var exits: [Int]? = nil
      if let e = r["exit_counts"], e != .null {
        exits = try field("exit_counts", { $0.arrayValue.flatMap { a in a.compactMap(\.intValue).count == a.count ? a.compactMap(\.intValue) : nil } }, in: r, context)
      }
      results.append(EvalCommand.EvalResult(
        spec: spec, correct: try field("correct", \.intValue, in: r, context), images: try field("images", \.intValue, in: r, context),
        macs: try field("macs_sum", \.doubleValue, in: r, context), seconds: try field("seconds", \.doubleValue, in: r, context),
        exitCounts: exits))
    }
    let file = ShardFile(path: path, header: header, shard: shard, results: results, json: json)
    guard file.range.lowerBound >= 0, file.range.upperBound <= header.selected, file.range.lowerBound <= file.range.upperBound else {
      throw CLIError("--merge \(path): shard range \(file.range) lies outside the selection of \(header.selected) images", code: CLIError.badData)
    }
    return file
  }
}

enum ShardMerge {
  /// The shards' results added up, after checking that they come from one run and tile its selection exactly.
  static func merge(_ files: [ShardFile]) throws -> (header: EvalHeader, results: [EvalCommand.EvalResult], shards: [ShardFile]) {
    guard let first = files.first else { throw CLIError("--merge needs at least one file", code: CLIError.usage) }
    func refuse(_ message: String) -> CLIError { CLIError("--merge: \(message)", code: CLIError.badData) }
    let a = first.header
    for f in files.dropFirst() {
      let b = f.header
      for (what, x, y) in [("tokenscope version", a.version, b.version), ("model", a.modelSHA256, b.modelSHA256),
                           ("dataset", a.data, b.data), ("split", a.split, b.split), ("preprocessing", a.preprocess, b.preprocess),
                           ("image selection", a.selectionSHA256, b.selectionSHA256)] where x != y {
        let shown = what == "model" ? "\(a.model) (sha256 \(x.prefix(12))) and \(b.model) (sha256 \(y.prefix(12)))" : "'\(x)' and '\(y)'"
        throw refuse("\(first.path) and \(f.path) come from different runs: \(what) \(shown)")
      }
      let ma = first.results.map(\.spec.canonical), mb = f.results.map(\.spec.canonical)
      if ma != mb {
        let only = Set(ma).symmetricDifference(mb).sorted().prefix(3).joined(separator: ", ")
        throw refuse("\(first.path) and \(f.path) evaluated different methods (\(only.isEmpty ? "in another order" : "not in both: " + only))")
      }
    }
    let sorted = files.sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
    var covered = 0
    var previous: ShardFile? = nil
    for f in sorted {
      if f.range.lowerBound < covered, let previous {
        throw refuse("\(previous.path) (images \(previous.range.lowerBound)..<\(previous.range.upperBound)) and \(f.path) (\(f.range.lowerBound)..<\(f.range.upperBound)) overlap")
      }
      if f.range.lowerBound > covered {
        throw refuse("images \(covered)..<\(f.range.lowerBound) of the selection of \(a.selected) are in no file (a shard is missing before \(f.path))")
      }
      for (r, s) in zip(f.results, first.results) where r.images != f.range.count && s.spec == r.spec {
        throw refuse("\(f.path): \(r.spec.canonical) has \(r.images) images but the shard covers \(f.range.count) (an incomplete run?)")
      }
      covered = f.range.upperBound
      previous = f
    }
    if covered < a.selected {
      throw refuse("images \(covered)..<\(a.selected) of the selection of \(a.selected) are in no file (a shard is missing at the end)")
    }
    var results = first.results
    for f in files.dropFirst() {
      for (i, r) in f.results.enumerated() {
        let m = results[i]
        var exits: [Int]? = nil
        if let x = m.exitCounts, let y = r.exitCounts {
          guard x.count == y.count else { throw refuse("\(f.path): \(r.spec.canonical) has \(y.count) exit stages, \(first.path) has \(x.count)") }
          exits = zip(x, y).map { $0 + $1 }
        } else if (m.exitCounts == nil) != (r.exitCounts == nil) {
          throw refuse("\(f.path): \(r.spec.canonical) has exit counts in only one of the files")
        }
        results[i] = EvalCommand.EvalResult(spec: m.spec, correct: m.correct + r.correct, images: m.images + r.images,
                                            macs: m.macs + r.macs, seconds: m.seconds + r.seconds, exitCounts: exits)
      }
    }
    var header = a
    header.threads = files.map(\.header.threads).max() ?? a.threads
    return (header, results, sorted)
  }
}
