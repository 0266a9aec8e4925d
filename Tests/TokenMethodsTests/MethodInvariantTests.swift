// Properties that hold on any input: sizes are conserved (pruned patches aside), prefix tokens stay first and pass
// through every reduction unchanged, provenance points at live tokens, and the identity settings reproduce the
// baseline bit for bit.
import Synchronization
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

func randomInput(_ model: ViTModel, seed: UInt64) -> ModelInput {
  var state = seed
  let s = model.info.inputSize
  let n = model.shape.inChannels * s.height * s.width
  let pixels: [Float] = (0..<n).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Int64(bitPattern: state >> 11) % 4000) / 1000
  }
  return ModelInput(channels: model.shape.inChannels, height: s.height, width: s.width, pixels: pixels)
}

/// Wraps a method's policy and watches its prefix tokens at the hooks where the method changes the sequence: the
/// rows of `state.x` and the sizes of the prefix just before and just after `reduce`, and the idle selection (which
/// must keep every prefix token active). Every hook is forwarded unchanged, so the pass is the method's own.
struct PrefixWatch: TokenPolicy {
  final class Log: Sendable {
    let violations = Mutex<[String]>([])
    let reductions = Mutex(0)
    func add(_ message: String) { violations.withLock { $0.append(message) } }
  }

  let inner: any TokenPolicy
  let log = Log()

  func select(block: Int, state: TokenState, projections: ProjectionView) -> TokenSelection? {
    let selection = inner.select(block: block, state: state, projections: projections)
    if let selection, Array(selection.tokens.prefix(state.prefixCount)) != Array(0..<state.prefixCount) {
      log.add("block \(block): the active tokens start \(selection.tokens.prefix(state.prefixCount)), not the prefix")
    }
    return selection
  }

  func selectsTokens(block: Int, state: TokenState) -> Bool { inner.selectsTokens(block: block, state: state) }

  func keyValues(block: Int, state: TokenState, normalized: Matrix) -> KeyValueGroups? {
    inner.keyValues(block: block, state: state, normalized: normalized)
  }

  func attentionBias(block: Int, state: TokenState) -> AttentionBias { inner.attentionBias(block: block, state: state) }

  func extraMACs(block: Int, counts: BlockTokenCounts, shape: BlockShape) -> Int {
    inner.extraMACs(block: block, counts: counts, shape: shape)
  }

  func plannedCounts(block: Int, tokensIn: Int, shape: BlockShape) -> BlockTokenCounts? {
    inner.plannedCounts(block: block, tokensIn: tokensIn, shape: shape)
  }

  func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let prefix = state.prefixCount, c = state.x.cols
    let rows = Array(state.x.data[0..<(prefix * c)]), sizes = Array(state.size[0..<prefix])
    let outcome = inner.reduce(block: block, state: &state, attention: attention)
    log.reductions.withLock { $0 += 1 }
    for t in 0..<prefix where state.x.data[(t * c)..<((t + 1) * c)] != rows[(t * c)..<((t + 1) * c)] {
      log.add("block \(block): prefix token \(t) changed in the reduction")
    }
    if Array(state.size[0..<prefix]) != sizes { log.add("block \(block): prefix sizes \(sizes) became \(state.size[0..<prefix])") }
    return outcome
  }
}

/// A broken method for the watch to catch: ToMe that also nudges the CLS token in block 1.
struct PrefixTamperingToMe: TokenPolicy {
  let tome: any TokenPolicy
  func attentionBias(block: Int, state: TokenState) -> AttentionBias { tome.attentionBias(block: block, state: state) }
  func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let outcome = tome.reduce(block: block, state: &state, attention: attention)
    if block == 1 { state.x.data[3] += 1e-3 }
    return outcome
  }
}

@Suite("Token method invariants")
struct MethodInvariantTests {
  static let specs = ["tome:r=2", "tome:r=5", "tome:r=3,schedule=decreasing", "evit:keep=0.5,layers=0/1/2",
                      "evit:keep=0.6,layers=1,fuse=false", "evit:keep=0.3,layers=0-2", "idle:keep=0.5,layers=0-2",
                      "mstm:keep=0.4,layers=0/2", "mstm:keep=0.6,layers=1,weight=size", "clustr:clusters=5,k=3,layers=0/2"]

  @Test("invariants on random inputs", arguments: specs)
  func invariants(spec: String) throws {
    for fixture in ["grey_p2", "deit_distilled", "dinov2"] {
      let model = try ModelLoader.load(path: modelFixture(fixture))
      for seed in 1...3 {
        let watch = PrefixWatch(inner: try MethodSpec.parse(spec).makePolicy(depth: model.depth))
        let pass = ForwardPass(model: model, input: randomInput(model, seed: UInt64(seed)), policy: watch)
        pass.run()
        #expect(watch.log.reductions.withLock { $0 } == model.depth, "\(fixture) \(spec): every block's reduction was watched")
        #expect(watch.log.violations.withLock { $0 } == [], "\(fixture) \(spec) seed \(seed): prefix tokens pass through unchanged")
        let prefix = model.prefixCount
        for r in pass.records {
          let s = r.output
          let pruned = s.patchState.filter { $0 == .pruned }.count
          #expect(Int(s.totalSize.rounded()) + pruned == prefix + s.grid.count, "\(fixture) \(spec): sizes + pruned = patches + prefix")
          #expect(s.size[0..<prefix].allSatisfy { $0 == 1 }, "prefix tokens are never merged")
          for (p, t) in s.patchToken.enumerated() {
            #expect(t == -1 ? s.patchState[p] == .pruned : Int(t) >= prefix && Int(t) < s.tokenCount, "patch \(p) -> \(t)")
          }
          // Each token's size is the number of patches it holds.
          var held = [Float](repeating: 0, count: s.tokenCount)
          for t in s.patchToken where t >= 0 { held[Int(t)] += 1 }
          #expect(Array(held[prefix...]) == Array(s.size[prefix...]), "\(fixture) \(spec) block \(r.index): sizes = patches held")
        }
      }
    }
  }

  @Test("the prefix watch catches a method that changes a prefix token")
  func watchCatchesATamperedPrefix() throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/deit_distilled/model.safetensors")
    let watch = PrefixWatch(inner: PrefixTamperingToMe(tome: try MethodSpec.parse("tome:r=2").makePolicy(depth: model.depth)))
    ForwardPass(model: model, input: randomInput(model, seed: 1), policy: watch).run()
    #expect(watch.log.violations.withLock { $0 } == ["block 1: prefix token 0 changed in the reduction"])
  }

  /// ATC at keep 1 asks vit's blocks for as many clusters as its 16 patches, so nothing merges.
  @Test("identity settings reproduce the baseline bit for bit",
        arguments: ["tome:r=0", "tome:r=0,prop=false", "evit:keep=1", "evit:keep=0.5,layers=", "pitome:ratio=1",
                    "pitome:ratio=1,prop=true", "atc:layers=none", "atc:keep=1,layers=0-2,prop=false"])
  func identity(spec: String) throws {
    let model = try ModelLoader.load(path: modelFixture("vit"))
    let input = randomInput(model, seed: 9)
    let base = ForwardPass(model: model, input: input)
    let method = ForwardPass(model: model, input: input, policy: try MethodSpec.parse(spec).makePolicy(depth: model.depth))
    #expect(base.output().logits == method.output().logits)
    for (a, b) in zip(base.records, method.records) { #expect(a.output.x == b.output.x && a.probabilities == b.probabilities) }
  }

  @Test func deitSmallTokenCounts() throws {
    let shape = ModelShape.deit("deit-s")!
    let evit = try #require(MACCounter.planned(shape, policy: try MethodSpec.parse("evit:keep=0.7").makePolicy(depth: 12)))
    #expect(evit.blocks.map(\.counts.mlpTokens) == [197, 197, 197, 140, 140, 140, 100, 100, 100, 72, 72, 72])
    let tome = try #require(MACCounter.planned(shape, policy: try MethodSpec.parse("tome:r=13").makePolicy(depth: 12)))
    #expect(tome.blocks.last?.counts.tokensOut == 41)
    #expect(tome.blocks.map(\.counts.tokensIn) == [197, 184, 171, 158, 145, 132, 119, 106, 93, 80, 67, 54])
    let idle = try #require(MACCounter.planned(shape, policy: try MethodSpec.parse("idle:keep=0.7").makePolicy(depth: 12)))
    #expect(idle.blocks.map { $0.counts.queries - 1 } == [196, 196, 196, 137, 137, 137, 96, 96, 96, 67, 67, 67])
    #expect(idle.blocks.allSatisfy { $0.counts.tokensOut == 197 })
  }

  @Test(arguments: [("evit:keep=0.9", "4.0"), ("evit:keep=0.8", "3.5"), ("evit:keep=0.7", "3.0"), ("evit:keep=0.6", "2.6"),
                    ("evit:keep=0.5", "2.3"), ("tome:r=13", "2.7"), ("idle:keep=0.7", "3.0"), ("idle:keep=0.5", "2.3"),
                    ("mstm:keep=0.7", "3.0")])
  func papersFigures(spec: String, gmacs: String) throws {
    let shape = ModelShape.deit("deit-s")!
    let total = try #require(MACCounter.planned(shape, policy: try MethodSpec.parse(spec).makePolicy(depth: 12))).total
    let rounded = (Double(total) / 1e8).rounded() / 10
    #expect("\(rounded)" == gmacs, "\(spec): \(total)")
  }

  @Test func specsParseAndPrintCanonically() throws {
    #expect(try MethodSpec.parse("tome").canonical == "tome:r=13,schedule=constant,prop=true")
    #expect(try MethodSpec.parse("EViT:fuse=false,keep=0.5").canonical == "evit:keep=0.5,layers=3/6/9,fuse=false")
    for bad in ["tome:r=-1", "tome:x=1", "evit:keep=1.5", "evit:layers=a", "tome:r", "nope", "tome:r=1,r=2", "evit:fuse=maybe"] {
      #expect(throws: MethodSpecError.self, "\(bad)") { try MethodSpec.parse(bad) }
    }
    do { _ = try MethodSpec.parse("nope") } catch { #expect(error.description.contains("valid methods: none, tome, evit, idle, mstm")) }
  }
}
