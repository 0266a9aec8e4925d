import Testing
@testable import TUI

@Suite struct TextWidthTests {
  @Test func asciiAndLatinAreOneColumn() {
    #expect(displayWidth(of: "layer 3") == 7)
    #expect(displayWidth(of: "é") == 1)
    #expect(displayWidth(of: "e\u{301}") == 1)  // combining acute accent
  }

  @Test func cjkAndEmojiAreTwoColumns() {
    #expect(displayWidth(of: "漢字") == 4)
    #expect(displayWidth(of: "トークン") == 8)
    #expect(displayWidth(of: "한") == 2)
    #expect(displayWidth(of: "🙂") == 2)
    #expect(displayWidth(of: "❤\u{FE0F}") == 2)  // emoji presentation selector
    #expect(displayWidth(of: "❤") == 1)  // text presentation by default
    #expect(displayWidth(of: "👩\u{200D}💻") == 2)  // ZWJ sequence is one grapheme
    #expect(displayWidth(of: "🇫🇷") == 2)
  }

  @Test func boxDrawingAndBlocksAreOneColumn() {
    #expect(displayWidth(of: "┌─┐▀▄█▏▉←→×•…") == 13)
  }

  @Test func controlAndFormatCharactersTakeNoSpace() {
    #expect(displayWidth(of: "a\tb") == 2)
    #expect(displayWidth(of: "\u{200B}") == 0)  // zero-width space
  }

  @Test func truncationRespectsWideCharactersAndEllipsis() {
    #expect(truncate("tokenscope", toWidth: 6) == "token…")
    #expect(truncate("tokenscope", toWidth: 10) == "tokenscope")
    #expect(truncate("漢字漢字", toWidth: 5) == "漢字…")
    #expect(truncate("漢字漢字", toWidth: 4) == "漢…")
    #expect(truncate("abc", toWidth: 1) == "a")  // no room for the ellipsis
    #expect(truncate("abc", toWidth: 0) == "")
    #expect(truncate("tokenscope", toWidth: 6, ellipsis: "~") == "token~")
    #expect(prefix(of: "a漢b", fittingWidth: 2) == "a")
  }
}
