/// Every way loading, decoding, encoding or preprocessing an image can fail. Each `description` is one line that names
/// the file and says what was expected, so the CLI can print it as is.
public enum ImageError: Error, CustomStringConvertible, Equatable {
  /// The path does not exist.
  case noSuchFile(name: String)
  /// The path exists but cannot be read as a file (permissions, a directory, ...); `reason` is strerror's text.
  case cannotOpen(name: String, reason: String)
  /// A read failed part-way (an I/O error, not a format problem).
  case readFailed(name: String, reason: String)
  /// Zero bytes.
  case emptyFile(name: String)
  /// The first bytes are neither the PNG signature nor a JPEG SOI marker.
  case unknownFormat(name: String, firstBytes: [UInt8])
  /// The file is bigger than ImageLoader reads into memory.
  case fileTooLarge(name: String, bytes: Int, limit: Int)
  /// The header claims a zero width or height.
  case zeroSize(name: String, format: String, width: Int, height: Int)
  /// The header claims more than `ImageLoader.maxDimension` pixels on a side.
  case tooLarge(name: String, width: Int, height: Int, limit: Int)
  /// The header claims far more pixels than a file of this size can encode (see ImageLoader.maxPixelsPerFileByte).
  case implausibleSize(name: String, format: String, width: Int, height: Int, fileBytes: Int)
  /// The data ends before the image does; `detail` is the codec's account.
  case truncated(name: String, format: String, detail: String)
  /// The codec rejected the data (bad CRC, bad compressed stream, bad marker, ...).
  case corrupt(name: String, format: String, detail: String)
  /// Well-formed, but a kind this library does not decode (12-bit JPEG, 2-component JPEG, ...).
  case unsupported(name: String, format: String, detail: String)
  /// A codec could not allocate memory.
  case outOfMemory(name: String, format: String)
  /// `Preprocessing.none` was given an image that is not exactly the model's input size.
  case sizeMismatch(name: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
  /// The image cannot be preprocessed or encoded as asked (e.g. 2 channels, or mean/std of the wrong length).
  case invalidImage(name: String, detail: String)
  /// PNG encoding failed.
  case encodeFailed(detail: String)

  /// True only when the file is missing or cannot be opened (the CLI exits 66, EX_NOINPUT; everything else is 65).
  public var isMissingFile: Bool {
    switch self {
    case .noSuchFile, .cannotOpen: return true
    default: return false
    }
  }

  public var description: String {
    switch self {
    case let .noSuchFile(name):
      return "\(name): no such file"
    case let .cannotOpen(name, reason):
      return "\(name): cannot open (\(reason))"
    case let .readFailed(name, reason):
      return "\(name): read failed (\(reason))"
    case let .emptyFile(name):
      return "\(name): empty file (expected a PNG or JPEG image)"
    case let .unknownFormat(name, firstBytes):
      let hex = firstBytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
      }.joined(separator: " ")
      return "\(name): not a PNG or JPEG file (first bytes \(hex))"
    case let .fileTooLarge(name, bytes, limit):
      return "\(name): file is \(bytes) bytes; at most \(limit) bytes are read"
    case let .zeroSize(name, format, width, height):
      return "\(name): \(format) header says the image is \(width)x\(height) pixels; "
        + "expected a width and height of at least 1"
    case let .tooLarge(name, width, height, limit):
      return "\(name): image is \(width)x\(height) pixels; at most \(limit)x\(limit) is supported"
    case let .implausibleSize(name, format, width, height, fileBytes):
      return "\(name): \(format) header claims \(width)x\(height) pixels, but the file has only \(fileBytes) bytes "
        + "(no valid \(format) compresses that well); refusing to decode"
    case let .truncated(name, format, detail):
      return "\(name): truncated \(format) data (\(detail))"
    case let .corrupt(name, format, detail):
      return "\(name): corrupt \(format) data (\(detail))"
    case let .unsupported(name, format, detail):
      return "\(name): unsupported \(format) (\(detail))"
    case let .outOfMemory(name, format):
      return "\(name): out of memory while decoding \(format) data"
    case let .sizeMismatch(name, width, height, expectedWidth, expectedHeight):
      return "\(name): image is \(width)x\(height) pixels but preprocessing 'none' needs exactly "
        + "\(expectedWidth)x\(expectedHeight) (resize it first or choose another preprocessing mode)"
    case let .invalidImage(name, detail):
      return "\(name): \(detail)"
    case let .encodeFailed(detail):
      return "PNG encoding failed: \(detail)"
    }
  }
}
