// The DVT stages view: the cascade's grids side by side.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
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
      let means = patchMeans(of: image, rows: side, cols: side)
      for row in 0..<side {
        for col in 0..<side {
          // The patch's mean colour in the preprocessed image: each stage sees the image at its own grid.
          let mean = means[row * side + col]
          let glyph = stage == nil ? (ascii ? ".." : "··") : (ascii ? "##" : "██")
          let style = Style(fg: stage == nil ? Color.rgb(0x55, 0x55, 0x55) : mean.color)
          let text = geometry.cellWidth == 1 ? String(glyph.prefix(1)) : String(repeating: glyph, count: geometry.cellWidth / 2)
          // Small stage columns squeeze a grid to one cell per patch; what does not fit is left out, not drawn over.
          for dy in 0..<geometry.cellHeight where geometry.y + row * geometry.cellHeight + dy < mapArea.bottom {
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
      _ = buffer.set(string: "block \(state.layer): \(guess)", x: column.x, y: y + 2, style: dim, maxWidth: column.width)
      _ = buffer.set(string: "\(gmacs(here?.cumulativeMACs ?? stage.cumulativeMACs)) G spent", x: column.x, y: y + 3, style: dim,
                     maxWidth: column.width)
    }
  }
}
