// Files that are not safetensors (PyTorch zip and pickle checkpoints, GGUF, ONNX, text) are named for what they are,
// with how to convert them; a Hugging Face save_pretrained folder loads its model.safetensors.
import Foundation
import Testing
import TestSupport
@testable import ViTEngine

@Suite("Checkpoint formats")
struct CheckpointFormatTests {
  func write(_ bytes: [UInt8], _ name: String) throws -> String {
    let dir = NSTemporaryDirectory() + "tokenscope-formats-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try Data(bytes + [UInt8](repeating: 0, count: 64)).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test(arguments: [
    ([0x50, 0x4B, 0x03, 0x04, 0x00], "model.pth", "a PyTorch checkpoint (torch.save zip)"),
    ([0x80, 0x02, 0x8A, 0x0A], "model.bin", "a pickled PyTorch checkpoint"),
    (Array("GGUF".utf8) + [3, 0, 0, 0], "model.gguf", "a GGUF (llama.cpp) file"),
    ([0x08, 0x07, 0x12, 0x07], "model.onnx", "an ONNX model"),
  ] as [([UInt8], String, String)])
  func otherFormatsAreNamed(bytes: [UInt8], name: String, says: String) throws {
    let path = try write(bytes, name)
    do {
      _ = try ModelLoader.load(path: path)
      Issue.record("\(name) loaded")
    } catch {
      #expect(error.description.hasPrefix("\(path): \(says)"), "\(error)")
      #expect(error.description.contains("safetensors"))
      #expect(error.exitCode == 65)
    }
  }

  @Test func textIsNamed() throws {
    let dir = NSTemporaryDirectory() + "tokenscope-formats-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/config.json"
    try Data("{\"architecture\": \"vit_small_patch16_224\"}\n".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: CheckpointError.unrecognized(path: path, reason: OtherCheckpointFormat.text.explanation)) {
      try ModelLoader.load(path: path)
    }
  }

  @Test func aModelFolderLoadsItsSafetensors() throws {
    let folder = fixturesDirectory + "/models/hf_vit"
    let model = try ModelLoader.load(path: folder)
    #expect(model.info.path == folder + "/model.safetensors")
    #expect(model.depth == (try ModelLoader.load(path: folder + "/model.safetensors")).depth)
    let empty = NSTemporaryDirectory() + "tokenscope-empty-\(getpid())"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    do { _ = try ModelLoader.load(path: empty); Issue.record("an empty folder loaded") } catch {
      #expect(error.description.contains("a folder without model.safetensors") && error.exitCode == 66)
    }
  }
}
