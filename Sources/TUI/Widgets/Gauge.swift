/// A horizontal bar showing a ratio at one-eighth-cell resolution (`▉▊▋…`), with a value label.
///
/// ```
/// ██████▋      71%      (label .overlay; label cells over the bar are drawn reversed)
/// ██████▋   0.71        (label .trailing, after the bar)
/// ```
/// The bar fills every row of its area; an overlay label sits on the middle row.
public struct Gauge: Widget {
  public enum LabelPlacement: Hashable, Sendable {
    /// Centred on top of the bar.
    case overlay
    /// Right-aligned after the bar, which shrinks to make room.
    case trailing
    /// No label.
    case hidden
  }

  /// Fraction of the bar that is filled; clamped to 0...1, NaN counts as 0.
  public var ratio: Double
  /// The label; nil shows the ratio as a percentage ("71%").
  public var label: String?
  public var labelPlacement: LabelPlacement
  /// Style of the filled part (its `fg` is the bar colour).
  public var barStyle: Style
  /// Style of the unfilled part (give it a `bg` to show a track).
  public var emptyStyle: Style
  public var labelStyle: Style
  public var glyphs: Glyphs

  public init(
    ratio: Double, label: String? = nil, labelPlacement: LabelPlacement = .overlay,
    barStyle: Style = .plain, emptyStyle: Style = .plain, labelStyle: Style = .plain, glyphs: Glyphs = .unicode
  ) {
    self.ratio = ratio
    self.label = label
    self.labelPlacement = labelPlacement
    self.barStyle = barStyle
    self.emptyStyle = emptyStyle
    self.labelStyle = labelStyle
    self.glyphs = glyphs
  }

  /// The label text actually shown.
  public var labelText: String {
    label ?? "\(Int((clampedRatio * 100).rounded()))%"
  }

  var clampedRatio: Double { ratio.isNaN ? 0 : min(max(ratio, 0), 1) }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    var barArea = area
    if labelPlacement == .trailing {
      let text = labelText
      let labelWidth = min(displayWidth(of: text), area.width)
      barArea.width = max(area.width - labelWidth - 1, 0)
      let labelLine = Line(truncate(text, toWidth: labelWidth, ellipsis: glyphs.ellipsis), style: labelStyle, alignment: .right)
      let labelArea = Rect(x: area.right - labelWidth, y: area.y + area.height / 2, width: labelWidth, height: 1)
      buffer.set(line: labelLine, in: labelArea)
    }
    let cells = barCells(width: barArea.width)
    for y in barArea.y..<barArea.bottom {
      for (offset, symbol) in cells.enumerated() {
        let filled = symbol != glyphs.barEighths[0]
        buffer[barArea.x + offset, y] = Cell(symbol, style: filled ? barStyle : emptyStyle)
      }
    }
    if labelPlacement == .overlay, barArea.width > 0 {
      drawOverlayLabel(in: barArea, buffer: &buffer)
    }
  }

  /// The symbols of one bar row: full blocks, one partial block, then blanks.
  func barCells(width: Int) -> [String] {
    guard width > 0 else { return [] }
    let eighths = Int((clampedRatio * Double(width * 8)).rounded())
    let full = eighths / 8
    let partial = eighths % 8
    return (0..<width).map { index in
      if index < full { return glyphs.barEighths[8] }
      if index == full && partial > 0 { return glyphs.barEighths[partial] }
      return glyphs.barEighths[0]
    }
  }

  private func drawOverlayLabel(in area: Rect, buffer: inout Buffer) {
    let text = truncate(labelText, toWidth: area.width, ellipsis: glyphs.ellipsis)
    let y = area.y + area.height / 2
    var x = area.x + Alignment.center.offset(contentWidth: displayWidth(of: text), availableWidth: area.width)
    // A label cell counts as "on the bar" when at least half of it is filled, so the text never straddles colours.
    let filledHalfCells = Int((clampedRatio * Double(area.width) * 2).rounded())
    for character in text {
      let width = displayWidth(of: character)
      guard width > 0 else { continue }
      let onBar = (x - area.x) * 2 + 1 < filledHalfCells
      var style = labelStyle
      if onBar {
        // The bar colour becomes the background and the text takes the terminal's background colour.
        style = barStyle
        style.reverse.toggle()
        style.bold = barStyle.bold || labelStyle.bold
      }
      x = buffer.set(string: String(character), x: x, y: y, style: style, maxWidth: area.right - x)
    }
  }
}
