/// One legend entry: a glyph in a style, then a label ("● ToMe").
public struct LegendEntry: Hashable, Sendable {
  public var glyph: String
  public var style: Style
  public var label: String

  public init(glyph: String, style: Style = .plain, label: String) {
    self.glyph = glyph
    self.style = style
    self.label = label
  }
}

/// Explains the glyphs and colours of a chart or map.
///
/// `.horizontal` flows entries left to right (`● ToMe  × EViT  ◆ baseline`), wrapping to the next row when one
/// does not fit; `.vertical` puts one entry per row. Labels that are too long end in an ellipsis.
public struct Legend: Widget {
  public enum Direction: Hashable, Sendable {
    case horizontal
    case vertical
  }

  public var entries: [LegendEntry]
  public var direction: Direction
  public var labelStyle: Style
  /// Columns between entries in horizontal mode.
  public var spacing: Int
  public var glyphs: Glyphs

  public init(
    entries: [LegendEntry], direction: Direction = .horizontal, labelStyle: Style = .plain, spacing: Int = 2,
    glyphs: Glyphs = .unicode
  ) {
    self.entries = entries
    self.direction = direction
    self.labelStyle = labelStyle
    self.spacing = spacing
    self.glyphs = glyphs
  }

  /// Legend entries for chart series, using the same markers the chart picks.
  public init(series: [ChartSeries], direction: Direction = .horizontal, glyphs: Glyphs = .unicode) {
    let entries = series.enumerated().map { index, serie in
      LegendEntry(glyph: serie.marker ?? glyphs.marker(index), style: serie.style, label: serie.name)
    }
    self.init(entries: entries, direction: direction, glyphs: glyphs)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    var x = area.x
    var y = area.y
    for (index, entry) in entries.enumerated() {
      let entryWidth = displayWidth(of: entry.glyph) + 1 + displayWidth(of: entry.label)
      switch direction {
      case .vertical:
        if index > 0 { (x, y) = (area.x, y + 1) }
      case .horizontal:
        if x > area.x && x + entryWidth > area.right { (x, y) = (area.x, y + 1) }
      }
      guard y < area.bottom else { return }
      let line = fit(
        Line([Span(entry.glyph, style: entry.style), Span(" ", style: labelStyle), Span(entry.label, style: labelStyle)]),
        toWidth: area.right - x, ellipsis: glyphs.ellipsis)
      x = buffer.set(line: line, in: Rect(x: x, y: y, width: area.right - x, height: 1)) + spacing
    }
  }
}
