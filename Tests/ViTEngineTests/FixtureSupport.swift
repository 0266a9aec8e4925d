import Testing
@testable import ViTEngine

/// Tests/Fixtures, found from this file so both `swift test` and other harnesses see the same files.
let fixturesDirectory: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
  parts.removeLast(2)  // ViTEngineTests/FixtureSupport.swift
  return parts.joined(separator: "/") + "/Fixtures"
}()

func modelFixture(_ name: String) -> String { "\(fixturesDirectory)/models/\(name)/model.safetensors" }

struct Expected {
  let file: SafetensorsFile
  init(_ name: String) throws { file = try SafetensorsFile(path: "\(fixturesDirectory)/models/\(name)/expected.safetensors") }
  func has(_ key: String) -> Bool { file.tensors[key] != nil }
  func floats(_ key: String) throws -> [Float] { try file.floats(key) }
  func shape(_ key: String) -> [Int] { file.tensors[key]!.shape }
}

/// max |a - b| <= 1e-4 * max(1, max |b|): the parity tolerance of the foundation issue.
func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, tolerance: Float = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
  guard actual.count == expected.count else { return }
  let scale = max(1, expected.map(abs).max() ?? 0)
  var worst = 0, worstDiff: Float = 0
  for i in 0..<actual.count where !(abs(actual[i] - expected[i]) <= worstDiff) {
    worstDiff = abs(actual[i] - expected[i]); worst = i
  }
  #expect(worstDiff <= tolerance * scale,
          "\(what): max |a-b| = \(worstDiff) at \(worst) (got \(actual[worst]), expected \(expected[worst])), limit \(tolerance * scale)",
          sourceLocation: sourceLocation)
}

func modelInput(_ expected: Expected, key: String = "input") throws -> ModelInput {
  let s = expected.shape(key)
  return ModelInput(channels: s[0], height: s[1], width: s[2], pixels: try expected.floats(key))
}
