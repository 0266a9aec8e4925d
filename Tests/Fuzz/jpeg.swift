// Fuzz target: ImageLoader.decode on JPEG data (libjpeg through the CImageCodecs shim), then a preprocessing
// pipeline picked by the input length (size % 4, see ImageSupport.swift).
// Throughput: libjpeg pads missing scans, so a 1 KB file whose SOF claims, say, 11000x11000 (within the 16384 cap)
// decodes to hundreds of megabytes and takes seconds. Inputs whose SOF markers claim more than 2048x2048 pixels but
// stay within the cap are skipped: the cap itself is still fuzzed (larger claims are refused cheaply), and the decode
// path is the same at smaller sizes.
// Findings: crashes, hangs, ASan reports, errors that are not one line naming the file, non-finite or missized tensors.

func claimsLargeImageWithinCap(_ bytes: [UInt8]) -> Bool {
  var i = 0
  while i + 9 <= bytes.count {
    if bytes[i] == 0xFF, (0xC0...0xCF).contains(bytes[i + 1]), ![0xC4, 0xC8, 0xCC].contains(bytes[i + 1]) {
      let height = Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]), width = Int(bytes[i + 7]) << 8 | Int(bytes[i + 8])
      if width <= 16384, height <= 16384, width * height > 2048 * 2048 { return true }
    }
    i += 1
  }
  return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = inputBytes(data, size)
  if claimsLargeImageWithinCap(bytes) { return 0 }
  decodeAndPreprocess(bytes, pipeline: size)
  return 0
}
