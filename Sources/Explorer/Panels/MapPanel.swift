// The token maps: one per method on screen, each patch drawn by its state, merge group, key/value cluster or CLS
// attention, with the cursor, its token and the differences from method 1 marked.
import Figures
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

/// How each patch state is drawn: its own colour and its own glyph pair, so the map reads without colour.
struct StateLook {
  let glyph: String, ascii: String, color: RGB, label: String
  static func of(_ state: PatchState, theme: Theme = .standard) -> StateLook {
    let color = theme.color(state)
    switch state {
    case .kept: return StateLook(glyph: "██", ascii: "##", color: color, label: "kept")
    case .merged: return StateLook(glyph: "▓▓", ascii: "==", color: color, label: "merged")
    case .fused: return StateLook(glyph: "▒▒", ascii: "%%", color: color, label: "fused")
    case .pruned: return StateLook(glyph: "··", ascii: "..", color: color, label: "pruned")
    case .idle: return StateLook(glyph: "░░", ascii: "::", color: color, label: "idle")
    }
  }
}

extension ExplorerScreen {
  func renderMaps(in area: Rect, buffer: inout Buffer) {
    // Compared in the relevance view, the methods' rollouts stand beside the baseline's (computed for relevance kept).
    let withBaseline = state.compare && state.view == .relevance && !state.methods.contains(.baseline)
    let shown: [Int?] = (state.compare ? Array(state.methods.indices) : [state.focus]) + (withBaseline ? [nil] : [])
    let columns = area.columns(shown.map { _ in .fill(1) }, spacing: 1)
    for (slot, method) in shown.enumerated() {
      let index = method ?? -1
      let spec = method.map { state.methods[$0] } ?? .baseline
      let run = state.runs[spec.canonical]
      // The clusters view names what it shows: key/value clusters, or the clusters a block made into tokens.
      let made = state.view == .clusters && run.map { state.layer < $0.layers.count && $0.layers[state.layer].cluster == nil
        && $0.layers[state.layer].annotations?.mergeLevels != nil } == true
      let title = method == nil ? "baseline" : state.compare ? "\(index + 1) \(spec.name)" : "\(made ? "token clusters" : state.view.title): \(spec.canonical)"
      let block = Block(title: Line(" \(title) ", style: index == state.focus ? bold : .plain), borderKind: .rounded, glyphs: glyphs)
      buffer.render(block, in: columns[slot])
      let inner = block.inner(columns[slot])
      guard let run, state.layer < run.layers.count else {
        let note = state.errors[spec.canonical] ?? (state.pending.contains(spec.canonical) ? "computing…" : "")
        buffer.render(Paragraph(note, style: dim), in: inner.inset(by: 1))
        continue
      }
      let layer = run.layers[state.layer]
      var mapArea = inner
      if state.compare {
        let kept = state.relevanceKept(run: run, layer: layer).map { "rel \(fixed1(Double($0) * 100))%  " } ?? ""
        let info = "\(kept)\(layer.tokensIn)→\(layer.tokensOut) tok  \(gmacs(layer.cumulativeMACs))/\(gmacs(run.baselineMACs)) G"
        _ = buffer.set(string: ascii ? info.replacingArrow() : info, x: inner.x, y: inner.bottom - 1, style: dim, maxWidth: inner.width)
        mapArea = inner.inset(bottom: 1)
      }
      renderMap(run: run, layer: layer, in: mapArea, buffer: &buffer)
      // A cropped map says which part it shows, on its bottom border.
      let g = run.grid
      let geometry = MapGeometry.fitting(grid: (g.rows, g.cols), in: mapArea, color: appearance.usesColor, focus: state.cursor)
      if geometry.isCropped && isPatchMap(layer: layer) {
        let note = " rows \(geometry.firstRow)-\(geometry.firstRow + geometry.rows - 1), cols \(geometry.firstCol)-\(geometry.firstCol + geometry.cols - 1) of \(g.rows)x\(g.cols) "
        _ = buffer.set(string: note, x: columns[slot].x + 1, y: columns[slot].bottom - 1, style: dim, maxWidth: columns[slot].width - 2)
      }
    }
  }

  /// Whether the current view draws `layer` as a grid of patches (the others draw panels or messages).
  func isPatchMap(layer: LayerView) -> Bool {
    switch state.view {
    case .image, .stages, .pruning, .counts: return false
    case .clusters: return layer.cluster != nil || layer.annotations?.mergeLevels != nil
    default: return true
    }
  }

  /// Where the patch cells of a panel's small grid go in `area` (the stages view): the largest `2s x s` blocks that
  /// fit, else one cell per patch (the caller clips).
  static func patchGeometry(grid: (rows: Int, cols: Int), in area: Rect) -> MapGeometry {
    let s = max(0, min(area.width / (2 * grid.cols), area.height / grid.rows))
    let cellW = s > 0 ? 2 * s : 1, cellH = max(s, 1)
    return MapGeometry(x: area.x + max(0, (area.width - grid.cols * cellW) / 2),
                       y: area.y + max(0, (area.height - grid.rows * cellH) / 2), cellWidth: cellW, cellHeight: cellH,
                       rows: grid.rows, cols: grid.cols, gridRows: grid.rows, gridCols: grid.cols)
  }

  func renderMap(run: MethodRun, layer: LayerView, in area: Rect, buffer: inout Buffer) {
    let g = run.grid
    switch state.view {
    case .image:
      buffer.render(HalfBlockImage(image: state.context.image, centered: true, appearance: appearance), in: area)
      return
    case .stages:
      renderStages(run: run, in: area, buffer: &buffer)
      return
    case .pruning:
      renderPruning(run: run, in: area, buffer: &buffer)
      return
    case .clusters where layer.cluster == nil && layer.annotations?.mergeLevels == nil:
      let clustering = ExplorerScreen.blocks(of: run) { $0.annotations?.mergeLevels != nil }
      let why = run.spec.name == "clustr" ? "this block attends without clusters"
        : !clustering.isEmpty ? "\(run.spec.name) clusters its tokens in \(clustering); step to one"
        : "\(run.spec.name) does not cluster keys and values (clustr does)"
      buffer.render(Paragraph(why, style: dim), in: area.inset(by: 1))
      return
    case .counts:
      renderCounts(run: run, in: area, buffer: &buffer)
      return
    case .score, .roles:
      if let why = annotationGap(run: run, layer: layer) {
        buffer.render(Paragraph(why, style: dim), in: area.inset(by: 1))
        return
      }
    case .relevance, .ablation, .lens:
      if let why = attributionGap(run: run, context: AttributionContext(state: state, run: run, layer: layer)) {
        buffer.render(Paragraph(why, style: dim), in: area.inset(by: 1))
        return
      }
    default: break
    }
    let attributionContext = AttributionContext(state: state, run: run, layer: layer)
    let geometry = MapGeometry.fitting(grid: (g.rows, g.cols), in: area, color: appearance.usesColor, focus: state.cursor)
    let queried = state.view == .attention ? state.attentionMap(layer, run: run).values : []
    guard let queried else {
      buffer.render(Paragraph("the cursor's token idles in block \(state.layer): it asks no query here (A: back to CLS)", style: dim),
                    in: area.inset(by: 1))
      return
    }
    let attention = state.attentionScale.normalized(queried)
    let maxNorm = max(layer.tokenNorm.max() ?? 0, 1e-12)
    let reference = (state.compare && state.highlightDifferences ? state.runs[state.methods[0].canonical] : nil)
      .flatMap { $0.grid == g ? $0.layers[state.layer] : nil }  // runs on other grids (DVT) are not compared patch by patch
    let annotationContext = AnnotationContext(layer)
    let cursorPatch = state.cursorPatch(in: run)
    let cursorToken = cursorPatch.map { layer.patchToken[$0] } ?? -1
    let cursorCluster = cursorPatch.flatMap { layer.cluster?[$0] ?? layer.group[$0] } ?? -1
    // Merge groups and clusters are drawn in their mean colour in the image, and the status view on the image.
    let onImage = state.view == .groups || state.view == .clusters || state.view == .status
    let imageColour = onImage ? patchMeans(of: state.context.image, rows: g.rows, cols: g.cols) : []
    let regionColour: [Int: RGB] = onImage
      ? groupMeans(state.view == .clusters ? layer.cluster ?? layer.group : layer.group, patches: imageColour) : [:]
    var looks = [(glyph: String, style: Style)](repeating: ("", .plain), count: g.rows * g.cols)
    for row in geometry.firstRow..<(geometry.firstRow + geometry.rows) {
      for col in geometry.firstCol..<(geometry.firstCol + geometry.cols) {
        let p = row * g.cols + col
        let patchState = layer.patchState[p]
        let look = StateLook.of(patchState, theme: state.activeTheme)
        var glyph = ascii ? look.ascii : look.glyph
        var color = look.color
        switch state.view {
        case .status, .image:
          // On the image, as render draws it: kept patches as they are, merged ones in their group's mean colour,
          // fused tinted orange, idle darkened, pruned faded; the glyph still says the state without colour.
          if appearance.usesColor, p < imageColour.count {
            switch patchState {
            case .kept: color = imageColour[p]
            case .merged: color = regionColour[layer.group[p]] ?? imageColour[p]
            case .fused: color = imageColour[p].mixed(with: TokenMapPainter.fusedTint, by: 0.55)
            case .idle: color = imageColour[p].mixed(with: RGB(0, 0, 0), by: 0.65)
            case .pruned: color = imageColour[p].mixed(with: RGB(255, 255, 255), by: 0.85)
            }
          }
        case .groups:
          // The group's mean colour in the image, as render draws it: merges follow the picture's regions.
          let group = layer.group[p]
          color = group < 0 || patchState == .pruned ? look.color : regionColour[group] ?? look.color
        case .clusters:
          // Key/value clusters (ClusTR), or the clusters a clustering block turned into tokens (its merge groups),
          // each in its mean colour.
          let cluster = layer.cluster?[p] ?? layer.group[p]
          color = cluster < 0 ? look.color : regionColour[cluster] ?? look.color
        case .score: (glyph, color) = scoreLook(layer: layer, patch: p, context: annotationContext, fallback: (glyph, look.color))
        case .roles: (glyph, color) = roleLook(layer: layer, patch: p, context: annotationContext, fallback: (glyph, look.color))
        case .stages, .pruning, .counts: break
        case .relevance, .ablation, .lens:
          (glyph, color) = attributionLook(run: run, layer: layer, patch: p, context: attributionContext, fallback: (glyph, look.color))
        case .attention, .norms:
          let t = state.view == .norms ? Double((p < layer.tokenNorm.count ? layer.tokenNorm[p] : 0) / maxNorm) : attention[p]
          color = SequentialPalette.viridis.rgb(at: t)
          // Shades carry the value without colour; every attended patch gets at least the lightest shade.
          let shades = glyphs.shades.filter { $0 != " " }
          glyph = t > 0 ? String(repeating: shades[min(shades.count - 1, Int(t * Double(shades.count)))], count: 2) : glyph
        }
        var style = Style(fg: color.color)
        // A patch whose state differs from method 1's keeps its colour and gets the legend's own glyph (reverse video
        // turned a kept ██ into a hole).
        // Half of each glyph pair becomes the mark, the other half still says the state.
        if let reference, reference.patchState[p] != patchState { glyph = (ascii ? "x" : "×") + String(glyph.suffix(1)) }
        if let cursor = state.cursor {
          if cursor.row == row, cursor.col == col {
            // The cursor: brackets on the patch's colour, so the colour stays in view.
            glyph = "[]"
            style = appearance.usesColor ? Style(fg: .rgb(0xFF, 0xFF, 0xFF), bg: color.color, bold: true) : Style(bold: true)
          } else if state.view == .clusters ? (cursorCluster >= 0 && (layer.cluster?[p] ?? layer.group[p]) == cursorCluster)
                      : (cursorToken >= 0 && layer.patchToken[p] == cursorToken) {
            style = style.underlined().bolded()  // the other patches of the cursor's token (or cluster)
          }
        }
        looks[p] = (glyph, style)
      }
    }
    drawPatches(looks, geometry: geometry, in: area, buffer: &buffer)
  }

  /// Draws one look per patch at `geometry`, clipped to `area`. Half-block rows show colours only: the upper patch's
  /// in front of `▀`, the lower one's behind it.
  func drawPatches(_ looks: [(glyph: String, style: Style)], geometry: MapGeometry, in area: Rect, buffer: inout Buffer) {
    let cols = geometry.gridCols
    let cellW = geometry.cellWidth, cellH = geometry.cellHeight
    if geometry.halfRows {
      for textRow in 0..<((geometry.rows + 1) / 2) {
        let y = geometry.y + textRow
        guard y >= area.y, y < area.bottom else { continue }
        for c in 0..<geometry.cols where geometry.x + c < area.right {
          let top = (geometry.firstRow + 2 * textRow) * cols + geometry.firstCol + c
          let lowerRow = geometry.firstRow + 2 * textRow + 1
          let below = lowerRow < geometry.firstRow + geometry.rows ? looks[lowerRow * cols + geometry.firstCol + c].style.fg : Color.default
          let upper = looks[top].style
          _ = buffer.set(string: "▀", x: geometry.x + c, y: y,
                         style: Style(fg: upper.fg, bg: below, bold: upper.bold, underline: upper.underline), maxWidth: 1)
        }
      }
      return
    }
    for r in 0..<geometry.rows {
      for c in 0..<geometry.cols {
        let look = looks[(geometry.firstRow + r) * cols + geometry.firstCol + c]
        let text = cellW == 1 ? String(look.glyph.prefix(1)) : String(repeating: look.glyph, count: cellW / 2)
        let x = geometry.x + c * cellW
        for dy in 0..<cellH {
          let y = geometry.y + r * cellH + dy
          guard y >= area.y, y < area.bottom, x < area.right else { continue }
          _ = buffer.set(string: text, x: x, y: y, style: look.style, maxWidth: area.right - x)
        }
      }
    }
  }
}
