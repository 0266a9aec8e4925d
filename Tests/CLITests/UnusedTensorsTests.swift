// Tensors the loader does not use: a command that computes refuses the checkpoint (exit 65, naming them); `inspect`
// lists them.
import Foundation
import Testing
import TestSupport
import ViTEngine

/// The vit fixture with `extra` tensors added (32 zeros each), written beside the other test files.
func checkpointWithExtras(_ name: String, extra: [String]) throws -> String {
  let file = try SafetensorsFile(path: modelFixture("vit", "model.safetensors"))
  var writer = SafetensorsWriter()
  writer.metadata = file.metadata
  for n in file.names { writer.add(n, shape: file.tensors[n]!.shape, floats: try file.floats(n)) }
  for n in extra { writer.add(n, shape: [32], floats: [Float](repeating: 0, count: 32)) }
  let dir = NSTemporaryDirectory() + "tokenscope-cli-\(getpid())"
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  let path = "\(dir)/\(name)"
  try writer.write(to: path)
  return path
}

@Suite("Unused tensors")
struct UnusedTensorsTests {
  @Test func loadingRefusesNamingTheTensors() throws {
    let model = try checkpointWithExtras("extra.safetensors", extra: ["text_projection", "logit_scale"])
    let r = try tokenscope(["flops", "--model", model])
    #expect(r.status == 65, "\(r.stderr)")
    #expect(r.stdout.isEmpty, "nothing is computed: \(r.stdout)")
    #expect(r.stderr == "tokenscope: \(model): 2 tensors this engine would not use (text_projection, logit_scale); refusing to compute with part of the checkpoint ignored (tokenscope inspect lists every tensor)\n")
  }

  @Test func aLongListIsCapped() throws {
    let extra = (0..<7).map { "extra.\($0)" }
    let model = try checkpointWithExtras("many.safetensors", extra: extra)
    let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", model, "--preprocess", "none"])
    #expect(r.status == 65, "\(r.stderr)")
    #expect(r.stderr.contains(": 7 tensors this engine would not use (extra.0, extra.1, extra.2, extra.3, extra.4 and 2 more); "), "\(r.stderr)")
  }

  @Test func inspectListsThemWithoutTheWarning() throws {
    let model = try checkpointWithExtras("inspect.safetensors", extra: ["text_projection", "logit_scale"])
    let text = try tokenscope(["inspect", model])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stderr.isEmpty, "inspect shows them in its output instead: \(text.stderr)")
    #expect(text.stdout.contains("\nunused      2 tensors not used: text_projection, logit_scale  (marked below; other commands refuse this checkpoint)\n"))
    let marked = text.stdout.split(separator: "\n").filter { $0.hasSuffix("  (not used)") }
    #expect(marked.map { $0.split(separator: " ").dropLast(2).last ?? "" } == ["text_projection", "logit_scale"])
    let json = try #require(try tokenscope(["inspect", model, "--format", "json"]).json)
    #expect(json["unused_tensors"] as? [String] == ["text_projection", "logit_scale"])
  }

  @Test(arguments: ["vit", "hf_dinov2"])
  func aCleanCheckpointGetsNone(name: String) throws {
    let model = modelFixture(name, "model.safetensors")
    let r = try tokenscope(["flops", "--model", model])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    let text = try tokenscope(["inspect", model])
    #expect(!text.stdout.contains("unused") && !text.stdout.contains("(not used)"))
    let json = try #require(try tokenscope(["inspect", model, "--format", "json"]).json)
    #expect(json["unused_tensors"] as? [String] == [])
  }
}
