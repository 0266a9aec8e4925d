// What a method annotated in a block (PatchAnnotations), drawn without knowing the method: the per-token score map,
// the token roles, the token counts against a reference, and the merge distances of a clustering with its cut.
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

/// How roles are drawn: a colour and a glyph pair each, so the map reads without colour.
struct RoleLook {
  let glyph: String, ascii: String, color: RGB, label: String
  static let protected = RoleLook(glyph: "◆◆", ascii: "<>", color: RGB(hex: 0xF0E442), label: "protected")
  static let dominant = RoleLook(glyph: "██", ascii: "##", color: RGB(hex: 0x3CB371), label: "dominant")
  /// A contextual token's own patch; the patches gathered into it share its colour with the `gathered` glyph.
  static let contextual = RoleLook(glyph: "◉◉", ascii: "@@", color: RGB(hex: 0xE69F00), label: "contextual token")
  static let gathered = RoleLook(glyph: "▒▒", ascii: "%%", color: RGB(hex: 0xE69F00), label: "gathered into it")
}

extension ExplorerScreen {
  /// The blocks of `run` where `holds` is true, 0-based as everywhere, as "block 3" or "blocks 3/6/9" (empty when
  /// none).
  static func blocks(of run: MethodRun, where holds: (LayerView) -> Bool) -> String {
    let listed = run.layers.filter(holds).map(\.index)
    guard !listed.isEmpty else { return "" }
    return (listed.count == 1 ? "block " : "blocks ") + BlockList.format(listed)
  }

  /// Why the score or roles view has nothing to draw at this layer; nil when it has.
  func annotationGap(run: MethodRun, layer: LayerView) -> String? {
    let name = run.spec.name
    switch state.view {
    case .score:
      guard layer.annotations?.score == nil else { return nil }
      let elsewhere = ExplorerScreen.blocks(of: run) { $0.annotations?.score != nil }
      return elsewhere.isEmpty ? "\(name) records no per-token score" : "\(name) records a per-token score in \(elsewhere); step to one"
    case .roles:
      guard !(layer.annotations?.has([.protected, .dominant, .contextual]) ?? false) else { return nil }
      let elsewhere = ExplorerScreen.blocks(of: run) { $0.annotations?.has([.protected, .dominant, .contextual]) ?? false }
      return elsewhere.isEmpty ? "\(name) gives its tokens no particular roles" : "\(name) gives its tokens roles in \(elsewhere); step to one"
    default: return nil
    }
  }

  /// What the score and roles looks need of the whole layer, computed once per map.
  struct AnnotationContext {
    /// The layer's lowest and highest finite score.
    let low: Float, high: Float
    /// The output groups that hold a contextual token: their patches were gathered into it.
    let contextualGroups: Set<Int>

    init(_ layer: LayerView) {
      let finite = layer.annotations?.score?.values.filter(\.isFinite) ?? []
      low = finite.min() ?? 0; high = finite.max() ?? 1
      let roles = layer.annotations?.roles ?? []
      contextualGroups = Set(roles.indices.filter { roles[$0] == .contextual }.map { layer.group[$0] })
    }
  }

  /// The score of a patch as a viridis colour scaled to the layer's range, its shade as the glyph; protected patches
  /// and those past the method's threshold get their own glyphs. Patches without a score keep their state's look.
  func scoreLook(layer: LayerView, patch p: Int, context: AnnotationContext, fallback: (String, RGB)) -> (String, RGB) {
    guard let score = layer.annotations?.score, score.values[p].isFinite else { return fallback }
    let lo = context.low, hi = context.high
    let t = hi > lo ? Double((score.values[p] - lo) / (hi - lo)) : 1
    let color = SequentialPalette.viridis.rgb(at: t)
    if layer.annotations?.roles?[p] == .protected { return (ascii ? RoleLook.protected.ascii : RoleLook.protected.glyph, color) }
    if let threshold = score.threshold, score.values[p] > threshold { return (ascii ? "^^" : "▲▲", color) }
    let shades = glyphs.shades.filter { $0 != " " }
    return (String(repeating: shades[min(shades.count - 1, Int(t * Double(shades.count)))], count: 2), color)
  }

  /// Dominant patches in one colour; each contextual token's patch and the patches gathered into it (the patches its
  /// output token holds) in the token's categorical colour; protected patches marked; the rest as their state.
  func roleLook(layer: LayerView, patch p: Int, context: AnnotationContext, fallback: (String, RGB)) -> (String, RGB) {
    guard let roles = layer.annotations?.roles else { return fallback }
    func look(_ r: RoleLook, _ color: RGB? = nil) -> (String, RGB) { (ascii ? r.ascii : r.glyph, color ?? r.color) }
    switch roles[p] {
    case .protected: return look(.protected)
    case .dominant: return look(.dominant)
    case .contextual: return look(.contextual, CategoricalPalette.rgb(for: layer.group[p]))
    case .ordinary:
      let group = layer.group[p]
      return group >= 0 && context.contextualGroups.contains(group) ? look(.gathered, CategoricalPalette.rgb(for: group)) : fallback
    }
  }

  /// Tokens leaving every block for this image against the method's reference count (a calibration mean), with the
  /// current layer's numbers and threshold spelled out underneath.
  func renderCounts(run: MethodRun, in area: Rect, buffer: inout Buffer) {
    let references = run.layers.map { $0.annotations?.reference }
    guard let name = references.compactMap({ $0?.name }).first else {
      buffer.render(Paragraph("\(run.spec.name) records no reference token count", style: dim), in: area.inset(by: 1))
      return
    }
    let depth = run.layers.count
    let xLabels = depth < 4 ? (0..<max(1, depth)).map(String.init) : ["0", "\((depth - 1) / 2)", "\(depth - 1)"]
    let series = [
      ChartSeries(name: name, values: references.map { $0.map(\.tokensOut) }, marker: ascii ? "o" : "○", style: Style(fg: .rgb(153, 153, 153))),
      ChartSeries(name: "this image", values: run.layers.map { Double($0.tokensOut) }, marker: ascii ? "*" : "●",
                  style: Style(fg: CategoricalPalette.color(for: 0))),
    ]
    let rows = area.rows([.fixed(1), .fill(1), .fixed(3)])
    buffer.render(Legend(entries: series.map { LegendEntry(glyph: $0.marker ?? "-", style: $0.style, label: $0.name) }, glyphs: glyphs),
                  in: rows[0])
    buffer.render(LineChart(series: series, xLabels: xLabels, glyphs: glyphs), in: rows[1])
    let layer = run.layers[min(state.layer, depth - 1)]
    var lines = ["block \(layer.index): \(layer.tokensOut) tokens leave it"]
    if let reference = layer.annotations?.reference {
      let gap = Double(layer.tokensOut) - reference.tokensOut
      lines[0] += ", \(name) \(fixed1(reference.tokensOut)) (\(gap >= 0 ? "+" : "")\(fixed1(gap)))"
    }
    if let score = layer.annotations?.score, let threshold = score.threshold {
      let above = score.values.filter { $0.isFinite && $0 > threshold }.count
      lines.append("threshold \(fixed4(Double(threshold))) on the \(score.name): \(above) patches above it")
    }
    for (i, text) in lines.enumerated() where i < rows[2].height {
      _ = buffer.set(string: text, x: rows[2].x, y: rows[2].y + i, style: i == 0 ? bold : dim, maxWidth: rows[2].width)
    }
  }

  /// The side panel's rows for the latest clustering at or before this layer (a blank row after it); 0 when there is
  /// none.
  func mergeLevelRows(run: MethodRun) -> Int { latestMergeLevels(run: run) == nil ? 0 : 8 }

  func latestMergeLevels(run: MethodRun) -> (layer: Int, levels: MergeLevels)? {
    for l in stride(from: min(state.layer, run.layers.count - 1), through: 0, by: -1) {
      if let levels = run.layers[l].annotations?.mergeLevels { return (l, levels) }
    }
    return nil
  }

  /// A dendrogram strip of the latest clustering: a title, the cut as a dashed row, under it the height of every
  /// merge made in merge order (one column each, or the highest of several when they do not fit), scaled so the cut
  /// is the top, and the refused next merge as the last column, poking through the cut; then the two heights.
  func renderMergeLevels(run: MethodRun, in area: Rect, buffer: inout Buffer) {
    guard let (l, levels) = latestMergeLevels(run: run), area.width >= 8 else { return }
    let heights = levels.heights
    var y = area.y
    let title = "block \(l): \(heights.count) merges → \(levels.clusters) clusters"
    _ = buffer.set(string: ascii ? title.replacingArrow() : title, x: area.x, y: y,
                   style: bold, maxWidth: area.width)
    y += 1
    let barRows = 3
    let columns = max(1, min(area.width - 1, heights.count))  // the last cell is the refused merge's
    var bars = [Double](repeating: 0, count: columns)
    for (i, h) in heights.enumerated() {
      let c = i * columns / max(heights.count, 1)
      bars[c] = max(bars[c], h)
    }
    // The cut: halfway between the last merge made and the refused one, or at the last when nothing was refused.
    let last = heights.last ?? 0
    let cut = max(levels.next.map { (last + $0) / 2 } ?? last, 1e-12)
    let steps = glyphs.sparkLevels.count - 1
    let made = Style(fg: .rgb(0x56, 0xB4, 0xE9)), refused = Style(fg: .rgb(0xD5, 0x5E, 0x00), bold: true)
    func drawBar(_ value: Double, x: Int, style: Style) {
      let eighths = Int((min(value / cut, 1) * Double(barRows * steps)).rounded())
      for row in 0..<barRows {
        let filled = max(0, min(steps, eighths - (barRows - 1 - row) * steps))
        if filled > 0 { _ = buffer.set(string: glyphs.sparkLevels[filled], x: x, y: y + 1 + row, style: style) }
      }
    }
    let dash = ascii ? "-" : "╌"
    _ = buffer.set(string: String(repeating: dash, count: columns), x: area.x, y: y, style: accent, maxWidth: area.width)
    for (c, value) in bars.enumerated() { drawBar(value, x: area.x + c, style: made) }
    if let next = levels.next {
      _ = buffer.set(string: ascii ? "^" : "▲", x: area.x + columns, y: y, style: refused)
      drawBar(next, x: area.x + columns, style: refused)
    }
    y += 1 + barRows
    // Enough decimals to tell the two heights apart (up to five): close heights are common, 0.03 and 0.03 say nothing.
    let range = levels.next.map { next in
      let digits = (2...5).first { fixedDigits(last, $0) != fixedDigits(next, $0) } ?? 5
      return "cut between \(fixedDigits(last, digits)) and \(fixedDigits(next, digits)) (\(ascii ? "^" : "▲") refused)"
    } ?? "nothing left to merge"
    _ = buffer.set(string: range, x: area.x, y: y, style: dim, maxWidth: area.width)
    _ = buffer.set(string: levels.name, x: area.x, y: y + 1, style: dim, maxWidth: area.width)
  }
}
