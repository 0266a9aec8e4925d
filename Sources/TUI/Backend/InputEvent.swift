/// What a mouse did.
public enum MouseKind: Hashable, Sendable {
  /// Button 1 released (a click).
  case click
  case wheelUp
  case wheelDown
}

/// One input event, decoded from the terminal by a backend.
public enum InputEvent: Hashable, Sendable {
  /// A printable character (or a control character without a dedicated case, e.g. Ctrl-L as "\u{0C}").
  case char(Character)
  case up, down, left, right
  /// Arrows with Shift (terminfo kLFT/kRIT/kri/kind: ncurses KEY_SLEFT, KEY_SRIGHT, KEY_SR, KEY_SF).
  case shiftUp, shiftDown, shiftLeft, shiftRight
  case home, end
  case pageUp, pageDown
  case tab
  /// Shift-Tab.
  case backTab
  case enter
  case escape
  case backspace
  case delete
  /// F1 ... F63.
  case function(Int)
  /// The terminal now has this size; the next frame should be laid out for it.
  case resize(width: Int, height: Int)
  /// A mouse event at cell (x, y), 0-based from the top-left.
  case mouse(x: Int, y: Int, kind: MouseKind)
  /// Ctrl-C, delivered as a key (the terminal runs in raw mode) so the app can quit cleanly.
  case ctrlC
}
