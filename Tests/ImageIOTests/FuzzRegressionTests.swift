// Regression tests for what the fuzz targets in Tests/Fuzz found (see Tests/Fuzz/README.md).
import ImageIO
import Pixels
import Testing

@Suite struct FuzzRegressionTests {
  static let deit224 = Preprocessing.deit(inputSize: (224, 224), channels: 3, mean: [0.485, 0.456, 0.406],
                                          std: [0.229, 0.224, 0.225])

  /// png target, hand-made thin seeds: DeiT's Resize(256) made the short side 256 before the centre crop, so a
  /// 16384x1 PNG of a few hundred bytes became a 4194304x256 image (3 GB for RGB, 10 s under ASan). 4096x1 is enough
  /// to show it (1048576x256 before the fix) without the test itself using gigabytes when it fails.
  @Test func extremeAspectRatiosAreRefusedBeforeResizing() throws {
    for (width, height) in [(4096, 1), (1, 4096), (600, 2)] {
      let name = "thin-\(width)x\(height).png"
      let png = try PNGWriter.encode(PixelImage(width: width, height: height, channels: 1))
      #expect(png.count < 1000, "\(name) is \(png.count) bytes")
      let image = try ImageLoader.decode(data: png, name: name)
      do {
        let tensor = try Self.deit224.apply(to: image, name: name)
        Issue.record("\(name) preprocessed to \(tensor.count) values")
      } catch {
        #expect(error.description.hasPrefix(name + ": "), "\(error.description)")
        #expect(error.description.contains("aspect ratio"), "\(error.description)")
        #expect(!error.description.contains("\n"))
      }
    }
  }

  /// Up to 64:1 (long side 16384 at short side 256) still preprocesses as before.
  @Test func wideButPlausibleImagesStillWork() throws {
    for (width, height) in [(64, 1), (1, 64), (300, 200)] {
      let tensor = try Self.deit224.apply(to: PixelImage(width: width, height: height, channels: 3), name: "ok.png")
      #expect(tensor.count == 3 * 224 * 224)
    }
  }
}
