// `report --attribution rollout` and `report --ablate` against Tests/Fixtures/attribution_reference.py (a torch
// script written here from the rollout's definition, checked there against vit-explain's formula on timm's own
// attention; the class-token-only logits are timm's own modules on the one-token sequence).
import Foundation
import Testing
import TestSupport

@Suite("tokenscope report: attribution and ablation")
struct AttributionCLITests {
  func report(_ extra: [String]) throws -> RunResult {
    try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"), "--preprocess", "none",
                    "--format", "json"] + extra)
  }

  func reference(_ key: String) throws -> [Float] {
    try expectedTensor("vit", key, file: "attribution.safetensors")
  }

  @Test func rolloutEqualsTheReference() throws {
    for spec in ["none", "tome:r=2"] {
      let r = try report(["--method", spec, "--attribution", "rollout"])
      #expect(r.status == 0, "\(r.stderr)")
      let json = try #require(r.json)
      #expect(json["rollout_query"] as? String == "class token")
      let rollout = try #require(json["rollout"] as? [Double]).map(Float.init)
      let perBlock = try reference("\(spec)|rollout")
      let last = Array(perBlock.suffix(16)), top = last.max()!
      expectClose(rollout, last.map { $0 / top }, "\(spec) rollout")
      if spec == "none" { expectClose(rollout, try reference("none|vit_explain"), "vit-explain mask") }
      let layers = try #require(json["layers"] as? [[String: Any]])
      for (i, layer) in layers.enumerated() {
        let values = try #require(layer["rollout"] as? [Double]).map(Float.init)
        let row = Array(perBlock[(i * 16)..<((i + 1) * 16)])
        expectClose(values, row.map { $0 / row.max()! }, "\(spec) layer \(i)")
      }
    }
  }

  @Test func ablatingAllButTheClassTokenIsTheClassTokenAlone() throws {
    let r = try report(["--ablate", "0:all"])
    #expect(r.status == 0, "\(r.stderr)")
    let ablation = try #require(r.json?["ablation"] as? [String: Any])
    expectClose(try #require(ablation["logits_after"] as? [Double]).map(Float.init), try reference("ablate_all_but_cls|logits"), "logits")
    let before = try #require(r.json?["logits"] as? [Double])
    #expect(ablation["logits_before"] as? [Double] == before)
    #expect(ablation["dropped_patches"] as? [Int] == Array(0..<16))
  }

  @Test func rectanglesAndListsNameTheSamePatches() throws {
    let rect = try report(["--ablate", "1:rows=0-1,cols=1-2"])
    let list = try report(["--ablate", "1:6,5,2,1"])
    let a = try #require(rect.json?["ablation"] as? [String: Any]), b = try #require(list.json?["ablation"] as? [String: Any])
    #expect(a["patches"] as? [Int] == [1, 2, 5, 6] && b["patches"] as? [Int] == [1, 2, 5, 6])
    #expect(a["logits_after"] as? [Double] == b["logits_after"] as? [Double])
    #expect(a["logits_after"] as? [Double] != a["logits_before"] as? [Double])
  }

  @Test(arguments: [("3:all", "layer 3 is outside the model's blocks 0...2"), ("0:16", "patch 16 is outside the grid's patches 0...15"),
                    ("0:rows=2-4,cols=0-0", "the rectangle leaves the 4x4 patch grid"), ("x:1", "expected LAYER:PATCHES")])
  func badAblationsAreUsageErrors(_ text: String, _ message: String) throws {
    let r = try report(["--ablate", text])
    #expect(r.status == 64 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
  }
}

@Suite("tokenscope render --view rollout")
struct RolloutRenderTests {
  @Test func rolloutFigureIsWritten() throws {
    let out = NSTemporaryDirectory() + "tokenscope-rollout-\(getpid()).png"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tokenscope(["render", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2"), "--preprocess", "none",
                            "--method", "none", "--method", "tome:r=4", "--view", "rollout", "--layers", "all", "--out", out])
    #expect(r.status == 0 && r.stdout.contains("2 methods x 3 blocks, rollout view"), "\(r.stderr)")
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
    #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
  }
}

@Suite("tokenscope eval --relevance")
struct RelevanceEvalTests {
  /// Every image is the vit fixture's input, so each method's relevance kept is the share computed from `report`'s
  /// baseline rollout and the method's last patch states.
  @Test func relevanceKeptMatchesTheReports() throws {
    let dir = NSTemporaryDirectory() + "tokenscope-relevance-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for name in ["class 0", "class 1"] {
      try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: modelFixture("vit", "input.png"), toPath: "\(dir)/\(name)/a.png")
    }
    let specs = ["evit:keep=0.5,layers=1/2", "evit:keep=0.5,layers=1/2,fuse=false", "tome:r=2", "idle:keep=0.5,layers=0-2"]
    let r = try tokenscope(["eval", "--data", dir, "--model", modelFixture("vit"), "--preprocess", "none", "--format", "json",
                            "--relevance", "--method", "none"] + specs.flatMap { ["--method", $0] })
    #expect(r.status == 0, "\(r.stderr)")
    let results = try #require(r.json?["results"] as? [[String: Any]])
    #expect(results.first?["relevance_kept"] as? Double == 1)
    func report(_ spec: String) throws -> [String: Any] {
      try #require(try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"), "--preprocess", "none",
                                   "--format", "json", "--attribution", "rollout", "--method", spec]).json)
    }
    let baseline = try #require(try report("none")["rollout"] as? [Double])
    for (i, spec) in specs.enumerated() {
      let states = try #require((try report(spec)["layers"] as? [[String: Any]])?.last?["patch_state"] as? [String])
      let kept = zip(baseline, states).filter { $0.1 == "kept" || $0.1 == "idle" }.reduce(0) { $0 + $1.0 }
      let expected = kept / baseline.reduce(0, +)
      let measured = try #require(results[i + 1]["relevance_kept"] as? Double)
      #expect(abs(measured - expected) < 1e-5, "\(spec): \(measured) vs \(expected)")
      if !spec.hasPrefix("idle") { #expect(measured < 1, "\(spec) dropped or merged something") }
    }
    // The chart against relevance kept: every method's point at its measured share.
    let svg = dir + "/relevance.svg"
    let plot = try tokenscope(["eval", "--data", dir, "--model", modelFixture("vit"), "--preprocess", "none", "--plot", svg,
                               "--plot-relevance", "--method", "none", "--method", specs[0], "--format", "json"])
    #expect(plot.status == 0, "\(plot.stderr)")
    let chart = try String(contentsOfFile: svg, encoding: .utf8)
    #expect(chart.contains("relevance kept (% of the baseline&apos;s rollout mass)") || chart.contains("relevance kept (% of the baseline's rollout mass)"))
    let bad = try tokenscope(["eval", "--data", dir, "--model", modelFixture("vit"), "--plot-relevance"])
    #expect(bad.status == 64 && bad.stderr.contains("--plot-relevance needs --plot FILE.svg"))
  }
}
