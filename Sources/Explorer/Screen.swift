// The explorer's screen as a pure function of the state: header, token map(s), the layer panel, legend and key hints,
// drawn into a Buffer. Only the app's backend turns buffers into terminal output.
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

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

  // MARK: Header

  func renderHeader(in area: Rect, buffer: inout Buffer) {
    let c = state.context
    let spinnerFrames = ascii ? ["|", "/", "-", "\\"] : ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    let busy = state.isBusy ? " " + spinnerFrames[state.spinner % spinnerFrames.count] + " computing" : ""
    var x = buffer.set(string: "tokenscope ", x: area.x, y: area.y, style: accent)
    x = buffer.set(string: c.modelName, x: x, y: area.y, style: bold, maxWidth: area.right - x)
    x = buffer.set(string: "  " + c.modelSummary, x: x, y: area.y, style: dim, maxWidth: area.right - x)
    if !busy.isEmpty { _ = buffer.set(string: busy, x: max(x, area.right - busy.count), y: area.y, style: accent) }
    _ = buffer.set(string: "image \(c.imageName)  pre \(c.preprocessing)", x: area.x, y: area.y + 1, style: dim, maxWidth: area.width)
    var mx = buffer.set(string: "methods ", x: area.x, y: area.y + 2, style: dim)
    for (i, spec) in state.methods.enumerated() where mx < area.right {
      let label = "\(i + 1):\(spec.canonical)"
      mx = buffer.set(string: label, x: mx, y: area.y + 2, style: i == state.focus ? bold.underlined() : .plain, maxWidth: area.right - mx)
      mx = buffer.set(string: "  ", x: mx, y: area.y + 2, maxWidth: area.right - mx)
    }
  }

  // MARK: Token maps

  func renderMaps(in area: Rect, buffer: inout Buffer) {
    let shown = state.compare ? Array(state.methods.indices) : [state.focus]
    let columns = area.columns(shown.map { _ in .fill(1) }, spacing: 1)
    for (slot, index) in shown.enumerated() {
      let spec = state.methods[index]
      let run = state.runs[spec.canonical]
      let title = state.compare ? "\(index + 1) \(spec.name)" : "\(state.view.title): \(spec.canonical)"
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

  // MARK: Lesson

  func renderLesson(_ index: Int, in area: Rect, buffer: inout Buffer) {
    let page = Lesson.pages[index]
    let block = Block(title: Line(" lesson \(index + 1)/\(Lesson.pages.count): \(page.title) ", style: accent), borderKind: .rounded,
                      glyphs: glyphs)
    buffer.render(block, in: area)
    let inner = block.inner(area).inset(horizontal: 1)
    let text = ascii ? page.text.replacingArrow() : page.text.replacingOccurrences(of: "->", with: "→")
    buffer.render(Paragraph(text, style: .plain), in: inner.inset(bottom: 1))
    let hint = (index > 0 ? "[ previous  " : "") + (index + 1 < Lesson.pages.count ? "] or Enter next  " : "") + "t leave the lesson"
    _ = buffer.set(string: hint, x: inner.x, y: inner.bottom - 1, style: dim, maxWidth: inner.width)
  }

  // MARK: Plots

  /// Tokens and cumulative GMACs per layer for every method on screen against the baseline, and the focused method's
  /// attention entropy by layer (columns) and head (rows), the current layer marked.
  func renderPlots(in area: Rect, buffer: inout Buffer) {
    let rows = area.rows([.percent(55), .fill(1)])
    let top = rows[0].columns([.fill(1), .fill(1)], spacing: 1)
    let runs = state.methods.compactMap { state.runs[$0.canonical] }
    let depth = state.context.depth
    let xLabels = depth < 4 ? (1...max(1, depth)).map(String.init) : ["1", "\(depth / 2)", "\(depth)"]
    // Each series has its own marker, shown in the legend too, so the lines read without colour.
    let markers = ascii ? ["o", "*", "+", "#", "^"] : ["○", "●", "◆", "■", "▲"]
    let baselineStyle = Style(fg: .rgb(153, 153, 153))
    func seriesStyle(_ i: Int) -> Style { Style(fg: CategoricalPalette.color(for: i)) }
    var tokens: [ChartSeries] = [], macs: [ChartSeries] = []
    if let first = runs.first {
      tokens.append(ChartSeries(name: "none", values: Array(repeating: Double(first.layers[0].tokensIn), count: depth),
                                marker: markers[0], style: baselineStyle))
      // Baseline MACs per block, from the run's own totals: (baseline - stem - head) / depth.
      let head = first.totalMACs - first.stemMACs - first.layers.reduce(0) { $0 + $1.macs }
      let block = Double(first.baselineMACs - first.stemMACs - head) / Double(depth)
      macs.append(ChartSeries(name: "none", values: (0..<depth).map { (Double(first.stemMACs) + block * Double($0 + 1)) / 1e9 },
                              marker: markers[0], style: baselineStyle))
    }
    for (i, run) in runs.enumerated() where run.spec.name != "none" {
      let marker = markers[(i + 1) % markers.count]
      tokens.append(ChartSeries(name: run.spec.name, values: run.layers.map { Double($0.tokensOut) }, marker: marker, style: seriesStyle(i)))
      macs.append(ChartSeries(name: run.spec.name, values: run.layers.map { Double($0.cumulativeMACs) / 1e9 }, marker: marker,
                              style: seriesStyle(i)))
    }
    for (title, series, panel) in [("tokens after each layer", tokens, top[0]), ("GMACs so far", macs, top[1])] {
      let block = Block(title: Line(" \(title) ", style: bold), borderKind: .rounded, glyphs: glyphs)
      buffer.render(block, in: panel)
      let inner = block.inner(panel)
      let legend = series.map { LegendEntry(glyph: $0.marker ?? "-", style: $0.style, label: $0.name) }
      buffer.render(Legend(entries: legend, glyphs: glyphs), in: Rect(x: inner.x, y: inner.y, width: inner.width, height: 1))
      buffer.render(LineChart(series: series, xLabels: xLabels, glyphs: glyphs), in: inner.inset(top: 1))
    }
    let run = state.focusedRun
    let block = Block(title: Line(" attention entropy (nats), \(state.focusedSpec.name): heads x layers ", style: bold),
                      borderKind: .rounded, glyphs: glyphs)
    buffer.render(block, in: rows[1])
    guard let run else { return }
    let heads = run.layers.first?.entropy.count ?? 0
    let values = (0..<heads).map { h in run.layers.map { Double($0.entropy[h]) } }
    buffer.render(HeatGrid(values: values, cellWidth: max(2, min(4, (block.inner(rows[1]).width - 4) / max(1, depth))),
                           rowLabels: (0..<heads).map { "h\($0 + 1)" }, columnLabels: (0..<depth).map { "\($0 + 1)" },
                           highlighted: GridPosition(row: 0, column: state.layer), appearance: appearance),
                  in: block.inner(rows[1]))
  }

  /// Where the patch cells of a map go in `area`: each patch is (2s x s) cells, or 1 x 1 when the grid is too large.
  static func patchGeometry(grid: (rows: Int, cols: Int), in area: Rect) -> MapGeometry {
    let s = max(0, min(area.width / (2 * grid.cols), area.height / grid.rows))
    let cellW = s > 0 ? 2 * s : 1, cellH = max(s, 1)
    return MapGeometry(x: area.x + max(0, (area.width - grid.cols * cellW) / 2),
                       y: area.y + max(0, (area.height - grid.rows * cellH) / 2), cellWidth: cellW, cellHeight: cellH)
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
    case .clusters where layer.cluster == nil:
      let why = run.spec.name == "clustr" ? "this block attends without clusters" : "\(run.spec.name) does not cluster keys and values (clustr does)"
      buffer.render(Paragraph(why, style: dim), in: area.inset(by: 1))
      return
    default: break
    }
    let geometry = ExplorerScreen.patchGeometry(grid: (g.rows, g.cols), in: area)
    let cellW = geometry.cellWidth, cellH = geometry.cellHeight, ox = geometry.x, oy = geometry.y
    let attention = layer.attention(head: state.head)
    let maxAttention = max(attention.max() ?? 0, 1e-12)
    let reference = (state.compare && state.highlightDifferences ? state.runs[state.methods[0].canonical] : nil)
      .flatMap { $0.grid == g ? $0.layers[state.layer] : nil }  // runs on other grids (DVT) are not compared patch by patch
    let cursorPatch = state.cursorPatch(in: run)
    let cursorToken = cursorPatch.map { layer.patchToken[$0] } ?? -1
    let cursorCluster = cursorPatch.flatMap { layer.cluster?[$0] } ?? -1
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
          let cluster = layer.cluster?[p] ?? -1
          color = cluster < 0 ? look.color : CategoricalPalette.rgb(for: cluster)
        case .stages, .pruning: break
        case .attention:
          let t = Double(attention[p] / maxAttention)
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
          } else if state.view == .clusters ? (cursorCluster >= 0 && layer.cluster?[p] == cursorCluster)
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

  /// DVT: one column per stage of the cascade: its grid drawn with the image's mean colour per patch, its confidence
  /// against its threshold, and whether it answered, went on, or never ran.
  func renderStages(run: MethodRun, in area: Rect, buffer: inout Buffer) {
    guard let cascade = run.spec.cascade else {
      buffer.render(Paragraph("\(run.spec.name) runs once on one grid (dvt runs a cascade of grids)", style: dim), in: area.inset(by: 1))
      return
    }
    let columns = area.columns(cascade.grids.map { _ in .fill(1) }, spacing: 1)
    let image = state.context.image
    for (s, side) in cascade.grids.enumerated() {
      let column = columns[s]
      let stage = s < run.stages.count ? run.stages[s] : nil
      let answered = s == run.stages.count - 1
      _ = buffer.set(string: "stage \(s + 1): \(side)x\(side)", x: column.x, y: column.y, style: answered ? accent : bold,
                     maxWidth: column.width)
      let mapArea = Rect(x: column.x, y: column.y + 1, width: column.width, height: max(0, column.height - 5))
      let geometry = ExplorerScreen.patchGeometry(grid: (side, side), in: mapArea)
      for row in 0..<side {
        for col in 0..<side {
          // The patch's mean colour in the preprocessed image: each stage sees the image at its own grid.
          let x0 = col * image.width / side, x1 = max(x0 + 1, (col + 1) * image.width / side)
          let y0 = row * image.height / side, y1 = max(y0 + 1, (row + 1) * image.height / side)
          var r = 0, gg = 0, b = 0, n = 0
          for y in y0..<min(y1, image.height) {
            for x in x0..<min(x1, image.width) { let c = image[x, y]; r += Int(c.r); gg += Int(c.g); b += Int(c.b); n += 1 }
          }
          let mean = n > 0 ? RGB(UInt8(r / n), UInt8(gg / n), UInt8(b / n)) : RGB(0, 0, 0)
          let glyph = stage == nil ? (ascii ? ".." : "··") : (ascii ? "##" : "██")
          let style = Style(fg: stage == nil ? Color.rgb(0x55, 0x55, 0x55) : mean.color)
          let text = geometry.cellWidth == 1 ? String(glyph.prefix(1)) : String(repeating: glyph, count: geometry.cellWidth / 2)
          for dy in 0..<geometry.cellHeight {
            _ = buffer.set(string: text, x: geometry.x + col * geometry.cellWidth, y: geometry.y + row * geometry.cellHeight + dy,
                           style: style, maxWidth: column.right - (geometry.x + col * geometry.cellWidth))
          }
        }
      }
      let y = column.bottom - 4
      guard let stage else {
        _ = buffer.set(string: "not run", x: column.x, y: y, style: dim, maxWidth: column.width)
        continue
      }
      buffer.render(Gauge(ratio: Double(stage.confidence), label: fixed2(Double(stage.confidence)), labelPlacement: .trailing,
                          barStyle: Style(fg: answered ? .rgb(0x3C, 0xB3, 0x71) : .rgb(0xE6, 0x9F, 0x00)), glyphs: glyphs),
                    in: Rect(x: column.x, y: y, width: column.width, height: 1))
      let verdict: String
      if let threshold = stage.threshold {
        verdict = stage.confidence >= threshold ? "≥ \(fixed2(Double(threshold))): exits" : "< \(fixed2(Double(threshold))): goes on"
      } else {
        verdict = "last stage: answers"
      }
      _ = buffer.set(string: ascii ? verdict.replacingOccurrences(of: "≥", with: ">=") : verdict, x: column.x, y: y + 1,
                     style: answered ? accent : dim, maxWidth: column.width)
      // Every stage keeps its own layers: ←/→ step all of them in sync, and each column says what its stage would
      // answer if it stopped at this layer, and what the cascade has spent by then.
      let here = state.layer < stage.layers.count ? stage.layers[state.layer] : nil
      let guess = here?.topIfStopped.first.map { "\($0.label) \(fixed1(Double($0.probability) * 100))%" } ?? "-"
      _ = buffer.set(string: "layer \(state.layer + 1): \(guess)", x: column.x, y: y + 2, style: dim, maxWidth: column.width)
      _ = buffer.set(string: "\(gmacs(here?.cumulativeMACs ?? stage.cumulativeMACs)) G spent", x: column.x, y: y + 3, style: dim,
                     maxWidth: column.width)
    }
  }

  /// UP-ViT: per block, the heads kept (one shade per original head: the share of its channels kept) and the MLP units
  /// kept as a bar; the current block highlighted.
  func renderPruning(run: MethodRun, in area: Rect, buffer: inout Buffer) {
    guard let pruning = run.pruning else {
      buffer.render(Paragraph("\(run.spec.name) keeps the model's shape (upvit prunes heads, MLP units and channels)", style: dim),
                    in: area.inset(by: 1))
      return
    }
    var y = area.y
    let summary = "width \(pruning.embedBefore) → \(pruning.embedAfter)   parameters \(pruning.parametersBefore) → \(pruning.parametersAfter)"
    _ = buffer.set(string: ascii ? summary.replacingArrow() : summary, x: area.x, y: y, style: bold, maxWidth: area.width)
    y += 2
    let shades = glyphs.shades.filter { $0 != " " }
    let barWidth = max(4, min(32, area.width - 32))
    for (i, block) in pruning.blocks.enumerated() where y < area.bottom {
      let current = i == state.layer
      var x = buffer.set(string: pad("\(i + 1)", 3) + " ", x: area.x, y: y, style: current ? accent : dim, maxWidth: area.width)
      // Heads: the share of each original head's channels that survives.
      let width = block.attentionKept.count / max(block.headsBefore, 1)
      var heads = ""
      for h in 0..<block.headsBefore {
        let kept = block.attentionKept[(h * width)..<((h + 1) * width)].filter { $0 }.count
        heads.append(kept == 0 ? "·" : shades[min(shades.count - 1, kept * shades.count / max(width, 1))])
      }
      x = buffer.set(string: (ascii ? heads.replacingOccurrences(of: "·", with: ".") : heads) + " \(block.headsAfter)/\(block.headsBefore) heads  ",
                     x: x, y: y, style: Style(fg: .rgb(0x56, 0xB4, 0xE9)), maxWidth: area.right - x)
      let ratio = Double(block.mlpUnitsKept) / Double(max(block.mlpKept.count, 1))
      buffer.render(Gauge(ratio: ratio, label: "\(block.mlpUnitsKept)/\(block.mlpKept.count) MLP", labelPlacement: .trailing,
                          barStyle: Style(fg: .rgb(0x3C, 0xB3, 0x71)), glyphs: glyphs),
                    in: Rect(x: x, y: y, width: min(area.right - x, barWidth + 14), height: 1))
      y += 1
    }
  }

  // MARK: Side panel

  func renderSidePanel(in area: Rect, buffer: inout Buffer) {
    let block = Block(title: Line(" layer ", style: bold), borderKind: .rounded, glyphs: glyphs)
    buffer.render(block, in: area)
    let inner = block.inner(area).inset(horizontal: 1)
    var y = inner.y
    func line(_ text: String, _ style: Style = .plain) {
      guard y < inner.bottom else { return }
      _ = buffer.set(string: ascii ? text.replacingArrow() : text, x: inner.x, y: y, style: style, maxWidth: inner.width)
      y += 1
    }
    let depth = state.context.depth
    line("layer \(state.layer + 1)/\(depth)  \(state.focusedSpec.name)", bold)
    guard let run = state.focusedRun, state.layer < run.layers.count else {
      line(state.errors[state.focusedSpec.canonical] ?? "computing…", dim)
      return
    }
    let layer = run.layers[state.layer]
    let idle = layer.activeTokens < layer.tokensIn ? " (\(layer.activeTokens) active)" : ""
    line("tokens \(layer.tokensIn) → \(layer.tokensOut)\(idle)")
    if let cascade = run.spec.cascade, let last = run.stages.last {
      line("stage \(run.stages.count)/\(cascade.grids.count) answered (\(last.grid)), confidence \(fixed2(Double(last.confidence)))", accent)
    }
    line("GMACs  \(gmacs(layer.macs)) this layer")
    let share = 100 * Double(layer.cumulativeMACs) / Double(max(run.baselineMACs, 1))
    line("       \(gmacs(layer.cumulativeMACs)) of \(gmacs(run.baselineMACs)) so far (\(fixed1(share))%)")
    line("       total \(gmacs(run.totalMACs)) (\(fixed1(100 * Double(run.totalMACs) / Double(max(run.baselineMACs, 1))))% of baseline)", dim)
    y += 1
    line("attention entropy (nats)", dim)
    let maxEntropy = Double(max(layer.entropy.max() ?? 1, layer.classEntropy.max() ?? 1, 1e-6))
    let barWidth = max(4, inner.width - 14)
    for (h, e) in layer.entropy.enumerated() where y < inner.bottom - 9 {
      _ = buffer.set(string: "h\(h + 1)", x: inner.x, y: y, style: state.head == h ? bold : dim)
      buffer.render(Gauge(ratio: Double(e) / maxEntropy, label: fixed2(Double(e)), labelPlacement: .trailing, barStyle: Style(fg: .rgb(0x56, 0xB4, 0xE9)), glyphs: glyphs),
                    in: Rect(x: inner.x + 4, y: y, width: barWidth + 6, height: 1))
      y += 1
    }
    line("CLS row: " + layer.classEntropy.map { fixed2(Double($0)) }.joined(separator: " "), dim)
    y += 1
    if let event = layer.event {
      // The event gets up to three rows; predictions take what is left.
      let rows = min(Paragraph(event, style: .plain).rowCount(width: inner.width), 3, max(0, inner.bottom - y))
      buffer.render(Paragraph(event, style: .plain), in: Rect(x: inner.x, y: y, width: inner.width, height: rows))
      y += rows + 1
    } else {
      line("no token change in this block", dim)
      y += 1
    }
    if let cursor = state.cursor, let p = state.cursorPatch(in: run) {
      let t = layer.patchToken[p]
      line("patch (\(cursor.row),\(cursor.col)): \(layer.patchState[p].rawValue)", accent)
      if t >= 0 {
        let held = layer.patchToken.filter { $0 == t }.count
        line("token \(t)" + (held > 1 ? " holds \(held) patches (underlined)" : ""), dim)
      }
      line("CLS attention \(fixed4(Double(layer.attention(head: state.head)[p])))", dim)
      // One letter per layer so far: k kept, m merged, f fused, p pruned, i idle.
      let history = run.layers.prefix(state.layer + 1).map { String($0.patchState[p].rawValue.prefix(1)) }.joined()
      line("by layer: \(history)", dim)
      y += 1
    }
    line("if it stopped here", dim)
    for guess in layer.topIfStopped.prefix(max(0, min(5, inner.bottom - y))) {
      line("\(pad(fixed1(Double(guess.probability) * 100), 5))%  \(guess.label)")
    }
  }

  // MARK: Legend and keys

  func renderLegend(in area: Rect, buffer: inout Buffer) {
    switch state.view {
    case .status, .groups:
      var entries = PatchState.allCases.map { s -> LegendEntry in
        let look = StateLook.of(s)
        return LegendEntry(glyph: ascii ? look.ascii : look.glyph, style: Style(fg: look.color.color), label: look.label)
      }
      if state.view == .groups { entries.insert(LegendEntry(glyph: "", label: "colour = merge group, glyph = state:"), at: 0) }
      if state.compare && state.highlightDifferences { entries.append(LegendEntry(glyph: "▌▐", style: Style(reverse: true), label: "differs from method 1")) }
      buffer.render(Legend(entries: entries, glyphs: glyphs), in: area)
    case .attention:
      let head = state.head.map { "head \($0 + 1)" } ?? "mean over heads"
      buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: "0",
                             maxLabel: "max", caption: "CLS attention (\(head), scaled to the layer's max)", appearance: appearance), in: area)
    case .image:
      _ = buffer.set(string: "the preprocessed input, \(state.context.image.width)x\(state.context.image.height) px",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .clusters:
      _ = buffer.set(string: "colour = the patch's key/value cluster in this block (ClusTR); glyph = state; cursor underlines its cluster",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .stages:
      _ = buffer.set(string: "each stage sees the image at its grid; bar = top softmax probability against the stage's threshold",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .pruning:
      _ = buffer.set(string: "per block: shade = share of each original head's channels kept; bar = MLP units kept",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    }
  }

  /// The `o` prompt while it is open, else the last message until the next key, else the key hints.
  func renderFooter(in area: Rect, buffer: inout Buffer) {
    if let prompt = state.prompt {
      let x = buffer.set(string: "open image: ", x: area.x, y: area.y, style: bold, maxWidth: area.width)
      let room = max(0, area.right - x - 1)
      let shown = prompt.count > room ? String(prompt.suffix(room)) : prompt
      let end = buffer.set(string: shown, x: x, y: area.y, style: .plain, maxWidth: room)
      _ = buffer.set(string: ascii ? "_" : "▏", x: end, y: area.y, style: accent, maxWidth: max(0, area.right - end))
    } else if let message = state.message {
      _ = buffer.set(string: message, x: area.x, y: area.y, style: accent, maxWidth: area.width)
    } else {
      buffer.render(KeyHintBar(hints: footerHints, keyStyle: bold, actionStyle: dim, glyphs: glyphs), in: area)
    }
  }

  var footerHints: [KeyHint] {
    [KeyHint(ascii ? "<-/->" : "←/→", "layer"), KeyHint("Tab", "view"), KeyHint("m", "method"), KeyHint("+/-", "param"),
     KeyHint("c", "compare"), KeyHint("n", "image"), KeyHint("?", "help"), KeyHint("q", "quit")]
  }

  var helpEntries: [KeyHint] {
    [KeyHint(ascii ? "-> l" : "→ l", "next layer"), KeyHint(ascii ? "<- h" : "← h", "previous layer"),
     KeyHint("g Home", "first layer"), KeyHint("G End", "last layer"), KeyHint("space", "play / pause stepping"),
     KeyHint("Tab S-Tab", "cycle view: status, image, merge groups, CLS attention"),
     KeyHint("a", "attention head: mean, 1, 2, ..."), KeyHint("m M", "next / previous method for the focused slot"),
     KeyHint("+ -", "main parameter (ToMe r, keep rate)"), KeyHint("1-4", "focus a method"),
     KeyHint("c", "compare the methods side by side"), KeyHint("d", "highlight patches whose state differs from method 1"),
     KeyHint(ascii ? "Shift+arrows, click" : "Shift+arrows, click", "move the patch cursor"),
     KeyHint(ascii ? "up/down j k H L" : "↑ ↓ j k H L", "move the patch cursor (vertical; H L horizontal)"),
     KeyHint("n N", "next / previous bundled sample image"), KeyHint("o", "open an image by path (Enter opens, Esc cancels)"),
     KeyHint("e", "export this view of the shown methods as a PNG figure"),
     KeyHint("p", "plots: tokens and GMACs per layer, entropy by layer and head"),
     KeyHint("t", "lesson: a guided tour of token reduction ([ ] pages)"),
     KeyHint("? F1", "this help (PgUp/PgDn to page)"), KeyHint("Esc", "close help, cursor, compare"), KeyHint("q Ctrl-C", "quit")]
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

extension String {
  func replacingArrow() -> String {
    var out = ""
    for ch in self { out += ch == "→" ? "->" : ch == "…" ? "..." : String(ch) }
    return out
  }
}
