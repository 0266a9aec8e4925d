// Typed method parameters. A spec's text ("evit:keep=0.7,layers=3/6/9") is parsed once, against each parameter's
// kind, into `ParameterValue`s; every later use reads typed values, and the canonical text is printed back from them.
// Lists use "/" and ranges use "-".

/// What a parameter accepts.
public indirect enum ParameterKind: Sendable {
  case integer(ClosedRange<Int>)
  /// A real number in the range; `excludingLower` makes the lower bound open ((0, 1] for keep rates).
  case real(ClosedRange<Double>, excludingLower: Bool = false)
  /// true/false (also yes/no, on/off, 1/0).
  case flag
  case choice([String])
  /// 0-based block indices: "3/6/9", "3-11", "0-2/9", or "none" (also empty); "all" too when `allowsAll`.
  case blocks(allowsAll: Bool)
  /// Values of `element` separated by "/", between `count.lowerBound` and `count.upperBound` of them.
  case list(ParameterKind, count: ClosedRange<Int>)
  /// "keep" (leave this part of the model as it is) or a value of the inner kind.
  case keepOr(ParameterKind)
  /// "auto" (the method's own default, resolved per model) or a value of the inner kind.
  case autoOr(ParameterKind)
  /// "auto" (the method finds the file) or a file path.
  case fileOrAuto
  /// "auto", a value of the inner kind, or else a file path (DToMe's thresholds: auto, one per block, or a file).
  case autoValueOrFile(ParameterKind)

  /// What a value must look like, for error messages and help.
  public var expected: String {
    switch self {
    case .integer(let r): return "an integer in \(r.lowerBound)...\(r.upperBound)"
    case .real(let r, let open):
      return "a number in \(open ? "(" : "[")\(ParameterValue.format(r.lowerBound)), \(ParameterValue.format(r.upperBound))]"
    case .flag: return "true or false"
    case .choice(let options): return "one of \(options.joined(separator: ", "))"
    case .blocks(let all): return "block indices like 3/6/9 or a range like 3-11\(all ? ", or all" : ""), or none"
    case .list(let element, let count):
      let n = count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)"
      return "\(n) values separated by /, each \(element.expected)"
    case .keepOr(let inner): return "keep or \(inner.expected)"
    case .autoOr(let inner): return "auto or \(inner.expected)"
    case .fileOrAuto: return "auto or a file path"
    case .autoValueOrFile(let inner): return "auto, \(inner.expected), or a file path"
    }
  }

  /// Parses one value; nil when `text` does not fit.
  func parse(_ text: String) -> ParameterValue? {
    switch self {
    case .integer(let range):
      guard let v = Int(text), range.contains(v) else { return nil }
      return .integer(v)
    case .real(let range, let open):
      guard let v = Double(text), v.isFinite, range.contains(v), !(open && v == range.lowerBound) else { return nil }
      return .real(v)
    case .flag:
      switch text.lowercased() {
      case "true", "yes", "on", "1": return .flag(true)
      case "false", "no", "off", "0": return .flag(false)
      default: return nil
      }
    case .choice(let options):
      let v = text.lowercased()
      return options.contains(v) ? .choice(v) : nil
    case .blocks(let allowsAll):
      if allowsAll && text.lowercased() == "all" { return .blocks(nil) }
      return BlockList.parse(text).map { .blocks($0) }
    case .list(let element, let count):
      let parts = text.isEmpty ? [] : text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
      guard count.contains(parts.count) else { return nil }
      var values: [ParameterValue] = []
      for part in parts {
        guard let v = element.parse(part) else { return nil }
        values.append(v)
      }
      return .list(values)
    case .keepOr(let inner):
      return text.lowercased() == "keep" ? .keep : inner.parse(text)
    case .autoOr(let inner):
      return text.lowercased() == "auto" ? .auto : inner.parse(text)
    case .fileOrAuto:
      return text.isEmpty || text.lowercased() == "auto" ? .auto : .file(text)
    case .autoValueOrFile(let inner):
      if text.isEmpty || text.lowercased() == "auto" { return .auto }
      return inner.parse(text) ?? .file(text)
    }
  }
}

/// A parsed parameter value.
public enum ParameterValue: Hashable, Sendable, CustomStringConvertible {
  case integer(Int)
  case real(Double)
  case flag(Bool)
  case choice(String)
  /// Sorted, unique block indices; nil means every block.
  case blocks([Int]?)
  case list([ParameterValue])
  case keep
  case auto
  case file(String)

  /// The canonical text, which parses back to the same value.
  public var description: String {
    switch self {
    case .integer(let v): return "\(v)"
    case .real(let v): return ParameterValue.format(v)
    case .flag(let v): return v ? "true" : "false"
    case .choice(let v): return v
    case .blocks(let v): return v.map(BlockList.format) ?? "all"
    case .list(let values): return values.map(\.description).joined(separator: "/")
    case .keep: return "keep"
    case .auto: return "auto"
    case .file(let path): return path
    }
  }

  /// Shortest text that reads back as the same Double; whole numbers without ".0".
  static func format(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return "\(Int(v))" }
    return "\(v)"
  }

  public var intValue: Int? { if case .integer(let v) = self { return v } else { return nil } }
  public var doubleValue: Double? {
    switch self {
    case .real(let v): return v
    case .integer(let v): return Double(v)
    default: return nil
    }
  }
  public var boolValue: Bool? { if case .flag(let v) = self { return v } else { return nil } }
  public var choiceValue: String? { if case .choice(let v) = self { return v } else { return nil } }
  /// Block indices (nil: all blocks); nil for other kinds too, so read it only from a `.blocks` parameter.
  public var blocksValue: [Int]?? { if case .blocks(let v) = self { return .some(v) } else { return nil } }
  public var listValue: [ParameterValue]? { if case .list(let v) = self { return v } else { return nil } }
}

/// A parameter a method accepts: its key, kind, default, one-line help, and the reconstruction note when the value's
/// meaning is our choice rather than the paper's or the official code's.
public struct MethodParameter: Sendable {
  public let key: String
  public let kind: ParameterKind
  public let defaultValue: ParameterValue
  public let help: String
  /// Why this parameter or its default is a reconstruction ([recon]); nil when it follows the source exactly.
  public let recon: String?
  /// Left out of the canonical spec text while at its default (a parameter added after specs were written down).
  public let omittedAtDefault: Bool

  /// `defaultText` must parse under `kind` (checked by the registry's tests).
  public init(_ key: String, _ kind: ParameterKind, default defaultText: String, _ help: String, recon: String? = nil,
              omittedAtDefault: Bool = false) {
    guard let value = kind.parse(defaultText) else {
      preconditionFailure("parameter \(key): default '\(defaultText)' is not \(kind.expected)")
    }
    self.key = key; self.kind = kind; self.defaultValue = value; self.help = help; self.recon = recon
    self.omittedAtDefault = omittedAtDefault
  }
}

/// Block lists as every block option reads them ("3/6/9", "3-11", "0-2/9", "none" or empty).
public enum BlockList {
  /// Sorted, unique 0-based indices; nil when the text is not a block list.
  public static func parse(_ text: String) -> [Int]? {
    if text.isEmpty || text.lowercased() == "none" { return [] }
    var out: Set<Int> = []
    for part in text.split(separator: "/", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 1, let v = Int(bounds[0]), v >= 0, v < 100_000 { out.insert(v); continue }
      if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, b >= a, b < 100_000 {
        out.formUnion(a...b); continue
      }
      return nil
    }
    return out.sorted()
  }

  /// The canonical text: runs of three or more as ranges ("3-11"), the rest as a list ("3/6/9"); "none" when empty.
  public static func format(_ blocks: [Int]) -> String {
    guard !blocks.isEmpty else { return "none" }
    var parts: [String] = []
    var i = 0
    while i < blocks.count {
      var j = i
      while j + 1 < blocks.count && blocks[j + 1] == blocks[j] + 1 { j += 1 }
      if j - i >= 2 { parts.append("\(blocks[i])-\(blocks[j])") } else { parts += blocks[i...j].map { "\($0)" } }
      i = j + 1
    }
    return parts.joined(separator: "/")
  }
}
