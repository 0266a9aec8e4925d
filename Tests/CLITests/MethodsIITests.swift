// The binary end to end for DVT, ClusTR and UP-ViT: stage outputs through the real preprocessing (each stage's image
// resized as PIL does), prune + report against the torch slicing, importance scoring, cascade evaluation and
// calibration, fvcore-style counts against the worked figures of the method articles, and the errors.
import Foundation
import Testing
import TestSupport

@Suite("tokenscope: DVT, ClusTR, UP-ViT")
struct MethodsIITests {
  @Test func dvtStagesThroughThePreprocessing() throws {
    // Thresholds above 1 never exit early: every stage runs and reports its logits.
    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2"),
                            "--preprocess", "none", "--method", "dvt:grids=3/4/6,thresholds=1.5/1.5", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let stages = try #require(r.json?["stages"] as? [[String: Any]])
    #expect(stages.count == 3 && r.json?["exit_stage"] as? Int == 2)
    for (s, stage) in stages.enumerated() {
      let logits = try #require(stage["logits"] as? [Double])
      let expected = try expectedTensor("grey_p2", "dvt:grids=3/4/6,thresholds=0.5/0.6|stage\(s).logits", file: "methods.safetensors")
      // The stage images are resized from input.png by tokenscope here and by PIL in the reference (uint8 both).
      #expect(maxScaledDifference(logits, expected) < 1e-4, "stage \(s)")
      #expect((stage["layers"] as? [Any])?.count == 3)
    }
    let macs = stages.map { $0["macs"] as! Int }
    #expect(stages.map { $0["cumulative_macs"] as! Int } == [macs[0], macs[0] + macs[1], macs[0] + macs[1] + macs[2]])
    #expect(r.json?["macs_total"] as? Int == macs.reduce(0, +))
    // A threshold of 0 exits at the first stage.
    let early = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2"),
                                "--preprocess", "none", "--method", "dvt:grids=3/4/6,thresholds=0/0", "--format", "json"])
    #expect((early.json?["stages"] as? [Any])?.count == 1 && early.json?["exit_stage"] as? Int == 0)
    #expect((early.json?["grid"] as? [Int]) == [3, 3])
  }

  @Test func clustrReportsEveryPatchsCluster() throws {
    let r = try tokenscope(["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2"),
                            "--preprocess", "none", "--method", "clustr:clusters=12,k=5,layers=all", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let layers = try #require(r.json?["layers"] as? [[String: Any]])
    let reference = try expectedTensor("grey_p2", "clustr:clusters=12,k=5,layers=all|cluster", file: "methods.safetensors")
    for (i, layer) in layers.enumerated() {
      #expect((layer["cluster"] as? [Int]) == reference[(i * 36)..<((i + 1) * 36)].map { Int($0) }, "block \(i)")
      #expect(layer["keys"] as? Int == 13)
      #expect(((layer["macs"] as? [String: Any])?["extra"] as? Int) == 36 * 36 * 32)
    }
  }

  @Test func pruneThenReportMatchesTheTorchSlicing() throws {
    let out = NSTemporaryDirectory() + "tokenscope-prune-\(getpid()).safetensors"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let p = try tokenscope(["prune", "--model", modelFixture("vit"), "--importance", modelFixture("vit", "upvit_importance.json"),
                            "--heads", "1", "--mlp-ratio", "2", "--embed", "24", "--out", out])
    #expect(p.status == 0, "\(p.stderr)")
    #expect(p.stdout.contains("parameters  ") && p.stdout.contains("-> 17602"), "\(p.stdout)")
    let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", out, "--preprocess", "none", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let logits = try #require(r.json?["logits"] as? [Double])
    let expected = try expectedTensor("vit", "heads=1,mlp-ratio=2,embed=24|logits", file: "upvit.safetensors")
    #expect(maxScaledDifference(logits, expected) < 1e-4)
    // The same pruning as a method spec reports what it kept, per block.
    let spec = "upvit:importance=\(modelFixture("vit", "upvit_importance.json")),heads=1,mlp-ratio=2,embed=24"
    let s = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"),
                            "--preprocess", "none", "--method", spec, "--format", "json"])
    let pruning = try #require(s.json?["pruning"] as? [String: Any])
    #expect(pruning["embed"] as? Int == 24 && pruning["parameters"] as? Int == 17602)
    let blocks = try #require(pruning["blocks"] as? [[String: Any]])
    #expect(blocks.count == 3 && blocks.allSatisfy { $0["heads"] as? Int == 1 && $0["mlp_units"] as? Int == 48 })
    #expect(maxScaledDifference(try #require(s.json?["logits"] as? [Double]), expected) < 1e-4)
  }

  @Test func pruneScoresChannelsOnACalibrationSet() throws {
    let dir = try temporaryDirectory("prune")
    var images: [[UInt8]] = []
    for i in 0..<20 { images.append((0..<144).map { UInt8(($0 * 13 + i * 29) % 256) }) }
    try writeIDX(directory: dir, prefix: "train", images: images, side: 12, labels: (0..<20).map { UInt8($0 % 10) })
    let importance = dir + "/importance.json"
    let r = try tokenscope(["prune", "--model", modelFixture("grey_p2"), "--calib", dir, "--per-class", "1",
                            "--importance-out", importance, "--threads", "2"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("scoring 512 channels on 10 calibration images"), "\(r.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: importance))) as? [String: Any])
    #expect(json["format"] as? String == "tokenscope-upvit-importance" && json["calibration_images"] as? Int == 10)
    #expect((json["embed"] as? [Double])?.count == 32)
    #expect((json["attention"] as? [[Double]])?.map(\.count) == [32, 32, 32])
    #expect((json["mlp"] as? [[Double]])?.map(\.count) == [128, 128, 128])
    #expect((json["embed"] as? [Double])?.allSatisfy { $0 >= -1e-9 } == true, "KL is never negative")
  }

  @Test func evalReportsExitSharesAndCalibrates() throws {
    let dir = try temporaryDirectory("dvt")
    var images: [[UInt8]] = []
    for i in 0..<30 { images.append((0..<144).map { UInt8(($0 * 7 + i * 31) % 256) }) }
    try writeIDX(directory: dir, prefix: "t10k", images: images, side: 12, labels: (0..<30).map { UInt8($0 % 10) })
    try writeIDX(directory: dir, prefix: "train", images: images.reversed(), side: 12, labels: (0..<30).map { UInt8(($0 + 3) % 10) })
    let model = modelFixture("grey_p2")
    let r = try tokenscope(["eval", "--data", dir, "--model", model, "--method", "dvt:grids=3/4/6,thresholds=0.3/0.3",
                            "--method", "dvt:grids=3/4/6,thresholds=0/0", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let results = try #require(r.json?["results"] as? [[String: Any]])
    let shares = results.compactMap { $0["exit_shares"] as? [Double] }
    #expect(shares.count == 2 && shares.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-9 })
    #expect(shares[1] == [1, 0, 0], "threshold 0 exits every image at the first stage")
    let c = try tokenscope(["eval", "--data", dir, "--model", model, "--method", "dvt:grids=3/4/6", "--calibrate",
                            "--calib-limit", "30", "--format", "json"])
    #expect(c.status == 0, "\(c.stderr)")
    let calibrated = try #require(c.json?["results"] as? [[String: Any]])
    #expect(calibrated.count >= 2, "several q give different thresholds")
    #expect(calibrated.allSatisfy { ($0["method"] as? String)?.hasPrefix("dvt:thresholds=") == true })
  }

  @Test func flopsMatchMethodsMdTables() throws {
    // TokenMethods.docc/DVT.md: the cascade at 7/10/14 on DeiT-S costs 1.10 / 3.37 / 7.97 GMACs to each exit (matmuls only;
    // fvcore's LayerNorm adds the rest).
    let d = try tokenscope(["flops", "--arch", "deit-s", "--method", "dvt", "--format", "json"])
    let stages = try #require(d.json?["stages"] as? [[String: Any]])
    #expect(stages.map { $0["cumulative_macs"] as! Int } == [1_101_957_888, 3_375_293_568, 7_983_631_872])
    // §4(d): ClusTR with 49 and 98 clusters, distance matrix included: 3.99 and 4.25 GMACs.
    for (m, total) in [(49, 3_998_248_320), (98, 4_260_618_624)] {
      let c = try tokenscope(["flops", "--arch", "deit-s", "--method", "clustr:clusters=\(m)", "--format", "json"])
      #expect(c.json?["macs_total"] as? Int == total)
    }
  }

  @Test func badSpecsAndFilesGetOneLineErrors() throws {
    let model = modelFixture("grey_p2"), image = modelFixture("grey_p2", "input.png")
    let missing = try tokenscope(["report", image, "--model", model, "--method", "upvit:importance=/nonexistent/i.json"])
    #expect(missing.status == 66 && missing.stderr.contains("/nonexistent/i.json"))
    let auto = try tokenscope(["report", image, "--model", model, "--method", "upvit"])
    #expect(auto.status == 66 && auto.stderr.contains("tokenscope prune"), "\(auto.stderr)")
    let thresholds = try tokenscope(["report", image, "--model", model, "--method", "dvt:thresholds=0.8"])
    #expect(thresholds.status == 64 && thresholds.stderr.contains("thresholds"))
    let nothing = try tokenscope(["prune", "--model", model, "--calib", "/tmp"])
    #expect(nothing.status == 64 && nothing.stderr.contains("--out"))
    let heads = try tokenscope(["prune", "--model", modelFixture("vit"), "--importance", modelFixture("vit", "upvit_importance.json"),
                                "--heads", "3", "--out", "/tmp/never-written.safetensors"])
    #expect(heads.status == 64 && heads.stderr.contains("heads=3"), "\(heads.stderr)")
    #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.safetensors"))
    for r in [missing, auto, thresholds, heads] { #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)") }
  }
}
