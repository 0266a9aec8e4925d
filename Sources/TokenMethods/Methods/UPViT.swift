// UP-ViT: A Unified Pruning Framework for Vision Transformers (Yu & Wu, arXiv 2111.15127; yuhao318/UP-ViT). The
// UP-ViT article in TokenMethods.docc lists where this differs from the official code. Structural pruning: it removes embedding channels, attention channels and MLP units, ranked by a
// single-channel ablation KL on a calibration set, and leaves a smaller dense ViT.
//
//   importance  I(c) = Σ_images Σ_classes p_T (log p_T − log p_c): KL(teacher ‖ model without channel c), summed.
//   embedding channel c: deleted everywhere at once (stem, prefix tokens, pos_embed, every LayerNorm, LayerScale,
//                        qkv/fc1/head inputs, proj/fc2 outputs), so LayerNorm normalises over C − 1 channels;
//   attention channel c of block l: q, k and v channel c zeroed together (the scale unchanged);
//   MLP unit c of block l: fc1 row c zeroed (GELU(0) = 0, as if removed); SwiGLU's unit c is a pair, its gate and up
//                        rows (zeroing the up row gives silu(g)·0 = 0), and pruning removes both rows and fc2's column;
//                        under a LayerNorm over the hidden units (EVA02's mlp.norm) the unit is removed outright.
//   selection   embed: the D most important channels; attention: the A channels split into H' contiguous groups,
//               each keeping its d most important (one new head of the original width d per group, UP-ViT's
//               3 groups of 4 DeiT-B heads); MLP: the ⌊R·D⌋ most important units. Ties go to the lower index and
//               survivors keep ascending order.
// Tractable scoring: a small calibration set, and each attention/MLP ablation reruns only the blocks
// from the ablated one on, from cached block inputs.
import Synchronization
import ViTEngine

public struct UPViTError: Error, CustomStringConvertible, Equatable {
  public let message: String
  /// The file named does not exist (exit 66 rather than 65).
  public let isMissing: Bool
  public init(_ message: String, isMissing: Bool = false) { self.message = message; self.isMissing = isMissing }
  public var description: String { message }
}

/// Per-channel UP-ViT importance of one model: the file `tokenscope prune --importance-out` writes.
public struct ChannelImportance: Sendable, Equatable {
  public var embed: [Double]
  public var attention: [[Double]]
  public var mlp: [[Double]]
  public var calibrationImages: Int
  /// Where the calibration images came from, for the record.
  public var calibration: String

  public init(embed: [Double], attention: [[Double]], mlp: [[Double]], calibrationImages: Int, calibration: String) {
    self.embed = embed; self.attention = attention; self.mlp = mlp
    self.calibrationImages = calibrationImages; self.calibration = calibration
  }

  public static let format = "tokenscope-upvit-importance"

  public func json() -> JSONValue {
    .object([
      ("format", .string(Self.format)), ("version", 1),
      ("metric", "sum over images of KL(teacher || ablated)"),
      ("calibration_images", JSONValue(calibrationImages)), ("calibration", .string(calibration)),
      ("embed", .array(embed.map { .number($0) })),
      ("attention", .array(attention.map { .array($0.map { .number($0) }) })),
      ("mlp", .array(mlp.map { .array($0.map { .number($0) }) })),
    ])
  }

  /// Reads an importance file (at most 256 MiB).
  public static func load(path: String) throws(UPViTError) -> ChannelImportance {
    guard access(path, R_OK) == 0 else { throw UPViTError("\(path): no such importance file", isMissing: true) }
    guard let bytes = readSmallFile(path, limit: 256 << 20) else {
      throw UPViTError("\(path): cannot read the importance file (unreadable or larger than 256 MiB)")
    }
    let value: JSONValue
    do { value = try JSONParser.parse(bytes) } catch { throw UPViTError("\(path): \(error)") }
    guard value["format"]?.stringValue == format else {
      throw UPViTError("\(path): field 'format': expected \"\(format)\" (write one with tokenscope prune --importance-out)")
    }
    func numbers(_ v: JSONValue?, _ field: String) throws(UPViTError) -> [Double] {
      guard let a = v?.arrayValue else { throw UPViTError("\(path): field '\(field)': expected an array of numbers") }
      var out: [Double] = []
      for x in a {
        guard let d = x.doubleValue, d.isFinite else { throw UPViTError("\(path): field '\(field)': expected finite numbers") }
        out.append(d)
      }
      return out
    }
    func lists(_ field: String) throws(UPViTError) -> [[Double]] {
      guard let a = value[field]?.arrayValue else { throw UPViTError("\(path): field '\(field)': expected one array per block") }
      var out: [[Double]] = []
      for (i, x) in a.enumerated() { out.append(try numbers(x, "\(field)[\(i)]")) }
      return out
    }
    return ChannelImportance(embed: try numbers(value["embed"], "embed"), attention: try lists("attention"),
                             mlp: try lists("mlp"), calibrationImages: value["calibration_images"]?.intValue ?? 0,
                             calibration: value["calibration"]?.stringValue ?? "")
  }

  /// Checks that the scores describe `model`'s channels.
  public func validate(for model: ViTModel, path: String) throws(UPViTError) {
    guard embed.count == model.embedDim else {
      throw UPViTError("\(path): 'embed' has \(embed.count) scores but the model is \(model.embedDim) wide (importance of another model?)")
    }
    guard attention.count == model.depth, mlp.count == model.depth else {
      throw UPViTError("\(path): 'attention' and 'mlp' list \(attention.count) and \(mlp.count) blocks; the model has \(model.depth)")
    }
    for (i, b) in model.blocks.enumerated() {
      guard attention[i].count == b.attentionWidth else {
        throw UPViTError("\(path): 'attention[\(i)]' has \(attention[i].count) scores; block \(i) has \(b.attentionWidth) attention channels")
      }
      guard mlp[i].count == b.mlpHidden else {
        throw UPViTError("\(path): 'mlp[\(i)]' has \(mlp[i].count) scores; block \(i) has \(b.mlpHidden) MLP units")
      }
    }
  }
}

/// How far to prune: nil keeps a family whole.
public struct PruningTargets: Sendable, Hashable {
  /// Heads after pruning: one value for every block, or one per block.
  public var heads: [Int]?
  /// MLP hidden units = ⌊ratio x new embedding width⌋.
  public var mlpRatio: Double?
  /// Embedding width after pruning.
  public var embed: Int?
  public init(heads: [Int]? = nil, mlpRatio: Double? = nil, embed: Int? = nil) {
    self.heads = heads; self.mlpRatio = mlpRatio; self.embed = embed
  }

  /// The `i` most important of `scores` (ties: lower index), in ascending index order.
  static func top(_ count: Int, of scores: ArraySlice<Double>) -> [Int] {
    scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(count).sorted()
  }

  public func selection(for model: ViTModel, importance: ChannelImportance) throws(UPViTError) -> ChannelSelection {
    let c = model.embedDim
    let d = embed ?? c
    guard d >= 1 && d <= c else { throw UPViTError("upvit: embed=\(d) must be in 1...\(c) (the model's width)") }
    let embedKeep = Self.top(d, of: importance.embed[...])
    let perBlockHeads: [Int]
    if let heads {
      guard heads.count == 1 || heads.count == model.depth else {
        throw UPViTError("upvit: heads lists \(heads.count) values; expected one or one per block (\(model.depth))")
      }
      perBlockHeads = heads.count == 1 ? Array(repeating: heads[0], count: model.depth) : heads
    } else {
      perBlockHeads = model.blocks.map(\.heads)
    }
    var attention: [[Int]] = [], mlp: [[Int]] = []
    for (i, b) in model.blocks.enumerated() {
      let h = perBlockHeads[i], a = b.attentionWidth
      guard h >= 1 && h <= b.heads else { throw UPViTError("upvit: heads=\(h) for block \(i), which has \(b.heads); expected 1...\(b.heads)") }
      var keep: [Int] = []
      for g in 0..<h {
        let lo = g * a / h, hi = (g + 1) * a / h
        keep += Self.top(b.headDim, of: importance.attention[i][lo..<hi])
      }
      attention.append(keep)
      let units = mlpRatio.map { Int(($0 * Double(d)).rounded(.down)) } ?? (d == c ? b.mlpHidden : b.mlpHidden * d / c)
      guard units >= 1 else { throw UPViTError("upvit: mlp-ratio=\(mlpRatio ?? 0) keeps no MLP unit of block \(i)") }
      mlp.append(Self.top(Swift.min(units, b.mlpHidden), of: importance.mlp[i][...]))
    }
    return ChannelSelection(embed: embedKeep, attention: attention, heads: perBlockHeads, mlp: mlp)
  }
}

/// What a pruning keeps, per block, for reports and views.
public struct PruningSummary: Sendable {
  public struct Block: Sendable {
    public let headsBefore: Int, headsAfter: Int
    /// Per original attention channel / MLP unit: kept or not.
    public let attentionKept: [Bool], mlpKept: [Bool]
    public var mlpUnitsKept: Int { mlpKept.filter { $0 }.count }
    public var attentionChannelsKept: Int { attentionKept.filter { $0 }.count }
    /// "kept 2 of 4 heads (32 of 64 attention channels) and 192 of 256 MLP units"
    public var sentence: String {
      "kept \(headsAfter) of \(headsBefore) heads (\(attentionChannelsKept) of \(attentionKept.count) attention channels) and \(mlpUnitsKept) of \(mlpKept.count) MLP units"
    }
  }
  public let embedBefore: Int, embedAfter: Int
  public let blocks: [Block]
  public let parametersBefore: Int, parametersAfter: Int

  public init(original: ViTModel, selection: ChannelSelection, pruned: ViTModel) {
    embedBefore = original.embedDim
    embedAfter = selection.embed.count
    blocks = original.blocks.enumerated().map { i, b in
      let a = Set(selection.attention[i]), m = Set(selection.mlp[i])
      return Block(headsBefore: b.heads, headsAfter: selection.heads[i], attentionKept: (0..<b.attentionWidth).map { a.contains($0) },
                   mlpKept: (0..<b.mlpHidden).map { m.contains($0) })
    }
    parametersBefore = original.parameterCount
    parametersAfter = pruned.parameterCount
  }
}

/// UP-ViT's importance scoring by single-channel KL ablation.
public enum UPViTScorer {
  /// Ablation runs needed for `model`: C + Σ A_l + Σ F_l.
  public static func ablationCount(_ model: ViTModel) -> Int {
    model.embedDim + model.blocks.reduce(0) { $0 + $1.attentionWidth + $1.mlpHidden }
  }

  /// Scores every channel of `model` on `inputs` (preprocessed calibration images). Ablations run in parallel on
  /// `threads` threads; `progress(done, total)` is called after each.
  public static func score(model: ViTModel, inputs: [ModelInput], calibration: String, threads: Int,
                           progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ChannelImportance {
    guard model.head != nil else { throw UPViTError("UP-ViT importance needs a classifier: \(model.info.path) has no head") }
    // Zeroing an attention channel equals removing it only where nothing normalises over the attention output.
    if let l = model.blocks.firstIndex(where: { $0.attentionNorm != nil }) {
      throw UPViTError("UP-ViT importance cannot score \(model.info.path): block \(l) normalises its attention output (EVA-CLIP's attn.norm), where a zeroed channel still counts in the LayerNorm and a head cannot lose one channel")
    }
    guard !inputs.isEmpty else { throw UPViTError("UP-ViT importance needs at least one calibration image") }
    // Teacher log-probabilities and every block's input, per image.
    var teacher: [[Double]] = [], blockInputs: [[TokenState]] = []
    for input in inputs {
      let pass = ForwardPass(model: model, input: input)
      let prediction = pass.output()
      teacher.append(logSoftmax(prediction.logits!))
      blockInputs.append((0..<model.depth).map { pass.state(after: $0 == 0 ? nil : $0 - 1) })
    }
    let teacherProbabilities = teacher.map { $0.map { expDouble($0) } }
    let teacherLog = teacher, cachedInputs = blockInputs
    let kl: @Sendable (Int, Prediction) -> Double = { image, prediction in
      let student = logSoftmax(prediction.logits!)
      var sum = 0.0
      for k in 0..<student.count { sum += teacherProbabilities[image][k] * (teacherLog[image][k] - student[k]) }
      return sum
    }
    // One job per ablation: (family, block, channel).
    enum Job { case embed(Int), attention(Int, Int), mlp(Int, Int) }
    var jobs: [Job] = (0..<model.embedDim).map { .embed($0) }
    for (l, b) in model.blocks.enumerated() {
      jobs += (0..<b.attentionWidth).map { .attention(l, $0) }
      jobs += (0..<b.mlpHidden).map { .mlp(l, $0) }
    }
    let scores = UnsafeMutableBufferPointer<Double>.allocate(capacity: jobs.count)
    defer { scores.deallocate() }
    let out = SendableDoubles(scores)
    let counter = Atomic<Int>(0)
    let total = jobs.count, workers = Swift.max(1, Swift.min(threads, total))
    let jobsCopy = jobs
    let all = ChannelSelection.all(model)
    DispatchQueueless.concurrentPerform(iterations: workers) { worker in
      var j = worker
      while j < total {
        var sum = 0.0
        switch jobsCopy[j] {
        case .embed(let c):
          var selection = all
          selection.embed.remove(at: c)
          let ablated = model.pruned(selection)
          for i in inputs.indices { sum += kl(i, ForwardPass(model: ablated, input: inputs[i]).output()) }
        case .attention(let l, let c):
          let ablated = model.replacingBlock(l, with: model.blocks[l].ablating(attention: [c]))
          for i in inputs.indices { sum += kl(i, ForwardPass.resume(model: ablated, state: cachedInputs[i][l], fromBlock: l)) }
        case .mlp(let l, let c):
          let ablated = model.replacingBlock(l, with: model.blocks[l].ablating(mlp: [c]))
          for i in inputs.indices { sum += kl(i, ForwardPass.resume(model: ablated, state: cachedInputs[i][l], fromBlock: l)) }
        }
        out.p[j] = sum
        let done = counter.add(1, ordering: .relaxed).newValue
        progress?(done, total)
        j += workers
      }
    }
    var embed: [Double] = [], attention: [[Double]] = [], mlp: [[Double]] = []
    var j = 0
    for _ in 0..<model.embedDim { embed.append(scores[j]); j += 1 }
    for b in model.blocks {
      attention.append(Array(scores[j..<(j + b.attentionWidth)])); j += b.attentionWidth
      mlp.append(Array(scores[j..<(j + b.mlpHidden)])); j += b.mlpHidden
    }
    return ChannelImportance(embed: embed, attention: attention, mlp: mlp, calibrationImages: inputs.count,
                             calibration: calibration)
  }

  static func logSoftmax(_ logits: [Float]) -> [Double] {
    let x = logits.map(Double.init)
    let m = x.max() ?? 0
    let s = x.reduce(0) { $0 + expDouble($1 - m) }
    let l = m + logDouble(s)
    return x.map { $0 - l }
  }
}

struct SendableDoubles: @unchecked Sendable {
  let p: UnsafeMutableBufferPointer<Double>
  init(_ p: UnsafeMutableBufferPointer<Double>) { self.p = p }
}

/// Plain pthread fan-out (TokenMethods does not import Foundation/Dispatch): runs `body(0..<iterations)` on that many
/// threads and waits for all.
enum DispatchQueueless {
  static func concurrentPerform(iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
    if iterations <= 1 { body(0); return }
    final class Box: @unchecked Sendable { let body: @Sendable (Int) -> Void; let index: Int
      init(_ b: @escaping @Sendable (Int) -> Void, _ i: Int) { body = b; index = i } }
    var threads: [pthread_t] = []
    for i in 1..<iterations {
      var t = pthread_t()
      let box = Unmanaged.passRetained(Box(body, i)).toOpaque()
      pthread_create(&t, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body(box.index)
        return nil
      }, box)
      threads.append(t)
    }
    body(0)
    for t in threads { pthread_join(t, nil) }
  }
}

func expDouble(_ x: Double) -> Double { exp(x) }
func logDouble(_ x: Double) -> Double { log(x) }

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// UP-ViT's typed configuration: how far to prune, and where the channel importance comes from.
public struct UPViT: MethodConfiguration, Hashable {
  public var targets: PruningTargets
  /// nil: `auto`, CHECKPOINT.importance.json beside the checkpoint.
  public var importancePath: String?

  public static let descriptor = MethodDescriptor(
    name: "upvit",
    summary: "UP-ViT structural pruning: drop the attention channels, MLP units and embedding channels with the lowest KL-ablation importance (tokenscope prune), then run the smaller dense model",
    level: .modelTransform,
    parameters: [
      MethodParameter("importance", .fileOrAuto, default: "auto",
                      "importance file from tokenscope prune --importance-out; auto: CHECKPOINT.importance.json beside the checkpoint"),
      MethodParameter("heads", .keepOr(.list(.integer(1...4096), count: 1...4096)), default: "keep",
                      "heads per block after pruning, each of the original head width (UP-ViT's channel groups): keep, N, or one per block a/b/c"),
      MethodParameter("mlp-ratio", .keepOr(.real(0...64, excludingLower: true)), default: "3",
                      "MLP units kept per block: floor(ratio x embed width), or keep"),
      MethodParameter("embed", .keepOr(.integer(1...65_536)), default: "keep", "embedding channels kept, or keep"),
    ],
    reconNotes: [
      "importance is scored on a small calibration set, and each attention or MLP ablation reruns only the blocks from the ablated one on",
    ],
    sweep: SweepAxis(key: "mlp-ratio", values: ["3.5", "3", "2.5", "2", "1.5", "1"]), step: .alongSweep
  ) { v throws(MethodSpecError) in
    var targets = PruningTargets()
    if let heads = v["heads"].listValue { targets.heads = heads.map { $0.intValue! } }
    targets.mlpRatio = v["mlp-ratio"].doubleValue
    targets.embed = v["embed"].intValue
    let path: String? = if case .file(let p) = v["importance"] { p } else { nil }
    return UPViT(targets: targets, importancePath: path)
  }

  public func action(depth: Int) -> MethodAction {
    .modelTransform { model in try prune(model) }
  }

  /// Loads the importance file, chooses the channels and prunes `model`.
  func prune(_ model: ViTModel) throws -> TransformedModel {
    let path = importancePath ?? UPViT.defaultImportancePath(forModel: model.info.path)
    if importancePath == nil && access(path, R_OK) != 0 {
      throw UPViTError("upvit: no importance file at \(path) (importance=auto); write one with tokenscope prune --model \(model.info.path) --calib DATA --importance-out \(path)", isMissing: true)
    }
    let importance = try ChannelImportance.load(path: path)
    try importance.validate(for: model, path: path)
    let selection = try targets.selection(for: model, importance: importance)
    let pruned = model.pruned(selection)
    return TransformedModel(model: pruned, pruning: PruningSummary(original: model, selection: selection, pruned: pruned))
  }

  /// Where `importance=auto` looks: CHECKPOINT.importance.json beside the checkpoint (".safetensors" replaced).
  public static func defaultImportancePath(forModel path: String) -> String {
    (path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path) + ".importance.json"
  }
}
