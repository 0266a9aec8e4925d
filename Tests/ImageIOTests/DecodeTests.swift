// Loader parity with Pillow (every PNG kind exactly, JPEG within 1), file handling, and the PNG writer round trip.
//
// Shape legend: expected .u8 fixtures are [height][width][channels] UInt8 (HWC), as PixelImage.pixels.

import Foundation
import ImageIO
import Pixels
import Testing

@Suite struct DecodeTests {
  @Test(arguments: Fixtures.manifest.decode)
  func matchesPillow(_ fixture: Manifest.DecodeCase) throws {
    let image = try ImageLoader.decode(data: try Fixtures.bytes(fixture.file), name: fixture.file)
    let expected = try Fixtures.bytes(fixture.expected)
    #expect(image.width == fixture.width)
    #expect(image.height == fixture.height)
    #expect(image.channels == fixture.channels)
    try #require(image.pixels.count == expected.count)
    let (worst, mismatches) = compare(image.pixels, expected)
    if fixture.exact {
      #expect(worst == 0, "\(fixture.file): \(mismatches) samples differ from Pillow, by up to \(worst)")
    } else {
      #expect(worst <= 1, "\(fixture.file): \(mismatches) samples differ from Pillow, by up to \(worst)")
    }
  }

  @Test func coversEveryKind() {
    let files = Set(Fixtures.manifest.decode.map { ($0.file as NSString).lastPathComponent })
    for name in ["grey8.png", "grey_alpha8.png", "rgb8_gama.png", "rgba8.png", "palette8.png", "palette8_trns.png",
                 "grey1.png", "rgb16.png", "grey16.png", "interlaced_rgb8.png", "color420.jpg", "grey.jpg", "cmyk.jpg"] {
      #expect(files.contains(name), "missing fixture \(name)")
    }
  }

  @Test func loadReadsFilesAndDetectsFormatByMagicBytes() throws {
    let png = try ImageLoader.load(path: Fixtures.path("decode/rgb8_gama.png"))
    #expect(png == (try ImageLoader.decode(data: try Fixtures.bytes("decode/rgb8_gama.png"), name: "x")))

    // A PNG named .jpg and a JPEG named .png still decode: the extension is ignored.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imageio-tests-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let misnamedPNG = directory.appendingPathComponent("photo.jpg")
    let misnamedJPEG = directory.appendingPathComponent("photo.png")
    try Data(try Fixtures.bytes("decode/rgb8_gama.png")).write(to: misnamedPNG)
    try Data(try Fixtures.bytes("decode/grey.jpg")).write(to: misnamedJPEG)
    #expect(try ImageLoader.load(path: misnamedPNG.path) == png)
    #expect(try ImageLoader.load(path: misnamedJPEG.path).channels == 1)
  }

  @Test func missingFileIsMissingFile() {
    #expect(throws: ImageError.noSuchFile(name: "nope.png")) { try ImageLoader.load(path: "nope.png") }
    do {
      _ = try ImageLoader.load(path: "nope.png")
    } catch {
      #expect(error.description == "nope.png: no such file")
      #expect(error.isMissingFile)
    }
    do {
      _ = try ImageLoader.load(path: "/nonexistent-dir/sub/x.png")
    } catch {
      #expect(error.isMissingFile)
    }
  }

  @Test func directoryCannotBeOpened() {
    do {
      _ = try ImageLoader.load(path: Fixtures.directory.path)
      Issue.record("a directory loaded")
    } catch {
      #expect(error.isMissingFile)
      #expect(error.isOneLine(naming: Fixtures.directory.path))
    }
  }

  @Test func formatErrorsAreNotMissingFile() throws {
    do {
      _ = try ImageLoader.decode(data: Array("{\"abc\": 1}".utf8), name: "photo.png")
      Issue.record("text decoded")
    } catch {
      #expect(!error.isMissingFile)
    }
  }

  @Test(arguments: [1, 3])
  func pngWriterRoundTrips(channels: Int) throws {
    for (width, height) in [(1, 1), (13, 7), (64, 48)] {
      let image = pattern(width: width, height: height, channels: channels, seed: width)
      let encoded = try PNGWriter.encode(image)
      #expect(encoded.starts(with: [0x89, 0x50, 0x4E, 0x47]))
      #expect(try ImageLoader.decode(data: encoded, name: "roundtrip.png") == image)
    }
  }

  @Test func pngWriterRejectsOtherChannelCounts() {
    let image = PixelImage(width: 2, height: 2, channels: 2, pixels: [UInt8](repeating: 7, count: 8))
    #expect(throws: ImageError.self) { try PNGWriter.encode(image) }
    #expect(throws: ImageError.self) { try PNGWriter.encode(PixelImage(width: 0, height: 0, channels: 3, pixels: [])) }
  }
}
