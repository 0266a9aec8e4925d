// Shape legend:
//   pixels [height][width][channels] UInt8, row-major, interleaved (HWC); channels 1 = grey (PIL "L"), 3 = RGB

/// An 8-bit image as Pillow holds it after `convert("L")` or `convert("RGB")`: what the decoders produce, what
/// preprocessing reads, what the terminal draws and what figures paint.
public struct PixelImage: Hashable, Sendable {
  public let width: Int
  public let height: Int
  /// 1 (grey) or 3 (RGB).
  public let channels: Int
  /// Row-major, interleaved (HWC); `count == width * height * channels`.
  public var pixels: [UInt8]

  public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
    precondition(width >= 0 && height >= 0 && channels >= 1, "PixelImage: bad shape \(width)x\(height)x\(channels)")
    precondition(pixels.count == width * height * channels,
                 "PixelImage: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
    self.width = width
    self.height = height
    self.channels = channels
    self.pixels = pixels
  }

  /// A zero-filled (black) image.
  public init(width: Int, height: Int, channels: Int) {
    self.init(width: width, height: height, channels: channels,
              pixels: [UInt8](repeating: 0, count: width * height * channels))
  }

  /// An RGB image whose pixel (x, y) is `color(x, y)` (a token map, a colour per token).
  public init(width: Int, height: Int, color: (_ x: Int, _ y: Int) -> RGB) {
    var pixels: [UInt8] = []
    pixels.reserveCapacity(width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let c = color(x, y)
        pixels += [c.r, c.g, c.b]
      }
    }
    self.init(width: width, height: height, channels: 3, pixels: pixels)
  }

  /// The pixel at (x, y) as RGB; a grey pixel has r = g = b.
  public subscript(x: Int, y: Int) -> RGB {
    let o = (y * width + x) * channels
    return channels >= 3 ? RGB(pixels[o], pixels[o + 1], pixels[o + 2]) : RGB(pixels[o], pixels[o], pixels[o])
  }
}
