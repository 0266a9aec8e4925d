import NumberFormatting
import Pixels

/// One curve of a `LineChart`: a value per x position (nil leaves a gap), drawn with its own marker and style.
public struct ChartSeries: Sendable {
  public var name: String
  public var values: [Double?]
  /// The point marker; nil picks `glyphs.marker(seriesIndex)` so series stay distinct without colour.
  public var marker: String?
  public var style: Style

  public init(name: String, values: [Double?], marker: String? = nil, style: Style = .plain) {
    self.name = name
    self.values = values
    self.marker = marker
    self.style = style
  }

  /// A series without gaps.
  public init(name: String, values: [Double], marker: String? = nil, style: Style = .plain) {
    self.init(name: name, values: values.map { Optional($0) }, marker: marker, style: style)
  }
}

/// A small line chart with a labelled y axis and x-axis labels, for per-layer curves ("tokens per layer for each
/// method vs the baseline").
///
/// ```
/// 197│●●●
///    │   ×·
/// 98 │     ×··×
///    │
///   0└─────────
///     0   6   11
/// ```
/// Each series gets a marker at every value and dotted segments between them (drawn only on empty cells, so
/// markers always win); later series draw over earlier ones. Series are told apart by marker as well as colour,
/// which keeps the chart readable in monochrome. Pair it with a `Legend`.
public struct LineChart: Widget {
  public var series: [ChartSeries]
  /// Labels spread evenly under the x axis, the first at the left edge and the last at the right edge.
  public var xLabels: [String]
  /// The y range; nil fits the data (including zero when `includesZero`).
  public var yRange: ClosedRange<Double>?
  public var includesZero: Bool
  /// Formats y-axis tick labels.
  public var yLabel: @Sendable (Double) -> String
  public var connectsPoints: Bool
  public var axisStyle: Style
  public var labelStyle: Style
  public var glyphs: Glyphs

  public init(
    series: [ChartSeries], xLabels: [String] = [], yRange: ClosedRange<Double>? = nil, includesZero: Bool = true,
    yLabel: @escaping @Sendable (Double) -> String = formatCompact, connectsPoints: Bool = true,
    axisStyle: Style = Style(dim: true), labelStyle: Style = .plain, glyphs: Glyphs = .unicode
  ) {
    self.series = series
    self.xLabels = xLabels
    self.yRange = yRange
    self.includesZero = includesZero
    self.yLabel = yLabel
    self.connectsPoints = connectsPoints
    self.axisStyle = axisStyle
    self.labelStyle = labelStyle
    self.glyphs = glyphs
  }

  /// The y range in use: `yRange`, or the data's extent (widened to include 0 when asked; a flat series gets ±1).
  public var resolvedYRange: ClosedRange<Double> {
    if let yRange { return yRange }
    let finite = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
    guard var low = finite.min(), var high = finite.max() else { return 0...1 }
    if includesZero {
      low = min(low, 0)
      high = max(high, 0)
    }
    if low == high {
      low -= 1
      high += 1
    }
    return low...high
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard area.width >= 3, area.height >= 2 else { return }
    let range = resolvedYRange
    let hasXLabels = !xLabels.isEmpty && area.height >= 3
    let plotHeight = area.height - 1 - (hasXLabels ? 1 : 0)
    let tickRows = yTickRows(plotHeight: plotHeight)
    let tickLabels = tickRows.map { row in
      yLabel(range.upperBound - (range.upperBound - range.lowerBound) * Double(row) / Double(max(plotHeight - 1, 1)))
    }
    let labelWidth = min(tickLabels.map { displayWidth(of: $0) }.max() ?? 0, area.width / 3)
    let axisX = area.x + labelWidth
    let plot = Rect(x: axisX + 1, y: area.y, width: area.right - axisX - 1, height: plotHeight)

    // Axes and tick labels.
    for row in 0..<plotHeight { buffer[axisX, area.y + row] = Cell(glyphs.box.vertical, style: axisStyle) }
    let axisY = area.y + plotHeight
    buffer[axisX, axisY] = Cell(glyphs.box.bottomLeft, style: axisStyle)
    for x in plot.x..<plot.right { buffer[x, axisY] = Cell(glyphs.box.horizontal, style: axisStyle) }
    for (row, label) in zip(tickRows, tickLabels) {
      let line = Line(truncate(label, toWidth: labelWidth, ellipsis: ""), style: labelStyle, alignment: .right)
      buffer.set(line: line, in: Rect(x: area.x, y: area.y + row, width: labelWidth, height: 1))
    }
    if hasXLabels { drawXLabels(in: Rect(x: plot.x, y: axisY + 1, width: plot.width, height: 1), buffer: &buffer) }
    guard !plot.isEmpty else { return }

    let count = series.map(\.values.count).max() ?? 0
    let plotted = series.map { points(of: $0, count: count, range: range, plot: plot) }
    if connectsPoints {
      for (serie, seriesPoints) in zip(series, plotted) {
        for (from, to) in zip(seriesPoints, seriesPoints.dropFirst()) where from.index + 1 == to.index {
          drawSegment(from: from, to: to, style: serie.style, buffer: &buffer)
        }
      }
    }
    for (index, (serie, seriesPoints)) in zip(series, plotted).enumerated() {
      let marker = serie.marker ?? glyphs.marker(index)
      for point in seriesPoints { buffer[point.x, point.y] = Cell(marker, style: serie.style) }
    }
  }

  /// A data point mapped to a cell.
  struct PlotPoint {
    var index: Int
    var x: Int
    var y: Int
  }

  func points(of series: ChartSeries, count: Int, range: ClosedRange<Double>, plot: Rect) -> [PlotPoint] {
    series.values.enumerated().compactMap { index, value in
      guard let value, value.isFinite else { return nil }
      let x = count <= 1 ? plot.x : plot.x + Int((Double(index * (plot.width - 1)) / Double(count - 1)).rounded())
      let fraction = normalized(value, in: range)
      let y = plot.bottom - 1 - Int((fraction * Double(plot.height - 1)).rounded())
      return PlotPoint(index: index, x: x, y: y)
    }
  }

  /// Rows (from the top of the plot) that get a y tick label: top, bottom, and the middle when there is room.
  func yTickRows(plotHeight: Int) -> [Int] {
    guard plotHeight > 1 else { return [0] }
    if plotHeight >= 5 { return [0, (plotHeight - 1) / 2, plotHeight - 1] }
    return [0, plotHeight - 1]
  }

  private func drawSegment(from: PlotPoint, to: PlotPoint, style: Style, buffer: inout Buffer) {
    let dx = to.x - from.x
    let dy = to.y - from.y
    let steps = max(abs(dx), abs(dy))
    guard steps > 1 else { return }
    for step in 1..<steps {
      let x = from.x + Int((Double(dx * step) / Double(steps)).rounded())
      let y = from.y + Int((Double(dy * step) / Double(steps)).rounded())
      if buffer[x, y].symbol == " " { buffer[x, y] = Cell(glyphs.lineDot, style: style) }
    }
  }

  /// Labels centred on evenly spread ticks (the first and last kept inside the axis). Labels that would touch
  /// another are skipped; the first and last are placed first so the ends of the axis are always labelled.
  private func drawXLabels(in area: Rect, buffer: inout Buffer) {
    let count = xLabels.count
    var occupied = Array(repeating: false, count: area.width)
    let priority = count <= 2 ? Array(0..<count) : [0, count - 1] + Array(1..<(count - 1))
    for index in priority {
      let label = xLabels[index]
      let width = displayWidth(of: label)
      let anchor = count <= 1 ? 0 : Int((Double(index * (area.width - 1)) / Double(count - 1)).rounded())
      let start = min(max(anchor - width / 2, 0), max(area.width - width, 0))
      let guarded = max(start - 1, 0)..<min(start + width + 1, area.width)
      guard !guarded.isEmpty, !guarded.contains(where: { occupied[$0] }) else { continue }
      buffer.set(string: label, x: area.x + start, y: area.y, style: labelStyle, maxWidth: area.width - start)
      for column in start..<min(start + width, area.width) { occupied[column] = true }
    }
  }
}
