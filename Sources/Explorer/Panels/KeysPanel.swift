// The footer row (the `o` prompt, the last message or the key hints) and the `?` help overlay's entries.
import NumberFormatting
import Pixels
import TUI

extension ExplorerScreen {
  /// The `o` prompt while it is open, else the last message until the next key, else the key hints.
  func renderFooter(in area: Rect, buffer: inout Buffer) {
    if let prompt = state.prompt {
      let x = buffer.set(string: "open image: ", x: area.x, y: area.y, style: bold, maxWidth: area.width)
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

  var footerHints: [KeyHint] {
    [KeyHint(ascii ? "<-/->" : "←/→", "layer"), KeyHint("Tab", "view"), KeyHint("m", "method"), KeyHint("+/-", "param"),
     KeyHint("c", "compare"), KeyHint("n", "image"), KeyHint("?", "help"), KeyHint("q", "quit")]
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
     KeyHint("Tab S-Tab", "cycle the views: status, image, groups, attention, ..."),
     KeyHint("a", "attention head: mean, 1, 2, ..."), KeyHint("m M", "next / previous method (every registered one)"),
     KeyHint("+ -", "main parameter: r, keep, clusters, thresholds, ratio"), KeyHint("1-4", "focus a method"),
     KeyHint("c", "compare the methods side by side"), KeyHint("d", "highlight patches whose state differs from method 1"),
     KeyHint(ascii ? "Shift+arrows, click" : "Shift+arrows, click", "move the patch cursor"),
     KeyHint(ascii ? "up/down j k H L" : "↑ ↓ j k H L", "move the patch cursor (vertical; H L horizontal)"),
     KeyHint("n N", "next / previous bundled sample image"), KeyHint("o", "open an image by path (Enter opens, Esc cancels)"),
     KeyHint("e", "export this view of the shown methods as a PNG figure"),
     KeyHint("x", "drop the cursor's token from this layer on, or restore it (effect in the side panel)"),
     KeyHint("X", "rank every token of this layer by its ablation effect (ablation view)"),
     KeyHint("p", "plots: tokens and GMACs per layer, entropy by layer and head"),
     KeyHint("t", "lesson: a guided tour of token reduction ([ ] pages)"),
     KeyHint("? F1", "this help (PgUp/PgDn to page)"), KeyHint("Esc", "close help, cursor, compare"), KeyHint("q Ctrl-C", "quit")]
  }
}
