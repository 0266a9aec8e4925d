// The header: model, image and preprocessing, and the methods on screen with the focused one underlined; three rows,
// or one (model and methods) when the window is short.
import NumberFormatting
import Pixels
import TUI

extension ExplorerScreen {
  func renderHeader(in area: Rect, compact: Bool = false, buffer: inout Buffer) {
    let c = state.context
    let spinnerFrames = ascii ? ["|", "/", "-", "\\"] : ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    // Play shows that it plays, and how fast; a computation shows its spinner, a look-ahead a quiet mark.
    let play = state.playing ? " " + (ascii ? ">" : "▶") + " playing \(state.playIntervalMs) ms/block" : ""
    let ahead = state.lookingAhead.isEmpty ? "" : " " + (ascii ? "~" : "↻") + " ahead"
    let busy = (state.isBusy ? " " + spinnerFrames[state.spinner % spinnerFrames.count] + " computing" : ahead) + play
    var x = buffer.set(string: "tokenscope ", x: area.x, y: area.y, style: accent)
    x = buffer.set(string: c.modelName, x: x, y: area.y, style: bold, maxWidth: area.right - x)
    if compact {
      x = buffer.set(string: "  ", x: x, y: area.y, maxWidth: area.right - x)
      renderMethodList(x: x, y: area.y, right: area.right - busy.count, buffer: &buffer)
    } else {
      x = buffer.set(string: "  " + c.modelSummary, x: x, y: area.y, style: dim, maxWidth: area.right - x)
    }
    if !busy.isEmpty { _ = buffer.set(string: busy, x: max(x, area.right - busy.count), y: area.y, style: accent) }
    guard !compact else { return }
    _ = buffer.set(string: "image \(c.imageName)  pre \(c.preprocessing)", x: area.x, y: area.y + 1, style: dim, maxWidth: area.width)
    let mx = buffer.set(string: "methods ", x: area.x, y: area.y + 2, style: dim)
    renderMethodList(x: mx, y: area.y + 2, right: area.right, buffer: &buffer)
  }

  func renderMethodList(x: Int, y: Int, right: Int, buffer: inout Buffer) {
    var mx = x
    for (i, spec) in state.methods.enumerated() where mx < right {
      let label = "\(i + 1):\(spec.canonical)"
      mx = buffer.set(string: label, x: mx, y: y, style: i == state.focus ? bold.underlined() : .plain, maxWidth: right - mx)
      mx = buffer.set(string: "  ", x: mx, y: y, maxWidth: max(0, right - mx))
    }
  }
}
