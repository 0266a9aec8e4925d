// End-to-end tests of the tokenscope binary: exact JSON names, parity through `report --preprocess none`,
// fvcore totals, and one-line errors with sysexits codes.
import Foundation
import Testing
import TestSupport

/// The built binary: beside the test bundle (swift test), else in .build/debug.
let binaryPath: String = {
  let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tokenscope").path
  for candidate in [beside, repositoryRoot + "/.build/debug/tokenscope"] where FileManager.default.isExecutableFile(atPath: candidate) {
    return candidate
  }
  return beside
}()

struct RunResult {
  let status: Int32
  let stdout: String
  let stderr: String
  var json: [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
  }
}

func tokenscope(_ arguments: [String], environment: [String: String]? = nil) throws -> RunResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: binaryPath)
  process.arguments = arguments
  if let environment { process.environment = environment }
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  process.standardInput = FileHandle.nullDevice
  try process.run()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return RunResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
}

/// Reads float tensors from an F32 safetensors file (the expected outputs), independently of the engine.
func expectedTensor(_ name: String, _ key: String, file: String = "expected.safetensors") throws -> [Float] {
  let data = try Data(contentsOf: URL(fileURLWithPath: modelFixture(name, file)))
  let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
  let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
  let entry = header[key] as! [String: Any]
  let offsets = entry["data_offsets"] as! [Int]
  let bytes = data.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[1]))
  return bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
}

func maxScaledDifference(_ a: [Double], _ b: [Float]) -> Double {
  let scale = max(1, b.map { Double(abs($0)) }.max() ?? 0)
  return zip(a, b).map { abs($0 - Double($1)) }.max()! / scale
}

@Suite("tokenscope CLI")
struct CLITests {
  @Test(arguments: [("deit-t", 1_258_411_200), ("deit-s", 4_608_338_304), ("deit-b", 17_582_740_224)])
  func flopsArch(arch: String, total: Int) throws {
    let r = try tokenscope(["flops", "--arch", arch, "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.json?["macs_total"] as? Int == total)
    #expect((r.json?["layers"] as? [Any])?.count == 12)
  }

  /// Without --model or --arch, flops counts the bundled model, as --model's help says.
  @Test func flopsDefaultsToTheBundledModel() throws {
    let plain = try tokenscope(["flops", "--format", "json"])
    #expect(plain.status == 0, "\(plain.stderr)")
    let bundled = try tokenscope(["flops", "--model", repositoryRoot + "/samples/models/fashion-vit.safetensors", "--format", "json"])
    #expect(plain.json?["macs_total"] as? Int == bundled.json?["macs_total"] as? Int)
    #expect((plain.json?["model"] as? String)?.hasSuffix("fashion-vit.safetensors") == true)
  }

  @Test("report --preprocess none matches the reference", arguments: ["vit", "deit_distilled", "dinov2", "grey_p2", "hf_vit", "hf_deit", "hf_dinov2", "vit_bf16"])
  func reportParity(name: String) throws {
    let r = try tokenscope(["report", modelFixture(name, "input.png"), "--model", modelFixture(name),
                            "--preprocess", "none", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json, "report JSON: \(r.stdout.prefix(200))")
    let features = try #require(json["cls_features"] as? [Double])
    #expect(maxScaledDifference(features, try expectedTensor(name, "features")) <= 1e-4)
    if let logits = json["logits"] as? [Double] {
      #expect(maxScaledDifference(logits, try expectedTensor(name, "logits")) <= 1e-4)
      #expect((json["top5"] as? [[String: Any]])?.count == 5)
    } else {
      #expect(json["logits"] is NSNull, "\(name): headless models report logits null")
    }
  }

  @Test func reportSchemaNames() throws {
    let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"),
                            "--preprocess", "none", "--format", "json"])
    let json = try #require(r.json)
    #expect(json["schema_version"] as? Int == 1)
    let model = try #require(json["model"] as? [String: Any])
    for key in ["path", "scheme", "embed_dim", "depth", "heads", "patch_size", "grid", "prefix_tokens", "classes"] {
      #expect(model[key] != nil, "model.\(key)")
    }
    #expect(model["grid"] as? [Int] == [4, 4])
    let pre = try #require(json["preprocess"] as? [String: Any])
    for key in ["mode", "resize", "crop", "interpolation", "mean", "std"] { #expect(pre[key] != nil, "preprocess.\(key)") }
    #expect(pre["mode"] as? String == "none")
    let method = try #require(json["method"] as? [String: Any])
    #expect(method["spec"] as? String == "none" && method["name"] as? String == "none" && method["params"] != nil)
    let layers = try #require(json["layers"] as? [[String: Any]])
    #expect(layers.count == 3)
    for (i, layer) in layers.enumerated() {
      #expect(layer["index"] as? Int == i)
      #expect(layer["tokens_in"] as? Int == 17 && layer["tokens_out"] as? Int == 17)
      let macs = try #require(layer["macs"] as? [String: Int])
      #expect(macs["total"] == 12 * 17 * 32 * 32 + 2 * 17 * 17 * 32 + 10 * 17 * 32)
      #expect((layer["attention_entropy"] as? [Double])?.count == 2)
      #expect((layer["cls_attention_entropy"] as? [Double])?.count == 2)
      #expect(layer["patch_token"] as? [Int] == Array(1...16))
      #expect(layer["patch_state"] as? [String] == Array(repeating: "kept", count: 16))
    }
    for key in ["macs_total", "macs_baseline", "cls_features", "logits", "top5", "image"] { #expect(json[key] != nil, "\(key)") }
    #expect(json["macs_total"] as? Int == json["macs_baseline"] as? Int)
    let top = try #require((json["top5"] as? [[String: Any]])?.first)
    #expect(top["label"] as? String != nil && top["index"] as? Int != nil && top["probability"] as? Double != nil)
  }

  @Test func reportText() throws {
    let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"), "--preprocess", "none"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("layer  tokens"))
    #expect(r.stdout.contains("17->17"))
    #expect(r.stdout.contains("top-5"))
  }

  @Test func inspectJSON() throws {
    let r = try tokenscope(["inspect", modelFixture("hf_dinov2"), "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    #expect((json["model"] as? [String: Any])?["scheme"] as? String == "hf-dinov2")
    #expect(json["layer_scale"] as? Bool == true)
    #expect(json["head_input"] as? String == "cls+patch-mean")
    let text = try tokenscope(["inspect", modelFixture("deit_distilled")])
    #expect(text.stdout.contains("heads       2  (from config.json)"))
    #expect(text.stdout.contains("cls, dist"))
  }

  @Test func errorsAreOneLineWithExitCodes() throws {
    let model = modelFixture("vit"), image = modelFixture("vit", "input.png")
    let cases: [([String], Int32, String)] = [
      (["report", image, "--model", "/nonexistent.safetensors"], 66, "/nonexistent.safetensors"),
      (["report", "/nonexistent.png", "--model", model, "--preprocess", "none"], 66, "/nonexistent.png"),
      (["report", image, "--model", model, "--method", "tome:q=3"], 64, "unknown"),
      (["report", image, "--model", model, "--method", "bogus"], 64, "valid methods: none"),
      (["report", model, "--model", model, "--preprocess", "none"], 65, model),
      (["report", image, "--model", image], 65, image),
      (["report", image, "--model", model, "--heads", "x"], 64, "--heads"),
      (["flops", "--arch", "deit-s", "--model", model], 64, "not both"),
      (["flops", "--arch", "vit-h"], 64, "unknown --arch"),
    ]
    for (arguments, code, mention) in cases {
      let r = try tokenscope(arguments)
      #expect(r.status == code, "\(arguments): exit \(r.status), stderr \(r.stderr)")
      #expect(r.stderr.contains(mention), "\(arguments): \(r.stderr)")
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See") && !$0.isEmpty }
      #expect(lines.count == 1, "\(arguments): one-line error, got \(r.stderr)")
    }
  }

  @Test func versionAndHelp() throws {
    #expect(try tokenscope(["--version"]).stdout.contains("0."))
    for sub in ["inspect", "report", "flops"] {
      let r = try tokenscope([sub, "--help"])
      #expect(r.status == 0 && r.stdout.contains("USAGE"), "\(sub) --help")
    }
  }
}
