// Specs that name blocks a model does not have, and more methods than the explorer shows, are refused with the valid
// range instead of being accepted silently.
import Testing
import TestSupport

@Suite("Method specs against the model")
struct SpecValidationTests {
  @Test(arguments: ["evit:layers=3", "evit:layers=1/20", "idle:layers=1-20", "clustr:layers=0/5"])
  func blocksBeyondTheModelAreRefused(spec: String) throws {
    // The fixture has 3 blocks (0-2).
    let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit", "model.safetensors"),
                            "--preprocess", "none", "--method", spec])
    #expect(r.status == 64, "\(spec): exit \(r.status) \(r.stderr)")
    #expect(r.stderr.contains("this model has 3 blocks, 0-2"), "\(spec): \(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1)
  }

  @Test func defaultsThatPassTheModelsEndStillRun() throws {
    // evit's default layers=3/6/9 and idle's 3-11 are defaults, not requests: on a 3-block model they act nowhere.
    for spec in ["evit", "idle", "evit:keep=0.5,layers=1/2"] {
      let r = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit", "model.safetensors"),
                              "--preprocess", "none", "--method", spec, "--format", "json"])
      #expect(r.status == 0, "\(spec): \(r.stderr)")
    }
  }

  @Test func aFifthMethodIsRefused() throws {
    let r = try tokenscope(["explore", "--method", "none", "--method", "tome", "--method", "evit", "--method", "idle",
                            "--method", "mstm"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("at most 4 --method"), "\(r.stderr)")
  }
}
