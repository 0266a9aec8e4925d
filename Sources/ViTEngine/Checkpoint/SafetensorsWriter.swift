// Writes F32 safetensors files the way the reference writer does: header padded with spaces to a multiple of 8,
// tensors laid out contiguously in the given order. Written to a temporary file and renamed, so a reader never sees
// a half-written checkpoint.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct SafetensorsWriter {
  public struct Entry {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var bytes: [UInt8]
    public init(name: String, dtype: DType = .F32, shape: [Int], bytes: [UInt8]) {
      self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
    }
    public init(name: String, shape: [Int], floats: [Float]) {
      precondition(floats.count == shape.reduce(1, *), "\(name): \(floats.count) values for shape \(shape)")
      self.init(name: name, dtype: .F32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }
  }

  public var entries: [Entry] = []
  public var metadata: [String: String] = [:]
  public init() {}

  public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
    entries.append(Entry(name: name, shape: shape, floats: floats))
  }

  /// The whole file as bytes.
  public func encode() -> [UInt8] {
    var members: [(String, JSONValue)] = []
    if !metadata.isEmpty {
      members.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
    }
    var offset = 0
    for e in entries {
      members.append((e.name, .object([
        ("dtype", .string(e.dtype.rawValue)), ("shape", JSONValue(e.shape)),
        ("data_offsets", JSONValue([offset, offset + e.bytes.count])),
      ])))
      offset += e.bytes.count
    }
    var header = Array(JSONValue.object(members).serialized(pretty: false).utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    var out: [UInt8] = []
    out.reserveCapacity(8 + header.count + offset)
    var n = UInt64(header.count)
    for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
    out += header
    for e in entries { out += e.bytes }
    return out
  }

  /// Writes atomically: a temporary file beside `path`, then rename.
  public func write(to path: String) throws(FileWriteError) {
    try AtomicFile.write(encode(), to: path)
  }
}

/// Why a file could not be written; the description is the reason alone ("No such file or directory"), since every
/// caller's message already names the file ("cannot write out.png: ...").
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
  public let path: String
  public let reason: String
  public var description: String { reason }
}

public enum AtomicFile {
  /// Writes `bytes` to `path.tmp-PID`, flushes, then renames over `path`: an existing file is never left half-written.
  public static func write(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
    let temp = "\(path).tmp-\(getpid())"
    guard let f = fopen(temp, "wb") else { throw FileWriteError(path: path, reason: String(cString: strerror(errno))) }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
    fclose(f)
    guard written == bytes.count, flushed, rename(temp, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temp)
      throw FileWriteError(path: path, reason: "write failed: \(reason)")
    }
  }
}
