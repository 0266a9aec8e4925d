// The UP-ViT pruning view: what structural pruning kept of each block.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
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
}
