/// A grid of cells that widgets draw into; the backend then shows it (flushing only what changed).
///
/// Coordinates are absolute terminal coordinates: a buffer's `area` need not start at (0, 0). All writes clip to
/// `area`, so widgets can never draw outside the space they were given or crash on a tiny terminal.
public struct Buffer: Hashable, Sendable {
  /// The region of the screen this buffer covers.
  public private(set) var area: Rect
  /// Cells row by row (`width * height`).
  public private(set) var cells: [Cell]

  /// A buffer of blank cells covering `area`.
  public init(area: Rect) {
    self.area = area
    self.cells = Array(repeating: .blank, count: area.area)
  }

  /// A buffer of blank cells at the origin.
  public init(size: Size) {
    self.init(area: Rect(size: size))
  }

  /// A buffer holding `lines` in the plain style, as wide as the widest line: the expected value in widget tests
  /// (ratatui's `Buffer::with_lines`).
  public init(lines: [String]) {
    let width = lines.map { displayWidth(of: $0) }.max() ?? 0
    self.init(area: Rect(x: 0, y: 0, width: width, height: lines.count))
    for (row, line) in lines.enumerated() {
      set(string: line, x: 0, y: row)
    }
  }

  // MARK: Cell access

  func index(x: Int, y: Int) -> Int { (y - area.y) * area.width + (x - area.x) }

  /// The cell at absolute (x, y); reading outside `area` gives a blank cell and writing there is ignored.
  public subscript(x: Int, y: Int) -> Cell {
    get {
      guard area.contains(x: x, y: y) else { return .blank }
      return cells[index(x: x, y: y)]
    }
    set {
      guard area.contains(x: x, y: y) else { return }
      put(newValue, x: x, y: y)
    }
  }

  /// Writes one cell, keeping wide characters consistent: a wide character that loses one of its halves is replaced
  /// by a space so that no orphaned half is left for the terminal to misdraw.
  private mutating func put(_ cell: Cell, x: Int, y: Int) {
    let i = index(x: x, y: y)
    let old = cells[i]
    if old.isContinuation, !cell.isContinuation, x > area.x {
      let left = i - 1
      if !cells[left].isContinuation, cells[left].width == 2 {
        cells[left].symbol = " "
      }
    }
    if old.width == 2, cell.width != 2, x + 1 < area.right, cells[i + 1].isContinuation {
      cells[i + 1] = Cell(" ", style: cells[i + 1].style)
    }
    cells[i] = cell
  }

  // MARK: Writing text

  /// Writes `string` starting at (x, y) in `style`, clipped to `area` and to `maxWidth` columns.
  ///
  /// Wide characters take two cells; one that would straddle the clip edge is not drawn. Characters of zero width
  /// (controls, stray combining marks) are skipped: a grapheme cluster already carries its combining marks.
  /// - Returns: the column after the last written cell (the caller's cursor for the next span).
  @discardableResult
  public mutating func set(string: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int = .max) -> Int {
    guard y >= area.y, y < area.bottom, maxWidth > 0 else { return x }
    let (end, overflowed) = x.addingReportingOverflow(maxWidth)
    let limit = min(area.right, overflowed ? Int.max : end)
    var column = x
    for character in string {
      let width = displayWidth(of: character)
      if width == 0 { continue }
      if column + width > limit { break }
      if column >= area.x {
        put(Cell(String(character), style: style), x: column, y: y)
        if width == 2 { put(.continuation(style: style), x: column + 1, y: y) }
      } else if column + width > area.x {
        // The right half of a wide character sticks into the area: show a space there, not half a glyph.
        put(Cell(" ", style: style), x: area.x, y: y)
      }
      column += width
    }
    return max(column, x)
  }

  /// Writes `string` starting at `position`; see `set(string:x:y:style:maxWidth:)`.
  @discardableResult
  public mutating func set(string: String, at position: Position, style: Style = .plain, maxWidth: Int = .max) -> Int {
    set(string: string, x: position.x, y: position.y, style: style, maxWidth: maxWidth)
  }

  // MARK: Areas

  /// Sets every cell of `region` (clipped to `area`) to `cell`.
  public mutating func fill(_ region: Rect, with cell: Cell) {
    let clipped = region.intersection(area)
    guard !clipped.isEmpty else { return }
    for y in clipped.y..<clipped.bottom {
      for x in clipped.x..<clipped.right { put(cell, x: x, y: y) }
    }
  }

  /// Blanks `region` with spaces in `style` (a popup clears what is under it this way).
  public mutating func clear(_ region: Rect, style: Style = .plain) {
    fill(region, with: Cell(" ", style: style))
  }

  /// Sets the style of every cell in `region`, keeping the symbols (e.g. to highlight a table row).
  public mutating func setStyle(_ style: Style, in region: Rect) {
    modifyStyle(in: region) { $0 = style }
  }

  /// Changes the style of every cell in `region` in place, e.g. `{ $0.reverse = true }` for a selection.
  public mutating func modifyStyle(in region: Rect, _ change: (inout Style) -> Void) {
    let clipped = region.intersection(area)
    guard !clipped.isEmpty else { return }
    for y in clipped.y..<clipped.bottom {
      for x in clipped.x..<clipped.right { change(&cells[index(x: x, y: y)].style) }
    }
  }

  /// Draws `widget` into `region` (clipped to this buffer).
  public mutating func render(_ widget: some Widget, in region: Rect) {
    widget.render(in: region.intersection(area), buffer: &self)
  }

  // MARK: Comparing

  /// One cell that differs between two frames.
  public struct Change: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var cell: Cell

    public init(x: Int, y: Int, cell: Cell) {
      self.x = x
      self.y = y
      self.cell = cell
    }
  }

  /// The cells to redraw to turn `previous` into this buffer, in row-major order.
  ///
  /// Continuation cells are never listed: drawing a wide character covers them. If the two buffers cover different
  /// areas (a resize), every cell of this buffer is listed.
  public func diff(from previous: Buffer) -> [Change] {
    var changes: [Change] = []
    let fullRedraw = previous.area != area
    for y in area.y..<area.bottom {
      for x in area.x..<area.right {
        let i = index(x: x, y: y)
        let cell = cells[i]
        if cell.isContinuation { continue }
        if fullRedraw || previous.cells[i] != cell {
          changes.append(Change(x: x, y: y, cell: cell))
        }
      }
    }
    return changes
  }

  // MARK: Snapshots

  /// The text of each row, continuation cells omitted (so a row of wide characters is shorter in `Character`s but
  /// not in columns).
  public var lines: [String] {
    (0..<area.height).map { row in
      let start = row * area.width
      return cells[start..<start + area.width].map(\.symbol).joined()
    }
  }

  /// The styles of each row as runs, one line per row: `"0-9 fg=#ff0000 bold; 10-79 -"` (columns inclusive and
  /// relative to `area.x`). Together with `lines` it pins down everything the terminal will show.
  public var styleLines: [String] {
    (0..<area.height).map { row in
      var runs: [String] = []
      var runStart = 0
      let start = row * area.width
      for column in 0...area.width {
        let ended = column == area.width || (column > runStart && cells[start + column].style != cells[start + runStart].style)
        guard ended, column > runStart else { continue }
        let range = column - 1 == runStart ? "\(runStart)" : "\(runStart)-\(column - 1)"
        runs.append("\(range) \(cells[start + runStart].style)")
        runStart = column
      }
      return runs.joined(separator: "; ")
    }
  }
}
