// ImageLoader: file bytes -> PixelImage with the pixels Pillow would give, via libpng / libjpeg (CImageCodecs).
//
// Shape legend:
//   data      [byteCount]                         the whole encoded file in memory
//   raw       [height][width][codecChannels]      what the C shim wrote: 1 (grey / palette index), 3 (RGB), 4 (CMYK)
//   result    [height][width][1 or 3]             PixelImage.pixels: grey files stay 1-channel, colour files are RGB
//
// What "the pixels Pillow would give" means, per kind (Pillow 13, `Image.open(p).convert("L" or "RGB")`):
//   PNG grey 1/2/4/8-bit      L; sub-byte samples scaled by 255, 85, 17 (Pillow's "1", "L;2", "L;4" unpackers)
//   PNG grey+alpha            L; alpha dropped (Pillow's la2l)
//   PNG RGB, RGBA             RGB; alpha dropped, not composited (Pillow's rgba2rgb)
//   PNG palette (+tRNS)       RGB by palette lookup; transparency ignored; indices past the palette are black
//   PNG 16-bit                the high byte of each sample (Pillow's RGB;16B / RGBA;16B / LA;16B unpackers).
//                             DEVIATION for 16-bit *grey without alpha*: Pillow opens it as "I;16", and its I;16 -> L
//                             conversion clips (min(v, 255)), which turns nearly every real image white. We keep the
//                             high byte there too, so all 16-bit PNGs behave alike. Such files are rare as model inputs.
//   PNG gAMA/iCCP/sRGB        ignored (Pillow ignores them too); interlaced (Adam7) files decode normally
//   JPEG grey                 L; JPEG YCbCr / RGB: RGB via libjpeg's ISLOW DCT and fancy upsampling, as Pillow
//   JPEG CMYK / YCCK          RGB via Pillow's rule: always treated as Adobe-inverted CMYK, then cmyk2rgb
//                             (R = k - k * (255 - c) / 255 with Pillow's rounding), so colours match Pillow
//
// Validation order, so that no size the file claims is trusted: format by magic bytes -> header parsed by the codec ->
// width/height in 1...maxDimension -> overflow-checked byte count -> allocate -> decode (which re-checks the header).

import CImageCodecs
import Pixels

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum ImageLoader {
  /// The largest width or height accepted, checked against the header before anything is allocated.
  public static let maxDimension = 16384
  /// Files larger than this are refused before being read (a 16384x16384 16-bit RGBA PNG stored uncompressed fits).
  public static let maxFileBytes = 1 << 31

  static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
  static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

  /// Reads and decodes a PNG or JPEG file, recognised by its first bytes (the extension is ignored).
  /// Grey files give 1-channel images, colour files 3-channel RGB; see the file comment for the exact rules.
  public static func load(path: String) throws(ImageError) -> PixelImage {
    let data = try readFile(path: path)
    return try decode(data: data, name: path)
  }

  /// `load(path:)` for bytes already in memory (fuzzing, tests); `name` stands for the file in error messages.
  public static func decode(data: [UInt8], name: String) throws(ImageError) -> PixelImage {
    if data.isEmpty { throw .emptyFile(name: name) }
    if data.starts(with: pngSignature) { return try decodePNG(data, name: name) }
    if data.starts(with: jpegSignature) { return try decodeJPEG(data, name: name) }
    // A file cut inside the signature is a truncated image, not an unknown format.
    if data.count < pngSignature.count && pngSignature.starts(with: data) {
      throw .truncated(name: name, format: "PNG", detail: "the data ends after \(data.count) bytes, inside the signature")
    }
    if data.count < jpegSignature.count && jpegSignature.starts(with: data) {
      throw .truncated(name: name, format: "JPEG", detail: "the data ends after \(data.count) bytes, inside the signature")
    }
    throw .unknownFormat(name: name, firstBytes: Array(data.prefix(4)))
  }

  // MARK: - Files

  static func readFile(path: String) throws(ImageError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      let code = errno
      if code == ENOENT || code == ENOTDIR || path.isEmpty { throw .noSuchFile(name: path) }
      throw .cannotOpen(name: path, reason: errorText(code))
    }
    defer { close(fd) }
    var status = stat()
    guard fstat(fd, &status) == 0 else { throw .cannotOpen(name: path, reason: errorText(errno)) }
    let kind = status.st_mode & S_IFMT
    if kind == S_IFDIR { throw .cannotOpen(name: path, reason: "it is a directory") }

    if kind == S_IFREG {
      let size = Int(status.st_size)
      if size > maxFileBytes { throw .fileTooLarge(name: path, bytes: size, limit: maxFileBytes) }
      var failure: Int32 = 0
      // Capacity at least 1: for 0 the stdlib would write into its shared empty-array storage (a race under TSan).
      let bytes = [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, initialized in
        initialized = 0
        guard let base = buffer.baseAddress else { return }
        while initialized < size {
          let got = read(fd, base + initialized, size - initialized)
          if got < 0 {
            if errno == EINTR { continue }
            failure = errno
            break
          }
          if got == 0 { break }  // the file shrank while we read it; decode what is there
          initialized += got
        }
      }
      if failure != 0 { throw .readFailed(name: path, reason: errorText(failure)) }
      return bytes
    }

    // Pipes and character devices have no size up front: read in chunks up to the limit.
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if got < 0 {
        if errno == EINTR { continue }
        throw .readFailed(name: path, reason: errorText(errno))
      }
      if got == 0 { break }
      bytes.append(contentsOf: chunk[0..<got])
      if bytes.count > maxFileBytes { throw .fileTooLarge(name: path, bytes: bytes.count, limit: maxFileBytes) }
    }
    return bytes
  }

  static func errorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
  }

  // MARK: - Shared checks

  /// Pixels a file may claim per byte of it. No valid PNG or JPEG gets near: deflate expands at most about 1032x
  /// (8 one-bit pixels per byte: 8256 pixels per byte), and a JPEG needs at least one bit per 8x8 block (512). A
  /// 1 KB progressive JPEG that claims 16384x16384 (805 MB to decode) is refused before the decoder allocates.
  public static let maxPixelsPerFileByte = 16384
  /// Claims up to this many pixels are accepted from any file size.
  public static let pixelsAlwaysAllowed = 1 << 24

  static func checkDimensions(width: Int, height: Int, format: String, name: String, fileBytes: Int) throws(ImageError) {
    if width <= 0 || height <= 0 { throw .zeroSize(name: name, format: format, width: width, height: height) }
    if width > maxDimension || height > maxDimension {
      throw .tooLarge(name: name, width: width, height: height, limit: maxDimension)
    }
    if width * height > max(pixelsAlwaysAllowed, maxPixelsPerFileByte * fileBytes) {
      throw .implausibleSize(name: name, format: format, width: width, height: height, fileBytes: fileBytes)
    }
  }

  /// width * height * channels, refusing overflow even though maxDimension keeps it far from Int.max.
  static func byteCount(width: Int, height: Int, channels: Int, name: String) throws(ImageError) -> Int {
    let (pixels, overflow1) = width.multipliedReportingOverflow(by: height)
    let (bytes, overflow2) = pixels.multipliedReportingOverflow(by: channels)
    if overflow1 || overflow2 || channels <= 0 {
      throw .tooLarge(name: name, width: width, height: height, limit: maxDimension)
    }
    return bytes
  }

  static func codecError(_ status: Int32, message: [CChar], format: String, name: String) -> ImageError {
    let detail = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let text = detail.isEmpty ? "no detail from the decoder" : detail
    let library = format == "PNG" ? "libpng" : "libjpeg"
    switch Int(status) {
    case Int(CIC_TRUNCATED): return .truncated(name: name, format: format, detail: "\(library): \(text)")
    case Int(CIC_UNSUPPORTED): return .unsupported(name: name, format: format, detail: text)
    case Int(CIC_NO_MEMORY): return .outOfMemory(name: name, format: format)
    default: return .corrupt(name: name, format: format, detail: "\(library): \(text)")
    }
  }

  static func bigEndian32(_ data: [UInt8], at offset: Int) -> Int {
    Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
  }

  // MARK: - PNG

  static func decodePNG(_ data: [UInt8], name: String) throws(ImageError) -> PixelImage {
    // Read the IHDR size straight from the bytes first, so that an absurd header gets our message (and not
    // libpng's) before libpng sees it. libpng re-validates the whole header, CRC included, just below.
    if data.count >= 24 && data[12] == 0x49 && data[13] == 0x48 && data[14] == 0x44 && data[15] == 0x52 {
      try checkDimensions(width: bigEndian32(data, at: 16), height: bigEndian32(data, at: 20), format: "PNG", name: name,
                          fileBytes: data.count)
    }
    var message = [CChar](repeating: 0, count: 256)
    var header = cic_png_info()
    var status = data.withUnsafeBufferPointer { bytes in
      message.withUnsafeMutableBufferPointer { text in
        cic_png_decode(bytes.baseAddress, bytes.count, UInt32(maxDimension), &header, nil, 0, text.baseAddress, text.count)
      }
    }
    if status != Int32(CIC_OK) { throw codecError(status, message: message, format: "PNG", name: name) }
    let width = Int(header.width), height = Int(header.height)
    try checkDimensions(width: width, height: height, format: "PNG", name: name, fileBytes: data.count)
    let channels = Int(header.out_channels)
    let count = try byteCount(width: width, height: height, channels: channels, name: name)

    var info = cic_png_info()
    let raw = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      status = data.withUnsafeBufferPointer { bytes in
        message.withUnsafeMutableBufferPointer { text in
          cic_png_decode(bytes.baseAddress, bytes.count, UInt32(maxDimension), &info, buffer.baseAddress, count,
                         text.baseAddress, text.count)
        }
      }
      initialized = status == Int32(CIC_OK) ? count : 0
    }
    if status != Int32(CIC_OK) { throw codecError(status, message: message, format: "PNG", name: name) }
    if info.width != header.width || info.height != header.height || info.out_channels != header.out_channels {
      throw .corrupt(name: name, format: "PNG", detail: "the header changed between two reads")
    }

    switch info.color_type {
    case 3:  // palette
      let paletteCount = Int(info.palette_count)
      let palette = withUnsafeBytes(of: &info.palette) { Array($0) }
      return PixelImage(width: width, height: height, channels: 3,
                        pixels: expandPalette(raw, palette: palette, paletteCount: paletteCount))
    case 0 where info.bit_depth < 8:  // sub-byte grey (grey+alpha is always 8 or 16 bits): 0...(2^bits - 1) -> 0...255
      let scale = UInt8(255 / ((1 << Int(info.bit_depth)) - 1))
      var pixels = raw
      pixels.withUnsafeMutableBufferPointer { buffer in
        for i in 0..<buffer.count { buffer[i] = buffer[i] &* scale }
      }
      return PixelImage(width: width, height: height, channels: 1, pixels: pixels)
    default:
      return PixelImage(width: width, height: height, channels: channels, pixels: raw)
    }
  }

  /// indices [h][w] -> RGB [h][w][3]. Out-of-range indices give black, as in Pillow (its palette is zero-padded).
  static func expandPalette(_ indices: [UInt8], palette: [UInt8], paletteCount: Int) -> [UInt8] {
    var table = [UInt8](repeating: 0, count: 256 * 3)
    for i in 0..<(min(paletteCount, 256) * 3) { table[i] = palette[i] }
    return [UInt8](unsafeUninitializedCapacity: indices.count * 3) { out, initialized in
      indices.withUnsafeBufferPointer { source in
        table.withUnsafeBufferPointer { lookup in
          for i in 0..<source.count {
            let entry = Int(source[i]) &* 3
            out[i &* 3] = lookup[entry]
            out[i &* 3 &+ 1] = lookup[entry &+ 1]
            out[i &* 3 &+ 2] = lookup[entry &+ 2]
          }
        }
      }
      initialized = indices.count * 3
    }
  }

  // MARK: - JPEG

  static func decodeJPEG(_ data: [UInt8], name: String) throws(ImageError) -> PixelImage {
    var message = [CChar](repeating: 0, count: 256)
    var header = cic_jpeg_info()
    var status = data.withUnsafeBufferPointer { bytes in
      message.withUnsafeMutableBufferPointer { text in
        cic_jpeg_decode(bytes.baseAddress, bytes.count, &header, nil, 0, text.baseAddress, text.count)
      }
    }
    if status != Int32(CIC_OK) { throw codecError(status, message: message, format: "JPEG", name: name) }
    let width = Int(header.width), height = Int(header.height)
    try checkDimensions(width: width, height: height, format: "JPEG", name: name, fileBytes: data.count)
    let channels = Int(header.out_channels)
    let count = try byteCount(width: width, height: height, channels: channels, name: name)

    var info = cic_jpeg_info()
    let raw = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      status = data.withUnsafeBufferPointer { bytes in
        message.withUnsafeMutableBufferPointer { text in
          cic_jpeg_decode(bytes.baseAddress, bytes.count, &info, buffer.baseAddress, count, text.baseAddress, text.count)
        }
      }
      initialized = status == Int32(CIC_OK) ? count : 0
    }
    if status != Int32(CIC_OK) { throw codecError(status, message: message, format: "JPEG", name: name) }
    if channels == 4 {
      return PixelImage(width: width, height: height, channels: 3, pixels: invertedCMYKToRGB(raw))
    }
    return PixelImage(width: width, height: height, channels: channels, pixels: raw)
  }

  /// CMYK [h][w][4] as libjpeg outputs it -> RGB [h][w][3], exactly as Pillow: its JPEG plugin always reads CMYK with the
  /// "CMYK;I" (inverted, Adobe) raw mode, then convert("RGB") runs cmyk2rgb: nk = 255 - K, out = nk - MULDIV255(C, nk),
  /// where MULDIV255(a, b) = ((a*b + 128) >> 8 + a*b + 128) >> 8.
  static func invertedCMYKToRGB(_ raw: [UInt8]) -> [UInt8] {
    let pixelCount = raw.count / 4
    return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
      raw.withUnsafeBufferPointer { source in
        for i in 0..<pixelCount {
          let nk = Int32(source[i &* 4 &+ 3])  // 255 - (255 - raw K)
          for c in 0..<3 {
            let ink = 255 &- Int32(source[i &* 4 &+ c])  // Pillow's C, M or Y after the ;I inversion
            let product = ink &* nk &+ 128
            let value = nk &- (((product >> 8) &+ product) >> 8)
            out[i &* 3 &+ c] = UInt8(clamping: value)
          }
        }
      }
      initialized = pixelCount * 3
    }
  }
}
