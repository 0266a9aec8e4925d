import Testing
@testable import TUICurses

@Suite struct CursesKeyDecodingTests {
  // ncurses key codes (curses.h, octal): stable ABI values.
  @Test func functionKeyCodes() {
    #expect(CursesBackend.decodeKeyCode(0o403) == .up)
    #expect(CursesBackend.decodeKeyCode(0o402) == .down)
    #expect(CursesBackend.decodeKeyCode(0o404) == .left)
    #expect(CursesBackend.decodeKeyCode(0o405) == .right)
    #expect(CursesBackend.decodeKeyCode(0o406) == .home)
    #expect(CursesBackend.decodeKeyCode(0o550) == .end)
    #expect(CursesBackend.decodeKeyCode(0o523) == .pageUp)
    #expect(CursesBackend.decodeKeyCode(0o522) == .pageDown)
    #expect(CursesBackend.decodeKeyCode(0o541) == .backTab)
    #expect(CursesBackend.decodeKeyCode(0o527) == .enter)
    #expect(CursesBackend.decodeKeyCode(0o407) == .backspace)
    #expect(CursesBackend.decodeKeyCode(0o512) == .delete)
    #expect(CursesBackend.decodeKeyCode(0o410 + 1) == .function(1))
    #expect(CursesBackend.decodeKeyCode(0o410 + 12) == .function(12))
    #expect(CursesBackend.decodeKeyCode(0o410) == nil)  // F0 does not exist on keyboards
    #expect(CursesBackend.decodeKeyCode(0o777) == nil)
  }

  @Test func characters() {
    #expect(CursesBackend.decodeCharacter(0x03) == .ctrlC)
    #expect(CursesBackend.decodeCharacter(0x09) == .tab)
    #expect(CursesBackend.decodeCharacter(0x0D) == .enter)
    #expect(CursesBackend.decodeCharacter(0x0A) == .enter)
    #expect(CursesBackend.decodeCharacter(0x1B) == .escape)
    #expect(CursesBackend.decodeCharacter(0x7F) == .backspace)
    #expect(CursesBackend.decodeCharacter(0x08) == .backspace)
    #expect(CursesBackend.decodeCharacter(0x71) == .char("q"))
    #expect(CursesBackend.decodeCharacter(0x3F) == .char("?"))
    #expect(CursesBackend.decodeCharacter(0x6F22) == .char("漢"))
    #expect(CursesBackend.decodeCharacter(0x0C) == .char("\u{0C}"))
    #expect(CursesBackend.decodeCharacter(0xD800) == nil)  // a lone surrogate is not a character
  }

  @Test func mouseReports() {
    #expect(CursesBackend.decodeMouse(x: 3, y: 4, buttonState: CursesBackend.clickButtonStates) == .mouse(x: 3, y: 4, kind: .click))
    #expect(CursesBackend.decodeMouse(x: 0, y: 0, buttonState: CursesBackend.wheelUpButtonState) == .mouse(x: 0, y: 0, kind: .wheelUp))
    #expect(CursesBackend.decodeMouse(x: 0, y: 0, buttonState: CursesBackend.wheelDownButtonState) == .mouse(x: 0, y: 0, kind: .wheelDown))
    #expect(CursesBackend.decodeMouse(x: 0, y: 0, buttonState: 0) == nil)
  }

  @Test func errorsAreOneLine() {
    for error in [TerminalError.termNotSet, .notATerminal, .unsupportedTerminal("dumb")] {
      #expect(!error.description.contains("\n"))
      #expect(error.description.hasPrefix("cannot start the terminal UI"))
    }
  }
}
