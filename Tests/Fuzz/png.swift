// Fuzz target: ImageLoader.decode on PNG data (libpng through the CImageCodecs shim), then a preprocessing pipeline.
// The input is the file. Its length picks the pipeline (size % 4, see ImageSupport.swift), and when the length is
// even the target first rewrites every chunk's CRC, so that mutated headers and chunks reach libpng's parsers instead
// of stopping at the CRC check (odd lengths keep the bytes as they are, so CRC handling is fuzzed too).
// Findings: crashes, hangs, ASan reports, errors that are not one line naming the file, non-finite or missized tensors.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var bytes = inputBytes(data, size)
  if size % 2 == 0 { repairPNGCRCs(&bytes) }
  decodeAndPreprocess(bytes, pipeline: size / 2)
  return 0
}
