// The binary end to end for VisionZip and DToMe: calibrate on a small IDX dataset, then report with thresholds=auto
// beside the checkpoint; the thresholds file's fields; the missing-file and budget errors; flops on DeiT-S (the
// VisionZip article's figure) and DToMe's calibration-average count.
import Foundation
import Testing
import TestSupport

@Suite("tokenscope: VisionZip and DToMe")
struct VLMTests {
  /// A copy of the grey_p2 fixture checkpoint in its own folder (thresholds=auto looks beside it) and a 12 px IDX set.
  func workspace(_ name: String) throws -> (dir: String, model: String) {
    let dir = try temporaryDirectory(name)
    let model = dir + "/grey.safetensors"
    try FileManager.default.copyItem(atPath: modelFixture("grey_p2", "model.safetensors"), toPath: model)
    var images: [[UInt8]] = []
    for i in 0..<10 { images.append((0..<144).map { p in UInt8((p % 12 < 6 ? 0 : 200) + (p * 7 + i * 31) % 50) }) }
    try writeIDX(directory: dir, prefix: "train", images: images, side: 12, labels: (0..<10).map { UInt8($0) })
    return (dir, model)
  }

  @Test func calibrateThenReportWithAutoThresholds() throws {
    let (dir, model) = try workspace("dymu")
    let c = try tokenscope(["calibrate", "--method", "dymu", "--model", model, "--data", dir, "--batch-size", "4",
                            "--r-total", "9", "--preprocess", "none", "--threads", "2"])
    #expect(c.status == 0, "\(c.stderr)")
    // Off a terminal there is no progress bar, only the one-line summary on stderr.
    #expect(!c.stderr.contains("\r") && c.stderr.contains("calibrating dymu on 10 images"), "\(c.stderr)")
    let path = dir + "/grey.dymu.json"
    #expect(c.stdout.hasPrefix("wrote \(path)"))
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    #expect(json["schema_version"] as? Int == 1 && json["method"] as? String == "dymu")
    let sha = try #require((json["model"] as? [String: Any])?["sha256"] as? String)
    #expect(sha == (try sha256sum(model)))
    #expect(json["images"] as? Int == 10 && json["batches"] as? Int == 3 && json["batch_size"] as? Int == 4)
    #expect(json["r_total"] as? Int == 9 && json["schedule"] as? String == "constant" && (json["r"] as? [Int]) == [3, 3, 3])
    #expect(json["split"] as? String == "train" && json["data"] as? String == dir && json["order"] as? String == "stable")
    let thresholds = try #require(json["thresholds"] as? [Double])
    #expect(thresholds.count == 3 && thresholds.allSatisfy { $0 >= 0 && $0 < 1 })
    // Every batch merges r·B tokens in all (enough candidates here), so the mean counts fall by r per block.
    #expect((json["mean_tokens"] as? [Double]) == [34, 31, 28])

    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none",
                            "--method", "dymu", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let layers = try #require(r.json?["layers"] as? [[String: Any]])
    #expect(layers.count == 3)
    for layer in layers { #expect((layer["event"] as? String)?.contains("candidates above τ") == true, "\(layer["event"] ?? "")") }
    // The same thresholds given explicitly run the same.
    let explicit = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none",
                                   "--method", "dymu:thresholds=\(path)", "--format", "json"])
    #expect((explicit.json?["logits"] as? [Double]) == (r.json?["logits"] as? [Double]))

    // flops without an image: the calibration's mean counts, labelled as such.
    let f = try tokenscope(["flops", "--model", model, "--method", "dymu"])
    #expect(f.status == 0 && f.stdout.contains("calibration's mean per block") && f.stdout.contains("37->34"), "\(f.stdout)\(f.stderr)")
  }

  @Test func missingThresholdsNameTheCommandThatWritesThem() throws {
    let (_, model) = try workspace("dymu-missing")
    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none", "--method", "dymu"])
    #expect(r.status == 66)
    #expect(r.stderr.contains("grey.dymu.json") && r.stderr.contains("write one with tokenscope calibrate --method dymu --model \(model)"), "\(r.stderr)")
    let wrongCount = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--method", "dymu:thresholds=0.9/0.9"])
    #expect(wrongCount.status == 64 && wrongCount.stderr.contains("expected 3 values, one per block"), "\(wrongCount.stderr)")
    let hanging = try tokenscope(["calibrate", "--method", "dymu", "--model", model, "--data", "/nonexistent", "--schedule", "linear", "--r-total", "1"])
    #expect(hanging.status == 64 && hanging.stderr.contains("does not finish"), "\(hanging.stderr)")
    let other = try tokenscope(["calibrate", "--method", "tome", "--data", "/nonexistent"])
    #expect(other.status == 64)
  }

  @Test func flopsOnDeitSmall() throws {
    let zip = try tokenscope(["flops", "--arch", "deit-s", "--method", "visionzip", "--format", "json"])
    #expect(zip.status == 0 && zip.json?["macs_total"] as? Int == 4_346_168_704, "\(zip.stderr)")
    let dymu = try tokenscope(["flops", "--arch", "deit-s", "--method", "dymu"])
    #expect(dymu.status == 64 && dymu.stderr.contains("depend on the image"), "\(dymu.stderr)")
  }

  @Test func visionZipReportAndBudgetErrors() throws {
    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2", "model.safetensors"),
                            "--preprocess", "none", "--method", "visionzip:dominant=10,contextual=4", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let layers = try #require(r.json?["layers"] as? [[String: Any]])
    #expect(layers.map { $0["tokens_out"] as? Int } == [37, 14, 14])
    #expect((layers[1]["event"] as? String)?.hasPrefix("kept 9 of 36 patches + CLS by CLS attention") == true)
    let states = try #require(layers[1]["patch_state"] as? [String])
    #expect(states.filter { $0 == "kept" }.count == 9 && states.filter { $0 == "merged" }.count == 27)
    let logits = try #require(r.json?["logits"] as? [Double])
    let expected = try expectedTensor("grey_p2", "visionzip:dominant=10,contextual=4,layer=-2,score=cls|logits", file: "vlm.safetensors")
    #expect(maxScaledDifference(logits, expected) < 1e-4)
    let tooMany = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2", "model.safetensors"),
                                  "--method", "visionzip"])
    #expect(tooMany.status == 64 && tooMany.stderr.contains("dominant=54: expected at most 37"), "\(tooMany.stderr)")
  }
}

/// `sha256sum FILE`'s digest.
func sha256sum(_ path: String) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
  process.arguments = [path]
  let out = Pipe()
  process.standardOutput = out
  try process.run()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return String(String(decoding: data, as: UTF8.self).prefix(64))
}
