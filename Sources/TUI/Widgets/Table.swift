/// One column of a `Table`: header text, width rule and alignment (right-align numbers).
public struct TableColumn: Hashable, Sendable {
  public var header: String
  public var width: Constraint
  public var alignment: Alignment

  public init(_ header: String, width: Constraint = .fill(1), alignment: Alignment = .left) {
    self.header = header
    self.width = width
    self.alignment = alignment
  }
}

/// One row of a `Table`: a styled span per column (missing trailing cells are blank).
public struct TableRow: Hashable, Sendable {
  public var cells: [Span]

  public init(_ cells: [Span]) { self.cells = cells }

  /// A row of plain strings in one style.
  public init(_ texts: [String], style: Style = .plain) {
    self.cells = texts.map { Span($0, style: style) }
  }
}

/// Rows and columns with a header, per-column alignment, a selected row and scrolling that keeps the selection in
/// view.
///
/// ```
/// Method     Tokens   GFLOPs
/// ──────────────────────────
/// ▶baseline     197     4.61
///  ToMe r=8      101     2.37
/// ```
/// Cells too long for their column end in an ellipsis. Column widths come from `Constraint.resolve`.
public struct Table: Widget {
  public var columns: [TableColumn]
  public var rows: [TableRow]
  public var headerStyle: Style
  /// Draws a horizontal rule under the header.
  public var headerSeparator: Bool
  public var columnSpacing: Int
  /// Index into `rows` of the selected row, if any.
  public var selectedRow: Int?
  /// Style of the selected row; nil draws it reversed, keeping its colours.
  public var highlightStyle: Style?
  /// Shown left of the selected row; reserves a column when set.
  public var highlightSymbol: String?
  /// First row to show; adjusted so that `selectedRow` is visible.
  public var scrollOffset: Int
  public var glyphs: Glyphs

  public init(
    columns: [TableColumn], rows: [TableRow], headerStyle: Style = Style(bold: true), headerSeparator: Bool = false,
    columnSpacing: Int = 1, selectedRow: Int? = nil, highlightStyle: Style? = nil, highlightSymbol: String? = nil,
    scrollOffset: Int = 0, glyphs: Glyphs = .unicode
  ) {
    self.columns = columns
    self.rows = rows
    self.headerStyle = headerStyle
    self.headerSeparator = headerSeparator
    self.columnSpacing = columnSpacing
    self.selectedRow = selectedRow
    self.highlightStyle = highlightStyle
    self.highlightSymbol = highlightSymbol
    self.scrollOffset = scrollOffset
    self.glyphs = glyphs
  }

  var hasHeader: Bool { columns.contains { !$0.header.isEmpty } }

  /// The first data row shown when `visibleRows` rows fit: `scrollOffset`, moved just enough to show the selection
  /// and never past the end. The explorer keeps the returned value as next frame's `scrollOffset` for stable
  /// scrolling.
  public func effectiveOffset(visibleRows: Int) -> Int {
    guard visibleRows > 0, !rows.isEmpty else { return 0 }
    var offset = min(max(scrollOffset, 0), max(rows.count - visibleRows, 0))
    if let selected = selectedRow, selected >= 0, selected < rows.count {
      if selected < offset { offset = selected }
      if selected >= offset + visibleRows { offset = selected - visibleRows + 1 }
    }
    return offset
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty, !columns.isEmpty else { return }
    let symbolWidth = highlightSymbol.map { displayWidth(of: $0) } ?? 0
    let columnsArea = area.inset(left: symbolWidth)
    let widths = Constraint.resolve(columns.map(\.width), total: columnsArea.width, spacing: columnSpacing)
    var y = area.y
    if hasHeader {
      drawRow(columns.map { Span($0.header, style: headerStyle) }, y: y, widths: widths, in: columnsArea, buffer: &buffer)
      y += 1
      if headerSeparator, y < area.bottom {
        for x in area.x..<area.right { buffer[x, y] = Cell(glyphs.box.horizontal, style: headerStyle.bolded(false)) }
        y += 1
      }
    }
    let visibleRows = max(area.bottom - y, 0)
    let offset = effectiveOffset(visibleRows: visibleRows)
    for (index, row) in rows.enumerated().dropFirst(offset).prefix(visibleRows) {
      drawRow(row.cells, y: y, widths: widths, in: columnsArea, buffer: &buffer)
      if index == selectedRow {
        let rowArea = Rect(x: area.x, y: y, width: area.width, height: 1)
        if let highlightSymbol {
          buffer.set(string: highlightSymbol, x: area.x, y: y, maxWidth: symbolWidth)
        }
        if let highlightStyle {
          buffer.setStyle(highlightStyle, in: rowArea)
        } else {
          buffer.modifyStyle(in: rowArea) { $0.reverse.toggle() }
        }
      }
      y += 1
    }
  }

  private func drawRow(_ cells: [Span], y: Int, widths: [Int], in area: Rect, buffer: inout Buffer) {
    var x = area.x
    for (index, width) in widths.enumerated() {
      defer { x += width + columnSpacing }
      guard width > 0, index < cells.count else { continue }
      let span = cells[index]
      let text = truncate(span.text, toWidth: width, ellipsis: glyphs.ellipsis)
      let line = Line([Span(text, style: span.style)], alignment: columns[index].alignment)
      buffer.set(line: line, in: Rect(x: x, y: y, width: width, height: 1))
    }
  }
}
