import Pixels
import Testing
@testable import TUI

@Suite struct ColorModeDetectionTests {
  let direct = 1 << 24

  @Test func explicitFlagWinsButIsClampedToTheTerminal() {
    #expect(ColorMode.detect(override: .palette16, environment: ["COLORTERM": "truecolor"], hasColors: true, colorCount: 256) == .palette16)
    #expect(ColorMode.detect(override: .monochrome, environment: [:], hasColors: true, colorCount: 256) == .monochrome)
    // ncurses cannot emit 24-bit colour through a 256-colour terminfo entry.
    #expect(ColorMode.detect(override: .truecolor, environment: [:], hasColors: true, colorCount: 256) == .palette256)
    // A flag beats NO_COLOR: the user asked for colour explicitly.
    #expect(ColorMode.detect(override: .palette256, environment: ["NO_COLOR": "1"], hasColors: true, colorCount: 256) == .palette256)
  }

  @Test func noColorSetAndNonEmptyMeansMonochromeWhateverItsValue() {
    for value in ["1", "0", "false", "yes"] {
      #expect(ColorMode.detect(environment: ["NO_COLOR": value], hasColors: true, colorCount: 256) == .monochrome)
    }
    #expect(ColorMode.detect(environment: ["NO_COLOR": ""], hasColors: true, colorCount: 256) == .palette256)
  }

  @Test func terminalWithoutColoursIsMonochrome() {
    #expect(ColorMode.detect(environment: ["COLORTERM": "truecolor"], hasColors: false, colorCount: 256) == .monochrome)
  }

  @Test func truecolorNeedsColortermAndADirectColourEntry() {
    #expect(ColorMode.detect(environment: ["COLORTERM": "truecolor"], hasColors: true, colorCount: direct) == .truecolor)
    #expect(ColorMode.detect(environment: ["COLORTERM": "24bit"], hasColors: true, colorCount: direct) == .truecolor)
    #expect(ColorMode.detect(environment: ["COLORTERM": "TrueColor"], hasColors: true, colorCount: direct) == .truecolor)
    // COLORTERM alone (the common xterm-256color case) is not enough for ncurses.
    #expect(ColorMode.detect(environment: ["COLORTERM": "truecolor"], hasColors: true, colorCount: 256) == .palette256)
    // A direct entry without COLORTERM (e.g. over ssh, which drops it) stays at 256.
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: direct) == .palette256)
  }

  @Test func colourCountsPickThePalette() {
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: 256) == .palette256)
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: 88) == .palette16)
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: 16) == .palette16)
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: 8) == .palette8)
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: 2) == .monochrome)
    #expect(ColorMode.detect(environment: [:], hasColors: true, colorCount: -1) == .monochrome)
  }
}

@Suite struct QuantizeTests {
  @Test func truecolorKeepsEverything() {
    #expect(quantize(.rgb(1, 2, 3), to: .truecolor) == .rgb(1, 2, 3))
    #expect(quantize(.indexed(200), to: .truecolor) == .indexed(200))
    #expect(quantize(.default, to: .truecolor) == .default)
  }

  @Test func monochromeDropsColour() {
    #expect(quantize(.rgb(255, 0, 0), to: .monochrome) == .default)
    #expect(quantize(.indexed(3), to: .monochrome) == .default)
    #expect(quantize(.default, to: .monochrome) == .default)
  }

  @Test func palette256MapsRGBIntoTheCubeAndGreyRamp() {
    #expect(quantize(.rgb(255, 0, 0), to: .palette256) == .indexed(196))
    #expect(quantize(.rgb(0, 0, 0), to: .palette256) == .indexed(16))
    #expect(quantize(.rgb(255, 255, 255), to: .palette256) == .indexed(231))
    #expect(quantize(.rgb(128, 128, 128), to: .palette256) == .indexed(244))  // grey ramp: 8 + 10 * 12
    #expect(quantize(.rgb(95, 135, 175), to: .palette256) == .indexed(67))  // exact cube entry
    #expect(quantize(.rgb(0x44, 0x01, 0x54), to: .palette256) == .indexed(53))  // viridis' dark purple
  }

  @Test func palette256NeverUsesTheThemedFirstSixteen() {
    var index = 0
    for red in stride(from: 0, through: 255, by: 17) {
      for green in stride(from: 0, through: 255, by: 51) {
        for blue in stride(from: 0, through: 255, by: 85) {
          guard case let .indexed(value) = quantize(.rgb(UInt8(red), UInt8(green), UInt8(blue)), to: .palette256) else {
            Issue.record("not indexed")
            return
          }
          #expect(value >= 16)
          index += 1
        }
      }
    }
    #expect(index > 0)
  }

  @Test func everyExtendedIndexMapsToItself() {
    for index in 16...255 {
      let rgb = XtermPalette.rgb(ofIndex: UInt8(index))
      let back = quantize(rgb.color, to: .palette256)
      // Some cube greys equal ramp greys in distance terms only if identical; all 240 entries are distinct colours.
      #expect(back == .indexed(UInt8(index)), "index \(index)")
    }
  }

  @Test func sixteenAndEightColourModesUseANSI() {
    #expect(quantize(.rgb(250, 10, 10), to: .palette16) == .indexed(9))
    #expect(quantize(.rgb(200, 0, 0), to: .palette16) == .indexed(1))
    #expect(quantize(.rgb(250, 10, 10), to: .palette8) == .indexed(1))
    #expect(quantize(.rgb(20, 20, 20), to: .palette8) == .indexed(0))
    #expect(quantize(.indexed(196), to: .palette16) == .indexed(9))
    #expect(quantize(.indexed(12), to: .palette16) == .indexed(12))
    #expect(quantize(.indexed(12), to: .palette8) == .indexed(4))  // bright blue → blue
    #expect(quantize(.indexed(231), to: .palette8) == .indexed(7))
  }

  @Test func xtermPaletteValues() {
    #expect(XtermPalette.rgb(ofIndex: 16) == RGB(0, 0, 0))
    #expect(XtermPalette.rgb(ofIndex: 196) == RGB(255, 0, 0))
    #expect(XtermPalette.rgb(ofIndex: 67) == RGB(95, 135, 175))
    #expect(XtermPalette.rgb(ofIndex: 232) == RGB(8, 8, 8))
    #expect(XtermPalette.rgb(ofIndex: 255) == RGB(238, 238, 238))
    #expect(Color.indexed(9).rgbValue == RGB(255, 0, 0))
    #expect(Color.default.rgbValue == nil)
    #expect(Color(hex: 0x440154) == .rgb(0x44, 0x01, 0x54))
  }

  @Test func redmeanDistanceIsSymmetricAndZeroOnIdentity() {
    let a = RGB(10, 200, 30)
    let b = RGB(240, 5, 99)
    #expect(a.distanceSquared(to: a) == 0)
    #expect(a.distanceSquared(to: b) == b.distanceSquared(to: a))
    #expect(abs(RGB(255, 255, 255).luminance - 1) < 1e-9)
    #expect(RGB(0, 0, 0).contrastingText == RGB(255, 255, 255))
    #expect(RGB(255, 255, 0).contrastingText == RGB(0, 0, 0))
  }
}
