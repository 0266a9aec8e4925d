// A method as the rest of tokenscope sees it: one descriptor (name, help, typed parameters, sweep values, the
// explorer's step and presets, the level it acts at) and a typed configuration that the descriptor builds from parsed
// values. Each method lives in one file under Methods/ and is registered by one line in MethodRegistry.
import ViTEngine

/// Where a method acts.
public enum MethodLevel: String, Sendable, CaseIterable {
  /// Changes the model before it runs (UP-ViT's structural pruning).
  case modelTransform = "model transform"
  /// Runs the model several times around the forward pass (DVT's cascade of grids).
  case cascade
  /// Acts inside every block through the phases of a TokenPolicy (ToMe, EViT, IdleViT, MSTM, ClusTR).
  case tokenPolicy = "token policy"
}

/// A model transformed by a method, with what it removed block by block.
public struct TransformedModel: Sendable {
  public let model: ViTModel
  public let pruning: PruningSummary
  public init(model: ViTModel, pruning: PruningSummary) { self.model = model; self.pruning = pruning }
}

/// What a configured method does to a model of a given depth.
public enum MethodAction: Sendable {
  case tokenPolicy(any TokenPolicy)
  case cascade(Cascade)
  case modelTransform(@Sendable (ViTModel) throws -> TransformedModel)

  public var level: MethodLevel {
    switch self {
    case .tokenPolicy: return .tokenPolicy
    case .cascade: return .cascade
    case .modelTransform: return .modelTransform
    }
  }
}

/// A method's typed configuration, built once from a parsed spec.
public protocol MethodConfiguration: Sendable {
  /// What the method does to a model of `depth` blocks; its case matches the descriptor's level.
  func action(depth: Int) -> MethodAction
  /// What the method does to `model` itself: a method whose settings live in a file beside the checkpoint (DToMe's
  /// calibrated thresholds) reads it here. The default is `action(depth:)`.
  func action(for model: ViTModel) throws -> MethodAction
  /// Checks the values against a model of `depth` blocks with `prefix` prefix tokens, run on `grid`, where the spec
  /// alone cannot tell whether they fit (VisionZip's token budget needs the patch count). The default accepts all.
  func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError)
}

extension MethodConfiguration {
  public func action(for model: ViTModel) throws -> MethodAction { action(depth: model.depth) }
  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {}
}

/// A file a method reads beside the checkpoint or from its spec (DToMe's thresholds) is missing or unusable.
public struct MethodFileError: Error, Equatable, CustomStringConvertible {
  public let message: String
  /// The file does not exist (exit 66 rather than 65).
  public let isMissing: Bool
  public init(_ message: String, isMissing: Bool = false) { self.message = message; self.isMissing = isMissing }
  public var description: String { message }
}

/// How the explorer's `+`/`-` move a method's main parameter.
public enum ParameterStep: Sendable {
  /// Adds `by` per step to an integer parameter, kept in its range.
  case integer(key: String, by: Int)
  /// Adds `by` per step to a real parameter (rounded to hundredths), kept in its range and at least `by`.
  case real(key: String, by: Double)
  /// Moves along the sweep values; `+` goes towards the larger setting (the sweep runs from large to small).
  case alongSweep
}

/// The values `eval --sweep` tries for a method's main parameter.
public struct SweepAxis: Sendable {
  public let key: String
  /// Canonical texts, from the lightest reduction to the heaviest.
  public let values: [String]
  public init(key: String, values: [String]) { self.key = key; self.values = values }
}

/// Typed access to a spec's parsed values, for a descriptor's `configure`. The spec parser has already checked each
/// value against its parameter's kind, so a getter that finds another kind is a programming error in the descriptor.
public struct ParameterValues: Sendable {
  let method: String
  let entries: [(key: String, value: ParameterValue)]

  public subscript(key: String) -> ParameterValue {
    guard let v = entries.first(where: { $0.key == key })?.value else { preconditionFailure("\(method) has no parameter '\(key)'") }
    return v
  }
  public func integer(_ key: String) -> Int { unwrap(self[key].intValue, key, "integer") }
  public func real(_ key: String) -> Double { unwrap(self[key].doubleValue, key, "real") }
  public func flag(_ key: String) -> Bool { unwrap(self[key].boolValue, key, "flag") }
  public func choice(_ key: String) -> String { unwrap(self[key].choiceValue, key, "choice") }
  /// Block indices; nil means every block.
  public func blocks(_ key: String) -> [Int]? { unwrap(self[key].blocksValue, key, "blocks") }
  public func list(_ key: String) -> [ParameterValue] { unwrap(self[key].listValue, key, "list") }

  private func unwrap<T>(_ v: T?, _ key: String, _ kind: String) -> T {
    guard let v else { preconditionFailure("\(method): parameter '\(key)' is not a \(kind)") }
    return v
  }
}

public struct MethodDescriptor: Sendable {
  public let name: String
  /// One line of help.
  public let summary: String
  public let level: MethodLevel
  public let parameters: [MethodParameter]
  /// Reconstruction choices of the method as a whole ([recon]): what the paper or the official code leaves open,
  /// or what this emulation does differently, and why.
  public let reconNotes: [String]
  public let sweep: SweepAxis?
  public let step: ParameterStep?
  /// Specs the explorer's `m` cycles through for this method (the first is the method with its defaults).
  public let presets: [String]
  let configure: @Sendable (ParameterValues) throws(MethodSpecError) -> any MethodConfiguration

  public init(name: String, summary: String, level: MethodLevel, parameters: [MethodParameter] = [],
              reconNotes: [String] = [], sweep: SweepAxis? = nil, step: ParameterStep? = nil, presets: [String]? = nil,
              configure: @escaping @Sendable (ParameterValues) throws(MethodSpecError) -> any MethodConfiguration) {
    self.name = name; self.summary = summary; self.level = level; self.parameters = parameters
    self.reconNotes = reconNotes; self.sweep = sweep; self.step = step; self.presets = presets ?? [name]
    self.configure = configure
  }

  /// Every [recon] note: the method's own, then each parameter's ("key: note").
  public var allReconNotes: [String] {
    reconNotes + parameters.compactMap { p in p.recon.map { "\(p.key): \($0)" } }
  }

  /// The help block of this method: summary, then one line per parameter.
  public var helpText: String {
    let keys = parameters.map { p in
      "    \(p.key)=\(p.defaultValue)  \(p.help)" + (p.recon.map { " [recon: \($0)]" } ?? "")
    }
    let recon = reconNotes.map { "    [recon] \($0)" }
    return (["  \(name): \(summary)"] + keys + recon).joined(separator: "\n")
  }
}
