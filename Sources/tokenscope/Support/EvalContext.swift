// Evaluation over a dataset, shared by `eval` and its DVT calibration: images run in parallel on `threads` workers,
// each through a MethodPlan. Cascades are recorded once with every stage run (confidence, correctness, MACs and time
// per stage and image), so any threshold setting, including the calibrated ones, is replayed without rerunning.
import Dispatch
import Foundation
import ImageInput
import ImageIO
import TokenMethods
import ViTEngine

struct EvalContext {
  let model: ViTModel
  let dataset: Dataset
  let labelMap: [Int]?
  let pipeline: Preprocessing
  let threads: Int
  /// `--journal`: finished images are recorded there and read back on a rerun.
  var journal: EvalJournal? = nil
  /// `--maps`: every image's per-block patch states, per method.
  var mapSink: MapSink? = nil

  /// Runs `body` on every image of `indices` on `threads` workers; results in `indices` order. `progress`: a bar
  /// shared by several calls (journal batches), which the caller finishes.
  func forEachImage<T: Sendable>(_ indices: [Int], label: String, progress shared: ProgressBar? = nil,
                                 _ body: @escaping @Sendable (ModelImage, Int) throws -> T) throws -> (results: [T], seconds: Double) {
    try forEachImage(indices, label: label, progress: shared) { image, truth, _, _ in try body(image, truth) }
  }

  /// As above; `body` also gets the image's position in `indices` and how long it took to read, decode and
  /// preprocess, in ns.
  ///
  /// Images, not kernels, run in parallel: each worker runs whole forward passes, so the engine's own pool is sized
  /// to the threads left per worker (1 once there are as many images as threads). A pool of `threads` beside
  /// `threads` workers ran threads + 1 busy threads on `threads` cores, and on a small model most of a kernel's
  /// time went to handing its tiny jobs over.
  func forEachImage<T: Sendable>(_ indices: [Int], label: String, progress shared: ProgressBar? = nil,
                                 _ body: @escaping @Sendable (ModelImage, Int, Int, UInt64) throws -> T) throws -> (results: [T], seconds: Double) {
    let progress = shared ?? ProgressBar(total: indices.count, label: label)
    let collected = Collected<T>(count: indices.count)
    let start = DispatchTime.now().uptimeNanoseconds
    let workers = min(threads, max(indices.count, 1))
    let kernelThreads = max(1, threads / workers)
    if ThreadPool.shared.threadCount != kernelThreads { ThreadPool.setThreadCount(kernelThreads) }
    let (dataset, pipeline, patch) = (dataset, pipeline, model.shape.patchSize)
    let labelMap = labelMap
    // Plain threads, not concurrentPerform: on a busy machine Dispatch ran most images on the calling thread (a sweep
    // under a parallel build used 1.1 of its 2 threads).
    runOnThreads(workers) { worker in
      var i = worker
      while i < indices.count {
        let index = indices[i]
        do {
          let t0 = DispatchTime.now().uptimeNanoseconds
          let image = try ModelImage(image: try dataset.image(index), name: "\(dataset.name) #\(index)", pipeline: pipeline, patchSize: patch)
          let truth = labelMap.map { $0[dataset.labels[index]] } ?? dataset.labels[index]
          collected.set(i, try body(image, truth, i, DispatchTime.now().uptimeNanoseconds - t0))
        } catch {
          collected.fail("\(error)")
        }
        progress.advance()
        i += workers
      }
    }
    if shared == nil { progress.finish() }
    if let failure = collected.failure { throw CLIError(failure, code: CLIError.badData) }
    return (collected.values.map { $0! }, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }

  /// Accuracy, mean MACs and time per image of single-pass plans (no cascades), in `plans` order.
  ///
  /// The images come first and the plans second: each image is read, decoded and preprocessed once for every plan,
  /// and the baseline's leading blocks run once per image for every plan whose policy runs them as the baseline
  /// (`TokenPolicy.leadingBaselineBlocks`: EViT, MSTM, IdleViT and ATC start at block 3, VisionZip at its layer):
  /// such a plan continues from the baseline's records of those blocks (`ForwardPass(continuing:)`), which are bit
  /// for bit what it would have computed itself, so accuracy, MACs and maps are unchanged. Each plan is charged what
  /// it would have cost alone: per image, the decoding and preprocessing, the shared blocks' time and its own blocks'
  /// time, summed over the images and divided by the workers that ran them side by side.
  func evaluate(_ plans: [MethodPlan], indices: [Int]) throws -> [EvalCommand.EvalResult] {
    let maps = mapSink != nil
    let model = self.model, depth = model.depth
    // Blocks each plan takes from the baseline pass (0: it runs on its own; UP-ViT runs a model of its own).
    let shared = plans.map { plan in plan.pruning == nil && plan.cascade == nil ? min(plan.policy.leadingBaselineBlocks, depth) : 0 }
    var done: [[Int: ImageOutcome]] = Array(repeating: [:], count: plans.count)
    var seconds = [Double](repeating: 0, count: plans.count)
    if let journal {
      for (p, plan) in plans.enumerated() {
        (done[p], seconds[p]) = try journal.load(ImageOutcome.self, run: plan.spec.canonical, maps: maps)
        journal.dropImagesWithoutMaps(&done[p], indices: indices, run: plan.spec.canonical, maps: maps)
      }
    }
    let progress = ProgressBar(total: indices.count, label: plans.count == 1 ? plans[0].spec.canonical : "\(plans.count) methods")
    progress.advance(by: indices.filter { i in done.allSatisfy { $0[i] != nil } }.count, resumed: true)
    let batchSize = journal?.batchSize ?? max(indices.count, 1)
    var start = 0
    while start < indices.count {
      let batch = indices[start..<min(start + batchSize, indices.count)].filter { i in done.contains { $0[i] == nil } }
      start += batchSize
      if batch.isEmpty { continue }
      // Per image, per plan: the outcome and its time in ns, or nil when the journal already holds it.
      let todo = batch.map { i in done.map { $0[i] == nil } }
      let (values, _) = try forEachImage(batch, label: "", progress: progress) { image, truth, position, decodeNanos -> [TimedOutcome?] in
        let wanted = todo[position]
        // The baseline, run as far as the plans that need it share it; blockEnd[b]: ns from its start to the end of
        // its first b blocks (b = 0: the embedding).
        let sharedDepth = zip(shared, wanted).map { $1 ? $0 : 0 }.max() ?? 0
        var base: ForwardPass? = nil
        var blockEnd: [UInt64] = []
        if sharedDepth > 0 {
          let t0 = DispatchTime.now().uptimeNanoseconds
          let pass = ForwardPass(model: model, input: image.native)
          pass.recordsAttention = false
          blockEnd.append(DispatchTime.now().uptimeNanoseconds - t0)
          for _ in 0..<sharedDepth {
            pass.step()
            blockEnd.append(DispatchTime.now().uptimeNanoseconds - t0)
          }
          base = pass
        }
        return try plans.indices.map { p -> TimedOutcome? in
          guard wanted[p] else { return nil }
          let t0 = DispatchTime.now().uptimeNanoseconds
          let pass: ForwardPass, prediction: Prediction, macs: Int, sharedNanos: UInt64
          if shared[p] > 0, let base {
            pass = ForwardPass(continuing: base, blocks: shared[p], policy: plans[p].policy)
            pass.recordsAttention = false
            prediction = pass.output()
            macs = pass.totalMACs
            sharedNanos = blockEnd[shared[p]]
          } else {
            let outcome = try image.run(plans[p], recordsAttention: false)
            (pass, prediction, macs, sharedNanos) = (outcome.pass, outcome.prediction, outcome.totalMACs, 0)
          }
          let own = DispatchTime.now().uptimeNanoseconds - t0
          return TimedOutcome(outcome: ImageOutcome(correct: prediction.argmax == truth, macs: macs,
                                                    map: maps ? MapSample(pass: pass, truth: truth) : nil),
                              nanoseconds: decodeNanos + sharedNanos + own)
        }
      }
      let workers = Double(min(threads, batch.count))
      for p in plans.indices {
        var images: [Int] = [], outcomes: [ImageOutcome] = [], nanoseconds: UInt64 = 0
        for (b, i) in batch.enumerated() {
          guard let value = values[b][p] else { continue }
          images.append(i); outcomes.append(value.outcome); nanoseconds += value.nanoseconds
          done[p][i] = value.outcome
        }
        if images.isEmpty { continue }
        let s = Double(nanoseconds) / 1e9 / workers
        try journal?.record(run: plans[p].spec.canonical, images: images, values: outcomes, seconds: s)
        seconds[p] += s
      }
    }
    progress.finish()
    let grid = GridSize(rows: pipeline.cropHeight / model.shape.patchSize, cols: pipeline.cropWidth / model.shape.patchSize)
    return try plans.enumerated().map { p, plan in
      let outcomes = try indices.map { i in
        guard let v = done[p][i] else {
          throw CLIError("--journal \(journal?.path ?? ""): image \(i) of \(plan.spec.canonical) is missing after the run", code: CLIError.badData)
        }
        return v
      }
      if let mapSink {
        // One state per block and patch: a journal's rows are read back from a file, so their length is checked here.
        let expected = depth * grid.count
        if let bad = outcomes.indices.first(where: { outcomes[$0].map?.states.count != expected }) {
          throw CLIError("--journal \(journal?.path ?? "-"): the maps of image \(indices[bad]) of \(plan.spec.canonical) hold \(outcomes[bad].map?.states.count ?? 0) states, expected \(expected) (\(depth) blocks x \(grid.count) patches)", code: CLIError.badData)
        }
        mapSink.add(plan.spec.canonical, grid: grid, outcomes.compactMap(\.map))
      }
      return EvalCommand.EvalResult(spec: plan.spec, correct: outcomes.filter(\.correct).count, images: outcomes.count,
                                    macs: Double(outcomes.reduce(0) { $0 + $1.macs }), seconds: seconds[p])
    }
  }

  /// Every stage of a cascade on every image.
  func cascadeRecords(_ plan: MethodPlan, indices: [Int], label: String? = nil) throws -> CascadeRecords {
    let grids = plan.cascade.map { $0.grids.map(String.init).joined(separator: "/") } ?? plan.spec.canonical
    let (stages, seconds) = try journaledImages(indices, run: "stages:\(grids)", label: label ?? "\(plan.spec.name) stages") { image, truth -> [StageRecord] in
      var records: [StageRecord] = []
      for grid in plan.grids(native: image.nativeGrid) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let pass = ForwardPass(model: plan.model, input: try image.input(for: grid), policy: plan.policy)
        pass.recordsAttention = false
        let prediction = pass.output()
        let t1 = DispatchTime.now().uptimeNanoseconds
        records.append(StageRecord(confidence: prediction.top(1).first?.probability ?? 0, correct: prediction.argmax == truth,
                                   macs: pass.totalMACs, seconds: Double(t1 - t0) / 1e9))
      }
      return records
    }
    return CascadeRecords(stages: stages, workers: min(threads, max(indices.count, 1)), wallSeconds: seconds)
  }
}

struct ImageOutcome: Sendable { let correct: Bool; let macs: Int; var map: MapSample? = nil }

/// One plan's outcome on one image and what it cost, in ns (EvalContext.evaluate).
struct TimedOutcome: Sendable { let outcome: ImageOutcome; let nanoseconds: UInt64 }

struct StageRecord: Sendable {
  let confidence: Float
  let correct: Bool
  let macs: Int
  let seconds: Double
}

/// A cascade's stages on a set of images, replayed for any thresholds.
struct CascadeRecords {
  /// [image][stage]
  let stages: [[StageRecord]]
  let workers: Int
  let wallSeconds: Double

  var confidences: [[Float]] { stages.map { $0.map(\.confidence) } }

  /// Accuracy, mean MACs (all stages run up to the exit) and exit shares under `cascade`'s thresholds. Time per image
  /// is the measured stage time up to each image's exit, summed and spread over the workers as they ran.
  func result(spec: MethodSpec, cascade: Cascade) -> EvalCommand.EvalResult {
    var correct = 0, macs = 0.0, busy = 0.0
    var exits = [Int](repeating: 0, count: cascade.grids.count)
    for image in stages {
      let exit = cascade.exitStage(confidences: image.map(\.confidence))
      exits[exit] += 1
      if image[exit].correct { correct += 1 }
      for s in 0...exit { macs += Double(image[s].macs); busy += image[s].seconds }
    }
    return EvalCommand.EvalResult(spec: spec, correct: correct, images: stages.count, macs: macs,
                                  seconds: busy / Double(workers), exitCounts: exits)
  }

  /// DVT's threshold calibration (`dynamic_find_threshold` in DVT's inference.py; the DVT article in TokenMethods.docc
  /// lists the differences): for q = 0.05, 0.10 ... 2.95 the target exit shares are π_k ∝ q^k (k = 1...S, normalised);
  /// for each stage but the last, among the images not yet exited, sorted by confidence, the threshold is the
  /// confidence of the ⌊n π_k⌋-th (none: the stage never exits, threshold 2). Returns the distinct threshold lists, in
  /// q order.
  static func calibratedThresholds(_ confidences: [[Float]], stages: Int) -> [[Float]] {
    let n = confidences.count
    var out: [[Float]] = []
    for step in 1...59 {
      let q = Double(step) / 20
      var shares = (1...stages).map { pow(q, Double($0)) }
      let total = shares.reduce(0, +)
      shares = shares.map { $0 / total }
      var exited = [Bool](repeating: false, count: n)
      var thresholds: [Float] = []
      for k in 0..<(stages - 1) {
        let wanted = Int((Double(n) * shares[k]).rounded(.down))
        let order = (0..<n).sorted { confidences[$0][k] > confidences[$1][k] || (confidences[$0][k] == confidences[$1][k] && $0 < $1) }
        var threshold: Float = 2
        var count = 0
        for i in order where !exited[i] {
          count += 1
          if count == wanted { threshold = confidences[i][k]; break }
        }
        thresholds.append(threshold)
        for i in 0..<n where confidences[i][k] >= threshold { exited[i] = true }
      }
      if !out.contains(thresholds) { out.append(thresholds) }
    }
    return out
  }
}

/// Per-index results written from worker threads.
final class Collected<T>: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var values: [T?]
  private(set) var failure: String?
  init(count: Int) { values = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ value: T) { lock.withLock { values[i] = value } }
  func fail(_ message: String) { lock.withLock { if failure == nil { failure = message } } }
}

extension Prediction {
  /// The top class, or -1 for headless models.
  var argmax: Int {
    guard let logits else { return -1 }
    return logits.indices.max { logits[$0] < logits[$1] } ?? -1
  }
}

/// Runs `body(0..<count)` at once, `body(0)` on the calling thread and the others on threads of their own, and returns
/// when all have finished.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let group = DispatchGroup()
  for index in 1..<max(count, 1) {
    group.enter()
    let thread = Thread {
      body(index)
      group.leave()
    }
    thread.stackSize = 8 << 20  // a forward pass's stack, as on the main thread
    thread.start()
  }
  body(0)
  group.wait()
}
