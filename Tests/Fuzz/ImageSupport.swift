// Shared by the image targets (png, jpeg, dataset): decode, then the preprocessing pipelines the CLI builds.
import ImageIO
import Pixels

/// The pipelines `tokenscope` builds (PreprocessMode.pipeline): DeiT's 224 RGB bicubic default, timm's crop_pct with a
/// grey model, a small nearest-neighbour DeiT, and `none` (which throws unless the image is exactly 32x32).
let pipelines: [Preprocessing] = [
  .deit(inputSize: (224, 224), channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]),
  .timm(inputSize: (32, 32), channels: 1, cropPct: 0.9, mean: [0.5], std: [0.5], interpolation: .bilinear),
  .deit(inputSize: (12, 12), channels: 1, mean: [0.286], std: [0.353], interpolation: .nearest),
  .none(inputSize: (32, 32), channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
]

/// Runs `pipeline` on a decoded image and checks the tensor it returns.
func preprocess(_ image: PixelImage, _ pipeline: Preprocessing, name: String) {
  guard image.channels == 1 || image.channels == 3, image.width >= 1, image.height >= 1,
    image.pixels.count == image.width * image.height * image.channels
  else { finding("decoder returned a \(image.width)x\(image.height)x\(image.channels) image") }
  do {
    note("decoded \(image.width)x\(image.height)x\(image.channels); preprocessing: \(pipeline)")
    let tensor = try pipeline.apply(to: image, name: name)
    guard tensor.count == pipeline.channels * pipeline.cropHeight * pipeline.cropWidth else {
      finding("preprocessing returned \(tensor.count) values for \(pipeline)")
    }
    guard tensor.allSatisfy(\.isFinite) else { finding("preprocessing returned a non-finite value") }
  } catch {
    checkImageError(error, name: name)
  }
}

/// Errors are fine; they must be one line that names the input.
func checkImageError(_ error: ImageError, name: String) {
  let text = error.description
  note("threw: \(text)")
  if text.contains(where: { $0 == "\n" || $0 == "\r" }) || !text.contains(name) {
    finding("image error is not one line naming \(name): \(text.debugDescription)")
  }
}

/// Decodes `bytes` as the CLI does (format by magic bytes), then preprocesses with one of `pipelines`.
func decodeAndPreprocess(_ bytes: [UInt8], pipeline: Int) {
  let name = "fuzz-input"
  do {
    let image = try ImageLoader.decode(data: bytes, name: name)
    preprocess(image, pipelines[pipeline % pipelines.count], name: name)
  } catch {
    checkImageError(error, name: name)
  }
}

// CRC-32 (PNG chunks): lets the png target repair chunk CRCs so mutations get past libpng's CRC check.
let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
  var c = UInt32(n)
  for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
  return c
}

func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
  var c: UInt32 = 0xFFFF_FFFF
  for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
  return c ^ 0xFFFF_FFFF
}

/// Rewrites the CRC of every complete chunk after the PNG signature (stops at the first chunk that runs past the end).
func repairPNGCRCs(_ bytes: inout [UInt8]) {
  var i = 8
  while i + 12 <= bytes.count {
    let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
    let end = i + 8 + length
    guard length <= bytes.count, end + 4 <= bytes.count else { return }
    let crc = crc32(bytes[(i + 4)..<end])
    bytes[end] = UInt8(crc >> 24); bytes[end + 1] = UInt8((crc >> 16) & 0xFF)
    bytes[end + 2] = UInt8((crc >> 8) & 0xFF); bytes[end + 3] = UInt8(crc & 0xFF)
    i = end + 4
  }
}
