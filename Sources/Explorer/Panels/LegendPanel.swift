// The legend row under the maps, one per view.
import NumberFormatting
import Pixels
import TokenMethods
import TUI
import ViTEngine

extension ExplorerScreen {
  func renderLegend(in area: Rect, buffer: inout Buffer) {
    switch state.view {
    case .status, .groups:
      var entries = PatchState.allCases.map { s -> LegendEntry in
        let look = StateLook.of(s, theme: state.activeTheme)
        return LegendEntry(glyph: ascii ? look.ascii : look.glyph, style: Style(fg: look.color.color), label: look.label)
      }
      if state.view == .groups { entries.insert(LegendEntry(glyph: "", label: "colour = the group's mean colour, glyph = state:"), at: 0) }
      if state.view == .status && appearance.usesColor {
        // The colours are the image's: the glyphs carry the states, drawn plain here.
        entries = PatchState.allCases.map { LegendEntry(glyph: ascii ? StateLook.of($0).ascii : StateLook.of($0).glyph, label: StateLook.of($0).label) }
        entries.insert(LegendEntry(glyph: "", label: "on the image:"), at: 0)
      }
      if state.compare && state.highlightDifferences { entries.append(LegendEntry(glyph: ascii ? "x" : "×", label: "differs from method 1")) }
      if state.cursor != nil { entries.append(LegendEntry(glyph: "[]", style: bold, label: "cursor")) }
      if state.view == .status && appearance.usesColor {
        entries.append(LegendEntry(glyph: "", label: "(merged: group's mean; fused orange; idle dark; pruned faded)"))
      }
      buffer.render(Legend(entries: entries, glyphs: glyphs), in: area)
    case .attention:
      // Which head, which query, which scale, and the numbers at the bar's two ends.
      let head = state.head.map { "head \($0 + 1) of \(state.context.heads)" } ?? "mean of \(state.context.heads) heads"
      let run = state.focusedRun, layer = run.flatMap { state.layer < $0.layers.count ? $0.layers[state.layer] : nil }
      let map = run.flatMap { r in layer.map { state.attentionMap($0, run: r) } }
      let ends = state.attentionScale.endLabels(map?.values ?? [])
      let caption = "query \(map?.query ?? "CLS"), \(head), \(state.attentionScale.rawValue) scale:  "
      let x = buffer.set(string: caption, x: area.x, y: area.y, style: dim, maxWidth: area.width)
      let low = ascii ? ends.low.replacingArrow() : ends.low
      // The bar with its two numbers after the caption, at most 60 cells wide.
      let width = min(60, area.right - x)
      buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: low,
                             maxLabel: ends.high, appearance: appearance),
                    in: Rect(x: x, y: area.y, width: max(0, width), height: 1))
    case .norms:
      let run = state.focusedRun, layer = run.flatMap { state.layer < $0.layers.count ? $0.layers[state.layer] : nil }
      let top = layer.map { fixed1(Double($0.tokenNorm.max() ?? 0)) } ?? "max"
      buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: "0",
                             maxLabel: top, caption: "L2 norm of each patch's token after the block", appearance: appearance), in: area)
    case .image:
      _ = buffer.set(string: "the preprocessed input, \(state.context.image.width)x\(state.context.image.height) px",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .clusters:
      let run = state.focusedRun, layer = run.flatMap { state.layer < $0.layers.count ? $0.layers[state.layer] : nil }
      let text = layer?.cluster == nil && layer?.annotations?.mergeLevels != nil
        ? "colour = the mean colour of the cluster this block made into one token; glyph = state; cursor underlines its cluster"
        : "colour = the mean colour of the patch's key/value cluster in this block (ClusTR); glyph = state; cursor underlines its cluster"
      _ = buffer.set(string: text, x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .score:
      let run = state.focusedRun, layer = run.flatMap { state.layer < $0.layers.count ? $0.layers[state.layer] : nil }
      guard let score = layer?.annotations?.score else {
        _ = buffer.set(string: "a score the method decided by, per patch, when it records one", x: area.x, y: area.y, style: dim, maxWidth: area.width)
        break
      }
      // One row: the scale's two ends as coloured glyphs, then what the score means and the marks.
      let low = LegendEntry(glyph: glyphs.shades[1] + glyphs.shades[1], style: Style(fg: SequentialPalette.viridis.color(at: 0)), label: "lowest")
      let high = LegendEntry(glyph: glyphs.fullBlock + glyphs.fullBlock, style: Style(fg: SequentialPalette.viridis.color(at: 1)), label: "highest")
      let marks = [layer?.annotations?.has([.protected]) == true
                     ? LegendEntry(glyph: ascii ? RoleLook.protected.ascii : RoleLook.protected.glyph, style: Style(fg: RoleLook.protected.color.color), label: "protected") : nil,
                   score.threshold.map { LegendEntry(glyph: ascii ? "^^" : "▲▲", label: "above \(fixed4(Double($0)))") }].compactMap { $0 }
      buffer.render(Legend(entries: [LegendEntry(glyph: "", label: "\(score.name):"), low, high] + marks
                             + [LegendEntry(glyph: "", label: "(\(score.meaning))")], glyphs: glyphs), in: area)
    case .roles:
      let entries = [RoleLook.dominant, .contextual, .gathered, .protected].map {
        LegendEntry(glyph: ascii ? $0.ascii : $0.glyph, style: Style(fg: $0.color.color), label: $0.label)
      }
      buffer.render(Legend(entries: entries + [LegendEntry(glyph: "", label: "(contextual colours: one per token)")], glyphs: glyphs), in: area)
    case .counts:
      _ = buffer.set(string: "tokens leaving each block for this image against the method's reference count",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .stages:
      _ = buffer.set(string: "each stage sees the image at its grid; bar = top softmax probability against the stage's threshold",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .pruning:
      _ = buffer.set(string: "per block: shade = share of each original head's channels kept; bar = MLP units kept",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    case .relevance, .ablation, .lens:
      renderAttributionLegend(in: area, buffer: &buffer)
    }
  }
}
