// The footer row (the `o` prompt, the last message or the key hints) and the `?` help overlay's entries.
import NumberFormatting
import Pixels
import TUI

extension ExplorerScreen {
  /// The `o` prompt while it is open, else the last message until the next key, else the key hints.
  func renderFooter(in area: Rect, buffer: inout Buffer) {
    if let prompt = state.prompt {
      let label = switch state.promptKind { case .exportPath: "write figure to: "; case .openImage: "open image: "; case .command: ":" }
      let x = buffer.set(string: label, x: area.x, y: area.y, style: bold, maxWidth: area.width)
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

  /// The keys that do something here, most useful first (the bar shows as many as fit): the mode's own keys, then
  /// the view's, then the common ones.
  var footerHints: [KeyHint] {
    var hints: [KeyHint] = []
    if state.lessonPage != nil {
      hints += [KeyHint("]", "next page"), KeyHint("[", "previous"), KeyHint("PgDn/PgUp", "scroll"), KeyHint("t", "leave")]
    }
    if state.showPlots {
      // With dataset maps the block matters: the panel shows the current one.
      let blocks = state.datasetMaps == nil ? [] : [KeyHint(ascii ? "<-/->" : "←/→", "block")]
      return hints + [KeyHint("p", "maps")] + blocks + [KeyHint("m", "method"), KeyHint("?", "help"), KeyHint("q", "quit")]
    }
    // Help first after the layer keys: whatever the bar cannot show, ? lists.
    hints += [KeyHint(ascii ? "<-/->" : "←/→", "layer"), KeyHint("?", "help")]
    let views = state.applicableViews.count
    if views > 1 { hints.append(KeyHint("Tab", "view (\(views))")) }
    switch state.view {
    case .attention: hints += [KeyHint("a", "head"), KeyHint("s", "scale"), KeyHint("A", state.queryAtCursor ? "query CLS" : "query cursor")]
    case .status, .groups, .clusters, .score, .roles: hints += [KeyHint("j/k H/L", "cursor")]
    default: break
    }
    if state.compare {
      hints += [KeyHint("d", state.highlightDifferences ? "hide differences" : "differences"), KeyHint("1-\(state.methods.count)", "focus")]
    }
    if state.cursor != nil { hints.append(KeyHint("Esc", "cursor off")) }
    if state.playing { hints += [KeyHint("space", "pause"), KeyHint("</>", "speed")] }
    hints += [KeyHint("m", "method"), KeyHint("+/-", "param"), KeyHint("q", "quit")]
    if !state.playing { hints.append(KeyHint("space", "play")) }
    if !state.compare { hints.append(KeyHint("c", "compare")) }
    hints += [KeyHint(":", "command"), KeyHint("n", "image"), KeyHint("e", "export")]
    return hints
  }

  /// The keys, then the focused method: its one-line help and every [recon] note (what the paper or the official code
  /// leaves open, or what this emulation does differently).
  var helpEntries: [KeyHint] {
    let method = state.focusedSpec.descriptor
    return keyEntries + [KeyHint(method.name, method.summary)] + method.allReconNotes.map { KeyHint("[recon]", $0) }
  }

  var keyEntries: [KeyHint] {
    [KeyHint(ascii ? "-> l" : "→ l", "next layer"), KeyHint(ascii ? "<- h" : "← h", "previous layer"),
     KeyHint("g Home", "first layer"), KeyHint("G End", "last layer"), KeyHint("space", "play / pause stepping"),
     KeyHint("Tab S-Tab", "cycle the views that apply to the focused method:")] + viewEntries + [
     KeyHint("a", "attention head: mean, 1, 2, ..."), KeyHint("s", "attention scale: linear, log (3 decades), percentile"),
     KeyHint("A", "attention query: the cursor's token instead of CLS (and back)"), KeyHint("m M", "next / previous method (every registered one)"),
     KeyHint("+ -", "main parameter: r, keep, clusters, thresholds, ratio"), KeyHint("1-4", "focus a method"),
     KeyHint("c", "compare the methods side by side"), KeyHint("d", "highlight patches whose state differs from method 1"),
     KeyHint(ascii ? "Shift+arrows, click" : "Shift+arrows, click", "move the patch cursor"),
     KeyHint(ascii ? "up/down j k H L" : "↑ ↓ j k H L", "move the patch cursor (vertical; H L horizontal)"),
     KeyHint("n N", "next / previous bundled sample image"), KeyHint("o", "open an image by path (Enter opens, Esc cancels)"),
     KeyHint(":", "command line: " + ExplorerCommand.usage.map { "\($0.name) \($0.argument)" }.joined(separator: ", ")
              + " (Tab completes, up/down history)"),
     KeyHint("e", "export this view of the shown methods as a PNG figure (asks where; Enter writes)"),
     KeyHint("x", "drop the cursor's token from this layer on, or restore it (effect in the side panel)"),
     KeyHint("X", "rank every token of this layer by its ablation effect (ablation view)"),
     KeyHint("p", "plots: tokens and GMACs per layer, entropy by layer and head; dataset maps (--maps, :maps) beside the image's"),
     KeyHint("t", "lesson: a guided tour of token reduction ([ ] pages, PgDn PgUp scroll)"),
     KeyHint("< >", "play slower / faster"),
     KeyHint("P", "projector mode: bigger cells, bold text, high contrast"),
     KeyHint("? F1", "this help (PgUp/PgDn to page)"), KeyHint("Esc", "close help, cursor, compare"), KeyHint("q Ctrl-C", "quit")]
  }
}

extension ExplorerScreen {
  /// Every view, marked where the focused method has nothing for it (Tab skips those).
  var viewEntries: [KeyHint] {
    TokenMapView.allCases.map { view in
      let gap = view.gap(for: state.focusedRun)
      return KeyHint((view == state.view ? "* " : "  ") + view.rawValue, view.title + (gap.map { " (skipped: \($0))" } ?? ""))
    }
  }
}
