/// A compact bar chart: one column per value, bars at one-eighth-cell resolution (`▁▂▃▄▅▆▇█`).
///
/// When there are more values than columns, the most recent (last) values are shown. Bars grow from the bottom of
/// the area and may span several rows.
public struct Sparkline: Widget {
  public var values: [Double]
  /// The value of a full-height bar; nil uses the largest value.
  public var maximum: Double?
  public var style: Style
  public var glyphs: Glyphs

  public init(values: [Double], maximum: Double? = nil, style: Style = .plain, glyphs: Glyphs = .unicode) {
    self.values = values
    self.maximum = maximum
    self.style = style
    self.glyphs = glyphs
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty, !values.isEmpty else { return }
    let shown = values.suffix(area.width)
    let top = maximum ?? shown.filter(\.isFinite).max() ?? 0
    guard top > 0 else { return }
    for (offset, value) in shown.enumerated() {
      let fraction = value.isFinite ? min(max(value / top, 0), 1) : 0
      var eighths = Int((fraction * Double(area.height * 8)).rounded())
      for row in (area.y..<area.bottom).reversed() {
        let level = min(eighths, 8)
        if level > 0 { buffer[area.x + offset, row] = Cell(glyphs.sparkLevels[level], style: style) }
        eighths -= level
      }
    }
  }
}
