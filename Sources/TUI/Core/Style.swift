/// How a cell is drawn: colours plus the attributes every terminal understands.
///
/// Styles are complete values (no "inherit" state): a widget that draws on a coloured background sets that
/// background in the styles it writes. To change part of an existing style in place, use
/// `Buffer.modifyStyle(in:_:)`.
public struct Style: Hashable, Sendable, CustomStringConvertible {
  public var fg: Color
  public var bg: Color
  public var bold: Bool
  public var dim: Bool
  public var reverse: Bool
  public var underline: Bool

  public init(
    fg: Color = .default, bg: Color = .default,
    bold: Bool = false, dim: Bool = false, reverse: Bool = false, underline: Bool = false
  ) {
    self.fg = fg
    self.bg = bg
    self.bold = bold
    self.dim = dim
    self.reverse = reverse
    self.underline = underline
  }

  /// The terminal's default colours and no attributes.
  public static let plain = Style()

  // Builders: each returns a copy with one property changed, e.g. `Style.plain.withForeground(.indexed(2)).bolded()`.

  public func withForeground(_ color: Color) -> Style { var copy = self; copy.fg = color; return copy }
  public func withBackground(_ color: Color) -> Style { var copy = self; copy.bg = color; return copy }
  public func bolded(_ on: Bool = true) -> Style { var copy = self; copy.bold = on; return copy }
  public func dimmed(_ on: Bool = true) -> Style { var copy = self; copy.dim = on; return copy }
  public func reversed(_ on: Bool = true) -> Style { var copy = self; copy.reverse = on; return copy }
  public func underlined(_ on: Bool = true) -> Style { var copy = self; copy.underline = on; return copy }

  /// A compact, stable description used by colour snapshots: `-` for plain, else e.g. `fg=#ff0000 bg=i42 bold`.
  public var description: String {
    var parts: [String] = []
    if fg != .default { parts.append("fg=" + Style.describe(fg)) }
    if bg != .default { parts.append("bg=" + Style.describe(bg)) }
    if bold { parts.append("bold") }
    if dim { parts.append("dim") }
    if reverse { parts.append("rev") }
    if underline { parts.append("ul") }
    return parts.isEmpty ? "-" : parts.joined(separator: " ")
  }

  static func describe(_ color: Color) -> String {
    switch color {
    case .default: return "default"
    case let .indexed(index): return "i\(index)"
    case let .rgb(r, g, b): return "#" + hexByte(r) + hexByte(g) + hexByte(b)
    }
  }
}

private func hexByte(_ value: UInt8) -> String {
  let digits = Array("0123456789abcdef")
  return String([digits[Int(value >> 4)], digits[Int(value & 0xF)]])
}
