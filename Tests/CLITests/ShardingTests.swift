// `eval --shard I/N` and `eval --merge`: shards of a tiny IDX dataset merged back must equal the unsharded run in
// every count-derived figure (the reference is tokenscope's own unsharded run on the same images), and bad sets of
// shards are refused.
import Foundation
import Testing
import TestSupport
@testable import tokenscope

@Suite("eval shards and merge")
struct ShardingTests {
  /// 23 grey 12x12 images (so 3 shards are 7, 8 and 8 images), labels 0...9 cycling.
  static func dataset(_ name: String, count: Int = 23) throws -> String {
    let dir = try temporaryDirectory(name)
    let images = (0..<count).map { i in (0..<144).map { (p: Int) -> UInt8 in UInt8((p * 11 + i * 37 + (p / 12) * i) % 256) } }
    try writeIDX(directory: dir, prefix: "t10k", images: images, side: 12, labels: (0..<count).map { UInt8($0 % 10) })
    return dir
  }

  static let methods = ["--method", "none", "--method", "tome:r=3", "--method", "evit:keep=0.5,layers=1", "--method", "dvt:grids=3/6,thresholds=0.35"]

  @Test func shardRangesTileTheSelection() throws {
    for total in [0, 1, 7, 23, 100] {
      for n in 1...6 {
        let ranges = (1...n).map { Shard(index: $0, count: n).range(of: total) }
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == total)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        #expect(Set(ranges.map(\.count)).count <= 2, "sizes differ by at most one")
      }
    }
    #expect(try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "2"]) == Shard(index: 3, count: 3))
    #expect(try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"]) == Shard(index: 1, count: 2))
    #expect(throws: CLIError.self) { try Shard.parse("auto", environment: [:]) }
    #expect(throws: CLIError.self) { try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3"]) }
    for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/2/3"] { #expect(throws: CLIError.self) { try Shard.parse(bad) } }
  }

  @Test func threeShardsMergeToTheUnshardedRun() throws {
    let dir = try Self.dataset("shards")
    let common = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "2", "--sample", "21", "--seed", "3"] + Self.methods
    let whole = try tokenscope(common + ["--format", "json"])
    #expect(whole.status == 0, "\(whole.stderr)")
    var files: [String] = []
    for i in 1...3 {
      // Shard 2 runs as a Slurm array task would (--array=5-7, task 6).
      let args = i == 2 ? ["--shard", "auto"] : ["--shard", "\(i)/3"]
      var env = ProcessInfo.processInfo.environment
      if i == 2 { env.merge(["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "5"]) { $1 } }
      let r = try tokenscope(common + args + ["--format", "json"], environment: env)
      #expect(r.status == 0, "\(r.stderr)")
      let shard = try #require(r.json?["shard"] as? [String: Any])
      #expect(shard["index"] as? Int == i && shard["count"] as? Int == 3)
      let file = dir + "/shard\(i).json"
      try r.stdout.write(toFile: file, atomically: true, encoding: .utf8)
      files.append(file)
    }
    // In another order than the shards': merge sorts them by range.
    let merged = try tokenscope(["eval", "--merge", files[2], files[0], files[1], "--format", "json", "--plot", dir + "/merged.svg"])
    #expect(merged.status == 0, "\(merged.stderr)")
    let a = try #require(whole.json?["results"] as? [[String: Any]])
    let b = try #require(merged.json?["results"] as? [[String: Any]])
    #expect(a.count == 4 && b.count == 4)
    for (x, y) in zip(a, b) {
      for key in ["method", "images", "correct", "macs_sum"] { #expect("\(x[key] ?? "")" == "\(y[key] ?? "")", "\(key)") }
      // Exactly equal doubles, not close ones: both are the same integer sums divided once.
      #expect(x["accuracy"] as? Double == y["accuracy"] as? Double)
      #expect(x["macs_mean"] as? Double == y["macs_mean"] as? Double)
      #expect((x["exit_shares"] as? [Double]) == (y["exit_shares"] as? [Double]))
      #expect("\(x["exit_counts"] ?? "")" == "\(y["exit_counts"] ?? "")")
    }
    #expect(b.last?["exit_counts"] as? [Int] != nil, "the cascade's exit counts are merged")
    #expect(merged.json?["selected"] as? Int == 21)
    #expect(FileManager.default.fileExists(atPath: dir + "/merged.svg"))
    // Text and csv render from the same sums: the table's figures match the unsharded table's.
    for format in ["text", "csv"] {
      let w = try tokenscope(common + ["--format", format])
      let m = try tokenscope(["eval", "--merge"] + files + ["--format", format])
      #expect(m.status == 0, "\(m.stderr)")
      func figures(_ s: String) -> [String] {
        // Timings aside: the decoding rate (measured by the unsharded run only), csv's last field, the text table's
        // fifth column (ms/image).
        s.split(separator: "\n").filter { !$0.hasPrefix("decode") }.map { line in
          if format == "csv" { return String(line[..<(line.lastIndex(of: ",") ?? line.endIndex)]) }
          return line.split(separator: " ").enumerated().filter { $0.offset != 4 }.map { String($0.element) }.joined(separator: " ")
        }
      }
      #expect(figures(w.stdout) == figures(m.stdout), "\(format)")
    }
  }

  @Test func mergeRefusesMismatchedOverlappingOrIncompleteShards() throws {
    let dir = try Self.dataset("refuse")
    let common = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "1", "--method", "none", "--method", "tome:r=2", "--format", "json"]
    func shard(_ spec: String, _ extra: [String] = [], name: String) throws -> String {
      let r = try tokenscope(common + ["--shard", spec] + extra)
      #expect(r.status == 0, "\(r.stderr)")
      let file = dir + "/\(name).json"
      try r.stdout.write(toFile: file, atomically: true, encoding: .utf8)
      return file
    }
    let s1 = try shard("1/3", name: "s1"), s2 = try shard("2/3", name: "s2"), s3 = try shard("3/3", name: "s3")
    let half = try shard("1/2", name: "half")
    let otherMethod = try shard("3/3", ["--method", "evit:layers=1"], name: "other-method")
    let otherData = try shard("3/3", ["--limit", "20"], name: "other-selection")
    func refused(_ files: [String], _ words: String) throws {
      let r = try tokenscope(["eval", "--merge"] + files)
      #expect(r.status == 65, "\(files): \(r.stderr)")
      #expect(r.stderr.contains(words), "\(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    }
    try refused([s1, s3], "are in no file")
    try refused([s1, s2], "missing at the end")
    try refused([s1, half, s2, s3], "overlap")
    try refused([s1, s2, otherMethod], "different methods")
    try refused([s1, s2, otherData], "image selection")
    // Another tokenscope version: the same shard with its version field changed.
    let text = try String(contentsOfFile: s3, encoding: .utf8).replacingOccurrences(of: "\"tokenscope_version\": \"", with: "\"tokenscope_version\": \"9.")
    try text.write(toFile: dir + "/old.json", atomically: true, encoding: .utf8)
    try refused([s1, s2, dir + "/old.json"], "tokenscope version")
    try "{\"results\": []}".write(toFile: dir + "/bare.json", atomically: true, encoding: .utf8)
    try refused([s1, dir + "/bare.json"], "field 'tokenscope_version'")
    let missing = try tokenscope(["eval", "--merge", dir + "/nope.json"])
    #expect(missing.status == 66, "\(missing.stderr)")
    let withData = try tokenscope(["eval", "--merge", s1, "--data", dir])
    #expect(withData.status == 64, "\(withData.stderr)")
    let ok = try tokenscope(["eval", "--merge", s3, s2, s1])
    #expect(ok.status == 0 && ok.stdout.contains("23 images"), "\(ok.stderr)")
  }
}
