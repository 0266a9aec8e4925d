import Testing
@testable import Pixels

@Suite struct PaletteTests {
  @Test func sequentialPalettesHitTheirEndStops() {
    #expect(SequentialPalette.viridis.rgb(at: 0) == RGB(hex: 0x440154))
    #expect(SequentialPalette.viridis.rgb(at: 1) == RGB(hex: 0xFDE725))
    #expect(SequentialPalette.cividis.rgb(at: 1) == RGB(hex: 0xFFEA46))
    #expect(SequentialPalette.greys.rgb(at: 0.5) == RGB(128, 128, 128))
  }

  @Test func sequentialPalettesClampAndSurviveNaN() {
    for palette in SequentialPalette.allCases {
      #expect(palette.rgb(at: -3) == palette.rgb(at: 0))
      #expect(palette.rgb(at: 7) == palette.rgb(at: 1))
      #expect(palette.rgb(at: .nan) == palette.rgb(at: 0))
    }
  }

  @Test func sequentialPalettesGetBrighterMonotonically() {
    for palette in SequentialPalette.allCases {
      let luminances = (0...20).map { palette.rgb(at: Double($0) / 20).luminance }
      for (lower, higher) in zip(luminances, luminances.dropFirst()) {
        #expect(higher >= lower - 0.01, "\(palette) is not monotone")
      }
    }
  }

  @Test func normalisationHandlesDegenerateRanges() {
    #expect(normalized(5, in: 0...10) == 0.5)
    #expect(normalized(-5, in: 0...10) == 0)
    #expect(normalized(50, in: 0...10) == 1)
    #expect(normalized(3, in: 3...3) == 0.5)
  }

  @Test func categoricalColoursAreStableAndDistinct() {
    #expect(CategoricalPalette.rgb(for: 0) == RGB(hex: 0xE69F00))
    #expect(CategoricalPalette.rgb(for: 6) == RGB(hex: 0xCC79A7))
    #expect(CategoricalPalette.rgb(for: 123) == CategoricalPalette.rgb(for: 123))
    #expect(CategoricalPalette.rgb(for: -2) == CategoricalPalette.rgb(for: 2))
    let colours = (0..<64).map { CategoricalPalette.rgb(for: $0) }
    #expect(Set(colours).count == 64)
    // Neighbouring groups must be easy to tell apart.
    for (a, b) in zip(colours, colours.dropFirst()) {
      #expect(a.distanceSquared(to: b) > 2000, "\(a) vs \(b)")
    }
  }

  @Test func oklchProducesKnownColours() {
    // L = 1, C = 0 is white; L = 0 is black.
    #expect(oklchToRGB(lightness: 1, chroma: 0, hueDegrees: 0) == RGB(255, 255, 255))
    #expect(oklchToRGB(lightness: 0, chroma: 0, hueDegrees: 0) == RGB(0, 0, 0))
  }
}
