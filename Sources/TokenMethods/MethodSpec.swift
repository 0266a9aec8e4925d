// Method specs: one shell word each ("none", later "tome:r=13", "evit:keep=0.7,layers=3/6/9"), parsed in one place
// and printed back in canonical form in every report. Lists use "/" and ranges use "-".
import ViTEngine

/// A parameter a method accepts, with its default and a one-line help.
public struct MethodParameter: Sendable {
  public let key: String
  public let defaultValue: String
  public let help: String
  public init(_ key: String, default defaultValue: String, _ help: String) {
    self.key = key; self.defaultValue = defaultValue; self.help = help
  }
}

/// One entry of the method registry: what the method is called, what it accepts, and how to build its policy.
public struct MethodDescriptor: Sendable {
  public let name: String
  public let summary: String
  public let parameters: [MethodParameter]
  /// Builds the policy for a model of `depth` blocks from validated parameters (every key present, defaults filled).
  public let makePolicy: @Sendable (_ params: [String: String], _ depth: Int) throws(MethodSpecError) -> any TokenPolicy
  /// A cascade of input grids around the forward pass (DVT); nil for methods that run once.
  public let makeCascade: (@Sendable (_ params: [String: String]) throws(MethodSpecError) -> Cascade)?
  /// A change to the model before it runs (UP-ViT's pruning); nil for methods that run the model as it is.
  public let prepareModel: (@Sendable (_ params: [String: String], _ model: ViTModel) throws -> (ViTModel, PruningSummary))?

  public init(name: String, summary: String, parameters: [MethodParameter],
              makeCascade: (@Sendable ([String: String]) throws(MethodSpecError) -> Cascade)? = nil,
              prepareModel: (@Sendable ([String: String], ViTModel) throws -> (ViTModel, PruningSummary))? = nil,
              makePolicy: @escaping @Sendable ([String: String], Int) throws(MethodSpecError) -> any TokenPolicy) {
    self.name = name; self.summary = summary; self.parameters = parameters
    self.makeCascade = makeCascade; self.prepareModel = prepareModel; self.makePolicy = makePolicy
  }
}

public struct MethodSpecError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

public struct MethodSpec: Sendable, Equatable, CustomStringConvertible {
  public let name: String
  /// Every parameter of the method, defaults filled in, in the registry's order.
  public let params: [(key: String, value: String)]

  public static func == (a: MethodSpec, b: MethodSpec) -> Bool { a.canonical == b.canonical }

  /// The canonical form: name, then every parameter in registry order ("none" has none).
  public var canonical: String {
    params.isEmpty ? name : name + ":" + params.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
  }
  public var description: String { canonical }

  public var descriptor: MethodDescriptor { MethodRegistry.descriptor(named: name)! }

  /// DVT's cascade of this spec, or nil for methods that run once.
  public var cascade: Cascade? { try? descriptor.makeCascade?(parameterDictionary) }

  public var parameterDictionary: [String: String] { Dictionary(uniqueKeysWithValues: params.map { ($0.key, $0.value) }) }

  public func makePolicy(depth: Int) throws(MethodSpecError) -> any TokenPolicy {
    try descriptor.makePolicy(parameterDictionary, depth)
  }

  public static let baseline = try! MethodSpec.parse("none")

  /// The same spec with `key` set to `value` (validated like any parsed spec).
  public func setting(_ key: String, to value: String) throws(MethodSpecError) -> MethodSpec {
    try MethodSpec.parse(name + ":" + params.map { "\($0.key)=\($0.key == key ? value : $0.value)" }.joined(separator: ","))
  }

  /// Parses "name" or "name:key=value,key=value".
  public static func parse(_ text: String) throws(MethodSpecError) -> MethodSpec {
    let trimmed = text.trimmingSpaces()
    let (name, rest): (Substring, Substring?) = {
      if let colon = trimmed.firstIndex(of: ":") { return (trimmed[..<colon], trimmed[trimmed.index(after: colon)...]) }
      return (Substring(trimmed), nil)
    }()
    guard let descriptor = MethodRegistry.descriptor(named: String(name).lowercased()) else {
      throw MethodSpecError("unknown method '\(name)' in '\(text)'; valid methods: \(MethodRegistry.all.map(\.name).joined(separator: ", "))")
    }
    var given: [String: String] = [:]
    if let rest, !rest.isEmpty {
      for pair in rest.split(separator: ",", omittingEmptySubsequences: false) {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let validKeys = descriptor.parameters.map(\.key)
        let keyList = validKeys.isEmpty ? "it takes no parameters" : "valid keys: \(validKeys.joined(separator: ", "))"
        guard kv.count == 2, !kv[0].isEmpty else {  // an empty value is allowed: `layers=` means no blocks
          throw MethodSpecError("bad parameter '\(pair)' in '\(text)': expected key=value; \(descriptor.name) \(keyList)")
        }
        let key = String(kv[0]).lowercased()
        guard validKeys.contains(key) else {
          throw MethodSpecError("unknown key '\(kv[0])' for method \(descriptor.name) in '\(text)'; \(keyList)")
        }
        guard given[key] == nil else { throw MethodSpecError("key '\(key)' given twice in '\(text)'") }
        given[key] = String(kv[1])
      }
    }
    let params = descriptor.parameters.map { (key: $0.key, value: given[$0.key] ?? $0.defaultValue) }
    let spec = MethodSpec(name: descriptor.name, params: params)
    // Validate values now (against a 12-block model), so a bad spec fails before any work starts.
    _ = try spec.makePolicy(depth: 12)
    _ = try descriptor.makeCascade?(spec.parameterDictionary)
    return spec
  }
}

public enum MethodRegistry {
  /// Each method's main parameter and the values `eval --sweep` tries: ToMe's r over the paper's range for DeiT
  /// (r = 13 is its default), keep rates from light to heavy reduction. nil for methods with nothing to sweep.
  public static func sweep(forMethod name: String) -> (key: String, values: [String])? {
    switch name {
    case "tome": return ("r", ["2", "4", "6", "8", "10", "13", "16"])
    case "evit", "idle", "mstm": return ("keep", ["0.9", "0.8", "0.7", "0.6", "0.5", "0.4"])
    case "clustr": return ("clusters", ["147", "98", "49", "25", "12"])
    case "dvt": return ("thresholds", ["0.9/0.9", "0.85/0.85", "0.8/0.8", "0.8/0.7", "0.7/0.6", "0.6/0.5", "0.5/0.4"])
    case "upvit": return ("mlp-ratio", ["3.5", "3", "2.5", "2", "1.5", "1"])
    default: return nil
    }
  }

  public static let all: [MethodDescriptor] = [
    MethodDescriptor(name: "none", summary: "the baseline: every token through every block", parameters: []) { _, _ in NoReduction() },
    MethodDescriptor(
      name: "tome", summary: "ToMe token merging: merge r tokens per block by key similarity (bipartite matching)",
      parameters: [
        MethodParameter("r", default: "13", "tokens merged per block (capped at half the non-prefix tokens)"),
        MethodParameter("schedule", default: "constant", "constant (r in every block) or decreasing (2r down to 0, ToMe's (r, -1))"),
        MethodParameter("prop", default: "true", "proportional attention: add log(token size) to the attention logits"),
      ]
    ) { p, depth throws(MethodSpecError) in
      ToMePolicy(r: try Parse.int(p, "r", method: "tome", range: 0...100_000), depth: depth,
                 decreasing: try Parse.choice(p, "schedule", method: "tome", ["constant", "decreasing"]) == "decreasing",
                 proportionalAttention: try Parse.bool(p, "prop", method: "tome"))
    },
    MethodDescriptor(
      name: "evit", summary: "EViT: keep the tokens the CLS token attends to most, fuse the rest into one",
      parameters: [
        MethodParameter("keep", default: "0.7", "keep rate: ceil(keep * (N - 1)) tokens survive each reduction block"),
        MethodParameter("layers", default: "3/6/9", "reduction blocks, 0-based"),
        MethodParameter("fuse", default: "true", "inattentive-token fusion: add the attention-weighted sum of the dropped tokens"),
      ]
    ) { p, _ throws(MethodSpecError) in
      EViTPolicy(keepRate: try Parse.fraction(p, "keep", method: "evit"), layers: try Parse.layers(p, "layers", method: "evit"),
                 fuse: try Parse.bool(p, "fuse", method: "evit"))
    },
    MethodDescriptor(
      name: "idle", summary: "IdleViT: only the tokens the CLS query scores highest take part in a block; the rest idle and may return",
      parameters: [
        MethodParameter("keep", default: "0.7", "keep rate: int(P * keep^s) patches active in stage s = 1, 2, 3"),
        MethodParameter("layers", default: "3-11", "idle blocks, split into three equal stages [recon when not a multiple of 3]"),
      ]
    ) { p, _ throws(MethodSpecError) in
      IdleViTPolicy(keepRate: try Parse.fraction(p, "keep", method: "idle"), layers: try Parse.layers(p, "layers", method: "idle"))
    },
    MethodDescriptor(
      name: "mstm",
      summary: "MSTM token mergence [recon]: merge non-crucial tokens into their most similar crucial token (no multi-scale fusion: it needs learned weights)",
      parameters: [
        MethodParameter("keep", default: "0.7", "share of tokens kept as crucial: ceil(keep * (N - 1))"),
        MethodParameter("layers", default: "3/6/9", "reduction blocks, 0-based"),
        MethodParameter("weight", default: "importance", "merge weights: importance (CLS attention x size) or size (ToMe-style) [recon]"),
        MethodParameter("prop", default: "true", "proportional attention: add log(token size) to the attention logits"),
      ]
    ) { p, _ throws(MethodSpecError) in
      MSTMPolicy(keepRate: try Parse.fraction(p, "keep", method: "mstm"), layers: try Parse.layers(p, "layers", method: "mstm"),
                 importanceWeighted: try Parse.choice(p, "weight", method: "mstm", ["importance", "size"]) == "importance",
                 proportionalAttention: try Parse.bool(p, "prop", method: "mstm"))
    },
    MethodDescriptor(
      name: "clustr",
      summary: "ClusTR clustered attention [recon]: keys and values from DPC-kNN clusters of the patches; every token still queries",
      parameters: [
        MethodParameter("clusters", default: "49", "key/value clusters per block (M); M >= patches means plain attention"),
        MethodParameter("k", default: "5", "DPC-kNN neighbours for the local density (TCFormer's default)"),
        MethodParameter("layers", default: "all", "clustered blocks, 0-based, or all [recon: the paper's backbone clusters everywhere]"),
      ]
    ) { p, _ throws(MethodSpecError) in
      ClusTRPolicy(clusters: try Parse.int(p, "clusters", method: "clustr", range: 1...1_000_000),
                   neighbours: try Parse.int(p, "k", method: "clustr", range: 1...1_000_000),
                   layers: p["layers"] == "all" ? nil : try Parse.layers(p, "layers", method: "clustr"))
    },
    MethodDescriptor(
      name: "dvt",
      summary: "DVT early exit [recon]: one model run on growing token grids; stop at the first stage whose top softmax probability reaches its threshold",
      parameters: [
        MethodParameter("thresholds", default: "0.8/0.7", "exit thresholds on the maximum softmax probability, one per stage but the last (which always exits)"),
        MethodParameter("grids", default: "7/10/14", "token grid side of each stage, growing; the image is preprocessed at grid x patch pixels and the position embeddings resampled as timm does (no feature or relation reuse: those are learned)"),
      ],
      makeCascade: { p throws(MethodSpecError) in try Parse.cascade(p) }
    ) { p, _ throws(MethodSpecError) in
      _ = try Parse.cascade(p)
      return NoReduction()
    },
    MethodDescriptor(
      name: "upvit",
      summary: "UP-ViT structural pruning: drop the attention channels, MLP units and embedding channels with the lowest KL-ablation importance (tokenscope prune), then run the smaller dense model",
      parameters: [
        MethodParameter("importance", default: "auto", "importance file from tokenscope prune --importance-out; auto: CHECKPOINT.importance.json beside the checkpoint"),
        MethodParameter("heads", default: "keep", "heads per block after pruning, each of the original head width (UP-ViT's channel groups): keep, N, or one per block a/b/c"),
        MethodParameter("mlp-ratio", default: "3", "MLP units kept per block: floor(ratio x embed width), or keep"),
        MethodParameter("embed", default: "keep", "embedding channels kept, or keep"),
      ],
      prepareModel: { p, model in try UPViTMethod.prepare(p, model: model) }
    ) { p, _ throws(MethodSpecError) in
      _ = try Parse.pruningTargets(p)
      return NoReduction()
    },
  ]

  public static func descriptor(named name: String) -> MethodDescriptor? { all.first { $0.name == name } }

  /// The help text listing every method and its keys (used by --help and error messages).
  public static var helpText: String {
    all.map { d in
      let keys = d.parameters.map { "    \($0.key)=\($0.defaultValue)  \($0.help)" }
      return (["  \(d.name): \(d.summary)"] + keys).joined(separator: "\n")
    }.joined(separator: "\n")
  }
}

extension StringProtocol {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first == " " { s = s.dropFirst() }
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
