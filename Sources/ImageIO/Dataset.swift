// Labelled image datasets for `eval`: the IDX format of MNIST / Fashion-MNIST (gzipped or not) and the ImageFolder
// layout (one subfolder per class of PNG/JPEG files, classes in sorted order as torchvision assigns them).
// Sizes read from IDX headers are checked against the real file size before anything is allocated.
import CImageCodecs
import Pixels

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct DatasetError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public let isMissing: Bool
  public init(_ message: String, missing: Bool = false) { self.message = message; self.isMissing = missing }
  public var description: String { message }
}

/// A dataset: a list of samples, each loaded on demand (ImageFolder) or sliced from memory (IDX).
public struct Dataset: Sendable {
  public enum Source: Sendable {
    /// count x rows x cols grey pixels.
    case idx(pixels: [UInt8], rows: Int, cols: Int)
    case files(paths: [String])
  }
  public let name: String
  public let source: Source
  public let labels: [Int]
  /// Class names when the layout gives them (ImageFolder), else nil.
  public let classNames: [String]?
  public var count: Int { labels.count }

  /// Image `i` (loads the file for ImageFolder datasets).
  public func image(_ i: Int) throws(ImageError) -> PixelImage {
    switch source {
    case let .idx(pixels, rows, cols):
      let n = rows * cols
      return PixelImage(width: cols, height: rows, channels: 1, pixels: Array(pixels[(i * n)..<((i + 1) * n)]))
    case let .files(paths):
      return try ImageLoader.load(path: paths[i])
    }
  }

  /// Opens `path`: a folder with IDX files (train-images-idx3-ubyte[.gz], t10k-..., or train/test prefixes), or an
  /// ImageFolder root (with train/ and test/ subfolders, or the class folders directly).
  public static func open(path: String, split: String) throws(DatasetError) -> Dataset {
    guard isDirectory(path) else { throw DatasetError("\(path): no such dataset folder", missing: true) }
    let idxPrefixes = split == "train" ? ["train"] : ["t10k", "test"]
    for prefix in idxPrefixes {
      for suffix in ["", ".gz"] {
        let images = "\(path)/\(prefix)-images-idx3-ubyte\(suffix)", labels = "\(path)/\(prefix)-labels-idx1-ubyte\(suffix)"
        if fileExists(images) && fileExists(labels) { return try openIDX(images: images, labels: labels, name: "\(path) (\(split))") }
      }
    }
    let root = isDirectory("\(path)/\(split)") ? "\(path)/\(split)" : path
    return try openImageFolder(root)
  }

  static func openIDX(images: String, labels: String, name: String) throws(DatasetError) -> Dataset {
    let imageBytes = try readMaybeGzip(images, limit: 1 << 31)
    let labelBytes = try readMaybeGzip(labels, limit: 1 << 28)
    func u32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
    guard imageBytes.count >= 16, u32(imageBytes, 0) == 0x0000_0803 else {
      throw DatasetError("\(images): not an IDX image file (expected magic 0x00000803 for unsigned-byte 3-D data)")
    }
    guard labelBytes.count >= 8, u32(labelBytes, 0) == 0x0000_0801 else {
      throw DatasetError("\(labels): not an IDX label file (expected magic 0x00000801)")
    }
    let n = u32(imageBytes, 4), rows = u32(imageBytes, 8), cols = u32(imageBytes, 12)
    guard rows > 0, cols > 0, rows <= ImageLoader.maxDimension, cols <= ImageLoader.maxDimension else {
      throw DatasetError("\(images): image size \(rows)x\(cols) is out of range")
    }
    let (total, overflow) = n.multipliedReportingOverflow(by: rows * cols)
    guard !overflow, total == imageBytes.count - 16 else {
      throw DatasetError("\(images): header claims \(n) images of \(rows)x\(cols) but holds \(imageBytes.count - 16) bytes of pixels")
    }
    let labelCount = u32(labelBytes, 4)
    guard labelCount == n, labelBytes.count - 8 == n else {
      throw DatasetError("\(labels): \(labelCount) labels (\(labelBytes.count - 8) bytes) for \(n) images")
    }
    return Dataset(name: name, source: .idx(pixels: Array(imageBytes[16...]), rows: rows, cols: cols),
                   labels: labelBytes[8...].map(Int.init), classNames: nil)
  }

  static func openImageFolder(_ root: String) throws(DatasetError) -> Dataset {
    let classes = listDirectory(root).filter { !$0.hasPrefix(".") && isDirectory("\(root)/\($0)") }.sorted()
    guard !classes.isEmpty else {
      throw DatasetError("\(root): neither IDX files nor class subfolders (ImageFolder layout) found")
    }
    var paths: [String] = [], labels: [Int] = []
    for (label, name) in classes.enumerated() {
      for file in listDirectory("\(root)/\(name)").sorted() {
        let lower = file.lowercased()
        guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else { continue }
        paths.append("\(root)/\(name)/\(file)")
        labels.append(label)
      }
    }
    guard !paths.isEmpty else { throw DatasetError("\(root): the class folders hold no PNG or JPEG files") }
    return Dataset(name: root, source: .files(paths: paths), labels: labels, classNames: classes)
  }

  static func readMaybeGzip(_ path: String, limit: Int) throws(DatasetError) -> [UInt8] {
    var out: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = cic_read_maybe_gzip(path, limit, &out, &size, &message, message.count)
    guard status == 0, let out else {
      let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw DatasetError("\(path): \(text)", missing: !fileExists(path))
    }
    defer { cic_free(out) }
    return Array(UnsafeBufferPointer(start: out, count: size))
  }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func isDirectory(_ path: String) -> Bool {
  var st = stat()
  return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func listDirectory(_ path: String) -> [String] {
  guard let dir = opendir(path) else { return [] }
  defer { closedir(dir) }
  var names: [String] = []
  while let entry = readdir(dir) {
    let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
    if name != "." && name != ".." { names.append(name) }
  }
  return names
}
