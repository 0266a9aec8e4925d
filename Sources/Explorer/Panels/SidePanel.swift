// The layer panel beside the maps: tokens, MACs, attention entropy, the block's event, the cursor's patch and what
// the model would answer if it stopped at this layer.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
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
    line("block \(state.layer) of 0-\(depth - 1)  \(state.focusedSpec.name)", bold)
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
    let strip = mergeLevelRows(run: run)  // the latest clustering's dendrogram strip, when there is one
    if layer.entropy.count <= inner.bottom - 9 - strip - y {
      for (h, e) in layer.entropy.enumerated() {
        _ = buffer.set(string: "h\(h + 1)", x: inner.x, y: y, style: state.head == h ? bold : dim)
        buffer.render(Gauge(ratio: Double(e) / maxEntropy, label: fixed2(Double(e)), labelPlacement: .trailing, barStyle: Style(fg: .rgb(0x56, 0xB4, 0xE9)), glyphs: glyphs),
                      in: Rect(x: inner.x + 4, y: y, width: barWidth + 6, height: 1))
        y += 1
      }
    } else if !layer.entropy.isEmpty {
      // Too short for a bar per head: one row, a level per head, and the range.
      let levels = Array(glyphs.sparkLevels.dropFirst())
      let spark = layer.entropy.map { levels[min(levels.count - 1, Int(Double($0) / maxEntropy * Double(levels.count - 1) + 0.5))] }.joined()
      let low = layer.entropy.min() ?? 0, high = layer.entropy.max() ?? 0
      let x = buffer.set(string: "h1-\(layer.entropy.count) ", x: inner.x, y: y, style: dim, maxWidth: inner.width)
      let end = buffer.set(string: spark, x: x, y: y, style: Style(fg: .rgb(0x56, 0xB4, 0xE9)), maxWidth: inner.right - x)
      _ = buffer.set(string: " \(fixed2(Double(low)))-\(fixed2(Double(high)))", x: end, y: y, style: dim, maxWidth: max(0, inner.right - end))
      y += 1
    }
    if layer.prefixAttention.isEmpty {
      line("no class token; map: mean received", dim)
    } else {
      line("CLS row: " + layer.classEntropy.map { fixed2(Double($0)) }.joined(separator: " "), dim)
    }
    if layer.prefixAttention.count > 1 {
      // Registers and a distillation token: the share of the attention each prefix token received.
      let shares = layer.prefixAttention.map { "\($0.name) \(fixed1(100 * Double($0.share)))%" }.joined(separator: " ")
      buffer.render(Paragraph("prefix attention: " + shares, style: dim), in: Rect(x: inner.x, y: y, width: inner.width, height: min(2, max(0, inner.bottom - y))))
      y += min(2, max(0, inner.bottom - y))
    }
    y += 1
    if let event = layer.event.map({ ascii ? $0.replacingArrow() : $0 }) {
      // The event gets up to three rows; predictions take what is left.
      let rows = min(Paragraph(event, style: .plain).rowCount(width: inner.width), 3, max(0, inner.bottom - y))
      buffer.render(Paragraph(event, style: .plain), in: Rect(x: inner.x, y: y, width: inner.width, height: rows))
      y += rows + 1
    } else {
      line("no token change in this block", dim)
      y += 1
    }
    if strip > 0 && y + strip <= inner.bottom {
      renderMergeLevels(run: run, in: Rect(x: inner.x, y: y, width: inner.width, height: strip - 1), buffer: &buffer)
      y += strip
    }
    if let cursor = state.cursor, let p = state.cursorPatch(in: run) {
      let t = layer.patchToken[p]
      line("patch (\(cursor.row),\(cursor.col)): \(layer.patchState[p].rawValue)", accent)
      if t >= 0 {
        let held = layer.patchToken.filter { $0 == t }.count
        line("token \(t)" + (held > 1 ? " holds \(held) patches (underlined)" : ""), dim)
      }
      line("\(layer.prefixAttention.isEmpty ? "mean" : "CLS") attention \(fixed4(Double(layer.attention(head: state.head)[p])))", dim)
      if let notes = layer.annotations {
        let role = notes.roles.map { $0[p] }.flatMap { $0 == .ordinary ? nil : $0.rawValue }
        let score = notes.score.flatMap { $0.values[p].isFinite ? "\($0.name) \(fixed4(Double($0.values[p])))" : nil }
        let text = [score, role].compactMap { $0 }.joined(separator: ", ")
        if !text.isEmpty { line(text, dim) }
      }
      // One letter per layer so far: k kept, m merged, f fused, p pruned, i idle.
      let history = run.layers.prefix(state.layer + 1).map { String($0.patchState[p].rawValue.prefix(1)) }.joined()
      line("by layer: \(history)", dim)
      y += 1
    }
    let attribution = attributionLines(run: run, layer: layer)
    for (text, style) in attribution { line(text, style) }
    if !attribution.isEmpty { y += 1 }
    line("if it stopped here", dim)
    for guess in layer.topIfStopped.prefix(max(0, min(5, inner.bottom - y))) {
      line("\(pad(fixed1(Double(guess.probability) * 100), 5))%  \(guess.label)")
    }
  }
}
