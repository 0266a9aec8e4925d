// Dataset maps as data (what `eval --maps` writes and the explorer reads): the agreement measures on hand-worked
// partitions (the adjusted Rand values are what scikit-learn's adjusted_rand_score gives for the same label lists,
// worked out here by hand); maps of real forward passes of the grey_p2 fixture through their JSON and back; shards
// adding up to the whole; files cut or edited by hand refused with a line naming the part; and a method found by its
// spec however the file spells it.
import Foundation
import Testing
import TestSupport
@testable import TokenMethods
import ViTEngine

@Suite("Dataset maps")
struct DatasetMapsTests {
  @Test func agreementMeasures() {
    // [0,0,1,1] vs [0,0,1,2]: one pair together in both, 2 and 1 pairs within clusters, 6 pairs in all:
    // expected 2·1/6 = 1/3, maximum (2+1)/2 = 3/2, ARI = (1 - 1/3) / (3/2 - 1/3) = 4/7.
    #expect(abs(Agreement.adjustedRand([0, 0, 1, 1], [0, 0, 1, 2]) - 4.0 / 7.0) < 1e-12)
    // Dropped patches (-1) are clusters of one: [0,0,-1,-1] is {0,1},{2},{3}, the same 4/7 against [0,0,1,1].
    #expect(abs(Agreement.adjustedRand([0, 0, -1, -1], [0, 0, 1, 1]) - 4.0 / 7.0) < 1e-12)
    // The same partition under other labels; all singletons on both sides; singletons against one cluster.
    #expect(Agreement.adjustedRand([5, 5, 9, 7], [1, 1, 2, 3]) == 1)
    #expect(Agreement.adjustedRand([0, 1, 2, 3], [3, 2, 1, 0]) == 1)
    #expect(Agreement.adjustedRand([0, 1, 2, 3], [4, 4, 4, 4]) == 0)
    // [0,0,0,1,1,1] vs [0,0,1,1,2,2]: index 2, sums 6 and 3 of 15 pairs: (2 - 18/15) / (9/2 - 18/15) = 0.8/3.3.
    #expect(abs(Agreement.adjustedRand([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) - 0.8 / 3.3) < 1e-12)
    // Kept is state 0: {0} in both, {0, 1, 2} in either.
    #expect(Agreement.iou([0, 0, 1, 3], [0, 1, 0, 3]) == 1.0 / 3.0)
    #expect(Agreement.iou([1, 2], [3, 4]) == 1, "nothing kept on either side agrees")
  }

  static let specs = ["none", "tome:r=3", "evit:keep=0.5,layers=1"]

  /// Each spec's samples on `count` generated 12x12 inputs (6x6 patches) through the grey_p2 fixture, as eval takes them.
  static func samples(count: Int) throws -> [(method: String, samples: [MapSample])] {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    return try specs.map { text in
      let spec = try MethodSpec.parse(text)
      let plan = try MethodPlan(spec: spec, model: model)
      let samples = (0..<count).map { i -> MapSample in
        let pixels = (0..<144).map { p in Float((p * 11 + i * 37 + (p / 12) * i) % 256) / 255 - 0.5 }
        let pass = ForwardPass(model: plan.model, input: ModelInput(channels: 1, height: 12, width: 12, pixels: pixels), policy: plan.policy)
        _ = pass.output()
        return MapSample(pass: pass, truth: i % 3)
      }
      return (spec.canonical, samples)
    }
  }

  @Test func realPassesRoundTripAndShardsAddUp() throws {
    let runs = try Self.samples(count: 9)
    let grid = GridSize(rows: 6, cols: 6)
    var pairs = 0
    let maps = DatasetMaps(runs: runs, grid: grid, skipped: ["dvt:thresholds=0.35,grids=3/6"], pairDone: { pairs += 1 })
    #expect(pairs == 3 && maps.pairs.count == 3)
    #expect(maps.layers == 3 && maps.methods.map(\.images) == [9, 9, 9])
    for m in maps.methods {
      for l in 0..<3 { for p in 0..<36 { #expect(m.counts[l].reduce(0) { $0 + $1[p] } == 9, "one state per patch and image") } }
      #expect(m.classes.keys.sorted() == [0, 1, 2] && m.classes[0]?.images == 3)
    }
    // The baseline keeps everything; ToMe merges r = 3 tokens a block, so 3 patches are merged after block 0.
    #expect(maps.methods[0].counts.allSatisfy { $0[0] == [Int](repeating: 9, count: 36) })
    #expect(maps.methods[1].counts[0][1].reduce(0, +) == 9 * 3)
    #expect(maps.methods[1].dominantChange(layer: 0) == .merged && maps.methods[0].dominantChange(layer: 2) == .kept)
    #expect(maps.methods[2].dominantChange(layer: 0) == .kept && maps.methods[2].dominantChange(layer: 1) == .fused)

    // Through its JSON text and back: the same JSON.
    let text = maps.json.serialized()
    let back = try DatasetMaps(json: try JSONParser.parse(text))
    #expect(back.json == maps.json)

    // Two shards' maps add up to the whole's: counts exactly, agreement sums to rounding.
    let first = DatasetMaps(runs: runs.map { ($0.method, Array($0.samples.prefix(4))) }, grid: grid, skipped: maps.skipped)
    let rest = DatasetMaps(runs: runs.map { ($0.method, Array($0.samples.dropFirst(4))) }, grid: grid, skipped: maps.skipped)
    let merged = try #require(DatasetMaps.merged([first, rest]))
    #expect(merged.methods.map(\.counts) == maps.methods.map(\.counts) && merged.methods.map(\.images) == [9, 9, 9])
    for (a, b) in zip(merged.pairs, maps.pairs) {
      for (x, y) in zip(a.iouSum + a.ariSum, b.iouSum + b.ariSum) { #expect(abs(x - y) < 1e-9) }
    }
    var other = rest
    other.grid = GridSize(rows: 3, cols: 12)
    #expect(DatasetMaps.merged([first, other]) == nil, "maps of other grids do not add up")
  }

  @Test func editedFilesAreRefusedWithThePartAtFault() throws {
    let maps = DatasetMaps(runs: try Self.samples(count: 2), grid: GridSize(rows: 6, cols: 6), skipped: [])
    func refusal(_ text: String) -> String? {
      do { _ = try DatasetMaps(json: try JSONParser.parse(text)); return nil } catch { return "\(error)" }
    }
    let text = maps.json.serialized(pretty: false)
    #expect(refusal(text) == nil)
    #expect(refusal(text.replacingOccurrences(of: "\"grid\":[6,6]", with: "\"grid\":[5,6]"))
            == "the counts of none (blocks x states x patches = 3 x 5 x 30) is missing or malformed")
    #expect(refusal(text.replacingOccurrences(of: "\"layers\":3", with: "\"layers\":4"))
            == "a method is missing or malformed")
    #expect(refusal(text.replacingOccurrences(of: "\"kept\",\"merged\"", with: "\"merged\",\"kept\""))
            == "states must be kept, merged, fused, pruned, idle in that order")
    #expect(refusal(text.replacingOccurrences(of: "\"grid\":[6,6]", with: "\"grid\":\"6x6\"")) == "grid or layers is missing or malformed")
    // A count that is not a whole number, the first one of ToMe's table.
    let tome = try #require(text.range(of: "\"method\":\"tome:r=3,schedule=constant,prop=true\",\"images\":2,\"counts\":[[["))
    var edited = text
    edited.insert(contentsOf: "0.5,", at: tome.upperBound)
    #expect(refusal(edited) == "the counts of tome:r=3,schedule=constant,prop=true (blocks x states x patches = 3 x 5 x 36) is missing or malformed")
  }

  @Test func methodsAreFoundByTheirSpec() throws {
    var maps = DatasetMaps(runs: try Self.samples(count: 1), grid: GridSize(rows: 6, cols: 6), skipped: [])
    #expect(maps.method(for: try MethodSpec.parse("tome:r=3"))?.method == "tome:r=3,schedule=constant,prop=true")
    #expect(maps.method(for: try MethodSpec.parse("tome:r=4")) == nil)
    // A file that spells a spec another way (parameters in another order, defaults left out) still matches.
    maps.methods[2].method = "evit:layers=1,keep=0.5"
    #expect(maps.method(for: try MethodSpec.parse("evit:keep=0.5,layers=1,fuse=true"))?.method == "evit:layers=1,keep=0.5")
  }
}
