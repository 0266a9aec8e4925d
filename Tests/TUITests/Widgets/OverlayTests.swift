import Testing
@testable import TUI

@Suite struct PopupTests {
  @Test func centredBoxClearsWhatIsBehind() {
    var buffer = Buffer(lines: Array(repeating: "xxxxxxxxxxxx", count: 5))
    let popup = Popup(content: Paragraph("hi"), title: " Q ", width: 8, height: 3, borderKind: .plain)
    buffer.render(popup, in: buffer.area)
    expectLines(buffer, [
      "xxxxxxxxxxxx",
      "xx┌ Q ───┐xx",
      "xx│ hi   │xx",
      "xx└──────┘xx",
      "xxxxxxxxxxxx",
    ])
  }

  @Test func shrinksToTheScreen() {
    let popup = Popup(content: Paragraph("hello"), width: 50, height: 50, borderKind: .plain, glyphs: .ascii)
    expectLines(rendered(popup, width: 6, height: 3), ["+----+", "| he |", "+----+"])
    _ = rendered(popup, width: 1, height: 1)
  }
}

@Suite struct HelpOverlayTests {
  let entries = (0..<10).map { KeyHint("k\($0)", "action \($0)") }

  @Test func firstPageWithPageCounter() {
    let overlay = HelpOverlay(entries: entries)
    let buffer = rendered(overlay, width: 24, height: 8)
    expectLines(buffer, [
      "  ╭ Help ────────────╮  ",
      "  │ Key  Description │  ",
      "  │ k0   action 0    │  ",
      "  │ k1   action 1    │  ",
      "  │ k2   action 2    │  ",
      "  │ k3   action 3    │  ",
      "  │ k4   action 4    │  ",
      "  ╰──────── page 1/2 ╯  ",
    ])
    #expect(buffer[5, 1].style == Style(bold: true, underline: true))  // header
    #expect(buffer[5, 2].style == Style(bold: true))  // key column
  }

  @Test func pagingShowsTheRestAndClamps() {
    let layout = HelpOverlay(entries: entries).layout(in: Rect(x: 0, y: 0, width: 24, height: 8))
    #expect(layout.rowsPerPage == 5)
    #expect(layout.pageCount == 2)
    for page in [1, 7] {
      let buffer = rendered(HelpOverlay(entries: entries, page: page), width: 24, height: 8)
      #expect(buffer.lines[2] == "  │ k5   action 5    │  ")
      #expect(buffer.lines[6] == "  │ k9   action 9    │  ")
      #expect(buffer.lines[7] == "  ╰──────── page 2/2 ╯  ")
    }
    let before = rendered(HelpOverlay(entries: entries, page: -3), width: 24, height: 8)
    #expect(before.lines[2] == "  │ k0   action 0    │  ")
    #expect(before.lines[7] == "  ╰──────── page 1/2 ╯  ")
  }

  @Test func pageCountFollowsTheScreenHeight() {
    let overlay = HelpOverlay(entries: entries)
    // btop: pages = ceil(entries / (height - 3)).
    #expect(overlay.pageCount(in: Size(width: 80, height: 13)) == 1)
    #expect(overlay.pageCount(in: Size(width: 80, height: 12)) == 2)
    #expect(overlay.pageCount(in: Size(width: 80, height: 6)) == 4)
    #expect(overlay.pageCount(in: Size(width: 80, height: 3)) == 10)
    #expect(overlay.pageCount(in: Size(width: 80, height: 1)) == 10)
    #expect(HelpOverlay(entries: []).pageCount(in: Size(width: 80, height: 24)) == 1)
  }

  @Test func tallScreenHasNoPageCounter() {
    let buffer = rendered(HelpOverlay(entries: Array(entries.prefix(2))), width: 20, height: 7)
    expectLines(buffer, [
      "                    ",
      "╭ Help ────────────╮",
      "│ Key  Description │",
      "│ k0   action 0    │",
      "│ k1   action 1    │",
      "╰──────────────────╯",
      "                    ",
    ])
  }

  @Test func asciiAndTinyScreens() {
    let buffer = rendered(HelpOverlay(entries: Array(entries.prefix(1)), glyphs: .ascii), width: 20, height: 4)
    expectLines(buffer, [
      "+ Help ------------+",
      "| Key  Description |",
      "| k0   action 0    |",
      "+------------------+",
    ])
    for width in 0...3 {
      for height in 0...3 { _ = rendered(HelpOverlay(entries: entries, page: 3), width: width, height: height) }
    }
  }
}

@Suite struct TooSmallScreenTests {
  @Test func oneLineMessageCentred() {
    let screen = TooSmallScreen(current: Size(width: 60, height: 20), needed: Size(width: 80, height: 24))
    let buffer = rendered(screen, width: 50, height: 5)
    expectLines(buffer, [
      "                                                  ",
      "      terminal too small: 60×20, need 80×24       ",
      "                    q to quit                     ",
      "                                                  ",
      "                                                  ",
    ])
    #expect(buffer[26, 1].style.fg == .rgb(230, 80, 80))  // current size in red
    #expect(buffer[38, 1].style.fg == .rgb(90, 200, 110))  // needed size in green
  }

  @Test func asciiAndMonochrome() {
    let screen = TooSmallScreen(current: Size(width: 60, height: 20), needed: Size(width: 80, height: 24), appearance: .asciiMonochrome)
    let buffer = rendered(screen, width: 40, height: 2)
    #expect(buffer.lines[0] == " terminal too small: 60x20, need 80x24  ")
    #expect(buffer[22, 0].style == Style(bold: true))
  }

  @Test func breaksIntoShorterLinesOnNarrowScreens() {
    let screen = TooSmallScreen(current: Size(width: 19, height: 9), needed: Size(width: 80, height: 24))
    expectLines(rendered(screen, width: 19, height: 3), ["terminal too small:", " 19×9, need 80×24  ", "     q to quit     "])
    expectLines(rendered(screen, width: 10, height: 4), ["too small ", "   19×9   ", "need 80×24", "q to quit "])
    expectLines(rendered(screen, width: 3, height: 1), ["19×"])
    _ = rendered(screen, width: 1, height: 1)
    _ = rendered(screen, width: 0, height: 0)
  }
}
