// `eval` on a dataset whose answers are known: a Fashion-MNIST-format IDX set (28x28 grey) labelled with the bundled
// model's own predictions must score exactly 100%, and the same set with every label moved to the next class exactly
// 0%. The predictions come from `report` on the same pixels written as PNGs, so the two commands' input paths are
// checked against each other as well.
import Foundation
import Testing
import TestSupport

/// An 8-bit greyscale PNG with stored (uncompressed) deflate blocks: the smallest encoder that libpng reads.
func greyPNG(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
  func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
  func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
    let typed = Array(type.utf8) + body
    return be(UInt32(body.count)) + typed + be(crc32(typed[...]))
  }
  var raw: [UInt8] = []
  for y in 0..<height { raw.append(0); raw += pixels[(y * width)..<((y + 1) * width)] }
  var zlib: [UInt8] = [0x78, 0x01]
  var blocks = stride(from: 0, to: raw.count, by: 65535).map { raw[$0..<min($0 + 65535, raw.count)] }
  if blocks.isEmpty { blocks = [raw[...]] }
  for (i, block) in blocks.enumerated() {
    let n = UInt16(block.count)
    zlib += [i == blocks.count - 1 ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)] + block
  }
  var a: UInt32 = 1, b: UInt32 = 0
  for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
  zlib += be(b << 16 | a)
  let ihdr = be(UInt32(width)) + be(UInt32(height)) + [8, 0, 0, 0, 0]
  return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
}

@Suite("tokenscope eval, known answers")
struct EvalKnownAnswerTests {
  static let model = "\(repositoryRoot)/samples/models/fashion-vit.safetensors"
  static let classes = 10

  /// Sixteen 28x28 images unlike one another (stripes, rings, blocks and gradients at several phases), so the
  /// bundled model's predictions spread over several classes.
  static let images: [[UInt8]] = (0..<16).map { i in
    (0..<(28 * 28)).map { p -> UInt8 in
      let x = p % 28, y = p / 28
      switch i % 4 {
      case 0: return UInt8(((x + i) / (2 + i % 5)) % 2 * 255)
      case 1: return UInt8(((x - 14) * (x - 14) + (y - 14) * (y - 14)) / (3 + i) % 2 * 220)
      case 2: return (x > 4 + i / 2 && x < 24 - i / 4 && y > 2 + i / 3) ? UInt8(60 + 12 * i) : 0
      default: return UInt8((x * (i + 3) + y * (17 - i)) % 256)
      }
    }
  }

  @Test func ownPredictionsScore100AndShiftedLabels0() throws {
    let dir = try temporaryDirectory("known-answer")
    var predictions: [Int] = []
    for (i, image) in Self.images.enumerated() {
      let png = "\(dir)/\(i).png"
      try Data(greyPNG(width: 28, height: 28, pixels: image)).write(to: URL(fileURLWithPath: png))
      let r = try tokenscope(["report", png, "--model", Self.model, "--format", "json"])
      #expect(r.status == 0, "\(r.stderr)")
      let top = try #require((r.json?["top5"] as? [[String: Any]])?.first?["index"] as? Int)
      predictions.append(top)
    }
    #expect(Set(predictions).count >= 3, "the images reach several classes: \(predictions)")

    func accuracy(labels: [Int]) throws -> Double {
      let data = try temporaryDirectory("known-answer-idx")
      try writeIDX(directory: data, prefix: "t10k", images: Self.images, side: 28, labels: labels.map(UInt8.init))
      let r = try tokenscope(["eval", "--data", data, "--model", Self.model, "--format", "json", "--threads", "2"])
      #expect(r.status == 0, "\(r.stderr)")
      let result = try #require((r.json?["results"] as? [[String: Any]])?.first)
      #expect(result["images"] as? Int == Self.images.count)
      return try #require(result["accuracy"] as? Double)
    }
    #expect(try accuracy(labels: predictions) == 1)
    #expect(try accuracy(labels: predictions.map { ($0 + 1) % Self.classes }) == 0)
  }

  /// eval runs the baseline's leading blocks once per image for every method that starts later (EViT, MSTM, IdleViT,
  /// ATC at block 3, VisionZip at block 10) and continues each method from there; `report` runs each method on its own
  /// from the first block. Labelled with report's predictions of each method, eval scores each of them exactly 100%,
  /// with report's MACs summed, while the baseline and every other method run beside it in the same eval.
  @Test func sharedBaselineBlocksGiveTheMethodsOwnAnswers() throws {
    let dir = try temporaryDirectory("shared-blocks")
    let methods = ["evit:keep=0.5", "idle:keep=0.5", "visionzip:dominant=16"]
    var pngs: [String] = []
    for (i, image) in Self.images.enumerated() {
      pngs.append("\(dir)/\(i).png")
      try Data(greyPNG(width: 28, height: 28, pixels: image)).write(to: URL(fileURLWithPath: pngs[i]))
    }
    for (m, method) in methods.enumerated() {
      var predictions: [Int] = [], macs = 0
      for png in pngs {
        let r = try tokenscope(["report", png, "--model", Self.model, "--method", method, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        predictions.append(try #require((r.json?["top5"] as? [[String: Any]])?.first?["index"] as? Int))
        macs += try #require(r.json?["macs_total"] as? Int)
      }
      let data = try temporaryDirectory("shared-blocks-idx")
      try writeIDX(directory: data, prefix: "t10k", images: Self.images, side: 28, labels: predictions.map(UInt8.init))
      var args = ["eval", "--data", data, "--model", Self.model, "--format", "json", "--threads", "2"]
      for m in ["none", "tome:r=4"] + methods { args += ["--method", m] }
      let r = try tokenscope(args)
      #expect(r.status == 0, "\(r.stderr)")
      let results = try #require(r.json?["results"] as? [[String: Any]])
      // Results come in the order asked, after none and tome.
      #expect(results.count == 2 + methods.count)
      let result = results[2 + m]
      #expect((result["method"] as? String)?.hasPrefix(method.prefix { $0 != ":" } + ":") == true, "\(result)")
      #expect(result["accuracy"] as? Double == 1, "\(method)")
      #expect(result["macs_sum"] as? Int == macs, "\(method)")
    }
  }
}
