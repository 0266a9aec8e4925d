import Pixels
import Testing
@testable import TUI

@Suite struct HalfBlockImageTests {
  let red = RGB(255, 0, 0), green = RGB(0, 255, 0), blue = RGB(0, 0, 255), white = RGB(255, 255, 255)
  var quad: PixelImage { rgbImage(width: 2, height: 2, [red, green, blue, white]) }

  /// An RGB image of `colours`, row by row.
  func rgbImage(width: Int, height: Int, _ colours: [RGB]) -> PixelImage {
    PixelImage(width: width, height: height) { x, y in colours[y * width + x] }
  }

  @Test func upperPixelIsForegroundLowerPixelIsBackground() {
    let buffer = rendered(HalfBlockImage(image: quad, maxScale: 1), width: 2, height: 1)
    expectLines(buffer, ["▀▀"])
    #expect(buffer[0, 0].style == Style(fg: red.color, bg: blue.color))
    #expect(buffer[1, 0].style == Style(fg: green.color, bg: white.color))
  }

  @Test func scalesUpByTheLargestWholeFactorThatFits() {
    let image = HalfBlockImage(image: quad)
    let placement = image.placement(in: Rect(x: 0, y: 0, width: 5, height: 3))
    #expect(placement.upscale == 2)
    #expect(placement.cells == Rect(x: 0, y: 0, width: 4, height: 2))
    let buffer = rendered(image, width: 5, height: 3)
    #expect(buffer.styleLines == [
      "0-1 fg=#ff0000 bg=#ff0000; 2-3 fg=#00ff00 bg=#00ff00; 4 -",
      "0-1 fg=#0000ff bg=#0000ff; 2-3 fg=#ffffff bg=#ffffff; 4 -",
      "0-4 -",
    ])
    // A 14×14 token grid in a roomy panel: 2 pixels per token, 28×14 cells.
    let tokens = PixelImage(width: 14, height: 14) { _, _ in red }
    #expect(HalfBlockImage(image: tokens).placement(in: Rect(x: 0, y: 0, width: 40, height: 20)).cells.size == Size(width: 28, height: 14))
  }

  @Test func reducesLargeImagesByAveraging() {
    let image = PixelImage(width: 4, height: 4) { x, _ in x < 2 ? RGB(0, 0, 0) : RGB(200, 100, 50) }
    let widget = HalfBlockImage(image: image)
    let placement = widget.placement(in: Rect(x: 0, y: 0, width: 2, height: 1))
    #expect(placement.downscale == 2)
    let buffer = rendered(widget, width: 2, height: 1)
    #expect(buffer[0, 0].style == Style(fg: .rgb(0, 0, 0), bg: .rgb(0, 0, 0)))
    #expect(buffer[1, 0].style == Style(fg: .rgb(200, 100, 50), bg: .rgb(200, 100, 50)))
    let mixed = rgbImage(width: 2, height: 2, [RGB(0, 0, 0), RGB(100, 0, 0), RGB(0, 50, 0), RGB(0, 0, 20)])
    let averaged = rendered(HalfBlockImage(image: mixed), width: 1, height: 1)
    #expect(averaged[0, 0].style.fg == .rgb(25, 12, 5))
  }

  @Test func oddHeightLeavesTheLastLowerHalfOnTheDefaultBackground() {
    let image = rgbImage(width: 1, height: 3, [red, green, blue])
    let buffer = rendered(HalfBlockImage(image: image, maxScale: 1), width: 1, height: 3)
    expectLines(buffer, ["▀", "▀", " "])
    #expect(buffer[0, 1].style == Style(fg: blue.color, bg: .default))
  }

  @Test func monochromeFallbackUsesLuminance() {
    let image = rgbImage(width: 3, height: 2, [RGB(0, 0, 0), RGB(128, 128, 128), white, RGB(0, 0, 0), RGB(128, 128, 128), white])
    let widget = HalfBlockImage(image: image, maxScale: 1, appearance: .asciiMonochrome)
    let buffer = rendered(widget, width: 3, height: 1)
    expectLines(buffer, [" +@"])
    #expect(buffer.styleLines == ["0-2 -"])
  }

  @Test func asciiWithColourPaintsTheAverageAsBackground() {
    let widget = HalfBlockImage(image: quad, maxScale: 1, appearance: Appearance(glyphs: .ascii, colorMode: .palette256))
    let buffer = rendered(widget, width: 2, height: 1)
    expectLines(buffer, ["  "])
    #expect(buffer[0, 0].style.bg == .rgb(128, 0, 128))
  }

  @Test func hitTestingReturnsSourcePixels() {
    let tokens = PixelImage(width: 14, height: 14) { _, _ in red }
    let widget = HalfBlockImage(image: tokens, centered: true)
    let area = Rect(x: 10, y: 2, width: 40, height: 20)
    let placement = widget.placement(in: area)
    #expect(placement.cells == Rect(x: 16, y: 5, width: 28, height: 14))
    let hit = widget.sourcePixels(atX: 16 + 5, y: 5 + 3, in: area)
    #expect(hit?.upper == PixelPosition(x: 2, y: 3))
    #expect(hit?.lower == PixelPosition(x: 2, y: 3))  // both halves of a cell show the same 2×2 token
    #expect(widget.sourcePixels(atX: 15, y: 5, in: area) == nil)
  }

  @Test func emptyImagesAndAreasDrawNothing() {
    let empty = PixelImage(width: 0, height: 0, channels: 3)
    expectLines(rendered(HalfBlockImage(image: empty), width: 2, height: 1), ["  "])
    #expect(HalfBlockImage(image: quad).placement(in: Rect(x: 0, y: 0, width: 0, height: 0)).cells.isEmpty)
  }

  @Test func greyImagesDrawAsTheirRGBEquivalent() {
    let grey = PixelImage(width: 2, height: 2, channels: 1, pixels: [0, 90, 180, 255])
    let rgb = rgbImage(width: 2, height: 2, [RGB(0, 0, 0), RGB(90, 90, 90), RGB(180, 180, 180), RGB(255, 255, 255)])
    #expect(rendered(HalfBlockImage(image: grey), width: 4, height: 2) == rendered(HalfBlockImage(image: rgb), width: 4, height: 2))
  }
}
