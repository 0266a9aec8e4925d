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
}
