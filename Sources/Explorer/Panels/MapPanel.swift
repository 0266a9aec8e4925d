// The token maps: one per method on screen, each patch drawn by its state, merge group, key/value cluster or CLS
// attention, with the cursor, its token and the differences from method 1 marked.
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

/// How each patch state is drawn: its own colour and its own glyph pair, so the map reads without colour.
struct StateLook {
  let glyph: String, ascii: String, color: RGB, label: String
  static func of(_ state: PatchState) -> StateLook {
    switch state {
    case .kept: return StateLook(glyph: "██", ascii: "##", color: RGB(hex: 0x3CB371), label: "kept")
    case .merged: return StateLook(glyph: "▓▓", ascii: "==", color: RGB(hex: 0x4A90D9), label: "merged")
    case .fused: return StateLook(glyph: "▒▒", ascii: "%%", color: RGB(hex: 0xE69F00), label: "fused")
    case .pruned: return StateLook(glyph: "··", ascii: "..", color: RGB(hex: 0x555555), label: "pruned")
    case .idle: return StateLook(glyph: "░░", ascii: "::", color: RGB(hex: 0xA070D0), label: "idle")
    }
  }
}

extension ExplorerScreen {
  func renderMaps(in area: Rect, buffer: inout Buffer) {
    let shown = state.compare ? Array(state.methods.indices) : [state.focus]
    let columns = area.columns(shown.map { _ in .fill(1) }, spacing: 1)
    for (slot, index) in shown.enumerated() {
      let spec = state.methods[index]
      let run = state.runs[spec.canonical]
      // The clusters view names what it shows: key/value clusters, or the clusters a block made into tokens.
      let made = state.view == .clusters && run.map { state.layer < $0.layers.count && $0.layers[state.layer].cluster == nil
        && $0.layers[state.layer].annotations?.mergeLevels != nil } == true
      let title = state.compare ? "\(index + 1) \(spec.name)" : "\(made ? "token clusters" : state.view.title): \(spec.canonical)"
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
        let info = "\(layer.tokensIn)→\(layer.tokensOut) tok  \(gmacs(layer.cumulativeMACs))/\(gmacs(run.baselineMACs)) G"
        _ = buffer.set(string: ascii ? info.replacingArrow() : info, x: inner.x, y: inner.bottom - 1, style: dim, maxWidth: inner.width)
        mapArea = inner.inset(bottom: 1)
      }
      renderMap(run: run, layer: layer, in: mapArea, buffer: &buffer)
    }
  }

  /// Where the patch cells of a map go in `area`: each patch is (2s x s) cells, or 1 x 1 when the grid is too large.
  static func patchGeometry(grid: (rows: Int, cols: Int), in area: Rect) -> MapGeometry {
    let s = max(0, min(area.width / (2 * grid.cols), area.height / grid.rows))
    let cellW = s > 0 ? 2 * s : 1, cellH = max(s, 1)
    return MapGeometry(x: area.x + max(0, (area.width - grid.cols * cellW) / 2),
                       y: area.y + max(0, (area.height - grid.rows * cellH) / 2), cellWidth: cellW, cellHeight: cellH)
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
    default: break
    }
    let geometry = ExplorerScreen.patchGeometry(grid: (g.rows, g.cols), in: area)
    let cellW = geometry.cellWidth, cellH = geometry.cellHeight, ox = geometry.x, oy = geometry.y
    let attention = layer.attention(head: state.head)
    let maxAttention = max(attention.max() ?? 0, 1e-12)
    let maxNorm = max(layer.tokenNorm.max() ?? 0, 1e-12)
    let reference = (state.compare && state.highlightDifferences ? state.runs[state.methods[0].canonical] : nil)
      .flatMap { $0.grid == g ? $0.layers[state.layer] : nil }  // runs on other grids (DVT) are not compared patch by patch
    let annotationContext = AnnotationContext(layer)
    let cursorPatch = state.cursorPatch(in: run)
    let cursorToken = cursorPatch.map { layer.patchToken[$0] } ?? -1
    let cursorCluster = cursorPatch.flatMap { layer.cluster?[$0] ?? layer.group[$0] } ?? -1
    for row in 0..<g.rows {
      for col in 0..<g.cols {
        let p = row * g.cols + col
        let patchState = layer.patchState[p]
        let look = StateLook.of(patchState)
        var glyph = ascii ? look.ascii : look.glyph
        var color = look.color
        switch state.view {
        case .status, .image: break
        case .groups:
          let group = layer.group[p]
          color = group < 0 ? look.color : CategoricalPalette.rgb(for: group)
        case .clusters:
          // Key/value clusters (ClusTR), or the clusters a clustering block turned into tokens (its merge groups).
          let cluster = layer.cluster?[p] ?? layer.group[p]
          color = cluster < 0 ? look.color : CategoricalPalette.rgb(for: cluster)
        case .score: (glyph, color) = scoreLook(layer: layer, patch: p, context: annotationContext, fallback: (glyph, look.color))
        case .roles: (glyph, color) = roleLook(layer: layer, patch: p, context: annotationContext, fallback: (glyph, look.color))
        case .stages, .pruning, .counts: break
        case .attention, .norms:
          let t = Double(state.view == .norms ? (p < layer.tokenNorm.count ? layer.tokenNorm[p] : 0) / maxNorm : attention[p] / maxAttention)
          color = SequentialPalette.viridis.rgb(at: t)
          // Shades carry the value without colour; every attended patch gets at least the lightest shade.
          let shades = glyphs.shades.filter { $0 != " " }
          glyph = t > 0 ? String(repeating: shades[min(shades.count - 1, Int(t * Double(shades.count)))], count: 2) : glyph
        }
        var style = Style(fg: color.color)
        if let reference, reference.patchState[p] != patchState { style = style.reversed() }
        if let cursor = state.cursor {
          if cursor.row == row, cursor.col == col {
            style = style.reversed().bolded()
          } else if state.view == .clusters ? (cursorCluster >= 0 && (layer.cluster?[p] ?? layer.group[p]) == cursorCluster)
                      : (cursorToken >= 0 && layer.patchToken[p] == cursorToken) {
            style = style.underlined().bolded()  // the other patches of the cursor's token (or cluster)
          }
        }
        let text = cellW == 1 ? String(glyph.prefix(1)) : String(repeating: glyph, count: cellW / 2)
        for dy in 0..<cellH {
          _ = buffer.set(string: text, x: ox + col * cellW, y: oy + row * cellH + dy, style: style, maxWidth: area.right - (ox + col * cellW))
        }
      }
    }
  }
}
