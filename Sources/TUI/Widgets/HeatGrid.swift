import Pixels

/// A rows × columns matrix of values drawn as coloured cells, e.g. attention entropy per layer (rows) and head
/// (columns).
///
/// With colour, each value is `cellWidth` blank cells on a background from `colorScale`; in monochrome, the cells
/// are filled with a density ramp (`Glyphs.shades`: " ░▒▓█" or " .:+#"), so the map still reads. Missing values
/// (nil or NaN) show `Glyphs.missing`. Optional row labels sit on the left and column labels on top.
///
/// ```
///    0 1 2 3      (column labels)
/// L0 ░░▒▒▓▓██
/// L1 ··  ░░▒▒
/// ```
public struct HeatGrid: Widget {
  /// Values by row, then column; rows may have different lengths (short rows count as missing).
  public var values: [[Double?]]
  /// The value range mapped onto the colour scale; nil uses the data's minimum and maximum.
  public var range: ClosedRange<Double>?
  /// Maps a normalised value (0...1) to a colour.
  public var colorScale: @Sendable (Double) -> Color
  /// Columns of text per value.
  public var cellWidth: Int
  public var rowLabels: [String]
  public var columnLabels: [String]
  /// The (row, column) to mark, e.g. the cursor.
  public var highlighted: GridPosition?
  public var labelStyle: Style
  public var appearance: Appearance

  public init(
    values: [[Double?]], range: ClosedRange<Double>? = nil,
    colorScale: @escaping @Sendable (Double) -> Color = { SequentialPalette.viridis.color(at: $0) },
    cellWidth: Int = 2, rowLabels: [String] = [], columnLabels: [String] = [], highlighted: GridPosition? = nil,
    labelStyle: Style = Style(dim: true), appearance: Appearance = .rich
  ) {
    self.values = values
    self.range = range
    self.colorScale = colorScale
    self.cellWidth = max(cellWidth, 1)
    self.rowLabels = rowLabels
    self.columnLabels = columnLabels
    self.highlighted = highlighted
    self.labelStyle = labelStyle
    self.appearance = appearance
  }

  /// A grid without missing values.
  public init(
    values: [[Double]], range: ClosedRange<Double>? = nil,
    colorScale: @escaping @Sendable (Double) -> Color = { SequentialPalette.viridis.color(at: $0) },
    cellWidth: Int = 2, rowLabels: [String] = [], columnLabels: [String] = [], highlighted: GridPosition? = nil,
    labelStyle: Style = Style(dim: true), appearance: Appearance = .rich
  ) {
    self.init(
      values: values.map { $0.map { Optional($0) } }, range: range, colorScale: colorScale, cellWidth: cellWidth,
      rowLabels: rowLabels, columnLabels: columnLabels, highlighted: highlighted, labelStyle: labelStyle,
      appearance: appearance)
  }

  var columnCount: Int { values.map(\.count).max() ?? 0 }

  /// The range in use: `range`, or the finite data's extent (0...1 when there is none).
  public var resolvedRange: ClosedRange<Double> {
    if let range { return range }
    let finite = values.flatMap { $0.compactMap { $0 } }.filter(\.isFinite)
    guard let low = finite.min(), let high = finite.max() else { return 0...1 }
    return low...high
  }

  /// Where the value cells start and how many fit in `area`.
  struct Layout {
    var origin: (x: Int, y: Int)
    var labelWidth: Int
    var visibleRows: Int
    var visibleColumns: Int
  }

  func layout(in area: Rect) -> Layout {
    let labelWidth = rowLabels.isEmpty ? 0 : min((rowLabels.map { displayWidth(of: $0) }.max() ?? 0) + 1, area.width)
    let top = columnLabels.isEmpty ? 0 : 1
    let visibleColumns = min(columnCount, max(area.width - labelWidth, 0) / cellWidth)
    let visibleRows = min(values.count, max(area.height - top, 0))
    return Layout(
      origin: (area.x + labelWidth, area.y + top), labelWidth: labelWidth, visibleRows: visibleRows,
      visibleColumns: visibleColumns)
  }

  /// The grid cell under terminal position (x, y) when the grid is drawn in `area`: for mouse hit-testing.
  public func position(atX x: Int, y: Int, in area: Rect) -> GridPosition? {
    let layout = layout(in: area)
    let column = (x - layout.origin.x) / cellWidth
    let row = y - layout.origin.y
    guard x >= layout.origin.x, row >= 0, row < layout.visibleRows, column < layout.visibleColumns else { return nil }
    return GridPosition(row: row, column: column)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    let layout = layout(in: area)
    let range = resolvedRange
    let glyphs = appearance.glyphs
    if !columnLabels.isEmpty {
      for column in 0..<min(layout.visibleColumns, columnLabels.count) {
        let x = layout.origin.x + column * cellWidth
        let label = prefix(of: columnLabels[column], fittingWidth: cellWidth)
        buffer.set(string: label, x: x, y: area.y, style: labelStyle, maxWidth: cellWidth)
      }
    }
    for row in 0..<layout.visibleRows {
      let y = layout.origin.y + row
      if row < rowLabels.count, layout.labelWidth > 1 {
        let line = Line(truncate(rowLabels[row], toWidth: layout.labelWidth - 1, ellipsis: glyphs.ellipsis), style: labelStyle)
        buffer.set(line: line, in: Rect(x: area.x, y: y, width: layout.labelWidth - 1, height: 1))
      }
      for column in 0..<layout.visibleColumns {
        let value = column < values[row].count ? values[row][column] : nil
        let x = layout.origin.x + column * cellWidth
        let cellArea = Rect(x: x, y: y, width: cellWidth, height: 1)
        let isHighlighted = highlighted == GridPosition(row: row, column: column)
        drawValue(value, range: range, in: cellArea, highlighted: isHighlighted, buffer: &buffer)
      }
    }
  }

  private func drawValue(_ value: Double?, range: ClosedRange<Double>, in cellArea: Rect, highlighted: Bool, buffer: inout Buffer) {
    let glyphs = appearance.glyphs
    guard let value, value.isFinite else {
      buffer.clear(cellArea)
      let marker = highlighted ? (cellWidth >= 2 ? "[]" : "*") : glyphs.missing
      let line = Line(marker, style: Style(dim: !highlighted, reverse: highlighted), alignment: .center)
      buffer.set(line: line, in: cellArea)
      return
    }
    let t = normalized(value, in: range)
    if appearance.usesColor {
      let background = colorScale(t)
      buffer.clear(cellArea, style: Style(bg: background))
      if highlighted {
        let text = background.rgbValue?.contrastingText.color ?? .default
        let marker = cellWidth >= 2 ? "[]" : "*"
        buffer.set(line: Line(marker, style: Style(fg: text, bg: background, bold: true), alignment: .center), in: cellArea)
      }
    } else {
      let level = Int((t * Double(glyphs.shades.count - 1)).rounded())
      let shade = glyphs.shades[level]
      for x in cellArea.x..<cellArea.right { buffer[x, cellArea.y] = Cell(shade, style: Style(reverse: highlighted)) }
    }
  }
}

/// A (row, column) position in a grid.
public struct GridPosition: Hashable, Sendable {
  public var row: Int
  public var column: Int

  public init(row: Int, column: Int) {
    self.row = row
    self.column = column
  }
}
