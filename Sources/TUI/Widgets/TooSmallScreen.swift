/// The full-screen notice shown instead of the UI when the terminal is smaller than the layout needs (btop):
/// "terminal too small: 60×20, need 80×24", centred, the current size in red and the needed size in green, with a
/// reminder that `q` still quits.
///
/// On screens too narrow for one line the message breaks into shorter lines, and what still does not fit is cut;
/// it never draws outside the screen.
public struct TooSmallScreen: Widget {
  public var current: Size
  public var needed: Size
  public var appearance: Appearance

  public init(current: Size, needed: Size, appearance: Appearance = .rich) {
    self.current = current
    self.needed = needed
    self.appearance = appearance
  }

  func sizeText(_ size: Size) -> String { "\(size.width)\(appearance.glyphs.times)\(size.height)" }

  /// The message lines, from the one-line form down to one fact per line, whichever fits `width`.
  func lines(width: Int) -> [Line] {
    let bad = Style(fg: appearance.usesColor ? .rgb(230, 80, 80) : .default, bold: true)
    let good = Style(fg: appearance.usesColor ? .rgb(90, 200, 110) : .default, bold: true)
    let current = Span(sizeText(self.current), style: bad)
    let needed = Span(sizeText(self.needed), style: good)
    let quit = Line("q to quit", style: Style(dim: true), alignment: .center)
    let candidates: [[Line]] = [
      [Line([Span("terminal too small: "), current, Span(", need "), needed], alignment: .center), quit],
      [Line("terminal too small:", alignment: .center), Line([current, Span(", need "), needed], alignment: .center), quit],
      [Line("too small", alignment: .center), Line([current], alignment: .center), Line([Span("need "), needed], alignment: .center), quit],
      [Line([current], alignment: .center), Line([needed], alignment: .center)],
    ]
    return candidates.first { $0.allSatisfy { $0.width <= width } } ?? candidates[candidates.count - 1]
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    buffer.clear(area)
    let lines = lines(width: area.width).prefix(area.height)
    let top = area.y + (area.height - lines.count) / 2
    for (offset, line) in lines.enumerated() {
      buffer.set(line: line, in: Rect(x: area.x, y: top + offset, width: area.width, height: 1))
    }
  }
}
