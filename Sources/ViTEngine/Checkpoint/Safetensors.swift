// safetensors reader: 8-byte little-endian header length, a JSON header, then the byte buffer.
// ref: huggingface/safetensors safetensors/src/tensor.rs (`validate`), whose rules this mirrors:
//   header length <= 100 MB and within the file; header starts with '{'; no duplicate keys; every tensor's
//   byte size equals product(shape) * dtype size (checked for overflow); offsets lie inside the buffer; the tensors
//   cover the buffer exactly, without holes or overlaps.
// The file is memory-mapped; nothing is allocated from a size the file merely claims.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum DType: String, Sendable, CaseIterable {
  case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64
  public var byteSize: Int {
    switch self {
    case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
    case .I16, .U16, .F16, .BF16: return 2
    case .I32, .U32, .F32: return 4
    case .F64, .I64, .U64: return 8
    }
  }
  /// The dtypes the engine converts to Float32.
  public var isReadable: Bool { self == .F32 || self == .F16 || self == .BF16 }
}

/// Errors from reading a checkpoint. Every message is one line naming the file and, where it applies, the tensor.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case cannotOpen(path: String, reason: String)
  case malformed(path: String, reason: String)
  case unsupportedDType(path: String, tensor: String, dtype: String)
  case missingTensor(path: String, tensor: String, scheme: String)
  case badShape(path: String, tensor: String, expected: String, got: [Int])
  case inconsistent(path: String, reason: String)
  case unrecognized(path: String, reason: String)
  /// Tensors the engine would not read: the file holds a variant it does not run (listed in file order).
  case unusedTensors(path: String, names: [String])

  public var description: String {
    switch self {
    case let .cannotOpen(path, reason): return "\(path): cannot open checkpoint: \(reason)"
    case let .malformed(path, reason): return "\(path): not a valid safetensors file: \(reason)"
    case let .unsupportedDType(path, tensor, dtype):
      return "\(path): tensor '\(tensor)' has dtype \(dtype); tokenscope reads F32, F16 and BF16"
    case let .missingTensor(path, tensor, scheme): return "\(path): missing tensor '\(tensor)' (\(scheme) names)"
    case let .badShape(path, tensor, expected, got):
      return "\(path): tensor '\(tensor)' has shape \(got), expected \(expected)"
    case let .inconsistent(path, reason): return "\(path): \(reason)"
    case let .unrecognized(path, reason): return "\(path): \(reason)"
    case let .unusedTensors(path, names):
      let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
      return "\(path): \(names.count) tensor\(names.count == 1 ? "" : "s") this engine would not use (\(shown)); refusing to compute with part of the checkpoint ignored (tokenscope inspect lists every tensor)"
    }
  }

  /// sysexits: 66 when the file cannot be opened, 65 for bad data.
  public var exitCode: Int32 { if case .cannotOpen = self { return 66 } else { return 65 } }
}

/// One tensor's entry in the header.
public struct TensorInfo: Sendable, Equatable {
  public let name: String
  public let dtype: DType
  public let shape: [Int]
  /// Byte range relative to the start of the data buffer.
  public let begin: Int, end: Int
  public var elementCount: Int { shape.reduce(1, *) }
}

/// A read-only mapping of a whole file. Unmapped when the last reference goes away.
public final class MappedFile: @unchecked Sendable {
  public let path: String
  public let base: UnsafeRawPointer?
  public let size: Int

  public init(path: String) throws(CheckpointError) {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
    size = Int(st.st_size)
    if size == 0 { base = nil; return }
    let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let p, p != MAP_FAILED else { throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))") }
    base = UnsafeRawPointer(p)
  }

  deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) } }

  /// Unmaps the whole pages inside `range` from this process (they stay in the page cache; touching them again reads
  /// them back). Called once a tensor is copied out, so loading holds each weight once, not twice: a DeiT-B report
  /// peaked at 702 MiB resident with the whole file mapped beside its copy.
  func dropPages(_ range: Range<Int>) {
    guard let base else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
    guard end > start else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
  }

  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}

/// A parsed safetensors file: the tensor table, the metadata and the mapped bytes.
public struct SafetensorsFile: Sendable {
  public static let maxHeaderSize = 100_000_000

  public let path: String
  public let tensors: [String: TensorInfo]
  /// Tensor names in header order.
  public let names: [String]
  public let metadata: [String: String]
  let file: MappedFile
  let dataStart: Int

  public init(path: String) throws(CheckpointError) {
    let file = try MappedFile(path: path)
    try self.init(file: file)
  }

  public init(file: MappedFile) throws(CheckpointError) {
    let path = file.path
    func fail(_ reason: String) -> CheckpointError { .malformed(path: path, reason: reason) }
    let bytes = file.bytes
    if let other = OtherCheckpointFormat.detect(bytes, path: path) {
      throw .unrecognized(path: path, reason: other.explanation)
    }
    guard bytes.count >= 8 else { throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
    var headerLength: UInt64 = 0
    for i in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(bytes[i]) }
    guard headerLength <= UInt64(SafetensorsFile.maxHeaderSize) else {
      throw fail("header length \(headerLength) exceeds the 100 MB limit")
    }
    let n = Int(headerLength)
    guard n <= bytes.count - 8 else {
      throw fail("header length \(n) runs past the end of the file (\(bytes.count) bytes)")
    }
    guard n >= 2, bytes[8] == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
    let headerBytes = UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + 8, count: n)
    let header: JSONValue
    do { header = try JSONParser.parse(headerBytes) } catch { throw fail("header is not valid JSON (\(error))") }
    guard let members = header.objectValue else { throw fail("header is not a JSON object") }

    let bufferSize = bytes.count - 8 - n
    var tensors: [String: TensorInfo] = [:]
    var names: [String] = []
    var metadata: [String: String] = [:]
    for (name, entry) in members {
      if name == "__metadata__" {
        guard let pairs = entry.objectValue else { throw fail("__metadata__ is not an object of strings") }
        for (k, v) in pairs {
          guard let s = v.stringValue else { throw fail("__metadata__ value for '\(k)' is not a string") }
          metadata[k] = s
        }
        continue
      }
      guard entry.objectValue != nil else { throw fail("entry for tensor '\(name)' is not an object") }
      guard let dtypeName = entry["dtype"]?.stringValue else { throw fail("tensor '\(name)' has no dtype") }
      guard let dtype = DType(rawValue: dtypeName) else { throw fail("tensor '\(name)' has unknown dtype \(dtypeName)") }
      guard let shapeValues = entry["shape"]?.arrayValue else { throw fail("tensor '\(name)' has no shape") }
      var shape: [Int] = []
      var elements = 1
      for v in shapeValues {
        guard let d = v.intValue, d >= 0 else { throw fail("tensor '\(name)' has a shape entry that is not a non-negative integer") }
        shape.append(d)
        let (product, overflow) = elements.multipliedReportingOverflow(by: d)
        guard !overflow else { throw fail("tensor '\(name)' shape \(shape) overflows") }
        elements = product
      }
      let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
      guard !overflow else { throw fail("tensor '\(name)' shape \(shape) overflows") }
      guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
        let begin = offsets[0].intValue, let end = offsets[1].intValue
      else { throw fail("tensor '\(name)' has no valid data_offsets [begin, end]") }
      guard begin >= 0, end >= begin else { throw fail("tensor '\(name)' has offsets [\(begin), \(end)], begin must be <= end and >= 0") }
      guard end <= bufferSize else {
        throw fail("tensor '\(name)' has offsets [\(begin), \(end)] beyond the \(bufferSize)-byte data buffer")
      }
      guard end - begin == byteCount else {
        throw fail("tensor '\(name)' is \(dtypeName) \(shape) = \(byteCount) bytes, but its offsets span \(end - begin)")
      }
      tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
      names.append(name)
    }
    // Coverage: sorted by begin, each tensor starts where the previous ended and the last ends at the buffer's end.
    // Names break ties, so a file whose tensors share offsets gets the same message on every run (dictionary order
    // changes from process to process).
    var cursor = 0
    for info in tensors.values.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
      if info.begin < cursor { throw fail("tensor '\(info.name)' overlaps the previous tensor (offset \(info.begin) < \(cursor))") }
      if info.begin > cursor { throw fail("hole in the data buffer before tensor '\(info.name)' (bytes \(cursor)..<\(info.begin))") }
      cursor = info.end
    }
    guard cursor == bufferSize else {
      throw fail("tensors cover \(cursor) bytes but the data buffer holds \(bufferSize)")
    }
    self.path = path
    self.tensors = tensors
    self.names = names
    self.metadata = metadata
    self.file = file
    self.dataStart = 8 + n
  }

  /// The raw bytes of a tensor, inside the mapping (no copy).
  public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + info.begin)..<(dataStart + info.end)])
  }

  /// Calls `body` with a tensor's values as Float32: in place in the mapping when the tensor is F32 and 4-byte aligned
  /// (no copy: loading packs weights straight from the file), else through `floats(_:)`. The pages are dropped after.
  public func withFloats<R>(_ info: TensorInfo, _ body: (UnsafeBufferPointer<Float>) -> R) throws(CheckpointError) -> R {
    let raw = rawBytes(info)
    if info.dtype == .F32, info.elementCount > 0, let start = raw.baseAddress, Int(bitPattern: start) % 4 == 0 {
      defer { file.dropPages((dataStart + info.begin)..<(dataStart + info.end)) }
      return body(UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: info.elementCount))
    }
    let values = try floats(info)
    return values.withUnsafeBufferPointer(body)
  }

  /// Converts a tensor to Float32 (F32 copied with unaligned loads, F16 and BF16 widened).
  public func floats(_ name: String) throws(CheckpointError) -> [Float] {
    guard let info = tensors[name] else { throw .missingTensor(path: path, tensor: name, scheme: "safetensors") }
    return try floats(info)
  }

  public func floats(_ info: TensorInfo) throws(CheckpointError) -> [Float] {
    guard info.dtype.isReadable else { throw .unsupportedDType(path: path, tensor: info.name, dtype: info.dtype.rawValue) }
    let raw = rawBytes(info)
    let count = info.elementCount
    // Not through unsafeUninitializedCapacity when empty: for capacity 0 it writes the count into the stdlib's shared
    // empty-array storage, which ThreadSanitizer reports as a race between threads loading empty tensors.
    guard count > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: count) { out, initialized in
      switch info.dtype {
      case .F32:
        // Third-party files need not be aligned: copy bytes rather than rebinding.
        if count > 0 { memcpy(out.baseAddress!, raw.baseAddress!, count &* 4) }
      case .F16:
        #if arch(x86_64) || arch(arm64)
        for i in 0..<count { out[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) }
        #else
        fatalError("Float16 is unavailable on this architecture")
        #endif
      case .BF16:
        for i in 0..<count {
          let bits = UInt32(raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)) << 16
          out[i] = Float(bitPattern: bits)
        }
      default: break
      }
      initialized = count
      file.dropPages((dataStart + info.begin)..<(dataStart + info.end))
    }
  }
}

/// Files people pass as `--model` that are not safetensors, recognised by their first bytes, so the error says what the
/// file is and how to convert it instead of quoting a nonsensical header length.
enum OtherCheckpointFormat {
  case pytorchZip, pickle, gguf, onnx, text

  static func detect(_ bytes: UnsafeRawBufferPointer, path: String) -> OtherCheckpointFormat? {
    guard bytes.count >= 4 else { return nil }
    // A safetensors file has its JSON header's '{' right after the 8-byte length; its length bytes may look like
    // anything below.
    if bytes.count > 8 && bytes[8] == UInt8(ascii: "{") { return nil }
    let head = Array(bytes.prefix(64))
    if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .pytorchZip }  // "PK\3\4": torch.save's zip format
    if head[0] == 0x80 && (2...5).contains(head[1]) { return .pickle }      // pickle protocol 2-5: legacy torch.save
    if head.starts(with: Array("GGUF".utf8)) { return .gguf }
    // ONNX is a protobuf ModelProto; its first field is ir_version (field 1, varint: tag 0x08). A safetensors file
    // starts with its header length, whose low byte is 0x08 only for lengths that end in 8 mod 256, so the extension
    // must agree as well.
    if head[0] == 0x08 && path.lowercased().hasSuffix(".onnx") { return .onnx }
    // Text: the first bytes are printable ASCII or whitespace (a safetensors header length has NUL bytes in it).
    if head.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20...0x7E).contains($0) }) { return .text }
    return nil
  }

  private static let convert = "convert it in Python with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"

  var explanation: String {
    switch self {
    case .pytorchZip: return "a PyTorch checkpoint (torch.save zip), not safetensors; \(Self.convert)"
    case .pickle: return "a pickled PyTorch checkpoint (torch.save legacy format), not safetensors; \(Self.convert)"
    case .gguf: return "a GGUF (llama.cpp) file, not safetensors; tokenscope reads ViT checkpoints as safetensors"
    case .onnx: return "an ONNX model, not safetensors; tokenscope needs the weights: \(Self.convert) from the timm or transformers model"
    case .text: return "a text file, not a safetensors checkpoint (a config.json belongs beside the .safetensors file)"
    }
  }
}
