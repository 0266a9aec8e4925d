/// One terminal cell: a grapheme cluster and its style.
///
/// A wide character (CJK, most emoji) occupies two cells: its own, and a *continuation* cell to its right whose
/// symbol is empty. Continuation cells are never drawn by themselves; the terminal fills them when it draws the
/// wide character.
public struct Cell: Hashable, Sendable {
  /// The grapheme cluster shown in this cell; `""` for the right half of a wide character.
  public var symbol: String
  public var style: Style

  public init(_ symbol: String = " ", style: Style = .plain) {
    self.symbol = symbol
    self.style = style
  }

  /// A space in the default style: what an empty buffer holds.
  public static let blank = Cell()

  /// The right half of a wide character.
  static func continuation(style: Style) -> Cell { Cell("", style: style) }

  /// True for the right half of a wide character.
  public var isContinuation: Bool { symbol.isEmpty }

  /// Columns this cell's symbol covers: 1 or 2 (0 for a continuation).
  public var width: Int { isContinuation ? 0 : max(displayWidth(of: symbol), 1) }
}
