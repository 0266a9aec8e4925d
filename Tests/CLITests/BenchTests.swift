// `tokenscope bench`: the JSON names compare.py and users rely on, the MACs it reports, the profile, and bad options.
// Speed itself is never asserted here (machines are shared and noisy); see Tests/Benchmarks.
import Foundation
import Testing
import TestSupport

@Suite("tokenscope bench")
struct BenchTests {
  @Test func jsonCarriesTimingsMACsAndRuns() throws {
    let r = try tokenscope(["bench", "--model", modelFixture("vit"), "--runs", "3", "--warmup", "1",
                            "--threads", "2", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json, "bench JSON: \(r.stdout.prefix(200))")
    for key in ["median_ms", "min_ms", "max_ms", "gflops_per_s", "peak_rss_mib"] {
      #expect((json[key] as? Double).map { $0 > 0 } == true, "\(key) = \(String(describing: json[key]))")
    }
    #expect(json["runs"] as? Int == 3)
    #expect(json["threads"] as? Int == 2)
    let median = try #require(json["median_ms"] as? Double), lo = try #require(json["min_ms"] as? Double)
    let hi = try #require(json["max_ms"] as? Double)
    #expect(lo <= median && median <= hi)
    // The same MACs as `report` counts for the same model.
    let report = try tokenscope(["report", modelFixture("vit", "input.png"), "--model", modelFixture("vit"),
                                 "--preprocess", "none", "--format", "json"])
    let reportMACs = try #require(report.json?["macs_total"] as? Int, "report: \(report.stdout.prefix(300))")
    #expect(json["macs"] as? Int == reportMACs)
    let blocks = try #require(report.json?["layers"] as? [Any]).count
    #expect((json["block_median_ms"] as? [Any])?.count == blocks)
    // Every timed run, whose median is median_ms.
    let times = try #require(json["times_ms"] as? [Double]).sorted()
    #expect(times.count == json["runs"] as? Int)
    let middle = times.count / 2
    #expect(times.count % 2 == 1 ? times[middle] == median : (times[middle - 1] + times[middle]) / 2 == median)
  }

  @Test func methodsLowerTheMACsAndProfileListsOps() throws {
    let base = try tokenscope(["bench", "--model", modelFixture("grey_p2"), "--runs", "1", "--warmup", "0",
                               "--format", "json"])
    let tome = try tokenscope(["bench", "--model", modelFixture("grey_p2"), "--runs", "1", "--warmup", "0",
                               "--method", "tome:r=4", "--profile", "--format", "json"])
    #expect(base.status == 0 && tome.status == 0, "\(base.stderr) \(tome.stderr)")
    let baseMACs = try #require(base.json?["macs"] as? Int), tomeMACs = try #require(tome.json?["macs"] as? Int)
    #expect(tomeMACs < baseMACs)
    #expect(tome.json?["baseline_macs"] as? Int == baseMACs)
    let profile = try #require(tome.json?["profile_ms_per_run"] as? [String: Any])
    for op in ["qkv", "attention", "proj", "fc1+gelu", "fc2"] { #expect(profile[op] != nil, "profile lacks \(op)") }
  }

  @Test func badOptionsAreUsageErrors() throws {
    let r = try tokenscope(["bench", "--model", modelFixture("vit"), "--runs", "0"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("--runs"))
    let missing = try tokenscope(["bench", "--model", "/nonexistent/m.safetensors"])
    #expect(missing.status == 66)
    #expect(missing.stderr.contains("/nonexistent/m.safetensors"))
  }
}
