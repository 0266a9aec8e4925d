import Testing
import TestSupport
@testable import ViTEngine

struct Expected {
  let file: SafetensorsFile
  init(_ name: String) throws { file = try SafetensorsFile(path: modelFixture(name, "expected.safetensors")) }
  func has(_ key: String) -> Bool { file.tensors[key] != nil }
  func floats(_ key: String) throws -> [Float] { try file.floats(key) }
  func shape(_ key: String) -> [Int] { file.tensors[key]!.shape }
}

func modelInput(_ expected: Expected, key: String = "input") throws -> ModelInput {
  let s = expected.shape(key)
  return ModelInput(channels: s[0], height: s[1], width: s[2], pixels: try expected.floats(key))
}
