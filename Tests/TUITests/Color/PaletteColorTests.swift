import Pixels
import Testing
import TUI

@Suite struct PaletteColorTests {
  @Test func palettesGiveTheirRGBAsStyleColours() {
    #expect(SequentialPalette.viridis.color(for: 10, in: 0...10) == Color(hex: 0xFDE725))
    #expect(SequentialPalette.viridis.color(for: 0, in: 0...10) == Color(hex: 0x440154))
    #expect(CategoricalPalette.color(for: 0) == Color(hex: 0xE69F00))
  }
}
