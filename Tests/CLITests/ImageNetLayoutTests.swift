// ImageNet-style data on a small generated tree: synset-named class folders map to timm's 1000-class order, a
// --class-map gives another order, and a flat folder with LOC_val_solution.csv or a file,label CSV gives the same
// images the same labels. The reference for the class order is timm's imagenet_synsets.txt (through the generated
// ImageNetSynsets list); the model is grey_p2 given a 1000-class head, so only the label mapping is under test, not accuracy.
import Foundation
import Testing
import TestSupport
@testable import ImageIO
import Pixels
@testable import tokenscope

@Suite("ImageNet-style datasets")
struct ImageNetLayoutTests {
  /// Three synsets out of timm's order (classes 0, 1 and 999), two 12x12 PNGs each, written by the engine's writer.
  static let synsets = ["n01440764", "n01443537", "n15075141"]

  static func tree(_ name: String) throws -> (root: String, flat: String) {
    let root = try temporaryDirectory(name)
    let flat = root + "/flat"
    try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
    var solution = "ImageId,PredictionString\n", plain = "file,label\n"
    for (c, synset) in synsets.enumerated() {
      try FileManager.default.createDirectory(atPath: "\(root)/tree/\(synset)", withIntermediateDirectories: true)
      for k in 0..<2 {
        let pixels = (0..<(12 * 12 * 3)).map { UInt8(($0 * (c + 3) + k * 50) % 256) }
        let png = try PNGWriter.encode(PixelImage(width: 12, height: 12, channels: 3, pixels: pixels))
        let file = "ILSVRC2012_val_0000000\(c * 2 + k + 1)"
        try Data(png).write(to: URL(fileURLWithPath: "\(root)/tree/\(synset)/\(file).png"))
        try Data(png).write(to: URL(fileURLWithPath: "\(flat)/\(file).png"))
        solution += "\(file),\(synset) 1 2 10 11 \(synset) 0 0 5 5\n"
        plain += "\(file).png,\(synset)\n"
      }
    }
    try solution.write(toFile: root + "/LOC_val_solution.csv", atomically: true, encoding: .utf8)
    try plain.write(toFile: root + "/labels.csv", atomically: true, encoding: .utf8)
    return (root, flat)
  }

  /// grey_p2 with a 1000-class head (patterned weights), so its logits are ImageNet-1k's classes.
  static func imageNetModel(_ dir: String) throws -> String {
    var header = validCheckpoint.header
    var data: [UInt8] = []
    let names = header.keys.filter { $0 != "__metadata__" }.sorted {
      ((header[$0] as! [String: Any])["data_offsets"] as! [Int])[0] < ((header[$1] as! [String: Any])["data_offsets"] as! [Int])[0]
    }
    for name in names {
      var entry = header[name] as! [String: Any]
      let offsets = entry["data_offsets"] as! [Int]
      var bytes = Array(validCheckpoint.data[offsets[0]..<offsets[1]])
      if name == "head.weight" || name == "head.bias" {
        let shape = name == "head.weight" ? [1000, 32] : [1000]
        let values = (0..<shape.reduce(1, *)).map { Float(($0 * 7919) % 201 - 100) / 400 }
        bytes = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        entry["shape"] = shape
        entry["dtype"] = "F32"
      }
      entry["data_offsets"] = [data.count, data.count + bytes.count]
      data += bytes
      header[name] = entry
    }
    let path = dir + "/imagenet-head.safetensors"
    try Data(safetensorsBytes(header, data)).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func builtInSynsetsAreTimmsOrder() {
    #expect(ImageNetSynsets.wnids.count == 1000 && Set(ImageNetSynsets.wnids).count == 1000)
    #expect(ImageNetSynsets.wnids.first == "n01440764" && ImageNetSynsets.wnids.last == "n15075141")
    #expect(ImageNetSynsets.wnids == ImageNetSynsets.wnids.sorted())
  }

  @Test func synsetFoldersFlatFoldersAndClassMapsAgree() throws {
    let (root, flat) = try Self.tree("imagenet")
    let modelPath = try Self.imageNetModel(root)
    let model = try ModelOptions.parse(["--model", modelPath]).load()
    #expect(model.shape.classes == 1000)
    let tree = try Dataset.open(path: root + "/tree", split: "val")
    #expect(try ClassMapping.resolve(dataset: tree, model: model, classMap: nil) == [0, 1, 999])
    for labels in [root + "/LOC_val_solution.csv", root + "/labels.csv"] {
      let dataset = try Dataset.openLabelled(root: flat, labelsFile: labels)
      #expect(dataset.count == 6 && dataset.classNames == Self.synsets)
      let map = try #require(try ClassMapping.resolve(dataset: dataset, model: model, classMap: nil))
      #expect(dataset.labels.map { map[$0] } == [0, 0, 1, 1, 999, 999], "\(labels)")
    }
    // Another order: a LOC_synset_mapping.txt-style file, the three synsets first in reverse.
    let mapping = Self.synsets.reversed().map { "\($0) some words, more words" } + ["n99999999 other"]
    try mapping.joined(separator: "\n").write(toFile: root + "/map.txt", atomically: true, encoding: .utf8)
    #expect(try ClassMapping.resolve(dataset: tree, model: model, classMap: root + "/map.txt") == [2, 1, 0])

    // The command: the tree and the flat folder give the same table, the decode rate is in the timing breakdown.
    let a = try tokenscope(["eval", "--data", root + "/tree", "--split", "val", "--model", modelPath, "--format", "json"])
    let b = try tokenscope(["eval", "--data", flat, "--labels", root + "/LOC_val_solution.csv", "--model", modelPath, "--format", "json"])
    #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
    let ra = try #require((a.json?["results"] as? [[String: Any]])?.first), rb = try #require((b.json?["results"] as? [[String: Any]])?.first)
    #expect(ra["correct"] as? Int == rb["correct"] as? Int && ra["images"] as? Int == 6 && rb["images"] as? Int == 6)
    let timing = try #require(a.json?["timing"] as? [String: Any])
    #expect((timing["decode_images_per_second"] as? Double ?? 0) > 0 && timing["decode_images"] as? Int == 6)
    let text = try tokenscope(["eval", "--data", root + "/tree", "--split", "val", "--model", modelPath])
    #expect(text.stdout.contains("decode ") && text.stdout.contains("images/s"), "\(text.stdout)")

    // Bad input: one line each, with the file and what was expected.
    try "file,label\nmissing.png,n01440764\n".write(toFile: root + "/bad.csv", atomically: true, encoding: .utf8)
    let missing = try tokenscope(["eval", "--data", flat, "--labels", root + "/bad.csv", "--model", modelPath])
    #expect(missing.status == 66 && missing.stderr.contains("missing.png"), "\(missing.stderr)")
    try "n01440764\n".write(toFile: root + "/short.txt", atomically: true, encoding: .utf8)
    let short = try tokenscope(["eval", "--data", root + "/tree", "--split", "val", "--class-map", root + "/short.txt", "--model", modelPath])
    #expect(short.status == 65 && short.stderr.contains("no class 'n01443537'"), "\(short.stderr)")
    let small = try tokenscope(["eval", "--data", root + "/tree", "--split", "val", "--model", modelFixture("grey_p2")])
    #expect(small.status == 64 && small.stderr.contains("WordNet synsets"), "\(small.stderr)")
  }
}
