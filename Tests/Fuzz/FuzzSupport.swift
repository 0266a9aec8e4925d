// Helpers shared by the fuzz targets (compiled into each target binary by run.sh; not part of any SwiftPM target).
// The C library only, no Foundation: files and folders in a private temporary directory, removed at exit.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory for this process (/tmp/tokenscope-fuzz-XXXXXX), removed at exit.
let fuzzScratch: String = {
  let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
  var template = Array("\(tmp)/tokenscope-fuzz-XXXXXX".utf8CString)
  let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
  scratchToRemove = dir
  atexit { if let dir = scratchToRemove { removeTree(dir) } }
  return dir
}()
nonisolated(unsafe) private var scratchToRemove: String?

/// Writes `bytes` to `path`, replacing it. Traps if the write fails (the harness, not the code under test, is broken).
func writeFile(_ path: String, _ bytes: some Collection<UInt8>) {
  let array = Array(bytes)
  guard let f = fopen(path, "wb") else { fatalError("fuzz harness: cannot write \(path)") }
  let written = array.withUnsafeBytes { fwrite($0.baseAddress, 1, array.count, f) }
  fclose(f)
  precondition(written == array.count, "fuzz harness: short write to \(path)")
}

/// writeFile for paths the input chose: false (nothing written) when the path cannot be a file, e.g. it is a folder.
@discardableResult
func tryWriteFile(_ path: String, _ bytes: some Collection<UInt8>) -> Bool {
  let array = Array(bytes)
  guard let f = fopen(path, "wb") else { return false }
  let written = array.withUnsafeBytes { fwrite($0.baseAddress, 1, array.count, f) }
  fclose(f)
  return written == array.count
}

func makeDirectory(_ path: String) { mkdir(path, 0o755) }

/// rm -rf without following symlinks.
func removeTree(_ path: String) {
  var st = stat()
  guard lstat(path, &st) == 0 else { return }
  if (st.st_mode & S_IFMT) == S_IFDIR {
    if let dir = opendir(path) {
      var names: [String] = []
      while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
          $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
      }
      closedir(dir)
      for name in names { removeTree("\(path)/\(name)") }
    }
    rmdir(path)
  } else {
    unlink(path)
  }
}

/// The fuzz input as an array.
func inputBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
  Array(UnsafeBufferPointer(start: data, count: size))
}

/// Splits `bytes` on every occurrence of `separator` (which is not part of any piece).
func split(_ bytes: ArraySlice<UInt8>, on separator: [UInt8]) -> [ArraySlice<UInt8>] {
  var pieces: [ArraySlice<UInt8>] = []
  var start = bytes.startIndex, i = bytes.startIndex
  while i + separator.count <= bytes.endIndex {
    if bytes[i..<(i + separator.count)].elementsEqual(separator) {
      pieces.append(bytes[start..<i])
      i += separator.count
      start = i
    } else {
      i += 1
    }
  }
  pieces.append(bytes[start...])
  return pieces
}

/// FUZZ_VERBOSE=1 makes the targets print what each input did (for triage: `FUZZ_VERBOSE=1 fuzz-x file`).
let fuzzVerbose = getenv("FUZZ_VERBOSE") != nil

func note(_ text: @autoclosure () -> String) {
  guard fuzzVerbose else { return }
  let line = Array((text() + "\n").utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// An invariant of the code under test failed on an input it accepted: report it as a crash so libFuzzer saves it.
func finding(_ message: String) -> Never {
  let line = Array("FUZZ FINDING: \(message)\n".utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  abort()
}
