// Shared helpers for ImageIOTests: the fixture manifest written by Tests/Fixtures/gen_images.py, the integer test
// pattern it resamples (recomputed here bit for bit), and small byte-level tools for crafting malformed files.
//
// Shape legend:
//   pattern pixels  [height][width][channels] UInt8 (HWC), the same integers as gen_images.py `pattern`
//   tensors         [channels][height][width] Float32 (CHW), little-endian in the .f32 fixtures

import Foundation
import ImageIO
import Pixels
import TestSupport

enum Fixtures {
  /// Tests/ImageIOTests/Fixtures, found from this file so the tests run from any package that links them.
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  static func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

  static func bytes(_ relative: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: directory.appendingPathComponent(relative)))
  }

  static func floats(_ relative: String) throws -> [Float] {
    let raw = try bytes(relative)
    return stride(from: 0, to: raw.count, by: 4).map { i in
      Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
    }
  }

  static let manifest: Manifest = {
    do {
      let json = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
      return try JSONDecoder().decode(Manifest.self, from: json)
    } catch {
      fatalError("cannot read Fixtures/manifest.json (run Tests/Fixtures/gen_images.py): \(error)")
    }
  }()
}

struct Manifest: Decodable {
  struct Source: Decodable, CustomStringConvertible {
    var width: Int, height: Int, channels: Int, seed: Int, fine: Bool
    var description: String { "\(width)x\(height)x\(channels) seed \(seed)\(fine ? "" : " coarse")" }
    var image: PixelImage { pattern(width: width, height: height, channels: channels, seed: seed, fine: fine) }
  }

  struct DecodeCase: Decodable, CustomStringConvertible {
    var file: String, expected: String, width: Int, height: Int, channels: Int, exact: Bool
    var note: String?
    var description: String { file }
  }

  struct ResizeCase: Decodable, CustomStringConvertible {
    var id: String, source: Source, filter: String
    var short_side: Int?
    var size: [Int]?
    var out_width: Int, out_height: Int, expected: String
    var description: String { id }
  }

  struct PipelineCase: Decodable, CustomStringConvertible {
    struct Samples: Decodable { var index: [Int], value: [Float] }
    var id: String, source: Source, mode: String, channels: Int
    var short_side: Int?
    var crop_height: Int, crop_width: Int, interpolation: String
    var mean: [Float], std: [Float], sum: Double
    var tensor: String?
    var cropped: String?
    var cropped_fnv1a64: String?
    var samples: Samples?
    var description: String { id }

    var preprocessing: Preprocessing {
      Preprocessing(mode: mode, resizeShortSide: short_side, cropHeight: crop_height, cropWidth: crop_width,
                    interpolation: Interpolation(rawValue: interpolation)!, mean: mean, std: std, channels: channels)
    }
  }

  var decode: [DecodeCase]
  var resize: [ResizeCase]
  var pipeline: [PipelineCase]
}

/// gen_images.py `pattern`: gradients wrapping at 256, a checkerboard, and (fine) a multiplicative texture.
func pattern(width: Int, height: Int, channels: Int, seed: Int, fine: Bool = true) -> PixelImage {
  var pixels = [UInt8](repeating: 0, count: width * height * channels)
  for y in 0..<height {
    for x in 0..<width {
      for c in 0..<channels {
        let ramp = (x * (3 + c) + y * (5 + 2 * c) + seed * 17) % 256
        let checker = fine ? ((x / (3 + c) + y / 4) % 2) * 120 : ((x / (24 + c) + y / 32) % 2) * 120
        let texture = fine ? ((x * y * (seed + c + 1)) % 29) * 3 : 0
        pixels[(y * width + x) * channels + c] = UInt8((ramp + checker + texture) % 256)
      }
    }
  }
  return PixelImage(width: width, height: height, channels: channels, pixels: pixels)
}

/// Largest per-sample difference and how many samples differ at all.
func compare(_ a: [UInt8], _ b: [UInt8]) -> (maxDifference: Int, mismatches: Int) {
  precondition(a.count == b.count)
  var worst = 0, count = 0
  for i in 0..<a.count where a[i] != b[i] {
    worst = max(worst, abs(Int(a[i]) - Int(b[i])))
    count += 1
  }
  return (worst, count)
}

func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
  return hash
}

func bigEndian(_ value: UInt32) -> [UInt8] {
  [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
  let typeBytes = Array(type.utf8)
  return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
}

/// A PNG whose IHDR claims `width` x `height` (8-bit RGB) with a valid CRC, followed by a tiny IDAT and IEND.
func pngWithHeader(width: UInt32, height: UInt32) -> [UInt8] {
  let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
  let ihdr = bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
  // zlib stream of a single zero byte (one empty filtered row)
  let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]
  return signature + pngChunk("IHDR", ihdr) + pngChunk("IDAT", idat) + pngChunk("IEND", [])
}

/// Byte ranges of the chunks in a PNG: (type, start of the length field, end after the CRC).
func pngChunks(_ data: [UInt8]) -> [(type: String, start: Int, end: Int)] {
  var chunks: [(String, Int, Int)] = []
  var offset = 8
  while offset + 12 <= data.count {
    let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
    let type = String(decoding: data[(offset + 4)..<(offset + 8)], as: UTF8.self)
    chunks.append((type, offset, offset + 12 + length))
    offset += 12 + length
  }
  return chunks
}

extension ImageError {
  /// The description is one line and names the file: the CLI prints it verbatim.
  func isOneLine(naming name: String) -> Bool {
    !description.contains("\n") && description.contains(name)
  }
}
