import Testing
@testable import TUI

@Suite struct ParagraphTests {
  @Test func wordWrapBreaksBetweenWords() {
    let buffer = rendered(Paragraph("the quick brown fox jumps"), width: 10, height: 4)
    expectLines(buffer, ["the quick ", "brown fox ", "jumps     ", "          "])
  }

  @Test func wordsLongerThanTheWidthAreSplit() {
    expectLines(rendered(Paragraph("abcdefghijkl"), width: 5, height: 3), ["abcde", "fghij", "kl   "])
    expectLines(rendered(Paragraph("ab cdefghijkl"), width: 5, height: 4), ["ab   ", "cdefg", "hijkl", "     "])
  }

  @Test func leadingIndentIsKeptButContinuationRowsStartAtTheMargin() {
    expectLines(rendered(Paragraph("  one two three"), width: 8, height: 3), ["  one   ", "two     ", "three   "])
  }

  @Test func characterWrapAndNoWrap() {
    expectLines(rendered(Paragraph("hello world", wrap: .character), width: 4, height: 3), ["hell", "o wo", "rld "])
    expectLines(rendered(Paragraph("hello world", wrap: .none), width: 4, height: 2), ["hell", "    "])
  }

  @Test func wideCharactersWrapWholly() {
    expectLines(rendered(Paragraph("漢字漢字", wrap: .character), width: 5, height: 2), ["漢字 ", "漢字 "])
    expectLines(rendered(Paragraph("漢字漢字"), width: 5, height: 2), ["漢字 ", "漢字 "])
    // A two-column character cannot be shown in one column at all.
    expectLines(rendered(Paragraph("漢", wrap: .character), width: 1, height: 1), [" "])
  }

  @Test func newlinesAlignmentAndScroll() {
    let paragraph = Paragraph("a\nbb\nccc", alignment: .right)
    expectLines(rendered(paragraph, width: 4, height: 3), ["   a", "  bb", " ccc"])
    var scrolled = Paragraph("a\nbb\nccc", alignment: .center)
    scrolled.scroll = 1
    expectLines(rendered(scrolled, width: 5, height: 3), [" bb  ", " ccc ", "     "])
    #expect(paragraph.rowCount(width: 4) == 3)
    #expect(Paragraph("the quick brown fox jumps").rowCount(width: 10) == 3)
    #expect(Paragraph("x").rowCount(width: 0) == 0)
  }

  @Test func spansKeepTheirStylesAcrossWraps() {
    let bold = Style(bold: true)
    let line = Line([Span("keep "), Span("merged tokens", style: bold)])
    let buffer = rendered(Paragraph([line]), width: 8, height: 2)
    expectLines(buffer, ["keep    ", "merged  "])
    #expect(buffer.styleLines == ["0-7 -", "0-5 bold; 6-7 -"])
  }

  @Test func backgroundClearsTheArea() {
    var buffer = Buffer(lines: ["xxxx", "xxxx"])
    buffer.render(Paragraph([Line("hi")], background: Style(bg: .indexed(1))), in: buffer.area)
    expectLines(buffer, ["hi  ", "    "])
    #expect(buffer[3, 1].style.bg == .indexed(1))
  }
}
