/// A plain 24-bit colour value, used by palettes, images and colour arithmetic.
public struct RGB: Hashable, Sendable {
  public var r: UInt8
  public var g: UInt8
  public var b: UInt8

  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
    self.r = r
    self.g = g
    self.b = b
  }

  /// Builds a colour from a `0xRRGGBB` literal.
  public init(hex: UInt32) {
    self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
  }

  /// Relative luminance in 0...1 (Rec. 709 weights on gamma-encoded values): good enough to pick a glyph density
  /// or a readable text colour, which is all it is used for.
  public var luminance: Double {
    (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255
  }

  /// Linear interpolation in gamma-encoded RGB; `t` is clamped to 0...1.
  public func mixed(with other: RGB, by t: Double) -> RGB {
    let t = min(max(t, 0), 1)
    func channel(_ a: UInt8, _ b: UInt8) -> UInt8 {
      UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded())
    }
    return RGB(channel(r, other.r), channel(g, other.g), channel(b, other.b))
  }

  /// A "perceptual-ish" squared distance: the low-cost "redmean" approximation (compuphase.com/cmetric.htm), which
  /// weights red and blue by how red the pair is. It tracks human judgement far better than plain RGB Euclid.
  public func distanceSquared(to other: RGB) -> Double {
    let meanRed = (Double(r) + Double(other.r)) / 2
    let dr = Double(r) - Double(other.r)
    let dg = Double(g) - Double(other.g)
    let db = Double(b) - Double(other.b)
    return (2 + meanRed / 256) * dr * dr + 4 * dg * dg + (2 + (255 - meanRed) / 256) * db * db
  }

  /// Black or white, whichever reads better on top of this colour.
  public var contrastingText: RGB {
    luminance > 0.5 ? RGB(0, 0, 0) : RGB(255, 255, 255)
  }
}
