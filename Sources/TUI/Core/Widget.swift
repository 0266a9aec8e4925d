/// Anything that can draw itself into a rectangle of a `Buffer` (ratatui's model). Widgets are plain values built
/// per frame; they never touch the terminal, so every one of them is testable as text.
public protocol Widget {
  /// Draws into `area` of `buffer`. Implementations must stay inside `area` (the buffer clips anyway) and must
  /// cope with any size, including empty.
  func render(in area: Rect, buffer: inout Buffer)
}
