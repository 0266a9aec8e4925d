/// A key and what it does, for hint bars and the help overlay.
public struct KeyHint: Hashable, Sendable {
  public var key: String
  public var action: String

  public init(_ key: String, _ action: String) {
    self.key = key
    self.action = action
  }
}

/// The one-line key reminder at the bottom of the screen: `←/→ layer  Tab view  ? help  q quit`.
///
/// Hints are listed in priority order. When they do not all fit, whole hints are dropped from the end and, where
/// there is room, an ellipsis marks that there is more (the "gracefully truncated" short help of bubbles); a hint
/// is never cut in the middle unless even the first one does not fit.
public struct KeyHintBar: Widget {
  public var hints: [KeyHint]
  public var keyStyle: Style
  public var actionStyle: Style
  /// Fills the whole row first (a status-bar background), when set.
  public var background: Style?
  /// Columns between hints.
  public var spacing: Int
  public var glyphs: Glyphs

  public init(
    hints: [KeyHint], keyStyle: Style = Style(bold: true), actionStyle: Style = Style(dim: true),
    background: Style? = nil, spacing: Int = 2, glyphs: Glyphs = .unicode
  ) {
    self.hints = hints
    self.keyStyle = keyStyle
    self.actionStyle = actionStyle
    self.background = background
    self.spacing = spacing
    self.glyphs = glyphs
  }

  /// How many hints fit, whole, in `width` columns.
  public func fittingCount(width: Int) -> Int {
    var used = 0
    var count = 0
    for (index, hint) in hints.enumerated() {
      let needed = (index == 0 ? 0 : spacing) + displayWidth(of: hint.key) + 1 + displayWidth(of: hint.action)
      guard used + needed <= width else { break }
      used += needed
      count += 1
    }
    return count
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty, !hints.isEmpty else { return }
    let row = area.row(0)
    if let background { buffer.clear(row, style: background) }
    let keyStyle = background.map { merge(self.keyStyle, onto: $0) } ?? self.keyStyle
    let actionStyle = background.map { merge(self.actionStyle, onto: $0) } ?? self.actionStyle
    let count = fittingCount(width: row.width)
    if count == 0 {
      // Not even one hint fits: show the first as far as it goes.
      let first = hints[0]
      let line = fit(Line([Span(first.key, style: keyStyle), Span(" " + first.action, style: actionStyle)]),
        toWidth: row.width, ellipsis: glyphs.ellipsis)
      buffer.set(line: line, in: row)
      return
    }
    var spans: [Span] = []
    for (index, hint) in hints.prefix(count).enumerated() {
      if index > 0 { spans.append(Span(String(repeating: " ", count: spacing), style: actionStyle)) }
      spans.append(Span(hint.key, style: keyStyle))
      spans.append(Span(" " + hint.action, style: actionStyle))
    }
    let more = Span(String(repeating: " ", count: spacing) + glyphs.ellipsis, style: actionStyle)
    if count < hints.count, Line(spans).width + more.width <= row.width {
      spans.append(more)
    }
    buffer.set(line: Line(spans), in: row)
  }
}

/// `style` drawn on a bar whose background is `base.bg`: keeps the bar colour unless `style` sets its own.
func merge(_ style: Style, onto base: Style) -> Style {
  var merged = style
  if merged.bg == .default { merged.bg = base.bg }
  if merged.fg == .default { merged.fg = base.fg }
  return merged
}
