import NumberFormatting
import Pixels

/// A legend for a sequential colour scale: the gradient with its minimum and maximum labelled.
///
/// Two or more rows: the gradient fills the first row and the labels (min left, optional caption centred, max
/// right) the second. One row: `min ▏gradient▕ max` on a single line. In monochrome the gradient is the same
/// density ramp that `HeatGrid` uses, so the legend matches the map.
public struct ColorBar: Widget {
  public var range: ClosedRange<Double>
  /// Maps a normalised value (0...1) to a colour; use the same function as the map it explains.
  public var colorScale: @Sendable (Double) -> Color
  /// Labels for the ends; nil formats the range bounds with `formatCompact`.
  public var minLabel: String?
  public var maxLabel: String?
  /// Shown between the end labels when there is room (e.g. "entropy (nats)").
  public var caption: String?
  public var labelStyle: Style
  public var appearance: Appearance

  public init(
    range: ClosedRange<Double>,
    colorScale: @escaping @Sendable (Double) -> Color = { SequentialPalette.viridis.color(at: $0) },
    minLabel: String? = nil, maxLabel: String? = nil, caption: String? = nil, labelStyle: Style = .plain,
    appearance: Appearance = .rich
  ) {
    self.range = range
    self.colorScale = colorScale
    self.minLabel = minLabel
    self.maxLabel = maxLabel
    self.caption = caption
    self.labelStyle = labelStyle
    self.appearance = appearance
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    let low = minLabel ?? formatCompact(range.lowerBound)
    let high = maxLabel ?? formatCompact(range.upperBound)
    if area.height >= 2 {
      drawGradient(in: area.row(0), buffer: &buffer)
      let labels = area.row(1)
      buffer.set(string: low, x: labels.x, y: labels.y, style: labelStyle, maxWidth: labels.width)
      let highWidth = displayWidth(of: high)
      let lowWidth = displayWidth(of: low)
      if lowWidth + 1 + highWidth <= labels.width {
        buffer.set(string: high, x: labels.right - highWidth, y: labels.y, style: labelStyle)
      }
      if let caption {
        let room = labels.width - 2 * (max(lowWidth, highWidth) + 1)
        if displayWidth(of: caption) <= room {
          buffer.set(line: Line(caption, style: labelStyle, alignment: .center), in: labels)
        }
      }
    } else {
      let lowWidth = displayWidth(of: low)
      let highWidth = displayWidth(of: high)
      let gradientWidth = area.width - lowWidth - highWidth - 2
      guard gradientWidth >= 2 else {
        drawGradient(in: area.row(0), buffer: &buffer)
        return
      }
      buffer.set(string: low, x: area.x, y: area.y, style: labelStyle)
      drawGradient(in: Rect(x: area.x + lowWidth + 1, y: area.y, width: gradientWidth, height: 1), buffer: &buffer)
      buffer.set(string: high, x: area.right - highWidth, y: area.y, style: labelStyle)
    }
  }

  /// One row of the scale, sampled at each cell's centre.
  private func drawGradient(in row: Rect, buffer: inout Buffer) {
    guard row.width > 0 else { return }
    let shades = appearance.glyphs.shades
    for column in 0..<row.width {
      let t = row.width == 1 ? 0.5 : Double(column) / Double(row.width - 1)
      let cell = appearance.usesColor
        ? Cell(" ", style: Style(bg: colorScale(t)))
        : Cell(shades[Int((t * Double(shades.count - 1)).rounded())])
      buffer[row.x + column, row.y] = cell
    }
  }
}
