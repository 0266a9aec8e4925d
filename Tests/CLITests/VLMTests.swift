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

    // The per-block JSON carries what the views draw: each A token's best similarity, the threshold and the
    // calibration's count.
    let first = try #require(layers.first?["annotations"] as? [String: Any])
    let score = try #require(first["score"] as? [String: Any])
    #expect(abs((score["threshold"] as? Double ?? -1) - thresholds[0]) < 1e-6)
    let similarities = try #require(score["per_patch"] as? [Any])
    #expect(similarities.count == 36 && similarities.contains { $0 is NSNull } && similarities.contains { $0 is Double })
    #expect((first["reference"] as? [String: Any])?["tokens_out"] as? Double == 34)

    // render: the similarity view, each caption with this image's count beside the calibration's average.
    let svg = dir + "/dymu.svg"
    let fig = try tokenscope(["render", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none",
                              "--method", "dymu", "--view", "score", "--layers", "all", "--out", svg])
    #expect(fig.status == 0, "\(fig.stderr)")
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    for (layer, average) in [(0, 34), (1, 31), (2, 28)] {
      let tokens = try #require(layers[layer]["tokens_out"] as? Int)
      #expect(text.contains(">\(tokens) tok (avg \(average)), "), "block \(layer)")
    }

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

  @Test func budgetsAreCalibrationFilesThatTheSweepWalks() throws {
    let (dir, model) = try workspace("dymu-budget")
    let c = try tokenscope(["calibrate", "--method", "dymu", "--model", model, "--data", dir, "--batch-size", "4",
                            "--budget", "2", "--preprocess", "none", "--threads", "2"])
    #expect(c.status == 0, "\(c.stderr)")
    let path = dir + "/grey.dymu-r2.json"
    #expect(c.stdout.hasPrefix("wrote \(path)"), "\(c.stdout)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    #expect(json["r_total"] as? Int == 6 && (json["r"] as? [Int]) == [2, 2, 2])
    let both = try tokenscope(["calibrate", "--method", "dymu", "--model", model, "--data", dir, "--budget", "2", "--r-total", "6"])
    #expect(both.status == 64 && both.stderr.contains("give one or the other"), "\(both.stderr)")

    // budget=2 reads that file; budget=4 names the command that would write its own.
    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none",
                            "--method", "dymu:budget=2", "--format", "json"])
    let explicit = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--preprocess", "none",
                                   "--method", "dymu:thresholds=\(path)", "--format", "json"])
    #expect(r.status == 0 && (r.json?["logits"] as? [Double]) == (explicit.json?["logits"] as? [Double]), "\(r.stderr)")
    let missing = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--method", "dymu:budget=4"])
    #expect(missing.status == 66 && missing.stderr.contains("grey.dymu-r4.json")
            && missing.stderr.contains("calibrate --method dymu --budget 4"), "\(missing.stderr)")
    let clash = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", model, "--method", "dymu:thresholds=0.9/0.9/0.9,budget=2"])
    #expect(clash.status == 64 && clash.stderr.contains("budget"), "\(clash.stderr)")

    // The sweep runs the budgets that have a file and skips the others with a note.
    try writeIDX(directory: dir, prefix: "t10k", images: (0..<6).map { i in (0..<144).map { UInt8(($0 * 5 + i * 17) % 256) } },
                 side: 12, labels: (0..<6).map { UInt8($0) })
    let sweep = try tokenscope(["eval", "--data", dir, "--model", model, "--preprocess", "none", "--sweep", "--method", "dymu",
                                "--format", "json", "--threads", "2"])
    #expect(sweep.status == 0, "\(sweep.stderr)")
    let specs = (sweep.json?["results"] as? [[String: Any]])?.compactMap { $0["method"] as? String } ?? []
    #expect(specs == ["none", "dymu:thresholds=auto,budget=2,prop=true"], "\(sweep.stdout)")
    #expect(sweep.stderr.contains("skipping dymu:thresholds=auto,budget=4,prop=true in the sweep: dymu: no thresholds file at \(dir)/grey.dymu-r4.json"), "\(sweep.stderr)")
    // A method asked for by name with no budget calibrated at all is an error before anything runs.
    try FileManager.default.removeItem(atPath: path)
    let none = try tokenscope(["eval", "--data", dir, "--model", model, "--preprocess", "none", "--sweep", "--method", "dymu"])
    #expect(none.status == 66 && none.stderr.contains("calibrate --method dymu --budget 2") && none.stdout.isEmpty, "\(none.stderr)")
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
    // The roles the views draw: nine dominant patches (CLS is the tenth dominant token) and four contextual targets.
    let roles = try #require((layers[1]["annotations"] as? [String: Any])?["roles"] as? [String])
    #expect(roles.filter { $0 == "dominant" }.count == 9 && roles.filter { $0 == "contextual" }.count == 4)
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
