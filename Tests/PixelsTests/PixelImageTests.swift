import Pixels
import Testing

@Suite struct PixelImageTests {
  @Test func rgbPixelsReadBackAsRGB() {
    let image = PixelImage(width: 2, height: 1, channels: 3, pixels: [1, 2, 3, 4, 5, 6])
    #expect(image[0, 0] == RGB(1, 2, 3))
    #expect(image[1, 0] == RGB(4, 5, 6))
  }

  @Test func greyPixelsReadBackAsEqualChannels() {
    let image = PixelImage(width: 1, height: 2, channels: 1, pixels: [7, 200])
    #expect(image[0, 0] == RGB(7, 7, 7))
    #expect(image[0, 1] == RGB(200, 200, 200))
  }

  @Test func aColourFunctionBuildsAnRGBImageRowByRow() {
    let image = PixelImage(width: 3, height: 2) { x, y in RGB(UInt8(x), UInt8(y), 9) }
    #expect(image.channels == 3)
    #expect(image.pixels == [0, 0, 9, 1, 0, 9, 2, 0, 9, 0, 1, 9, 1, 1, 9, 2, 1, 9])
    #expect(image[2, 1] == RGB(2, 1, 9))
  }

  @Test func theShapeOnlyImageIsBlack() {
    let image = PixelImage(width: 2, height: 2, channels: 1)
    #expect(image.pixels == [0, 0, 0, 0])
  }
}
