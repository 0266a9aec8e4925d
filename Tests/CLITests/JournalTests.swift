// `eval --journal`: a run killed with SIGKILL part-way and rerun with its journal ends with the uninterrupted run's
// result (the reference is tokenscope's own run without a journal on the same images); journals written for other
// arguments, and files that are not journals, are refused.
import Foundation
import GRDB
import Testing
import TestSupport

/// Runs the binary with `arguments` and kills it with SIGKILL once `rows` (a COUNT query on `journal`) reaches
/// `atLeast`; returns the count seen. Expects the run to be still going then, and to die of the signal.
func killPartWay(_ arguments: [String], journal: String, rows: String, atLeast: Int) throws -> Int {
  let child = Process()
  child.executableURL = URL(fileURLWithPath: binaryPath)
  child.arguments = arguments
  child.standardOutput = FileHandle.nullDevice
  child.standardError = FileHandle.nullDevice
  try child.run()
  var seen = 0
  let deadline = Date().addingTimeInterval(120)
  while child.isRunning && Date() < deadline {
    if FileManager.default.fileExists(atPath: journal), let db = try? DatabaseQueue(path: journal, configuration: { var c = Configuration(); c.readonly = true; return c }()) {
      seen = (try? db.read { try Int.fetchOne($0, sql: rows) ?? 0 }) ?? 0
      if seen >= atLeast { break }
    }
    usleep(5_000)
  }
  #expect(child.isRunning, "the run finished before it could be killed part-way; use more images")
  kill(child.processIdentifier, SIGKILL)
  child.waitUntilExit()
  #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)
  return seen
}

@Suite("eval journal and resume")
struct JournalTests {
  static let methods = ["--method", "none", "--method", "tome:r=3", "--method", "dvt:grids=3/6,thresholds=0.35"]

  func counts(_ r: RunResult) -> [String] {
    ((r.json?["results"] as? [[String: Any]]) ?? []).map { x in
      ["method", "images", "correct", "macs_sum", "accuracy", "macs_mean", "exit_shares"].map { "\(x[$0] ?? "nil")" }.joined(separator: " ")
    }
  }

  @Test func killedRunResumesToTheSameResult() throws {
    let count = 6000
    let dir = try ShardingTests.dataset("journal-kill", count: count)
    let journal = dir + "/run.sqlite"
    let args = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "1", "--format", "json",
                "--journal", journal, "--journal-batch", "50"] + Self.methods
    let reference = try tokenscope(Array(args.prefix(9)) + Self.methods)
    #expect(reference.status == 0, "\(reference.stderr)")

    // Killed once the journal holds some of the first method's images but not all three methods' work.
    let seen = try killPartWay(args, journal: journal, rows: "SELECT COUNT(*) FROM images", atLeast: 300)
    #expect(seen >= 300 && seen < 2 * count, "killed part-way: \(seen) image rows")

    let resumed = try tokenscope(args)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(counts(resumed) == counts(reference))
    #expect(counts(resumed).count == 3)
    // The journal is plain SQLite: every image of every run is there, once.
    let db = try DatabaseQueue(path: journal)
    let rows = try db.read { try Row.fetchAll($0, sql: "SELECT run, COUNT(*) AS n FROM images GROUP BY run ORDER BY run") }
    #expect(rows.map { $0["n"] as Int } == [count, count])
    let stages = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(DISTINCT image) FROM stages WHERE run = 'stages:3/6'") }
    #expect(stages == count)

    // A second rerun does no work and prints the same.
    let again = try tokenscope(args)
    #expect(counts(again) == counts(reference))
  }

  @Test func foreignJournalsAreRefused() throws {
    let dir = try ShardingTests.dataset("journal-foreign", count: 30)
    let journal = dir + "/j.sqlite"
    let base = ["eval", "--data", dir, "--model", modelFixture("grey_p2"), "--threads", "1", "--format", "json", "--journal", journal]
    let first = try tokenscope(base + ["--method", "tome:r=2"])
    #expect(first.status == 0, "\(first.stderr)")
    for (extra, words) in [(["--method", "tome:r=3"], "methods"), (["--method", "tome:r=2", "--limit", "10"], "selection_sha256"),
                           (["--method", "tome:r=2", "--shard", "1/2"], "shard"), (["--method", "tome:r=2", "--split", "train"], "")] {
      let r = try tokenscope(base + extra)
      if words.isEmpty { #expect(r.status != 0); continue }  // no train split in this folder: refused before the journal
      #expect(r.status == 64, "\(extra): \(r.stderr)")
      #expect(r.stderr.contains("was written for another run") && r.stderr.contains(words), "\(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
    // Not SQLite at all, and SQLite but someone else's.
    try Data("not a database, just text that is long enough to be read as a header...".utf8).write(to: URL(fileURLWithPath: dir + "/text.sqlite"))
    let text = try tokenscope(Array(base.dropLast()) + [dir + "/text.sqlite"])
    #expect(text.status == 65 && text.stderr.contains("not an SQLite database"), "\(text.stderr)")
    let other = try DatabaseQueue(path: dir + "/other.sqlite")
    try other.write { try $0.execute(sql: "CREATE TABLE people (name TEXT)") }
    let foreign = try tokenscope(Array(base.dropLast()) + [dir + "/other.sqlite"])
    #expect(foreign.status == 65 && foreign.stderr.contains("not a tokenscope eval journal"), "\(foreign.stderr)")
    // The same arguments again: accepted, nothing recomputed, same output.
    let rerun = try tokenscope(base + ["--method", "tome:r=2"])
    #expect(rerun.status == 0 && counts(rerun) == counts(first))
  }
}
