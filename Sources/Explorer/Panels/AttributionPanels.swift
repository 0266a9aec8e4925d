// The attribution views and the side panel's attribution lines: the relevance map (attention rollout through the
// method), the ablation ranking map, the logit lens per token with its legend, relevance kept, and the effect of the
// tokens dropped with `x`.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
  /// What the attribution views scale by, computed once per map.
  struct AttributionContext {
    let maxRollout: Float
    /// The ranking of this run at this layer, when one exists; its largest drop and rise.
    let ranking: AblationRanking?
    let maxDrop: Float, maxRise: Float

    init(state: ExplorerState, run: MethodRun, layer: LayerView) {
      maxRollout = max(layer.rollout.max() ?? 0, 1e-12)
      let r = state.ranking.flatMap { $0.spec == run.spec.canonical && $0.layer == state.layer ? $0 : nil }
      ranking = r
      let finite = r?.change.filter(\.isFinite) ?? []
      maxDrop = max(-(finite.min() ?? 0), 1e-9)
      maxRise = max(finite.max() ?? 0, 1e-9)
    }
  }

  /// Why an attribution view has nothing to draw for `run` (shown instead of the map), or nil.
  func attributionGap(run: MethodRun, context: AttributionContext) -> String? {
    switch state.view {
    case .lens:
      return run.lensUnavailable.map { "No logit lens: \($0)." }
    case .ablation:
      guard let r = context.ranking else {
        return run.spec == state.focusedSpec
          ? "Press X to rank every token of block \(state.layer) by how much dropping it alone changes the top-1 probability (it runs in the background). Press x on the patch cursor to drop one token yourself."
          : "Rankings are made for the focused method; press \(state.methods.firstIndex(of: run.spec).map { "\($0 + 1)" } ?? "its number") to focus this one."
      }
      return r.finished ? nil : "ranking tokens \(r.done)/\(max(r.total, r.done))\(ascii ? "..." : "…") \(spinnerGlyph)"
    default:
      return nil
    }
  }

  var spinnerGlyph: String {
    let frames = ascii ? ["|", "/", "-", "\\"] : ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    return frames[state.spinner % frames.count]
  }

  /// Patch `p`'s glyph and colour in the relevance, ablation and lens views.
  func attributionLook(run: MethodRun, layer: LayerView, patch p: Int, context: AttributionContext,
                       fallback: (String, RGB)) -> (String, RGB) {
    let shades = glyphs.shades.filter { $0 != " " }
    func shaded(_ t: Double) -> String { t > 0 ? String(repeating: shades[min(shades.count - 1, Int(t * Double(shades.count)))], count: 2) : fallback.0 }
    switch state.view {
    case .relevance:
      guard p < layer.rollout.count else { return fallback }
      let t = Double(layer.rollout[p] / context.maxRollout)
      return (shaded(t), SequentialPalette.viridis.rgb(at: t))
    case .ablation:
      guard let change = context.ranking?.change[p], change.isFinite else { return (fallback.0, StateLook.of(.pruned).color) }
      // Drops (the token mattered for the answer) in viridis by size; rises in purple.
      if change <= 0 {
        let t = Double(-change / context.maxDrop)
        return (shaded(t), SequentialPalette.viridis.rgb(at: t))
      }
      let t = Double(change / context.maxRise)
      return (shaded(t), RGB(0x40, 0x20, 0x40).mixed(with: RGB(hex: 0xCC79A7), by: t))
    case .lens:
      guard let lens = layer.lensClass, lens[p] >= 0 else { return fallback }
      return (fallback.0, CategoricalPalette.rgb(for: lens[p]))
    default:
      return fallback
    }
  }

  /// The side panel's attribution lines for the focused run at the current layer.
  func attributionLines(run: MethodRun, layer: LayerView) -> [(String, Style)] {
    var lines: [(String, Style)] = []
    if let kept = state.relevanceKept(run: run, layer: layer) {
      lines.append(("relevance kept \(fixed1(Double(kept) * 100))% of the baseline's", state.view == .relevance ? accent : dim))
    } else if state.view == .relevance {
      lines.append((run.grid == state.baselineRun?.grid || state.baselineRun == nil ? "relevance kept: computing the baseline\(ascii ? "..." : "…")"
                                                                                  : "relevance kept: this run answered on another grid", dim))
    }
    if let probe = state.ablation, probe.spec == run.spec.canonical {
      lines.append(("x: dropped from block \(probe.layer): \(probe.patches.count) patch\(probe.patches.count == 1 ? "" : "es")", accent))
      if let s = probe.summary {
        let sign: (Float) -> String = { $0 >= 0 ? "+" : "" }
        lines.append(("\(s.label): p \(sign(s.probabilityChange))\(fixed4(Double(s.probabilityChange))), logit \(sign(s.logitChange))\(fixed4(Double(s.logitChange)))", .plain))
        if let top = s.newTop { lines.append(("top-1 is now \(top)", accent)) }
      } else {
        lines.append(("computing\(ascii ? "..." : "…")", dim))
      }
    }
    if let r = state.currentRanking, !r.finished {
      lines.append(("X: ranking tokens \(r.done)/\(max(r.total, r.done)) \(spinnerGlyph)", dim))
    }
    if state.view == .lens, let lens = layer.lensClass {
      var counts: [Int: Int] = [:]
      for c in lens where c >= 0 { counts[c, default: 0] += 1 }
      let top = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(5)
      lines.append(("lens top-1 by patches:", dim))
      for (c, n) in top {
        lines.append(("\(ascii ? "##" : "██") \(run.labels?[c] ?? "class \(c)") (\(n))", Style(fg: CategoricalPalette.rgb(for: c).color)))
      }
    }
    return lines
  }
}

extension ExplorerScreen {
  func renderAttributionLegend(in area: Rect, buffer: inout Buffer) {
    switch state.view {
    case .relevance:
      let query = state.focusedRun?.prefixCount == 0 ? "mean of token rows" : "class token's row"
      buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: "0", maxLabel: "max",
                             caption: "attention rollout to this block through the method (\(query), scaled to its max)",
                             appearance: appearance), in: area)
    case .ablation:
      buffer.render(ColorBar(range: 0...1, colorScale: { SequentialPalette.viridis.color(at: $0) }, minLabel: "0", maxLabel: "largest",
                             caption: "drop of the top-1 probability when the token alone is removed (purple: it rises)",
                             appearance: appearance), in: area)
    default:
      _ = buffer.set(string: "colour = top-1 class of the final norm and head applied to the patch's token at this block",
                     x: area.x, y: area.y, style: dim, maxWidth: area.width)
    }
  }
}
