// Method specs: one shell word each ("none", "tome:r=13", "evit:keep=0.7,layers=3/6/9"), parsed once into typed
// values and a typed configuration, and printed back in canonical form in every report. A spec is a Hashable value:
// runs and caches are keyed by it.
import ViTEngine

/// Why a spec was refused; every case names the spec, method, parameter or value at fault.
public enum MethodSpecError: Error, Equatable, CustomStringConvertible {
  case unknownMethod(name: String, spec: String)
  /// A parameter that is not key=value.
  case malformedParameter(text: String, spec: String, method: String)
  case unknownKey(key: String, spec: String, method: String)
  case repeatedKey(key: String, spec: String)
  /// A value that does not fit its parameter's kind.
  case invalidValue(method: String, key: String, value: String, expected: String)
  /// Values that fit their kinds but not each other (DVT: one threshold per stage but the last).
  case inconsistent(method: String, key: String, value: String, expected: String)
  /// A plan that needs the image at a grid that was not given.
  case gridUnavailable(spec: String, needed: GridSize, available: GridSize)
  /// Blocks named explicitly that the model does not have.
  case blocksOutOfRange(method: String, key: String, value: String, depth: Int)
  /// A method that cannot run on this kind of model, and why.
  case unsuitableModel(method: String, reason: String)

  public var description: String {
    switch self {
    case .unknownMethod(let name, let spec):
      return "unknown method '\(name)' in '\(spec)'; valid methods: \(MethodRegistry.names.joined(separator: ", "))"
    case .malformedParameter(let text, let spec, let method):
      return "bad parameter '\(text)' in '\(spec)': expected key=value; \(method) \(Self.keyList(method))"
    case .unknownKey(let key, let spec, let method):
      return "unknown key '\(key)' for method \(method) in '\(spec)'; \(Self.keyList(method))"
    case .repeatedKey(let key, let spec):
      return "key '\(key)' given twice in '\(spec)'"
    case .invalidValue(let method, let key, let value, let expected):
      return "\(method): \(key)=\(value) must be \(expected)"
    case .inconsistent(let method, let key, let value, let expected):
      return "\(method): \(key)=\(value): expected \(expected)"
    case .gridUnavailable(let spec, let needed, let available):
      return "\(spec) needs the image at grid \(needed); only \(available) was given"
    case .unsuitableModel(let method, let reason):
      return "\(method): \(reason)"
    case .blocksOutOfRange(let method, let key, let value, let depth):
      return "\(method): \(key)=\(value) names blocks the model does not have; this model has \(depth) blocks, 0-\(depth - 1) (0-based)"
    }
  }

  static func keyList(_ method: String) -> String {
    let keys = MethodRegistry.descriptor(named: method)?.parameters.map(\.key) ?? []
    return keys.isEmpty ? "it takes no parameters" : "valid keys: \(keys.joined(separator: ", "))"
  }
}

public struct MethodSpec: Hashable, Sendable, CustomStringConvertible {
  public let descriptor: MethodDescriptor
  /// One value per parameter of the method, in the registry's order, defaults filled in.
  public let values: [ParameterValue]
  /// The typed configuration, built once when the spec was parsed.
  public let configuration: any MethodConfiguration
  /// The keys whose values were written out rather than defaulted (not part of equality: `tome` and `tome:r=13` are
  /// the same spec). Explicit block lists must fit the model; defaults are clamped to it.
  public let explicitKeys: Set<String>

  public var name: String { descriptor.name }
  public var level: MethodLevel { descriptor.level }

  /// Each parameter with its value, in the registry's order.
  public var parameters: [(key: String, value: ParameterValue)] {
    zip(descriptor.parameters, values).map { (key: $0.key, value: $1) }
  }

  public subscript(key: String) -> ParameterValue? { parameters.first { $0.key == key }?.value }

  /// The canonical form: name, then every parameter in registry order ("none" has none; one marked omittedAtDefault
  /// only when set otherwise). It parses back to an equal spec.
  public var canonical: String {
    let shown = zip(descriptor.parameters, values).filter { !$0.0.omittedAtDefault || $0.1 != $0.0.defaultValue }
    return shown.isEmpty ? name : name + ":" + shown.map { "\($0.0.key)=\($0.1)" }.joined(separator: ",")
  }
  public var description: String { canonical }

  public static func == (a: MethodSpec, b: MethodSpec) -> Bool { a.name == b.name && a.values == b.values }
  public func hash(into hasher: inout Hasher) { hasher.combine(name); hasher.combine(values) }

  /// What the method does to a model of `depth` blocks.
  public func action(depth: Int) -> MethodAction { configuration.action(depth: depth) }

  /// The token policy for a model of `depth` blocks (the baseline's for methods at other levels).
  public func makePolicy(depth: Int) -> any TokenPolicy {
    if case .tokenPolicy(let policy) = action(depth: depth) { return policy }
    return NoReduction()
  }

  /// The cascade of a cascade method (DVT), nil for the others.
  public var cascade: Cascade? {
    if case .cascade(let cascade) = action(depth: 0) { return cascade }
    return nil
  }

  public static let baseline = try! MethodSpec.parse("none")

  /// The same spec with `key` set to the value `text` (validated like any parsed spec).
  public func setting(_ key: String, to text: String) throws(MethodSpecError) -> MethodSpec {
    guard let i = descriptor.parameters.firstIndex(where: { $0.key == key }) else {
      throw .unknownKey(key: key, spec: canonical, method: name)
    }
    let parameter = descriptor.parameters[i]
    guard let value = parameter.kind.parse(text) else {
      throw .invalidValue(method: name, key: key, value: text, expected: parameter.kind.expected)
    }
    var values = values
    values[i] = value
    return try MethodSpec(descriptor: descriptor, values: values, explicitKeys: explicitKeys.union([key]))
  }

  init(descriptor: MethodDescriptor, values: [ParameterValue], explicitKeys: Set<String>) throws(MethodSpecError) {
    self.descriptor = descriptor
    self.values = values
    self.explicitKeys = explicitKeys
    let entries = zip(descriptor.parameters, values).map { (key: $0.key, value: $1) }
    self.configuration = try descriptor.configure(ParameterValues(method: descriptor.name, entries: entries))
  }

  /// Parses "name" or "name:key=value,key=value".
  public static func parse(_ text: String) throws(MethodSpecError) -> MethodSpec {
    let trimmed = text.trimmingSpaces()
    let (name, rest): (Substring, Substring?) = {
      if let colon = trimmed.firstIndex(of: ":") { return (trimmed[..<colon], trimmed[trimmed.index(after: colon)...]) }
      return (Substring(trimmed), nil)
    }()
    guard let descriptor = MethodRegistry.descriptor(named: String(name).lowercased()) else {
      throw .unknownMethod(name: String(name), spec: text)
    }
    var given: [String: String] = [:]
    if let rest, !rest.isEmpty {
      for pair in rest.split(separator: ",", omittingEmptySubsequences: false) {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard kv.count == 2, !kv[0].isEmpty else { throw .malformedParameter(text: String(pair), spec: text, method: descriptor.name) }
        let key = String(kv[0]).lowercased()
        guard descriptor.parameters.contains(where: { $0.key == key }) else {
          throw .unknownKey(key: String(kv[0]), spec: text, method: descriptor.name)
        }
        guard given[key] == nil else { throw .repeatedKey(key: key, spec: text) }
        given[key] = String(kv[1])
      }
    }
    var values: [ParameterValue] = []
    for parameter in descriptor.parameters {
      guard let raw = given[parameter.key] else { values.append(parameter.defaultValue); continue }
      guard let value = parameter.kind.parse(raw) else {
        throw .invalidValue(method: descriptor.name, key: parameter.key, value: raw, expected: parameter.kind.expected)
      }
      values.append(value)
    }
    return try MethodSpec(descriptor: descriptor, values: values, explicitKeys: Set(given.keys))
  }

  /// Checks the spec against a model of `depth` blocks: every explicitly named block must exist.
  public func validate(depth: Int) throws(MethodSpecError) {
    for (parameter, value) in zip(descriptor.parameters, values) where explicitKeys.contains(parameter.key) {
      if case .blocks(let blocks?) = value, let last = blocks.last, last >= depth {
        throw .blocksOutOfRange(method: name, key: parameter.key, value: value.description, depth: depth)
      }
    }
  }

  /// The spec with its main parameter moved `step` steps (the explorer's `+`/`-`); nil when the method has no step or
  /// the value cannot move further.
  public func stepped(_ step: Int) -> MethodSpec? {
    switch descriptor.step {
    case nil:
      return nil
    case .integer(let key, let by)?:
      guard case .integer(let range) = kind(of: key), let v = self[key]?.intValue else { return nil }
      return try? setting(key, to: "\(min(range.upperBound, max(range.lowerBound, v + step * by)))")
    case .real(let key, let by)?:
      guard case .real(let range, _) = kind(of: key), let v = self[key]?.doubleValue else { return nil }
      let moved = ((v + Double(step) * by) * 100).rounded() / 100
      return try? setting(key, to: ParameterValue.format(min(range.upperBound, max(by, range.lowerBound, moved))))
    case .alongSweep?:
      guard let sweep = descriptor.sweep, !sweep.values.isEmpty, let current = self[sweep.key]?.description else { return nil }
      let next: Int
      if let index = sweep.values.firstIndex(of: current) {
        next = min(sweep.values.count - 1, max(0, index - step))
      } else if Double(current.split(separator: "/").first.map(String.init) ?? "") == nil {
        // A setting that is no number ("auto": DToMe's default calibration) steps from the middle of the list.
        next = min(sweep.values.count - 1, max(0, sweep.values.count / 2 - step))
      } else {
        // Off the list: the nearest listed value in the step's direction (compared by the first number: "0.8/0.7").
        func number(_ text: String) -> Double { Double(text.split(separator: "/").first.map(String.init) ?? "") ?? 0 }
        let c = number(current)
        next = step > 0 ? (sweep.values.lastIndex { number($0) > c } ?? 0) : (sweep.values.firstIndex { number($0) < c } ?? sweep.values.count - 1)
      }
      return try? setting(sweep.key, to: sweep.values[next])
    }
  }

  private func kind(of key: String) -> ParameterKind? { descriptor.parameters.first { $0.key == key }?.kind }
}

extension StringProtocol {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first == " " { s = s.dropFirst() }
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
