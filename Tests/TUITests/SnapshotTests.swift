import Foundation
import Pixels
import Testing
import TestSupport
@testable import TUI

/// Whole-screen snapshots: every widget composed the way the explorer will, at 100×30, checked as text and styles.
@Suite struct ScreenSnapshotTests {
  static func demoScreen(appearance: Appearance, helpPage: Int? = nil) -> Buffer {
    let glyphs = appearance.glyphs
    var buffer = Buffer(size: Size(width: 100, height: 30))
    let bands = buffer.area.rows([.fixed(1), .fill(1), .fixed(1)])
    buffer.render(Paragraph([Line([Span("tokenscope", style: Style(bold: true)), Span("  deit_small · layer 6/12")])]), in: bands[0])

    let columns = bands[1].columns([.fixed(30), .fill(1), .fixed(34)])
    let imageBlock = Block(title: " tokens ", glyphs: glyphs)
    buffer.render(imageBlock, in: columns[0])
    let tokens = PixelImage(width: 14, height: 14) { x, y in
      (x + y) % 5 == 0 ? RGB(40, 40, 40) : CategoricalPalette.rgb(for: (x / 3) + 5 * (y / 3))
    }
    buffer.render(HalfBlockImage(image: tokens, centered: true, appearance: appearance), in: imageBlock.inner(columns[0]))

    let chartBlock = Block(title: " tokens per layer ", borderKind: .rounded, glyphs: glyphs)
    buffer.render(chartBlock, in: columns[1])
    let chartArea = chartBlock.inner(columns[1]).rows([.fill(1), .fixed(1)])
    let series = [
      ChartSeries(name: "baseline", values: Array(repeating: 197.0, count: 12), style: Style(fg: .rgb(153, 153, 153))),
      ChartSeries(name: "ToMe r=8", values: (0..<12).map { 197.0 - 8 * Double($0) }, style: Style(fg: CategoricalPalette.color(for: 0))),
      ChartSeries(name: "EViT 0.7", values: (0..<12).map { $0 < 3 ? 197 : $0 < 6 ? 138 : $0 < 9 ? 97 : 68 }, style: Style(fg: CategoricalPalette.color(for: 1))),
    ]
    buffer.render(LineChart(series: series, xLabels: ["1", "4", "8", "12"], glyphs: glyphs), in: chartArea[0])
    buffer.render(Legend(series: series, glyphs: glyphs), in: chartArea[1])

    let sideBlock = Block(title: " entropy ", glyphs: glyphs)
    buffer.render(sideBlock, in: columns[2])
    let side = sideBlock.inner(columns[2]).rows([.fixed(13), .fixed(2), .fixed(1), .fixed(4), .fill(1)])
    var entropy: [[Double]] = []
    for layer in 0..<12 {
      entropy.append((0..<6).map { (head: Int) -> Double in Double((layer * 5 + head * 3) % 11) / 10 * 2.5 })
    }
    buffer.render(
      HeatGrid(values: entropy, range: 0...2.5, cellWidth: 3, rowLabels: (1...12).map { "L\($0)" },
        columnLabels: (0..<6).map { "h\($0)" }, highlighted: GridPosition(row: 5, column: 2), appearance: appearance),
      in: side[0])
    buffer.render(ColorBar(range: 0...2.5, caption: "nats", appearance: appearance), in: side[1])
    buffer.render(Gauge(ratio: 0.62, label: "FLOPs 62%", barStyle: Style(fg: .rgb(0, 158, 115)), glyphs: glyphs), in: side[2])
    let table = Table(
      columns: [TableColumn("method"), TableColumn("tokens", width: .fixed(6), alignment: .right),
        TableColumn("GFLOPs", width: .fixed(6), alignment: .right)],
      rows: [TableRow(["baseline", "197", "4.61"]), TableRow(["ToMe r=8", "101", "2.86"]), TableRow(["EViT 0.7", "68", "2.90"])],
      selectedRow: 1, highlightSymbol: glyphs.selection, glyphs: glyphs)
    buffer.render(table, in: side[3])

    let hints = [KeyHint(glyphs.arrowLeft + "/" + glyphs.arrowRight, "layer"), KeyHint("Tab", "view"),
      KeyHint("1-6", "method"), KeyHint("?", "help"), KeyHint("q", "quit")]
    buffer.render(KeyHintBar(hints: hints, background: Style(bg: .indexed(236)), glyphs: glyphs), in: bands[2])
    if let helpPage {
      let entries = hints + [KeyHint("g/Home", "first layer"), KeyHint("G/End", "last layer"), KeyHint("space", "play/pause"),
        KeyHint("+/-", "adjust r"), KeyHint("e", "export view"), KeyHint("Esc", "close")]
      buffer.render(HelpOverlay(entries: entries, page: helpPage, glyphs: glyphs), in: Rect(x: 0, y: 0, width: 100, height: 12))
    }
    return buffer
  }

  @Test func richScreen() {
    assertSnapshot(Self.demoScreen(appearance: .rich), named: "screen-unicode-truecolor", includeStyles: true)
  }

  @Test func asciiMonochromeScreen() {
    assertSnapshot(Self.demoScreen(appearance: .asciiMonochrome), named: "screen-ascii-monochrome", includeStyles: true)
  }

  @Test func helpOverlayPagesOverTheScreen() {
    assertSnapshot(Self.demoScreen(appearance: .rich, helpPage: 1), named: "screen-help-page-2")
  }
}

/// The snapshot helper itself: it must fail on a missing file unless recording, and explain mismatches.
@Suite struct SnapshotHelperTests {
  func temporaryDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("tui-snapshots-\(UUID().uuidString)", isDirectory: true)
  }

  @Test func missingSnapshotIsAFailureNotARecording() throws {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let outcome = try compareSnapshot("text\n", named: "absent", in: directory, record: false)
    #expect(outcome == .missing(path: directory.appendingPathComponent("absent.txt").path))
    #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("absent.txt").path))
  }

  @Test func recordingWritesThenMatches() throws {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(try compareSnapshot("a\nb\n", named: "s", in: directory, record: true) == .recorded)
    #expect(try compareSnapshot("a\nb\n", named: "s", in: directory, record: false) == .matched)
    #expect(try compareSnapshot("a\nc\n", named: "s", in: directory, record: false) == .mismatched(diff: "line 2:\n- b\n+ c"))
  }

  @Test func snapshotTextTrimsTrailingSpacesAndAppendsStyles() {
    var buffer = Buffer(size: Size(width: 4, height: 2))
    buffer.set(string: "ab", x: 0, y: 0, style: Style(bold: true))
    #expect(snapshotText(of: buffer, includeStyles: false) == "size 4x2\nab\n\n")
    #expect(snapshotText(of: buffer, includeStyles: true) == "size 4x2\nab\n\n--- styles ---\n0-1 bold; 2-3 -\n0-3 -\n")
  }

  @Test func snapshotFilesLiveNextToTheTests() {
    #expect(snapshotDirectory.path.hasSuffix("Tests/TUITests/Snapshots"))
  }
}
