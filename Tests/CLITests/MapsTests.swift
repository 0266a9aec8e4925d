// `eval --maps`: the agreement measures on hand-worked partitions (the adjusted Rand values are what scikit-learn's
// adjusted_rand_score gives for the same label lists, worked out here by hand), and dataset maps of three shards
// merged equal the unsharded run's (tokenscope's own run is the reference).
import Foundation
import Testing
import TestSupport
@testable import tokenscope

@Suite("eval dataset maps")
struct MapsTests {
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

  @Test func shardedMapsMergeToTheUnshardedMaps() throws {
    let dir = try ShardingTests.dataset("maps")
    let common = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "2", "--format", "json",
                  "--method", "none", "--method", "tome:r=3", "--method", "evit:keep=0.5,layers=1", "--method", "dvt:grids=3/6,thresholds=0.35"]
    let whole = try tokenscope(common + ["--maps", dir + "/whole"])
    #expect(whole.status == 0, "\(whole.stderr)")
    var files: [String] = []
    for i in 1...3 {
      let r = try tokenscope(common + ["--shard", "\(i)/3", "--maps", dir + "/shard\(i)"])
      #expect(r.status == 0, "\(r.stderr)")
      files.append(dir + "/s\(i).json")
      try r.stdout.write(toFile: files.last!, atomically: true, encoding: .utf8)
    }
    let merged = try tokenscope(["eval", "--merge"] + files + ["--maps", dir + "/merged", "--format", "json"])
    #expect(merged.status == 0, "\(merged.stderr)")
    let a = try #require(whole.json?["maps"] as? [String: Any]), b = try #require(merged.json?["maps"] as? [String: Any])
    let ma = try #require(a["methods"] as? [[String: Any]]), mb = try #require(b["methods"] as? [[String: Any]])
    #expect(ma.count == 3, "the cascade is skipped: its grid changes per image")
    #expect(a["skipped"] as? [String] == ["dvt:thresholds=0.35,grids=3/6"])
    for (x, y) in zip(ma, mb) {
      #expect(x["images"] as? Int == 23 && y["images"] as? Int == 23)
      #expect("\(x["counts"]!)" == "\(y["counts"]!)", "per-position state counts add up exactly")
      func byClass(_ m: [String: Any]) -> [Int: String] {
        Dictionary(uniqueKeysWithValues: ((m["classes"] as? [[String: Any]]) ?? []).map { ($0["class"] as? Int ?? -1, "\($0["images"] ?? "") \($0["kept"] ?? "")") })
      }
      #expect(byClass(x) == byClass(y) && byClass(x).count == 10, "per-class kept counts add up exactly")
    }
    let counts = try #require(ma[2]["counts"] as? [[[Int]]])
    #expect(counts.count == 3 && counts[0].count == 5 && counts[0][0].count == 36, "3 blocks x 5 states x 6x6 patches")
    for layer in counts { for p in 0..<36 { #expect(layer.reduce(0) { $0 + $1[p] } == 23, "every patch is in one state per image") } }
    let pa = try #require(a["agreement"] as? [[String: Any]]), pb = try #require(b["agreement"] as? [[String: Any]])
    #expect(pa.count == 3)
    for (x, y) in zip(pa, pb) {
      for key in ["iou_sum", "ari_sum"] {
        for (u, v) in zip(x[key] as? [Double] ?? [], y[key] as? [Double] ?? []) { #expect(abs(u - v) < 1e-9) }
      }
    }
    for file in ["maps.json", "method-01.png", "method-01.svg", "method-02-classes.png", "agreement.png", "agreement.svg"] {
      #expect(FileManager.default.fileExists(atPath: dir + "/merged/" + file), "\(file)")
    }
    let partial = try tokenscope(["eval", "--merge", files[0], files[1], dir + "/nomaps.json"])
    #expect(partial.status != 0)
  }
}
