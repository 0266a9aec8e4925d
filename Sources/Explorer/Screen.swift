// The explorer's screen as a pure function of the state, drawn into a Buffer: this file lays out the header, token
// map(s), layer panel, legend and key hints; Panels/ holds one file per panel. Only the app's backend turns buffers
// into terminal output.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

public enum Layout {
  /// Below this the side panel is dropped; below the minimum the "too small" screen is shown.
  public static let sidePanelWidth = 44
  public static let minimum = Size(width: 60, height: 20)
  /// Rows of the lesson box under the maps (text up to 7 lines, the page hint, the border).
  public static let lessonHeight = 10
}

/// Where a token map's patch cells start, how big each is, and which patches are drawn.
public struct MapGeometry: Equatable, Sendable {
  public var x: Int, y: Int, cellWidth: Int, cellHeight: Int
  /// Two patch rows per text row (`cellHeight` is 1): the upper patch in front of a `▀`, the lower one behind it.
  public var halfRows = false
  /// The patches drawn: all of them, or the part of a cropped map that fits.
  public var firstRow = 0, firstCol = 0, rows: Int, cols: Int
  /// The grid's full size (a cropped map shows `rows` x `cols` of it).
  public var gridRows: Int, gridCols: Int

  public var isCropped: Bool { rows < gridRows || cols < gridCols }

  /// How the patches become cells.
  public var cells: MapCells {
    if isCropped { return .cropped(firstRow: firstRow, firstCol: firstCol, rows: rows, cols: cols) }
    if halfRows { return .halfBlock }
    return cellHeight >= 1 && cellWidth == 2 * cellHeight ? .blocks(scale: cellHeight) : .narrow
  }

  /// The patch under the cell at (`cx`, `cy`), if any.
  public func patch(atX cx: Int, y cy: Int) -> (row: Int, col: Int)? {
    guard cx >= x, cy >= y else { return nil }
    let col = (cx - x) / cellWidth, textRow = (cy - y) / cellHeight
    let row = halfRows ? 2 * textRow : textRow
    guard col < cols, row < rows else { return nil }
    return (firstRow + row, firstCol + col)
  }

  /// The largest cells that fit `grid` in `area`: `2s x s` blocks, else one cell per patch, else half blocks (when
  /// colour can carry the states), else the part around `focus` that fits at one cell per patch. Never outside `area`.
  public static func fitting(grid: (rows: Int, cols: Int), in area: Rect, color: Bool,
                             focus: (row: Int, col: Int)? = nil) -> MapGeometry {
    let w = max(0, area.width), h = max(0, area.height)
    func centred(_ cellW: Int, _ cellH: Int, rows: Int, cols: Int, textRows: Int) -> MapGeometry {
      MapGeometry(x: area.x + max(0, (w - cols * cellW) / 2), y: area.y + max(0, (h - textRows) / 2), cellWidth: cellW,
                  cellHeight: cellH, rows: rows, cols: cols, gridRows: grid.rows, gridCols: grid.cols)
    }
    let s = min(w / max(1, 2 * grid.cols), h / max(1, grid.rows))
    if s >= 1 { return centred(2 * s, s, rows: grid.rows, cols: grid.cols, textRows: grid.rows * s) }
    if w >= grid.cols && h >= grid.rows { return centred(1, 1, rows: grid.rows, cols: grid.cols, textRows: grid.rows) }
    if color && w >= grid.cols && h >= (grid.rows + 1) / 2 {
      var g = centred(1, 1, rows: grid.rows, cols: grid.cols, textRows: (grid.rows + 1) / 2)
      g.halfRows = true
      return g
    }
    let rows = min(grid.rows, h), cols = min(grid.cols, w)
    let centre = focus ?? (row: grid.rows / 2, col: grid.cols / 2)
    var g = centred(1, 1, rows: rows, cols: cols, textRows: rows)
    g.firstRow = min(max(0, centre.row - rows / 2), grid.rows - rows)
    g.firstCol = min(max(0, centre.col - cols / 2), grid.cols - cols)
    return g
  }
}

public struct ExplorerScreen {
  public let state: ExplorerState
  public let appearance: Appearance
  public init(state: ExplorerState, appearance: Appearance) { self.state = state; self.appearance = appearance }

  var glyphs: Glyphs { appearance.glyphs }
  var ascii: Bool { glyphs.isASCII }
  /// Projector mode draws the secondary text bold instead of dim, which a projector washes out.
  var dim: Style { state.large ? Style(bold: true) : Style(dim: true) }
  let bold = Style(bold: true)
  let accent = Style(fg: .rgb(0x56, 0xB4, 0xE9), bold: true)

  public func render(into buffer: inout Buffer) {
    let area = buffer.area
    guard area.width >= Layout.minimum.width, area.height >= Layout.minimum.height else {
      buffer.render(TooSmallScreen(current: area.size, needed: Layout.minimum, appearance: appearance), in: area)
      return
    }
    let plan = ScreenLayout.plan(state: state, size: area.size, color: appearance.usesColor)
    renderHeader(in: plan.header, compact: plan.compactHeader, buffer: &buffer)
    if let page = state.lessonPage, let box = plan.lesson { renderLesson(page, in: box, buffer: &buffer) }
    if state.showPlots { renderPlots(in: plan.maps, buffer: &buffer) } else { renderMaps(in: plan.maps, buffer: &buffer) }
    if let side = plan.side { renderSidePanel(in: side, buffer: &buffer) }
    renderLegend(in: plan.legend, buffer: &buffer)
    renderFooter(in: plan.footer, buffer: &buffer)
    if state.showHelp {
      buffer.render(HelpOverlay(entries: helpEntries, page: state.helpPage, title: "tokenscope keys", glyphs: glyphs), in: area)
    }
  }

  /// The focused map's patch geometry on a screen of `size` (for mouse clicks), when a single map is shown.
  public static func focusedMapGeometry(state: ExplorerState, size: Size, color: Bool = true) -> MapGeometry? {
    guard !state.compare, !state.showPlots, state.view != .image, size.width >= Layout.minimum.width,
      size.height >= Layout.minimum.height
    else { return nil }
    let plan = ScreenLayout.plan(state: state, size: size, color: color)
    return MapGeometry.fitting(grid: state.context.grid, in: plan.maps.inset(by: 1), color: color, focus: state.cursor)
  }
}

func gmacs(_ macs: Int) -> String { fixedDigits(Double(macs) / 1e9, macs < 10_000_000 ? 5 : 3) }
func fixed1(_ v: Double) -> String { fixedDigits(v, 1) }
func fixed2(_ v: Double) -> String { fixedDigits(v, 2) }
func fixed4(_ v: Double) -> String { fixedDigits(v, 4) }

func fixedDigits(_ value: Double, _ digits: Int) -> String {
  value.isFinite ? formatFixed(value, decimals: digits) : "-"
}

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }

private let asciiSpellings: [Character: String] = ["→": "->", "…": "...", "τ": "tau", "≥": ">=", "≤": "<=", "×": "x"]

extension String {
  /// The text for an ASCII terminal: arrows, ellipses and the few symbols method events use, spelled out.
  func replacingArrow() -> String {
    var out = ""
    for ch in self { if let spelled = asciiSpellings[ch] { out += spelled } else { out.append(ch) } }
    return out
  }
}
