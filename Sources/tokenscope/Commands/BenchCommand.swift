// `tokenscope bench`: wall-clock timing of whole forward passes (embedding, every block, head) on a synthetic input,
// with the engine's thread count pinned, for comparing against other runtimes (Tests/Benchmarks/compare.py).
import ArgumentParser
import TokenMethods
import ViTEngine

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time forward passes of a model (synthetic input) and print median/min/max, MACs and GFLOP/s.",
    discussion: """
      Each run builds a forward pass on the same random normalised input (the model's input size), steps every block \
      and applies the head, exactly as report does. The first --warmup runs are not counted. --profile adds the time \
      spent in each op (summed over the timed runs, divided by the number of runs).
      """)

  @OptionGroup var modelOptions: ModelOptions

  @Option(help: methodHelp)
  var method: String = "none"

  @Option(help: "Engine threads (default: TOKENSCOPE_THREADS, else the number of online CPUs).")
  var threads: Int?

  @Option(help: "Timed runs.")
  var runs: Int = 20

  @Option(help: "Untimed runs before the timed ones.")
  var warmup: Int = 3

  @Flag(help: "Add a per-op time breakdown.")
  var profile = false

  @Option(help: "Output format.")
  var format: OutputFormat = .text

  func validate() throws {
    if runs < 1 || runs > 100_000 { throw ValidationError("--runs must be in 1...100000") }
    if warmup < 0 || warmup > 100_000 { throw ValidationError("--warmup must be in 0...100000") }
    if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256") }
  }

  func run() throws {
    try reportingErrors {
      let spec = try parseMethod(method)
      let plan = try makePlan(spec, model: try modelOptions.load())
      guard plan.cascade == nil else {
        throw CLIError("bench --method \(spec.canonical): a cascade's time depends on where each image exits; time its stages with --input-size, or use eval for the mean", code: CLIError.usage)
      }
      // UP-ViT times the pruned model.
      let model = plan.model, policy = plan.policy
      let threadCount = threads ?? ThreadPool.defaultThreadCount
      ThreadPool.setThreadCount(threadCount)
      let input = BenchCommand.syntheticInput(model: model)
      // The passes below run the policy directly, so the budget is checked here (VisionZip's needs the grid).
      try plan.validate(native: GridSize(rows: input.height / model.shape.patchSize, cols: input.width / model.shape.patchSize))

      let profiler = profile ? OpProfile() : nil
      var times: [Double] = []
      var blockTimes = [[Double]](repeating: [], count: model.depth)
      var macs = 0, baseline = 0, finalTokens = 0
      for i in 0..<(warmup + runs) {
        let timed = i >= warmup
        if i == warmup { profiler?.reset() }
        let start = OpProfile.now()
        var t = start
        let pass = ForwardPass(model: model, input: input, policy: policy)
        pass.profile = timed ? profiler : nil
        if timed { t = profiler?.add("embed", since: t) ?? t }
        var b = 0
        while true {
          let s = OpProfile.now()
          guard pass.step() else { break }
          if timed { blockTimes[b].append(Double(OpProfile.now() - s) / 1e6) }
          b += 1
        }
        t = OpProfile.now()
        let prediction = pass.prediction()
        let end = OpProfile.now()
        if timed {
          profiler?.add("head", since: t)
          times.append(Double(end - start) / 1e6)
        }
        precondition(prediction.classFeatures.count == model.embedDim)
        macs = pass.totalMACs; baseline = pass.baselineMACs; finalTokens = pass.state.tokenCount
      }
      let sorted = times.sorted()
      let median = BenchCommand.median(sorted)
      let blockMedians = blockTimes.map { BenchCommand.median($0.sorted()) }
      let gflops = 2 * Double(macs) / (median / 1000) / 1e9
      let rss = BenchCommand.peakRSSMiB()
      let ops: [(String, Double)] = profiler.map { p in
        p.names.map { ($0, Double(p.nanoseconds[$0] ?? 0) / 1e6 / Double(runs)) }
      } ?? []

      switch format {
      case .json:
        var members: [(String, JSONValue)] = [
          ("model", .string(try modelOptions.resolvedPath())),
          ("method", .string(spec.canonical)),
          ("threads", .number(Double(threadCount))),
          ("runs", .number(Double(runs))),
          ("warmup", .number(Double(warmup))),
          ("median_ms", .number(median)),
          ("min_ms", .number(sorted.first ?? 0)),
          ("max_ms", .number(sorted.last ?? 0)),
          ("mean_ms", .number(sorted.reduce(0, +) / Double(sorted.count))),
          ("macs", .number(Double(macs))),
          ("baseline_macs", .number(Double(baseline))),
          ("gflops_per_s", .number(gflops)),
          ("final_tokens", .number(Double(finalTokens))),
          ("block_median_ms", .array(blockMedians.map { .number($0) })),
          ("times_ms", .array(times.map { .number($0) })),  // every timed run, for medians over samples
          ("peak_rss_mib", .number(rss)),
        ]
        if profile {
          members.append(("profile_ms_per_run", .object(ops.map { ($0.0, .number($0.1)) })))
        }
        emit(JSONValue.object(members).serialized())
      case .text:
        var lines: [String] = []
        lines.append("model      \(try modelOptions.resolvedPath())")
        lines.append("method     \(spec.canonical)")
        lines.append("threads    \(threadCount)    runs \(runs) (+\(warmup) warmup)")
        lines.append("median     \(fmt(median)) ms    min \(fmt(sorted.first ?? 0)) ms    max \(fmt(sorted.last ?? 0)) ms")
        lines.append("MACs       \(macs) (baseline \(baseline), ratio \(fmt(Double(baseline) / Double(max(macs, 1)))))")
        lines.append("GFLOP/s    \(fmt(gflops))")
        lines.append("per block  " + blockMedians.map { fmt($0) }.joined(separator: " ") + " ms")
        lines.append("peak RSS   \(fmt(rss)) MiB")
        if profile {
          lines.append("")
          lines.append("op                      ms/run   share")
          let total = ops.reduce(0) { $0 + $1.1 }
          for (name, ms) in ops {
            lines.append(name.padding(20) + fmt(ms).leftPadding(10) + (fmt(100 * ms / max(total, 1e-9)) + "%").leftPadding(8))
          }
          lines.append("total".padding(20) + fmt(total).leftPadding(10))
        }
        emit(lines.joined(separator: "\n"))
      }
    }
  }

  /// Random normalised pixels (uniform in about [-2, 2], as ImageNet-normalised images are), fixed seed.
  static func syntheticInput(model: ViTModel) -> ModelInput {
    let (h, w) = model.info.inputSize
    let c = model.shape.inChannels
    var state: UInt64 = 0x5EED
    var pixels = [Float](repeating: 0, count: c * h * w)
    for i in 0..<pixels.count {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      pixels[i] = Float(state >> 40) / Float(1 << 24) * 4 - 2
    }
    return ModelInput(channels: c, height: h, width: w, pixels: pixels)
  }

  static func median(_ sorted: [Double]) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
  }

  /// VmHWM from /proc/self/status, in MiB (0 where unavailable).
  static func peakRSSMiB() -> Double {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
      let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if s.hasPrefix("VmHWM:") {
        let digits = s.filter { $0.isNumber }
        return (Double(digits) ?? 0) / 1024
      }
    }
    return 0
  }
}

private func fmt(_ v: Double) -> String {
  let r = (v * 100).rounded() / 100
  return "\(r)"
}

extension String {
  fileprivate func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
  fileprivate func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
