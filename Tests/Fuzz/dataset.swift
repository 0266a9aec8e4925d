// Fuzz target: Dataset.open on a folder made from the input, then every sample loaded (and preprocessed).
// The first byte picks the layout (byte % 4); the rest is cut into pieces at each "\n----\n":
//   0: IDX, split "train": piece 0 -> train-images-idx3-ubyte, piece 1 -> train-labels-idx1-ubyte
//   1: IDX, split "test":  piece 0 -> t10k-images-idx3-ubyte.gz, piece 1 -> t10k-labels-idx1-ubyte.gz
//      (the bytes are written as they are: gzip seeds exercise zlib, plain ones the pass-through; both names work)
//   2, 3: ImageFolder, split "train" (2) or "test" (3): each piece is "relative/path\ncontents"; the path is cut to at
//      most 3 components of [A-Za-z0-9._-] (a trailing "/" makes a folder only). At most 16 pieces.
// Findings: crashes, hangs, ASan reports, errors that are not one line, and datasets whose samples do not load.
import ImageIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

let separator = Array("\n----\n".utf8)

func sanitizedPath(_ raw: ArraySlice<UInt8>) -> (dirs: [String], file: String?) {
  let allowed = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8))
  var parts = split(raw, on: [UInt8(ascii: "/")]).map { String(decoding: $0.filter(allowed.contains).prefix(64), as: UTF8.self) }
  let isFolder = parts.last == ""
  parts = parts.filter { !$0.isEmpty && $0 != "." && $0 != ".." }
  parts = Array(parts.prefix(3))
  if isFolder || parts.isEmpty { return (parts, nil) }
  return (Array(parts.dropLast()), parts.last)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let bytes = inputBytes(data, size)
  let root = fuzzScratch + "/dataset"
  removeTree(root)
  makeDirectory(root)
  defer { removeTree(root) }
  let pieces = split(bytes[1...], on: separator)
  let mode = bytes[0] % 4
  let splitName: String
  switch mode {
  case 0, 1:
    let names = mode == 0 ? ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
                          : ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for (name, piece) in zip(names, pieces) { writeFile("\(root)/\(name)", piece) }
    splitName = mode == 0 ? "train" : "test"
  default:
    for piece in pieces.prefix(16) {
      let newline = piece.firstIndex(of: UInt8(ascii: "\n")) ?? piece.endIndex
      let (dirs, file) = sanitizedPath(piece[..<newline])
      var path = root
      for d in dirs { path += "/" + d; makeDirectory(path) }
      if let file { tryWriteFile(path + "/" + file, newline < piece.endIndex ? piece[(newline + 1)...] : []) }
    }
    splitName = mode == 2 ? "train" : "test"
  }
  let dataset: Dataset
  do {
    dataset = try Dataset.open(path: root, split: splitName)
  } catch {
    note("Dataset.open threw: \(error.description)")
    if error.description.contains(where: { $0 == "\n" || $0 == "\r" }) { finding("multi-line DatasetError: \(error.description.debugDescription)") }
    return 0
  }
  note("dataset \(dataset.name): \(dataset.count) samples, classes \(dataset.classNames ?? [])")
  if let classes = dataset.classNames {
    guard dataset.labels.allSatisfy({ (0..<classes.count).contains($0) }) else { finding("label outside \(classes.count) classes") }
  }
  for i in 0..<min(dataset.count, 32) {
    do {
      let image = try dataset.image(i)
      preprocess(image, pipelines[i % pipelines.count], name: "sample \(i)")
    } catch {
      // ImageFolder samples are files: their errors name the path.
      let text = error.description
      if text.contains(where: { $0 == "\n" || $0 == "\r" }) { finding("multi-line ImageError: \(text.debugDescription)") }
    }
  }
  return 0
}
