// Token methods against the torch reference (Tests/Fixtures/methods_reference.py, written from methods.md):
// per block, the partition (which token holds each patch), the patch states and the token sizes must be equal,
// token for token; outputs, features and logits within the foundation tolerance.
import Testing
@testable import TokenMethods
@testable import ViTEngine

let fixturesDirectory: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
  parts.removeLast(2)
  return parts.joined(separator: "/") + "/Fixtures/models"
}()

func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
  guard actual.count == expected.count, !expected.isEmpty else { return }
  let scale = max(1, expected.map(abs).max()!)
  let worst = zip(actual, expected).map { abs($0 - $1) }.max()!
  #expect(worst <= 1e-4 * scale, "\(what): max |a-b| = \(worst), limit \(1e-4 * scale)", sourceLocation: sourceLocation)
}

struct MethodCase: CustomTestStringConvertible, Sendable {
  let fixture: String, spec: String, file: String
  var testDescription: String { "\(fixture) \(spec)" }
}

let methodCases: [MethodCase] = {
  var cases: [MethodCase] = []
  for fixture in ["vit", "deit_distilled", "dinov2", "grey_p2", "hf_vit"] {
    let path = "\(fixturesDirectory)/\(fixture)/methods/manifest.json"
    guard let bytes = readAll(path), let manifest = try? JSONParser.parse(bytes).objectValue else { continue }
    for (spec, file) in manifest { cases.append(MethodCase(fixture: fixture, spec: spec, file: file.stringValue ?? "")) }
  }
  return cases
}()

func readAll(_ path: String) -> [UInt8]? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var out: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 4096)
  while case let n = fread(&buffer, 1, 4096, f), n > 0 { out += buffer[0..<n] }
  return out
}

func loadInput(_ fixture: String) throws -> ModelInput {
  let expected = try SafetensorsFile(path: "\(fixturesDirectory)/\(fixture)/expected.safetensors")
  let s = expected.tensors["input"]!.shape
  return ModelInput(channels: s[0], height: s[1], width: s[2], pixels: try expected.floats("input"))
}

@Suite("Token methods vs the torch reference")
struct MethodParityTests {
  @Test func casesWereFound() { #expect(methodCases.count >= 16) }

  @Test("partitions, states and outputs", arguments: methodCases)
  func parity(_ c: MethodCase) throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/\(c.fixture)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(fixturesDirectory)/\(c.fixture)/methods/\(c.file)")
    let spec = try MethodSpec.parse(c.spec)
    let pass = ForwardPass(model: model, input: try loadInput(c.fixture), policy: try spec.makePolicy(depth: model.depth))
    let prediction = pass.output()
    let states = PatchState.allCases
    for r in pass.records {
      let i = r.index
      let token = try reference.floats("patch_token.\(i)").map { Int32($0) }
      #expect(r.output.patchToken == token, "\(c.testDescription) block \(i): patch_token")
      let state = try reference.floats("patch_state.\(i)").map { states[Int($0)] }
      #expect(r.output.patchState == state, "\(c.testDescription) block \(i): patch_state")
      #expect(r.output.size == (try reference.floats("token_size.\(i)")), "\(c.testDescription) block \(i): token_size")
      expectClose(r.output.x.data, try reference.floats("block_out.\(i)"), "\(c.testDescription) block \(i) output")
    }
    expectClose(prediction.classFeatures, try reference.floats("features"), "\(c.testDescription) features")
    if let logits = prediction.logits { expectClose(logits, try reference.floats("logits"), "\(c.testDescription) logits") }
  }
}

#if canImport(Glibc)
import Glibc
#endif
