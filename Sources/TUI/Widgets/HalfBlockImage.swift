import Pixels

/// A pixel position in a `PixelImage`.
public struct PixelPosition: Hashable, Sendable {
  public var x: Int
  public var y: Int

  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }
}

/// Draws a `PixelImage` with the half-block trick: each cell shows two stacked pixels as `▀` with fg = upper pixel
/// and bg = lower pixel (chafa/timg/viu). Cells are about twice as tall as wide, so the two halves are nearly square.
///
/// The image is scaled by the largest whole factor that fits (a 14×14 token grid becomes 28×28 pixels, 28×14 cells,
/// in a big enough panel) or, when it is too big, reduced by a whole factor averaging the pixels it merges.
///
/// Fallbacks keep the same geometry (one cell = one pixel wide, two pixels tall), so hit-testing does not depend on
/// the terminal:
/// - colour but ASCII glyphs: a blank cell on the average colour of the two pixels;
/// - monochrome: a character from `Glyphs.luminanceRamp` by the pair's luminance (dark → " ", bright → "@"),
///   assuming a dark terminal background.
public struct HalfBlockImage: Widget {
  public var image: PixelImage
  /// The largest whole upscale to use (1 draws the image at its natural size when it fits).
  public var maxScale: Int
  /// Centre the image in its area rather than placing it top-left.
  public var centered: Bool
  public var appearance: Appearance

  public init(image: PixelImage, maxScale: Int = .max, centered: Bool = false, appearance: Appearance = .rich) {
    self.image = image
    self.maxScale = max(maxScale, 1)
    self.centered = centered
    self.appearance = appearance
  }

  /// How the image maps onto cells in an area.
  public struct Placement: Hashable, Sendable {
    /// The cells the image covers.
    public var cells: Rect
    /// Each source pixel becomes `upscale`×`upscale` output pixels.
    public var upscale: Int
    /// Each output pixel averages `downscale`×`downscale` source pixels.
    public var downscale: Int
    /// Output pixel grid (two output rows per cell row).
    public var pixelWidth: Int
    public var pixelHeight: Int
  }

  /// Where and at what scale the image is drawn in `area`.
  public func placement(in area: Rect) -> Placement {
    guard image.width > 0, image.height > 0, !area.isEmpty else {
      return Placement(cells: Rect(x: area.x, y: area.y, width: 0, height: 0), upscale: 1, downscale: 1, pixelWidth: 0, pixelHeight: 0)
    }
    let availableWidth = area.width
    let availableHeight = area.height * 2
    var upscale = 1
    var downscale = 1
    if image.width <= availableWidth && image.height <= availableHeight {
      upscale = min(availableWidth / image.width, availableHeight / image.height, maxScale)
    } else {
      downscale = max(ceilDivide(image.width, availableWidth), ceilDivide(image.height, availableHeight))
    }
    let pixelWidth = ceilDivide(image.width * upscale, downscale)
    let pixelHeight = ceilDivide(image.height * upscale, downscale)
    let cellWidth = min(pixelWidth, area.width)
    let cellHeight = min(ceilDivide(pixelHeight, 2), area.height)
    var origin = (x: area.x, y: area.y)
    if centered {
      origin = (area.x + (area.width - cellWidth) / 2, area.y + (area.height - cellHeight) / 2)
    }
    return Placement(
      cells: Rect(x: origin.x, y: origin.y, width: cellWidth, height: cellHeight),
      upscale: upscale, downscale: downscale, pixelWidth: pixelWidth, pixelHeight: pixelHeight)
  }

  /// The source pixels shown by the cell at terminal position (x, y): the upper half and, if any, the lower half.
  /// For mouse hit-testing (e.g. "which token is under the pointer").
  public func sourcePixels(atX x: Int, y: Int, in area: Rect) -> (upper: PixelPosition, lower: PixelPosition?)? {
    let placement = placement(in: area)
    guard placement.cells.contains(x: x, y: y) else { return nil }
    let outputX = x - placement.cells.x
    let outputY = (y - placement.cells.y) * 2
    let upper = sourcePosition(outputX: outputX, outputY: outputY, placement: placement)
    let lower = outputY + 1 < placement.pixelHeight
      ? sourcePosition(outputX: outputX, outputY: outputY + 1, placement: placement) : nil
    return (upper, lower)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    let placement = placement(in: area)
    let cells = placement.cells
    guard !cells.isEmpty else { return }
    for row in 0..<cells.height {
      for column in 0..<cells.width {
        let upper = outputPixel(x: column, y: row * 2, placement: placement)
        let lower = row * 2 + 1 < placement.pixelHeight ? outputPixel(x: column, y: row * 2 + 1, placement: placement) : nil
        buffer[cells.x + column, cells.y + row] = cell(upper: upper, lower: lower)
      }
    }
  }

  /// The cell showing two stacked pixels in the current appearance.
  func cell(upper: RGB, lower: RGB?) -> Cell {
    let glyphs = appearance.glyphs
    if !appearance.usesColor {
      let luminance = lower.map { (upper.luminance + $0.luminance) / 2 } ?? upper.luminance
      let ramp = glyphs.luminanceRamp
      return Cell(ramp[min(Int(luminance * Double(ramp.count)), ramp.count - 1)])
    }
    if glyphs.isASCII {
      return Cell(" ", style: Style(bg: (lower.map { upper.mixed(with: $0, by: 0.5) } ?? upper).color))
    }
    return Cell(glyphs.upperHalf, style: Style(fg: upper.color, bg: lower?.color ?? .default))
  }

  private func sourcePosition(outputX: Int, outputY: Int, placement: Placement) -> PixelPosition {
    PixelPosition(
      x: min(outputX * placement.downscale / placement.upscale, image.width - 1),
      y: min(outputY * placement.downscale / placement.upscale, image.height - 1))
  }

  /// The colour of one output pixel: a source pixel when upscaling, the mean of a block when reducing.
  private func outputPixel(x: Int, y: Int, placement: Placement) -> RGB {
    if placement.downscale == 1 {
      return image[min(x / placement.upscale, image.width - 1), min(y / placement.upscale, image.height - 1)]
    }
    let factor = placement.downscale
    var sum = (r: 0, g: 0, b: 0)
    var count = 0
    for sourceY in (y * factor)..<min((y + 1) * factor, image.height) {
      for sourceX in (x * factor)..<min((x + 1) * factor, image.width) {
        let pixel = image[sourceX, sourceY]
        sum.r += Int(pixel.r)
        sum.g += Int(pixel.g)
        sum.b += Int(pixel.b)
        count += 1
      }
    }
    guard count > 0 else { return RGB(0, 0, 0) }
    return RGB(UInt8(sum.r / count), UInt8(sum.g / count), UInt8(sum.b / count))
  }
}

func ceilDivide(_ numerator: Int, _ denominator: Int) -> Int {
  guard denominator > 0 else { return 0 }
  return (numerator + denominator - 1) / denominator
}
