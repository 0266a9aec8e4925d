// Builds a ViTModel from a safetensors checkpoint: detects the naming scheme, reads widths from tensor shapes (per
// block, so structurally pruned models load), resolves the configuration, converts to Float32 and packs the weights.
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
  public init(heads: [Int]? = nil) { self.heads = heads }
}

public enum ModelLoader {
  public static func load(path: String, options: LoadOptions = LoadOptions()) throws(CheckpointError) -> ViTModel {
    let file = try SafetensorsFile(path: path)
    return try load(file: file, options: options)
  }

  public static func load(file: SafetensorsFile, options: LoadOptions = LoadOptions()) throws(CheckpointError) -> ViTModel {
    var reader = try WeightReader(file: file)
    return try reader.build(options: options)
  }
}

/// Reads canonical (timm) names through the detected scheme, checking shapes as it goes.
struct WeightReader {
  let file: SafetensorsFile
  let scheme: NamingScheme
  let prefix: String
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
    if infos.count == 1 { return infos[0].shape }
    var s = infos[0].shape
    guard !s.isEmpty, infos.allSatisfy({ $0.shape.count == s.count && Array($0.shape.dropFirst()) == Array(s.dropFirst()) }) else {
      throw .inconsistent(path: path, reason: "query/key/value tensors of \(displayName(canonical)) have different shapes \(infos.map(\.shape))")
    }
    s[0] = infos.reduce(0) { $0 + $1.shape[0] }
    return s
  }

  /// Reads a tensor as Float32 and checks its shape.
  func floats(_ canonical: String, shape expected: [Int]) throws(CheckpointError) -> [Float] {
    let got = try shape(canonical)
    guard got == expected else {
      throw .badShape(path: path, tensor: displayName(canonical), expected: "\(expected)", got: got)
    }
    guard let infos = infos(canonical) else { throw .missingTensor(path: path, tensor: displayName(canonical), scheme: scheme.rawValue) }
    var out: [Float] = []
    out.reserveCapacity(expected.reduce(1, *))
    for info in infos { out += try file.floats(info) }
    return out
  }

  func optionalFloats(_ canonical: String, shape expected: [Int]) throws(CheckpointError) -> [Float]? {
    has(canonical) ? try floats(canonical, shape: expected) : nil
  }

  mutating func build(options: LoadOptions) throws(CheckpointError) -> ViTModel {
    let config = ConfigSources(file: file, scheme: scheme)
    var sources: [String: ConfigSource] = [:]

    for unsupported in ["fc_norm.weight", "blocks.0.attn.q_norm.weight", "blocks.0.attn.k_norm.weight"]
    where file.tensors[prefix + unsupported] != nil {
      throw .unrecognized(path: path, reason: "tensor '\(prefix + unsupported)' belongs to a ViT variant tokenscope does not run (average-pooled heads and qk-norm are not supported)")
    }

    // Patch embedding: [C, Cin, p, p].
    let stemShape = try shape("patch_embed.proj.weight")
    guard stemShape.count == 4, stemShape[2] == stemShape[3], stemShape[0] > 0, stemShape[1] > 0, stemShape[2] > 0 else {
      throw .badShape(path: path, tensor: displayName("patch_embed.proj.weight"), expected: "[C, Cin, p, p]", got: stemShape)
    }
    let c = stemShape[0], cin = stemShape[1], p = stemShape[2]
    let stemWeight = try floats("patch_embed.proj.weight", shape: stemShape)
    let stemBias = try optionalFloats("patch_embed.proj.bias", shape: [c])

    // Prefix tokens: cls, dist, registers.
    var prefixTokens: [[Float]] = []
    var prefixNames: [String] = []
    if let cls = try optionalFloats("cls_token", shape: [1, 1, c]) { prefixTokens.append(cls); prefixNames.append("cls") }
    if let dist = try optionalFloats("dist_token", shape: [1, 1, c]) { prefixTokens.append(dist); prefixNames.append("dist") }
    let hasDist = has("dist_token")
    if has("reg_token") {
      let s = try shape("reg_token")
      guard s.count == 3, s[0] == 1, s[2] == c, s[1] > 0 else {
        throw .badShape(path: path, tensor: displayName("reg_token"), expected: "[1, R, \(c)]", got: s)
      }
      let regs = try floats("reg_token", shape: s)
      for r in 0..<s[1] { prefixTokens.append(Array(regs[(r * c)..<((r + 1) * c)])); prefixNames.append("reg\(r)") }
    }
    guard !prefixTokens.isEmpty, has("cls_token") else {
      throw .missingTensor(path: path, tensor: displayName("cls_token"), scheme: scheme.rawValue + "; tokenscope needs a class token")
    }
    let prefix = prefixTokens.count

    // Position embedding: [1, T, C] with T = grid (no_embed_class), cls + grid (HF registers), or prefix + grid.
    let posShape = try shape("pos_embed")
    guard posShape.count == 3, posShape[0] == 1, posShape[2] == c else {
      throw .badShape(path: path, tensor: displayName("pos_embed"), expected: "[1, T, \(c)]", got: posShape)
    }
    let posTokens = posShape[1]
    let inputFromConfig = config.inputSize(channels: cin)
    // Fuzzing: the grid maths below (negative or overflowing products) and Preprocessing (allocation) trust this size.
    if let v = inputFromConfig, !(0...16384).contains(v.value.0) || !(0...16384).contains(v.value.1) {
      throw .inconsistent(path: path, reason: "input_size \(v.value.0)x\(v.value.1) (\(v.source.rawValue)) is outside 1...16384")
    }
    var posPrefix = -1
    var grid = GridSize(rows: 0, cols: 0)
    for candidate in Set([prefix, 1, 0]).sorted(by: >) where posTokens > candidate {
      let count = posTokens - candidate
      if let (h, w) = inputFromConfig?.value, h % p == 0, w % p == 0, (h / p) * (w / p) == count {
        posPrefix = candidate; grid = GridSize(rows: h / p, cols: w / p); break
      }
      let side = Int(Double(count).squareRoot().rounded())
      if side * side == count { posPrefix = candidate; grid = GridSize(rows: side, cols: side); break }
    }
    guard posPrefix >= 0 else {
      throw .inconsistent(path: path, reason: "pos_embed has \(posTokens) positions, which is not a square grid plus 0, 1 or \(prefix) prefix tokens")
    }
    let posEmbed = Matrix(rows: posTokens, cols: c, data: try floats("pos_embed", shape: posShape))

    // Blocks: count them, read widths per block from shapes.
    var depth = 0
    while has("blocks.\(depth).norm1.weight") || has("blocks.\(depth).attn.qkv.weight") { depth += 1 }
    guard depth > 0 else { throw .missingTensor(path: path, tensor: displayName("blocks.0.norm1.weight"), scheme: scheme.rawValue) }

    let eps: Float
    if let v = config.layerNormEps { eps = v.value; sources["layer_norm_eps"] = v.source } else {
      eps = scheme.defaultLayerNormEps; sources["layer_norm_eps"] = .scheme
    }

    var attentionWidths: [Int] = []
    for i in 0..<depth {
      let qkvShape = try shape("blocks.\(i).attn.qkv.weight")
      guard qkvShape.count == 2, qkvShape[0] % 3 == 0, qkvShape[0] > 0 else {
        throw .badShape(path: path, tensor: displayName("blocks.\(i).attn.qkv.weight"), expected: "[3A, \(c)]", got: qkvShape)
      }
      guard qkvShape[1] == c else {
        throw .inconsistent(path: path, reason: "block \(i) qkv takes \(qkvShape[1]) inputs but the embedding width is \(c) (inconsistent widths)")
      }
      attentionWidths.append(qkvShape[0] / 3)
    }

    // Heads: --heads, else metadata/config, else width / 64.
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

    var blocks: [BlockWeights] = []
    for i in 0..<depth {
      let b = "blocks.\(i)."
      let a = attentionWidths[i]
      let fc1Shape = try shape(b + "mlp.fc1.weight")
      guard fc1Shape.count == 2, fc1Shape[1] == c, fc1Shape[0] > 0 else {
        throw .badShape(path: path, tensor: displayName(b + "mlp.fc1.weight"), expected: "[F, \(c)]", got: fc1Shape)
      }
      let f = fc1Shape[0]
      let norm1 = LayerNormWeights(gamma: try floats(b + "norm1.weight", shape: [c]), beta: try floats(b + "norm1.bias", shape: [c]), eps: eps)
      let qkv = LinearLayer(weight: try floats(b + "attn.qkv.weight", shape: [3 * a, c]),
                            bias: try optionalFloats(b + "attn.qkv.bias", shape: [3 * a]), outFeatures: 3 * a, inFeatures: c)
      let proj = LinearLayer(weight: try floats(b + "attn.proj.weight", shape: [c, a]),
                             bias: try optionalFloats(b + "attn.proj.bias", shape: [c]), outFeatures: c, inFeatures: a)
      let norm2 = LayerNormWeights(gamma: try floats(b + "norm2.weight", shape: [c]), beta: try floats(b + "norm2.bias", shape: [c]), eps: eps)
      let fc1 = LinearLayer(weight: try floats(b + "mlp.fc1.weight", shape: [f, c]),
                            bias: try optionalFloats(b + "mlp.fc1.bias", shape: [f]), outFeatures: f, inFeatures: c)
      let fc2 = LinearLayer(weight: try floats(b + "mlp.fc2.weight", shape: [c, f]),
                            bias: try optionalFloats(b + "mlp.fc2.bias", shape: [c]), outFeatures: c, inFeatures: f)
      blocks.append(BlockWeights(
        norm1: norm1, qkv: qkv, heads: heads[i], headDim: a / heads[i], proj: proj,
        layerScale1: try optionalFloats(b + "ls1.gamma", shape: [c]), norm2: norm2, fc1: fc1, fc2: fc2,
        layerScale2: try optionalFloats(b + "ls2.gamma", shape: [c])))
    }
    if has("blocks.\(depth).mlp.fc1.weight") || has("blocks.\(depth).attn.proj.weight") {
      throw .missingTensor(path: path, tensor: displayName("blocks.\(depth).norm1.weight"), scheme: scheme.rawValue)
    }

    let norm = LayerNormWeights(gamma: try floats("norm.weight", shape: [c]), beta: try floats("norm.bias", shape: [c]), eps: eps)

    // Heads: absent means a headless backbone (features only).
    var head: LinearLayer? = nil, headDist: LinearLayer? = nil
    var headInput = HeadInput.classToken
    var classes = 0
    if has("head.weight") {
      let s = try shape("head.weight")
      guard s.count == 2, s[0] > 0, s[1] == c || (s[1] == 2 * c && scheme == .hfDinov2) else {
        throw .badShape(path: path, tensor: displayName("head.weight"), expected: "[classes, \(c)]", got: s)
      }
      classes = s[0]
      if s[1] == 2 * c { headInput = .classTokenAndPatchMean }
      head = LinearLayer(weight: try floats("head.weight", shape: s), bias: try optionalFloats("head.bias", shape: [classes]),
                         outFeatures: classes, inFeatures: s[1])
      if has("head_dist.weight") {
        guard hasDist else {
          throw .inconsistent(path: path, reason: "\(displayName("head_dist.weight")) present without a distillation token")
        }
        headDist = LinearLayer(weight: try floats("head_dist.weight", shape: [classes, c]),
                               bias: try optionalFloats("head_dist.bias", shape: [classes]), outFeatures: classes, inFeatures: c)
      }
    }

    let shape = ModelShape(embedDim: c, inChannels: cin, patchSize: p, grid: grid, prefixTokens: prefix, heads: heads,
                           headDim: zip(attentionWidths, heads).map { $0 / $1 }, mlpHidden: blocks.map(\.mlpHidden),
                           classes: classes, distilledHead: headDist != nil, headInput: headInput)

    // Preprocessing and labels.
    let inputSize: (Int, Int)
    if let v = inputFromConfig, v.value.0 > 0, v.value.1 > 0 { inputSize = v.value; sources["input_size"] = v.source } else {
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
    var labels = config.labels?.value
    if let l = labels, l.count != classes { labels = nil }
    if labels == nil, classes == 1000 { labels = ImageNetLabels.names }
    sources["labels"] = config.labels?.source ?? (labels != nil ? .defaults : nil)
    let info = ModelInfo(
      path: path, scheme: scheme, layerNormEps: eps, inputSize: inputSize, mean: mean, std: std,
      cropPct: config.cropPct?.value, interpolation: config.interpolation?.value ?? "bicubic", labels: labels,
      sources: sources, prefixNames: prefixNames, metadata: file.metadata)

    return ViTModel(
      info: info, shape: shape,
      patchEmbed: LinearLayer(weight: stemWeight, bias: stemBias, outFeatures: c, inFeatures: cin * p * p),
      prefixTokens: prefixTokens, posEmbed: posEmbed, posPrefix: posPrefix, blocks: blocks, norm: norm, head: head,
      headDist: headDist)
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
