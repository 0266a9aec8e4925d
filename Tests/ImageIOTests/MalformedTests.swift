// Malformed inputs: every one must throw a one-line ImageError naming the file, never crash, hang or over-allocate.
// The broken files are made here from the good fixtures, so each case has exactly the flaw it names.

import ImageIO
import Testing
import TestSupport

@Suite struct MalformedTests {
  /// Decodes and returns the error, recording an issue if decoding succeeded.
  func failure(_ data: [UInt8], name: String, sourceLocation: SourceLocation = #_sourceLocation) -> ImageError? {
    do {
      let image = try ImageLoader.decode(data: data, name: name)
      Issue.record("\(name) decoded to \(image.width)x\(image.height)", sourceLocation: sourceLocation)
      return nil
    } catch {
      #expect(error.isOneLine(naming: name), "\(error.description)", sourceLocation: sourceLocation)
      #expect(!error.isMissingFile, sourceLocation: sourceLocation)
      return error
    }
  }

  @Test func emptyFile() {
    #expect(failure([], name: "empty.png") == .emptyFile(name: "empty.png"))
  }

  @Test func textFile() {
    let error = failure(Array("{\"abc\": 1}".utf8), name: "photo.png")
    #expect(error?.description == "photo.png: not a PNG or JPEG file (first bytes 7b 22 61 62)")
  }

  @Test func truncatedSignature() {
    guard case .truncated? = failure([0x89, 0x50, 0x4E], name: "cut.png") else { Issue.record("not truncated"); return }
    guard case .truncated? = failure([0xFF, 0xD8], name: "cut.jpg") else { Issue.record("not truncated"); return }
  }

  @Test func truncatedPNGAtEveryLength() throws {
    let data = try Fixtures.bytes("decode/interlaced_rgb8.png")
    let idatEnd = try #require(pngChunks(data).last { $0.type == "IDAT" }).end
    for length in 1..<idatEnd {
      let error = failure(Array(data[0..<length]), name: "cut.png")
      guard case .truncated? = error else {
        Issue.record("length \(length): \(String(describing: error))")
        continue
      }
    }
    let message = failure(Array(data[0..<(idatEnd - 1)]), name: "x.png")?.description ?? ""
    #expect(message.hasPrefix("x.png: truncated PNG data (libpng:"), "\(message)")
  }

  @Test func badCRC() throws {
    let data = try Fixtures.bytes("decode/rgb8_gama.png")
    let chunks = pngChunks(data)
    // Pillow refuses a bad CRC in ancillary chunks (here gAMA and tEXt) as well as in critical ones.
    for type in ["IHDR", "gAMA", "tEXt", "IDAT"] {
      let chunk = try #require(chunks.first { $0.type == type })
      var broken = data
      broken[chunk.end - 1] ^= 0x01  // the CRC's last byte
      guard case .corrupt? = failure(broken, name: "crc.png") else { Issue.record("\(type): not corrupt"); continue }
      var payload = data
      payload[chunk.start + 11] ^= 0x40  // a data byte (for IHDR the width's low byte, still a sane size)
      guard case .corrupt? = failure(payload, name: "crc.png") else { Issue.record("\(type): not corrupt"); continue }
    }
  }

  @Test func corruptCompressedData() throws {
    let data = try Fixtures.bytes("decode/rgb8_gama.png")
    let idat = try #require(pngChunks(data).first { $0.type == "IDAT" })
    var broken = data
    for i in (idat.start + 10)..<(idat.end - 4) { broken[i] = 0xFF }  // garbage deflate data
    let type = Array("IDAT".utf8)
    let crc = bigEndian(crc32(type + broken[(idat.start + 8)..<(idat.end - 4)]))  // with a valid CRC
    broken.replaceSubrange((idat.end - 4)..<idat.end, with: crc)
    #expect(failure(broken, name: "zlib.png") != nil)
  }

  @Test func zeroSizeHeaders() {
    #expect(failure(pngWithHeader(width: 0, height: 10), name: "zero.png")
      == .zeroSize(name: "zero.png", format: "PNG", width: 0, height: 10))
    #expect(failure(pngWithHeader(width: 10, height: 0), name: "zero.png")
      == .zeroSize(name: "zero.png", format: "PNG", width: 10, height: 0))
  }

  @Test func hugeHeaders() {
    let error = failure(pngWithHeader(width: 1_000_000, height: 1_000_000), name: "big.png")
    #expect(error?.description == "big.png: image is 1000000x1000000 pixels; at most 16384x16384 is supported")
    #expect(failure(pngWithHeader(width: 16385, height: 1), name: "wide.png")
      == .tooLarge(name: "wide.png", width: 16385, height: 1, limit: 16384))
    #expect(failure(pngWithHeader(width: 0xFFFF_FFFF, height: 0xFFFF_FFFF), name: "max.png") != nil)
  }

  /// A header within limits but a body far too short: allocation is bounded by the header, and decoding fails cleanly.
  @Test func plausibleHeaderWithoutData() {
    #expect(failure(pngWithHeader(width: 2000, height: 1500), name: "short.png") != nil)
  }

  @Test func truncatedJPEG() throws {
    for file in ["decode/color420.jpg", "decode/progressive.jpg", "decode/grey.jpg", "decode/cmyk.jpg"] {
      let data = try Fixtures.bytes(file)
      // Up to 90% of the file: the scan data is incomplete, so the image is.
      for length in stride(from: 3, to: data.count * 9 / 10, by: 17) {
        let error = failure(Array(data[0..<length]), name: "cut.jpg")
        if case .truncated? = error { continue }
        if case .corrupt? = error { continue }
        Issue.record("\(file) cut at \(length): \(String(describing: error))")
      }
    }
    let cut = Array(try Fixtures.bytes("decode/color420.jpg").prefix(400))
    #expect(failure(cut, name: "cut.jpg")?.description.hasPrefix("cut.jpg: truncated JPEG data (libjpeg:") == true)
  }

  @Test func jpegWithZeroHeight() throws {
    var data = try Fixtures.bytes("decode/grey.jpg")
    // SOF0 (FF C0): length(2) precision(1) height(2) width(2)
    let sof = try #require((0..<(data.count - 1)).first { data[$0] == 0xFF && data[$0 + 1] == 0xC0 })
    data[sof + 5] = 0
    data[sof + 6] = 0
    #expect(failure(data, name: "zero.jpg") != nil)
  }

  /// Random corruption of every fixture: any result is fine except a crash, a hang or an inconsistent image.
  @Test func mutationsNeverCrash() throws {
    var random = SeededRandom(seed: 0x7E57)
    for fixture in Fixtures.manifest.decode {
      let original = try Fixtures.bytes(fixture.file)
      for round in 0..<40 {
        var data = original
        switch round % 4 {
        case 0:  // flip a few bytes anywhere
          for _ in 0..<Int.random(in: 1...4, using: &random) {
            data[Int.random(in: 0..<data.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
          }
        case 1:  // truncate and flip
          data = Array(data.prefix(Int.random(in: 1..<data.count, using: &random)))
          data[Int.random(in: 0..<data.count, using: &random)] ^= 0x80
        case 2:  // overwrite a run with noise
          let start = Int.random(in: 0..<data.count, using: &random)
          for i in start..<min(data.count, start + 32) { data[i] = UInt8.random(in: 0...255, using: &random) }
        default:  // corrupt the header area, where sizes live, but keep the signature
          let i = Int.random(in: 8..<min(data.count, 40), using: &random)
          data[i] = UInt8.random(in: 0...255, using: &random)
        }
        do {
          let image = try ImageLoader.decode(data: data, name: "fuzz")
          #expect(image.pixels.count == image.width * image.height * image.channels)
          #expect(image.channels == 1 || image.channels == 3)
        } catch {
          #expect(error.isOneLine(naming: "fuzz"))
        }
      }
    }
  }
}
