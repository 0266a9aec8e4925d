import Testing
@testable import TUI

@Suite struct GlyphsTests {
  @Test func localeCodesetPicksTheTable() {
    #expect(Glyphs.detect(codeset: "UTF-8") == .unicode)
    #expect(Glyphs.detect(codeset: "utf8") == .unicode)
    #expect(Glyphs.detect(codeset: "ANSI_X3.4-1968") == .ascii)  // LANG=C
    #expect(Glyphs.detect(codeset: "ISO-8859-1") == .ascii)
    #expect(Glyphs.detect(codeset: "") == .ascii)
  }

  @Test func flagsOverrideTheLocale() {
    #expect(Glyphs.detect(codeset: "UTF-8", forceASCII: true) == .ascii)
    #expect(Glyphs.detect(codeset: "C", forceASCII: false) == .unicode)
  }

  @Test func asciiTableIsPureASCIIAndTablesAreComplete() {
    let ascii = Glyphs.ascii
    var symbols = [ascii.upperHalf, ascii.lowerHalf, ascii.fullBlock, ascii.arrowLeft, ascii.arrowRight, ascii.arrowUp,
      ascii.arrowDown, ascii.bullet, ascii.ellipsis, ascii.times, ascii.selection, ascii.lineDot, ascii.missing]
    symbols += ascii.barEighths + ascii.sparkLevels + ascii.shades + ascii.luminanceRamp + ascii.markers
    let box = ascii.box
    symbols += [box.horizontal, box.vertical, box.topLeft, box.topRight, box.bottomLeft, box.bottomRight]
    #expect(symbols.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) })
    for glyphs in [Glyphs.unicode, Glyphs.ascii] {
      #expect(glyphs.barEighths.count == 9)
      #expect(glyphs.sparkLevels.count == 9)
      #expect(glyphs.barEighths.allSatisfy { displayWidth(of: $0) == 1 })
      #expect(Set(glyphs.markers).count == glyphs.markers.count)
      #expect(glyphs.marker(glyphs.markers.count) == glyphs.marker(0))
    }
    #expect(Glyphs.unicode.barEighths.joined() == " ▏▎▍▌▋▊▉█")
    #expect(Glyphs.ascii.box(.rounded) == Glyphs.ascii.box)
  }
}
