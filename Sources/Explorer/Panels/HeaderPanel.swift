// The three header rows: model, image and preprocessing, and the methods on screen with the focused one underlined.
import NumberFormatting
import Pixels
import TUI

extension ExplorerScreen {
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
}
