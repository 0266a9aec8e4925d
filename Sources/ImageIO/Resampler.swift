// Resampler: a line-for-line port of Pillow 13's ImagingResample for 8-bit images (libImaging/Resample.c), plus its
// nearest-neighbour path (Image.resize -> ImagingTransformAffine -> ImagingScaleAffine in libImaging/Geometry.c).
//
// Shape legend:
//   image / result pixels   [height][width][channels] UInt8, HWC; channels is usually 1 or 3, any count works
//   Coefficients.bounds     [outSize][2] Int        (first input index, number of taps) per output column/row
//   Coefficients.weights    [outSize][ksize] Int32  taps in fixed point, 1.0 == 1 << 22 (PRECISION_BITS)
//   horizontal pass         [rows][inWidth][C]  -> [rows][outWidth][C]
//   vertical pass           [inRows][width][C]  -> [outHeight][width][C]
//
// Why a port and not "a bicubic resize": the project promises the tensor torchvision would feed the model, and
// Pillow's result depends on every detail below: coefficients computed in double and then rounded to 22-bit fixed
// point, the antialiasing support (filter support * scale when downscaling), uint8 rounding and clipping between the
// two passes, and which pass runs first. Pillow 13 runs the horizontal pass first unless the height shrinks by more
// than twice as many pixels as the width does (`horizontal_first` in ImagingResampleInner); we do the same.
// Integer accumulation is exact, so summation order is free to differ from Pillow (the vertical pass accumulates
// whole rows for cache locality) without changing a single output value.
import Pixels

/// The resampling filters tokenscope offers (PIL's BICUBIC, BILINEAR, NEAREST; torchvision's InterpolationMode).
public enum Interpolation: String, Sendable, CaseIterable {
  case bicubic, bilinear, nearest
}

public enum Resampler {
  /// Exactly PIL's `Image.resize((width, height), filter)` for 8-bit images: separable passes with coefficients
  /// computed in double then fixed-point (PRECISION_BITS = 22), uint8 rounding and clipping between the passes,
  /// antialiased support = filter support * scale when downscaling. Bicubic uses a = -0.5. Nearest follows PIL's
  /// affine scaling (pixel centres, accumulated in double). Returns the image unchanged when the size already matches.
  public static func resize(_ image: PixelImage, width: Int, height: Int, filter: Interpolation) -> PixelImage {
    precondition(width >= 1 && height >= 1, "Resampler: target size \(width)x\(height)")
    precondition(image.width >= 1 && image.height >= 1, "Resampler: empty source image")
    if width == image.width && height == image.height { return image }
    switch filter {
    case .nearest: return nearest(image, width: width, height: height)
    case .bilinear: return resample(image, width: width, height: height, filter: .bilinear)
    case .bicubic: return resample(image, width: width, height: height, filter: .bicubic)
    }
  }

  // MARK: - Filters (Resample.c: bilinear_filter, bicubic_filter)

  enum Kernel {
    case bilinear, bicubic

    var support: Double {
      switch self {
      case .bilinear: return 1.0
      case .bicubic: return 2.0
      }
    }

    /// The same operations in the same order as Pillow, so the doubles agree to the last bit.
    @inline(__always)
    func weight(_ t: Double) -> Double {
      let x = t < 0.0 ? -t : t
      switch self {
      case .bilinear:
        return x < 1.0 ? 1.0 - x : 0.0
      case .bicubic:
        let a = -0.5
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
      }
    }
  }

  static let precisionBits: Int32 = 22

  struct Coefficients {
    var ksize: Int
    var bounds: [Int]     // [outSize][2]: xmin, count
    var weights: [Int32]  // [outSize][ksize]
  }

  /// Resample.c precompute_coeffs + normalize_coeffs_8bpc, for the whole-image box (0, 0, inSize).
  static func coefficients(inSize: Int, outSize: Int, kernel: Kernel) -> Coefficients {
    // Pillow's box is float: scale = (double)(in1 - in0) / outSize with in1 = (float)inSize.
    let scale = Double(Float(inSize)) / Double(outSize)
    let filterScale = scale < 1.0 ? 1.0 : scale
    let support = kernel.support * filterScale
    let ksize = Int(support.rounded(.up)) * 2 + 1
    let inverseFilterScale = 1.0 / filterScale  // Pillow multiplies by the inverse; dividing would differ in the last bit
    var bounds = [Int](repeating: 0, count: outSize * 2)
    var weights = [Int32](repeating: 0, count: outSize * ksize)
    var taps = [Double](repeating: 0, count: ksize)
    for xx in 0..<outSize {
      let center = (Double(xx) + 0.5) * scale
      var total = 0.0
      var xmin = Int(center - support + 0.5)  // C's (int) cast truncates toward zero; Int(_: Double) does too
      if xmin < 0 { xmin = 0 }
      var xmax = Int(center + support + 0.5)
      if xmax > inSize { xmax = inSize }
      xmax -= xmin
      for x in 0..<xmax {
        let w = kernel.weight((Double(x + xmin) - center + 0.5) * inverseFilterScale)
        taps[x] = w
        total += w
      }
      for x in 0..<xmax {
        let k = total != 0.0 ? taps[x] / total : taps[x]
        let fixed = k * Double(1 << precisionBits)
        weights[xx * ksize + x] = Int32(k < 0 ? -0.5 + fixed : 0.5 + fixed)
      }
      bounds[xx * 2] = xmin
      bounds[xx * 2 + 1] = xmax
    }
    return Coefficients(ksize: ksize, bounds: bounds, weights: weights)
  }

  /// Resample.c clip8: drop the fixed-point fraction, clamp to 0...255.
  @inline(__always)
  static func clip8(_ value: Int32) -> UInt8 {
    let v = value >> precisionBits
    return v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(truncatingIfNeeded: v))
  }

  // MARK: - ImagingResampleInner

  static func resample(_ image: PixelImage, width outWidth: Int, height outHeight: Int, filter: Kernel) -> PixelImage {
    let inWidth = image.width, inHeight = image.height, channels = image.channels
    let needHorizontal = outWidth != inWidth
    let needVertical = outHeight != inHeight
    // Pillow 13: if the height shrinks by more than twice as many pixels as the width, the vertical pass goes first.
    let horizontalFirst = !((inHeight - outHeight) > 0 && (inHeight - outHeight) > (inWidth - outWidth) * 2)

    var vertical: Coefficients? = nil
    if (needHorizontal && horizontalFirst) || needVertical {
      vertical = coefficients(inSize: inHeight, outSize: outHeight, kernel: filter)
    }
    var firstRow = 0, lastRow = inHeight
    if needHorizontal && horizontalFirst, var v = vertical {
      // Only the input rows the vertical pass will read need a horizontal pass.
      firstRow = v.bounds[0]
      lastRow = v.bounds[outHeight * 2 - 2] + v.bounds[outHeight * 2 - 1]
      if firstRow != 0 {
        for i in 0..<outHeight { v.bounds[i * 2] -= firstRow }
      }
      vertical = v
    }
    let horizontal = needHorizontal ? coefficients(inSize: inWidth, outSize: outWidth, kernel: filter) : nil

    var current = image
    if horizontalFirst {
      if let horizontal {
        current = horizontalPass(current, rowOffset: firstRow, rows: lastRow - firstRow, outWidth: outWidth,
                                 coefficients: horizontal)
      }
      if needVertical, let vertical {
        current = verticalPass(current, outHeight: outHeight, coefficients: vertical)
      }
    } else {
      if let vertical { current = verticalPass(current, outHeight: outHeight, coefficients: vertical) }
      if let horizontal {
        current = horizontalPass(current, rowOffset: 0, rows: outHeight, outWidth: outWidth, coefficients: horizontal)
      }
    }
    precondition(current.width == outWidth && current.height == outHeight && current.channels == channels)
    return current
  }

  /// [rows][inWidth][C] (starting at input row `rowOffset`) -> [rows][outWidth][C].
  static func horizontalPass(_ image: PixelImage, rowOffset: Int, rows: Int, outWidth: Int,
                             coefficients: Coefficients) -> PixelImage {
    let channels = image.channels, inStride = image.width * channels, outStride = outWidth * channels
    let ksize = coefficients.ksize
    let half: Int32 = 1 << (precisionBits - 1)
    let pixels = [UInt8](unsafeUninitializedCapacity: rows * outStride) { out, initialized in
      image.pixels.withUnsafeBufferPointer { source in
        coefficients.bounds.withUnsafeBufferPointer { bounds in
          coefficients.weights.withUnsafeBufferPointer { weights in
            let src = source.baseAddress!, dst = out.baseAddress!, kk = weights.baseAddress!
            for yy in 0..<rows {
              let inRow = src + (yy &+ rowOffset) &* inStride
              let outRow = dst + yy &* outStride
              for xx in 0..<outWidth {
                let xmin = bounds[xx &* 2], count = bounds[xx &* 2 &+ 1]
                let k = kk + xx &* ksize
                if channels == 3 {
                  var s0 = half, s1 = half, s2 = half
                  var p = inRow + xmin &* 3
                  for x in 0..<count {
                    let w = k[x]
                    s0 &+= Int32(p[0]) &* w
                    s1 &+= Int32(p[1]) &* w
                    s2 &+= Int32(p[2]) &* w
                    p += 3
                  }
                  outRow[xx &* 3] = clip8(s0)
                  outRow[xx &* 3 &+ 1] = clip8(s1)
                  outRow[xx &* 3 &+ 2] = clip8(s2)
                } else {
                  for c in 0..<channels {
                    var s = half
                    let p = inRow + (xmin &* channels &+ c)
                    for x in 0..<count { s &+= Int32(p[x &* channels]) &* k[x] }
                    outRow[xx &* channels &+ c] = clip8(s)
                  }
                }
              }
            }
          }
        }
      }
      initialized = rows * outStride
    }
    return PixelImage(width: outWidth, height: rows, channels: channels, pixels: pixels)
  }

  /// [inRows][width][C] -> [outHeight][width][C]. Each output row is a weighted sum of whole input rows, accumulated
  /// in an Int32 row (exact integer arithmetic, so identical to Pillow's per-pixel loop but contiguous in memory).
  static func verticalPass(_ image: PixelImage, outHeight: Int, coefficients: Coefficients) -> PixelImage {
    let stride = image.width * image.channels
    let ksize = coefficients.ksize
    let half: Int32 = 1 << (precisionBits - 1)
    var accumulator = [Int32](repeating: 0, count: stride)
    let pixels = [UInt8](unsafeUninitializedCapacity: outHeight * stride) { out, initialized in
      image.pixels.withUnsafeBufferPointer { source in
        coefficients.bounds.withUnsafeBufferPointer { bounds in
          coefficients.weights.withUnsafeBufferPointer { weights in
            accumulator.withUnsafeMutableBufferPointer { acc in
              let src = source.baseAddress!, dst = out.baseAddress!, kk = weights.baseAddress!, sum = acc.baseAddress!
              for yy in 0..<outHeight {
                let ymin = bounds[yy &* 2], count = bounds[yy &* 2 &+ 1]
                let k = kk + yy &* ksize
                for i in 0..<stride { sum[i] = half }
                for y in 0..<count {
                  let w = k[y]
                  let row = src + (y &+ ymin) &* stride
                  for i in 0..<stride { sum[i] &+= Int32(row[i]) &* w }
                }
                let outRow = dst + yy &* stride
                for i in 0..<stride { outRow[i] = clip8(sum[i]) }
              }
            }
          }
        }
      }
      initialized = outHeight * stride
    }
    return PixelImage(width: image.width, height: outHeight, channels: image.channels, pixels: pixels)
  }

  // MARK: - Nearest (Geometry.c ImagingScaleAffine)

  /// Pillow maps output pixel centres back with a[0] = in/out and accumulates the position in double
  /// (xo += a[0]), flooring with COORD(); the accumulation, not an exact product, decides ties, so we repeat it.
  static func nearest(_ image: PixelImage, width outWidth: Int, height outHeight: Int) -> PixelImage {
    let channels = image.channels, inWidth = image.width, inHeight = image.height
    let a0 = Double(Float(inWidth)) / Double(outWidth)
    let a4 = Double(Float(inHeight)) / Double(outHeight)
    @inline(__always) func coord(_ v: Double) -> Int { v < 0.0 ? -1 : Int(v) }

    var columns = [Int](repeating: 0, count: outWidth)
    var firstColumn = outWidth, endColumn = 0
    var xo = a0 * 0.5
    for x in 0..<outWidth {
      let xin = coord(xo)
      if xin >= 0 && xin < inWidth {
        endColumn = x + 1
        if x < firstColumn { firstColumn = x }
        columns[x] = xin
      }
      xo += a0
    }
    let outStride = outWidth * channels, inStride = inWidth * channels
    var pixels = [UInt8](repeating: 0, count: outHeight * outStride)  // zero fill, as Pillow's fill=1
    pixels.withUnsafeMutableBufferPointer { out in
      image.pixels.withUnsafeBufferPointer { source in
        columns.withUnsafeBufferPointer { table in
          var yo = a4 * 0.5
          for y in 0..<outHeight {
            let yi = coord(yo)
            if yi >= 0 && yi < inHeight {
              let inRow = source.baseAddress! + yi &* inStride
              let outRow = out.baseAddress! + y &* outStride
              for x in firstColumn..<max(firstColumn, endColumn) {
                let from = inRow + table[x] &* channels, to = outRow + x &* channels
                for c in 0..<channels { to[c] = from[c] }
              }
            }
            yo += a4
          }
        }
      }
    }
    return PixelImage(width: outWidth, height: outHeight, channels: channels, pixels: pixels)
  }
}
