// Shared leading blocks: a pass that continues the baseline's records after a method's leading baseline blocks
// (`ForwardPass(continuing:blocks:policy:)`, what `eval` does to run those blocks once per image for every method)
// equals the method's own pass from the start, bit for bit: every block's output tokens, sizes and partition, its
// attention probabilities, MACs and event, and the logits. The reference is the engine's own plain pass; what the test
// holds is that each policy's `leadingBaselineBlocks` claim is true.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

@Suite("Baseline blocks shared with the methods")
struct PrefixReuseTests {
  /// Runs `policy` plainly and continued from the baseline; returns the blocks shared (0: none, nothing compared).
  @discardableResult
  static func compare(_ model: ViTModel, _ policy: any TokenPolicy, input: ModelInput, _ at: String) -> Int {
    let k = min(policy.leadingBaselineBlocks, model.depth)
    guard k > 0 else { return 0 }
    let plain = ForwardPass(model: model, input: input, policy: policy)
    let plainPrediction = plain.output()
    let base = ForwardPass(model: model, input: input)
    for _ in 0..<k { base.step() }
    let continued = ForwardPass(continuing: base, blocks: k, policy: policy)
    let prediction = continued.output()
    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }
    #expect(continued.records.count == plain.records.count, "\(at)")
    for (a, b) in zip(continued.records, plain.records) {
      let block = "\(at) block \(a.index) (shared \(k))"
      #expect(bits(a.output.x.data) == bits(b.output.x.data), "\(block): tokens")
      #expect(a.output.size == b.output.size && a.output.patchToken == b.output.patchToken, "\(block): sizes, partition")
      #expect(bits(a.probabilities) == bits(b.probabilities), "\(block): probabilities")
      #expect(a.macs == b.macs && a.event == b.event, "\(block): MACs, event")
    }
    #expect(continued.totalMACs == plain.totalMACs, "\(at): total MACs")
    #expect(bits(prediction.logits ?? []) == bits(plainPrediction.logits ?? []), "\(at): logits")
    return k
  }

  /// Every method at its defaults and its heaviest sweep setting, on the bundled 12-block model (what `eval --sweep`
  /// shares blocks for).
  @Test func everyMethodOnTheBundledModel() throws {
    let model = try ModelLoader.load(path: repositoryRoot + "/samples/models/fashion-vit.safetensors")
    let input = randomInput(model, seed: 11)
    var shared: [String: Int] = [:]
    for descriptor in MethodRegistry.all {
      let base = try MethodSpec.parse(descriptor.name)
      let heaviest = try descriptor.sweep.flatMap { sweep in try sweep.values.last.map { try base.setting(sweep.key, to: $0) } }
      for spec in [base] + (heaviest.map { [$0] } ?? []) {
        // Methods reading a file (UP-ViT's importance, DToMe's calibration) or changing the model share nothing.
        guard case .tokenPolicy(let policy)? = try? spec.configuration.action(for: model) else { continue }
        shared[spec.name] = Self.compare(model, policy, input: input, spec.canonical)
      }
    }
    // What eval --sweep shares: EViT, MSTM, IdleViT and ATC start at block 3, VisionZip compresses block 10's output.
    #expect(shared["evit"] == 3 && shared["mstm"] == 3 && shared["idle"] == 3 && shared["atc"] == 3, "\(shared)")
    #expect(shared["visionzip"] == 10 && shared["none"] == 12, "\(shared)")
  }

  /// Layers starting at blocks 1 and 2 on the fixtures (one and two prefix tokens, patch 2), proportional attention
  /// on and off.
  @Test("on the fixtures", arguments: ["vit", "deit_distilled", "grey_p2"])
  func earlyLayersOnTheFixtures(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let specs = ["evit:keep=0.5,layers=1/2", "evit:keep=0.7,layers=2,fuse=false", "mstm:keep=0.4,layers=2",
                 "mstm:keep=0.5,layers=1/2,prop=false", "idle:keep=0.5,layers=1-2", "atc:keep=0.5,layers=1/2",
                 "visionzip:dominant=4,contextual=2,layer=1", "clustr:clusters=5,k=3,layers=1/2"]
    for spec in specs {
      guard case .tokenPolicy(let policy) = try MethodSpec.parse(spec).configuration.action(for: model) else {
        Issue.record("\(spec): not a token policy"); continue
      }
      #expect(Self.compare(model, policy, input: randomInput(model, seed: 3), "\(fixture) \(spec)") > 0, "\(spec)")
    }
  }
}
