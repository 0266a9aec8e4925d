// Builds a ViTModel from a safetensors checkpoint: detects the naming scheme, reads widths from tensor shapes (per
// block, so structurally pruned models load), resolves the configuration, converts to Float32 and packs the weights,
// and lists the tensors it did not read.
//
// Configuration precedence for each value: the file's __metadata__, then a config.json beside it (timm pretrained_cfg
// or HF config), then inference from shapes (heads = width / 64), then defaults. An explicit `--heads` overrides all.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct LoadOptions: Sendable {
  /// Overrides the number of heads (one value for every block, or one per block).
  public var heads: [Int]?
  /// Loads a checkpoint whose tensors the engine does not all read (for `inspect`, which lists them). Off, such a file
  /// is refused: computing with part of it ignored gives outputs that look plausible and are wrong.
  public var allowUnused: Bool
  public init(heads: [Int]? = nil, allowUnused: Bool = false) { self.heads = heads; self.allowUnused = allowUnused }
}

public enum ModelLoader {
  /// Loads a checkpoint file, or a model folder as Hugging Face's `save_pretrained` writes it (its
  /// `model.safetensors`; the `config.json` beside it is read as for any checkpoint).
  public static func load(path: String, options: LoadOptions = LoadOptions()) throws(CheckpointError) -> ViTModel {
    let file = try SafetensorsFile(path: try checkpointPath(path))
    return try load(file: file, options: options)
  }

  /// `path` itself, or the `model.safetensors` inside a folder.
  public static func checkpointPath(_ path: String) throws(CheckpointError) -> String {
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return path }
    let inside = (path.hasSuffix("/") ? path : path + "/") + "model.safetensors"
    guard access(inside, R_OK) == 0 else {
      let sharded = access((path.hasSuffix("/") ? path : path + "/") + "model.safetensors.index.json", R_OK) == 0
      throw .cannotOpen(path: path, reason: sharded
        ? "a folder with a sharded checkpoint (model.safetensors.index.json); tokenscope reads one model.safetensors"
        : "a folder without model.safetensors (give the .safetensors file, or a Hugging Face save_pretrained folder)")
    }
    return inside
  }

  public static func load(file: SafetensorsFile, options: LoadOptions = LoadOptions()) throws(CheckpointError) -> ViTModel {
    var reader = try WeightReader(file: file)
    return try reader.build(options: options)
  }
}

/// Reads canonical (timm) names through the detected scheme, checking shapes as it goes, and remembers which of the
/// file's tensors it read so that the rest can be reported.
struct WeightReader {
  let file: SafetensorsFile
  let scheme: NamingScheme
  let prefix: String
  /// File names of the tensors read so far.
  private(set) var read: Set<String> = []
  var path: String { file.path }

  init(file: SafetensorsFile) throws(CheckpointError) {
    self.file = file
    guard let (scheme, prefix) = NamingScheme.detect(Set(file.names)) else {
      throw .unrecognized(path: file.path, reason: "no ViT patch embedding found (expected 'patch_embed.proj.weight' (timm) or 'embeddings.patch_embeddings.projection.weight' (Hugging Face)); \(file.names.count) tensors")
    }
    self.scheme = scheme
    self.prefix = prefix
  }

  /// The tensor infos behind a canonical name (several for HF's split qkv), or nil if absent.
  func infos(_ canonical: String) -> [TensorInfo]? {
    if scheme == .timmEva, canonical.hasSuffix("attn.qkv.weight"), file.tensors[prefix + canonical] == nil {
      // The Eva class's split layout: q_proj, k_proj, v_proj, concatenated into the fused [q | k | v].
      let base = prefix + canonical.dropLast("qkv.weight".count)
      let found = ["q_proj.weight", "k_proj.weight", "v_proj.weight"].compactMap { file.tensors[base + $0] }
      return found.count == 3 ? found : nil
    }
    guard let names = scheme.fileNames(for: canonical, prefix: prefix) else { return nil }
    if canonical.hasSuffix("attn.qkv.weight") || canonical.hasSuffix("attn.qkv.bias"), scheme.isHuggingFace {
      let found = names.compactMap { file.tensors[$0] }
      return found.count == names.count ? found : nil
    }
    return names.lazy.compactMap { file.tensors[$0] }.first.map { [$0] }
  }

  func has(_ canonical: String) -> Bool { infos(canonical) != nil }

  func displayName(_ canonical: String) -> String {
    scheme.fileNames(for: canonical, prefix: prefix)?.first ?? canonical
  }

  /// The shape of a tensor (for split qkv: concatenated along dim 0).
  func shape(_ canonical: String) throws(CheckpointError) -> [Int] {
    guard let infos = infos(canonical) else {
      throw .missingTensor(path: path, tensor: displayName(canonical), scheme: scheme.rawValue)
    }
    if let packed = scheme.packedRows(for: canonical, prefix: prefix) {
      var s = infos[0].shape
      guard !s.isEmpty, s[0] % packed.of == 0 else {
        throw .badShape(path: path, tensor: packed.name, expected: "[\(packed.of) x rows, ...] (q, k, v packed)", got: s)
      }
      s[0] = s[0] / packed.of * packed.count
      return s
    }
    if infos.count == 1 { return scheme.canonicalShape(canonical, infos[0].shape) }
    var s = infos[0].shape
    guard !s.isEmpty, infos.allSatisfy({ $0.shape.count == s.count && Array($0.shape.dropFirst()) == Array(s.dropFirst()) }) else {
      throw .inconsistent(path: path, reason: "query/key/value tensors of \(displayName(canonical)) have different shapes \(infos.map(\.shape))")
    }
    s[0] = infos.reduce(0) { $0 + $1.shape[0] }
    return s
  }

  /// Reads a tensor as Float32 and checks its shape.
  /// Throws unless the tensor has shape `expected`.
  func checkShape(_ canonical: String, _ expected: [Int]) throws(CheckpointError) {
    let got = try shape(canonical)
    guard got == expected else {
      throw .badShape(path: path, tensor: displayName(canonical), expected: "\(expected)", got: got)
    }
  }

  mutating func floats(_ canonical: String, shape expected: [Int]) throws(CheckpointError) -> [Float] {
    try checkShape(canonical, expected)
    guard let infos = infos(canonical) else { throw .missingTensor(path: path, tensor: displayName(canonical), scheme: scheme.rawValue) }
    var out: [Float] = []
    out.reserveCapacity(expected.reduce(1, *))
    if let packed = scheme.packedRows(for: canonical, prefix: prefix) {
      let all = try file.floats(infos[0])
      let part = all.count / packed.of
      out = Array(all[(packed.first * part)..<((packed.first + packed.count) * part)])
    } else {
      for info in infos { out += try file.floats(info) }
    }
    read.formUnion(infos.map(\.name))
    return out
  }

  mutating func optionalFloats(_ canonical: String, shape expected: [Int]) throws(CheckpointError) -> [Float]? {
    has(canonical) ? try floats(canonical, shape: expected) : nil
  }

  mutating func layerNorm(_ canonical: String, width c: Int, eps: Float) throws(CheckpointError) -> LayerNormWeights {
    LayerNormWeights(gamma: try floats(canonical + ".weight", shape: [c]), beta: try floats(canonical + ".bias", shape: [c]), eps: eps)
  }

  mutating func linear(_ canonical: String, out: Int, in inputs: Int) throws(CheckpointError) -> LinearLayer {
    let name = canonical + ".weight"
    // One tensor in the file (not HF's split q/k/v, nor a slice of a packed one): packed straight from the mapping.
    if let infos = infos(name), infos.count == 1, scheme.packedRows(for: name, prefix: prefix) == nil {
      try checkShape(name, [out, inputs])
      let weight = try file.withFloats(infos[0]) { PackedMatrix(rowsOf: $0.baseAddress!, n: out, k: inputs, ldw: inputs) }
      read.insert(infos[0].name)
      return LinearLayer(packed: weight, bias: try optionalFloats(canonical + ".bias", shape: [out]))
    }
    return LinearLayer(weight: try floats(name, shape: [out, inputs]),
                       bias: try optionalFloats(canonical + ".bias", shape: [out]), outFeatures: out, inFeatures: inputs)
  }

  /// The file's tensors that were not read, in file order, less those the scheme leaves unread on purpose.
  var unusedTensors: [String] { file.names.filter { !read.contains($0) && !scheme.isIgnorable($0) } }

  /// Reads the whole model. The readers run in a fixed order, and that order decides which error a file with several
  /// problems reports.
  mutating func build(options: LoadOptions) throws(CheckpointError) -> ViTModel {
    let config = ConfigSources(file: file, scheme: scheme)
    let hints = ArchitectureHints(config)
    var sources: [String: ConfigSource] = [:]
    try rejectUnsupportedVariants()
    if let reason = hints.unsupported { throw .unrecognized(path: path, reason: reason) }
    let rope = try resolveRope(hints: hints, sources: &sources)
    let stem = try readStem()
    let c = stem.width
    var prefixTokens = try readPrefixTokens(width: c)
    let positions = try readPositions(stem: stem, prefixCount: prefixTokens.tokens.count, config: config,
                                      optional: rope != nil,
                                      defaultSide: hints.defaultInputSide.map { ($0, hints.name?.source ?? .defaults) })
    let eps = resolveLayerNormEps(config: config, hints: hints, sources: &sources)
    let blocks = try readBlocks(width: c, eps: eps, options: options, config: config, sources: &sources)
    if rope != nil, let i = blocks.firstIndex(where: { $0.headDim % 4 != 0 }) {
      throw .inconsistent(path: path, reason: "block \(i) has heads \(blocks[i].headDim) wide; rotary embeddings turn pairs along two axes and need a multiple of 4")
    }
    let norm = has("norm.weight") || !has("fc_norm.weight") ? try layerNorm("norm", width: c, eps: eps) : nil
    var backbone = try readBackbone(hints: hints, width: c, heads: blocks[blocks.count - 1].heads, eps: eps,
                                    hasClassToken: prefixTokens.names.first == "cls", prefixNames: prefixTokens.names,
                                    gatedMLP: blocks.contains { $0.gate != nil }, sources: &sources)
    if let rope {
      backbone.rope = rope
      backbone.evaLayout = EvaLayout(fusedQKV: file.tensors[prefix + "blocks.0.attn.qkv.weight"] != nil,
                                     packedSwiGLU: blocks[0].gate != nil && !has("blocks.0.mlp.fc1_g.weight"))
    }
    // DINOv3 calls its registers storage tokens.
    if backbone.family == "dinov3" {
      prefixTokens.names = prefixTokens.names.map { $0.hasPrefix("reg") ? "storage" + $0.dropFirst(3) : $0 }
    }
    let head = try readHead(width: c, hasDistillationToken: prefixTokens.hasDistillationToken)

    var shape = ModelShape(embedDim: c, inChannels: stem.channels, patchSize: stem.patchSize, grid: positions.grid,
                           prefixTokens: prefixTokens.tokens.count, heads: blocks.map(\.heads), headDim: blocks.map(\.headDim),
                           mlpHidden: blocks.map(\.mlpHidden), classes: head.classes, distilledHead: head.distillation != nil,
                           headInput: head.input)
    shape.pooling = backbone.pooling
    shape.mapHidden = backbone.mapHead?.mlpHidden ?? 0
    shape.normPre = backbone.normPre != nil
    shape.fcNorm = backbone.fcNorm != nil
    shape.gatedMLP = blocks.contains { $0.gate != nil }
    shape.mlpNorm = blocks.contains { $0.mlpNorm != nil }
    shape.attentionNorm = blocks.contains { $0.attentionNorm != nil }
    let input = try resolveInput(config: config, stem: stem, grid: positions.grid, configured: positions.configuredInput,
                                 sources: &sources)
    let labels = resolveLabels(config: config, classes: head.classes, sources: &sources)
    let info = ModelInfo(
      path: path, scheme: scheme, layerNormEps: eps, inputSize: input.size, mean: input.mean, std: input.std,
      cropPct: config.cropPct?.value, interpolation: config.interpolation?.value ?? "bicubic", labels: labels,
      sources: sources, prefixNames: prefixTokens.names, metadata: file.metadata, unusedTensors: unusedTensors)

    if !options.allowUnused, !unusedTensors.isEmpty { throw .unusedTensors(path: path, names: unusedTensors) }
    return ViTModel(
      info: info, shape: shape, patchEmbed: stem.layer, prefixTokens: prefixTokens.tokens, posEmbed: positions.embed,
      posPrefix: positions.prefix, blocks: blocks, norm: norm, head: head.classifier, headDist: head.distillation,
      backbone: backbone)
  }

  /// The rotary embedding of a file in the Eva class's layout, from its configuration (never from the tensors, which do
  /// not show it); nil for the other layouts, which have none.
  func resolveRope(hints: ArchitectureHints, sources: inout [String: ConfigSource]) throws(CheckpointError) -> RotaryEmbedding? {
    guard scheme == .timmEva else {
      if let r = hints.rope, let name = hints.name {
        throw .inconsistent(path: path, reason: "'\(name.value)' (\(r.source.rawValue)) is a model of timm's Eva class (rotary embeddings) but the tensors use VisionTransformer's names")
      }
      return nil
    }
    guard let r = hints.rope else {
      throw .inconsistent(path: path, reason: "the tensors follow timm's Eva class (e.g. '\(firstEvaTensor())'), whose rotary position embedding (EVA02's or DINOv3's) they do not show; give its timm architecture (e.g. eva02_tiny_patch14_224, vit_small_patch16_dinov3) in a config.json beside the file, or rope_type ('cat' or 'dinov3') in __metadata__")
    }
    sources["rope"] = r.source
    return r.value
  }

  /// The first tensor of the file that only the Eva class writes (for messages).
  func firstEvaTensor() -> String {
    let eva = ["gamma_1", "attn.q_bias", "attn.q_proj.weight", "mlp.fc1_g.weight", "attn.norm.weight", "mlp.norm.weight"]
    return eva.map { prefix + "blocks.0." + $0 }.first { file.tensors[$0] != nil } ?? prefix + "blocks.0"
  }

  func rejectUnsupportedVariants() throws(CheckpointError) {
    for unsupported in ["blocks.0.attn.q_norm.weight", "blocks.0.attn.k_norm.weight"]
    where file.tensors[prefix + unsupported] != nil {
      throw .unrecognized(path: path, reason: "tensor '\(prefix + unsupported)' belongs to a ViT variant tokenscope does not run (qk-norm is not supported)")
    }
    // Meta's own DINOv3 checkpoints keep a bias mask and the RoPE periods; timm's port (vit_*_dinov3*) is the layout read.
    if file.tensors[prefix + "storage_tokens"] != nil {
      throw .unrecognized(path: path, reason: "tensor '\(prefix)storage_tokens' marks Meta's original DINOv3 layout; load it into timm (timm.create_model('vit_small_patch16_dinov3', pretrained=True, ...) converts it) and save its state_dict")
    }
  }

  // MARK: Stem

  struct Stem {
    /// A Linear over flattened (channel, y, x) patches.
    var layer: LinearLayer
    var width: Int, channels: Int, patchSize: Int
  }

  /// The patch embedding, a [C, Cin, p, p] convolution, as a Linear over flattened patches.
  mutating func readStem() throws(CheckpointError) -> Stem {
    let stemShape = try shape("patch_embed.proj.weight")
    guard stemShape.count == 4, stemShape[2] == stemShape[3], stemShape[0] > 0, stemShape[1] > 0, stemShape[2] > 0 else {
      throw .badShape(path: path, tensor: displayName("patch_embed.proj.weight"), expected: "[C, Cin, p, p]", got: stemShape)
    }
    let c = stemShape[0], cin = stemShape[1], p = stemShape[2]
    let weight = try floats("patch_embed.proj.weight", shape: stemShape)
    let bias = try optionalFloats("patch_embed.proj.bias", shape: [c])
    return Stem(layer: LinearLayer(weight: weight, bias: bias, outFeatures: c, inFeatures: cin * p * p), width: c, channels: cin,
                patchSize: p)
  }

  // MARK: Prefix tokens

  struct PrefixTokens {
    /// In sequence order: cls, dist, registers.
    var tokens: [[Float]], names: [String]
    var hasDistillationToken: Bool
  }

  mutating func readPrefixTokens(width c: Int) throws(CheckpointError) -> PrefixTokens {
    var tokens: [[Float]] = []
    var names: [String] = []
    if let cls = try optionalFloats("cls_token", shape: [1, 1, c]) { tokens.append(cls); names.append("cls") }
    if let dist = try optionalFloats("dist_token", shape: [1, 1, c]) { tokens.append(dist); names.append("dist") }
    let hasDist = has("dist_token")
    if has("reg_token") {
      let s = try shape("reg_token")
      guard s.count == 3, s[0] == 1, s[2] == c, s[1] > 0 else {
        throw .badShape(path: path, tensor: displayName("reg_token"), expected: "[1, R, \(c)]", got: s)
      }
      let regs = try floats("reg_token", shape: s)
      for r in 0..<s[1] { tokens.append(Array(regs[(r * c)..<((r + 1) * c)])); names.append("reg\(r)") }
    }
    // Registers or a distillation token without a class token is no layout timm or transformers writes.
    guard tokens.isEmpty || has("cls_token") else {
      throw .missingTensor(path: path, tensor: displayName("cls_token"), scheme: scheme.rawValue + "; prefix tokens without a class token")
    }
    return PrefixTokens(tokens: tokens, names: names, hasDistillationToken: hasDist)
  }

  // MARK: Position embeddings

  struct Positions {
    var embed: Matrix
    /// How many leading prefix tokens have a position.
    var prefix: Int
    var grid: GridSize
    /// The configured input size, checked here because the grid is matched against it.
    var configuredInput: (value: (Int, Int), source: ConfigSource)?
  }

  /// pos_embed is [1, T, C] with T = grid (no_embed_class), cls + grid (HF registers), or prefix + grid; the grid is
  /// the configured input size over the patch size when that fits T, else the square that does.
  mutating func readPositions(stem: Stem, prefixCount: Int, config: ConfigSources, optional: Bool = false,
                              defaultSide: (Int, ConfigSource)? = nil) throws(CheckpointError) -> Positions {
    let c = stem.width, p = stem.patchSize
    if optional, !has("pos_embed") {
      // Rotary embeddings only (DINOv3): the grid is the configured input's, else the one the architecture name fixes.
      let configured = config.inputSize(channels: stem.channels)
      guard let (h, w) = configured?.value ?? defaultSide.map({ ($0.0, $0.0) }), h >= p, w >= p, h <= 16384, w <= 16384 else {
        throw .inconsistent(path: path, reason: "no pos_embed and no input size: give input_size in __metadata__ or a config.json, or the timm architecture name")
      }
      return Positions(embed: Matrix(rows: 0, cols: c), prefix: 0, grid: GridSize(rows: h / p, cols: w / p),
                       configuredInput: configured ?? (value: (h, w), source: defaultSide!.1))
    }
    let posShape = try shape("pos_embed")
    guard posShape.count == 3, posShape[0] == 1, posShape[2] == c else {
      throw .badShape(path: path, tensor: displayName("pos_embed"), expected: "[1, T, \(c)]", got: posShape)
    }
    let posTokens = posShape[1]
    let inputFromConfig = config.inputSize(channels: stem.channels)
    // Fuzzing: the grid maths below (negative or overflowing products) and Preprocessing (allocation) trust this size.
    if let v = inputFromConfig, !(0...16384).contains(v.value.0) || !(0...16384).contains(v.value.1) {
      throw .inconsistent(path: path, reason: "input_size \(v.value.0)x\(v.value.1) (\(v.source.rawValue)) is outside 1...16384")
    }
    var posPrefix = -1
    var grid = GridSize(rows: 0, cols: 0)
    for candidate in Set([prefixCount, 1, 0]).sorted(by: >) where posTokens > candidate {
      let count = posTokens - candidate
      if let (h, w) = inputFromConfig?.value, h % p == 0, w % p == 0, (h / p) * (w / p) == count {
        posPrefix = candidate; grid = GridSize(rows: h / p, cols: w / p); break
      }
      let side = Int(Double(count).squareRoot().rounded())
      if side * side == count { posPrefix = candidate; grid = GridSize(rows: side, cols: side); break }
    }
    guard posPrefix >= 0 else {
      throw .inconsistent(path: path, reason: "pos_embed has \(posTokens) positions, which is not a square grid plus 0, 1 or \(prefixCount) prefix tokens")
    }
    let embed = Matrix(rows: posTokens, cols: c, data: try floats("pos_embed", shape: posShape))
    return Positions(embed: embed, prefix: posPrefix, grid: grid, configuredInput: inputFromConfig)
  }

  // MARK: Blocks

  /// The LayerNorm eps that every norm of the model shares.
  func resolveLayerNormEps(config: ConfigSources, hints: ArchitectureHints, sources: inout [String: ConfigSource]) -> Float {
    if let v = config.layerNormEps { sources["layer_norm_eps"] = v.source; return v.value }
    if let v = hints.layerNormEps { sources["layer_norm_eps"] = v.source; return v.value }
    sources["layer_norm_eps"] = .scheme
    return scheme.defaultLayerNormEps
  }

  /// The transformer blocks, with widths read per block from shapes (so structurally pruned models load).
  mutating func readBlocks(width c: Int, eps: Float, options: LoadOptions, config: ConfigSources,
                           sources: inout [String: ConfigSource]) throws(CheckpointError) -> [BlockWeights] {
    let depth = try blockCount()
    var attentionWidths: [Int] = []
    for i in 0..<depth { attentionWidths.append(try attentionWidth(block: i, width: c)) }
    let heads = try resolveHeads(attentionWidths: attentionWidths, options: options, config: config, sources: &sources)
    // Blocks are independent: each is read and packed by its own copy of the reader, on the engine's pool. Copying
    // and packing DeiT-B's 85 M block weights is most of its load time, and so of the explorer's first frame. The
    // error reported is the first block's in order, as a serial read would report it.
    var loaded: [BlockWeights?] = Array(repeating: nil, count: depth)
    var failures: [CheckpointError?] = Array(repeating: nil, count: depth)
    var tensorsRead: [Set<String>] = Array(repeating: [], count: depth)
    let reader = self
    loaded.withUnsafeMutableBufferPointer { blocksOut in
      failures.withUnsafeMutableBufferPointer { failuresOut in
        tensorsRead.withUnsafeMutableBufferPointer { namesOut in
          let blocksP = SendablePointer(blocksOut.baseAddress!), failuresP = SendablePointer(failuresOut.baseAddress!)
          let namesP = SendablePointer(namesOut.baseAddress!)
          ThreadPool.shared.parallelFor(depth) { i in
            var own = reader
            own.read = []
            do throws(CheckpointError) {
              blocksP.p[i] = try own.readBlock(i, width: c, attentionWidth: attentionWidths[i], heads: heads[i], eps: eps)
              namesP.p[i] = own.read
            } catch {
              failuresP.p[i] = error
            }
          }
        }
      }
    }
    if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    for names in tensorsRead { read.formUnion(names) }
    let blocks = loaded.map { $0! }
    if has("blocks.\(depth).mlp.fc1.weight") || has("blocks.\(depth).attn.proj.weight") {
      throw .missingTensor(path: path, tensor: displayName("blocks.\(depth).norm1.weight"), scheme: scheme.rawValue)
    }
    return blocks
  }

  func blockCount() throws(CheckpointError) -> Int {
    var depth = 0
    while has("blocks.\(depth).norm1.weight") || has("blocks.\(depth).attn.qkv.weight") { depth += 1 }
    guard depth > 0 else { throw .missingTensor(path: path, tensor: displayName("blocks.0.norm1.weight"), scheme: scheme.rawValue) }
    return depth
  }

  /// A block's attention width A, from its [3A, C] qkv weight.
  func attentionWidth(block i: Int, width c: Int) throws(CheckpointError) -> Int {
    let qkvShape = try shape("blocks.\(i).attn.qkv.weight")
    guard qkvShape.count == 2, qkvShape[0] % 3 == 0, qkvShape[0] > 0 else {
      throw .badShape(path: path, tensor: displayName("blocks.\(i).attn.qkv.weight"), expected: "[3A, \(c)]", got: qkvShape)
    }
    guard qkvShape[1] == c else {
      throw .inconsistent(path: path, reason: "block \(i) qkv takes \(qkvShape[1]) inputs but the embedding width is \(c) (inconsistent widths)")
    }
    return qkvShape[0] / 3
  }

  /// Heads per block: --heads, else metadata/config, else width / 64.
  func resolveHeads(attentionWidths: [Int], options: LoadOptions, config: ConfigSources,
                    sources: inout [String: ConfigSource]) throws(CheckpointError) -> [Int] {
    let depth = attentionWidths.count
    var heads: [Int]
    if let forced = options.heads {
      heads = forced.count == 1 ? Array(repeating: forced[0], count: depth) : forced
      sources["num_heads"] = .flag
    } else if let v = config.heads {
      heads = v.value.count == 1 ? Array(repeating: v.value[0], count: depth) : v.value
      sources["num_heads"] = v.source
    } else {
      heads = []
      for (i, a) in attentionWidths.enumerated() {
        guard a % 64 == 0 else {
          throw .inconsistent(path: path, reason: "cannot infer the number of heads of block \(i) (attention width \(a) is not a multiple of 64); add num_heads to __metadata__ or pass --heads")
        }
        heads.append(a / 64)
      }
      sources["num_heads"] = .inferred
    }
    guard heads.count == depth else {
      throw .inconsistent(path: path, reason: "num_heads lists \(heads.count) values for \(depth) blocks")
    }
    for (i, (h, a)) in zip(heads, attentionWidths).enumerated() where h <= 0 || a % h != 0 {
      throw .inconsistent(path: path, reason: "\(h) heads do not divide the attention width \(a) of block \(i)")
    }
    return heads
  }

  mutating func readBlock(_ i: Int, width c: Int, attentionWidth a: Int, heads: Int, eps: Float) throws(CheckpointError) -> BlockWeights {
    let b = "blocks.\(i)."
    if scheme == .timmEva { return try readEvaBlock(i, width: c, attentionWidth: a, heads: heads, eps: eps) }
    let fc1Shape = try shape(b + "mlp.fc1.weight")
    guard fc1Shape.count == 2, fc1Shape[1] == c, fc1Shape[0] > 0 else {
      throw .badShape(path: path, tensor: displayName(b + "mlp.fc1.weight"), expected: "[F, \(c)]", got: fc1Shape)
    }
    let f = fc1Shape[0]
    let norm1 = try layerNorm(b + "norm1", width: c, eps: eps)
    let qkv = try linear(b + "attn.qkv", out: 3 * a, in: c)
    let proj = try linear(b + "attn.proj", out: c, in: a)
    let norm2 = try layerNorm(b + "norm2", width: c, eps: eps)
    let fc1 = try linear(b + "mlp.fc1", out: f, in: c)
    let fc2 = try linear(b + "mlp.fc2", out: c, in: f)
    return BlockWeights(
      norm1: norm1, qkv: qkv, heads: heads, headDim: a / heads, proj: proj,
      layerScale1: try optionalFloats(b + "ls1.gamma", shape: [c]), norm2: norm2, fc1: fc1, fc2: fc2,
      layerScale2: try optionalFloats(b + "ls2.gamma", shape: [c]))
  }

  /// A block of timm's Eva class: qkv with [q_bias | 0 | v_bias] (k has no bias), an optional LayerNorm over the
  /// attention output, a plain MLP or SwiGLU (packed: fc1 [2F, C], gate rows first, as GluMlp chunks it; or fc1_g and
  /// fc1_x apart), an optional LayerNorm over the hidden units, LayerScale gamma_1/gamma_2.
  mutating func readEvaBlock(_ i: Int, width c: Int, attentionWidth a: Int, heads: Int, eps: Float) throws(CheckpointError) -> BlockWeights {
    let b = "blocks.\(i)."
    let norm1 = try layerNorm(b + "norm1", width: c, eps: eps)
    let weight = try floats(b + "attn.qkv.weight", shape: [3 * a, c])
    let qBias = try optionalFloats(b + "attn.q_bias", shape: [a]), vBias = try optionalFloats(b + "attn.v_bias", shape: [a])
    if (qBias == nil) != (vBias == nil) {
      throw .missingTensor(path: path, tensor: displayName(b + (qBias == nil ? "attn.q_bias" : "attn.v_bias")),
                           scheme: scheme.rawValue + "; q and v biases come together")
    }
    let bias = qBias.map { $0 + [Float](repeating: 0, count: a) + vBias! }
    let qkv = LinearLayer(weight: weight, bias: bias, outFeatures: 3 * a, inFeatures: c)
    let attentionNorm = has(b + "attn.norm.weight") ? try layerNorm(b + "attn.norm", width: a, eps: eps) : nil
    let proj = try linear(b + "attn.proj", out: c, in: a)
    let norm2 = try layerNorm(b + "norm2", width: c, eps: eps)
    let fc2Shape = try shape(b + "mlp.fc2.weight")
    guard fc2Shape.count == 2, fc2Shape[0] == c, fc2Shape[1] > 0 else {
      throw .badShape(path: path, tensor: displayName(b + "mlp.fc2.weight"), expected: "[\(c), F]", got: fc2Shape)
    }
    let f = fc2Shape[1]
    var gate: LinearLayer? = nil
    let fc1: LinearLayer
    if has(b + "mlp.fc1_g.weight") {
      gate = try linear(b + "mlp.fc1_g", out: f, in: c)
      fc1 = try linear(b + "mlp.fc1_x", out: f, in: c)
    } else {
      let fc1Shape = try shape(b + "mlp.fc1.weight")
      guard fc1Shape.count == 2, fc1Shape[1] == c, fc1Shape[0] == f || fc1Shape[0] == 2 * f else {
        throw .badShape(path: path, tensor: displayName(b + "mlp.fc1.weight"), expected: "[\(f), \(c)] or, SwiGLU packed, [\(2 * f), \(c)]", got: fc1Shape)
      }
      let packed = try linear(b + "mlp.fc1", out: fc1Shape[0], in: c)
      if fc1Shape[0] == 2 * f {
        // GluMlp with gate_last off: the first F outputs go through SiLU, the last F multiply them.
        let w = packed.dense.weight, bias = packed.dense.bias
        gate = LinearLayer(weight: Array(w[0..<(f * c)]), bias: bias.map { Array($0[0..<f]) }, outFeatures: f, inFeatures: c)
        fc1 = LinearLayer(weight: Array(w[(f * c)...]), bias: bias.map { Array($0[f...]) }, outFeatures: f, inFeatures: c)
      } else {
        fc1 = packed
      }
    }
    let mlpNorm = has(b + "mlp.norm.weight") ? try layerNorm(b + "mlp.norm", width: f, eps: eps) : nil
    let fc2 = try linear(b + "mlp.fc2", out: c, in: f)
    return BlockWeights(
      norm1: norm1, qkv: qkv, heads: heads, headDim: a / heads, proj: proj,
      layerScale1: try optionalFloats(b + "ls1.gamma", shape: [c]), norm2: norm2, fc1: fc1, fc2: fc2,
      layerScale2: try optionalFloats(b + "ls2.gamma", shape: [c]), attentionNorm: attentionNorm, gate: gate, mlpNorm: mlpNorm)
  }

  // MARK: Head

  struct Head {
    /// nil for a headless backbone (features only).
    var classifier: LinearLayer?
    var distillation: LinearLayer?
    var input: HeadInput
    var classes: Int
  }

  mutating func readHead(width c: Int, hasDistillationToken: Bool) throws(CheckpointError) -> Head {
    var head = Head(classifier: nil, distillation: nil, input: .classToken, classes: 0)
    guard has("head.weight") else { return head }
    let s = try shape("head.weight")
    guard s.count == 2, s[0] > 0, s[1] == c || (s[1] == 2 * c && scheme == .hfDinov2) else {
      throw .badShape(path: path, tensor: displayName("head.weight"), expected: "[classes, \(c)]", got: s)
    }
    head.classes = s[0]
    if s[1] == 2 * c { head.input = .classTokenAndPatchMean }
    head.classifier = try linear("head", out: s[0], in: s[1])
    if has("head_dist.weight") {
      guard hasDistillationToken else {
        throw .inconsistent(path: path, reason: "\(displayName("head_dist.weight")) present without a distillation token")
      }
      head.distillation = try linear("head_dist", out: s[0], in: c)
    }
    return head
  }

  // MARK: Preprocessing and labels

  struct Input {
    /// (height, width) in pixels.
    var size: (Int, Int)
    var mean: [Float], std: [Float]
  }

  /// The input size, mean and std, each from the configuration or else inferred from the grid or the defaults.
  func resolveInput(config: ConfigSources, stem: Stem, grid: GridSize, configured: (value: (Int, Int), source: ConfigSource)?,
                    sources: inout [String: ConfigSource]) throws(CheckpointError) -> Input {
    let cin = stem.channels, p = stem.patchSize
    let inputSize: (Int, Int)
    if let v = configured, v.value.0 > 0, v.value.1 > 0 { inputSize = v.value; sources["input_size"] = v.source } else {
      inputSize = (grid.rows * p, grid.cols * p); sources["input_size"] = .inferred
    }
    let defaultMean: [Float] = cin == 3 ? [0.485, 0.456, 0.406] : Array(repeating: 0.5, count: cin)
    let defaultStd: [Float] = cin == 3 ? [0.229, 0.224, 0.225] : Array(repeating: 0.5, count: cin)
    func perChannel(_ v: (value: [Float], source: ConfigSource)?, _ key: String, _ fallback: [Float]) throws(CheckpointError) -> [Float] {
      guard let v else { sources[key] = .defaults; return fallback }
      if v.value.count == 1 && cin > 1 { sources[key] = v.source; return Array(repeating: v.value[0], count: cin) }
      guard v.value.count == cin else {
        throw .inconsistent(path: path, reason: "\(key) has \(v.value.count) values (\(v.source.rawValue)) but the model has \(cin) input channels")
      }
      sources[key] = v.source
      return v.value
    }
    let mean = try perChannel(config.mean, "mean", defaultMean)
    let std = try perChannel(config.std, "std", defaultStd)
    if std.contains(where: { $0 == 0 || !$0.isFinite }) { throw .inconsistent(path: path, reason: "std \(std) contains zero or a non-finite value") }
    return Input(size: inputSize, mean: mean, std: std)
  }

  /// Class names from the configuration when they match the head, else ImageNet's for a 1000-class head.
  func resolveLabels(config: ConfigSources, classes: Int, sources: inout [String: ConfigSource]) -> [String]? {
    var labels = config.labels?.value
    if let l = labels, l.count != classes { labels = nil }
    if labels == nil, classes == 1000 { labels = ImageNetLabels.names }
    sources["labels"] = config.labels?.source ?? (labels != nil ? .defaults : nil)
    return labels
  }
}

/// Configuration values from the file's metadata and a config.json / preprocessor_config.json beside it.
struct ConfigSources {
  let metadata: [String: String]
  let config: JSONValue?
  let preprocessor: JSONValue?

  init(file: SafetensorsFile, scheme: NamingScheme) {
    metadata = file.metadata
    let dir = file.path.contains("/") ? String(file.path[..<file.path.lastIndex(of: "/")!]) : "."
    config = ConfigSources.readJSON(dir + "/config.json")
    preprocessor = ConfigSources.readJSON(dir + "/preprocessor_config.json")
  }

  static func readJSON(_ path: String) -> JSONValue? {
    guard let bytes = readSmallFile(path, limit: 16 << 20) else { return nil }
    return try? JSONParser.parse(bytes)
  }

  /// timm hub configs keep preprocessing under pretrained_cfg; older ones at the top level.
  private var pretrained: JSONValue? { config?["pretrained_cfg"] ?? config }

  private static func floats(_ text: String) -> [Float]? {
    let trimmed = text.trimmingCharacters(in: "[]() ")
    let parts = trimmed.split(whereSeparator: { $0 == "," || $0 == " " }).map { Float($0) }
    guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
    return parts.map { $0! }
  }

  private static func floats(_ value: JSONValue?) -> [Float]? {
    if let n = value?.doubleValue { return [Float(n)] }
    guard let a = value?.arrayValue else { return nil }
    let f = a.compactMap { $0.doubleValue.map(Float.init) }
    return f.count == a.count && !f.isEmpty ? f : nil
  }

  var heads: (value: [Int], source: ConfigSource)? {
    if let s = metadata["num_heads"] {
      let v = s.split(separator: ",").compactMap { Int(String($0).trimmingCharacters(in: " ")) }
      if !v.isEmpty { return (v, .metadata) }
    }
    for key in ["num_heads", "num_attention_heads"] {
      if let n = config?[key]?.intValue ?? config?["model_args"]?[key]?.intValue { return ([n], .configJSON) }
    }
    return nil
  }

  var layerNormEps: (value: Float, source: ConfigSource)? {
    if let s = metadata["layer_norm_eps"], let v = Float(s) { return (v, .metadata) }
    if let v = config?["layer_norm_eps"]?.doubleValue { return (Float(v), .configJSON) }
    return nil
  }

  var mean: (value: [Float], source: ConfigSource)? {
    if let s = metadata["mean"], let v = ConfigSources.floats(s) { return (v, .metadata) }
    if let v = ConfigSources.floats(pretrained?["mean"]) ?? ConfigSources.floats(preprocessor?["image_mean"]) { return (v, .configJSON) }
    return nil
  }

  var std: (value: [Float], source: ConfigSource)? {
    if let s = metadata["std"], let v = ConfigSources.floats(s) { return (v, .metadata) }
    if let v = ConfigSources.floats(pretrained?["std"]) ?? ConfigSources.floats(preprocessor?["image_std"]) { return (v, .configJSON) }
    return nil
  }

  var cropPct: (value: Double, source: ConfigSource)? {
    if let s = metadata["crop_pct"], let v = Double(s), v > 0, v <= 1 { return (v, .metadata) }
    if let v = pretrained?["crop_pct"]?.doubleValue, v > 0, v <= 1 { return (v, .configJSON) }
    return nil
  }

  var interpolation: (value: String, source: ConfigSource)? {
    if let s = metadata["interpolation"] { return (s, .metadata) }
    if let s = pretrained?["interpolation"]?.stringValue { return (s, .configJSON) }
    return nil
  }

  /// (height, width) of the native input.
  func inputSize(channels: Int) -> (value: (Int, Int), source: ConfigSource)? {
    if let s = metadata["input_size"] {
      let v = s.trimmingCharacters(in: "[]() ").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "x" }).compactMap { Int($0) }
      if v.count == 3 { return ((v[1], v[2]), .metadata) }
      if v.count == 2 { return ((v[0], v[1]), .metadata) }
      if v.count == 1 { return ((v[0], v[0]), .metadata) }
    }
    if let a = pretrained?["input_size"]?.arrayValue?.compactMap({ $0.intValue }), a.count == 3 { return ((a[1], a[2]), .configJSON) }
    if let n = config?["image_size"]?.intValue { return ((n, n), .configJSON) }
    return nil
  }

  var labels: (value: [String], source: ConfigSource)? {
    if let s = metadata["labels"], let parsed = try? JSONParser.parse(s), let a = parsed.arrayValue {
      let l = a.compactMap(\.stringValue)
      if l.count == a.count { return (l, .metadata) }
    }
    if let a = config?["label_names"]?.arrayValue ?? pretrained?["label_names"]?.arrayValue {
      let l = a.compactMap(\.stringValue)
      if l.count == a.count, !l.isEmpty { return (l, .configJSON) }
    }
    if let members = config?["id2label"]?.objectValue {
      let pairs = members.compactMap { k, v in Int(k).flatMap { i in v.stringValue.map { (i, $0) } } }
      if pairs.count == members.count, Set(pairs.map(\.0)) == Set(0..<pairs.count) {
        return (pairs.sorted { $0.0 < $1.0 }.map(\.1), .configJSON)
      }
    }
    return nil
  }
}

extension String {
  func trimmingCharacters(in set: String) -> String {
    let chars = Set(set)
    var s = Substring(self)
    while let f = s.first, chars.contains(f) { s = s.dropFirst() }
    while let l = s.last, chars.contains(l) { s = s.dropLast() }
    return String(s)
  }
}

/// Reads a whole file if it exists and is at most `limit` bytes.
public func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
    if n == 0 { break }
    bytes += chunk[0..<n]
    if bytes.count > limit { return nil }
  }
  return bytes
}
