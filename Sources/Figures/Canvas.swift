// An RGB raster for figures: rectangles, alpha blending, 1-px lines, and text from the embedded bitmap font.
// Shape legend: pixels are row-major, 3 bytes per pixel (R, G, B), width x height.
import ImageIO
import Pixels

public struct Canvas: Sendable, Equatable {
  public let width: Int, height: Int
  public private(set) var pixels: [UInt8]

  public init(width: Int, height: Int, background: RGB = RGB(255, 255, 255)) {
    self.width = max(0, width)
    self.height = max(0, height)
    pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
    fill(x: 0, y: 0, width: self.width, height: self.height, color: background)
  }

  public subscript(x: Int, y: Int) -> RGB {
    let o = (y * width + x) * 3
    return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
  }

  public mutating func set(x: Int, y: Int, _ color: RGB) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    let o = (y * width + x) * 3
    pixels[o] = color.r; pixels[o + 1] = color.g; pixels[o + 2] = color.b
  }

  /// Mixes `color` into the pixel with weight `alpha` (0: unchanged, 1: replaced).
  public mutating func blend(x: Int, y: Int, _ color: RGB, alpha: Double) {
    guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
    set(x: x, y: y, self[x, y].mixed(with: color, by: min(1, alpha)))
  }

  public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
    for yy in max(0, y)..<min(height, y + h) where w > 0 {
      for xx in max(0, x)..<min(width, x + w) { set(x: xx, y: yy, color) }
    }
  }

  /// A 1-px rectangle outline.
  public mutating func stroke(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
    guard w > 0, h > 0 else { return }
    fill(x: x, y: y, width: w, height: 1, color: color)
    fill(x: x, y: y + h - 1, width: w, height: 1, color: color)
    fill(x: x, y: y, width: 1, height: h, color: color)
    fill(x: x + w - 1, y: y, width: 1, height: h, color: color)
  }

  /// Copies `source` with its top-left corner at (x, y).
  public mutating func draw(_ source: Canvas, x: Int, y: Int) {
    for sy in 0..<source.height {
      for sx in 0..<source.width { set(x: x + sx, y: y + sy, source[sx, sy]) }
    }
  }

  /// Draws `text` with its top-left corner at (x, y), in the embedded monospace font (printable ASCII; other characters
  /// draw as '?'). Returns the x after the last character.
  @discardableResult
  public mutating func text(_ text: String, x: Int, y: Int, color: RGB = RGB(0, 0, 0)) -> Int {
    var cx = x
    for character in text {
      guard let coverage = BitmapFont.coverage(character) ?? BitmapFont.coverage("?") else { continue }
      var i = coverage.startIndex
      for gy in 0..<BitmapFont.height {
        for gx in 0..<BitmapFont.width {
          let ink = coverage[i]
          i += 1
          if ink > 0 { blend(x: cx + gx, y: y + gy, color, alpha: Double(ink) / 255) }
        }
      }
      cx += BitmapFont.width
    }
    return cx
  }

  public static func textWidth(_ text: String) -> Int { text.count * BitmapFont.width }
  public static var lineHeight: Int { BitmapFont.height }

  /// As an 8-bit RGB image (for PNGWriter).
  public var image: PixelImage { PixelImage(width: width, height: height, channels: 3, pixels: pixels) }

  /// The canvas as a PNG file.
  public func png() throws(ImageError) -> [UInt8] { try PNGWriter.encode(image) }
}
