// Where each part of the explorer's screen goes for one state and one window size. A small window costs the screen
// something; what it gives up, and in which order, is the `Degradation` list below, so that every screen from 60x20
// to 100x30 is one of a few predictable layouts and the token map never draws outside its box.
import TUI

/// What a window too small for the full screen gives up, in this order: each step is taken only while the focused
/// token map still cannot show every patch at two columns by one row.
public enum Degradation: String, CaseIterable, Sendable {
  /// Lesson mode: the lesson text leaves the box under the maps for the side column (the layer panel's place).
  case lessonBeside
  /// The three header rows (model, image, methods) fold into one (model and methods).
  case compactHeader
  /// The layer panel narrows from 44 to 34 columns.
  case narrowSidePanel
  /// The layer panel goes (its figures stay a key away: `p` plots, `?` help).
  case noSidePanel
  /// One column per patch instead of two.
  case narrowCells
  /// Two patch rows per text row, drawn as half blocks (colour terminals only: the glyphs that carry a patch's state
  /// without colour need a whole cell).
  case halfBlockRows
  /// The map shows the part around the cursor that fits and names the rows and columns it shows.
  case cropped
}

/// How the patches of a token map become cells.
public enum MapCells: Equatable, Sendable {
  /// `2 * scale` columns by `scale` rows per patch.
  case blocks(scale: Int)
  /// One column by one row per patch.
  case narrow
  /// One column by half a row per patch (`▀` with the upper patch's colour in front, the lower one's behind).
  case halfBlock
  /// One column by one row per patch, showing only the patches from `first` that fit.
  case cropped(firstRow: Int, firstCol: Int, rows: Int, cols: Int)
}

/// The regions of one screen.
public struct ScreenPlan: Equatable, Sendable {
  public var header: Rect
  /// The maps (or plots) column.
  public var maps: Rect
  /// The layer panel, when shown.
  public var side: Rect?
  /// The lesson box, when in lesson mode (under the maps, or in the side column).
  public var lesson: Rect?
  public var legend: Rect
  public var footer: Rect
  /// The steps taken, in `Degradation`'s order.
  public var degradations: [Degradation]
  /// How the maps draw their patches.
  public var cells: MapCells

  public var compactHeader: Bool { degradations.contains(.compactHeader) }
}

public enum ScreenLayout {
  public static let narrowSidePanelWidth = 34
  /// The fewest rows of the lesson box under the maps: two rows of text, the page hint and the border.
  public static let minimumLessonRows = 5

  /// The plan for `state` in a window of `size` (at least `Layout.minimum`); `color` says whether half blocks can
  /// carry patch states.
  public static func plan(state: ExplorerState, size: Size, color: Bool = true) -> ScreenPlan {
    let grid = state.context.grid
    let maps = state.compare ? state.methods.count : 1
    // The rows and columns a map box needs for two columns by one row per patch (border, and compare's info row).
    let needRows = grid.rows + 2 + (state.compare ? 1 : 0)
    let needWidth = maps * (2 * grid.cols + 2) + (maps - 1)
    // The side column exists where the layout has always had it: wide windows, or single maps from 72 columns.
    let sideColumn = size.width >= 100 || (size.width >= 72 && !state.compare)
    let lessonMode = state.lessonPage != nil
    // Projector mode gives the maps the header's rows and the layer panel's columns from the start: bigger cells.
    var taken: [Degradation] = state.large ? [.compactHeader, .noSidePanel].filter { $0 != .noSidePanel || sideColumn } : []
    var plan = build(size: size, taken: taken, sideColumn: sideColumn, lessonMode: lessonMode, needRows: needRows,
                     needWidth: needWidth)
    for step in Degradation.allCases where !taken.contains(step) {
      if fits(plan, needRows: needRows, needWidth: needWidth) { break }
      switch step {
      case .lessonBeside: guard lessonMode && sideColumn && !taken.contains(.noSidePanel) else { continue }
      case .narrowSidePanel, .noSidePanel: guard sideColumn && plan.side != nil || taken.contains(.lessonBeside) else { continue }
      case .compactHeader: break
      case .narrowCells, .halfBlockRows, .cropped: continue  // cell modes: chosen below
      }
      taken.append(step)
      plan = build(size: size, taken: taken, sideColumn: sideColumn, lessonMode: lessonMode, needRows: needRows,
                   needWidth: needWidth)
    }
    // The cells: the largest blocks that fit, else narrower and flatter ones, else the part that fits.
    let geometry = MapGeometry.fitting(grid: (grid.rows, grid.cols), in: mapInner(plan.maps, maps: maps, compare: state.compare),
                                       color: color, focus: state.cursor)
    plan.cells = geometry.cells
    // Half blocks need half the rows: the lesson box under the map gets the rows they free.
    if geometry.halfRows, let lesson = plan.lesson, lesson.x == plan.maps.x {
      var wider = build(size: size, taken: taken, sideColumn: sideColumn, lessonMode: lessonMode,
                        needRows: (grid.rows + 1) / 2 + 2 + (state.compare ? 1 : 0), needWidth: needWidth)
      wider.degradations = plan.degradations
      wider.cells = plan.cells
      plan = wider
    }
    switch geometry.cells {
    case .blocks: break
    case .narrow: plan.degradations.append(.narrowCells)
    case .halfBlock: plan.degradations += [.narrowCells, .halfBlockRows]
    case .cropped: plan.degradations += [.narrowCells] + (color ? [.halfBlockRows] : []) + [.cropped]
    }
    let order = Degradation.allCases
    plan.degradations.sort { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }
    return plan
  }

  /// The inside of one map box in the maps column (the first of `maps` side by side).
  static func mapInner(_ column: Rect, maps: Int, compare: Bool) -> Rect {
    let box = column.columns(Array(repeating: .fill(1), count: maps), spacing: 1)[0]
    return box.inset(by: 1).inset(bottom: compare ? 1 : 0)
  }

  static func fits(_ plan: ScreenPlan, needRows: Int, needWidth: Int) -> Bool {
    plan.maps.height >= needRows && plan.maps.width >= needWidth
  }

  static func build(size: Size, taken: [Degradation], sideColumn: Bool, lessonMode: Bool, needRows: Int,
                    needWidth: Int) -> ScreenPlan {
    let area = Rect(size: size)
    let headerRows = taken.contains(.compactHeader) ? 1 : 3
    let rows = area.rows([.fixed(headerRows), .fill(1), .fixed(1), .fixed(1)])
    let body = rows[1]
    let hasSide = sideColumn && !taken.contains(.noSidePanel)
    // The narrow panel is as wide as the maps leave, down to its minimum.
    let sideWidth = taken.contains(.narrowSidePanel)
      ? max(narrowSidePanelWidth, min(Layout.sidePanelWidth, body.width - 1 - needWidth)) : Layout.sidePanelWidth
    let columns = hasSide ? body.columns([.fill(1), .fixed(sideWidth)], spacing: 1) : [body]
    var maps = columns[0]
    var side: Rect? = hasSide ? columns[1] : nil
    var lesson: Rect? = nil
    if lessonMode {
      if hasSide && taken.contains(.lessonBeside) {
        lesson = side
        side = nil
      } else {
        // Under the maps: as many rows as the map leaves, between the box's least and most.
        let rowsLeft = maps.height - needRows
        let height = min(Layout.lessonHeight, max(minimumLessonRows, rowsLeft))
        let split = maps.rows([.fill(1), .fixed(height)])
        maps = split[0]
        lesson = split[1]
      }
    }
    return ScreenPlan(header: rows[0], maps: maps, side: side, lesson: lesson, legend: rows[2], footer: rows[3],
                      degradations: taken, cells: .blocks(scale: 1))
  }
}
