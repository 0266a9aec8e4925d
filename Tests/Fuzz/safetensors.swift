// Fuzz target: a whole safetensors file (header length, JSON header, tensor table, dtype/shape/offset validation),
// then every readable tensor converted to Float32, then ModelLoader (naming scheme detection, shapes, __metadata__
// configuration) and, for small models that load, a forward pass (ModelSupport.swift).
// Findings: crashes, hangs, ASan reports, non-one-line errors, and accepted files that break the invariants below.
import ViTEngine

let checkpointPath = fuzzScratch + "/model.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  writeFile(checkpointPath, UnsafeBufferPointer(start: data, count: size))
  let file: SafetensorsFile
  do {
    file = try SafetensorsFile(path: checkpointPath)
  } catch {
    checkOneLine(error, "SafetensorsFile")
    return 0
  }
  // Accepted: the table must describe the file exactly.
  var covered = 0
  for name in file.names {
    guard let info = file.tensors[name] else { finding("name \(name) without a table entry") }
    let (bytes, overflow) = info.elementCount.multipliedReportingOverflow(by: info.dtype.byteSize)
    guard !overflow, info.begin >= 0, info.end - info.begin == bytes else { finding("tensor \(name) has an inconsistent span") }
    covered += bytes
    guard file.rawBytes(info).count == bytes else { finding("rawBytes of \(name) is the wrong size") }
    if info.dtype.isReadable {
      do {
        let floats = try file.floats(info)
        guard floats.count == info.elementCount else { finding("floats(\(name)) gave \(floats.count) values") }
      } catch {
        finding("readable tensor \(name) failed to convert: \(error)")
      }
    }
  }
  guard file.names.count == file.tensors.count else { finding("\(file.names.count) names for \(file.tensors.count) tensors") }
  _ = covered
  do {
    checkLoadedModel(try ModelLoader.load(file: file))
  } catch {
    checkOneLine(error, "ModelLoader")
  }
  return 0
}
