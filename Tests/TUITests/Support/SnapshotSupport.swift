import Foundation
import Testing
import TUI

/// File-based snapshot tests for rendered buffers (the swift-argument-parser model, no swift-snapshot-testing).
///
/// A snapshot is `Tests/TUITests/Snapshots/NAME.txt`: a header line with the size, the text rows (right-trimmed, so
/// editors that strip trailing spaces cannot break them), and optionally a `--- styles ---` section with
/// `Buffer.styleLines`. Set `RECORD_SNAPSHOTS=1` to (re-)record; without it a missing file is a failure, never a
/// silent recording.

/// The directory holding snapshot files, found relative to this source file.
let snapshotDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent()  // Support/
  .deletingLastPathComponent()  // TUITests/
  .appendingPathComponent("Snapshots", isDirectory: true)

/// The snapshot text of a buffer.
func snapshotText(of buffer: Buffer, includeStyles: Bool) -> String {
  var lines = ["size \(buffer.area.width)x\(buffer.area.height)"]
  lines += buffer.lines.map { line in String(line.reversed().drop { $0 == " " }.reversed()) }
  if includeStyles {
    lines.append("--- styles ---")
    lines += buffer.styleLines
  }
  return lines.joined(separator: "\n") + "\n"
}

/// What comparing against a snapshot file found.
enum SnapshotOutcome: Equatable {
  case matched
  case recorded
  case missing(path: String)
  case mismatched(diff: String)
}

/// Compares `actual` with the file `name`.txt in `directory`, writing it instead when `record` is true.
func compareSnapshot(_ actual: String, named name: String, in directory: URL, record: Bool) throws -> SnapshotOutcome {
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
func lineDiff(expected: String, actual: String) -> String {
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

/// Checks `buffer` against the snapshot `name` (text, plus styles when `includeStyles`).
func assertSnapshot(
  _ buffer: Buffer, named name: String, includeStyles: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
  let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
  let actual = snapshotText(of: buffer, includeStyles: includeStyles)
  do {
    switch try compareSnapshot(actual, named: name, in: snapshotDirectory, record: record) {
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

/// Expects `buffer` to show exactly `lines` (ratatui's `assert_buffer_eq`), reporting a readable diff.
func expectLines(_ buffer: Buffer, _ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) {
  let expected = Buffer(lines: lines)
  guard buffer.lines != expected.lines || buffer.area.size != expected.area.size else { return }
  let diff = lineDiff(expected: expected.lines.joined(separator: "\n"), actual: buffer.lines.joined(separator: "\n"))
  let actualLines: String = buffer.lines.map { "\"\($0)\"" }.joined(separator: "\n")
  let message = "Buffer differs (expected \(expected.area.size), got \(buffer.area.size)):\n\(diff)\nactual:\n\(actualLines)"
  Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
}

/// Renders `widget` into a fresh buffer of `width` × `height`.
func rendered(_ widget: some Widget, width: Int, height: Int) -> Buffer {
  var buffer = Buffer(size: Size(width: width, height: height))
  buffer.render(widget, in: buffer.area)
  return buffer
}
