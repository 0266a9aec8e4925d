// A small, strict JSON reader for safetensors headers and config files.
//
// Why not Foundation's JSONSerialization: the safetensors rules forbid duplicate keys, which JSONSerialization
// silently collapses, and headers come from strangers, so nesting depth and sizes are capped here.

/// A parsed JSON value. Objects keep their keys in file order.
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.number(x), .number(y)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.array(x), .array(y)): return x == y
    case let (.object(x), .object(y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
    return nil
  }
  public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  public var doubleValue: Double? { if case .number(let d) = self { return d } else { return nil } }
  public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
  public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
  public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }
  /// An exactly representable integer (JSON numbers are doubles; sizes above 2^53 are refused, not rounded).
  public var intValue: Int? {
    guard case .number(let d) = self, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else { return nil }
    return Int(d)
  }
}

public struct JSONError: Error, CustomStringConvertible, Equatable {
  public let offset: Int
  public let reason: String
  public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

public struct JSONParser {
  public static let maxDepth = 64

  /// Parses one JSON document from `bytes`; trailing whitespace is allowed, anything else is an error.
  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.index != bytes.count { throw parser.error("unexpected data after the document") }
    return value
  }

  public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
    let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buffer in
      do throws(JSONError) { return .success(try parse(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
  }

  public static func parse(_ text: String) throws(JSONError) -> JSONValue { try parse(Array(text.utf8)) }

  private let bytes: UnsafeBufferPointer<UInt8>
  private var index = 0

  private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  private func error(_ reason: String) -> JSONError { JSONError(offset: index, reason: reason) }

  private mutating func skipWhitespace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  private mutating func expect(_ byte: UInt8) throws(JSONError) {
    guard index < bytes.count, bytes[index] == byte else {
      throw error("expected '\(Character(Unicode.Scalar(byte)))'")
    }
    index += 1
  }

  private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
    guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth)") }
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of data") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth)
    case UInt8(ascii: "["): return try parseArray(depth: depth)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    default: return .number(try parseNumber())
    }
  }

  private mutating func literal(_ word: String) throws(JSONError) {
    for byte in word.utf8 { try expect(byte) }
  }

  private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
    try expect(UInt8(ascii: "{"))
    var members: [(String, JSONValue)] = []
    var seen = Set<String>()
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
    while true {
      skipWhitespace()
      let keyOffset = index
      let key = try parseString()
      guard seen.insert(key).inserted else { throw JSONError(offset: keyOffset, reason: "duplicate key \"\(key)\"") }
      skipWhitespace()
      try expect(UInt8(ascii: ":"))
      members.append((key, try parseValue(depth: depth + 1)))
      skipWhitespace()
      guard index < bytes.count else { throw error("unterminated object") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      try expect(UInt8(ascii: "}"))
      return .object(members)
    }
  }

  private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
    try expect(UInt8(ascii: "["))
    var elements: [JSONValue] = []
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
    while true {
      elements.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      guard index < bytes.count else { throw error("unterminated array") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      try expect(UInt8(ascii: "]"))
      return .array(elements)
    }
  }

  private mutating func parseHex4() throws(JSONError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[index]
      let digit: UInt32
      switch c {
      case 0x30...0x39: digit = UInt32(c - 0x30)
      case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
      case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
      default: throw error("bad hex digit in \\u escape")
      }
      value = value << 4 | digit
      index += 1
    }
    return value
  }

  private mutating func parseString() throws(JSONError) -> String {
    try expect(UInt8(ascii: "\""))
    var utf8: [UInt8] = []
    while true {
      guard index < bytes.count else { throw error("unterminated string") }
      let c = bytes[index]
      index += 1
      switch c {
      case UInt8(ascii: "\""):
        guard let s = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
      case UInt8(ascii: "\\"):
        guard index < bytes.count else { throw error("unterminated escape") }
        let e = bytes[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try parseHex4()
          if (0xD800..<0xDC00).contains(scalar) {
            guard index + 2 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u") else {
              throw error("unpaired surrogate")
            }
            index += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("bad low surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
          utf8.append(contentsOf: Array(String(Character(u)).utf8))
        default: throw error("bad escape")
        }
      case 0x00..<0x20: throw error("control character in string")
      default: utf8.append(c)
      }
    }
  }

  private mutating func parseNumber() throws(JSONError) -> Double {
    let start = index
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
    var digits = 0
    while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1; digits += 1 }
    guard digits > 0 else { index = start; throw error("unexpected character") }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      var fraction = 0
      while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1; fraction += 1 }
      guard fraction > 0 else { throw error("digit expected after '.'") }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      var exponent = 0
      while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1; exponent += 1 }
      guard exponent > 0 else { throw error("digit expected in exponent") }
    }
    guard index - start <= 64, let text = String(validating: bytes[start..<index], as: UTF8.self),
      let value = Double(text)
    else { throw JSONError(offset: start, reason: "bad number") }
    return value
  }
}

// MARK: - Writing

extension JSONValue {
  /// Serialises compactly (`pretty == false`) or with two-space indentation. Integral numbers print without ".0".
  public func serialized(pretty: Bool = true) -> String {
    var out = ""
    write(into: &out, indent: pretty ? 0 : nil)
    return out
  }

  private func write(into out: inout String, indent: Int?) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d): out += JSONValue.format(d)
    case .string(let s): JSONValue.writeString(s, into: &out)
    case .array(let elements):
      if elements.isEmpty { out += "[]"; return }
      // Arrays of scalars stay on one line: per-patch maps would otherwise take thousands of lines.
      let scalar = elements.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
      out += "["
      for (i, e) in elements.enumerated() {
        if i > 0 { out += scalar || indent == nil ? (indent == nil ? "," : ", ") : "," }
        if let indent, !scalar { out += "\n" + String(repeating: "  ", count: indent + 1) }
        e.write(into: &out, indent: indent.map { $0 + 1 })
      }
      if let indent, !scalar { out += "\n" + String(repeating: "  ", count: indent) }
      out += "]"
    case .object(let members):
      if members.isEmpty { out += "{}"; return }
      out += "{"
      for (i, (k, v)) in members.enumerated() {
        if i > 0 { out += "," }
        if let indent { out += "\n" + String(repeating: "  ", count: indent + 1) }
        JSONValue.writeString(k, into: &out)
        out += indent == nil ? ":" : ": "
        v.write(into: &out, indent: indent.map { $0 + 1 })
      }
      if let indent { out += "\n" + String(repeating: "  ", count: indent) }
      out += "}"
    }
  }

  static func format(_ d: Double) -> String {
    if !d.isFinite { return "null" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    if d == d.rounded() { return "\(d)" }  // fuzzing: Float's short form rounds big integers (2^53 printed as 9.007199e+15)
    // Values that came from Float32 print in Float's shortest form (0.485, not 0.48500001430511475).
    let f = Float(d)
    if Double(f) == d { return "\(f)" }
    return "\(d)"
  }

  private static func writeString(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case let c where c.value < 0x20:
        let hex = String(c.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
  ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .number(Double(value)) }
  public init(floatLiteral value: Double) { self = .number(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(nilLiteral: ()) { self = .null }
  public init(_ value: Int) { self = .number(Double(value)) }
  public init(_ value: Float) { self = .number(Double(value)) }
  public init(_ value: Double) { self = .number(value) }
  public init(_ value: String) { self = .string(value) }
  public init(_ values: [Int]) { self = .array(values.map { .number(Double($0)) }) }
  public init(_ values: [Float]) { self = .array(values.map { .number(Double($0)) }) }
  public init(_ values: [String]) { self = .array(values.map { .string($0) }) }
}
