// Malformed checkpoints: each gets a one-line error naming the file and what is wrong, never a crash, and nothing is
// allocated from a size the file merely claims.
import Testing
import TestSupport
@testable import ViTEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func temporaryPath(_ name: String) -> String {
  let dir = "/tmp/tokenscope-tests-\(getpid())"
  mkdir(dir, 0o755)
  return "\(dir)/\(name)"
}

func writeBytes(_ bytes: [UInt8], _ name: String) -> String {
  let path = temporaryPath(name)
  let f = fopen(path, "wb")!
  _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
  fclose(f)
  return path
}

/// A raw file: 8-byte length, header text, data.
func rawSafetensors(header: String, data: [UInt8] = [], claimedLength: UInt64? = nil) -> [UInt8] {
  let h = Array(header.utf8)
  var n = claimedLength ?? UInt64(h.count)
  var out: [UInt8] = []
  for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
  return out + h + data
}

@Suite("Checkpoint validation")
struct CheckpointValidationTests {
  func expectMalformed(_ bytes: [UInt8], _ name: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let path = writeBytes(bytes, name)
    do {
      _ = try SafetensorsFile(path: path)
      Issue.record("\(name): expected an error mentioning '\(mentions)'", sourceLocation: sourceLocation)
    } catch {
      let message = error.description
      #expect(message.contains(path), "\(message) should name the file", sourceLocation: sourceLocation)
      #expect(message.contains(mentions), "\(message) should mention '\(mentions)'", sourceLocation: sourceLocation)
      #expect(!message.contains("\n"), "one line", sourceLocation: sourceLocation)
      #expect(error.exitCode == 65, sourceLocation: sourceLocation)
    }
  }

  @Test func structuralErrors() {
    let four = [UInt8](repeating: 0, count: 16)
    expectMalformed([1, 2, 3], "short.safetensors", mentions: "shorter than the 8-byte header length")
    expectMalformed(rawSafetensors(header: "{}", claimedLength: 1 << 40), "huge-header.safetensors", mentions: "exceeds the 100 MB limit")
    expectMalformed(rawSafetensors(header: "{}", claimedLength: 5000), "past-end.safetensors", mentions: "runs past the end of the file")
    expectMalformed(rawSafetensors(header: "[1,2]"), "not-object.safetensors", mentions: "does not start with '{'")
    expectMalformed(rawSafetensors(header: "{\"a\": {\"dtype\": \"F32\""), "bad-json.safetensors", mentions: "not valid JSON")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: four),
                    "dup.safetensors", mentions: "duplicate key")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}"#, data: four),
                    "range.safetensors", mentions: "beyond the 16-byte data buffer")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[-4,12]}}"#, data: four),
                    "negative.safetensors", mentions: "offsets [-4, 12]")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: four),
                    "mismatch.safetensors", mentions: "but its offsets span 16")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 12)),
                    "overlap.safetensors", mentions: "overlaps")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: four),
                    "hole.safetensors", mentions: "hole in the data buffer")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four),
                    "uncovered.safetensors", mentions: "cover 8 bytes but the data buffer holds 16")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}"#, data: four),
                    "overflow.safetensors", mentions: "overflows")
    expectMalformed(rawSafetensors(header: #"{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}"#, data: four),
                    "dtype.safetensors", mentions: "unknown dtype Q4")
  }

  @Test func missingFileIsExit66() {
    do { _ = try SafetensorsFile(path: "/nonexistent/model.safetensors"); Issue.record("expected an error") } catch {
      #expect(error.exitCode == 66)
      #expect(error.description.contains("/nonexistent/model.safetensors"))
    }
  }

  @Test func truncatedCopyOfARealCheckpoint() throws {
    let original = try SafetensorsFile(path: modelFixture("vit"))
    let bytes = Array(original.file.bytes)
    expectMalformed(Array(bytes[0..<(bytes.count / 2)]), "truncated.safetensors", mentions: "beyond")
  }

  /// A fixture's tensors (the vit fixture's unless named), with edits, rewritten as a new checkpoint.
  func edited(_ name: String, fixture: String = "vit", metadata: [String: String]? = nil,
              _ edit: (inout [String: (shape: [Int], floats: [Float])]) -> Void) throws -> String {
    let file = try SafetensorsFile(path: modelFixture(fixture))
    var tensors: [String: (shape: [Int], floats: [Float])] = [:]
    for n in file.names { tensors[n] = (file.tensors[n]!.shape, try file.floats(n)) }
    edit(&tensors)
    var writer = SafetensorsWriter()
    writer.metadata = metadata ?? file.metadata
    for n in tensors.keys.sorted() { writer.add(n, shape: tensors[n]!.shape, floats: tensors[n]!.floats) }
    let path = temporaryPath(name)
    try writer.write(to: path)
    return path
  }

  @Test func modelLevelErrors() throws {
    expectLoadError(try edited("missing.safetensors") { $0["blocks.1.mlp.fc2.weight"] = nil }, mentions: "missing tensor 'blocks.1.mlp.fc2.weight'")
    expectLoadError(try edited("widths.safetensors") { $0["blocks.2.attn.qkv.weight"] = ([96, 16], [Float](repeating: 0, count: 96 * 16)) },
                    mentions: "inconsistent widths")
    expectLoadError(try edited("fc2.safetensors") { $0["blocks.0.mlp.fc2.weight"] = ([32, 100], [Float](repeating: 0, count: 3200)) },
                    mentions: "has shape [32, 100], expected [32, 128]")
    expectLoadError(try edited("heads.safetensors", metadata: ["num_heads": "3"]) { _ in }, mentions: "3 heads do not divide the attention width 32")
    expectLoadError(try edited("noinfer.safetensors", metadata: [:]) { _ in }, mentions: "cannot infer the number of heads")
    expectLoadError(try edited("nopatch.safetensors") { $0["patch_embed.proj.weight"] = nil }, mentions: "no ViT patch embedding found")
    expectLoadError(try edited("pos.safetensors") { $0["pos_embed"] = ([1, 20, 32], [Float](repeating: 0, count: 640)) },
                    mentions: "not a square grid")
  }

  @Test func unsupportedDTypeNamesTheTensor() throws {
    // Rewrite the vit fixture with norm.bias as I64 bytes.
    let file = try SafetensorsFile(path: modelFixture("vit"))
    var writer = SafetensorsWriter()
    writer.metadata = file.metadata
    for n in file.names.sorted() {
      if n == "norm.bias" {
        writer.entries.append(.init(name: n, dtype: .I64, shape: [32], bytes: [UInt8](repeating: 0, count: 256)))
      } else {
        writer.add(n, shape: file.tensors[n]!.shape, floats: try file.floats(n))
      }
    }
    let path = temporaryPath("i64.safetensors")
    try writer.write(to: path)
    expectLoadError(path, mentions: "tensor 'norm.bias' has dtype I64; tokenscope reads F32, F16 and BF16")
  }

  @Test(arguments: ["vit", "vit_f16", "vit_bf16", "vit_ls", "deit_distilled", "dinov2", "grey_p2", "hf_vit", "hf_deit", "hf_dinov2"])
  func cleanFixturesUseEveryTensor(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    #expect(model.info.unusedTensors == [])
  }

  @Test func unusedTensorsAreListedInFileOrder() throws {
    let path = try edited("extra.safetensors") {
      $0["text_projection"] = ([32], [Float](repeating: 1, count: 32))
      $0["logit_scale"] = ([32], [Float](repeating: 0, count: 32))
      $0["blocks.1.attn.q_bias"] = ([32], [Float](repeating: 0, count: 32))
    }
    let model = try ModelLoader.load(path: path, options: LoadOptions(allowUnused: true))
    #expect(model.info.unusedTensors == ["blocks.1.attn.q_bias", "logit_scale", "text_projection"])
    #expect(model.depth == 3)
    #expect(throws: CheckpointError.unusedTensors(path: path, names: ["blocks.1.attn.q_bias", "logit_scale", "text_projection"])) {
      try ModelLoader.load(path: path)
    }
  }

  @Test func knownHarmlessTensorsAreNotReported() throws {
    // hf_dinov2 carries dinov2.embeddings.mask_token already; a bare ViTModel's pooler is the other known extra.
    #expect(try SafetensorsFile(path: modelFixture("hf_dinov2")).tensors["dinov2.embeddings.mask_token"] != nil)
    let pooler = try edited("pooler.safetensors", fixture: "hf_vit", metadata: ["num_heads": "2"]) {
      $0["pooler.dense.weight"] = ([32, 32], [Float](repeating: 0, count: 32 * 32))
      $0["pooler.dense.bias"] = ([32], [Float](repeating: 0, count: 32))
      $0["vit.embeddings.mask_token"] = ([1, 1, 32], [Float](repeating: 0, count: 32))
    }
    #expect(try ModelLoader.load(path: pooler).info.unusedTensors == [])
    // timm's VisionTransformer has no pooler, so the same name in a timm checkpoint is reported.
    let timm = try edited("timm-pooler.safetensors") { $0["pooler.dense.bias"] = ([32], [Float](repeating: 0, count: 32)) }
    #expect(try ModelLoader.load(path: timm, options: LoadOptions(allowUnused: true)).info.unusedTensors == ["pooler.dense.bias"])
  }

  @Test func aHeadWithoutItsTensorsLeavesHeadDistUnused() throws {
    // head_dist is read only beside a head: without head.weight it is reported rather than silently dropped.
    let path = try edited("headless-distilled.safetensors", fixture: "deit_distilled", metadata: ["num_heads": "2"]) {
      $0["head.weight"] = nil
      $0["head.bias"] = nil
    }
    let model = try ModelLoader.load(path: path, options: LoadOptions(allowUnused: true))
    #expect(model.head == nil)
    #expect(model.info.unusedTensors == ["head_dist.bias", "head_dist.weight"])
  }

  @Test func writerRoundTrips() throws {
    var writer = SafetensorsWriter()
    writer.metadata = ["k": "v"]
    writer.add("x", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
    writer.add("empty", shape: [0], floats: [])
    let path = temporaryPath("roundtrip.safetensors")
    try writer.write(to: path)
    let file = try SafetensorsFile(path: path)
    #expect(try file.floats("x") == [1, 2, 3, 4, 5, 6])
    #expect(try file.floats("empty") == [])
    #expect(file.metadata == ["k": "v"])
  }
}

@Suite("JSON")
struct JSONTests {
  @Test func parsesAndRejects() throws {
    let v = try JSONParser.parse(#"{"a": [1, 2.5, -3e2, true, null, "x\u00e9\n"], "b": {}}"#)
    #expect(v["a"]?.arrayValue?.count == 6)
    #expect(v["a"]?.arrayValue?[2].intValue == -300)
    #expect(v["a"]?.arrayValue?[5].stringValue == "xé\n")
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "01x", "\"\\q\"", "{\"a\":1,\"a\":2}", String(repeating: "[", count: 100), "1 2"] {
      #expect(throws: JSONError.self, "\(bad)") { try JSONParser.parse(bad) }
    }
  }

  @Test func serialisesFloatsShortly() {
    #expect(JSONValue.object([("x", JSONValue(Float(0.485))), ("n", 3)]).serialized(pretty: false) == #"{"x":0.485,"n":3}"#)
  }
}

/// Expects loading `path` to fail with bad data (exit 65), in one message that starts with the path and mentions each
/// of `mentions` (shared by the suites that feed the loader bad files).
func expectLoadError(_ path: String, mentions: String..., sourceLocation: SourceLocation = #_sourceLocation) {
  do {
    _ = try ModelLoader.load(path: path)
    Issue.record("expected an error mentioning \(mentions.map { "'\($0)'" }.joined(separator: " and "))",
                 sourceLocation: sourceLocation)
  } catch {
    for mention in mentions {
      #expect(error.description.contains(mention), "\(error.description)", sourceLocation: sourceLocation)
    }
    #expect(error.description.hasPrefix(path), "\(error.description)", sourceLocation: sourceLocation)
    #expect(error.exitCode == 65, sourceLocation: sourceLocation)
  }
}
