// Resampler parity with Pillow's Image.resize (through torchvision Resize where a short side is given).
//
// Shape legend: sources are gen_images.py `pattern` images [h][w][c]; expected outputs are PNGs of [out_h][out_w][c].

import ImageIO
import Pixels
import Testing

@Suite struct ResizeTests {
  @Test(arguments: Fixtures.manifest.resize)
  func matchesPillow(_ fixture: Manifest.ResizeCase) throws {
    let source = fixture.source.image
    let filter = try #require(Interpolation(rawValue: fixture.filter))
    let size: (width: Int, height: Int)
    if let side = fixture.short_side {
      size = Preprocessing.resizedSize(width: source.width, height: source.height, shortSide: side)
    } else {
      let explicit = try #require(fixture.size)
      size = (explicit[0], explicit[1])
    }
    #expect(size.width == fixture.out_width && size.height == fixture.out_height)
    let ours = Resampler.resize(source, width: size.width, height: size.height, filter: filter)
    let expected = try ImageLoader.decode(data: try Fixtures.bytes(fixture.expected), name: fixture.expected)
    #expect(ours.width == expected.width && ours.height == expected.height && ours.channels == expected.channels)
    try #require(ours.pixels.count == expected.pixels.count)
    let (worst, mismatches) = compare(ours.pixels, expected.pixels)
    // The port is meant to be exact; the project's tolerance is 1.
    #expect(worst <= 1, "\(fixture.id): \(mismatches) samples differ, by up to \(worst)")
    #expect(mismatches == 0, "\(fixture.id): \(mismatches) of \(ours.pixels.count) samples differ by 1")
  }

  @Test func sameSizeIsIdentity() {
    let image = pattern(width: 9, height: 7, channels: 3, seed: 1)
    for filter in Interpolation.allCases {
      #expect(Resampler.resize(image, width: 9, height: 7, filter: filter) == image)
    }
  }

  @Test func constantImageStaysConstant() {
    // Normalised coefficients sum to 1 << 22, so flat input stays flat at every scale, upscaling or down.
    let flat = PixelImage(width: 17, height: 11, channels: 3, pixels: [UInt8](repeating: 200, count: 17 * 11 * 3))
    for filter in Interpolation.allCases {
      for (w, h) in [(5, 3), (40, 30), (17, 50), (1, 1)] {
        let out = Resampler.resize(flat, width: w, height: h, filter: filter)
        #expect(out.pixels.allSatisfy { $0 == 200 }, "\(filter) \(w)x\(h)")
      }
    }
  }

  @Test func nearestPicksPixelCentres() {
    // 4 -> 2 samples at centres 1.0 and 3.0: input columns 1 and 3.
    let row = PixelImage(width: 4, height: 1, channels: 1, pixels: [10, 20, 30, 40])
    #expect(Resampler.resize(row, width: 2, height: 1, filter: .nearest).pixels == [20, 40])
  }

  @Test func torchvisionResizeSizes() {
    #expect(Preprocessing.resizedSize(width: 300, height: 200, shortSide: 224) == (336, 224))
    #expect(Preprocessing.resizedSize(width: 37, height: 23, shortSide: 256) == (411, 256))
    #expect(Preprocessing.resizedSize(width: 200, height: 300, shortSide: 224) == (224, 336))
    #expect(Preprocessing.resizedSize(width: 640, height: 480, shortSide: 256) == (341, 256))
    #expect(Preprocessing.resizedSize(width: 500, height: 500, shortSide: 256) == (256, 256))
  }
}
