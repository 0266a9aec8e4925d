// Token methods against the torch reference (Tests/Fixtures/methods_reference.py, written from the specification in the method articles (TokenMethods.docc)):
// per block, the partition (which token holds each patch), the patch states and the token sizes must be equal,
// token for token; outputs, features and logits within the foundation tolerance.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

struct MethodCase: CustomTestStringConvertible, Sendable {
  let fixture: String, spec: String
  var testDescription: String { "\(fixture) \(spec)" }
}

let allFixtures = ["vit", "vit_f16", "vit_bf16", "deit_distilled", "dinov2", "grey_p2", "hf_vit", "hf_deit", "hf_dinov2", "vit_ls"]

/// Every (fixture, spec) recorded in the fixtures' methods.safetensors ("SPEC|patch_token" keys).
let methodCases: [MethodCase] = allFixtures.flatMap { fixture -> [MethodCase] in
  guard let file = try? SafetensorsFile(path: modelFixture(fixture, "methods.safetensors")) else { return [] }
  return file.names.filter { $0.hasSuffix("|patch_token") }.map { MethodCase(fixture: fixture, spec: String($0.dropLast("|patch_token".count))) }
}

func loadInput(_ fixture: String) throws -> ModelInput {
  let expected = try SafetensorsFile(path: modelFixture(fixture, "expected.safetensors"))
  let s = expected.tensors["input"]!.shape
  return ModelInput(channels: s[0], height: s[1], width: s[2], pixels: try expected.floats("input"))
}

@Suite("Token methods vs the torch reference")
struct MethodParityTests {
  /// The grid (ToMe r=2/4, EViT 0.7/0.5 with and without fusion, IdleViT 0.7/0.5, MSTM 0.7) on every fixture.
  @Test func everyFixtureHasTheWholeGrid() {
    for fixture in allFixtures { #expect(methodCases.filter { $0.fixture == fixture }.count >= 9, "\(fixture)") }
  }

  @Test("partitions, states and outputs", arguments: methodCases)
  func parity(_ c: MethodCase) throws {
    let model = try ModelLoader.load(path: modelFixture(c.fixture))
    let reference = try SafetensorsFile(path: modelFixture(c.fixture, "methods.safetensors"))
    func tensor(_ key: String) throws -> [Float] { try reference.floats("\(c.spec)|\(key)") }
    let spec = try MethodSpec.parse(c.spec)
    let pass = ForwardPass(model: model, input: try loadInput(c.fixture), policy: spec.makePolicy(depth: model.depth))
    let prediction = pass.output()
    let states = PatchState.allCases
    let patches = pass.grid.count
    let tokens = try tensor("patch_token"), stateCodes = try tensor("patch_state"), sizes = try tensor("token_size")
    let padded = sizes.count / model.depth
    for r in pass.records {
      let i = r.index
      let token = tokens[(i * patches)..<((i + 1) * patches)].map { Int32($0) }
      #expect(r.output.patchToken == token, "\(c.testDescription) block \(i): patch_token")
      let state = stateCodes[(i * patches)..<((i + 1) * patches)].map { states[Int($0)] }
      #expect(r.output.patchState == state, "\(c.testDescription) block \(i): patch_state")
      let size = Array(sizes[(i * padded)..<(i * padded + r.output.tokenCount)])
      #expect(r.output.size == size, "\(c.testDescription) block \(i): token_size")
      // ClusTR: each patch's key/value cluster (-1: the block attended normally).
      if reference.tensors["\(c.spec)|cluster"] != nil {
        let expected = try tensor("cluster")[(i * patches)..<((i + 1) * patches)].map { Int($0) }
        let actual = r.keyGroups.map { g in r.output.patchToken.map { Int(g[Int($0)]) - r.output.prefixCount } }
          ?? Array(repeating: -1, count: patches)
        #expect(actual == expected, "\(c.testDescription) block \(i): cluster")
      }
    }
    expectClose(prediction.classFeatures, try tensor("features"), "\(c.testDescription) features")
    if reference.tensors["\(c.spec)|logits"] != nil, let logits = prediction.logits {
      expectClose(logits, try tensor("logits"), "\(c.testDescription) logits")
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
