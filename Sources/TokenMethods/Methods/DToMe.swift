// DToMe, the Dynamic Token Merging of DyMU: Dynamic Merging and Virtual Unmerging for Efficient VLMs (Wang et al.,
// arXiv 2504.17040). ref: MikeWangWZHL/dymu src/open_clip/tome.py (bipartite_soft_matching with
// specified_threshold: inference; batch_level_bipartite_soft_matching, batch_level_merge_wavg,
// ToMEBlock.threshold_running_avg: calibration; VisionTransformer._get_rs: schedules),
// src/open_clip_train/threshold_finder.py (the calibration loop). The DToMe article in TokenMethods.docc lists where
// this differs from the official code.
//
// ToMe's bipartite matching in every block, but instead of a fixed r a block merges every A token whose best match
// is more similar than the block's threshold τ_l (capped at half the non-prefix tokens), so the token count depends on
// the image. The thresholds come from a calibration pass over a dataset (`tokenscope calibrate --method dymu`): per
// batch and block, the pooled best similarities of all images are ranked and the (r_l·B + 1)-th largest is the batch
// threshold; τ_l is their mean over batches, so that an image merges r_l tokens at block l on average.
import Synchronization
import NumberFormatting
import ViTEngine

/// DToMe's typed configuration.
public struct DToMe: MethodConfiguration, Hashable {
  /// Where the per-block thresholds come from.
  public enum Thresholds: Hashable, Sendable {
    /// CHECKPOINT.dymu.json beside the checkpoint.
    case auto
    case file(String)
    /// One per block; a value ≥ 1 turns that block off.
    case values([Float])
  }

  public var thresholds: Thresholds
  /// With `thresholds=auto`: which calibration beside the checkpoint, the default one (nil) or the one calibrated for
  /// this many merges per block on average (CHECKPOINT.dymu-rR.json). The sweep walks these files.
  public var budget: Int?
  public var proportionalAttention: Bool

  public init(thresholds: Thresholds, budget: Int? = nil, proportionalAttention: Bool) {
    self.thresholds = thresholds; self.budget = budget; self.proportionalAttention = proportionalAttention
  }

  public static let descriptor = MethodDescriptor(
    name: "dymu",
    summary: "DyMU's DToMe (VLM towers): ToMe's matching with a calibrated similarity threshold per block instead of a fixed r, so simple images lose more tokens; needs calibration data (tokenscope calibrate --method dymu)",
    level: .tokenPolicy,
    parameters: [
      MethodParameter("thresholds", .autoValueOrFile(.list(.real(-1...2), count: 1...4096)), default: "auto",
                      "auto: CHECKPOINT.dymu.json beside the checkpoint (tokenscope calibrate writes it); a thresholds file; or one value per block a/b/c/..., a value >= 1 turns its block off"),
      MethodParameter("budget", .autoOr(.integer(1...256)), default: "auto",
                      "with thresholds=auto: auto reads CHECKPOINT.dymu.json; R reads CHECKPOINT.dymu-rR.json, a calibration for R merges per block on average (tokenscope calibrate --method dymu --budget R writes it)"),
      MethodParameter("prop", .flag, default: "true", "proportional attention: add log(token size) to the attention logits (always on officially)"),
    ],
    reconNotes: [
      rotaryMergeNote,
      "designed for a VLM's vision tower; the thresholds belong to one checkpoint and one calibration set, so a model needs its own calibration (on training data) before DToMe can run",
      "a threshold >= 1 skips the block's matching (the official code would still compare, and could merge a pair whose cosine rounds above 1)",
      "calibration keeps ToMe's token order after each batch merge (the official re-sort is not stable and permutes tokens on the CPU), runs in float32 (officially bf16), and takes the images in dataset order or a seeded sample (officially shuffled)",
      "calibration ties (equal similarities across a batch) go to the earlier image and the lower position; when a batch asks for more merges than it has candidates, only real candidates merge",
      "one image at a time at inference (the official padded batch path differs slightly per image)",
      "budget=R names a calibration file per budget so that eval --sweep can walk budgets; officially each budget is a separate calibration run with its own output",
    ],
    // Mean merges per block from light to heavy; each is its own calibration file beside the checkpoint.
    sweep: SweepAxis(key: "budget", values: ["2", "4", "6", "8", "10", "12"]), step: .alongSweep
  ) { v throws(MethodSpecError) in
    let thresholds: Thresholds = switch v["thresholds"] {
    case .list(let values): .values(values.map { Float($0.doubleValue!) })
    case .file(let path): .file(path)
    default: .auto
    }
    var budget: Int? = nil
    if case .integer(let r) = v["budget"] {
      guard case .auto = thresholds else {
        throw .inconsistent(method: "dymu", key: "budget", value: "\(r)", expected: "auto unless thresholds=auto (a budget chooses which calibration file auto reads)")
      }
      budget = r
    }
    return DToMe(thresholds: thresholds, budget: budget, proportionalAttention: v.flag("prop"))
  }

  /// Explicit thresholds are used as they are; a file is read when the plan is made for a checkpoint (action(for:)).
  public func action(depth: Int) -> MethodAction {
    if case .values(let values) = thresholds {
      return .tokenPolicy(DToMePolicy(thresholds: values, proportionalAttention: proportionalAttention))
    }
    return .tokenPolicy(DToMePolicy(unresolved: thresholds, proportionalAttention: proportionalAttention))
  }

  public func action(for model: ViTModel) throws -> MethodAction {
    let path: String
    switch thresholds {
    case .values: return action(depth: model.depth)
    case .file(let given): path = given
    case .auto:
      path = DToMe.defaultThresholdsPath(forModel: model.info.path, budget: budget)
      guard access(path, R_OK) == 0 else {
        let given = budget.map { "budget=\($0)" } ?? "thresholds=auto"
        let option = budget.map { " --budget \($0)" } ?? ""
        throw MethodFileError("dymu: no thresholds file at \(path) (\(given)); write one with tokenscope calibrate --method dymu\(option) --model \(model.info.path) --data DATA", isMissing: true)
      }
    }
    let file = try DToMeThresholdsFile.load(path: path)
    guard file.thresholds.count == model.depth else {
      throw MethodFileError("\(path): 'thresholds' lists \(file.thresholds.count) values; the model has \(model.depth) blocks (thresholds of another model?)")
    }
    return .tokenPolicy(DToMePolicy(thresholds: file.thresholds, proportionalAttention: proportionalAttention, calibration: file))
  }

  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    guard case .values(let values) = thresholds, values.count != depth else { return }
    throw .inconsistent(method: "dymu", key: "thresholds", value: values.map { "\($0)" }.joined(separator: "/"),
                        expected: "\(depth) values, one per block (or auto, or a thresholds file)")
  }

  /// Where `thresholds=auto` looks: CHECKPOINT.dymu.json beside the checkpoint (".safetensors" replaced), or
  /// CHECKPOINT.dymu-rR.json for a budget of R merges per block.
  public static func defaultThresholdsPath(forModel path: String, budget: Int? = nil) -> String {
    let stem = path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path
    return stem + (budget.map { ".dymu-r\($0).json" } ?? ".dymu.json")
  }
}

public struct DToMePolicy: TokenPolicy {
  /// Per block; nil until a plan has read the thresholds file.
  public let thresholds: [Float]?
  public let proportionalAttention: Bool
  /// The calibration the thresholds came from (mean tokens per block), when they came from a file.
  public let calibration: DToMeThresholdsFile?
  let unresolved: DToMe.Thresholds?

  public init(thresholds: [Float], proportionalAttention: Bool, calibration: DToMeThresholdsFile? = nil) {
    self.thresholds = thresholds; self.proportionalAttention = proportionalAttention; self.calibration = calibration
    unresolved = nil
  }

  init(unresolved: DToMe.Thresholds, proportionalAttention: Bool) {
    thresholds = nil; self.proportionalAttention = proportionalAttention; calibration = nil; self.unresolved = unresolved
  }

  public func attentionBias(block: Int, state: TokenState) -> AttentionBias { proportionalAttention ? .logSize : .none }

  /// The block's threshold; ≥ 1 (or a block beyond the list) means the block never merges.
  func threshold(_ block: Int) -> Float {
    guard let thresholds else {
      preconditionFailure("dymu: thresholds \(unresolved.map { "\($0)" } ?? "") are read when a MethodPlan is made for a checkpoint")
    }
    return block < thresholds.count ? thresholds[block] : 1
  }

  /// Whether `block`, entered by n tokens, computes the matching: a threshold below 1 and something to merge.
  func matches(block: Int, tokensIn n: Int, prefix: Int) -> Bool { threshold(block) < 1 && (n - prefix) / 2 >= 1 }

  /// The A·Bᵀ similarity matmul (⌈N/2⌉ x ⌊N/2⌋ x d) in every block that computes it, whether or not a pair passes.
  public func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    let n = counts.tokensIn
    return matches(block: block, tokensIn: n, prefix: shape.prefix) ? ((n + 1) / 2) * (n / 2) * shape.headDim : 0
  }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount, prefix = state.prefixCount
    // For the views: what an average calibration image kept after this block, when the thresholds came from a file.
    let reference = calibration.flatMap { block < $0.meanTokens.count ? TokenCountReference(name: "calibration mean", tokensOut: $0.meanTokens[block]) : nil }
    guard matches(block: block, tokensIn: n, prefix: prefix) else {
      return PolicyOutcome(event: threshold(block) < 1 ? "nothing left to merge" : nil,
                           annotations: reference.map { TokenAnnotations(reference: $0) })
    }
    let tau = threshold(block), cap = (n - prefix) / 2
    let match = BipartiteMatch(attention: attention, tokens: n, prefix: prefix)
    let ranked = match.ranked
    // Strictly above the threshold, as the official comparison.
    let above = ranked.reduce(0) { $0 + (match.best[$1] > tau ? 1 : 0) }
    let r = min(above, cap)
    if r > 0 { match.merge(Array(ranked.prefix(r)), state: &state) }
    var event = "merged \(r) of \(ranked.count) candidates above τ = \(formatFixed(Double(tau), decimals: 4, trimmingZeros: true))"
    if above > cap { event += " (\(above) above, capped at \(cap))" }
    if let mean = calibration?.meanTokens, block < mean.count {
      let before = block == 0 ? Double(state.patchToken.count + prefix) : mean[block - 1]
      event += "; calibration average \(rounded(before - mean[block])) merged, \(rounded(mean[block])) left"
    }
    // Each A token's best similarity (A token ai is token 2ai); B tokens are only matched to, so they have none.
    var values = [Float](repeating: .nan, count: n)
    for ai in ranked { values[2 * ai] = match.best[ai] }
    let score = TokenScore(name: "best-match similarity", meaning: "A tokens above the threshold merge", values: values, threshold: tau)
    return PolicyOutcome(event: event + "; \(n - r) remain", annotations: TokenAnnotations(score: score, reference: reference))
  }
}

/// One decimal.
private func rounded(_ v: Double) -> String { "\((v * 10).rounded() / 10)" }

/// A calibration's thresholds and what they came from: the file `tokenscope calibrate --method dymu` writes and
/// `dymu:thresholds=auto` (or a path) reads.
public struct DToMeThresholdsFile: Sendable, Hashable {
  public var modelPath: String
  /// SHA-256 of the checkpoint file, hex.
  public var modelSHA256: String
  public var data: String, split: String
  public var images: Int, batchSize: Int, batches: Int
  public var rTotal: Int
  public var schedule: DToMeSchedule
  /// Per block: the schedule's r_l, the threshold (1 where r_l = 0) and the mean tokens leaving the block.
  public var r: [Int]
  public var thresholds: [Float]
  public var meanTokens: [Double]

  public init(modelPath: String, modelSHA256: String, data: String, split: String, images: Int, batchSize: Int,
              batches: Int, rTotal: Int, schedule: DToMeSchedule, r: [Int], thresholds: [Float], meanTokens: [Double]) {
    self.modelPath = modelPath; self.modelSHA256 = modelSHA256; self.data = data; self.split = split
    self.images = images; self.batchSize = batchSize; self.batches = batches; self.rTotal = rTotal
    self.schedule = schedule; self.r = r; self.thresholds = thresholds; self.meanTokens = meanTokens
  }

  public static let epsilon: Float = 1e-4

  public func json() -> JSONValue {
    .object([
      ("schema_version", 1), ("method", "dymu"),
      ("model", .object([("path", .string(modelPath)), ("sha256", .string(modelSHA256))])),
      ("data", .string(data)), ("split", .string(split)), ("images", JSONValue(images)),
      ("batch_size", JSONValue(batchSize)), ("batches", JSONValue(batches)),
      ("r_total", JSONValue(rTotal)), ("schedule", .string(schedule.rawValue)),
      ("r", JSONValue(r)), ("thresholds", JSONValue(thresholds)),
      ("mean_tokens", .array(meanTokens.map { .number($0) })),
      ("eps", JSONValue(DToMeThresholdsFile.epsilon)), ("order", "stable"),
    ])
  }

  /// Reads a thresholds file (at most 16 MiB).
  public static func load(path: String) throws(MethodFileError) -> DToMeThresholdsFile {
    guard access(path, R_OK) == 0 else { throw MethodFileError("\(path): no such thresholds file", isMissing: true) }
    guard let bytes = readSmallFile(path, limit: 16 << 20) else {
      throw MethodFileError("\(path): cannot read the thresholds file (unreadable or larger than 16 MiB)")
    }
    let value: JSONValue
    do { value = try JSONParser.parse(bytes) } catch { throw MethodFileError("\(path): \(error)") }
    guard value["method"]?.stringValue == "dymu", value["schema_version"]?.intValue == 1 else {
      throw MethodFileError("\(path): expected \"method\": \"dymu\" and \"schema_version\": 1 (write one with tokenscope calibrate --method dymu)")
    }
    func numbers(_ field: String) throws(MethodFileError) -> [Double] {
      guard let a = value[field]?.arrayValue else { throw MethodFileError("\(path): field '\(field)': expected an array of numbers") }
      var out: [Double] = []
      for x in a {
        guard let d = x.doubleValue, d.isFinite else { throw MethodFileError("\(path): field '\(field)': expected finite numbers") }
        out.append(d)
      }
      return out
    }
    let thresholds = try numbers("thresholds").map(Float.init)
    let meanTokens = try numbers("mean_tokens")
    let r = try numbers("r").map { Int($0) }
    guard meanTokens.count == thresholds.count, r.count == thresholds.count else {
      throw MethodFileError("\(path): 'thresholds', 'r' and 'mean_tokens' must list one value per block each")
    }
    return DToMeThresholdsFile(
      modelPath: value["model"]?["path"]?.stringValue ?? "", modelSHA256: value["model"]?["sha256"]?.stringValue ?? "",
      data: value["data"]?.stringValue ?? "", split: value["split"]?.stringValue ?? "",
      images: value["images"]?.intValue ?? 0, batchSize: value["batch_size"]?.intValue ?? 0,
      batches: value["batches"]?.intValue ?? 0, rTotal: value["r_total"]?.intValue ?? 0,
      schedule: value["schedule"]?.stringValue.flatMap(DToMeSchedule.init(rawValue:)) ?? .constant,
      r: r, thresholds: thresholds, meanTokens: meanTokens)
  }
}

/// How `r_total` is spread over the blocks (VisionTransformer._get_rs).
public enum DToMeSchedule: String, Sendable, Hashable, CaseIterable {
  case constant
  case linear
  case reverseLinear = "reverse-linear"

  /// r_l per block, summing to `rTotal`; nil when the official loop would not finish (`linear` for some pairs: it
  /// appends ⌊r0 − k·r0/L⌋ while the sum stays below r_total, and once the terms stop growing the sum never gets
  /// there) or would end with more terms than blocks (its assertion).
  public func perBlock(rTotal: Int, depth: Int) -> [Int]? {
    guard rTotal > 0 else { return [Int](repeating: 0, count: depth) }
    switch self {
    case .constant:
      // ⌊r_total / L⌋ each, the remainder one by one on the first blocks.
      return (0..<depth).map { rTotal / depth + ($0 < rTotal % depth ? 1 : 0) }
    case .linear, .reverseLinear:
      let r0 = (2 * rTotal) / depth
      let step = Double(r0) / Double(depth)
      var s: [Int] = []
      var sum = 0
      while true {
        let term = Int(Double(r0) - Double(s.count) * step)  // Python's int(): towards zero
        guard sum + term < rTotal else { break }
        guard term > 0 else { return nil }  // the sum can no longer reach r_total: the official loop never ends
        s.append(term); sum += term
        if s.count > depth { return nil }
      }
      if sum < rTotal { s.append(rTotal - sum) }
      guard s.count <= depth else { return nil }
      s += [Int](repeating: 0, count: depth - s.count)
      return self == .linear ? s : s.reversed()
    }
  }
}

/// DToMe's threshold calibration (threshold_finder.py with the model in training mode): images in batches of B; in
/// every block with r_l > 0, each image's best ToMe similarities are pooled with the rest of the batch, the r·B
/// largest merge (each into its own image's partner, r = min(r_l, ⌊(t − F)/2⌋), t the batch's longest sequence), and
/// the batch threshold is the value at descending rank r·B, clamped at 0. τ_l is the running mean of the batch
/// thresholds (the first batch sets it). The merged batch divides by Σ σ + 1e-4 (the official batch path's epsilon),
/// in every image of the batch, and the next block calibrates on it.
public enum DToMeCalibration {
  public struct Result: Sendable {
    public let thresholds: [Float]
    /// Mean tokens leaving each block over the calibration images.
    public let meanTokens: [Double]
    public let images: Int, batches: Int
  }

  /// Calibrates `model` for per-block budgets `r` on `count` images, `input(i)` giving image i (called from worker
  /// threads); `threads` images compute at once. `progress(imagesDone)` is called after each batch.
  public static func run(model: ViTModel, r: [Int], count: Int, batchSize: Int, threads: Int,
                         input: @escaping @Sendable (Int) throws -> ModelInput,
                         progress: ((Int) -> Void)? = nil) throws -> Result {
    precondition(r.count == model.depth && batchSize >= 1 && count >= 1 && threads >= 1, "DToMeCalibration.run: bad arguments")
    var thresholds = [Float](repeating: 1, count: model.depth)
    var counts = [Float](repeating: 1, count: model.depth)  // the official threshold_count
    var tokens = [Double](repeating: 0, count: model.depth)
    var batches = 0
    let slots = ComputeSlots(threads)
    for start in stride(from: 0, to: count, by: batchSize) {
      let size = min(batchSize, count - start)
      let inputs = try loadBatch(start: start, size: size, threads: threads, input: input)
      let batch = CalibrationBatch(size: size, r: r, prefix: model.prefixCount, slots: slots)
      DispatchQueueless.concurrentPerform(iterations: size) { i in
        slots.acquire()
        let embedded = ForwardPass(model: model, input: inputs[i]).embedded
        _ = ForwardPass.resume(model: model, state: embedded, fromBlock: 0, policy: CalibrationPolicy(batch: batch, image: i))
        slots.release()
      }
      // threshold_running_avg: a buffer still at 1.0 takes the batch value, otherwise the mean so far is updated.
      for (l, value) in batch.thresholds.enumerated() {
        guard let value else { continue }
        if thresholds[l] == 1 { thresholds[l] = value } else {
          thresholds[l] = (thresholds[l] * counts[l] + value) / (counts[l] + 1)
          counts[l] += 1
        }
      }
      for l in 0..<model.depth { tokens[l] += Double(batch.tokensOut[l]) }
      batches += 1
      progress?(start + size)
    }
    return Result(thresholds: thresholds, meanTokens: tokens.map { $0 / Double(count) }, images: count, batches: batches)
  }

  /// The batch's inputs, loaded on up to `threads` threads before any pass starts (a pass waits for the whole batch
  /// in every block, so an image that failed to load would leave the others waiting).
  static func loadBatch(start: Int, size: Int, threads: Int, input: @escaping @Sendable (Int) throws -> ModelInput) throws -> [ModelInput] {
    let loaded = Mutex<[Int: Swift.Result<ModelInput, any Error>]>([:])
    let workers = min(threads, size)
    DispatchQueueless.concurrentPerform(iterations: workers) { w in
      for i in stride(from: w, to: size, by: workers) {
        let result = Swift.Result { try input(start + i) }
        loaded.withLock { $0[i] = result }
      }
    }
    let all = loaded.withLock { $0 }
    return try (0..<size).map { try all[$0]!.get() }
  }
}

/// One image of a calibration batch: ToMe's matching in every block with r_l > 0, and the merge the batch decides.
struct CalibrationPolicy: TokenPolicy {
  let batch: CalibrationBatch
  let image: Int

  /// Proportional attention is always on in the official code.
  func attentionBias(block: Int, state: TokenState) -> AttentionBias { .logSize }

  func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount
    guard batch.r[block] > 0 else {
      batch.record(block: block, tokensOut: n)
      return PolicyOutcome()
    }
    let match = BipartiteMatch(attention: attention, tokens: n, prefix: state.prefixCount)
    if let merges = batch.exchange(image: image, block: block, tokens: n, best: match.best) {
      match.merge(Array(match.ranked.prefix(merges)), state: &state, epsilon: DToMeThresholdsFile.epsilon)
    }
    batch.record(block: block, tokensOut: state.tokenCount)
    return PolicyOutcome()
  }
}

/// The images of one calibration batch, meeting in every block with r_l > 0 (each image's pass runs on its own
/// thread): the last to arrive ranks the pooled similarities and tells each image how many of its tokens merge.
final class CalibrationBatch: @unchecked Sendable {
  let size: Int
  let r: [Int]
  let prefix: Int
  let slots: ComputeSlots
  /// Per block: the batch threshold, or nil when the block did not merge.
  private(set) var thresholds: [Float?]
  /// Per block: tokens leaving it, summed over the batch's images.
  private(set) var tokensOut: [Int]

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var arrived = 0, generation = 0
  private var tokens: [Int], best: [[Float]]
  /// Merges per image in the current block; nil when the batch does not merge there.
  private var decision: [Int]?

  init(size: Int, r: [Int], prefix: Int, slots: ComputeSlots) {
    self.size = size; self.r = r; self.prefix = prefix; self.slots = slots
    thresholds = [Float?](repeating: nil, count: r.count)
    tokensOut = [Int](repeating: 0, count: r.count)
    tokens = [Int](repeating: 0, count: size)
    best = [[Float]](repeating: [], count: size)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
    cond.deallocate(); mutex.deallocate()
  }

  func record(block: Int, tokensOut n: Int) {
    pthread_mutex_lock(mutex)
    tokensOut[block] += n
    pthread_mutex_unlock(mutex)
  }

  /// Image `image` entered `block` with `tokens` tokens and these best similarities (per A token); returns how many of
  /// its A tokens merge (its highest), or nil when the batch does not merge in this block. Waits for the whole batch,
  /// giving its compute slot to another image meanwhile.
  func exchange(image: Int, block: Int, tokens n: Int, best values: [Float]) -> Int? {
    pthread_mutex_lock(mutex)
    tokens[image] = n
    best[image] = values
    arrived += 1
    if arrived == size {
      decide(block: block)
      arrived = 0
      generation += 1
      pthread_cond_broadcast(cond)
      let mine = decision.map { $0[image] }
      pthread_mutex_unlock(mutex)
      return mine
    }
    let waitingFor = generation
    slots.release()
    while generation == waitingFor { pthread_cond_wait(cond, mutex) }
    let mine = decision.map { $0[image] }
    pthread_mutex_unlock(mutex)
    slots.acquire()
    return mine
  }

  /// batch_level_bipartite_soft_matching on the pooled values: padded A rows (beyond an image's length), prefix rows
  /// and rows without a partner count as −∞, as the official masks make them.
  private func decide(block: Int) {
    let longest = tokens.max()!
    let rows = (longest + 1) / 2
    let merges = min(r[block], (longest - prefix) / 2)
    guard merges > 0 else { decision = nil; return }
    // pooled[i * rows + a]: image i's A row a. Stable descending order: ties go to the earlier image, then lower row.
    var pooled = [Float](repeating: -.infinity, count: size * rows)
    for i in 0..<size { for (a, v) in best[i].enumerated() { pooled[i * rows + a] = v } }
    let order = pooled.indices.sorted { pooled[$0] > pooled[$1] || (pooled[$0] == pooled[$1] && $0 < $1) }
    let rb = merges * size
    var perImage = [Int](repeating: 0, count: size)
    for k in order.prefix(rb) where pooled[k] > -.infinity { perImage[k / rows] += 1 }
    let cut = pooled[order[min(rb, order.count - 1)]]
    thresholds[block] = cut > 0 ? cut : 0  // clamped at 0, −∞ included
    decision = perImage
  }
}

/// A counting semaphore: at most `count` calibration passes compute at once (the others wait for their batch).
final class ComputeSlots: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var free: Int

  init(_ count: Int) {
    free = count
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
    cond.deallocate(); mutex.deallocate()
  }

  func acquire() {
    pthread_mutex_lock(mutex)
    while free == 0 { pthread_cond_wait(cond, mutex) }
    free -= 1
    pthread_mutex_unlock(mutex)
  }

  func release() {
    pthread_mutex_lock(mutex)
    free += 1
    pthread_cond_signal(cond)
    pthread_mutex_unlock(mutex)
  }
}

#if canImport(Glibc)
import Glibc
#endif
