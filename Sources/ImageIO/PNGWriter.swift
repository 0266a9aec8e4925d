// PNGWriter: PixelImage -> PNG bytes through libpng's simplified write API (CImageCodecs.cic_png_encode).
//
// Shape legend:
//   image.pixels [height][width][channels] UInt8, channels 1 (written as 8-bit grey) or 3 (8-bit RGB)
//   result       [byteCount]               a complete PNG file (libpng also writes an sRGB chunk, which readers may ignore)

import CImageCodecs
import Pixels

public enum PNGWriter {
  /// Encodes an 8-bit grey (1 channel) or RGB (3 channels) image as PNG.
  public static func encode(_ image: PixelImage) throws(ImageError) -> [UInt8] {
    guard image.channels == 1 || image.channels == 3 else {
      throw .encodeFailed(detail: "\(image.channels) channels; only 1 (grey) or 3 (RGB) can be written")
    }
    guard image.width >= 1, image.height >= 1 else {
      throw .encodeFailed(detail: "image is \(image.width)x\(image.height) pixels; PNG needs at least 1x1")
    }
    guard image.width <= Int(Int32.max), image.height <= Int(Int32.max) else {
      throw .encodeFailed(detail: "image is \(image.width)x\(image.height) pixels; too large for PNG")
    }
    var message = [CChar](repeating: 0, count: 256)
    var output: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    let status = image.pixels.withUnsafeBufferPointer { pixels in
      message.withUnsafeMutableBufferPointer { text in
        cic_png_encode(pixels.baseAddress, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                       &output, &size, text.baseAddress, text.count)
      }
    }
    guard status == Int32(CIC_OK), let output else {
      let detail = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw .encodeFailed(detail: detail.isEmpty ? "libpng status \(status)" : "libpng: \(detail)")
    }
    defer { cic_free(output) }
    return Array(UnsafeBufferPointer(start: output, count: size))
  }
}
