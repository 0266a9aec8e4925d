// The plots page's dataset panel (`--maps FILE`, `:maps FILE`): the focused method's mean map over a dataset at the
// current block beside this image's map, on the same patch grid, so a user can see whether this image is typical.
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

/// Where the plots page puts its parts.
struct PlotsPlan: Equatable {
  /// The two line charts (tokens, GMACs), when shown.
  var charts: Rect?
  /// The attention entropy heat map, when shown.
  var entropy: Rect?
  /// The dataset maps panel, when maps are loaded.
  var maps: Rect?
}

extension ExplorerScreen {
  /// The panel's rows and columns for two `grid`s side by side at two columns by one row a patch: border, two caption
  /// rows, the maps, the legend row; at least 48 columns, so the captions fit beside small grids.
  static func datasetPanelSize(grid: (rows: Int, cols: Int)) -> (width: Int, height: Int) {
    (max(48, 2 + 2 * (2 * grid.cols) + 2), 2 + 3 + grid.rows)
  }

  /// The plots page in `area`. Without maps: the charts over 55% of the rows, the entropy heat map under them. With
  /// maps, in this order as the window shrinks: the panel takes the rows its maps need at full size from the charts
  /// while the charts keep 8; else the rows the maps need as half blocks (the charts keep the rest, 8 or more); else
  /// the charts go and the panel takes the page. The entropy panel sits beside the maps panel while it keeps 24
  /// columns, else it goes. The maps themselves then fit their half of the panel as the token map fits its box.
  static func plotsPlan(state: ExplorerState, area: Rect) -> PlotsPlan {
    let rows = area.rows([.percent(55), .fill(1)])
    guard state.datasetMaps != nil else { return PlotsPlan(charts: rows[0], entropy: rows[1], maps: nil) }
    let want = datasetPanelSize(grid: state.context.grid)
    let halfHeight = want.height - state.context.grid.rows + (state.context.grid.rows + 1) / 2
    let least = rows[1].height
    var charts: Rect? = nil
    var bottom = area
    if area.height - 8 >= halfHeight {
      let height = min(max(least, want.height), area.height - 8)
      let split = area.rows([.fill(1), .fixed(height)])
      charts = split[0]
      bottom = split[1]
    }
    let width = min(bottom.width, want.width)
    guard bottom.width - width - 1 >= 24 else { return PlotsPlan(charts: charts, entropy: nil, maps: bottom) }
    let columns = bottom.columns([.fill(1), .fixed(width)], spacing: 1)
    return PlotsPlan(charts: charts, entropy: columns[0], maps: columns[1])
  }

  /// Why the loaded maps cannot be set beside this image's (another grid, another depth, a method they lack), or nil.
  func datasetMapsNote(_ loaded: LoadedMaps) -> String? {
    let maps = loaded.maps, grid = state.context.grid, spec = state.focusedSpec
    if maps.grid != GridSize(rows: grid.rows, cols: grid.cols) {
      return "\(loaded.name) was made at grid \(maps.grid); this image runs at \(grid.rows)x\(grid.cols), so the maps do not line up (:size N runs the model at another input size)"
    }
    if maps.layers != state.context.depth {
      return "\(loaded.name) has \(maps.layers) blocks; this model has \(state.context.depth): it was made with another model"
    }
    if maps.method(for: spec) == nil {
      let listed = maps.methods.map(\.method).joined(separator: ", ")
      let skipped = maps.skipped.contains(spec.canonical) ? " (skipped there: a cascade changes its grid per image)" : ""
      return "\(spec.canonical) is not in \(loaded.name)\(skipped); it has \(listed.isEmpty ? "no methods" : listed). m, :method SPEC or 1-4 focus one of them."
    }
    return nil
  }

  /// The dataset's rate of one state per patch (the state the method most often puts patches in at this block, other
  /// than kept) as a heat map, and this image's states in their colours and glyphs; or, where the two cannot be set
  /// side by side, why not.
  func renderDatasetMaps(_ loaded: LoadedMaps, in area: Rect, buffer: inout Buffer) {
    let maps = loaded.maps
    let spec = state.focusedSpec
    let block = Block(title: Line(" \(loaded.name): \(spec.name), block \(state.layer) ", style: bold), borderKind: .rounded, glyphs: glyphs)
    buffer.render(block, in: area)
    let inner = block.inner(area)
    if let note = datasetMapsNote(loaded) {
      buffer.render(Paragraph(ascii ? note.replacingArrow() : note, style: dim), in: inner)
      return
    }
    guard let method = maps.method(for: spec), state.layer < maps.layers else { return }
    let shown = method.dominantChange(layer: state.layer)
    let stateIndex = PatchState.allCases.firstIndex(of: shown)!
    let rates = method.rates(layer: state.layer)
    let run = state.focusedRun
    let layer = run.flatMap { $0.grid == maps.grid && state.layer < $0.layers.count ? $0.layers[state.layer] : nil }
    let dims = (rows: maps.grid.rows, cols: maps.grid.cols)
    let patches = maps.grid.count

    let parts = inner.rows([.fixed(1), .fixed(1), .fill(1), .fixed(1)])
    let titles = parts[0].columns([.fill(1), .fill(1)], spacing: 2)
    let halves = parts[2].columns([.fill(1), .fill(1)], spacing: 2)
    _ = buffer.set(string: "\(method.images) images", x: titles[0].x, y: titles[0].y, style: bold, maxWidth: titles[0].width)
    _ = buffer.set(string: "this image", x: titles[1].x, y: titles[1].y, style: bold, maxWidth: titles[1].width)
    // The state the heat map shows, its mean rate over the patches and this image's share of it (short: it must fit
    // beside a 14x14 map at 80x24); with the cursor, the cursor's patch over the dataset and here.
    let here = layer.map { l in percentText(Double(l.patchState.filter { $0 == shown }.count) / Double(max(patches, 1))) }
    var caption = "\(shown.rawValue): dataset \(percentText(rates[stateIndex].reduce(0, +) / Double(max(patches, 1)))), image \(here ?? "-")"
    let cursor = state.cursor.flatMap { c in c.row < dims.rows && c.col < dims.cols ? c.row * dims.cols + c.col : nil }
    if let p = cursor {
      let dataset = PatchState.allCases.indices.filter { rates[$0][p] > 0 }
        .map { "\(PatchState.allCases[$0].rawValue) \(percentText(rates[$0][p]))" }.joined(separator: " ")
      caption = "(\(p / dims.cols),\(p % dims.cols)): \(dataset); image \(layer.map { $0.patchState[p].rawValue } ?? "-")"
    }
    if layer == nil { caption += " (" + (state.errors[spec.canonical] ?? "computing…") + ")" }
    _ = buffer.set(string: ascii ? caption.replacingArrow() : caption, x: parts[1].x, y: parts[1].y, style: dim, maxWidth: parts[1].width)

    // The two maps, each fitted to its half as the token map fits its box; the cursor marked on both.
    let shades = glyphs.shades
    var datasetLooks: [(glyph: String, style: Style)] = (0..<patches).map { p in
      let t = min(max(rates[stateIndex][p], 0), 1)
      // The rate is the colour and the density ramp the colour bar shows without colour, so the map reads either way
      // (and in a text capture).
      let glyph = shades[Int((t * Double(shades.count - 1)).rounded())]
      return (glyph + glyph, Style(fg: SequentialPalette.viridis.color(at: t)))
    }
    var imageLooks: [(glyph: String, style: Style)] = (layer?.patchState ?? []).map { s in
      let look = StateLook.of(s, theme: state.activeTheme)
      return (ascii ? look.ascii : look.glyph, Style(fg: look.color.color))
    }
    func marked(_ look: (glyph: String, style: Style)) -> (glyph: String, style: Style) {
      ("[]", appearance.usesColor ? Style(fg: .rgb(0xFF, 0xFF, 0xFF), bg: look.style.fg, bold: true) : Style(bold: true))
    }
    if let p = cursor {
      datasetLooks[p] = marked(datasetLooks[p])
      if p < imageLooks.count { imageLooks[p] = marked(imageLooks[p]) }
    }
    let geometry = MapGeometry.fitting(grid: dims, in: halves[0], color: appearance.usesColor, focus: state.cursor)
    drawPatches(datasetLooks, geometry: geometry, in: halves[0], buffer: &buffer)
    if imageLooks.count == patches {
      drawPatches(imageLooks, geometry: MapGeometry.fitting(grid: dims, in: halves[1], color: appearance.usesColor, focus: state.cursor),
                  in: halves[1], buffer: &buffer)
    }
    if geometry.isCropped {
      let note = " rows \(geometry.firstRow)-\(geometry.firstRow + geometry.rows - 1), cols \(geometry.firstCol)-\(geometry.firstCol + geometry.cols - 1) of \(dims.rows)x\(dims.cols) "
      _ = buffer.set(string: note, x: area.x + 1, y: area.bottom - 1, style: dim, maxWidth: area.width - 2)
    }

    // The colour bar under the dataset's map, the states this image's map shows (all of them while it computes) under
    // its own; the bar narrows, down to 10 columns, where the states need more than their half.
    let present = PatchState.allCases.filter { s in layer?.patchState.contains(s) ?? true }
    let entries = present.map { s -> LegendEntry in
      let look = StateLook.of(s, theme: state.activeTheme)
      return LegendEntry(glyph: ascii ? look.ascii : look.glyph, style: Style(fg: look.color.color), label: look.label)
    }
    let statesWidth = entries.reduce(0) { $0 + 3 + $1.label.count } + entries.count - 1
    let row = parts[3]
    let legendX = max(row.x + 12, min(halves[1].x, row.right - statesWidth))
    buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: "0%", maxLabel: "100%",
                           appearance: appearance), in: Rect(x: row.x, y: row.y, width: min(legendX - 2 - row.x, halves[0].width), height: 1))
    buffer.render(Legend(entries: entries, spacing: 1, glyphs: glyphs), in: Rect(x: legendX, y: row.y, width: max(0, row.right - legendX), height: 1))
  }

  func percentText(_ share: Double) -> String { fixedDigits(100 * share, 0) + "%" }
}
