import Testing
@testable import TUI

@Suite struct KeyHintBarTests {
  let hints = [KeyHint("←/→", "layer"), KeyHint("Tab", "view"), KeyHint("?", "help"), KeyHint("q", "quit")]

  @Test func allHintsWhenTheyFit() {
    let buffer = rendered(KeyHintBar(hints: hints), width: 36, height: 1)
    expectLines(buffer, ["←/→ layer  Tab view  ? help  q quit "])
    #expect(buffer[0, 0].style.bold)
    #expect(buffer[4, 0].style.dim)
  }

  @Test func dropsWholeHintsFromTheEndAndShowsAnEllipsis() {
    expectLines(rendered(KeyHintBar(hints: hints), width: 30, height: 1), ["←/→ layer  Tab view  ? help  …"])
    // No room for the ellipsis after two hints: more hints beat the marker.
    expectLines(rendered(KeyHintBar(hints: hints), width: 20, height: 1), ["←/→ layer  Tab view "])
    #expect(KeyHintBar(hints: hints).fittingCount(width: 35) == 4)
    #expect(KeyHintBar(hints: hints).fittingCount(width: 34) == 3)
  }

  @Test func firstHintIsCutWhenNothingElseFits() {
    expectLines(rendered(KeyHintBar(hints: hints), width: 5, height: 1), ["←/→ …"])
    expectLines(rendered(KeyHintBar(hints: hints, glyphs: .ascii), width: 5, height: 1), ["←/→ ~"])
  }

  @Test func backgroundColoursTheWholeBar() {
    let bar = KeyHintBar(hints: [KeyHint("q", "quit")], background: Style(bg: .indexed(4)))
    let buffer = rendered(bar, width: 8, height: 1)
    #expect(buffer.styleLines == ["0 bg=i4 bold; 1-5 bg=i4 dim; 6-7 bg=i4"])
  }
}
