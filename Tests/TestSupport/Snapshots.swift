// File-based snapshot tests: a snapshot is a text file in a folder beside the tests. Set RECORD_SNAPSHOTS=1 to
// (re-)record; without it a missing file is a failure, never a silent recording.
import Foundation
import Testing

/// The text of a screen for a snapshot: an optional header line, the rows right-trimmed (so editors that strip
/// trailing spaces cannot break them), and optionally a `--- styles ---` section.
public func snapshotText(header: String? = nil, lines: [String], styleLines: [String]? = nil) -> String {
  var text = header.map { [$0] } ?? []
  text += lines.map { line in String(line.reversed().drop { $0 == " " }.reversed()) }
  if let styleLines {
    text.append("--- styles ---")
    text += styleLines
  }
  return text.joined(separator: "\n") + "\n"
}

/// What comparing against a snapshot file found.
public enum SnapshotOutcome: Equatable, Sendable {
  case matched
  case recorded
  case missing(path: String)
  case mismatched(diff: String)
}

/// Compares `actual` with the file `name`.txt in `directory`, writing it instead when `record` is true.
public func compareSnapshot(_ actual: String, named name: String, in directory: URL, record: Bool) throws -> SnapshotOutcome {
  let file = directory.appendingPathComponent(name + ".txt")
  if record {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try actual.write(to: file, atomically: true, encoding: .utf8)
    return .recorded
  }
  guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
    return .missing(path: file.path)
  }
  return expected == actual ? .matched : .mismatched(diff: lineDiff(expected: expected, actual: actual))
}

/// A line-by-line diff: `-` expected, `+` actual, for every line that differs.
public func lineDiff(expected: String, actual: String) -> String {
  let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
  let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
  var report: [String] = []
  for index in 0..<max(expectedLines.count, actualLines.count) {
    let want = index < expectedLines.count ? String(expectedLines[index]) : "<missing>"
    let got = index < actualLines.count ? String(actualLines[index]) : "<missing>"
    if want != got {
      report.append("line \(index + 1):")
      report.append("- \(want)")
      report.append("+ \(got)")
    }
  }
  return report.joined(separator: "\n")
}

/// Checks `actual` against the snapshot `name` in `directory`, or records it under RECORD_SNAPSHOTS=1.
public func expectSnapshot(_ actual: String, named name: String, in directory: URL,
                           sourceLocation: SourceLocation = #_sourceLocation) {
  let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
  do {
    switch try compareSnapshot(actual, named: name, in: directory, record: record) {
    case .matched, .recorded:
      break
    case let .missing(path):
      let message = "Snapshot \(name) is missing at \(path); run with RECORD_SNAPSHOTS=1 to record it.\n\(actual)"
      Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    case let .mismatched(diff):
      let message = "Snapshot \(name) differs (RECORD_SNAPSHOTS=1 re-records):\n\(diff)"
      Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record(Comment(rawValue: "Snapshot \(name): \(error)"), sourceLocation: sourceLocation)
  }
}
