// `eval` on tiny datasets written by the test: IDX (as MNIST ships it, uncompressed here) and ImageFolder.
import Foundation
import Testing
import TestSupport

#if canImport(FoundationXML)
import FoundationXML
#endif

func temporaryDirectory(_ name: String) throws -> String {
  let path = NSTemporaryDirectory() + "tokenscope-eval-\(getpid())-\(name)"
  try? FileManager.default.removeItem(atPath: path)
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

func writeIDX(directory: String, prefix: String, images: [[UInt8]], side: Int, labels: [UInt8]) throws {
  func header(_ values: [UInt32]) -> Data { Data(values.flatMap { v in [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }) }
  var imageData = header([0x803, UInt32(images.count), UInt32(side), UInt32(side)])
  for image in images { imageData.append(contentsOf: image) }
  try imageData.write(to: URL(fileURLWithPath: "\(directory)/\(prefix)-images-idx3-ubyte"))
  var labelData = header([0x801, UInt32(labels.count)])
  labelData.append(contentsOf: labels)
  try labelData.write(to: URL(fileURLWithPath: "\(directory)/\(prefix)-labels-idx1-ubyte"))
}

@Suite("tokenscope eval")
struct EvalTests {
  @Test func idxDatasetWithSeveralMethods() throws {
    let dir = try temporaryDirectory("idx")
    var images: [[UInt8]] = []
    for i in 0..<12 {
      var image = [UInt8](repeating: 0, count: 144)
      for p in 0..<144 { image[p] = UInt8((p * 7 + i * 31) % 256) }
      images.append(image)
    }
    try writeIDX(directory: dir, prefix: "t10k", images: images, side: 12, labels: (0..<12).map { UInt8($0 % 10) })
    let r = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--method", "none",
                            "--method", "tome:r=2", "--method", "evit:keep=0.5,layers=1", "--format", "json", "--threads", "2"])
    #expect(r.status == 0, "\(r.stderr)")
    let results = try #require(r.json?["results"] as? [[String: Any]])
    #expect(results.map { $0["method"] as? String } == ["none", "tome:r=2,schedule=constant,prop=true", "evit:keep=0.5,layers=1,fuse=true"])
    for result in results {
      #expect(result["images"] as? Int == 12)
      let accuracy = try #require(result["accuracy"] as? Double)
      #expect(accuracy >= 0 && accuracy <= 1)
      #expect((result["ms_per_image"] as? Double ?? -1) >= 0)
    }
    let macs = results.map { $0["macs_mean"] as? Double ?? 0 }
    #expect(macs[1] < macs[0] && macs[2] < macs[0], "methods cost less than the baseline: \(macs)")
    // --limit and csv
    let csv = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--limit", "5", "--format", "csv"])
    #expect(csv.stdout.split(separator: "\n").first == "method,accuracy,macs_mean,images,ms_per_image")
    #expect(csv.stdout.contains(",5,"))
  }

  @Test func sweepCoversEveryValueAndPlots() throws {
    let dir = try temporaryDirectory("sweep")
    var images: [[UInt8]] = []
    for i in 0..<4 { images.append((0..<144).map { (p: Int) -> UInt8 in UInt8((p * 5 + i * 17) % 256) }) }
    try writeIDX(directory: dir, prefix: "t10k", images: images, side: 12, labels: [0, 1, 2, 3])
    let plot = dir + "/tradeoff.svg"
    let r = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--method", "tome",
                            "--method", "evit:layers=1", "--sweep", "--plot", plot, "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let methods = try #require(r.json?["results"] as? [[String: Any]]).compactMap { $0["method"] as? String }
    #expect(methods.first == "none", "the baseline comes first")
    #expect(methods.filter { $0.hasPrefix("tome:") }.count == 7)
    #expect(methods.contains("evit:keep=0.4,layers=1,fuse=true"), "user parameters are kept while keep is swept")
    #expect(methods.filter { $0.hasPrefix("evit:") }.count == 6)
    let svg = try String(contentsOfFile: plot, encoding: .utf8)
    #expect(XMLParser(data: Data(svg.utf8)).parse())
    #expect(svg.contains("mean GMACs per image") && svg.contains("top-1 accuracy (%)") && svg.contains(">baseline (none)<"))
    #expect(svg.components(separatedBy: "<polyline").count == 3, "one line per method")
    let bad = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--plot", dir + "/x.png"])
    #expect(bad.status == 64 && bad.stderr.contains("--plot"))
  }

  @Test func imageFolderDataset() throws {
    let dir = try temporaryDirectory("folder")
    for (i, name) in ["class 0", "class 1"].enumerated() {
      try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
      for j in 0..<2 {
        try FileManager.default.copyItem(atPath: modelFixture("vit", "input.png"), toPath: "\(dir)/\(name)/\(i)-\(j).png")
      }
    }
    let r = try tokenscope(["eval", "--data", dir, "--model", modelFixture("vit"), "--preprocess", "none", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let result = try #require((r.json?["results"] as? [[String: Any]])?.first)
    #expect(result["images"] as? Int == 4)
  }

  @Test func badDatasets() throws {
    let missing = try tokenscope(["eval", "--data", "/nonexistent-dataset", "--model", modelFixture("vit")])
    #expect(missing.status == 66 && missing.stderr.contains("/nonexistent-dataset"))
    let dir = try temporaryDirectory("bad")
    try Data([0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]).write(to: URL(fileURLWithPath: "\(dir)/t10k-images-idx3-ubyte"))
    try Data([0, 0, 8, 1, 0, 0, 0, 100]).write(to: URL(fileURLWithPath: "\(dir)/t10k-labels-idx1-ubyte"))
    let bad = try tokenscope(["eval", "--data", dir, "--model", modelFixture("vit")])
    #expect(bad.status == 65, "\(bad.stderr)")
    #expect(bad.stderr.contains("header claims 100 images of 28x28 but holds 3 bytes"))
  }
}
