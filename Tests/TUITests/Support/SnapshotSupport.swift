import Foundation
import Testing
import TestSupport
import TUI

// Snapshot tests for rendered buffers (TestSupport's snapshot files, the swift-argument-parser model): a snapshot is
// `Tests/TUITests/Snapshots/NAME.txt`, a header line with the size, the text rows, and optionally
// `Buffer.styleLines`.

/// The directory holding snapshot files, found relative to this source file.
let snapshotDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent()  // Support/
  .deletingLastPathComponent()  // TUITests/
  .appendingPathComponent("Snapshots", isDirectory: true)

/// The snapshot text of a buffer: its size, its rows, and optionally its style runs.
func snapshotText(of buffer: Buffer, includeStyles: Bool) -> String {
  snapshotText(header: "size \(buffer.area.width)x\(buffer.area.height)", lines: buffer.lines,
               styleLines: includeStyles ? buffer.styleLines : nil)
}

/// Checks `buffer` against the snapshot `name` (text, plus styles when `includeStyles`).
func assertSnapshot(
  _ buffer: Buffer, named name: String, includeStyles: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectSnapshot(snapshotText(of: buffer, includeStyles: includeStyles), named: name, in: snapshotDirectory,
                 sourceLocation: sourceLocation)
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
