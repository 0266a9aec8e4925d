// `eval --maps` through the binary (the agreement measures and the JSON form are tested in TokenMethodsTests'
// DatasetMapsTests): dataset maps of three shards merged equal the unsharded run's; a journaled run killed part-way
// and resumed ends with the uninterrupted run's maps.json byte for byte, also from a journal without the maps table;
// and `explore --maps` shows an eval's maps on the plots page (tmux). tokenscope's own uninterrupted run without a
// journal is the reference throughout.
import Foundation
import GRDB
import Testing
import TestSupport

@Suite("eval dataset maps")
struct MapsTests {
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

  static let methods = ["--method", "none", "--method", "tome:r=3", "--method", "evit:keep=0.5,layers=1"]

  func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "missing \(path)" }

  func mapsRows(_ journal: String) throws -> [Int] {
    let db = try DatabaseQueue(path: journal)
    return try db.read { try Int.fetchAll($0, sql: "SELECT COUNT(*) FROM maps GROUP BY run ORDER BY run") }
  }

  @Test func killedJournalRunResumesToTheSameMaps() throws {
    let count = 6000
    let dir = try ShardingTests.dataset("maps-journal-kill", count: count)
    let journal = dir + "/run.sqlite"
    let base = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "1", "--format", "json"] + Self.methods
    let reference = try tokenscope(base + ["--maps", dir + "/whole"])
    #expect(reference.status == 0, "\(reference.stderr)")
    let args = base + ["--journal", journal, "--journal-batch", "50", "--maps", dir + "/resumed"]

    // Killed once the journal holds some images' maps, long before all three methods are done.
    let seen = try killPartWay(args, journal: journal, rows: "SELECT COUNT(*) FROM maps", atLeast: 300)
    #expect(seen >= 300 && seen < 3 * count, "killed part-way: \(seen) maps rows")
    #expect(!FileManager.default.fileExists(atPath: dir + "/resumed/maps.json"))

    let resumed = try tokenscope(args)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(!resumed.stderr.contains("have no maps there"), "every journaled image had its maps: \(resumed.stderr)")
    #expect(text(dir + "/resumed/maps.json") == text(dir + "/whole/maps.json"), "the same maps.json byte for byte")
    #expect(text(dir + "/resumed/maps.json").contains("\"images\": 6000"))
    #expect(try mapsRows(journal) == [count, count, count])
  }

  /// A journal written without the maps table (an older tokenscope's, made here by dropping it) and resumed with
  /// --maps: the images journaled without maps run again, with a note, and the maps cover every image.
  @Test func journalWithoutMapsRunsItsImagesAgain() throws {
    let dir = try ShardingTests.dataset("maps-journal-old", count: 40)
    let journal = dir + "/old.sqlite"
    let base = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "2", "--format", "json"] + Self.methods
    let reference = try tokenscope(base + ["--maps", dir + "/whole"])
    #expect(reference.status == 0, "\(reference.stderr)")
    let first = try tokenscope(base + ["--journal", journal])
    #expect(first.status == 0, "\(first.stderr)")
    let db = try DatabaseQueue(path: journal)
    try db.write { try $0.execute(sql: "DROP TABLE maps") }
    let resumed = try tokenscope(base + ["--journal", journal, "--maps", dir + "/resumed"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("--journal \(journal): 40 images of none have no maps there"), "\(resumed.stderr)")
    #expect(text(dir + "/resumed/maps.json") == text(dir + "/whole/maps.json"))
    #expect(try mapsRows(journal) == [40, 40, 40])
    // Resumed again: everything comes from the journal, maps included, and no note.
    let again = try tokenscope(base + ["--journal", journal, "--maps", dir + "/again"])
    #expect(again.status == 0 && !again.stderr.contains("have no maps there"), "\(again.stderr)")
    #expect(text(dir + "/again/maps.json") == text(dir + "/whole/maps.json"))
  }

  /// `explore --maps` on what `eval --maps` wrote: the plots page shows the focused method's mean map beside the
  /// image's; `:maps` with a file that is not there answers in the footer.
  @Test(.enabled(if: Tmux.available)) func explorerShowsTheMapsEvalWrote() throws {
    let dir = try ShardingTests.dataset("maps-explore")
    let eval = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--method", "tome:r=3", "--maps", dir + "/m"])
    #expect(eval.status == 0, "\(eval.stderr)")
    let tmux = Tmux()
    defer { tmux.kill() }
    try tmux.start("\(binaryPath) \(modelFixture("grey_p2", "input.png")) --model \(modelFixture("grey_p2")) --method tome:r=3 --maps \(dir)/m; sleep 60")
    #expect(try tmux.waitFor("block 0 of 0-2"), "\((try? tmux.screen()) ?? "")")
    try tmux.keys("p")
    #expect(try tmux.waitFor("maps.json: tome, block 0"), "\((try? tmux.screen()) ?? "")")
    let page = try tmux.screen()
    #expect(page.contains("23 images") && page.contains("merged: dataset ") && page.contains("this image"), "\(page)")
    try tmux.keys(":", "maps /nonexistent/maps.json", "Enter")
    #expect(try tmux.waitFor("/nonexistent/maps.json: no such file"), "\((try? tmux.screen()) ?? "")")
    try tmux.keys("q")
  }
}
