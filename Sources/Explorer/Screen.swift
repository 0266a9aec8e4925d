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

/// Where a token map's patch cells start and how big each is.
public struct MapGeometry: Equatable, Sendable {
  public var x: Int, y: Int, cellWidth: Int, cellHeight: Int
}

public struct ExplorerScreen {
  public let state: ExplorerState
  public let appearance: Appearance
  public init(state: ExplorerState, appearance: Appearance) { self.state = state; self.appearance = appearance }

  var glyphs: Glyphs { appearance.glyphs }
  var ascii: Bool { glyphs.isASCII }
  let dim = Style(dim: true)
  let bold = Style(bold: true)
  let accent = Style(fg: .rgb(0x56, 0xB4, 0xE9), bold: true)

  public func render(into buffer: inout Buffer) {
    let area = buffer.area
    guard area.width >= Layout.minimum.width, area.height >= Layout.minimum.height else {
      buffer.render(TooSmallScreen(current: area.size, needed: Layout.minimum, appearance: appearance), in: area)
      return
    }
    let rows = area.rows([.fixed(3), .fill(1), .fixed(1), .fixed(1)])
    renderHeader(in: rows[0], buffer: &buffer)
    let showSide = area.width >= 100 || (area.width >= 72 && !state.compare)
    let body = showSide ? rows[1].columns([.fill(1), .fixed(Layout.sidePanelWidth)], spacing: 1) : [rows[1]]
    var main = body[0]
    if let page = state.lessonPage {
      let split = main.rows([.fill(1), .fixed(Layout.lessonHeight)])
      main = split[0]
      renderLesson(page, in: split[1], buffer: &buffer)
    }
    if state.showPlots { renderPlots(in: main, buffer: &buffer) } else { renderMaps(in: main, buffer: &buffer) }
    if showSide { renderSidePanel(in: body[1], buffer: &buffer) }
    renderLegend(in: rows[2], buffer: &buffer)
    renderFooter(in: rows[3], buffer: &buffer)
    if state.showHelp {
      buffer.render(HelpOverlay(entries: helpEntries, page: state.helpPage, title: "tokenscope keys", glyphs: glyphs), in: area)
    }
  }

  /// The focused map's patch geometry on a screen of `size` (for mouse clicks), when a single map is shown.
  public static func focusedMapGeometry(state: ExplorerState, size: Size) -> MapGeometry? {
    guard !state.compare, !state.showPlots, state.view != .image, size.width >= Layout.minimum.width,
      size.height >= Layout.minimum.height
    else { return nil }
    let area = Rect(size: size)
    let rows = area.rows([.fixed(3), .fill(1), .fixed(1), .fixed(1)])
    let showSide = area.width >= 72
    let body = showSide ? rows[1].columns([.fill(1), .fixed(Layout.sidePanelWidth)], spacing: 1) : [rows[1]]
    let main = state.lessonPage == nil ? body[0] : body[0].rows([.fill(1), .fixed(Layout.lessonHeight)])[0]
    let inner = Block(borderKind: .rounded).inner(main)
    return patchGeometry(grid: state.context.grid, in: inner)
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
