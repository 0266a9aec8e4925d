// PiToMe and ATC against their torch reference (Tests/Fixtures/merging_reference.py). That reference was written in
// this project from the PiToMe and ATC articles (TokenMethods.docc) after reading the official code; it is not the
// official code. Per block the partition (which token holds each patch), the patch states and the token sizes must be
// equal token for token; features and logits within 1e-4 relative to their scale. Decisions are compared in float32:
// the reference refuses to record a run whose smallest decision margin (energy gaps, partner gaps, cluster-distance
// gaps) is below 5e-6, about 70 times the float32 noise of an energy, and each record carries its margin.
// Then the invariants on random inputs, the token-count formulas, the DeiT figures of the articles, and the
// clustering against a brute-force search.
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

/// Every (fixture, spec) recorded in the fixtures' merging.safetensors.
let mergingCases: [MethodCase] = allFixtures.flatMap { fixture -> [MethodCase] in
  guard let file = try? SafetensorsFile(path: "\(fixturesDirectory)/models/\(fixture)/merging.safetensors") else { return [] }
  return file.names.filter { $0.hasSuffix("|patch_token") }.map { MethodCase(fixture: fixture, spec: String($0.dropLast("|patch_token".count))) }
}

@Suite("PiToMe and ATC vs the torch reference")
struct MergingParityTests {
  @Test func everyFixtureIsRecorded() {
    for fixture in allFixtures {
      let specs = mergingCases.filter { $0.fixture == fixture }.map(\.spec)
      #expect(specs.filter { $0.hasPrefix("pitome") }.count >= 4 && specs.filter { $0.hasPrefix("atc") }.count >= 3, "\(fixture)")
    }
  }

  @Test("partitions, states, sizes and outputs", arguments: mergingCases)
  func parity(_ c: MethodCase) throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/\(c.fixture)/model.safetensors")
    let reference = try SafetensorsFile(path: "\(fixturesDirectory)/models/\(c.fixture)/merging.safetensors")
    func tensor(_ key: String) throws -> [Float] { try reference.floats("\(c.spec)|\(key)") }
    #expect(try tensor("margin")[0] >= 5e-6, "\(c.testDescription): recorded on a near-tie")
    let spec = try MethodSpec.parse(c.spec)
    let pass = ForwardPass(model: model, input: try loadInput(c.fixture), policy: spec.makePolicy(depth: model.depth))
    let prediction = pass.output()
    let patches = pass.grid.count
    let tokens = try tensor("patch_token"), stateCodes = try tensor("patch_state"), sizes = try tensor("token_size")
    let padded = sizes.count / model.depth
    for r in pass.records {
      let i = r.index
      #expect(r.output.patchToken == tokens[(i * patches)..<((i + 1) * patches)].map { Int32($0) }, "\(c.testDescription) block \(i): patch_token")
      #expect(r.output.patchState == stateCodes[(i * patches)..<((i + 1) * patches)].map { PatchState.allCases[Int($0)] },
              "\(c.testDescription) block \(i): patch_state")
      #expect(r.output.size == Array(sizes[(i * padded)..<(i * padded + r.output.tokenCount)]), "\(c.testDescription) block \(i): token_size")
    }
    expectClose(prediction.classFeatures, try tensor("features"), "\(c.testDescription) features")
    if reference.tensors["\(c.spec)|logits"] != nil, let logits = prediction.logits {
      expectClose(logits, try tensor("logits"), "\(c.testDescription) logits")
    }
  }
}

@Suite("PiToMe and ATC: invariants, counts and figures")
struct MergingMethodTests {
  static let specs = ["pitome:ratio=0.5", "pitome:ratio=0.7,bsm=none", "pitome:ratio=0.8,bsm=all,prop=true",
                      "pitome:ratio=0.6,margin=0.2,alpha=3,bsm=1", "atc:keep=0.5,layers=0-2", "atc:keep=0.3,layers=0/2,linkage=single",
                      "atc:keep=0.8,layers=1/2,linkage=complete,prop=false"]

  @Test("invariants on random inputs", arguments: specs)
  func invariants(spec: String) throws {
    let parsed = try MethodSpec.parse(spec)
    for fixture in ["grey_p2", "deit_distilled", "dinov2"] {
      let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/\(fixture)/model.safetensors")
      let prefix = model.prefixCount
      for seed in 1...3 {
        let pass = ForwardPass(model: model, input: randomInput(model, seed: UInt64(seed)), policy: parsed.makePolicy(depth: model.depth))
        pass.run()
        var before = pass.state(after: nil)
        for r in pass.records {
          let s = r.output
          #expect(Int(s.totalSize.rounded()) == prefix + s.grid.count, "\(fixture) \(spec): sizes sum to the patches")
          #expect(s.size[0..<prefix].allSatisfy { $0 == 1 }, "\(fixture) \(spec): a prefix token was merged")
          for p in 0..<prefix { #expect(s.x.row(p) == r.output.x.row(p)) }
          #expect(s.patchToken.allSatisfy { Int($0) >= prefix && Int($0) < s.tokenCount }, "\(fixture) \(spec): provenance")
          var held = [Float](repeating: 0, count: s.tokenCount)
          for t in s.patchToken { held[Int(t)] += 1 }
          #expect(Array(held[prefix...]) == Array(s.size[prefix...]), "\(fixture) \(spec) block \(r.index): sizes = patches held")
          // Token counts follow the formula, and the planned count agrees with what ran.
          let shape = BlockShape(model.shape, block: r.index, grid: pass.grid)
          #expect(r.tokensOut == expectedCount(parsed, block: r.index, tokensIn: before.tokenCount, prefix: prefix,
                                               patches: pass.grid.count, depth: model.depth),
                  "\(fixture) \(spec) block \(r.index): \(before.tokenCount) -> \(r.tokensOut)")
          #expect(parsed.makePolicy(depth: model.depth).plannedCounts(block: r.index, tokensIn: before.tokenCount, shape: shape)?.tokensOut == r.tokensOut)
          // A patch once merged stays merged; every other patch is kept (neither method prunes or fuses).
          for p in 0..<s.grid.count {
            #expect(s.patchState[p] == .kept || s.patchState[p] == .merged)
            if before.patchState[p] == .merged { #expect(s.patchState[p] == .merged) }
          }
          before = s
        }
      }
    }
  }

  /// The token count after a block, from the articles' formulas written out independently of the policies.
  func expectedCount(_ spec: MethodSpec, block: Int, tokensIn n: Int, prefix: Int, patches: Int, depth: Int) -> Int {
    let t = n - prefix
    if let pitome = spec.configuration as? PiToMe {
      let r = pitome.ratio < 1 ? Int((Double(t) - Double(t) * pitome.ratio).rounded(.down)) : 0
      return n - r
    }
    let atc = spec.configuration as! ATC
    guard let i = atc.layers.firstIndex(of: block) else { return n }
    var rate = 1.0
    for _ in 0...i { rate *= atc.keepRate }
    let k = Int(Double(patches) * rate)
    return k > 0 && k < t ? prefix + k : n
  }

  @Test func mergeCountIsComputedInTheOfficialOrder() {
    // T*ratio is rounded before the subtraction: 180 - 162 = 18; floor(180 * (1 - 0.9)) would be 17.
    let policy = PiToMePolicy(try! MethodSpec.parse("pitome:ratio=0.9").configuration as! PiToMe, depth: 12)
    #expect(policy.merges(tokens: 180) == 18 && Int((180 * (1 - 0.9)).rounded(.down)) == 17)
    #expect(policy.merges(tokens: 196) == 19 && policy.merges(tokens: 5) == 0 && policy.merges(tokens: 10) == 1)
    // The margins fall linearly from m0 in block 0, in double: 0.75, 0.6875, ..., 0.0625.
    #expect(policy.margins.first == 0.75 && policy.margins[1] == 0.6875 && policy.margins.last == 0.0625)
    #expect(policy.bsmBlocks == Array(0...5))
    let odd = PiToMePolicy(try! MethodSpec.parse("pitome:ratio=0.5").configuration as! PiToMe, depth: 3)
    #expect(odd.bsmBlocks == [0, 1] && odd.merges(tokens: 9) == 4)
  }

  @Test func deitSmallTokenCounts() throws {
    let shape = ModelShape.deit("deit-s")!
    func after(_ spec: String) throws -> [Int] {
      try #require(MACCounter.planned(shape, policy: try MethodSpec.parse(spec).makePolicy(depth: 12))).blocks.map(\.counts.tokensOut)
    }
    // The articles' tables (PiToMe: every block; ATC: blocks 3, 6 and 9).
    #expect(try after("pitome:ratio=0.9") == [178, 161, 145, 131, 118, 107, 97, 88, 80, 73, 66, 60])
    #expect(try after("pitome:ratio=0.975") == [193, 189, 185, 181, 177, 173, 169, 165, 161, 157, 154, 151])
    #expect(try after("pitome:ratio=0.8") == [158, 127, 102, 82, 66, 53, 43, 35, 29, 24, 20, 17])
    #expect(try after("atc:keep=0.7") == [197, 197, 197, 138, 138, 138, 97, 97, 97, 68, 68, 68])
    #expect(try after("atc:keep=0.9").last == 143 && after("atc:keep=0.5").last == 25 && after("atc:keep=0.25").last == 4)
  }

  /// GMACs on DeiT at 224 px without and with the method's own work, to three decimals (fvcore convention).
  @Test(arguments: [
    ("deit-s", "pitome:ratio=0.9", "2.600", "0.012"), ("deit-s", "pitome:ratio=0.975", "4.014", "0.023"),
    ("deit-s", "pitome:ratio=0.925", "2.998", "0.015"), ("deit-s", "pitome:ratio=0.8", "1.589", "0.007"),
    ("deit-b", "pitome:ratio=0.9", "9.977", "0.012"), ("deit-t", "pitome:ratio=0.9", "0.703", "0.012"),
    ("deit-s", "atc:keep=0.7", "2.986", "0.004"), ("deit-s", "atc:keep=0.9", "3.968", "0.006"),
    ("deit-s", "atc:keep=0.5", "2.282", "0.003"), ("deit-s", "atc:keep=0.25", "1.702", "0.003"),
    ("deit-b", "atc:keep=0.7", "11.434", "0.004"), ("deit-t", "atc:keep=0.7", "0.811", "0.004"),
  ])
  func articleFigures(arch: String, spec: String, gmacs: String, extra: String) throws {
    let planned = try #require(MACCounter.planned(ModelShape.deit(arch)!, policy: try MethodSpec.parse(spec).makePolicy(depth: 12)))
    let own = planned.blocks.reduce(0) { $0 + $1.macs.extra }
    #expect(thousandths(Double(planned.total - own) / 1e9) == gmacs, "\(arch) \(spec): \(planned.total - own)")
    #expect(thousandths(Double(own) / 1e9) == extra, "\(arch) \(spec): extra \(own)")
  }

  /// "2.600": three decimals, as the articles' tables print GMACs.
  func thousandths(_ v: Double) -> String {
    let m = Int((v * 1000).rounded())
    let frac = String(m % 1000)
    return "\(m / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
  }

  @Test func extraMACsByHand() throws {
    let shape = ModelShape.deit("deit-s")!
    func extra(_ spec: String, block: Int) throws -> Int {
      try #require(MACCounter.planned(shape, policy: try MethodSpec.parse(spec).makePolicy(depth: 12))).blocks[block].macs.extra
    }
    // PiToMe: the T x T similarity of the non-prefix head-mean keys (d = 64); block 1 is entered by 178 tokens.
    #expect(try extra("pitome:ratio=0.9", block: 0) == 196 * 196 * 64)
    #expect(try extra("pitome:ratio=0.9", block: 1) == 177 * 177 * 64)
    #expect(try extra("pitome:ratio=1", block: 0) == 0)
    // ATC: the official N x N cosine matrix, prefix included, in the reduction blocks only.
    #expect(try extra("atc:keep=0.7", block: 3) == 197 * 197 * 64)
    #expect(try extra("atc:keep=0.7", block: 6) == 138 * 138 * 64)
    #expect(try extra("atc:keep=0.7", block: 4) == 0)
  }

  @Test func eventsSayWhatHappened() throws {
    let model = try ModelLoader.load(path: "\(fixturesDirectory)/models/grey_p2/model.safetensors")
    let input = try loadInput("grey_p2")
    let pitome = ForwardPass(model: model, input: input, policy: try MethodSpec.parse("pitome:ratio=0.75").makePolicy(depth: 3))
    pitome.run()
    #expect(pitome.records[0].event?.contains("BSM on energy ranks: merged 9 of 36 tokens") == true, "\(pitome.records[0].event ?? "")")
    #expect(pitome.records[0].event?.contains("(BSM in blocks 0/1, protect in block 2)") == true)
    // Block 2: T = 21, r = floor(21 - 15.75) = 5, margin 0.75 - 0.75 * 2/3 = 0.25.
    #expect(pitome.records[2].event == "protect: 10 highest-energy tokens paired, 5 merged, 11 lowest-energy tokens protected, margin 0.25; 17 remain")
    let atc = ForwardPass(model: model, input: input, policy: try MethodSpec.parse("atc:keep=0.7,layers=0-2,linkage=complete").makePolicy(depth: 3))
    atc.run()
    #expect(atc.records[0].event?.hasPrefix("36 tokens -> 25 clusters, 11 merges, complete linkage, last merge at distance ") == true)
    let none = ForwardPass(model: model, input: input, policy: try MethodSpec.parse("atc:keep=1,layers=1").makePolicy(depth: 3))
    none.run()
    #expect(none.records[1].event == "36 clusters asked of 36 tokens: nothing merged" && none.records[0].event == nil)
  }

  @Test func specsParseAndPrintCanonically() throws {
    #expect(try MethodSpec.parse("pitome").canonical == "pitome:ratio=0.9,margin=0.75,alpha=1,bsm=auto,prop=false")
    #expect(try MethodSpec.parse("atc").canonical == "atc:keep=0.7,layers=3/6/9,linkage=average,prop=true")
    #expect(try MethodSpec.parse("pitome:bsm=").canonical == "pitome:ratio=0.9,margin=0.75,alpha=1,bsm=none,prop=false")
    #expect(try MethodSpec.parse("pitome:bsm=6/7/8/9/10/11").canonical.contains("bsm=6-11"))
    #expect(try MethodSpec.parse("pitome:bsm=ALL")["bsm"] == .blocks(nil))
    #expect((try MethodSpec.parse("pitome:bsm=6-11").configuration as? PiToMe)?.bsm.resolved(depth: 12) == Array(6...11))
    #expect((try MethodSpec.parse("pitome:bsm=none").configuration as? PiToMe)?.bsm.resolved(depth: 12) == [])
    #expect((try MethodSpec.parse("pitome:bsm=all").configuration as? PiToMe)?.bsm.resolved(depth: 3) == [0, 1, 2])
    let atc = try #require(try MethodSpec.parse("atc:layers=9/3,linkage=Single,prop=off").configuration as? ATC)
    #expect(atc == ATC(keepRate: 0.7, layers: [3, 9], linkage: .single, proportionalAttention: false))
    func error(_ text: String) -> MethodSpecError? {
      do { _ = try MethodSpec.parse(text); return nil } catch { return error }
    }
    #expect(error("pitome:ratio=0.4") == .invalidValue(method: "pitome", key: "ratio", value: "0.4", expected: "a number in [0.5, 1]"))
    #expect(error("pitome:bsm=first") == .invalidValue(method: "pitome", key: "bsm", value: "first",
                                                     expected: "auto or block indices like 3/6/9 or a range like 3-11, or all, or none"))
    #expect(error("atc:linkage=ward") == .invalidValue(method: "atc", key: "linkage", value: "ward", expected: "one of average, complete, single"))
    #expect(error("atc:keep=0") != nil)
  }

  @Test func explorerStepsMoveAlongTheSweeps() throws {
    // PiToMe's ratio compounds over every block, so + and - follow the sweep's 0.025 steps near the default.
    #expect(try MethodSpec.parse("pitome").stepped(1)?["ratio"] == .real(0.925))
    #expect(try MethodSpec.parse("pitome").stepped(-1)?["ratio"] == .real(0.85))
    #expect(try MethodSpec.parse("pitome:ratio=0.5").stepped(1)?["ratio"] == .real(0.75))
    #expect(try MethodSpec.parse("atc").stepped(-1)?["keep"] == .real(0.65))
  }
}

@Suite("Agglomerative clustering")
struct AgglomerativeClusteringTests {
  /// The definition, by brute force: every step scans all pairs of current clusters for the smallest linkage
  /// distance computed from the member distances themselves (no updates), lowest pair on ties.
  func bruteForce(_ d: [Double], n: Int, k: Int, linkage: ATC.Linkage) -> (clusters: [[Int]], heights: [Double]) {
    var clusters = (0..<n).map { [$0] }
    var heights: [Double] = []
    func distance(_ a: [Int], _ b: [Int]) -> Double {
      let pairs = a.flatMap { i in b.map { j in d[min(i, j) * n + max(i, j)] } }
      switch linkage {
      case .single: return pairs.min()!
      case .complete: return pairs.max()!
      case .average: return pairs.reduce(0, +) / Double(pairs.count)
      }
    }
    while clusters.count > k {
      var best = (Double.infinity, 0, 0)
      for a in 0..<clusters.count {
        for b in (a + 1)..<clusters.count {
          let v = distance(clusters[a], clusters[b])
          if v < best.0 { best = (v, a, b) }
        }
      }
      heights.append(best.0)
      clusters[best.1] += clusters[best.2]
      clusters[best.1].sort()
      clusters.remove(at: best.2)
    }
    return (clusters.sorted { $0[0] < $1[0] }, heights)
  }

  @Test(arguments: ATC.Linkage.allCases)
  func matchesTheDefinition(linkage: ATC.Linkage) {
    var state: UInt64 = 7
    func next() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) / Double(1 << 53)
    }
    for trial in 0..<20 {
      let n = 3 + trial % 17, k = 1 + trial % n
      // Distances of random points on a line and in the plane mixed, so clusters have structure.
      let points = (0..<n).map { _ in (next() * 4, next()) }
      var d = [Double](repeating: 0, count: n * n)
      for i in 0..<n { for j in (i + 1)..<max(i + 1, n) {
        let dx = points[i].0 - points[j].0, dy = points[i].1 - points[j].1
        d[i * n + j] = (dx * dx + dy * dy).squareRoot()
      } }
      let expected = bruteForce(d, n: n, k: k, linkage: linkage)
      let result = AgglomerativeClustering.cluster(distances: &d, count: n, clusters: k, linkage: linkage)
      var groups = [[Int]](repeating: [], count: k)
      for (p, c) in result.labels.enumerated() { groups[c].append(p) }
      #expect(groups == expected.clusters, "\(linkage) n=\(n) k=\(k)")
      #expect(zip(result.merges.map(\.height), expected.heights).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
      #expect(zip(result.merges, result.merges.dropFirst()).allSatisfy { $0.height <= $1.height }, "heights never fall")
      #expect(result.merges.last?.size ?? 1 <= n - k + 1 && result.merges.allSatisfy { $0.a < $0.b })
    }
  }

  @Test func tiesMergeTheLowestPairFirst() {
    // Four points, all six distances equal: (0, 1) first, then (0, 2), leaving {0, 1, 2} and {3}.
    var d = [Double](repeating: 1, count: 16)
    let result = AgglomerativeClustering.cluster(distances: &d, count: 4, clusters: 2, linkage: .average)
    #expect(result.labels == [0, 0, 0, 1])
    #expect(result.merges == [.init(a: 0, b: 1, height: 1, size: 2), .init(a: 0, b: 2, height: 1, size: 3)])
  }
}
